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
