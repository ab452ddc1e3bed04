//! A customer sending goods back. Reading the request ("I'd like to return the teapot", "can I
//! exchange the blue mug for the green one", "Rückgabe", "retourner", "devolver" ...), and for
//! a shipped order a return authorisation number (RMA) with the shop's `[shop] returns`
//! instructions, the sellers told with a token they answer with `returned` (`core::returned`).
//! An exchange is a return plus a new order linked to it: priced, its stock reserved, and
//! quoted at the difference (the returned goods' credit counts as paid).
//!
//! The cues are read only where a shipped order of the sender's is at hand (its thread, its
//! reference, or their one live order), so an order that says "I may return it" is an order.

use std::sync::LazyLock;

use regex::Regex;
use rust_decimal::Decimal;
use serde_json::json;
use time::Duration;

use super::catalog::{Catalog, Match};
use super::changes::{Change, read_changes};
use super::decision::{Decision, Input, Purpose, Template};
use super::emails::{reply, requests};
use super::items::ItemLine;
use super::lifecycle::{self, Step};
use super::mentions::read_line;
use super::money;
use super::numbers::Amount;
use super::order::{Order, OrderLine, Return, ReturnLine, ReturnState};
use super::pricing::{Totals, price_order};
use super::supply::supply;

/// What the customer asks: their goods back to the shop, and maybe others in their place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ask {
    pub exchange: bool,
}

/// Sending goods back, in the languages orders are read in. A verb with what goes back
/// ("return the teapot", "send them back"), or a word that only means a return ("Rückgabe",
/// "devolución", "RMA"); "return address" or "in return" are not.
static RETURN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|\W)(?:return(?:ing)?\s+(?:the|my|this|these|those|it|them|an?|one|two|both|all|some|part|everything|\d+)(?:$|\W)|(?:want|like|need|wish|able|possible|how|can i|could i|may i)\s+(?:to\s+)?return(?:$|\W)|(?:make|start|request|arrange|get|initiate)\s+(?:an?|the|my)\s+return(?:$|\W)|return\s+(?:label|authori[sz]ation|request|form|number)|rma(?:$|\W)|(?:send|ship|post|mail)(?:ing)?\s+(?:it|them|this|these|the\s+\w+(?:\s+\w+)?)\s+back(?:$|\W)|rückgabe|zurück(?:zu)?(?:geben|schicken|senden)|(?:gebe|schicke|sende)\s+(?:\w+\s+){0,3}zurück|retoure|retournier\w*|retourner|renvoyer|faire un retour|retour (?:du|de la|des|d')|devolver|devoluci[oó]n|devuelvo|devolução|restituire|fare (?:il|un) reso|retourneren|terug(?:te)?sturen)")
        .expect("a fixed pattern")
});
/// Something else in their place: an exchange.
static EXCHANGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|\W)(?:exchange|exchanging|swap|umtausch\w*|umzutauschen|umtauschen|échanger|un échange|cambiar\w*\s+(?:el|la|los|las|mi|mis|este|esta)\s+[^.?!\n]{1,40}\s+por|cambiare\s+[^.?!\n]{1,40}\s+con|omruilen|ruilen|trocar|troca)(?:$|\W)")
        .expect("a fixed pattern")
});
/// A subject that is a return by itself: "Return", "Rückgabe MC-...", "RMA".
static SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:(?:re|aw|sv|fwd?):\s*)*(?:returns?|rma|exchange|rückgabe|umtausch|retour|échange|devolución|devolucion|reso|retourneren)(?:$|\W)")
        .expect("a fixed pattern")
});

/// Whether the message asks to send goods back (and whether for others in their place).
pub fn asks(subject: &str, text: &str) -> Option<Ask> {
    // The money market's exchange is no exchange of goods.
    let text = text
        .to_lowercase()
        .replace("exchange rate", "")
        .replace("exchange-rate", "");
    let exchange = EXCHANGE.is_match(&text) || EXCHANGE.is_match(subject);
    (exchange || RETURN.is_match(&text) || SUBJECT.is_match(subject)).then_some(Ask { exchange })
}

/// The goods' price with their tax, as the customer paid it: what a return gives back.
pub fn credit_of(lines: &[ReturnLine], tax_rate: Decimal, currency: &str) -> Decimal {
    let goods = money::round(
        lines
            .iter()
            .map(|l| money::round(l.unit_price * Decimal::from(l.quantity), currency))
            .sum(),
        currency,
    );
    goods + money::round(goods * tax_rate, currency)
}

/// What of each line is still with the customer.
pub fn left_with_customer(order: &Order) -> Vec<ReturnLine> {
    order
        .lines
        .iter()
        .map(|l| return_line(l, l.quantity.saturating_sub(order.returned(&l.sku))))
        .filter(|l| l.quantity > 0)
        .collect()
}

fn return_line(l: &OrderLine, quantity: u32) -> ReturnLine {
    ReturnLine {
        sku: l.sku.clone(),
        name: l.name.clone(),
        quantity,
        unit_price: l.unit_price,
    }
}

/// The order's lines the text names ("the teapot", "one of the mugs"), each with the count
/// given (at most what is still with the customer) or all of it.
fn named_lines(text: &str, order: &Order, catalog: &Catalog) -> Vec<ReturnLine> {
    let left = left_with_customer(order);
    let mut out: Vec<ReturnLine> = Vec::new();
    for line in text.lines() {
        for r in read_line(line, catalog).1 {
            let ids = match &r.mention.found {
                Match::One(i) => vec![*i],
                Match::Many(ids) => ids.clone(),
                Match::None => Vec::new(),
            };
            // Of several products the words fit, the one the order has.
            let mine: Vec<&ReturnLine> = ids
                .iter()
                .filter_map(|i| catalog.items.get(*i))
                .filter_map(|c| left.iter().find(|l| l.sku == c.sku))
                .collect();
            let [l] = mine.as_slice() else { continue };
            if out.iter().any(|o| o.sku == l.sku) {
                continue;
            }
            let quantity = match r.amount {
                Some(Amount::Number(n)) if n > 0 => u32::try_from(n).unwrap_or(u32::MAX),
                _ => l.quantity,
            };
            out.push(ReturnLine {
                quantity: quantity.min(l.quantity),
                ..(*l).clone()
            });
        }
    }
    out
}

/// "the blue mug for the green one": what goes back, and the product wanted in its place.
fn swaps(input: &Input, order: &Order) -> Vec<(ReturnLine, String)> {
    // `read_changes` reads against what the customer asked for; after shipping that is what
    // they have.
    let mut had = order.clone();
    had.wanted = left_with_customer(order)
        .into_iter()
        .map(|l| ItemLine {
            line: format!("{} x {}", l.quantity, l.name),
            sku: l.sku,
            quantity: l.quantity,
        })
        .collect();
    let left = left_with_customer(order);
    read_changes(
        &input.msg.text,
        &had,
        input.catalog,
        input.config.limits.max_quantity,
    )
    .changes
    .into_iter()
    .filter_map(|c| match c {
        Change::Swap { from, to } => left.iter().find(|l| l.sku == from).map(|l| (l.clone(), to)),
        _ => None,
    })
    .collect()
}

/// The exchange's price: the new goods and their tax. The shop sends the replacement at its
/// own cost, as it would a faulty item: no second shipping charge for the same parcel.
fn exchange_totals(lines: &[OrderLine], country: &str, input: &Input) -> Totals {
    let priced: Vec<_> = lines.iter().map(|l| (l.quantity, l.unit_price)).collect();
    let mut t = price_order(&priced, country, input.config);
    let currency = &input.config.shop.currency;
    t.shipping = money::round(Decimal::ZERO, currency);
    t.tax = money::round(t.subtotal * t.tax_rate, currency);
    t.total = t.subtotal + t.tax;
    t
}

/// A return or exchange request about a shipped order of the sender's.
pub fn request(input: &Input, mut d: Decision, mut order: Order, ask: Ask) -> Decision {
    d.about = Some(order.reference.clone());
    if let Some(open) = order.open_return() {
        // Asked again before the goods arrived: the same number again, nothing new.
        let rma = open.rma.clone();
        d.event(
            "return_requested_again",
            json!({ "order": order.reference, "rma": rma }),
        );
        let subject = format!("Order {}: your return {rma}", order.reference);
        d.emails
            .push(reply(input, subject, Template::Returns { order, rma }));
        return d;
    }
    let swaps = if ask.exchange {
        swaps(input, &order)
    } else {
        Vec::new()
    };
    let lines = if swaps.is_empty() {
        let named = named_lines(&input.msg.text, &order, input.catalog);
        if named.is_empty() {
            left_with_customer(&order)
        } else {
            named
        }
    } else {
        swaps.iter().map(|(l, _)| l.clone()).collect()
    };
    if lines.is_empty() {
        return d.hold(format!(
            "{} asks to return goods of {}, all of which are back already",
            order.customer.email, order.reference
        ));
    }
    let rma = order.next_rma();
    let credit = credit_of(&lines, order.totals.tax_rate, &order.currency);
    let mut authorisation = Return {
        rma: rma.clone(),
        state: ReturnState::Authorised,
        lines,
        credit,
        refund: Decimal::ZERO,
        exchange: None,
        authorised_at: input.now,
        received_at: None,
    };
    let exchange = if swaps.is_empty() {
        None
    } else {
        match exchange_order(input, &order, &swaps, &rma, credit) {
            Ok(x) => Some(x),
            Err(why) => return d.hold(why),
        }
    };
    let new_order = exchange.as_ref().and_then(|x| x.order.clone());
    authorisation.exchange = new_order.as_ref().map(|o| o.reference.clone());
    let step = Step::AuthoriseReturn {
        authorisation: authorisation.clone(),
    };
    if let Err(why) = lifecycle::take(input, &mut order, step, json!("customer"), &mut d) {
        return d.hold(why);
    }
    let subject = format!("Order {}: your return {rma}", order.reference);
    d.emails.push(reply(
        input,
        subject,
        match &new_order {
            Some(new_order) => Template::Exchange {
                order: order.clone(),
                rma: rma.clone(),
                new_order: new_order.clone(),
            },
            None => Template::Returns {
                order: order.clone(),
                rma: rma.clone(),
            },
        },
    ));
    d.emails.extend(requests(
        input.config,
        format!("Return {rma} authorised: order {}", order.reference),
        Template::Alert {
            text: sellers_note(&order, &authorisation, new_order.as_ref()),
        },
        Purpose::Return,
        input.now + Duration::days(RETURN_DAYS),
    ));
    d.linked.extend(exchange);
    d.order = Some(order);
    d
}

/// How long the sellers' request to confirm a return may be answered by reply (a fresh
/// `returned REF` works at any time).
const RETURN_DAYS: i64 = 90;

fn sellers_note(order: &Order, r: &Return, new_order: Option<&Order>) -> String {
    let f = |a| money::format(a, &order.currency);
    let lines: Vec<String> = r
        .lines
        .iter()
        .map(|l| format!("  {} x {} ({})", l.quantity, l.name, l.sku))
        .collect();
    let mut text = format!(
        "{} wants to send back goods of order {}, which has shipped. They were given the return authorisation {} and the returns instructions.\n\nComing back:\n{}\nworth {} with tax.",
        order.customer.email,
        order.reference,
        r.rma,
        lines.join("\n"),
        f(r.credit)
    );
    if let Some(x) = new_order {
        let lines: Vec<String> = x
            .lines
            .iter()
            .map(|l| format!("  {} x {} ({})", l.quantity, l.name, l.sku))
            .collect();
        text.push_str(&format!(
            "\n\nIn exchange they want:\n{}\nas the new order {} ({}, its stock reserved), for which the credit counts: they were asked to pay {}.",
            lines.join("\n"),
            x.reference,
            f(x.totals.total),
            f(x.outstanding())
        ));
    }
    text.push_str(&format!(
        "\n\nWhen the goods are back, reply to this email with `returned` (everything above), or with `returned SKU QUANTITY ...` for what arrived; or write `returned {}` in a new email. The customer is then told, and the refund is due.",
        order.reference
    ));
    text
}

/// The exchange's new order, quoted at the difference and its stock reserved, as a decision
/// of its own (filed under its own reference); or why a person must arrange it.
fn exchange_order(
    input: &Input,
    order: &Order,
    swaps: &[(ReturnLine, String)],
    rma: &str,
    credit: Decimal,
) -> Result<Decision, String> {
    let wanted: Vec<ItemLine> = swaps
        .iter()
        .map(|(l, to)| ItemLine {
            sku: to.clone(),
            quantity: l.quantity,
            line: format!("{} x {to}", l.quantity),
        })
        .collect();
    let (lines, shortages) = supply(&wanted, input.catalog, &order.currency, |sku| {
        input.available.get(sku).copied().unwrap_or(0)
    });
    if !shortages.is_empty() || lines.len() != wanted.len() {
        return Err(format!(
            "{} asks to exchange goods of {} for what is not in stock ({}): a person should answer",
            order.customer.email,
            order.reference,
            wanted
                .iter()
                .map(|w| format!("{} x {}", w.quantity, w.sku))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let country = order
        .country_code
        .clone()
        .unwrap_or_else(|| input.config.shop.home_country.clone());
    let mut new = Order::new(
        input.new_reference.clone(),
        order.customer.clone(),
        &order.currency,
        input.now,
    );
    new.wanted = wanted;
    new.totals = exchange_totals(&lines, &country, input);
    new.lines = lines;
    new.shipping_address = order.shipping_address.clone();
    new.country_code = order.country_code.clone();
    new.exchange_for = Some(rma.to_string());
    // Credit beyond the new total is refunded when the goods are back (`core::returned`).
    new.credit = credit.min(new.totals.total);
    let mut x = Decision {
        order_is_new: true,
        ..Decision::default()
    };
    x.event(
        "order_created",
        json!({ "order": new.reference, "customer": new.customer.email, "exchange_for": rma }),
    );
    lifecycle::take(
        input,
        &mut new,
        Step::Quote,
        json!({ "exchange_for": rma }),
        &mut x,
    )?;
    x.order = Some(new);
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asks_text(text: &str) -> Option<Ask> {
        asks("Hello", text)
    }

    #[test]
    fn return_and_exchange_cues_in_four_languages() {
        let returns = [
            "I'd like to return the teapot",
            "Can I return it? It arrived chipped.",
            "How do I send them back?",
            "I want to make a return",
            "Ich möchte die Teekanne zurückgeben",
            "Rückgabe bitte, die Tasse gefällt mir nicht",
            "Je voudrais retourner la théière",
            "Quiero devolver la tetera",
            "Solicito la devolución del pedido",
        ];
        for t in returns {
            assert_eq!(asks_text(t), Some(Ask { exchange: false }), "{t}");
        }
        let exchanges = [
            "can I exchange the blue mug for the green one",
            "Ich möchte die blaue Tasse umtauschen",
            "Puis-je échanger le mug bleu contre le vert ?",
            "¿Puedo cambiar la taza azul por la verde?",
        ];
        for t in exchanges {
            assert_eq!(asks_text(t), Some(Ask { exchange: true }), "{t}");
        }
        let not_returns = [
            "2 x Blue Mug\n\nShip to: Pat Okafor, 41 Linden Avenue",
            "Please use my return address: 12 Main Street",
            "In return, I'll recommend you to friends",
            "What is the exchange rate to EUR?",
            "Where is my order?",
            "Quiero cambiar la dirección de envío",
            "Thanks, the mugs are lovely",
        ];
        for t in not_returns {
            assert_eq!(asks_text(t), None, "{t}");
        }
        assert!(asks("Return MC-7K2QXD9F", "Please see above").is_some());
        assert!(asks("Re: Your order", "ok").is_none());
    }

    #[test]
    fn credit_is_the_goods_with_their_tax() {
        let l = |q| ReturnLine {
            sku: "MUG-BLU".into(),
            name: "Blue Glazed Mug".into(),
            quantity: q,
            unit_price: Decimal::new(1800, 2),
        };
        assert_eq!(
            credit_of(&[l(2)], Decimal::new(8, 2), "USD").to_string(),
            "38.88"
        );
        assert_eq!(
            credit_of(&[l(1)], Decimal::new(8, 2), "USD").to_string(),
            "19.44"
        );
        assert_eq!(
            credit_of(&[], Decimal::new(8, 2), "USD").to_string(),
            "0.00"
        );
    }
}
