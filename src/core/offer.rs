//! What goes out once an order is priced and its stock reserved: the quote to the customer,
//! or, when a flag rule holds it, word that it is being reviewed and a request to each seller.
//! The first quote and every revision send the same.

use serde_json::json;

use super::decision::{Decision, Input, Purpose, Shortage, Template};
use super::emails::{reply, requests};
use super::money;
use super::order::Order;

/// The quote's subject: the first, or which revision it is.
pub fn quote_subject(order: &Order) -> String {
    if order.revision == 0 {
        format!("Your order {}: quote and payment details", order.reference)
    } else {
        format!(
            "Your order {}: revised quote (revision {})",
            order.reference,
            order.revision + 1
        )
    }
}

pub fn send(input: &Input, order: &Order, shortages: Vec<Shortage>, d: &mut Decision) {
    let revision = order.revision + 1;
    let quote = quote_subject(order);
    let approve = if order.revision == 0 {
        format!("Approve order {}?", order.reference)
    } else {
        format!("Approve order {} (revision {revision})?", order.reference)
    };
    if order.flags.is_empty() {
        d.event(
            "quote_sent",
            json!({ "order": order.reference, "total": order.totals.total.to_string(), "revision": revision }),
        );
        d.emails.push(reply(
            input,
            quote,
            Template::Quote {
                order: order.clone(),
                shortages,
            },
        ));
        return;
    }
    let subject = format!("Your order {} is being reviewed", order.reference);
    d.emails.push(reply(
        input,
        subject,
        Template::UnderReview {
            order: order.clone(),
            shortages,
        },
    ));
    let subject = format!(
        "{approve} {} from {}",
        money::format(order.totals.total, &order.currency),
        order.customer.email
    );
    let request = Template::ApprovalRequest {
        order: order.clone(),
        rules: order.flags.clone(),
    };
    let until = order.reserved_until.unwrap_or(input.now);
    d.emails.extend(requests(
        input.config,
        subject,
        request,
        Purpose::Approval,
        until,
    ));
}
