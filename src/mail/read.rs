//! Raw message bytes -> the core's `Inbound` view, with mail-parser.

use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

use crate::core::body::{html_to_text, strip_reply, unflow};
use crate::core::inbound::{Inbound, Mailbox};
use crate::core::not_for_us;
use crate::core::redact::{Redacted, blot_cards, redact_message};
use crate::mail::limits::{self, MessageLimits};

/// Largest body text we read for an order; the rest of a huge message is kept raw, not read.
const MAX_TEXT: usize = 256 * 1024;

pub fn sha256_hex(raw: &[u8]) -> String {
    // `LowerHex` on the digest: one pass, no allocation per byte (that was a third of
    // `verify`'s time on a large record).
    format!("{:x}", Sha256::digest(raw))
}

/// Read a raw message within the default [`MessageLimits`].
pub fn read(raw: &[u8]) -> Inbound {
    read_within(raw, &MessageLimits::default())
}

/// Read a raw message. Never fails: a message over `limits` is not parsed (only its header is
/// read, for whoever looks at it) and comes back with `set_aside` saying why; what cannot be
/// parsed yields empty fields, which the core classifies as `unknown` and sets aside.
pub fn read_within(raw: &[u8], limits: &MessageLimits) -> Inbound {
    match limits::check(raw, limits) {
        Ok(()) => read_checked(raw),
        Err(reason) => read_refused(raw, reason),
    }
}

/// Card numbers removed, then read: what every path that takes a message does first. Within
/// the limits the redactor parses the message; over them it is not parsed at all, so its
/// digits are blotted byte by byte.
pub fn redact_and_read(raw: &[u8], limits: &MessageLimits) -> (Option<Redacted>, Inbound) {
    match limits::check(raw, limits) {
        Ok(()) => match redact_message(raw) {
            // Re-encoded parts may have grown: the copy kept is the one checked.
            Some(r) => {
                let msg = read_within(&r.raw, limits);
                (Some(r), msg)
            }
            None => (None, read_checked(raw)),
        },
        Err(reason) => {
            let r = LONG_DIGIT_RUN
                .is_match(raw)
                .then(|| blot_cards(raw))
                .flatten();
            let msg = read_refused(r.as_ref().map_or(raw, |r| r.raw.as_slice()), reason);
            (r, msg)
        }
    }
}

/// What `blot_cards` looks for at the least (13 digits, single spaces or dashes between): its
/// byte-by-byte walk is slow on a message of tens of megabytes, this search is not.
static LONG_DIGIT_RUN: std::sync::LazyLock<regex::bytes::Regex> = std::sync::LazyLock::new(|| {
    regex::bytes::Regex::new("[0-9](?:[ -]?[0-9]){12}").expect("a fixed pattern")
});

/// The header of a message that is not parsed: at most this much of it is read.
const MAX_REFUSED_HEAD: usize = 64 * 1024;

/// Set aside unread: Message-ID, sender and subject from the header section alone (up to its
/// first blank line, so no part can nest), the body never looked at.
fn read_refused(raw: &[u8], reason: String) -> Inbound {
    let window = &raw[..raw.len().min(MAX_REFUSED_HEAD)];
    let blank = [b"\n\r\n".as_slice(), b"\n\n"]
        .iter()
        .filter_map(|p| memchr::memmem::find(window, p))
        .min();
    let head = blank
        .map(|end| &window[..=end])
        .or_else(|| memchr::memrchr(b'\n', window).map(|end| &window[..=end]))
        .unwrap_or(window);
    let mut msg = parse(head, raw).unwrap_or_else(|| Inbound {
        message_id: synthetic_id(raw),
        ..Default::default()
    });
    msg.text.clear();
    msg.set_aside = Some(reason);
    msg
}

fn read_checked(raw: &[u8]) -> Inbound {
    parse(raw, raw).unwrap_or_else(|| Inbound {
        message_id: synthetic_id(raw),
        set_aside: Some("not a readable email message".into()),
        ..Default::default()
    })
}

/// `bytes` parsed; `whole` is the message they come from (which names it when it has no
/// Message-ID).
fn parse(bytes: &[u8], whole: &[u8]) -> Option<Inbound> {
    let msg = MessageParser::default().parse(bytes)?;
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
    let (from, sender_problem) = sender(&msg, bytes);
    let report_type = report_type.or_else(|| {
        // A feedback report forwarded without its multipart/report wrapper still carries
        // its machine-readable part.
        msg.parts
            .iter()
            .any(|p| {
                p.content_type().is_some_and(|ct| {
                    ct.ctype().eq_ignore_ascii_case("message")
                        && ct
                            .subtype()
                            .is_some_and(|s| s.eq_ignore_ascii_case("feedback-report"))
                })
            })
            .then(|| "feedback-report".to_string())
    });
    Some(Inbound {
        message_id: msg
            .message_id()
            .map(str::to_string)
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| synthetic_id(whole)),
        in_reply_to: ids(msg.in_reply_to()),
        references: ids(msg.references()),
        subject: msg.subject().unwrap_or("").to_string(),
        from,
        sender_problem,
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
        marks: msg
            .headers_raw()
            .filter(|(name, _)| not_for_us::is_mark_header(name))
            .map(|(name, value)| {
                (
                    name.to_ascii_lowercase(),
                    value.split_whitespace().collect::<Vec<_>>().join(" "),
                )
            })
            .collect(),
        recipients: [msg.to(), msg.cc()]
            .into_iter()
            .flatten()
            .map(|a| a.iter().count())
            .sum(),
        bulk_layout: msg.html_bodies().find_map(|p| match &p.body {
            PartType::Html(h) => not_for_us::html_bulk_layout(h),
            _ => None,
        }),
        set_aside: None,
        text: body_text(&msg),
    })
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

/// The one sender we could answer, or why there is none.
fn sender(msg: &mail_parser::Message, raw: &[u8]) -> (Option<Mailbox>, Option<String>) {
    let Some(addr) = msg.from() else {
        let blank_first = raw
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t'))
            .is_some_and(|i| matches!(raw[i], b'\r' | b'\n'));
        let problem = if blank_first {
            "no usable sender: the message starts with a blank line, so its header was read as text"
        } else {
            "no usable sender: the message has no From header"
        };
        return (None, Some(problem.into()));
    };
    let count = addr.iter().count();
    if count > 1 {
        return (
            None,
            Some(format!(
                "no usable sender: the From header names {count} addresses"
            )),
        );
    }
    match first_mailbox(addr) {
        Some(mut m) => {
            m.name = m.name.and_then(|n| readable_name(msg, n));
            (Some(m), None)
        }
        None => {
            let value: String = msg
                .header_raw("From")
                .unwrap_or("")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(80)
                .collect();
            (
                None,
                Some(format!(
                    "no usable sender: the From header does not parse as an address ({value:?})"
                )),
            )
        }
    }
}

/// A display name as its writer meant it. A name in raw 8-bit bytes (no encoded word) comes
/// out of mail-parser with U+FFFD where the bytes were not UTF-8: such a name is read again in
/// the message's declared charset, and left out when that does not give clean text, so no
/// reply greets "Dear J\u{fffd}rgen".
fn readable_name(msg: &mail_parser::Message, name: String) -> Option<String> {
    if !name.contains('\u{fffd}') {
        return Some(name);
    }
    let charset = msg
        .content_type()
        .and_then(|ct| ct.attribute("charset"))
        .or_else(|| {
            msg.text_bodies()
                .find_map(|p| p.content_type().and_then(|ct| ct.attribute("charset")))
        })?;
    let decode = mail_parser::decoders::charsets::map::charset_decoder(charset.as_bytes())?;
    let header = msg
        .root_part()
        .headers()
        .iter()
        .find(|h| matches!(h.name, mail_parser::HeaderName::From))?;
    let bytes = msg
        .raw_message
        .get(header.offset_start as usize..header.offset_end as usize)?;
    let decoded = decode(bytes);
    let head = format!("From: {decoded}\r\n\r\n");
    let reparsed = MessageParser::default().parse(head.as_bytes())?;
    let name = reparsed.from()?.first()?.name()?.trim().to_string();
    (!name.is_empty() && !name.contains('\u{fffd}') && !name.chars().any(char::is_control))
        .then_some(name)
}

fn first_mailbox(addr: &Address) -> Option<Mailbox> {
    let a = addr.first()?;
    let email = a.address()?.trim().to_lowercase();
    // NULs, "<<" and the like survive mail-parser; no reply could be addressed to them, and
    // what cannot be answered is not a sender (the same check the reply's composer makes).
    if email.chars().any(|c| c.is_control() || c.is_whitespace())
        || email.parse::<lettre::Address>().is_err()
    {
        return None;
    }
    Some(Mailbox {
        name: a
            .name()
            .map(|n| n.replace(|c: char| c.is_control(), " "))
            .map(|n| n.trim().trim_matches(['"', '\'']).trim().to_string())
            .filter(|n| !n.is_empty()),
        email,
    })
}

fn synthetic_id(raw: &[u8]) -> String {
    format!("{}@no-message-id.mailcart", &sha256_hex(raw)[..32])
}
