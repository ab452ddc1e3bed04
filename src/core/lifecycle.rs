//! An order's life in one place. Each step (quote, send for approval, approve, reject, pay,
//! ship, cancel, expire, remind, refund ...) is checked against the state machine first, then
//! applies its field changes and stock moves and records one `state_changed` event that names
//! the step, the states before and after, and who took it. The handlers only choose the step
//! and word the emails; a step the order's state does not allow changes nothing and comes back
//! as the reason for a hold.

use rust_decimal::Decimal;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::decision::{Decision, Input, MoveKind, StockMove};
use super::delivery::expected_delivery;
use super::order::{
    Order, OrderLine, OrderState, Payment, Return, ReturnLine, ReturnState, Shipment,
};
use super::pricing::Totals;
use crate::config::Config;

/// What may happen to an order.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Still missing details: the customer is asked (the order stays or becomes
    /// `awaiting_details`).
    AskDetails,
    /// Priced and stock reserved, the quote goes out: `awaiting_payment`.
    Quote,
    /// Priced and stock reserved, but a flag rule holds it for the sellers.
    SendForApproval {
        rules: Vec<String>,
    },
    /// A seller approved: the customer gets the full time to pay from now.
    Approve,
    Reject {
        reason: String,
    },
    /// Money arrived, all of what was due.
    Pay {
        payment: Payment,
    },
    /// Money arrived, less than was due: the order keeps waiting for the rest.
    PayPart {
        payment: Payment,
    },
    Ship {
        shipment: Shipment,
    },
    /// By the customer or the shop; after payment the goods go back and a refund is due.
    Cancel {
        reason: String,
    },
    /// The deadline passed unpaid (or unapproved).
    Expire,
    /// The payment deadline is near.
    Remind,
    /// A seller refunded what was due: a cancelled paid order, or returned goods.
    Refund,
    /// A customer of a shipped order asked to send goods back: they get a return
    /// authorisation number (`core::returns`). One waits at a time.
    AuthoriseReturn {
        authorisation: Return,
    },
    /// A seller says goods came back (`returned`): they go on the shelf again and `refund` is
    /// owed for them (their credit, less what an exchange took of it). The order becomes
    /// `returned` when nothing of it is left with the customer.
    Return {
        rma: String,
        lines: Vec<ReturnLine>,
        refund: Decimal,
    },
    /// The customer changed the items before paying: the old reservation is released, the new
    /// lines reserved and priced, the deadlines start again, and the flag rules decide anew
    /// whether the sellers must approve it (`rules` not empty).
    Revise {
        lines: Vec<OrderLine>,
        totals: Totals,
        rules: Vec<String>,
        changes: Vec<String>,
    },
    /// The loop caps held back the customer's answer: the order waits as it is, with no
    /// payment deadline running for a quote the customer does not have.
    HoldReply {
        reason: String,
    },
    /// A person lifted the pause and the held answer goes out now: the deadlines start now.
    ReleaseReply,
    /// Some days after shipping, the customer is asked how it went (once).
    AskFeedback,
    /// The customer's answer to that is thanked for (once, however often they write).
    ThankForFeedback,
}

impl Step {
    pub fn name(&self) -> &'static str {
        match self {
            Step::AskDetails => "ask_details",
            Step::Quote => "quote",
            Step::SendForApproval { .. } => "send_for_approval",
            Step::Approve => "approve",
            Step::Reject { .. } => "reject",
            Step::Pay { .. } => "pay",
            Step::PayPart { .. } => "pay_part",
            Step::Ship { .. } => "ship",
            Step::Cancel { .. } => "cancel",
            Step::Expire => "expire",
            Step::Remind => "remind",
            Step::Refund => "refund",
            Step::Revise { .. } => "revise",
            Step::HoldReply { .. } => "hold_reply",
            Step::ReleaseReply => "release_reply",
            Step::AskFeedback => "ask_feedback",
            Step::ThankForFeedback => "thank_for_feedback",
            Step::AuthoriseReturn { .. } => "authorise_return",
            Step::Return { .. } => "return",
        }
    }
}

/// The state `step` takes an order in `order`'s state to, or why it cannot.
pub fn target(order: &Order, step: &Step) -> Result<OrderState, String> {
    use OrderState::*;
    let state = order.state;
    let next = match (state, step) {
        (AwaitingDetails, Step::AskDetails) => Some(AwaitingDetails),
        (AwaitingDetails, Step::Quote) => Some(AwaitingPayment),
        (AwaitingDetails, Step::SendForApproval { .. }) => Some(AwaitingApproval),
        (AwaitingApproval, Step::Approve) => Some(AwaitingPayment),
        (AwaitingApproval, Step::Reject { .. }) => Some(Rejected),
        (AwaitingPayment, Step::Pay { .. }) => Some(Paid),
        (AwaitingPayment, Step::PayPart { .. }) => Some(AwaitingPayment),
        (Paid, Step::Ship { .. }) => Some(Shipped),
        (AwaitingDetails | AwaitingApproval | AwaitingPayment | Paid, Step::Cancel { .. }) => {
            Some(Cancelled)
        }
        (AwaitingApproval | AwaitingPayment, Step::Expire) => Some(Expired),
        (AwaitingPayment, Step::Remind) if !order.reminder_sent => Some(AwaitingPayment),
        (Cancelled | Shipped | Returned, Step::Refund) if order.refund_due => Some(state),
        (Shipped, Step::AuthoriseReturn { .. }) if order.open_return().is_none() => Some(Shipped),
        (Shipped, Step::Return { lines, .. }) => returnable(order, lines)
            .ok()
            .map(|all_back| if all_back { Returned } else { Shipped }),
        (AwaitingApproval | AwaitingPayment, Step::Revise { rules, .. }) => {
            Some(if rules.is_empty() {
                AwaitingPayment
            } else {
                AwaitingApproval
            })
        }
        (AwaitingDetails | AwaitingApproval | AwaitingPayment, Step::HoldReply { .. }) => {
            Some(state)
        }
        (AwaitingDetails | AwaitingApproval | AwaitingPayment, Step::ReleaseReply)
            if order.reply_held.is_some() =>
        {
            Some(state)
        }
        (Shipped, Step::AskFeedback) if !order.feedback_requested => Some(Shipped),
        (Shipped, Step::ThankForFeedback)
            if order.feedback_requested && !order.feedback_thanked =>
        {
            Some(Shipped)
        }
        _ => None,
    };
    next.filter(|n| *n == state || state.can_become(*n))
        .ok_or_else(|| {
            format!(
                "order {} cannot {} when it is {}",
                order.reference,
                step.name().replace('_', " "),
                state.as_str()
            )
        })
}

/// Take `step`: every change it makes to the order and the stock, and its event. `by` says who
/// or what took it (a seller and how the command was checked, "customer", "timer" ...).
/// Nothing changes when the step is not allowed; the reason comes back for a hold.
pub fn apply(
    order: &mut Order,
    step: Step,
    by: Value,
    now: OffsetDateTime,
    config: &Config,
    d: &mut Decision,
) -> Result<(), String> {
    let from = order.state;
    let to = target(order, &step)?;
    let reference = order.reference.clone();
    let mut detail = json!({});
    if !matches!(step, Step::HoldReply { .. }) {
        // Whatever the order does next answers the customer anew: the held answer is stale.
        order.reply_held = None;
    }
    match &step {
        Step::AskDetails => {}
        Step::Quote | Step::SendForApproval { .. } => {
            order.reserved_until =
                Some(now + Duration::hours(i64::from(config.stock.reservation_hours)));
            order.payment_due = Some(now + Duration::days(i64::from(config.payments.due_days)));
            move_lines(order, MoveKind::Reserve, format!("quote {reference}"), d);
            detail = json!({ "total": order.totals.total.to_string() });
            if let Step::SendForApproval { rules } = &step {
                order.flags = rules.clone();
                detail["rules"] = json!(rules);
            }
        }
        Step::Approve => {
            order.payment_due = Some(now + Duration::days(i64::from(config.payments.due_days)));
            // The stock stays held for as long as the customer may pay.
            order.reserved_until = Some(
                (now + Duration::hours(i64::from(config.stock.reservation_hours)))
                    .max(order.payment_due.unwrap_or(now)),
            );
        }
        Step::Reject { reason } => {
            release_all(order, "rejected by the shop", d);
            order.reserved_until = None;
            detail = json!({ "reason": reason });
        }
        Step::Pay { payment } | Step::PayPart { payment } => {
            order.payments.push(payment.clone());
            detail = json!({
                "amount": payment.amount.to_string(),
                "outstanding": order.outstanding().to_string(),
                "transaction_id": payment.transaction_id,
            });
            if to == OrderState::Paid {
                order.paid_at = Some(now);
                order.reserved_until = None;
                order.delivery = Some(delivery_promise(order, config, now));
                move_lines(order, MoveKind::Sale, format!("paid {reference}"), d);
            }
        }
        Step::Ship { shipment } => {
            detail = json!({
                "carrier": shipment.carrier,
                "tracking": shipment.tracking,
                "url": shipment.url,
            });
            order.shipment = Some(shipment.clone());
        }
        Step::Cancel { reason } => {
            if from == OrderState::Paid {
                // Sold but not shipped: the goods go back on the shelf and the money back to
                // the customer, which a seller confirms with `refunded`.
                move_lines(
                    order,
                    MoveKind::Return,
                    format!("cancelled after payment ({reference})"),
                    d,
                );
                order.refund_due = true;
                detail = json!({
                    "reason": reason,
                    "refund_due": order.paid().to_string(),
                    "currency": order.currency,
                });
            } else {
                release_all(order, reason, d);
                detail = json!({ "reason": reason });
            }
            order.reserved_until = None;
        }
        Step::Expire => {
            detail = json!({
                "deadline": match from {
                    OrderState::AwaitingPayment => order.payment_due,
                    _ => order.reserved_until,
                }
                .map(|t| t.to_string()),
            });
            release_all(order, "expired unpaid", d);
            order.reserved_until = None;
        }
        Step::Remind => {
            order.reminder_sent = true;
            detail = json!({ "due": order.payment_due.map(|t| t.to_string()) });
        }
        Step::Refund => {
            order.refund_due = false;
            order.refunded = true;
            for r in &mut order.returns {
                if r.state == ReturnState::Received && r.refund > Decimal::ZERO {
                    r.state = ReturnState::Refunded;
                }
            }
        }
        Step::AuthoriseReturn { authorisation } => {
            detail = json!({
                "rma": authorisation.rma,
                "lines": authorisation.lines,
                "credit": authorisation.credit.to_string(),
                "exchange": authorisation.exchange,
            });
            order.returns.push(authorisation.clone());
        }
        Step::Return { rma, lines, refund } => {
            for line in lines {
                d.stock_moves.push(StockMove {
                    sku: line.sku.clone(),
                    kind: MoveKind::Return,
                    quantity: i64::from(line.quantity),
                    reason: format!("returned ({rma})"),
                });
            }
            let credit = super::returns::credit_of(lines, order.totals.tax_rate, &order.currency);
            let received = Return {
                rma: rma.clone(),
                state: ReturnState::Received,
                lines: lines.clone(),
                credit,
                refund: *refund,
                exchange: None,
                authorised_at: now,
                received_at: Some(now),
            };
            match order.returns.iter_mut().find(|r| r.rma == *rma) {
                Some(r) => {
                    r.state = ReturnState::Received;
                    r.lines = lines.clone();
                    r.credit = credit;
                    r.refund = *refund;
                    r.received_at = Some(now);
                }
                // Goods that came back without a request still get a number.
                None => order.returns.push(received),
            }
            if *refund > Decimal::ZERO {
                order.refund_due = true;
                order.refunded = false;
            }
            detail = json!({
                "rma": rma,
                "lines": lines,
                "credit": credit.to_string(),
                "refund_due": refund.to_string(),
                "currency": order.currency,
            });
        }
        Step::Revise {
            lines,
            totals,
            rules,
            changes,
        } => {
            release_all(order, "changed by the customer", d);
            order.lines = lines.clone();
            order.totals = totals.clone();
            order.flags = rules.clone();
            order.revision += 1;
            order.revision_changes = changes.clone();
            order.reminder_sent = false;
            order.reserved_until =
                Some(now + Duration::hours(i64::from(config.stock.reservation_hours)));
            order.payment_due = Some(now + Duration::days(i64::from(config.payments.due_days)));
            move_lines(
                order,
                MoveKind::Reserve,
                format!("revision {} of {reference}", order.revision + 1),
                d,
            );
            detail = json!({
                "revision": order.revision + 1,
                "total": order.totals.total.to_string(),
                "changes": changes,
                "rules": rules,
            });
        }
        Step::HoldReply { reason } => {
            order.reply_held = Some(reason.clone());
            if from == OrderState::AwaitingPayment {
                order.payment_due = None;
            }
            detail = json!({ "reason": reason });
        }
        Step::ReleaseReply => {
            order.reply_held = None;
            if from == OrderState::AwaitingPayment {
                order.payment_due = Some(now + Duration::days(i64::from(config.payments.due_days)));
                order.reserved_until = order.reserved_until.map(|_| {
                    (now + Duration::hours(i64::from(config.stock.reservation_hours)))
                        .max(order.payment_due.unwrap_or(now))
                });
                detail = json!({ "due": order.payment_due.map(|t| t.to_string()) });
            }
        }
        Step::AskFeedback => {
            detail = json!({ "shipped_at": order.shipment.as_ref().map(|s| s.at.to_string()) });
            order.feedback_requested = true;
        }
        Step::ThankForFeedback => order.feedback_thanked = true,
    }
    order.state = to;
    d.event(
        "state_changed",
        json!({
            "order": reference,
            "step": step.name(),
            "from": from.as_str(),
            "to": to.as_str(),
            "by": by,
            "detail": detail,
        }),
    );
    Ok(())
}

/// Whether `lines` can come back from `order` (each one sold, and not back already), and if so
/// whether the order is then all back.
pub fn returnable(order: &Order, lines: &[ReturnLine]) -> Result<bool, String> {
    if lines.is_empty() {
        return Err("nothing to return".into());
    }
    for line in &order.lines {
        let asked: u32 = lines
            .iter()
            .filter(|l| l.sku == line.sku)
            .map(|l| l.quantity)
            .sum();
        let left = line.quantity.saturating_sub(order.returned(&line.sku));
        if asked > left {
            return Err(format!(
                "{asked} x {} would come back, but only {left} of it are still with the customer",
                line.sku
            ));
        }
    }
    if let Some(l) = lines
        .iter()
        .find(|l| l.quantity == 0 || !order.lines.iter().any(|o| o.sku == l.sku))
    {
        return Err(format!(
            "order {} has no {} to return",
            order.reference, l.sku
        ));
    }
    Ok(order.lines.iter().all(|line| {
        let now_back: u32 = lines
            .iter()
            .filter(|l| l.sku == line.sku)
            .map(|l| l.quantity)
            .sum();
        order.returned(&line.sku) + now_back >= line.quantity
    }))
}

/// Take `step` at the time of the message being decided.
pub fn take(
    input: &Input,
    order: &mut Order,
    step: Step,
    by: Value,
    d: &mut Decision,
) -> Result<(), String> {
    apply(order, step, by, input.now, input.config, d)
}

/// The promise the confirmation makes: the shipping method and the expected delivery date.
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

/// Give back what the order holds on the shelf, if it holds anything.
fn release_all(order: &Order, reason: &str, d: &mut Decision) {
    if order.reserved_until.is_none() {
        return;
    }
    move_lines(
        order,
        MoveKind::Release,
        format!("{reason} ({})", order.reference),
        d,
    );
}

/// One stock move of `kind` for each of the order's lines.
fn move_lines(order: &Order, kind: MoveKind, reason: String, d: &mut Decision) {
    for line in &order.lines {
        d.stock_moves.push(StockMove {
            sku: line.sku.clone(),
            kind,
            quantity: i64::from(line.quantity),
            reason: reason.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::inbound::Mailbox;
    use crate::core::order::OrderLine;
    use rust_decimal::Decimal;
    use std::path::Path;

    fn config() -> Config {
        Config::from_toml(include_str!("../../config.example.toml"), Path::new("x")).unwrap()
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap()
    }

    fn order(state: OrderState) -> Order {
        let customer = Mailbox {
            name: None,
            email: "pat@example.test".into(),
        };
        let mut o = Order::new("MC-TEST0001".into(), customer, "USD", now());
        o.state = state;
        o.totals.total = Decimal::new(4688, 2);
        o.lines = vec![OrderLine {
            sku: "MUG-BLU".into(),
            name: "Blue Mug".into(),
            quantity: 2,
            requested: 2,
            unit_price: Decimal::new(1800, 2),
            line_total: Decimal::new(3600, 2),
        }];
        o.reserved_until = state.is_open().then(now);
        o.refund_due = state == OrderState::Cancelled;
        o.feedback_requested = true;
        o
    }

    fn payment(amount: i64) -> Payment {
        Payment {
            amount: Decimal::new(amount, 2),
            currency: "USD".into(),
            transaction_id: Some("T1".into()),
            provider: "bank@example.test".into(),
            payer: None,
            at: now(),
        }
    }

    fn steps() -> Vec<Step> {
        vec![
            Step::AskDetails,
            Step::Quote,
            Step::SendForApproval {
                rules: vec!["total_over".into()],
            },
            Step::Approve,
            Step::Reject {
                reason: "no".into(),
            },
            Step::Pay {
                payment: payment(4688),
            },
            Step::PayPart {
                payment: payment(1000),
            },
            Step::Ship {
                shipment: Shipment {
                    carrier: "DHL".into(),
                    tracking: "1".into(),
                    url: None,
                    at: now(),
                },
            },
            Step::Cancel {
                reason: "by the customer".into(),
            },
            Step::Expire,
            Step::Remind,
            Step::Refund,
            Step::Revise {
                lines: order(OrderState::AwaitingPayment).lines,
                totals: Totals::zero("USD"),
                rules: Vec::new(),
                changes: vec!["added 1 x Bud Vase".into()],
            },
            Step::HoldReply {
                reason: "reply cap reached".into(),
            },
            // Nothing is held in the table's orders, so there is nothing to release.
            Step::ReleaseReply,
            Step::AskFeedback,
            Step::ThankForFeedback,
            Step::AuthoriseReturn {
                authorisation: authorisation(),
            },
            Step::Return {
                rma: "MC-TEST0001-R1".into(),
                lines: vec![mug(1)],
                refund: Decimal::new(1944, 2),
            },
        ]
    }

    fn mug(quantity: u32) -> ReturnLine {
        ReturnLine {
            sku: "MUG-BLU".into(),
            name: "Blue Mug".into(),
            quantity,
            unit_price: Decimal::new(1800, 2),
        }
    }

    fn authorisation() -> Return {
        Return {
            rma: "MC-TEST0001-R1".into(),
            state: ReturnState::Authorised,
            lines: vec![mug(2)],
            credit: Decimal::new(3888, 2),
            refund: Decimal::ZERO,
            exchange: None,
            authorised_at: now(),
            received_at: None,
        }
    }

    /// The whole table: each (state, step) and the state it gives; `-` is a hold.
    #[test]
    fn every_state_and_step() {
        use OrderState::*;
        let table: &[(OrderState, &str)] = &[
            // ask details, quote, send for approval, approve, reject, pay, pay part, ship,
            // cancel, expire, remind, refund, revise, hold reply, release reply, ask feedback,
            // thank for feedback (the order asked already: `order()`), authorise return,
            // return (1 of 2)
            (
                AwaitingDetails,
                "awaiting_details awaiting_payment awaiting_approval - - - - - cancelled - - - - awaiting_details - - - - -",
            ),
            (
                AwaitingApproval,
                "- - - awaiting_payment rejected - - - cancelled expired - - awaiting_payment awaiting_approval - - - - -",
            ),
            (
                AwaitingPayment,
                "- - - - - paid awaiting_payment - cancelled expired awaiting_payment - awaiting_payment awaiting_payment - - - - -",
            ),
            (Paid, "- - - - - - - shipped cancelled - - - - - - - - - -"),
            // Part of a shipped order back: still shipped (the rest is with the customer).
            (
                Shipped,
                "- - - - - - - - - - - - - - - - shipped shipped shipped",
            ),
            (Returned, "- - - - - - - - - - - - - - - - - - -"),
            (Cancelled, "- - - - - - - - - - - cancelled - - - - - - -"),
            (Rejected, "- - - - - - - - - - - - - - - - - - -"),
            (Expired, "- - - - - - - - - - - - - - - - - - -"),
        ];
        assert_eq!(table.len(), OrderState::ALL.len());
        let config = config();
        for (state, row) in table {
            let row: Vec<&str> = row.split(' ').collect();
            assert_eq!(row.len(), steps().len());
            for (step, want) in steps().into_iter().zip(row) {
                let mut o = order(*state);
                let before = o.clone();
                let mut d = Decision::default();
                let name = step.name();
                let got = apply(&mut o, step, json!("test"), now(), &config, &mut d);
                match (want, got) {
                    ("-", Err(why)) => {
                        assert_eq!(o, before, "{state:?} {name}: nothing changes on a hold");
                        assert!(d.events.is_empty() && d.stock_moves.is_empty());
                        assert!(why.contains(name.replace('_', " ").as_str()), "{why}");
                    }
                    ("-", Ok(())) => panic!("{state:?} {name} should be a hold"),
                    (want, Err(why)) => panic!("{state:?} {name} -> {want}: held ({why})"),
                    (want, Ok(())) => {
                        assert_eq!(o.state.as_str(), want, "{state:?} {name}");
                        assert_eq!(d.events.len(), 1, "{state:?} {name}: one event");
                        assert_eq!(d.events[0].kind, "state_changed");
                        assert_eq!(d.events[0].detail["step"], name);
                        assert_eq!(d.events[0].detail["from"], state.as_str());
                    }
                }
            }
        }
    }

    #[test]
    fn a_held_quote_runs_no_deadline_until_it_is_released() {
        let config = config();
        let mut o = order(OrderState::AwaitingPayment);
        o.payment_due = Some(now());
        let mut d = Decision::default();
        let reason = "reply cap reached".to_string();
        apply(
            &mut o,
            Step::HoldReply { reason },
            json!("cap"),
            now(),
            &config,
            &mut d,
        )
        .unwrap();
        assert_eq!(o.payment_due, None);
        assert!(o.reply_held.is_some());
        let later = now() + Duration::days(2);
        let mut release = |o: &mut Order| {
            apply(
                o,
                Step::ReleaseReply,
                json!("seller"),
                later,
                &config,
                &mut d,
            )
        };
        release(&mut o).unwrap();
        assert_eq!(o.reply_held, None);
        assert_eq!(
            o.payment_due,
            Some(later + Duration::days(i64::from(config.payments.due_days)))
        );
        assert!(
            o.reserved_until >= o.payment_due,
            "the stock waits as long as the payment"
        );
        assert!(release(&mut o).is_err(), "nothing left to release");
    }

    #[test]
    fn steps_move_the_stock_they_should() {
        let config = config();
        let moves = |state, step| {
            let mut o = order(state);
            let mut d = Decision::default();
            apply(&mut o, step, json!("test"), now(), &config, &mut d).unwrap();
            (o, d.stock_moves.iter().map(|m| m.kind).collect::<Vec<_>>())
        };
        let (o, m) = moves(OrderState::AwaitingDetails, Step::Quote);
        assert_eq!(m, [MoveKind::Reserve]);
        assert!(o.reserved_until.is_some() && o.payment_due.is_some());
        let (o, m) = moves(
            OrderState::AwaitingPayment,
            Step::Pay {
                payment: payment(4688),
            },
        );
        assert_eq!(m, [MoveKind::Sale]);
        assert!(o.paid_at.is_some() && o.delivery.is_some() && o.reserved_until.is_none());
        let (o, m) = moves(
            OrderState::Paid,
            Step::Cancel {
                reason: "by the shop".into(),
            },
        );
        assert_eq!(m, [MoveKind::Return]);
        assert!(o.refund_due);
        let (o, m) = moves(
            OrderState::AwaitingPayment,
            Step::Cancel {
                reason: "by the customer".into(),
            },
        );
        assert_eq!(m, [MoveKind::Release]);
        assert!(!o.refund_due && o.reserved_until.is_none());
        let (_, m) = moves(OrderState::AwaitingApproval, Step::Expire);
        assert_eq!(m, [MoveKind::Release]);
        // A revision gives back the old reservation and takes the new one, and the
        // customer gets the full time to pay again.
        let (o, m) = moves(
            OrderState::AwaitingPayment,
            Step::Revise {
                lines: order(OrderState::AwaitingPayment).lines,
                totals: Totals::zero("USD"),
                rules: vec!["total_over".into()],
                changes: Vec::new(),
            },
        );
        assert_eq!(m, [MoveKind::Release, MoveKind::Reserve]);
        assert_eq!(o.state, OrderState::AwaitingApproval);
        assert_eq!(o.revision, 1);
        assert!(o.payment_due.is_some_and(|t| t > now()));
        // All of it back: returned, on the shelf again, the refund due; then refunded.
        let mut shipped = order(OrderState::Shipped);
        let mut d = Decision::default();
        let step = Step::AuthoriseReturn {
            authorisation: authorisation(),
        };
        apply(&mut shipped, step, json!("test"), now(), &config, &mut d).unwrap();
        assert!(d.stock_moves.is_empty());
        assert_eq!(
            shipped
                .open_return()
                .map(|r| r.credit.to_string())
                .as_deref(),
            Some("38.88")
        );
        // A second authorisation waits for the first.
        let again = Step::AuthoriseReturn {
            authorisation: authorisation(),
        };
        assert!(
            apply(
                &mut shipped.clone(),
                again,
                json!("test"),
                now(),
                &config,
                &mut d
            )
            .is_err()
        );
        let step = Step::Return {
            rma: "MC-TEST0001-R1".into(),
            lines: vec![mug(3)],
            refund: Decimal::ZERO,
        };
        assert!(
            apply(
                &mut shipped.clone(),
                step,
                json!("test"),
                now(),
                &config,
                &mut d
            )
            .is_err(),
            "more than was sold"
        );
        let mut d = Decision::default();
        let step = Step::Return {
            rma: "MC-TEST0001-R1".into(),
            lines: vec![mug(2)],
            refund: Decimal::new(3888, 2),
        };
        apply(&mut shipped, step, json!("test"), now(), &config, &mut d).unwrap();
        assert_eq!(shipped.state, OrderState::Returned);
        assert_eq!(d.stock_moves.len(), 1);
        assert_eq!(
            (d.stock_moves[0].kind, d.stock_moves[0].quantity),
            (MoveKind::Return, 2)
        );
        assert!(shipped.refund_due && shipped.open_return().is_none());
        assert_eq!(shipped.returns[0].state, ReturnState::Received);
        assert_eq!(shipped.returned("MUG-BLU"), 2);
        apply(
            &mut shipped,
            Step::Refund,
            json!("test"),
            now(),
            &config,
            &mut d,
        )
        .unwrap();
        assert_eq!(shipped.state, OrderState::Returned);
        assert!(!shipped.refund_due && shipped.refunded);
        assert_eq!(shipped.returns[0].state, ReturnState::Refunded);

        let (o, m) = moves(OrderState::AwaitingPayment, Step::Remind);
        assert!(m.is_empty() && o.reminder_sent);
        // The feedback request goes once, and so does the thank-you, only after it.
        let mut shipped = order(OrderState::Shipped);
        shipped.feedback_requested = false;
        let take = |o: &mut Order, step| {
            let mut d = Decision::default();
            apply(o, step, json!("test"), now(), &config, &mut d).map(|()| d)
        };
        assert!(take(&mut shipped.clone(), Step::ThankForFeedback).is_err());
        let d = take(&mut shipped, Step::AskFeedback).unwrap();
        assert!(shipped.feedback_requested && d.stock_moves.is_empty());
        assert!(take(&mut shipped.clone(), Step::AskFeedback).is_err());
        take(&mut shipped, Step::ThankForFeedback).unwrap();
        assert!(shipped.feedback_thanked);
        assert!(take(&mut shipped, Step::ThankForFeedback).is_err());
        // A reminder goes once.
        let mut again = o.clone();
        let mut d = Decision::default();
        assert!(
            apply(
                &mut again,
                Step::Remind,
                json!("test"),
                now(),
                &config,
                &mut d
            )
            .is_err()
        );
    }
}
