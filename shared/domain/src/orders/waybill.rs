//! The shipping document of a shipment: a waybill in the layout of the universal transfer
//! document (УПД, status 1: invoice and waybill in one) as an .xlsx print form — A4
//! landscape, one page wide — with the seller's and the buyer's requisites, every line
//! with its batch, prices and amounts with VAT, the totals, and the signature lines.

use super::order::CustomerOrder;
use super::shipment::Shipment;
use crate::kernel::time::moscow;
use crate::party::LegalEntity;
use crate::sales::proposal::{PrintFormats, Seller, VAT_PERCENT, rubles, vat_included};
use rust_xlsxwriter::{Workbook, XlsxError};

/// The document number of a shipment: the deal's short id and the shipment's.
pub fn waybill_number(shipment_id: &str, deal_id: &str) -> String {
    let short = |id: &str| {
        id.chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .chars()
            .rev()
            .take(6)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<String>()
    };
    format!("{}-{}", short(deal_id), short(shipment_id))
}

/// Builds the waybill of `shipment` of `order`, to `buyer`, as .xlsx bytes.
pub fn waybill(
    shipment: &Shipment,
    order: &CustomerOrder,
    seller: &Seller,
    buyer: &LegalEntity,
) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("УПД")?;

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
    } = PrintFormats::new(13.0, 0xEDEDED);

    // The batch column fits a production batch code (`<deal id>-P<line>`) on one line.
    let widths = [5.0, 36.0, 14.0, 40.0, 6.0, 8.0, 14.0, 16.0, 14.0];
    for (column, width) in widths.into_iter().enumerate() {
        sheet.set_column_width(column as u16, width)?;
    }
    let last = (widths.len() - 1) as u16;

    let date = shipment.shipped_at.with_timezone(&moscow()).date_naive();
    sheet.merge_range(
        0,
        0,
        0,
        last,
        &format!(
            "Универсальный передаточный документ (товарная накладная) № {} от {}",
            shipment.number,
            date.format("%d.%m.%Y")
        ),
        &title,
    )?;
    sheet.merge_range(
        1,
        0,
        1,
        last,
        "Статус 1: счёт-фактура и передаточный документ",
        &wrap,
    )?;

    let mut row = 3;
    let mut party = |label: &str, value: String, row: &mut u32| -> Result<(), XlsxError> {
        sheet.write_string_with_format(*row, 0, label, &bold)?;
        sheet.merge_range(*row, 2, *row, last, &value, &wrap)?;
        sheet.set_row_height(*row, 30)?;
        *row += 1;
        Ok(())
    };
    party(
        "Продавец:",
        [seller.name.as_str(), seller.details.as_str()]
            .into_iter()
            .filter(|s| !s.trim().is_empty())
            .collect::<Vec<_>>()
            .join(", "),
        &mut row,
    )?;
    let kpp = buyer
        .kpp
        .as_deref()
        .map(|k| format!(", КПП {k}"))
        .unwrap_or_default();
    let bank = if buyer.bank.account.is_empty() {
        String::new()
    } else {
        format!(
            ", р/с {} в {}, БИК {}, к/с {}",
            buyer.bank.account,
            buyer.bank.bank_name,
            buyer.bank.bik,
            buyer.bank.correspondent_account
        )
    };
    party(
        "Покупатель:",
        format!(
            "{}, ИНН {}{kpp}, {}{bank}",
            buyer.name, buyer.inn, buyer.address
        ),
        &mut row,
    )?;
    party(
        "Грузополучатель:",
        format!("{}, {}", buyer.name, buyer.address),
        &mut row,
    )?;
    party(
        "Основание:",
        format!("Заказ покупателя по сделке {}", order.deal_id),
        &mut row,
    )?;
    row += 1;

    let header_row = row;
    for (column, text) in [
        "№",
        "Наименование товара",
        "Артикул",
        "Партия (серия)",
        "Ед.",
        "Кол-во",
        "Цена с НДС, руб.",
        "Стоимость с НДС, руб.",
        "в т.ч. НДС 20%, руб.",
    ]
    .into_iter()
    .enumerate()
    {
        sheet.write_string_with_format(header_row, column as u16, text, &header)?;
    }
    sheet.set_row_height(header_row, 30)?;
    row += 1;
    let mut total: i64 = 0;
    let mut units: u64 = 0;
    for (index, part) in shipment.lines.iter().enumerate() {
        let line = order.line(part.line);
        let price = line.map_or(0, |l| l.unit_price_kopecks);
        let unit = line.map_or("шт", |l| l.unit.as_str());
        let amount = price.saturating_mul(i64::from(part.quantity));
        total = total.saturating_add(amount);
        units += u64::from(part.quantity);
        sheet.write_number_with_format(row, 0, (index + 1) as f64, &number)?;
        sheet.write_string_with_format(row, 1, &part.product, &cell)?;
        sheet.write_string_with_format(row, 2, &part.article, &cell)?;
        sheet.write_string_with_format(row, 3, &part.batch_id, &cell)?;
        sheet.write_string_with_format(row, 4, unit, &number)?;
        sheet.write_number_with_format(row, 5, f64::from(part.quantity), &number)?;
        sheet.write_number_with_format(row, 6, rubles(price), &money)?;
        sheet.write_number_with_format(row, 7, rubles(amount), &money)?;
        sheet.write_number_with_format(row, 8, rubles(vat_included(amount)), &money)?;
        row += 1;
    }
    sheet.merge_range(row, 0, row, 4, "Всего к оплате:", &total_label)?;
    sheet.write_number_with_format(row, 5, units as f64, &number)?;
    sheet.write_blank(row, 6, &total_money)?;
    sheet.write_number_with_format(row, 7, rubles(total), &total_money)?;
    sheet.write_number_with_format(row, 8, rubles(vat_included(total)), &total_money)?;
    row += 1;
    sheet.merge_range(
        row,
        0,
        row,
        last,
        &format!(
            "Итого с НДС: {:.2} руб., в том числе НДС {VAT_PERCENT}%: {:.2} руб.",
            rubles(total),
            rubles(vat_included(total))
        ),
        &bold,
    )?;
    row += 2;
    for label in [
        "Товар (груз) передал: ____________________ / ____________________",
        "Товар (груз) получил: ____________________ / ____________________",
    ] {
        sheet.merge_range(row, 0, row, last, label, &wrap)?;
        row += 2;
    }

    // Print setup: A4 landscape, one page wide, the header row repeated, page numbers.
    sheet.set_paper_size(9);
    sheet.set_landscape();
    sheet.set_margins(0.4, 0.4, 0.6, 0.6, 0.3, 0.3);
    sheet.set_print_fit_to_pages(1, 0);
    sheet.set_repeat_rows(header_row, header_row)?;
    sheet.set_print_area(0, 0, row, last)?;
    sheet.set_footer("&CСтраница &P из &N");
    workbook.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::book::place_order;
    use crate::orders::book::tests::{agreed, item, product};
    use crate::orders::shipment::{ScannedGoods, confirm_scans, picking_list};
    use crate::warehouse::ProductKind;
    use crate::warehouse::allocation::{Allocation, Pick};
    use chrono::Utc;

    #[test]
    fn the_waybill_is_an_xlsx_numbered_by_deal_and_shipment() {
        let products = [("OIL".to_owned(), product("OIL", ProductKind::Purchased))].into();
        let deal = agreed(vec![item(Some("OIL"), 2)]);
        let reserved = [(
            1,
            Allocation {
                picks: vec![Pick {
                    batch_id: "L-1".into(),
                    quantity: 2,
                }],
                missing: 0,
            },
        )]
        .into();
        let order = place_order(&deal, &products, &reserved, Utc::now()).order;
        let lines = confirm_scans(
            &picking_list(&order),
            &[ScannedGoods {
                scan: "x".into(),
                article: Some("OIL".into()),
                batch: Some("L-1".into()),
                batch_required: true,
                quantity: 2,
            }],
        )
        .unwrap();
        let shipment = Shipment {
            id: "0193-ship-77aa11".into(),
            number: waybill_number("0193-ship-77aa11", "0192-deal-abcdef"),
            deal_id: deal.id.clone(),
            party_id: deal.party_id.clone(),
            lines,
            shipped_at: Utc::now(),
            shipped_by: "wh".into(),
            document: None,
        };
        assert_eq!(shipment.number, "abcdef-77aa11");
        let seller = Seller {
            name: "ООО «Вакуум-Завод»".into(),
            details: "ИНН 7736050003".into(),
        };
        let bytes = waybill(&shipment, &order, &seller, &LegalEntity::default()).unwrap();
        assert!(bytes.starts_with(b"PK"), "an xlsx is a zip");
    }
}
