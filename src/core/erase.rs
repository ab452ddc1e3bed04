//! A customer's erasure (GDPR art. 17), the pure part: what of an order the books keep, and
//! how a text loses the customer's name, address and email.
//!
//! The books keep what an invoice needs: the reference, dates, items, amounts, currency and
//! the destination country (tax depends on it). Who bought it, where it went and what they
//! wrote go.

use std::borrow::Cow;

use serde_json::Value;

use crate::core::order::Order;

/// What an erased text says instead.
pub const ERASED: &str = "[erased]";

/// The domain of the pseudonyms erased customers become (`customer erase`).
pub const ERASED_DOMAIN: &str = "erased.invalid";

/// Whether this address is an erased customer's pseudonym: nobody to write to.
pub fn is_erased(email: &str) -> bool {
    email
        .rsplit_once('@')
        .is_some_and(|(_, domain)| domain.eq_ignore_ascii_case(ERASED_DOMAIN))
}

/// Terms shorter than this are not searched for: "Al" or "12" would blot unrelated text.
const SHORTEST_TERM: usize = 4;

/// The strings that identify the customer in these orders, longest first (so an address line
/// is replaced before the name inside it), each once. The email address is first of all.
pub fn personal_terms(email: &str, orders: &[Order]) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for order in orders {
        terms.extend(order.customer.name.clone());
        for p in &order.payments {
            terms.extend(p.payer.clone());
        }
        if let Some(a) = &order.shipping_address {
            let country = a.country.as_deref().unwrap_or_default();
            terms.extend(
                a.text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.eq_ignore_ascii_case(country))
                    .map(str::to_string),
            );
            terms.extend(a.postal_code.clone());
        }
    }
    // A name is also searched for word by word ("Pat" signs "Thanks, Pat").
    let words: Vec<String> = orders
        .iter()
        .filter_map(|o| o.customer.name.as_deref())
        .flat_map(str::split_whitespace)
        .map(str::to_string)
        .collect();
    terms.extend(words);
    terms.retain(|t| t.chars().count() >= SHORTEST_TERM && !t.eq_ignore_ascii_case(email));
    terms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    terms.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    terms.insert(0, email.to_ascii_lowercase());
    terms
}

/// The order as the books keep it once its customer is erased (`terms` from
/// [`personal_terms`], for the sellers' notes).
pub fn pseudonymise(order: &mut Order, pseudonym: &str, terms: &[String]) {
    order.customer.name = None;
    order.customer.email = pseudonym.to_string();
    if let Some(a) = &mut order.shipping_address {
        a.text = ERASED.to_string();
        a.postal_code = None;
    }
    for p in &mut order.payments {
        if p.payer.is_some() {
            p.payer = Some(pseudonym.to_string());
        }
    }
    order.open_problems.clear();
    order.customer_message.clear();
    for note in &mut order.notes {
        *note = scrub(note, terms, pseudonym).into_owned();
    }
}

/// `text` with every term replaced, ignoring case: the email address by the pseudonym (so a
/// record still tells which rows were the same person's), the rest by "[erased]".
pub fn scrub<'a>(text: &'a str, terms: &[String], pseudonym: &str) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(text);
    for (i, term) in terms.iter().enumerate() {
        let with = if i == 0 { pseudonym } else { ERASED };
        if let Some(replaced) = replace_ignoring_case(&out, term, with) {
            out = Cow::Owned(replaced);
        }
    }
    out
}

/// Every string inside `value` scrubbed; whether anything changed.
pub fn scrub_json(value: &mut Value, terms: &[String], pseudonym: &str) -> bool {
    match value {
        Value::String(s) => match scrub(s, terms, pseudonym) {
            Cow::Owned(new) => {
                *s = new;
                true
            }
            Cow::Borrowed(_) => false,
        },
        Value::Array(items) => items.iter_mut().fold(false, |changed, v| {
            scrub_json(v, terms, pseudonym) | changed
        }),
        Value::Object(map) => map.values_mut().fold(false, |changed, v| {
            scrub_json(v, terms, pseudonym) | changed
        }),
        _ => false,
    }
}

fn replace_ignoring_case(text: &str, term: &str, with: &str) -> Option<String> {
    if term.is_empty() {
        return None;
    }
    // ASCII case folding keeps byte offsets; other letters must match as written.
    let hay = text.to_ascii_lowercase();
    let needle = term.to_ascii_lowercase();
    let mut out = String::new();
    let mut pos = 0;
    for (at, _) in hay.match_indices(&needle) {
        if at < pos {
            continue;
        }
        out.push_str(&text[pos..at]);
        out.push_str(with);
        pos = at + needle.len();
    }
    if pos == 0 {
        return None;
    }
    out.push_str(&text[pos..]);
    Some(out)
}

/// What a kept message becomes: its Message-ID (threads and duplicates still resolve) and the
/// fact of the erasure, nothing the customer wrote or was sent. The row number keeps two
/// copies of one message distinct (raw hashes are unique).
pub fn placeholder(message_id: &str, erased_on: &str, row: i64) -> Vec<u8> {
    format!(
        "Message-ID: <{message_id}>\r\nSubject: {ERASED}\r\nX-Mailcart-Erased: {erased_on}; row {row}\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         This message was erased on {erased_on} at the customer's request. The order's \
         reference, dates, items and amounts are kept in the books.\r\n"
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::address::ShippingAddress;
    use crate::core::inbound::Mailbox;

    fn order() -> Order {
        let mut o: Order = serde_json::from_value(serde_json::json!({
            "reference": "MC-1", "state": "shipped",
            "customer": { "name": "Pat Okafor", "email": "pat@example.test" },
            "currency": "USD", "wanted": [], "open_problems": [], "lines": [],
            "totals": { "subtotal": "10.00", "shipping": "5.00", "tax": "0.00", "total": "15.00", "tax_rate": "0" },
            "shipping_address": null, "country_code": "US",
            "created_at": "2026-11-22T09:00:00Z", "reserved_until": null, "payment_due": null,
            "flags": []
        }))
        .unwrap();
        o.shipping_address = Some(ShippingAddress {
            text: "Pat Okafor\n41 Linden Avenue\nPortland, OR 97205\nUSA".into(),
            postal_code: Some("97205".into()),
            country: Some("USA".into()),
            country_code: Some("US".into()),
        });
        o.customer_message = "Gift wrap please, it's for Sam".into();
        o
    }

    #[test]
    fn the_books_keep_amounts_items_dates_and_country_only() {
        let mut o = order();
        let before = o.clone();
        o.notes = vec!["called Pat Okafor about the glaze".into()];
        let terms = personal_terms("pat@example.test", &[o.clone()]);
        pseudonymise(&mut o, "erased-X@erased.invalid", &terms);
        assert_eq!(
            o.customer,
            Mailbox {
                name: None,
                email: "erased-X@erased.invalid".into()
            }
        );
        let a = o.shipping_address.as_ref().unwrap();
        assert_eq!((a.text.as_str(), a.postal_code.as_deref()), (ERASED, None));
        assert_eq!(a.country_code.as_deref(), Some("US"));
        assert_eq!(o.totals, before.totals);
        assert_eq!(o.created_at, before.created_at);
        assert!(o.customer_message.is_empty());
        let doc = serde_json::to_string(&o).unwrap();
        for gone in [
            "Pat",
            "Okafor",
            "Linden",
            "97205",
            "pat@example.test",
            "Sam",
        ] {
            assert!(!doc.contains(gone), "{gone} left in {doc}");
        }
    }

    #[test]
    fn terms_cover_name_words_address_lines_and_email_in_any_case() {
        let terms = personal_terms("Pat@Example.test", &[order()]);
        assert_eq!(terms[0], "pat@example.test");
        for t in [
            "Pat Okafor",
            "41 Linden Avenue",
            "Portland, OR 97205",
            "97205",
            "Okafor",
        ] {
            assert!(terms.iter().any(|x| x == t), "{t} missing from {terms:?}");
        }
        assert!(!terms.iter().any(|x| x == "USA" || x == "Pat"), "{terms:?}");
        let text = "From PAT@example.TEST: ship to 41 linden avenue, thanks Okafor";
        assert_eq!(
            scrub(text, &terms, "erased-X@erased.invalid"),
            "From erased-X@erased.invalid: ship to [erased], thanks [erased]"
        );
        assert!(matches!(
            scrub("nothing here", &terms, "p"),
            Cow::Borrowed(_)
        ));
        let mut v = serde_json::json!({ "to": "pat@example.test", "n": 3, "list": ["Okafor"] });
        assert!(scrub_json(&mut v, &terms, "p@e.invalid"));
        assert_eq!(
            v,
            serde_json::json!({ "to": "p@e.invalid", "n": 3, "list": ["[erased]"] })
        );
    }
}
