//! Printable documents. The commercial proposal (коммерческое предложение) is an .xlsx print
//! form built from the deal: the client's legal entity, the needs and parameters, the
//! items with prices and totals (VAT included), with A4 print setup so it prints and
//! converts to PDF as one tidy page width.

use super::deal::{Deal, EquipmentType};
use chrono::NaiveDate;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, XlsxError};

/// The seller as printed on documents.
#[derive(Debug, Clone)]
pub struct Seller {
    pub name: String,
    pub details: String,
}

/// VAT included in prices, in percent.
pub const VAT_PERCENT: i64 = 20;

/// Kopecks as roubles for a cell (formatted `# ##0.00`; printing only, never arithmetic).
pub fn rubles(kopecks: i64) -> f64 {
    kopecks as f64 / 100.0
}

/// The cell formats of the company's print forms (proposal, waybill).
pub struct PrintFormats {
    pub title: Format,
    pub bold: Format,
    pub wrap: Format,
    pub header: Format,
    pub cell: Format,
    pub number: Format,
    pub money: Format,
    pub total_label: Format,
    pub total_money: Format,
}

impl PrintFormats {
    /// The formats with a title of `title_size` points and table headers on `header_background`.
    pub fn new(title_size: f64, header_background: u32) -> Self {
        Self {
            title: Format::new().set_bold().set_font_size(title_size),
            bold: Format::new().set_bold(),
            wrap: Format::new().set_text_wrap().set_align(FormatAlign::Top),
            header: Format::new()
                .set_bold()
                .set_border(FormatBorder::Thin)
                .set_align(FormatAlign::Center)
                .set_text_wrap()
                .set_background_color(header_background),
            cell: Format::new()
                .set_border(FormatBorder::Thin)
                .set_text_wrap()
                .set_align(FormatAlign::Top),
            number: Format::new()
                .set_border(FormatBorder::Thin)
                .set_align(FormatAlign::Center),
            money: Format::new()
                .set_border(FormatBorder::Thin)
                .set_num_format("# ##0.00"),
            total_label: Format::new().set_bold().set_align(FormatAlign::Right),
            total_money: Format::new()
                .set_bold()
                .set_num_format("# ##0.00")
                .set_border(FormatBorder::Thin),
        }
    }
}

pub fn equipment_name(kind: EquipmentType) -> &'static str {
    match kind {
        EquipmentType::VacuumPump => "Вакуумный насос",
        EquipmentType::Pump => "Насос",
        EquipmentType::Compressor => "Компрессор",
        EquipmentType::VacuumEquipment => "Вакуумное оборудование",
        EquipmentType::ThermalEquipment => "Термическое оборудование",
        EquipmentType::ClimateChamber => "Климатическая камера",
        EquipmentType::Simulator => "Тренажёр",
        EquipmentType::Other => "Прочее",
    }
}

/// The proposal's number: stable per deal version, so a re-generated copy matches.
pub fn proposal_number(deal: &Deal) -> String {
    format!(
        "КП-{}-{}",
        &deal.id[deal.id.len().saturating_sub(6)..],
        deal.version
    )
}

/// Builds the commercial proposal of a deal as .xlsx bytes.
pub fn commercial_proposal(
    deal: &Deal,
    seller: &Seller,
    date: NaiveDate,
) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Коммерческое предложение")?;

    let PrintFormats {
        title,
        bold,
        wrap,
        header,
        cell,
        number,
        money,
        total_label,
        total_money,
    } = PrintFormats::new(14.0, 0xDDEBF7);

    for (column, width) in [
        (0, 5.0),
        (1, 42.0),
        (2, 24.0),
        (3, 8.0),
        (4, 15.0),
        (5, 16.0),
    ] {
        sheet.set_column_width(column, width)?;
    }

    sheet.merge_range(0, 0, 0, 5, &seller.name, &title)?;
    sheet.merge_range(1, 0, 1, 5, &seller.details, &wrap)?;
    sheet.merge_range(
        3,
        0,
        3,
        5,
        &format!(
            "Коммерческое предложение № {} от {}",
            proposal_number(deal),
            date.format("%d.%m.%Y")
        ),
        &title,
    )?;

    let entity = &deal.terms.legal_entity;
    let kpp = entity
        .kpp
        .as_deref()
        .map(|k| format!(", КПП {k}"))
        .unwrap_or_default();
    let mut row = 5;
    let mut field = |label: &str, value: &str, row: &mut u32| -> Result<(), XlsxError> {
        sheet.write_string_with_format(*row, 0, label, &bold)?;
        sheet.merge_range(*row, 1, *row, 5, value, &wrap)?;
        *row += 1;
        Ok(())
    };
    field(
        "Заказчик:",
        &format!("{}, ИНН {}{kpp}", entity.name, entity.inn),
        &mut row,
    )?;
    field("Адрес:", &entity.address, &mut row)?;
    field("Контакт:", &deal.terms.contact.name, &mut row)?;
    field("Потребность:", &deal.terms.needs.join("; "), &mut row)?;
    if let Some(area) = &deal.terms.application_area {
        field("Область применения:", area, &mut row)?;
    }
    if let Some(materials) = &deal.terms.processed_materials {
        field("Обрабатываемые материалы:", materials, &mut row)?;
    }
    row += 1;

    let header_row = row;
    for (column, text) in [
        "№",
        "Наименование",
        "Тип оборудования",
        "Кол-во",
        "Цена, руб.",
        "Сумма, руб.",
    ]
    .into_iter()
    .enumerate()
    {
        sheet.write_string_with_format(header_row, column as u16, text, &header)?;
    }
    row += 1;
    for (index, item) in deal.terms.items.iter().enumerate() {
        sheet.write_number_with_format(row, 0, (index + 1) as f64, &number)?;
        let name = if item.made_to_order {
            format!("{} (изготовление под заказ)", item.product)
        } else {
            item.product.clone()
        };
        sheet.write_string_with_format(row, 1, &name, &cell)?;
        sheet.write_string_with_format(row, 2, equipment_name(item.equipment_type), &cell)?;
        sheet.write_number_with_format(row, 3, f64::from(item.quantity), &number)?;
        sheet.write_number_with_format(row, 4, rubles(item.unit_price_kopecks), &money)?;
        sheet.write_number_with_format(row, 5, rubles(item.total_kopecks()), &money)?;
        row += 1;
    }
    let total = deal.total_kopecks();
    let vat = vat_included(total);
    sheet.merge_range(row, 0, row, 4, "Итого с НДС:", &total_label)?;
    sheet.write_number_with_format(row, 5, rubles(total), &total_money)?;
    row += 1;
    sheet.merge_range(
        row,
        0,
        row,
        4,
        &format!("в том числе НДС {VAT_PERCENT}%:"),
        &total_label,
    )?;
    sheet.write_number_with_format(row, 5, rubles(vat), &total_money)?;
    row += 2;
    sheet.merge_range(
        row,
        0,
        row,
        5,
        "Предложение действительно 30 дней. Сроки поставки уточняются при заказе.",
        &wrap,
    )?;

    // Print setup: A4 portrait, one page wide, header row repeated, page numbers.
    sheet.set_paper_size(9);
    sheet.set_portrait();
    sheet.set_margins(0.6, 0.5, 0.7, 0.7, 0.3, 0.3);
    sheet.set_print_fit_to_pages(1, 0);
    sheet.set_repeat_rows(header_row, header_row)?;
    sheet.set_print_area(0, 0, row, 5)?;
    sheet.set_footer("&CСтраница &P из &N");
    workbook.save_to_buffer()
}

/// The VAT included in a total with VAT, in kopecks, rounded to the nearest kopeck (half
/// up, as tax documents print it); widened, since `total × 20` may not fit in `i64`.
pub fn vat_included(total_kopecks: i64) -> i64 {
    let divisor = i128::from(100 + VAT_PERCENT);
    let vat = (i128::from(total_kopecks) * i128::from(VAT_PERCENT) * 2 + divisor) / (2 * divisor);
    i64::try_from(vat).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::Department;
    use crate::party::LegalEntity;
    use crate::sales::{DealContact, DealItem, DealTerms, NewDeal};
    use chrono::Utc;

    #[test]
    fn vat_is_exact_even_for_the_largest_deal() {
        assert_eq!(vat_included(12_000), 2_000);
        // 2 959 000,00 ₽ holds 493 166,666… ₽ of VAT: printed 493 166,67.
        assert_eq!(vat_included(295_900_000), 49_316_667);
        assert_eq!(vat_included(5), 1, "0,83 kopeck rounds up");
        assert_eq!(
            vat_included(2_000_000_000_000_000_000),
            333_333_333_333_333_333
        );
        assert_eq!(vat_included(i64::MAX), 1_537_228_672_809_129_301);
    }

    #[test]
    fn the_proposal_is_an_xlsx_with_the_items() {
        let new = NewDeal {
            id: "01a2-deal-abcdef".into(),
            party_id: "p".into(),
            inquiry_id: None,
            department: Department::High,
            manager_id: "m".into(),
            terms: DealTerms {
                needs: vec!["насос".into()],
                legal_entity: LegalEntity {
                    name: "ООО «Завод»".into(),
                    inn: "7707083893".into(),
                    ..Default::default()
                },
                contact: DealContact::default(),
                application_area: Some("сушка".into()),
                items: vec![DealItem {
                    product: "Насос НВР-16Д".into(),
                    equipment_type: EquipmentType::VacuumPump,
                    quantity: 2,
                    unit_price_kopecks: 15_000_000,
                    made_to_order: false,
                    sku: None,
                    purchase: false,
                }],
                ..DealTerms::default()
            },
        };
        let deal = Deal {
            version: 3,
            ..Deal::open(new, Utc::now())
        };
        let seller = Seller {
            name: "ООО «Вакуум-Завод»".into(),
            details: "ИНН 7736050003".into(),
        };
        let bytes = commercial_proposal(
            &deal,
            &seller,
            NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
        )
        .unwrap();
        assert!(bytes.starts_with(b"PK"), "an xlsx is a zip");
        assert_eq!(proposal_number(&deal), "КП-abcdef-3");
    }
}
