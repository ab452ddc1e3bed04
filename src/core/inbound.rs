//! What the core knows of an incoming message: the headers that matter and the body as text.
//! Built by `mail::read` from the raw bytes; built by hand in tests.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    pub name: Option<String>,
    /// Lowercased.
    pub email: String,
}

#[derive(Debug, Clone, Default)]
pub struct Inbound {
    /// Without angle brackets. Synthesised from the hash when the message has none.
    pub message_id: String,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub subject: String,
    pub from: Option<Mailbox>,
    pub reply_to: Option<Mailbox>,
    /// `Some("")` for the null sender `<>`.
    pub return_path: Option<String>,
    pub auto_submitted: Option<String>,
    pub precedence: Option<String>,
    pub has_list_headers: bool,
    /// X-Autoreply, X-Autorespond or X-Auto-Response-Suppress present.
    pub has_autoreply_headers: bool,
    /// Our own loop-marker header.
    pub has_loop_header: bool,
    /// `Authentication-Results` values, topmost first, unfolded.
    pub authentication_results: Vec<String>,
    /// `report-type` of a multipart/report, lowercased.
    pub report_type: Option<String>,
    /// Spam verdicts and bulk mailers' marks among the headers (`not_for_us::MARK_HEADERS`):
    /// lowercased name, unfolded value.
    pub marks: Vec<(String, String)>,
    /// Addresses in To and Cc.
    pub recipients: usize,
    /// What in the HTML shows a newsletter (`not_for_us::html_bulk_layout`).
    pub bulk_layout: Option<&'static str>,
    /// Why the message has no sender we could answer, when `from` is None: no From header, one
    /// that does not parse, several addresses, a header section read as body.
    pub sender_problem: Option<String>,
    /// Why the message was not read at all (too large, too deeply nested, not MIME); such a
    /// message is kept for a person.
    pub set_aside: Option<String>,
    /// The text the sender wrote in this message: quoted text and signature removed,
    /// HTML turned into text.
    pub text: String,
}

impl Inbound {
    pub fn is_reply(&self) -> bool {
        !self.in_reply_to.is_empty()
            || !self.references.is_empty()
            || has_reply_prefix(&self.subject)
    }

    /// Message-IDs this message says it follows, nearest first.
    pub fn thread_ids(&self) -> impl Iterator<Item = &str> {
        self.in_reply_to
            .iter()
            .chain(self.references.iter().rev())
            .map(String::as_str)
    }

    /// The From address (lowercased), empty when there is none: who vouches for a command or
    /// a payment notice, unlike `correspondent`, which a sender may point anywhere.
    pub fn sender(&self) -> String {
        self.from
            .as_ref()
            .map(|m| m.email.clone())
            .unwrap_or_default()
    }

    /// The address we answer: Reply-To over From.
    pub fn correspondent(&self) -> Option<&Mailbox> {
        self.reply_to.as_ref().or(self.from.as_ref())
    }
}

fn has_reply_prefix(subject: &str) -> bool {
    let s = subject.trim_start().to_lowercase();
    ["re:", "re :", "aw:", "sv:", "antw:", "rif:", "r:"]
        .iter()
        .any(|p| s.starts_with(p))
}
