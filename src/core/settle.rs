//! Payment notices: who may tell us money arrived, and what an arrival does to an order.
//!
//! A notice marks an order paid only when every check holds: the sender is one of
//! `[payments] trusted_senders` (the address, not the display name); with `[security]
//! authserv_id` set, our server authenticated the sender's domain; the notice names one of our
//! references; its transaction id is new; and the amount and currency are exactly what is
//! still due on an order that awaits payment. Anything else changes no order: it is recorded
//! and put to the sellers. A customer's "I've paid" is a claim, acknowledged and recorded only.

use rust_decimal::Decimal;
use serde_json::json;

use super::auth::{domain_of, verify};
use super::decision::{Decision, Input, PaymentEntry, Purpose, Template};
use super::emails::belongs_to_sender;
use super::emails::{in_thread, reply, requests, seller_alert};
use super::inbound::Mailbox;
use super::lifecycle::{self, Step};
use super::money;
use super::order::{Order, OrderState, Payment};
use super::payment::PaymentNotice;

/// How long a packing slip's `shipped` reply is taken.
const FULFILMENT_DAYS: i64 = 60;

pub fn payment(input: &Input, d: Decision) -> Decision {
    let sender = input.msg.sender();
    if !input.config.is_trusted_payer_service(&sender) {
        return claim(input, d, &sender);
    }
    let notice = input.parsed.payment.clone().unwrap_or_default();
    let entry = |outcome: &'static str, order_ref: Option<&str>| PaymentEntry {
        notice: notice.clone(),
        provider: sender.clone(),
        outcome,
        order_ref: order_ref.map(str::to_string),
    };
    if let Some(authserv_id) = &input.config.security.authserv_id {
        let verdict = verify(
            &input.msg.authentication_results,
            authserv_id,
            domain_of(&sender),
        );
        if !verdict.passed() {
            let mut d = d;
            d.event(
                "payment_refused",
                json!({ "from": sender, "check": "authentication", "verdict": verdict }),
            );
            // Not recorded as money, not put to the sellers by email: a forger must not be
            // able to fill their inbox. `review` lists it.
            return d.hold(format!(
                "payment notice claiming to be from {sender} failed authentication: {}",
                match verdict {
                    super::auth::AuthVerdict::Fail(why) => why,
                    super::auth::AuthVerdict::Pass(_) => String::new(),
                }
            ));
        }
    }

    let Some(amount) = notice.amount else {
        return put_to_sellers(
            input,
            d,
            entry("unreadable", None),
            "a payment notice whose amount could not be read".into(),
        );
    };
    let currency = notice
        .currency
        .clone()
        .unwrap_or_else(|| input.config.shop.currency.clone());
    let Some(order) = input.order.clone() else {
        let given = money::format(amount, &currency);
        if let Some(written) = &notice.miswritten {
            let why = format!(
                "a payment of {given} naming {written}, whose check symbol does not hold (a typo?): matched to no order"
            );
            return put_to_sellers(input, d, entry("miswritten_reference", None), why);
        }
        if let Some(r) = &notice.reference {
            let why = format!("a payment of {given} for {r}, which is no order of ours");
            return put_to_sellers(input, d, entry("unknown_reference", None), why);
        }
        if input.transaction_seen {
            let why = format!(
                "a second notice for transaction {} ({given}, naming no order): already recorded",
                notice.transaction_id.as_deref().unwrap_or("?")
            );
            return put_to_sellers(input, d, entry("duplicate", None), why);
        }
        let fits = fitting_orders(input, amount, &currency, notice.payer.as_deref());
        return match fits.as_slice() {
            // The row names the order it was proposed for (its outcome says it is only that),
            // so the seller's `paid` can take the bank's transaction and payer from it.
            [order] => propose(input, d, order, entry("proposed", Some(&order.reference))),
            [] => {
                let why = format!(
                    "a payment of {given} that names no order reference, and whose amount and payer fit no order awaiting payment"
                );
                put_to_sellers(input, d, entry("unknown_reference", None), why)
            }
            several => {
                let refs: Vec<&str> = several.iter().map(|o| o.reference.as_str()).collect();
                let why = format!(
                    "a payment of {given} that names no order reference; its amount and payer fit {} orders awaiting payment ({}), so none was proposed",
                    refs.len(),
                    refs.join(", ")
                );
                put_to_sellers(input, d, entry("unknown_reference", None), why)
            }
        };
    };
    let r = order.reference.clone();
    let given = money::format(amount, &currency);
    if input.transaction_seen {
        let why = format!(
            "a second notice for transaction {} ({given} for {r}): already recorded, not counted again",
            notice.transaction_id.as_deref().unwrap_or("?")
        );
        return put_to_sellers(input, d, entry("duplicate", Some(&r)), why);
    }
    if !currency.eq_ignore_ascii_case(&order.currency) {
        let why = format!(
            "a payment of {given} for {r}, which is priced in {}",
            order.currency
        );
        return put_to_sellers(input, d, entry("currency_mismatch", Some(&r)), why);
    }
    if order.state != OrderState::AwaitingPayment {
        let why = format!(
            "a payment of {given} for {r}, which is {} (a refund may be due)",
            order.state.as_str()
        );
        return put_to_sellers(input, d, entry("order_not_payable", Some(&r)), why);
    }
    let amount = money::round(amount, &order.currency);
    let outstanding = order.outstanding();
    if amount > outstanding {
        let why = format!(
            "{given} paid for {r}, more than the {} due: not marked paid; please check and refund the difference",
            money::format(outstanding, &order.currency)
        );
        return put_to_sellers(input, d, entry("overpaid", Some(&r)), why);
    }
    if amount <= Decimal::ZERO {
        return put_to_sellers(
            input,
            d,
            entry("unreadable", Some(&r)),
            format!("a payment notice of {given} for {r}"),
        );
    }
    let payment = Payment {
        amount,
        currency: order.currency.clone(),
        transaction_id: notice.transaction_id.clone(),
        provider: sender.clone(),
        payer: notice.payer.clone(),
        at: input.now,
    };
    if amount < outstanding {
        let by = json!({ "payment_notice": sender });
        partial(input, d, order, payment, entry("partial", Some(&r)), by)
    } else {
        let by = json!({ "payment_notice": sender });
        paid(input, d, order, payment, entry("matched", Some(&r)), by)
    }
}

/// How long a seller may confirm a proposed payment with `paid`.
const PROPOSAL_DAYS: i64 = 30;

/// Orders awaiting payment of exactly `amount` in `currency`, whose customer is the payer (by
/// name or address). pretix and most shops match on the reference alone; this only proposes.
fn fitting_orders<'a>(
    input: &'a Input,
    amount: Decimal,
    currency: &str,
    payer: Option<&str>,
) -> Vec<&'a Order> {
    let Some(payer) = payer else {
        return Vec::new();
    };
    input
        .open_orders
        .iter()
        .filter(|o| {
            o.state == OrderState::AwaitingPayment
                && o.currency.eq_ignore_ascii_case(currency)
                && money::round(amount, &o.currency) == o.outstanding()
                && same_person(payer, &o.customer)
        })
        .collect()
}

/// Whether a notice's payer ("Pat Okafor", "OKAFOR, PAT", "Pat Okafor <pat@example.test>",
/// "pat@example.test") is this customer: the same address, or the same name words in any
/// order and case, accents aside (banks drop them). A name that only shares a word is not.
fn same_person(payer: &str, customer: &Mailbox) -> bool {
    // Banks transliterate ("Søren Müller" arrives as "SOREN MULLER"): both sides are compared
    // in ASCII.
    let words = |s: &str| -> Vec<String> {
        let mut w: Vec<String> = deunicode::deunicode(s)
            .split(|c: char| !c.is_ascii_alphabetic() && c != '\'')
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        w.sort();
        w
    };
    let (mut name, mut emails) = (String::new(), Vec::new());
    for part in payer.split(['<', '>', '(', ')', ' ', ',', ';']) {
        if part.contains('@') {
            emails.push(part.trim_matches(['.', '"']).to_ascii_lowercase());
        } else {
            name.push_str(part);
            name.push(' ');
        }
    }
    if emails.contains(&customer.email) {
        return true;
    }
    let theirs = words(&name);
    !theirs.is_empty() && customer.name.as_deref().map(words) == Some(theirs)
}

/// A notice naming no order fits exactly one: the sellers are asked, and a `paid` in reply (or
/// `paid REF`) applies it through the command path, with its checks. Nothing is marked paid.
fn propose(input: &Input, mut d: Decision, order: &Order, entry: PaymentEntry) -> Decision {
    let r = &order.reference;
    let given = money::format(order.outstanding(), &order.currency);
    let payer = entry.notice.payer.as_deref().unwrap_or("?");
    let customer = match &order.customer.name {
        Some(n) => format!("{n} <{}>", order.customer.email),
        None => order.customer.email.clone(),
    };
    d.event(
        "payment_proposed",
        json!({ "order": r, "payer": payer, "amount": given, "notice": entry.notice }),
    );
    let text = format!(
        "mailcart received a payment of {given} from {payer} that names no order reference (the notice came from {}, Message-ID {}).\n\nIts amount and payer fit exactly one order awaiting payment: {r}, {given} due from {customer}.\n\nLooks like {r}: reply `paid` to confirm (or send `paid {r}`). Until then nothing is marked paid; `mailcart review` lists the notice.",
        entry.provider, input.msg.message_id
    );
    d.emails.extend(requests(
        input.config,
        format!("Payment of {given}: looks like {r}"),
        Template::Alert { text },
        Purpose::Payment,
        input.now + time::Duration::days(PROPOSAL_DAYS),
    ));
    d.about = Some(r.clone());
    d.payment = Some(entry);
    d.hold(format!(
        "payment: {given} naming no reference fits {r} by amount and payer; an email asking the sellers is queued"
    ))
}

/// A seller's `paid REF`: the money arrived some way mailcart does not see.
pub(super) fn paid_by_seller(
    input: &Input,
    d: Decision,
    order: Order,
    payment: Payment,
    by: serde_json::Value,
) -> Decision {
    let entry = PaymentEntry {
        notice: PaymentNotice {
            reference: Some(order.reference.clone()),
            miswritten: None,
            amount: Some(payment.amount),
            currency: Some(payment.currency.clone()),
            payer: payment.payer.clone(),
            transaction_id: payment.transaction_id.clone(),
        },
        provider: payment.provider.clone(),
        outcome: "confirmed_by_seller",
        order_ref: Some(order.reference.clone()),
    };
    paid(input, d, order, payment, entry, by)
}

fn paid(
    input: &Input,
    mut d: Decision,
    mut order: Order,
    payment: Payment,
    entry: PaymentEntry,
    by: serde_json::Value,
) -> Decision {
    if let Err(why) = lifecycle::take(input, &mut order, Step::Pay { payment }, by, &mut d) {
        return d.hold(why);
    }
    d.emails.push(in_thread(
        &order,
        &input.thread,
        format!("Order {} confirmed: payment received", order.reference),
        Template::PaymentConfirmed {
            order: order.clone(),
        },
    ));
    d.emails.extend(packing_slip(input, &order));
    recorded(d, order, entry)
}

/// What to pack and where it goes, to each seller, who answers with `shipped`.
pub(super) fn packing_slip(input: &Input, order: &Order) -> Vec<super::decision::Email> {
    let slip = format!(
        "Pack order {}: {} item(s) for {}",
        order.reference,
        order.lines.iter().map(|l| l.quantity).sum::<u32>(),
        order.customer.email
    );
    requests(
        input.config,
        slip,
        Template::PackingSlip {
            order: order.clone(),
        },
        Purpose::Fulfilment,
        input.now + time::Duration::days(FULFILMENT_DAYS),
    )
}

fn partial(
    input: &Input,
    mut d: Decision,
    mut order: Order,
    payment: Payment,
    entry: PaymentEntry,
    by: serde_json::Value,
) -> Decision {
    let received = payment.amount;
    if let Err(why) = lifecycle::take(input, &mut order, Step::PayPart { payment }, by, &mut d) {
        return d.hold(why);
    }
    d.emails.push(in_thread(
        &order,
        &input.thread,
        format!("Order {}: part of your payment arrived", order.reference),
        Template::PaymentPartial {
            order: order.clone(),
            received,
        },
    ));
    recorded(d, order, entry)
}

/// The money counted: the order is saved with it, and the notice goes to the books.
fn recorded(mut d: Decision, order: Order, entry: PaymentEntry) -> Decision {
    d.payment = Some(entry);
    d.order = Some(order);
    d
}

/// Recorded, held for `review`, and the sellers told; no order changes.
fn put_to_sellers(input: &Input, mut d: Decision, entry: PaymentEntry, why: String) -> Decision {
    d.event(
        "payment_unmatched",
        json!({ "outcome": entry.outcome, "reason": why, "notice": entry.notice }),
    );
    let subject = match &entry.order_ref {
        Some(r) => format!("Payment for {r} needs a look"),
        None => "A payment needs a look".to_string(),
    };
    let text = format!(
        "mailcart received {why}.\n\nNothing was marked paid. The notice came from {} (Message-ID {}); `mailcart review` lists it.",
        entry.provider, input.msg.message_id
    );
    d.emails.extend(seller_alert(input.config, &subject, &text));
    d.about = entry.order_ref.clone();
    d.payment = Some(entry);
    d.hold(format!("payment: {why}"))
}

/// "I've paid" from a customer: noted and acknowledged; only the provider's notice counts.
pub(super) fn claim(input: &Input, d: Decision, sender: &str) -> Decision {
    let Some(order) = input.order.clone() else {
        return d.hold(format!(
            "a payment notice from {sender}, who is not in [payments] trusted_senders, naming no order of theirs"
        ));
    };
    if !belongs_to_sender(&order, input) {
        return d.hold(format!(
            "a payment notice about {} from {sender}, who is neither its customer nor in [payments] trusted_senders",
            order.reference
        ));
    }
    if order.state != OrderState::AwaitingPayment {
        return d.hold(format!(
            "the customer says they paid for {}, which is {}",
            order.reference,
            order.state.as_str()
        ));
    }
    let mut d = d;
    d.event(
        "payment_claimed",
        json!({ "order": order.reference, "by": sender }),
    );
    let subject = format!(
        "Order {}: thank you, we will confirm on arrival",
        order.reference
    );
    d.about = Some(order.reference.clone());
    d.emails
        .push(reply(input, subject, Template::PaymentClaimed { order }));
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(name: Option<&str>) -> Mailbox {
        Mailbox {
            name: name.map(str::to_string),
            email: "zoe@example.test".into(),
        }
    }

    #[test]
    fn the_payer_is_the_customer_by_name_words_or_address() {
        let zoe = customer(Some("Zoë Müller"));
        for payer in [
            "Zoë Müller",
            "ZOE MULLER",
            "MÜLLER, ZOË",
            "muller zoe",
            "Someone Else <zoe@example.test>",
            "zoe@example.test.",
        ] {
            assert!(same_person(payer, &zoe), "{payer:?}");
        }
        for payer in [
            "Zoë",
            "Zoë Müller-Smith",
            "Z. Müller",
            "Anna Müller",
            "",
            "zoe@other.test",
        ] {
            assert!(!same_person(payer, &zoe), "{payer:?}");
        }
        assert!(
            !same_person("Zoë Müller", &customer(None)),
            "no name to compare"
        );
        // Letters that do not decompose into a base letter and an accent.
        let soren = customer(Some("Søren Ødegård"));
        assert!(same_person("ODEGARD SOREN", &soren));
        assert!(same_person("Dvořák Łucja", &customer(Some("LUCJA DVORAK"))));
    }
}
