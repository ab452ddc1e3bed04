//! A seller's command, from the first line they wrote: `approve`, `reject <reason>`,
//! `shipped <carrier> <tracking>`, and, naming a reference, `cancel`, `note`, `paid`,
//! `refunded`, `returned [SKU QTY ...]`. Any case; the reference may stand right after the verb.

use serde::Serialize;

use super::reference;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verb {
    Approve,
    Reject,
    Shipped,
    Cancel,
    Note,
    Paid,
    Refunded,
    /// Goods came back: `returned REF [SKU QTY ...]` (none listed: what was authorised).
    Returned,
    /// To an alert about a held message: the text that follows goes to its sender.
    Reply,
    /// To an alert about a held message: dealt with, no answer needed.
    Resolved,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Approve => "approve",
            Verb::Reject => "reject",
            Verb::Shipped => "shipped",
            Verb::Cancel => "cancel",
            Verb::Note => "note",
            Verb::Paid => "paid",
            Verb::Refunded => "refunded",
            Verb::Returned => "returned",
            Verb::Reply => "reply",
            Verb::Resolved => "resolved",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Command {
    pub verb: Verb,
    /// The reference named in the command itself (a fresh command); a reply may leave it out.
    pub reference: Option<String>,
    /// Everything after the verb and reference: a reason, a note, "CARRIER TRACKING".
    pub rest: String,
}

/// The command on the first line of `text`, if it is one.
pub fn parse_command(text: &str) -> Option<Command> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let (word, after) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let word = word
        .trim_end_matches(|c: char| !c.is_alphanumeric())
        .to_ascii_lowercase();
    let verb = match word.as_str() {
        "approve" | "approved" => Verb::Approve,
        "reject" | "rejected" => Verb::Reject,
        "shipped" => Verb::Shipped,
        "cancel" => Verb::Cancel,
        "note" => Verb::Note,
        "paid" => Verb::Paid,
        "refunded" => Verb::Refunded,
        "returned" => Verb::Returned,
        "reply" => Verb::Reply,
        "resolved" | "resolve" => Verb::Resolved,
        _ => return None,
    };
    if verb == Verb::Reply {
        // The seller's whole text after the word, every line of it, for the customer.
        let at = text.find(word_raw(line)).unwrap_or(0) + word_raw(line).len();
        return Some(Command {
            verb,
            reference: None,
            rest: text[at..]
                .trim_start_matches([':', ',', '-', ' '])
                .trim()
                .to_string(),
        });
    }
    let after = after.trim();
    let (reference, rest) = match reference::at_start(after) {
        Some((r, len))
            if after[len..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric()) =>
        {
            (
                Some(r),
                after[len..].trim_start_matches([':', ',', '-', ' ']).trim(),
            )
        }
        _ => (None, after),
    };
    Some(Command {
        verb,
        reference,
        rest: rest.to_string(),
    })
}

/// The first word of `line` as written.
fn word_raw(line: &str) -> &str {
    line.split(char::is_whitespace).next().unwrap_or(line)
}

/// `UPS 1Z999AA10123456784`, `Royal Mail AB123456789GB`: the carrier (one of `known`, any
/// case, several words allowed; else the first word) and the tracking number.
pub fn carrier_and_tracking(rest: &str, known: &[&str]) -> Option<(String, String)> {
    let rest = rest.trim();
    let lower = rest.to_ascii_lowercase();
    let (carrier, tail) = known
        .iter()
        .filter(|k| {
            let k = k.to_ascii_lowercase();
            lower.starts_with(&k)
                && lower[k.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_whitespace() || c == ':')
        })
        .max_by_key(|k| k.len())
        .map(|k| (k.to_string(), &rest[k.len()..]))
        .or_else(|| {
            let (first, tail) = rest.split_once(char::is_whitespace)?;
            Some((first.to_string(), tail))
        })?;
    let tracking = tail
        .trim_start_matches([':', ' '])
        .split_whitespace()
        .next()?
        .trim_end_matches(['.', ','])
        .to_string();
    (!tracking.is_empty()
        && tracking
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-'))
    .then_some((carrier, tracking))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_in_every_shape() {
        let c = parse_command("Approve\n\n> Order MC-7K2QXD9F needs your approval").unwrap();
        assert_eq!(
            (c.verb, c.reference, c.rest.as_str()),
            (Verb::Approve, None, "")
        );
        let c = parse_command("reject: sorry, we cannot ship ceramics to you").unwrap();
        assert_eq!(c.verb, Verb::Reject);
        assert_eq!(c.rest, "sorry, we cannot ship ceramics to you");
        let c = parse_command("  REJECT mc-7k2qxd9f out of stock, sorry").unwrap();
        assert_eq!(c.reference.as_deref(), Some("MC-7K2QXD9F"));
        assert_eq!(c.rest, "out of stock, sorry");
        let c = parse_command("shipped MC-7K2QXD9F Royal Mail AB123456789GB").unwrap();
        assert_eq!(c.verb, Verb::Shipped);
        assert_eq!(
            carrier_and_tracking(&c.rest, &["Royal Mail", "UPS"]),
            Some(("Royal Mail".into(), "AB123456789GB".into()))
        );
        assert_eq!(
            carrier_and_tracking("ups 1Z999AA10123456784.", &["UPS"]),
            Some(("UPS".into(), "1Z999AA10123456784".into()))
        );
        assert_eq!(carrier_and_tracking("UPS", &["UPS"]), None);
        assert_eq!(carrier_and_tracking("UPS <script>", &["UPS"]), None);
        let c = parse_command("paid mc-7k2qxdOf").unwrap();
        assert_eq!(c.reference.as_deref(), Some("MC-7K2QXD0F"), "folded");
        let c = parse_command("paid MC-7K2QXD9FX2 thanks").unwrap();
        assert_eq!(
            (c.reference, c.rest.as_str()),
            (None, "MC-7K2QXD9FX2 thanks")
        );
        // `reply` keeps every line the seller wrote after the word; `resolved` a note.
        let c = parse_command("\nReply: Yes, we gift wrap.\n\nI'll add a card.").unwrap();
        assert_eq!(
            (c.verb, c.reference, c.rest.as_str()),
            (Verb::Reply, None, "Yes, we gift wrap.\n\nI'll add a card.")
        );
        let c = parse_command("resolved phoned her").unwrap();
        assert_eq!((c.verb, c.rest.as_str()), (Verb::Resolved, "phoned her"));
        assert!(parse_command("Thanks, approved by my manager").is_none());
        assert!(parse_command("").is_none());
    }
}
