//! What time alone does to an order: a reminder before the payment deadline, and expiry after
//! it (or after an approval that never came), which frees the reserved stock. The moment comes
//! in as a parameter; `mailcart tick --at` and the daemon's timer supply it.

use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::decision::{Decision, Template};
use super::emails::{in_thread, seller_alert};
use super::lifecycle::{self, Step};
use super::order::{Order, OrderState};
use crate::config::Config;

/// The decision for `order` at `now`, or `None` when nothing is due.
pub fn tick(
    order: &Order,
    thread: &[String],
    now: OffsetDateTime,
    config: &Config,
) -> Option<Decision> {
    // An exchange waits for the goods it replaces (and the difference), however long the
    // post takes; a seller cancels it if it never comes.
    if order.exchange_for.is_some() {
        return None;
    }
    let deadline = match order.state {
        OrderState::AwaitingPayment => order.payment_due?,
        // An approval that never came: the stock is held only for the reservation's time.
        OrderState::AwaitingApproval => order.reserved_until?,
        _ => return None,
    };
    let mut d = Decision::default();
    let mut order = order.clone();
    if now >= deadline {
        let was = order.state;
        lifecycle::apply(
            &mut order,
            Step::Expire,
            json!("timer"),
            now,
            config,
            &mut d,
        )
        .ok()?;
        d.emails.push(in_thread(
            &order,
            thread,
            format!("Order {} has expired", order.reference),
            Template::Expired {
                order: order.clone(),
            },
        ));
        if was == OrderState::AwaitingApproval {
            d.emails.extend(seller_alert(
                config,
                &format!("Order {} expired without approval", order.reference),
                &format!(
                    "Nobody approved or rejected order {} before its reservation ended, so it has expired and its stock is free again. The customer was told.",
                    order.reference
                ),
            ));
        }
        d.order = Some(order);
        return Some(d);
    }
    let remind_at = deadline - Duration::hours(i64::from(config.payments.reminder_hours));
    if order.state == OrderState::AwaitingPayment && !order.reminder_sent && now >= remind_at {
        lifecycle::apply(
            &mut order,
            Step::Remind,
            json!("timer"),
            now,
            config,
            &mut d,
        )
        .ok()?;
        d.emails.push(in_thread(
            &order,
            thread,
            format!("Reminder: order {} awaits payment", order.reference),
            Template::PaymentReminder {
                order: order.clone(),
            },
        ));
        d.order = Some(order);
        return Some(d);
    }
    None
}

/// An order shipped longer ago than `after_days` and this is not asked about: turning the
/// setting on, or a daemon down for weeks, must not mail every old customer at once.
pub const FEEDBACK_WINDOW_DAYS: i64 = 14;

/// `[feedback] after_days`: one email asking how it went, that many days after shipping. Not
/// for a customer who asked to return the order (a return authorised on it, or `returned`:
/// a request recorded before returns had numbers) or whose data was erased.
pub fn ask_feedback(
    order: &Order,
    thread: &[String],
    returned: bool,
    now: OffsetDateTime,
    config: &Config,
) -> Option<Decision> {
    let after = Duration::days(i64::from(config.feedback.after_days?));
    let shipped = order.shipment.as_ref()?.at;
    let due = shipped + after;
    if now < due
        || now > due + Duration::days(FEEDBACK_WINDOW_DAYS)
        || returned
        || !order.returns.is_empty()
        || super::erase::is_erased(&order.customer.email)
    {
        return None;
    }
    let mut d = Decision::default();
    let mut order = order.clone();
    lifecycle::apply(
        &mut order,
        Step::AskFeedback,
        json!("timer"),
        now,
        config,
        &mut d,
    )
    .ok()?;
    let mut email = in_thread(
        &order,
        thread,
        format!("How did it go with your order {}?", order.reference),
        Template::FeedbackRequest {
            order: order.clone(),
        },
    );
    // Its Message-ID is then the order's own, whichever tick sends it.
    email.once = Some(format!("feedback.{}", order.reference));
    d.emails.push(email);
    d.order = Some(order);
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::inbound::Mailbox;
    use crate::core::order::Shipment;
    use std::path::Path;

    fn config(after_days: Option<u32>) -> Config {
        let mut c =
            Config::from_toml(include_str!("../../config.example.toml"), Path::new("x")).unwrap();
        c.feedback.after_days = after_days;
        c
    }

    fn shipped_at() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap()
    }

    fn shipped(email: &str) -> Order {
        let customer = Mailbox {
            name: Some("Pat Okafor".into()),
            email: email.into(),
        };
        let mut o = Order::new("MC-TEST0001".into(), customer, "USD", shipped_at());
        o.state = OrderState::Shipped;
        o.shipment = Some(Shipment {
            carrier: "DHL".into(),
            tracking: "1".into(),
            url: None,
            at: shipped_at(),
        });
        o
    }

    #[test]
    fn feedback_is_asked_once_after_the_days_and_only_when_set() {
        let o = shipped("pat@example.test");
        let thread = vec!["m1@example.test".to_string()];
        let day = |n: i64| shipped_at() + Duration::days(n);
        let ask = |o: &Order, at, returned, c: &Config| ask_feedback(o, &thread, returned, at, c);
        let on = config(Some(7));
        assert!(ask(&o, day(30), false, &config(None)).is_none(), "off");
        assert!(ask(&o, day(6), false, &on).is_none(), "too early");
        let d = ask(&o, day(7), false, &on).expect("due");
        let asked = d.order.clone().unwrap();
        assert!(asked.feedback_requested);
        assert_eq!(d.emails.len(), 1);
        let e = &d.emails[0];
        assert_eq!(e.template.name(), "feedback_request");
        assert_eq!(e.once.as_deref(), Some("feedback.MC-TEST0001"));
        assert_eq!(e.in_reply_to.as_deref(), Some("m1@example.test"));
        assert!(e.to_customer && e.subject.contains("MC-TEST0001"));
        assert!(ask(&asked, day(8), false, &on).is_none(), "once");
        assert!(ask(&o, day(8), true, &on).is_none(), "a return");
        assert!(ask(&o, day(30), false, &on).is_none(), "long past");
        let erased = shipped("erased-x1@erased.invalid");
        assert!(ask(&erased, day(8), false, &on).is_none(), "erased");
        let mut cancelled = o.clone();
        cancelled.state = OrderState::Cancelled;
        assert!(ask(&cancelled, day(8), false, &on).is_none(), "not shipped");
    }
}
