//! The emails decisions send, addressed and threaded: replies to the sender, mail in an
//! order's conversation, and notices and requests to the sellers.

use time::OffsetDateTime;

use super::decision::{CommandRequest, Email, Input, Purpose, Template};
use super::inbound::Mailbox;
use super::order::Order;
use crate::config::Config;

/// One email per seller (so that one bad seller address cannot keep the others from hearing);
/// none when the shop has no sellers.
pub(super) fn to_sellers(config: &Config, subject: String, template: Template) -> Vec<Email> {
    config
        .shop
        .sellers
        .iter()
        .map(|s| Email {
            to: vec![Mailbox {
                name: None,
                email: s.clone(),
            }],
            in_reply_to: None,
            references: Vec::new(),
            subject: subject.clone(),
            template: template.clone(),
            to_customer: false,
            command: None,
            once: None,
            attach_inbound: false,
            language: None,
        })
        .collect()
}

/// To each seller, asking for a command by reply: each email carries its own token.
pub(super) fn requests(
    config: &Config,
    subject: String,
    template: Template,
    purpose: Purpose,
    expires_at: OffsetDateTime,
) -> Vec<Email> {
    let mut emails = to_sellers(config, subject, template);
    for e in &mut emails {
        e.command = Some(CommandRequest {
            purpose,
            expires_at,
        });
    }
    emails
}

/// A notice to the sellers.
pub fn seller_alert(config: &Config, subject: &str, text: &str) -> Vec<Email> {
    to_sellers(
        config,
        subject.to_string(),
        Template::Alert {
            text: text.to_string(),
        },
    )
}

/// The sellers' notice that an email could not be delivered; none when the failed email was
/// itself to a seller (telling them again would fail too).
pub fn delivery_failed(
    config: &Config,
    order_ref: Option<&str>,
    recipients: &str,
    subject: &str,
    error: &str,
) -> Vec<Email> {
    if recipients.split(',').any(|r| config.is_seller(r.trim())) {
        return Vec::new();
    }
    let title = match order_ref {
        Some(r) => format!("Undeliverable: email to {recipients} about {r}"),
        None => format!("Undeliverable: email to {recipients}"),
    };
    let template = Template::DeliveryFailed {
        order_ref: order_ref.map(str::to_string),
        recipients: recipients.to_string(),
        subject: subject.to_string(),
        error: error.to_string(),
    };
    to_sellers(config, title, template)
}

pub(super) fn customer(input: &Input) -> Mailbox {
    input.parsed.customer.clone().unwrap_or_else(|| Mailbox {
        name: None,
        email: String::new(),
    })
}

/// Mail to the order's customer in the order's conversation, though it answers no message of
/// theirs (a payment arrived, a deadline nears).
pub(super) fn in_thread(
    order: &Order,
    thread: &[String],
    subject: String,
    template: Template,
) -> Email {
    let mut references: Vec<String> = thread.to_vec();
    if references.len() > 10 {
        let tail = references.split_off(references.len() - 9);
        references.truncate(1);
        references.extend(tail);
    }
    Email {
        to: vec![order.customer.clone()],
        in_reply_to: thread.last().cloned(),
        references,
        subject,
        template,
        to_customer: true,
        command: None,
        once: None,
        attach_inbound: false,
        language: None,
    }
}

/// A reply to the sender, threaded under their message.
pub(super) fn reply(input: &Input, subject: String, template: Template) -> Email {
    let msg = input.msg;
    let mut references: Vec<String> = msg.references.clone();
    references.push(msg.message_id.clone());
    // Long threads: keep the first and the newest, as RFC 5322 suggests.
    if references.len() > 10 {
        let tail = references.split_off(references.len() - 9);
        references.truncate(1);
        references.extend(tail);
    }
    Email {
        to: vec![customer(input)],
        in_reply_to: Some(msg.message_id.clone()),
        references,
        subject: format!("Re: {}", strip_reply_prefix(&msg.subject, &subject)),
        template,
        to_customer: true,
        command: None,
        once: None,
        attach_inbound: false,
        language: None,
    }
}

/// Keep the customer's subject (so their client threads it) but make sure it carries the
/// reference; a message without a subject gets ours.
fn strip_reply_prefix(theirs: &str, ours: &str) -> String {
    let mut s = theirs.trim();
    loop {
        let lower = s.to_ascii_lowercase();
        match ["re:", "aw:", "sv:", "fwd:", "fw:"]
            .iter()
            .find(|p| lower.starts_with(*p))
        {
            Some(p) => s = s[p.len()..].trim_start(),
            None => break,
        }
    }
    if s.is_empty() {
        return ours.to_string();
    }
    let reference = ours
        .split_whitespace()
        .find(|w| super::reference::any_prefix(w).is_some());
    match reference {
        Some(r) if !s.contains(r.trim_end_matches(':')) => {
            format!("{s} [{}]", r.trim_end_matches(':'))
        }
        _ => s.to_string(),
    }
}

/// Only an order's own customer may ask about it, change it or cancel it by email.
pub fn belongs_to_sender(order: &Order, input: &Input) -> bool {
    order
        .customer
        .email
        .eq_ignore_ascii_case(&customer(input).email)
}
