//! The telemarketing export: an .xlsx call list — company, contact person, each phone
//! formatted for dialling in a column of its own, the responsible manager, the last
//! contact's date and channel, the open deal and its stage — with Russian headers, the
//! header row frozen, an autofilter and sensible widths. Written in rust_xlsxwriter's
//! constant-memory mode (rows go to a temporary file as they come), so 100,000 contacts
//! fit a small Lambda.

use super::mailchimp::dial_format;
use super::segment::ContactCard;
use crate::kernel::time::moscow;
use crate::party::Channel;
use crate::sales::DealStage;
use chrono::Datelike;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

/// Phone columns on the sheet; further numbers of one contact are left out.
pub const PHONE_COLUMNS: u16 = 3;

const FIXED_BEFORE: [&str; 2] = ["Компания", "Контактное лицо"];
const FIXED_AFTER: [&str; 5] = [
    "Ответственный менеджер",
    "Последний контакт",
    "Канал",
    "Открытая сделка",
    "Этап",
];

pub fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "Почта",
        Channel::Phone => "Телефон",
        Channel::Chat => "Чат",
        Channel::Form => "Форма на сайте",
    }
}

pub fn stage_name(stage: DealStage) -> &'static str {
    match stage {
        DealStage::EquipmentSelection => "Подбор оборудования",
        DealStage::Proposal => "КП",
        DealStage::Invoice => "Счёт",
        DealStage::Agreed => "Согласовано",
        DealStage::Production => "Производство",
        DealStage::WarehouseSale => "Продажа со склада",
        DealStage::Installation => "Монтаж",
        DealStage::Attestation => "Аттестация",
        DealStage::Service => "Сервис",
        DealStage::Closed => "Закрыта",
        DealStage::Unfit => "Не подходит",
    }
}

/// Writes the call list row by row.
pub struct CallListWriter {
    workbook: Workbook,
    row: u32,
    date: Format,
}

impl CallListWriter {
    pub fn new() -> Result<Self, XlsxError> {
        let mut workbook = Workbook::new();
        let header = Format::new().set_bold().set_background_color(0xDDEBF7);
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name("Обзвон")?;
        let mut headers: Vec<String> = FIXED_BEFORE.iter().map(|h| (*h).to_owned()).collect();
        headers.extend((1..=PHONE_COLUMNS).map(|n| format!("Телефон {n}")));
        headers.extend(FIXED_AFTER.iter().map(|h| (*h).to_owned()));
        let widths = [36.0, 28.0, 18.0, 18.0, 18.0, 26.0, 18.0, 14.0, 38.0, 20.0];
        for (column, (title, width)) in headers.iter().zip(widths).enumerate() {
            let column = column as u16;
            sheet.set_column_width(column, width)?;
            sheet.write_string_with_format(0, column, title, &header)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        sheet.autofilter(0, 0, 0, headers.len() as u16 - 1)?;
        Ok(Self {
            workbook,
            row: 0,
            date: Format::new().set_num_format("dd.mm.yyyy"),
        })
    }

    fn sheet(&mut self) -> Result<&mut Worksheet, XlsxError> {
        self.workbook.worksheet_from_index(0)
    }

    /// One contact's row; `manager` is the responsible manager's name.
    pub fn write(&mut self, card: &ContactCard, manager: Option<&str>) -> Result<(), XlsxError> {
        self.row += 1;
        let row = self.row;
        let date = self.date.clone();
        let sheet = self.sheet()?;
        let company = card.company.as_deref().unwrap_or(&card.name);
        sheet.write_string(row, 0, company)?;
        sheet.write_string(row, 1, card.contact_name.as_deref().unwrap_or(&card.name))?;
        for (index, phone) in card
            .phones
            .iter()
            .take(usize::from(PHONE_COLUMNS))
            .enumerate()
        {
            sheet.write_string(row, 2 + index as u16, dial_format(phone))?;
        }
        let after = 2 + PHONE_COLUMNS;
        if let Some(manager) = manager {
            sheet.write_string(row, after, manager)?;
        }
        if let Some(activity) = &card.last_activity {
            let day = activity.at.with_timezone(&moscow()).date_naive();
            let day = ExcelDateTime::from_ymd(
                u16::try_from(day.year()).unwrap_or(1900),
                day.month() as u8,
                day.day() as u8,
            )?;
            sheet.write_datetime_with_format(row, after + 1, &day, &date)?;
            sheet.write_string(row, after + 2, channel_name(activity.channel))?;
        }
        if let Some(deal) = &card.open_deal() {
            sheet.write_string(row, after + 3, &deal.deal_id)?;
            sheet.write_string(row, after + 4, stage_name(deal.stage))?;
        }
        Ok(())
    }

    /// Rows written.
    pub fn rows(&self) -> u32 {
        self.row
    }

    /// The finished workbook.
    pub fn finish(mut self) -> Result<Vec<u8>, XlsxError> {
        self.workbook.save_to_buffer()
    }

    /// Writes the workbook to `path`, never whole in memory.
    pub fn save(mut self, path: &std::path::Path) -> Result<(), XlsxError> {
        self.workbook.save(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marketing::segment::tests::card;

    use crate::marketing::segment::DealSummary;
    use calamine::{Data, Reader, Xlsx};
    use chrono::Utc;

    #[test]
    fn the_call_list_reads_back_with_russian_headers_and_dialling_phones() {
        let mut writer = CallListWriter::new().unwrap();
        let mut first = card("p0");
        first.phones = vec!["+79123456789".into(), "+73432100000".into()];
        first.contact_name = Some("Игорь Петров".into());
        first.deals.insert(
            "d-1".into(),
            DealSummary {
                stage: DealStage::Proposal,
                equipment_types: vec![],
                updated_at: Utc::now(),
            },
        );
        writer.write(&first, Some("Олег Васильев")).unwrap();
        for n in 1..3 {
            writer.write(&card(&format!("p{n}")), None).unwrap();
        }
        assert_eq!(writer.rows(), 3);
        let bytes = writer.finish().unwrap();
        let mut book: Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let range = book.worksheet_range("Обзвон").unwrap();
        let rows: Vec<Vec<String>> = range
            .rows()
            .map(|row| row.iter().map(Data::to_string).collect())
            .collect();
        assert_eq!(rows.len(), 4);
        assert_eq!(
            rows[0],
            [
                "Компания",
                "Контактное лицо",
                "Телефон 1",
                "Телефон 2",
                "Телефон 3",
                "Ответственный менеджер",
                "Последний контакт",
                "Канал",
                "Открытая сделка",
                "Этап"
            ]
        );
        assert_eq!(rows[1][0], "ООО «Завод»");
        assert_eq!(rows[1][1], "Игорь Петров");
        assert_eq!(rows[1][2], "+7 912 345-67-89");
        assert_eq!(rows[1][3], "+7 343 210-00-00");
        assert_eq!(rows[1][5], "Олег Васильев");
        assert_eq!(rows[1][7], "Почта");
        assert_eq!(rows[1][9], "КП");
    }
}
