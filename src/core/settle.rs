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
use time::OffsetDateTime;

use super::auth::{domain_of, verify};
use super::decide::{
    Decision, Input, MoveKind, PaymentEntry, Purpose, Template, belongs_to_sender, in_thread,
    move_lines, reply, requests, seller_alert,
};
use super::delivery::expected_delivery;
use super::money;
use super::order::{Order, OrderState, Payment};
use super::payment::PaymentNotice;
use crate::config::Config;

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
        let why = match &notice.reference {
            Some(r) => format!(
                "a payment of {} for {r}, which is no order of ours",
                money::format(amount, &currency)
            ),
            None => format!(
                "a payment of {} that names no order reference",
                money::format(amount, &currency)
            ),
        };
        return put_to_sellers(input, d, entry("unknown_reference", None), why);
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
        partial(input, d, order, payment, entry("partial", Some(&r)))
    } else {
        paid(input, d, order, payment, entry("matched", Some(&r)))
    }
}

/// A seller's `paid REF`: the money arrived some way mailcart does not see.
pub(super) fn paid_by_seller(
    input: &Input,
    d: Decision,
    order: Order,
    payment: Payment,
) -> Decision {
    let entry = PaymentEntry {
        notice: PaymentNotice {
            reference: Some(order.reference.clone()),
            amount: Some(payment.amount),
            currency: Some(payment.currency.clone()),
            payer: None,
            transaction_id: None,
        },
        provider: payment.provider.clone(),
        outcome: "confirmed_by_seller",
        order_ref: Some(order.reference.clone()),
    };
    paid(input, d, order, payment, entry)
}

fn paid(
    input: &Input,
    mut d: Decision,
    mut order: Order,
    payment: Payment,
    entry: PaymentEntry,
) -> Decision {
    if let Err(e) = order.transition(OrderState::Paid) {
        return d.hold(e.to_string());
    }
    order.payments.push(payment);
    order.paid_at = Some(input.now);
    order.reserved_until = None;
    order.delivery = Some(delivery_promise(&order, input.config, input.now));
    move_lines(
        &order,
        MoveKind::Sale,
        format!("paid {}", order.reference),
        &mut d,
    );
    d.event(
        "payment_matched",
        json!({ "order": order.reference, "amount": order.paid().to_string(), "transaction_id": entry.notice.transaction_id }),
    );
    d.event(
        "state_changed",
        json!({ "to": "paid", "by": "payment notice" }),
    );
    d.emails.push(in_thread(
        &order,
        &input.thread,
        format!("Order {} confirmed: payment received", order.reference),
        Template::PaymentConfirmed {
            order: order.clone(),
        },
    ));
    let slip = format!(
        "Pack order {}: {} item(s) for {}",
        order.reference,
        order.lines.iter().map(|l| l.quantity).sum::<u32>(),
        order.customer.email
    );
    d.emails.extend(requests(
        input.config,
        slip,
        Template::PackingSlip {
            order: order.clone(),
        },
        Purpose::Fulfilment,
        input.now + time::Duration::days(FULFILMENT_DAYS),
    ));
    recorded(d, order, entry)
}

fn partial(
    input: &Input,
    mut d: Decision,
    mut order: Order,
    payment: Payment,
    entry: PaymentEntry,
) -> Decision {
    let received = payment.amount;
    order.payments.push(payment);
    d.event(
        "payment_partial",
        json!({ "order": order.reference, "received": received.to_string(), "outstanding": order.outstanding().to_string() }),
    );
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
fn claim(input: &Input, d: Decision, sender: &str) -> Decision {
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

/// What the confirmation promises: the method and a date, counted in business days.
pub fn delivery_promise(order: &Order, config: &Config, now: OffsetDateTime) -> (String, String) {
    let days = order
        .country_code
        .as_ref()
        .and_then(|c| config.delivery.by_country.get(c))
        .copied()
        .unwrap_or(config.delivery.business_days);
    let date = expected_delivery(now.date(), days);
    (config.delivery.method.clone(), date.to_string())
}
