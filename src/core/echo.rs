//! What makes a message part of a loop rather than a conversation. Many distinct orders from one
//! address are a busy customer (a café ordering for its branches); a loop is mail that comes
//! back: the same text again, or an answer to our automatic mail with nothing in it we can act
//! on. The loop caps (`core::reply_cap`) count these echoes, not the replies we send.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::classify::Kind;
use super::extract::Parsed;
use super::inbound::Inbound;

/// Why a message counts as an echo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Echo {
    /// The same text as an earlier message from the same address.
    Repeat,
    /// An answer to our mail that carries nothing we can act on.
    EmptyAnswer,
}

impl Echo {
    pub fn as_str(self) -> &'static str {
        match self {
            Echo::Repeat => "repeat",
            Echo::EmptyAnswer => "empty_answer",
        }
    }
}

/// The fingerprint of what the sender wrote (`Inbound::text`: quoted text and signature already
/// cut away), with case and whitespace aside; `None` when they wrote nothing. Hex SHA-256, cut
/// to 128 bits: only equal texts are ever compared.
pub fn fingerprint(text: &str) -> Option<String> {
    let mut hasher = Sha256::new();
    let mut any = false;
    // Every message is fingerprinted: ASCII words are lowered in one reused buffer (the same
    // bytes `to_lowercase` gives), the rest the general way.
    let mut lower = String::new();
    for word in text.split_whitespace() {
        if any {
            hasher.update(b" ");
        }
        if word.is_ascii() {
            lower.clear();
            lower.push_str(word);
            lower.make_ascii_lowercase();
            hasher.update(lower.as_bytes());
        } else {
            hasher.update(word.to_lowercase().as_bytes());
        }
        any = true;
    }
    if !any {
        return None;
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = hasher.finalize();
    let mut out = String::with_capacity(32);
    for b in &digest[..16] {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    Some(out)
}

/// Whether this message is an echo. `same_text_before` is how many earlier messages from the
/// same address in the window had its fingerprint.
pub fn classify(
    msg: &Inbound,
    parsed: &Parsed,
    shop_domain: &str,
    same_text_before: u32,
) -> Option<Echo> {
    if same_text_before > 0 {
        return Some(Echo::Repeat);
    }
    if answers_us(msg, shop_domain) && nothing_to_act_on(parsed) {
        return Some(Echo::EmptyAnswer);
    }
    None
}

/// It threads to a message of ours (our Message-IDs are in the shop's domain).
fn answers_us(msg: &Inbound, shop_domain: &str) -> bool {
    msg.thread_ids().any(|id| {
        id.rsplit_once('@')
            .is_some_and(|(_, d)| d.eq_ignore_ascii_case(shop_domain))
    })
}

/// Read, it asks nothing: no item, no line that looked like one, no address, no payment, and it
/// is neither a question about an order nor a cancellation.
fn nothing_to_act_on(parsed: &Parsed) -> bool {
    matches!(parsed.kind, Kind::CustomerReply | Kind::Unknown)
        && parsed.requested.items.is_empty()
        && parsed.requested.unmatched.is_empty()
        && parsed.shipping_address.is_none()
        && parsed.payment.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_is_the_lowered_words_hashed() {
        use sha2::{Digest, Sha256};
        let want = |t: &str| -> String {
            Sha256::digest(t.as_bytes())[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        assert_eq!(
            fingerprint("2 X Blue\n  Mug").unwrap(),
            want("2 x blue mug")
        );
        assert_eq!(fingerprint("Grüße, ÄPFEL").unwrap(), want("grüße, äpfel"));
        assert_eq!(fingerprint(" \n\t"), None);
    }

    #[test]
    fn case_and_whitespace_aside_the_same_text_is_the_same() {
        let a = fingerprint("1 x Blue Mug\n\nShip to:\n  Pat Okafor").unwrap();
        assert_eq!(
            Some(a.clone()),
            fingerprint("1 X BLUE MUG ship to: pat okafor\r\n")
        );
        assert_eq!(a.len(), 32);
        assert_ne!(Some(a), fingerprint("2 x Blue Mug ship to: pat okafor"));
        assert_eq!(fingerprint(" \r\n\t "), None);
    }

    fn parsed(kind: Kind) -> Parsed {
        Parsed {
            kind,
            customer: None,
            requested: Default::default(),
            shipping_address: None,
            missing: Vec::new(),
            reference: None,
            readings: Vec::new(),
            payment: None,
        }
    }

    #[test]
    fn an_empty_answer_to_our_mail_is_an_echo_and_a_question_is_not() {
        let mut msg = Inbound {
            in_reply_to: vec!["mc-1.ab12.0@lindenclay.test".into()],
            ..Default::default()
        };
        let reply = parsed(Kind::CustomerReply);
        assert_eq!(
            classify(&msg, &reply, "lindenclay.test", 0),
            Some(Echo::EmptyAnswer)
        );
        assert_eq!(
            classify(&msg, &parsed(Kind::StatusInquiry), "lindenclay.test", 0),
            None
        );
        assert_eq!(
            classify(&msg, &reply, "lindenclay.test", 2),
            Some(Echo::Repeat)
        );
        // Not an answer to us: someone else's thread.
        msg.in_reply_to = vec!["x@example.net".into()];
        assert_eq!(classify(&msg, &reply, "lindenclay.test", 0), None);
    }
}
