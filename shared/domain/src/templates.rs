//! Every text staff receive, in Russian, in one place: the notifications of intake,
//! missed calls, tasks and the routing digest, with the links into the app. Times are
//! always Moscow time. Pure functions: the use cases choose recipients and send.

use crate::intake::{Inquiry, Interaction, MessageContent};
use crate::kernel::time::format_moscow;
use crate::party::{Channel, Counterparty, PersonDetails, PhoneParse};
use crate::sales::Task;
use crate::staff::{Employee, Notification, recipients};
use chrono::{DateTime, Utc};

/// Where staff open things, for links in notifications.
#[derive(Debug, Clone)]
pub struct Links {
    pub app_base_url: String,
}

impl Links {
    pub fn inquiry(&self, id: &str) -> String {
        format!("{}/inquiries/{id}", self.app_base_url)
    }
    pub fn counterparty(&self, id: &str) -> String {
        format!("{}/counterparties/{id}", self.app_base_url)
    }
    pub fn deal(&self, id: &str) -> String {
        format!("{}/deals/{id}", self.app_base_url)
    }
}

fn describe_contact(contact: &PersonDetails) -> String {
    let mut lines = Vec::new();
    if let Some(name) = &contact.name {
        lines.push(format!("Имя: {name}"));
    }
    if let Some(company) = &contact.company {
        lines.push(format!("Компания: {company}"));
    }
    if let Some(email) = &contact.email {
        lines.push(format!("E-mail: {email}"));
    }
    match &contact.phone {
        Some(PhoneParse::Valid(phone)) => lines.push(format!("Телефон: {}", phone.e164)),
        Some(PhoneParse::Invalid { raw }) => lines.push(format!("Телефон (не распознан): {raw}")),
        None => {}
    }
    lines.join("\n")
}

fn preview(text: &str) -> String {
    const PREVIEW_CHARS: usize = 600;
    let mut preview: String = text.chars().take(PREVIEW_CHARS).collect();
    if text.chars().count() > PREVIEW_CHARS {
        preview.push('…');
    }
    preview
}

fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "письмо",
        Channel::Phone => "звонок",
        Channel::Chat => "чат",
        Channel::Form => "форма на сайте",
    }
}

/// The heads' email about a new lead: the essentials and a link to route it.
pub fn new_lead(
    heads: &[Employee],
    inquiry: &Inquiry,
    lead: &Counterparty,
    links: &Links,
) -> Notification {
    Notification {
        to: recipients(heads),
        subject: format!(
            "Новый лид: {} ({})",
            lead.name,
            channel_name(inquiry.channel)
        ),
        body: format!(
            "Новое обращение ({}, {}), ждёт распределения.\n\n{}\n\n{}\nОткрыть: {}\n",
            channel_name(inquiry.channel),
            inquiry.kind.code(),
            describe_contact(&inquiry.contact),
            describe_content(&inquiry.content),
            links.inquiry(&inquiry.id),
        ),
    }
}

/// The responsible manager's (or heads') email about a new message from a known party.
pub fn new_message(
    to: &[Employee],
    party: &Counterparty,
    interaction: &Interaction,
    links: &Links,
) -> Notification {
    let conflict = interaction.evidence.iter().any(|e| e.party_id != party.id);
    let unverified = if interaction.unverified {
        " Отправитель не подтверждён (адрес из Reply-To, неподтверждённая почта или форма): проверьте, что это действительно клиент."
    } else {
        ""
    };
    Notification {
        to: recipients(to),
        subject: format!(
            "{}: новое сообщение ({})",
            party.name,
            channel_name(interaction.channel)
        ),
        body: format!(
            "{} написал(а) снова.{}{unverified}\n\n{}\n\n{}\nИстория клиента: {}\n",
            party.name,
            if conflict {
                " Внимание: контакты сообщения принадлежат разным контрагентам, проверьте привязку."
            } else {
                ""
            },
            describe_contact(&interaction.contact),
            describe_content(&interaction.content),
            links.counterparty(&party.id),
        ),
    }
}

/// The subject, the start of the text and the number of attachments.
fn describe_content(content: &MessageContent) -> String {
    let forwarded = content
        .forwarded_by
        .as_deref()
        .map(|by| format!("Переслал(а): {by}\n"))
        .unwrap_or_default();
    let left_out = if content.left_out.is_empty() {
        ""
    } else {
        "\nПисьмо слишком велико: часть текста или вложений есть только в исходном файле."
    };
    format!(
        "{forwarded}Тема: {}\n\n{}\n\nВложений: {}{left_out}",
        content.subject.as_deref().unwrap_or("—"),
        preview(&content.text),
        content.attachments.len(),
    )
}

/// A missed call's "Call back" email, with the deadline in Moscow time.
pub fn missed_call(
    to: &[Employee],
    task: &Task,
    caller: Option<&str>,
    party_id: &str,
    links: &Links,
) -> Notification {
    Notification {
        to: recipients(to),
        subject: format!("Пропущенный звонок: {}", task.title),
        body: format!(
            "Пропущенный звонок с {}. Перезвоните до {} (МСК).\n{}\n",
            caller.unwrap_or("скрытого номера"),
            format_moscow(task.due_at, "%H:%M"),
            links.counterparty(party_id),
        ),
    }
}

/// A new task about a deal: what, by when (Moscow time), why, and the deal's link.
pub fn deal_task(to: &[Employee], task: &Task, links: &Links) -> Notification {
    Notification {
        to: recipients(to),
        subject: format!("Задача: {}", task.title),
        body: format!(
            "{}\nСрок: {} (МСК)\n{}\n{}\n",
            task.title,
            format_moscow(task.due_at, "%d.%m.%Y %H:%M"),
            task.note.as_deref().unwrap_or(""),
            links.deal(task.deal_id.as_deref().unwrap_or_default()),
        ),
    }
}

/// The heads' task about an inquiry whose manager has not acted in time.
pub fn first_response_overdue(
    to: &[Employee],
    task: &Task,
    inquiry_id: &str,
    links: &Links,
) -> Notification {
    Notification {
        to: recipients(to),
        subject: task.title.clone(),
        body: format!(
            "{}\n{}\n",
            task.note.as_deref().unwrap_or(""),
            links.inquiry(inquiry_id)
        ),
    }
}

fn age(inquiry: &Inquiry, now: DateTime<Utc>) -> String {
    let minutes = (now - inquiry.received_at).num_minutes().max(0);
    match minutes {
        m if m < 60 => format!("{m} мин"),
        m if m < 24 * 60 => format!("{} ч {} мин", m / 60, m % 60),
        m => format!("{} дн {} ч", m / (24 * 60), m / 60 % 24),
    }
}

fn digest_line(inquiry: &Inquiry, now: DateTime<Utc>, links: &Links) -> String {
    format!(
        "- [{}] {} ({}){} — ждёт {} — {}",
        inquiry.channel.code(),
        inquiry.contact.display_name(),
        inquiry.kind.code(),
        if inquiry.missed {
            ", пропущенный звонок"
        } else {
            ""
        },
        age(inquiry, now),
        links.inquiry(&inquiry.id)
    )
}

/// One head's routing digest: what is unrouted, oldest first, and what of theirs waits
/// for its manager.
pub fn routing_digest(
    head: &Employee,
    unrouted: &[Inquiry],
    awaiting: &[&Inquiry],
    now: DateTime<Utc>,
    links: &Links,
) -> Notification {
    let mut body = format!("Не распределено: {}\n", unrouted.len());
    for inquiry in unrouted {
        body.push_str(&digest_line(inquiry, now, links));
        body.push('\n');
    }
    body.push_str(&format!(
        "\nРаспределено, но без реакции менеджера: {}\n",
        awaiting.len()
    ));
    for inquiry in awaiting {
        body.push_str(&digest_line(inquiry, now, links));
        body.push_str(&format!(
            " (менеджер {})\n",
            inquiry.manager_id.as_deref().unwrap_or("—")
        ));
    }
    Notification {
        to: recipients(std::slice::from_ref(head)),
        subject: format!("Сводка обращений: {} не распределено", unrouted.len()),
        body,
    }
}
