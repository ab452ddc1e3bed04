//! A person reached by email, for everything mailcart will not answer. Every message held for a
//! person reaches the sellers at once: why, the order's state and lines if there is one, and
//! the message itself attached. The alert's Message-ID carries a token, as an approval
//! request's does, so the seller answers by replying to it: `reply <text>` sends their text to
//! whoever wrote the held message, in that thread, from the shop's address; `resolved [note]`
//! closes the hold; the order's commands (approve, cancel, note ...) work there too. The same
//! checks as every command: the token bound to the seller, their From, and DKIM/DMARC when
//! `[security] authserv_id` is set (`core::seller`).
//!
//! Not alerted, each for its reason: a seller's own message (they are answered directly), a
//! message a loop-cap pause holds (the pause told the sellers once; a loop would fill their
//! inbox), and bounces beyond one a day for each seller (a seller address that bounces would
//! bounce every alert about its own bounce). Spam is never held, only counted.

use serde_json::json;
use time::Duration;

use super::classify::Kind;
use super::command::{Command, Verb};
use super::decision::{CommandRequest, Decision, Email, Input, Purpose, Template};
use super::emails::requests;
use super::inbound::Mailbox;

/// How long a seller may answer an alert by replying to it.
pub const ANSWER_DAYS: i64 = 30;

/// Held messages alerted in an hour at most: a flood of mail nobody can read (forged orders,
/// a newsletter that passes as a person) must not become a flood in the sellers' inbox. Past
/// it the sellers are told once that hour; what waits is in `review` and the digest.
pub const ALERTS_PER_HOUR: u32 = 30;

/// The cap as alert emails (one a seller each).
pub fn alert_cap(config: &crate::config::Config) -> u32 {
    let sellers = u32::try_from(config.shop.sellers.len()).unwrap_or(u32::MAX);
    ALERTS_PER_HOUR.saturating_mul(sellers.max(1))
}

/// The held message an alert is about, as a seller's answer to it needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldMessage {
    pub message_id: String,
    /// Whom an answer goes to: Reply-To over From; none when it has no usable sender.
    pub correspondent: Option<Mailbox>,
    pub subject: String,
    /// Its References, to thread the answer.
    pub references: Vec<String>,
    /// Its sender's address when the loop caps pause them: `resolved` lifts that pause.
    pub paused: Option<String>,
}

/// The sellers hear of a held message at once. Emails to the sellers the decision already
/// makes (a payment put to them) become the alert: the message attached, and answerable.
pub fn alert_sellers(input: &Input, d: &mut Decision) {
    let Some(reason) = d.attention.clone() else {
        return;
    };
    let config = input.config;
    if d.pause.is_some() || config.is_seller(&input.msg.sender()) || config.shop.sellers.is_empty()
    {
        return;
    }
    let order = d.order.clone().or_else(|| input.order.clone());
    if d.order.is_none() && d.about.is_none() {
        // Filed under its order, so that `mailcart order` shows it and the seller's answer
        // finds the order by its thread.
        d.about = order.as_ref().map(|o| o.reference.clone());
    }
    let request = CommandRequest {
        purpose: Purpose::Hold,
        expires_at: input.now + Duration::days(ANSWER_DAYS),
    };
    let bounce = input.parsed.kind == Kind::Bounce;
    let mut already = false;
    for e in d.emails.iter_mut().filter(|e| {
        !e.to_customer && e.once.is_none() && e.to.iter().all(|m| config.is_seller(&m.email))
    }) {
        already = true;
        e.attach_inbound = true;
        if e.command.is_none() && !bounce {
            e.command = Some(request);
        }
    }
    if already {
        return;
    }
    if input.alerts_last_hour >= alert_cap(config) {
        d.event(
            "sellers_not_alerted",
            json!({ "reason": format!("more than {ALERTS_PER_HOUR} held messages in the last hour") }),
        );
        let mut notice = super::emails::seller_alert(
            config,
            "Many messages wait for you",
            &format!(
                "More than {ALERTS_PER_HOUR} messages were held for a person in the last hour, so mailcart stopped emailing you about each one until the hour is over: a flood of forged or automatic mail looks like this. Nothing is lost: `mailcart review` lists them all, and the daily digest counts them."
            ),
        );
        for n in &mut notice {
            let seller = n.to.first().map(|m| m.email.as_str()).unwrap_or_default();
            n.once = Some(format!(
                "held.flood.{}.{}.{seller}",
                input.now.date(),
                input.now.hour()
            ));
        }
        d.emails.extend(notice);
        return;
    }
    let from = input
        .msg
        .from
        .as_ref()
        .map(|m| m.email.clone())
        .unwrap_or_else(|| "an unknown sender".into());
    let subject = match &order {
        Some(o) => format!("Waiting for you: order {} ({})", o.reference, from),
        None => format!(
            "Waiting for you: \"{}\" from {from}",
            clip(&input.msg.subject)
        ),
    };
    let template = Template::Held {
        reason,
        order,
        from,
        subject: input.msg.subject.clone(),
    };
    let mut alerts = requests(config, subject, template, Purpose::Hold, request.expires_at);
    for a in &mut alerts {
        a.attach_inbound = true;
        if bounce {
            // One a day for each seller, and no token: a key that can be guessed is no secret.
            let seller = a.to.first().map(|m| m.email.as_str()).unwrap_or_default();
            a.command = None;
            a.once = Some(format!("held.bounce.{}.{seller}", input.now.date()));
        }
    }
    d.emails.extend(alerts);
}

/// `reply <text>` or `resolved [note]` from a seller whose command passed the checks, in
/// answer to an alert about `input.held`.
pub fn answer(
    input: &Input,
    mut d: Decision,
    cmd: &Command,
    sender: &str,
    check: &str,
) -> Decision {
    let Some(held) = &input.held else {
        return d.hold(format!(
            "`{}` from {sender} answers a held message that is no longer stored",
            cmd.verb.as_str()
        ));
    };
    d.about = input.token.as_ref().and_then(|t| t.order_ref.clone());
    let text = cmd.rest.trim();
    if cmd.verb == Verb::Resolved {
        d.event(
            "held_resolved_by_seller",
            json!({ "by": sender, "note": text, "check": check, "held_message": held.message_id }),
        );
        d.resolve_held = Some((held.message_id.clone(), text.to_string()));
        d.resume = held.paused.clone().map(|scope| (scope, sender.to_string()));
        return d;
    }
    let Some(to) = held.correspondent.clone() else {
        return d.hold(format!(
            "`reply` from {sender}: the held message has no sender to answer"
        ));
    };
    if text.is_empty() {
        d.emails.push(super::seller::to_seller(
            input,
            sender,
            "Nothing sent: your reply had no text".into(),
            format!(
                "Write the text for {} after `reply`, on the first line and below it; it is sent as you wrote it.",
                to.email
            ),
        ));
        return d;
    }
    let mut references = held.references.clone();
    references.push(held.message_id.clone());
    let subject = if held.subject.to_ascii_lowercase().starts_with("re:") {
        held.subject.clone()
    } else {
        format!("Re: {}", held.subject)
    };
    d.event(
        "seller_replied",
        json!({ "by": sender, "to": to.email, "text": text, "check": check, "held_message": held.message_id }),
    );
    d.emails.push(Email {
        to: vec![to],
        in_reply_to: Some(held.message_id.clone()),
        references,
        subject,
        template: Template::SellerReply {
            text: text.to_string(),
        },
        to_customer: true,
        command: None,
        once: None,
        attach_inbound: false,
        language: None,
    });
    d.resolve_held = Some((held.message_id.clone(), format!("answered by {sender}")));
    d
}

fn clip(s: &str) -> String {
    let mut c: String = s.chars().take(60).collect();
    if c.len() < s.len() {
        c.push('…');
    }
    c
}
