//! From an inbound message to what it asks: kind, customer, items, address, what is missing.
//! This is everything `mailcart parse` shows, and what `decide` works from.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::address::{ShippingAddress, find_address};
use super::catalog::Catalog;
use super::classify::{Kind, Signals, classify};
use super::inbound::{Inbound, Mailbox};
use super::items::{ItemLine, Problem, Requested, find_items};
use super::numbers;
use super::payment::{PaymentNotice, read_notice};
use super::reference;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    Items,
    Quantity,
    ShippingAddress,
}

#[derive(Debug, Clone, Serialize)]
pub struct Parsed {
    pub kind: Kind,
    pub customer: Option<Mailbox>,
    pub requested: Requested,
    pub shipping_address: Option<ShippingAddress>,
    pub missing: Vec<Missing>,
    /// An order reference named in the subject or text, if any.
    pub reference: Option<String>,
    /// Every reference that mention may be (`reference` first): an order is taken only when
    /// exactly one of them names one.
    pub readings: Vec<String>,
    /// What a payment notice says was paid (for `payment_notice` only).
    pub payment: Option<PaymentNotice>,
}

/// The shape `mailcart parse` prints (the contract in the README).
#[derive(Debug, Serialize)]
pub struct ParseReport<'a> {
    pub kind: Kind,
    pub customer: Option<&'a Mailbox>,
    pub items: &'a [ItemLine],
    pub unmatched: Vec<&'a str>,
    pub shipping_address: Option<&'a ShippingAddress>,
    pub missing: &'a [Missing],
}

impl Parsed {
    pub fn report(&self) -> ParseReport<'_> {
        ParseReport {
            kind: self.kind,
            customer: self.customer.as_ref(),
            items: &self.requested.items,
            unmatched: self
                .requested
                .unmatched
                .iter()
                .map(|u| u.line.as_str())
                .collect(),
            shipping_address: self.shipping_address.as_ref(),
            missing: &self.missing,
        }
    }
}

/// What the reader needs besides the message.
#[derive(Debug, Clone, Copy)]
pub struct ReadContext<'a> {
    pub catalog: &'a Catalog,
    pub shop_address: &'a str,
    pub max_quantity: u32,
    /// The shop's reference prefix: payment notices carry other codes of the same shape.
    pub reference_prefix: &'a str,
    /// A spam score at or over this is spam (`[security] spam_score_threshold`).
    pub spam_threshold: f64,
}

pub(crate) static CLOSING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:thanks?(?: you)?(?: so much| a lot)?|many thanks|best(?: regards| wishes)?|kind regards|regards|warm regards|cheers|sincerely|yours|all the best|merci(?: beaucoup)?|cordialement|bien à vous|danke(?: schön)?|viele grüße|mit freundlichen grüßen|liebe grüße|lg|gracias|saludos|un saludo|atentamente|xo|xx)[,.!]*$")
        .unwrap()
});
static SUBJECT_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^(?:\s*(?:re|fwd?|aw|wg|sv|tr|antw)\s*:\s*)+").unwrap());

pub fn read(msg: &Inbound, ctx: ReadContext) -> Parsed {
    let lines: Vec<&str> = msg.text.lines().collect();
    let found = find_address(&lines);
    let skip = found.as_ref().map(|a| a.lines.clone()).unwrap_or_default();
    let mut requested = find_items(&lines, &skip, ctx.catalog, ctx.max_quantity);
    let names_reference = reference::is_named(&msg.subject, ctx.reference_prefix);
    if requested.is_empty() && !names_reference {
        // Some people write the whole order in the subject line.
        let subject = SUBJECT_PREFIX.replace(&msg.subject, "");
        requested = find_items(&[subject.as_ref()], &[], ctx.catalog, ctx.max_quantity);
    }
    let kind = classify(
        msg,
        ctx.shop_address,
        Signals {
            asks_for_products: !requested.is_empty(),
            names_reference,
            names_catalog_item: names_catalog_item(&requested),
            // Only asked when it decides: an item named already makes an order.
            asks_to_buy: !requested.is_empty()
                && !names_catalog_item(&requested)
                && asks_to_buy(msg),
            spam_threshold: ctx.spam_threshold,
        },
    );
    let payment = (kind == Kind::PaymentNotice)
        .then(|| read_notice(&msg.subject, &msg.text, ctx.reference_prefix));
    let mut readings = reference::named(&[&msg.subject, &msg.text], ctx.reference_prefix)
        .map(|m| m.readings)
        .unwrap_or_default();
    // Payment notices carry other codes of the same shape (a bank's `TRX-20261201`); anyone
    // else's mail may name an order of a prefix the shop used before.
    if readings.is_empty() && payment.is_none() {
        readings.extend(
            reference::any_prefix(&msg.subject).or_else(|| reference::any_prefix(&msg.text)),
        );
    }
    let reference = readings.first().cloned();

    let customer = msg.correspondent().map(|m| Mailbox {
        name: m
            .name
            .clone()
            .filter(|n| !n.contains('@') && !n.trim().is_empty())
            // A gift's recipient is someone else, not the customer.
            .or_else(|| {
                found
                    .as_ref()
                    .filter(|a| !a.for_someone_else)
                    .and_then(|a| a.recipient.clone())
            })
            .or_else(|| signature_name(&lines)),
        email: m.email.clone(),
    });

    if !matches!(kind, Kind::Order | Kind::CustomerReply) {
        return Parsed {
            kind,
            customer,
            requested: Requested::default(),
            shipping_address: None,
            missing: Vec::new(),
            reference,
            readings,
            payment,
        };
    }
    let shipping_address = found.map(|a| a.address);
    let mut missing = Vec::new();
    if kind == Kind::Order {
        if requested.is_empty() {
            missing.push(Missing::Items);
        }
        if requested.has_quantity_problem() {
            missing.push(Missing::Quantity);
        }
        if shipping_address.is_none() {
            missing.push(Missing::ShippingAddress);
        }
    }
    Parsed {
        kind,
        customer,
        requested,
        shipping_address,
        missing,
        reference,
        readings,
        payment: None,
    }
}

/// An item was found, or a line names one but could not be settled (two items fit, the
/// quantity is unusable). A line that names nothing we sell is not evidence of an order.
/// A catalog item asked for with a count the customer wrote ("2 x Blue Mug", "three bowls").
/// An article is no count: "a bowl of soup" in a technical note and "a teapot and a mug" in a
/// PR pitch's sample request name our products but order nothing; an order worded that way
/// says so ("I'd like a teapot"), which `asks_to_buy` sees.
fn names_catalog_item(requested: &Requested) -> bool {
    let counted = |line: &str| {
        line.split(|c: char| !c.is_alphanumeric() && c != '×')
            .map(str::to_lowercase)
            .any(|w| {
                !w.is_empty()
                    && !numbers::is_article(&w)
                    && (numbers::quantity_word(&w).is_some()
                        || numbers::marked_number(&w).is_some()
                        || w == "dozen")
            })
    };
    requested.items.iter().any(|i| counted(&i.line))
        || requested.unmatched.iter().any(|u| {
            matches!(u.problem, Problem::Ambiguous | Problem::Quantity) && counted(&u.line)
        })
}

/// A request to buy in the customer's words, first person or polite request, in the languages
/// we read. Imperatives ("Order now!", "Jetzt bestellen") are what advertisements say.
static BUY_INTENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)(?:i(?:'?d| would| want(?: to)?| wish to| need| will| am going to)\s+(?:like\s+(?:to\s+)?)?(?:order|buy|purchase|get|have|take)(?-u:\b)|i'?d like(?-u:\b)|i would like(?-u:\b)|i'?ll take(?-u:\b)|(?:can|could|may) i (?:order|buy|get|have|purchase)(?-u:\b)|please (?:send|ship|sell|reserve|put aside) (?:me|us)(?-u:\b)|(?:we|i) (?:would|'d) like to (?:order|buy)|(?:place|placing|make) an order(?-u:\b)|ich (?:möchte|würde gerne?|hätte gerne?|will|bestelle|nehme)(?-u:\b)|wir (?:möchten|hätten gerne?|bestellen)(?-u:\b)|bitte (?:senden|schicken) sie mir(?-u:\b)|je (?:voudrais|souhaite|souhaiterais|veux|commande|prendrai)(?-u:\b)|j'aimerais(?-u:\b)|nous (?:voudrions|souhaitons|aimerions)(?-u:\b)|merci de (?:m'envoyer|me faire parvenir)(?-u:\b)|(?:quisiera|quiero|querría|necesito|me gustaría|deseo)\s+(?:pedir|comprar|encargar|ordenar|\d|un|una|dos|tres)|por favor,? (?:envíe|envíen|mánde)(?:n)?me(?-u:\b)|(?:vorrei|desidero|mi servono|mi serve|vogliamo|vorremmo)(?-u:\b)|per favore (?:inviatemi|mandatemi|spedite(?:mi)?)(?-u:\b)|ik (?:wil|zou) graag(?-u:\b)|graag (?:bestel|wil) ik(?-u:\b)|ik bestel(?-u:\b)|(?:stuur|zend) (?:me|mij)(?-u:\b)|(?:gostaria|queria|quero|queríamos|gostaríamos) de (?:encomendar|pedir|comprar)(?-u:\b)|(?:quero|queria) (?:encomendar|pedir|comprar|\d|um|uma|dois|duas)(?-u:\b)|por favor,? (?:enviem|mandem)-?me(?-u:\b))")
        .expect("a fixed pattern")
});

/// A subject that is just "Order" (or "Bestellung", "Commande" ...), maybe for someone.
static ORDER_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:(?:new|my|neue|meine|nouvelle|ma|nuevo|mi|nuovo|il mio|nieuwe|mijn|novo|nova|a minha)\s+)?(?:order|bestellung|commande|pedido|ordine|bestelling|encomenda)(?:\s+(?:for|from|von|für|pour|de|da|van|voor|per|por|para)\s.*)?\s*[.!:]*\s*$")
        .expect("a fixed pattern")
});

fn asks_to_buy(msg: &Inbound) -> bool {
    let subject = SUBJECT_PREFIX.replace(&msg.subject, "");
    let head: String = msg.text.chars().take(4000).collect();
    ORDER_SUBJECT.is_match(&subject) || BUY_INTENT.is_match(&subject) || BUY_INTENT.is_match(&head)
}

/// "Thanks,\nPat Okafor" at the end of a message.
fn signature_name(lines: &[&str]) -> Option<String> {
    let pos = lines.iter().rposition(|l| CLOSING.is_match(l.trim()))?;
    let name = lines[pos + 1..]
        .iter()
        .map(|l| l.trim())
        .find(|l| !l.is_empty())?;
    let words: Vec<&str> = name.split_whitespace().collect();
    let plausible = (1..=4).contains(&words.len())
        && words
            .iter()
            .all(|w| w.chars().all(|c| c.is_alphabetic() || "-'.’".contains(c)))
        && words
            .iter()
            .all(|w| w.chars().next().is_some_and(char::is_uppercase));
    plausible.then(|| name.to_string())
}
