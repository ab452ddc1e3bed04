//! Raw message bytes -> the core's `Inbound` view, with mail-parser.

use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

use crate::core::body::{html_to_text, strip_reply, unflow};
use crate::core::inbound::{Inbound, Mailbox};

/// Largest body text we read for an order; the rest of a huge message is kept raw, not read.
const MAX_TEXT: usize = 256 * 1024;

pub fn sha256_hex(raw: &[u8]) -> String {
    // `LowerHex` on the digest: one pass, no allocation per byte (that was a third of
    // `verify`'s time on a large record).
    format!("{:x}", Sha256::digest(raw))
}

/// Messages larger than this are kept raw but not read.
pub const MAX_MESSAGE_BYTES: usize = 25 * 1024 * 1024;
/// More nested message/ and multipart/ parts than this is no order: the parser recurses per
/// level, so the limit is enforced before parsing.
pub const MAX_NESTED_PARTS: usize = 100;

/// Read a raw message. Never fails: what cannot be parsed yields an `Inbound` with empty
/// fields, which the core classifies as `unknown` and sets aside for a person.
pub fn read(raw: &[u8]) -> Inbound {
    let hash = sha256_hex(raw);
    let set_aside = |reason: String| Inbound {
        message_id: synthetic_id(&hash),
        set_aside: Some(reason),
        ..Default::default()
    };
    if raw.len() > MAX_MESSAGE_BYTES {
        return set_aside(format!(
            "message of {} bytes is over the {MAX_MESSAGE_BYTES}-byte limit",
            raw.len()
        ));
    }
    let nested = nested_part_count(raw);
    if nested > MAX_NESTED_PARTS {
        return set_aside(format!(
            "{nested} nested message/multipart parts, over the limit of {MAX_NESTED_PARTS}"
        ));
    }
    let Some(msg) = MessageParser::default().parse(raw) else {
        return set_aside("not a readable email message".into());
    };
    let header_text = |name: &str| msg.header(name).and_then(header_as_text);
    let content_type = msg.content_type();
    let report_type = content_type
        .filter(|ct| {
            ct.ctype().eq_ignore_ascii_case("multipart")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        })
        .and_then(|ct| ct.attribute("report-type"))
        .map(|s| s.to_ascii_lowercase());
    let return_path = match msg.return_path() {
        HeaderValue::Text(t) => Some(t.trim().trim_matches(['<', '>']).to_string()),
        HeaderValue::TextList(l) => l
            .first()
            .map(|t| t.trim().trim_matches(['<', '>']).to_string()),
        HeaderValue::Empty => msg
            .header_raw("Return-Path")
            .map(|r| r.trim().trim_matches(['<', '>']).trim().to_string()),
        _ => None,
    };
    Inbound {
        message_id: msg
            .message_id()
            .map(str::to_string)
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| synthetic_id(&hash)),
        in_reply_to: ids(msg.in_reply_to()),
        references: ids(msg.references()),
        subject: msg.subject().unwrap_or("").to_string(),
        from: msg.from().and_then(first_mailbox),
        reply_to: msg.reply_to().and_then(first_mailbox),
        return_path,
        auto_submitted: header_text("Auto-Submitted"),
        precedence: header_text("Precedence"),
        has_list_headers: !msg.list_id().is_empty()
            || !msg.list_unsubscribe().is_empty()
            || msg.header("List-Post").is_some(),
        has_autoreply_headers: [
            "X-Autoreply",
            "X-Autorespond",
            "X-Auto-Response-Suppress",
            "X-Autoresponder",
        ]
        .iter()
        .any(|h| msg.header(*h).is_some()),
        has_loop_header: msg.header(crate::mail::compose::LOOP_HEADER).is_some(),
        authentication_results: msg
            .headers_raw()
            .filter(|(name, _)| name.eq_ignore_ascii_case("Authentication-Results"))
            .map(|(_, value)| value.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect(),
        report_type,
        set_aside: None,
        text: body_text(&msg),
    }
}

/// Content-Type headers naming a container type (an upper bound on nesting depth).
fn nested_part_count(raw: &[u8]) -> usize {
    let mut count = 0;
    for line in raw.split(|b| *b == b'\n') {
        let line = line.trim_ascii_start();
        if line.len() < 13 || !line[..13].eq_ignore_ascii_case(b"content-type:") {
            continue;
        }
        let value = line[13..].trim_ascii_start();
        if value.len() >= 8
            && (value[..8].eq_ignore_ascii_case(b"message/")
                || value.len() >= 10 && value[..10].eq_ignore_ascii_case(b"multipart/"))
        {
            count += 1;
        }
    }
    count
}

/// The sender's own words: the text part when there is one, else the HTML turned into text;
/// quoted text and signature removed.
fn body_text(msg: &mail_parser::Message) -> String {
    let mut text = String::new();
    let mut from_html = false;
    for part in msg.text_bodies() {
        match &part.body {
            PartType::Text(t) => {
                let flowed = part
                    .content_type()
                    .and_then(|ct| ct.attribute("format"))
                    .is_some_and(|f| f.eq_ignore_ascii_case("flowed"));
                if flowed {
                    let delsp = part
                        .content_type()
                        .and_then(|ct| ct.attribute("delsp"))
                        .is_some_and(|d| d.eq_ignore_ascii_case("yes"));
                    text.push_str(&unflow(t, delsp));
                } else {
                    text.push_str(t);
                }
                text.push('\n');
            }
            PartType::Html(h) => {
                from_html = true;
                text.push_str(&html_to_text(h));
                text.push('\n');
            }
            _ => {}
        }
        if text.len() > MAX_TEXT {
            break;
        }
    }
    // A text part that says nothing ("This is an HTML message") while HTML carries the order.
    if !from_html
        && text.trim().len() < 20
        && let Some(h) = msg.html_bodies().find_map(|p| match &p.body {
            PartType::Html(h) => Some(h),
            _ => None,
        })
    {
        text = html_to_text(h);
    }
    if text.len() > MAX_TEXT {
        let mut cut = MAX_TEXT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    strip_reply(&text.replace("\r\n", "\n"))
}

fn header_as_text(v: &HeaderValue) -> Option<String> {
    match v {
        HeaderValue::Text(t) => Some(t.to_string()),
        HeaderValue::TextList(l) => Some(l.join(", ")),
        HeaderValue::Empty => Some(String::new()),
        _ => None,
    }
}

fn ids(v: &HeaderValue) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

fn first_mailbox(addr: &Address) -> Option<Mailbox> {
    let a = addr.first()?;
    let email = a.address()?.trim().to_lowercase();
    if email.is_empty() {
        return None;
    }
    Some(Mailbox {
        name: a
            .name()
            .map(|n| n.trim().trim_matches(['"', '\'']).trim().to_string())
            .filter(|n| !n.is_empty()),
        email,
    })
}

fn synthetic_id(hash: &str) -> String {
    format!("{}@no-message-id.mailcart", &hash[..32])
}
