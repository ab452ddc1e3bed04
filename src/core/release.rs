//! What a customer hears when a person lifts the pause that held back their answer
//! (`core::reply_cap`). The order waited as it was, with no payment deadline running; now the
//! answer its state calls for goes out, built from the order as it stands (a quote written
//! when the pause began would carry a deadline that was never running), and the deadlines
//! start from now.

use serde_json::json;
use time::OffsetDateTime;

use super::catalog::Catalog;
use super::decision::{Decision, Template};
use super::emails::in_thread;
use super::lifecycle::{self, Step};
use super::offer;
use super::order::{Order, OrderState};
use crate::config::Config;

/// The decision that sends `order` its held answer, or `None` when it waits for none.
pub fn release(
    order: &Order,
    thread: &[String],
    now: OffsetDateTime,
    config: &Config,
    catalog: &Catalog,
    by: &str,
) -> Option<Decision> {
    let mut d = Decision::default();
    let mut order = order.clone();
    lifecycle::apply(
        &mut order,
        Step::ReleaseReply,
        json!(by),
        now,
        config,
        &mut d,
    )
    .ok()?;
    let reference = order.reference.clone();
    let (subject, template) = match order.state {
        OrderState::AwaitingPayment => {
            d.event(
                "quote_sent",
                json!({ "order": reference, "total": order.totals.total.to_string(), "revision": order.revision + 1 }),
            );
            (
                offer::quote_subject(&order),
                Template::Quote {
                    order: order.clone(),
                    shortages: Vec::new(),
                },
            )
        }
        OrderState::AwaitingApproval => (
            format!("Your order {reference} is being reviewed"),
            Template::UnderReview {
                order: order.clone(),
                shortages: Vec::new(),
            },
        ),
        _ => {
            let need_address = order.shipping_address.is_none();
            let need_items = order.wanted.is_empty() && order.open_problems.is_empty();
            d.event(
                "details_requested",
                json!({ "order": reference, "after_pause": true }),
            );
            let have = order
                .wanted
                .iter()
                .filter_map(|w| catalog.get(&w.sku).map(|i| (i.name.clone(), w.quantity)))
                .collect();
            // Nothing else left to ask: the order waits because of where it goes.
            let unserved = (!need_address && !need_items && order.open_problems.is_empty())
                .then(|| order.country_code.clone())
                .flatten();
            (
                format!("Your order {reference}: a few details needed"),
                Template::AskDetails {
                    order: order.clone(),
                    problems: order.open_problems.clone(),
                    shortages: Vec::new(),
                    need_address,
                    need_items,
                    have,
                    unserved_country: unserved,
                    in_stock: Vec::new(),
                },
            )
        }
    };
    d.emails.push(in_thread(&order, thread, subject, template));
    d.order = Some(order);
    Some(d)
}
