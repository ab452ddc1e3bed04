//! What kind of message this is, judged from the message alone.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::command::Verb;
use super::inbound::Inbound;
use super::not_for_us;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Order,
    CustomerReply,
    PaymentNotice,
    SellerCommand,
    StatusInquiry,
    Cancellation,
    AutoReply,
    Bounce,
    Bulk,
    /// The shop's mail server marked it as spam: stored and counted, never answered.
    Spam,
    /// Someone reported mail from the shop as spam (an ARF feedback report).
    SpamComplaint,
    Unknown,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Order => "order",
            Kind::CustomerReply => "customer_reply",
            Kind::PaymentNotice => "payment_notice",
            Kind::SellerCommand => "seller_command",
            Kind::StatusInquiry => "status_inquiry",
            Kind::Cancellation => "cancellation",
            Kind::AutoReply => "auto_reply",
            Kind::Bounce => "bounce",
            Kind::Bulk => "bulk",
            Kind::Spam => "spam",
            Kind::SpamComplaint => "spam_complaint",
            Kind::Unknown => "unknown",
        }
    }
}

static PAYMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)you'?ve received (?:a )?payment|you received (?:a )?payment|payment received|received a payment|payment (?:has )?succeeded|successful payment|charge succeeded|incoming (?:credit )?transfer|credit transfer received|you have received a transfer|zahlungseingang|virement reçu|transferencia recibida")
        .unwrap()
});
/// A customer saying they paid: a claim, classified with payment notices so that one place
/// decides what it is worth (nothing, until the provider's notice arrives).
// ASCII word boundaries: a Unicode `\b` keeps the regex crate off its fast DFA, and this runs on
// every message's first 2,000 characters (it cost a third of the parse rate).
static PAYMENT_CLAIM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)i(?:'ve| have| just| already)\s+(?:just\s+|now\s+|already\s+)?(?:paid(?-u:\b)|sent (?:the |my |you the )?(?:payment|money)|made (?:the |my )?payment|transferred the|wired the)|(?-u:\b)payment (?:has been |was |is )?(?:sent|made|done|completed)(?-u:\b)|(?-u:\b)j'ai (?:payé|effectué le paiement)|(?-u:\b)ich habe (?:bezahlt|überwiesen)|(?-u:\b)ya (?:he )?pagu?é")
        .unwrap()
});
// Word boundaries spelt out as (?:^|\W) and (?:$|\W) for the same reason, where a word may
// start or end with a non-ASCII letter.
static CANCEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|\W)cancel(?:l?ing)?\s+(?:my|the|this|our)\s+(?:whole\s+|entire\s+)?order|(?:^|\W)please cancel(?:$|\W)|(?:^|\W)(?:want|like|need) to cancel(?:$|\W)|(?:^|\W)cancel it(?:$|\W)|annuler (?:ma|la) commande|stornieren|storniere|cancelar (?:mi|el) pedido")
        .unwrap()
});
static STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)where(?:'s| is) my (?:order|package|parcel|stuff)|status of my order|order status|has my order (?:been )?ship|(?:any )?update on my order|tracking number|when will (?:my|the) (?:order|package|parcel|items?) (?:arrive|ship|be)|haven'?t received my order|not received my order|(?:order|package|parcel|it)[^\w\n](?:.{0,38}[^\w\n])?(?:hasn'?t|has not|never|didn'?t|did not|still not|not yet)\s+(?:arrived?|come|shipped|been (?:shipped|delivered))|où en est ma commande|wo ist meine bestellung|dónde está mi pedido")
        .unwrap()
});

/// Facts about the message that come from elsewhere than its own bytes, and the shop's setting
/// that judges them.
#[derive(Debug, Clone, Copy)]
pub struct Signals {
    /// The body asks for products (items or unmatched product lines were found).
    pub asks_for_products: bool,
    /// The subject names one of our order references (`core::reference`).
    pub names_reference: bool,
    /// A catalog item is recognised: an item line, or an unmatched line that names one.
    pub names_catalog_item: bool,
    /// Something reads as a request to buy ("I'd like to order", "ich möchte bestellen").
    pub asks_to_buy: bool,
    /// A spam score at or over this is spam (`[security] spam_score_threshold`).
    pub spam_threshold: f64,
}

impl Default for Signals {
    fn default() -> Self {
        Signals {
            asks_for_products: false,
            names_catalog_item: false,
            asks_to_buy: false,
            spam_threshold: super::not_for_us::DEFAULT_SPAM_THRESHOLD,
            names_reference: false,
        }
    }
}

pub fn classify(msg: &Inbound, shop_address: &str, signals: Signals) -> Kind {
    let from = msg.from.as_ref().map(|m| m.email.as_str()).unwrap_or("");
    let local = from.split('@').next().unwrap_or("").to_ascii_lowercase();
    let report = msg.report_type.as_deref();
    if msg.set_aside.is_some() {
        return Kind::Unknown;
    }
    if not_for_us::is_complaint(msg) {
        return Kind::SpamComplaint;
    }
    if not_for_us::spam(msg, signals.spam_threshold).is_some() {
        return Kind::Spam;
    }

    if report == Some("delivery-status") || matches!(local.as_str(), "mailer-daemon" | "postmaster")
    {
        return Kind::Bounce;
    }
    let auto = msg
        .auto_submitted
        .as_deref()
        .is_some_and(|v| !v.trim().eq_ignore_ascii_case("no"));
    if auto
        || msg.has_autoreply_headers
        || msg.has_loop_header
        || report == Some("disposition-notification")
        || from.eq_ignore_ascii_case(shop_address)
    {
        return Kind::AutoReply;
    }
    // RFC 3834 auto-replies also use the null sender; what is left with one is a bounce.
    if msg.return_path.as_deref() == Some("") {
        return Kind::Bounce;
    }
    // No sender to answer (`Inbound::sender_problem` says why): for a person.
    if from.is_empty() {
        return Kind::Unknown;
    }
    let precedence = msg
        .precedence
        .as_deref()
        .map(|p| p.trim().to_ascii_lowercase());
    if matches!(precedence.as_deref(), Some("bulk" | "list" | "junk"))
        || msg.has_list_headers
        || matches!(
            local.replace(['-', '_', '.'], "").as_str(),
            "noreply" | "donotreply" | "noresponse"
        )
    {
        return Kind::Bulk;
    }
    let first_line = msg
        .text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if is_command(first_line, msg.is_reply()) {
        return Kind::SellerCommand;
    }
    let head: String = msg.text.chars().take(2000).collect();
    if PAYMENT.is_match(&msg.subject) || PAYMENT.is_match(&head) || PAYMENT_CLAIM.is_match(&head) {
        return Kind::PaymentNotice;
    }
    // Checked after payment notices: providers send those through the same mailers.
    if not_for_us::bulk(msg).is_some() {
        return Kind::Bulk;
    }
    if CANCEL.is_match(&msg.subject) || CANCEL.is_match(&msg.text) {
        return Kind::Cancellation;
    }
    if STATUS.is_match(&msg.subject) || STATUS.is_match(&msg.text) {
        return Kind::StatusInquiry;
    }
    // A first message that names nothing we sell and asks to buy nothing is not an order,
    // however many lines look like order lines (a newsletter, a price list): it goes to a
    // person rather than getting "which item did you mean?". A reply by its headers (a
    // "Re:" subject alone is what price-list spam writes) may answer our question.
    let replies = !msg.in_reply_to.is_empty() || !msg.references.is_empty();
    if !replies && signals.asks_for_products && not_for_us::invoice(msg) {
        return Kind::Unknown;
    }
    if signals.asks_for_products && (signals.names_catalog_item || signals.asks_to_buy || replies) {
        return Kind::Order;
    }
    if replies || signals.names_reference {
        return Kind::CustomerReply;
    }
    Kind::Unknown
}

/// A seller's command on the first line. Without a reference, only `approve`, `reject <reason>`,
/// `shipped <carrier> <tracking>` and a bare `paid` (to a payment we proposed) count, and only in
/// a reply, where the thread says which order they mean; "Approved! great" from a customer is
/// not a command.
fn is_command(line: &str, is_reply: bool) -> bool {
    let Some(c) = super::command::parse_command(line) else {
        return false;
    };
    if c.reference.is_some() {
        return c.verb != Verb::Shipped || c.rest.split_whitespace().count() >= 2;
    }
    is_reply
        && match c.verb {
            Verb::Approve | Verb::Paid => c.rest.is_empty(),
            Verb::Reject => true,
            Verb::Shipped => c.rest.split_whitespace().count() >= 2,
            Verb::Returned => super::returned::read_rest(&c.rest).is_some(),
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::inbound::Mailbox;

    fn msg(from: &str, subject: &str, text: &str) -> Inbound {
        Inbound {
            message_id: "x@y".into(),
            subject: subject.into(),
            from: Some(Mailbox {
                name: None,
                email: from.into(),
            }),
            text: text.into(),
            ..Default::default()
        }
    }

    #[test]
    fn kinds_table() {
        let shop = "orders@shop.test";
        let products = Signals {
            asks_for_products: true,
            names_catalog_item: true,
            ..Signals::default()
        };
        let none = Signals::default();
        let mut reply = msg("pat@example.test", "Re: Your order", "approve");
        reply.in_reply_to = vec!["a@shop.test".into()];
        let cases: Vec<(Inbound, Signals, Kind)> = vec![
            (
                msg("pat@example.test", "Order", "2 x Blue Mug"),
                products,
                Kind::Order,
            ),
            (
                msg("MAILER-DAEMON@mx.test", "Undelivered", "2 x Blue Mug"),
                products,
                Kind::Bounce,
            ),
            (
                msg("no-reply@store.test", "News", "2 x Blue Mug"),
                products,
                Kind::Bulk,
            ),
            (
                msg(shop, "Your order", "2 x Blue Mug"),
                products,
                Kind::AutoReply,
            ),
            (
                msg("pat@example.test", "Hello", "Do you ship to Australia?"),
                none,
                Kind::Unknown,
            ),
            (
                msg(
                    "pat@example.test",
                    "Order",
                    "Please cancel my order MC-7K2QXD9F",
                ),
                none,
                Kind::Cancellation,
            ),
            (
                msg(
                    "pat@example.test",
                    "?",
                    "Where is my order? It's been a week",
                ),
                none,
                Kind::StatusInquiry,
            ),
            (
                msg(
                    "service@paypal.example",
                    "You've received a payment",
                    "MC-7K2QXD9F 36.00 USD",
                ),
                none,
                Kind::PaymentNotice,
            ),
            (
                msg(
                    "mara@shop.test",
                    "x",
                    "shipped MC-7K2QXD9F UPS 1Z999AA10123456784",
                ),
                none,
                Kind::SellerCommand,
            ),
            // Not a command; and a "Re:" subject with no thread headers and no reference is
            // no reply of ours (price-list spam writes one): a person reads it.
            (
                msg("pat@example.test", "Re: x", "Approved! great"),
                none,
                Kind::Unknown,
            ),
            (reply, none, Kind::SellerCommand),
        ];
        for (i, (m, s, want)) in cases.into_iter().enumerate() {
            assert_eq!(classify(&m, shop, s), want, "case {i}: {}", m.text);
        }
        let mut auto = msg("pat@example.test", "Out of office", "2 x Blue Mug");
        auto.auto_submitted = Some("auto-replied".into());
        assert_eq!(classify(&auto, shop, products), Kind::AutoReply);
        auto.auto_submitted = Some("no".into());
        assert_eq!(classify(&auto, shop, products), Kind::Order);
    }
}
