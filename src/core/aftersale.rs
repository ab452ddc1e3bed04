//! A customer's cancellations (before payment, after it, and after shipping, which is a return)
//! and changes of the shipping address.

use serde_json::json;

use super::decision::{Decision, Input, Template};
use super::emails::{belongs_to_sender, reply, seller_alert};
use super::lifecycle::{self, Step};
use super::order::{Order, OrderState};

/// A customer's cancellation: before payment the order is cancelled and its stock freed;
/// after payment (`cancel_paid`) the goods go back and a refund is due; after shipping it is a
/// return of everything (`core::returns`).
pub fn cancel(input: &Input, mut d: Decision) -> Decision {
    let Some(mut order) = input.order.clone() else {
        return d.hold("cancellation that names no order we know");
    };
    if !belongs_to_sender(&order, input) {
        return d.hold(format!(
            "cancellation of {} from someone other than its customer",
            order.reference
        ));
    }
    match order.state {
        OrderState::Paid => return cancel_paid(input, d, order),
        OrderState::Shipped => {
            return super::returns::request(
                input,
                d,
                order,
                super::returns::Ask { exchange: false },
            );
        }
        _ => {}
    }
    if !order.state.customer_may_cancel() {
        return d.hold(format!(
            "cancellation of {} which is already {}",
            order.reference,
            order.state.as_str()
        ));
    }
    if let Err(why) = lifecycle::take(
        input,
        &mut order,
        Step::Cancel {
            reason: "cancelled by the customer".into(),
        },
        json!("customer"),
        &mut d,
    ) {
        return d.hold(why);
    }
    let subject = format!("Order {} cancelled", order.reference);
    d.emails.push(reply(
        input,
        subject,
        Template::Cancelled {
            order: order.clone(),
        },
    ));
    d.order = Some(order);
    d
}

/// Paid, not shipped: cancelled, the goods back on the shelf, the sellers asked to refund (they
/// confirm with `refunded REF`).
pub fn cancel_paid(input: &Input, mut d: Decision, mut order: Order) -> Decision {
    if let Err(why) = lifecycle::take(
        input,
        &mut order,
        Step::Cancel {
            reason: "cancelled by the customer after payment".into(),
        },
        json!("customer"),
        &mut d,
    ) {
        return d.hold(why);
    }
    d.emails.push(reply(
        input,
        format!("Order {} cancelled", order.reference),
        Template::Cancelled {
            order: order.clone(),
        },
    ));
    d.emails.extend(seller_alert(
        input.config,
        &format!("Refund due: order {} cancelled after payment", order.reference),
        &format!(
            "{} cancelled order {} after paying {} {}, before it shipped. Its items are back in stock; please do not ship it. Refund the customer, then write `refunded {}`.",
            order.customer.email,
            order.reference,
            order.paid(),
            order.currency,
            order.reference
        ),
    ));
    d.order = Some(order);
    d
}

/// A new shipping address in the order's thread. Before shipping it replaces the old one (the
/// sellers are told, since a packing slip may be printed); after, it is too late. A new
/// country would change shipping and tax, so that goes to a person.
pub fn address_change(input: &Input, mut d: Decision, mut order: Order) -> Decision {
    let Some(address) = input.parsed.shipping_address.clone() else {
        return d;
    };
    let home = &input.config.shop.home_country;
    let country = |c: &Option<String>| c.clone().unwrap_or_else(|| home.clone());
    match order.state {
        OrderState::Shipped => {
            d.event(
                "address_change_too_late",
                json!({ "order": order.reference }),
            );
            d.about = Some(order.reference.clone());
            d.emails.push(reply(
                input,
                format!("Order {}: already on its way", order.reference),
                Template::TooLateToChange { order },
            ));
            d
        }
        OrderState::AwaitingApproval | OrderState::AwaitingPayment | OrderState::Paid => {
            if country(&address.country_code) != country(&order.country_code) {
                return d.hold(format!(
                    "new shipping address for {} in another country ({}): shipping and tax change, a person should answer",
                    order.reference,
                    country(&address.country_code)
                ));
            }
            let old = order
                .shipping_address
                .as_ref()
                .map(|a| a.text.clone())
                .unwrap_or_default();
            order.shipping_address = Some(address.clone());
            order.country_code = address.country_code.clone().or(order.country_code);
            d.event(
                "address_changed",
                json!({ "order": order.reference, "from": old, "to": address.text }),
            );
            d.emails.push(reply(
                input,
                format!("Order {}: new shipping address", order.reference),
                Template::AddressChanged {
                    order: order.clone(),
                },
            ));
            d.emails.extend(seller_alert(
                input.config,
                &format!("New shipping address for order {}", order.reference),
                &format!(
                    "{} changed the shipping address of order {} ({}).\n\nOld:\n{old}\n\nNew:\n{}",
                    order.customer.email,
                    order.reference,
                    order.state.as_str(),
                    address.text
                ),
            ));
            d.order = Some(order);
            d
        }
        _ => d.hold(format!(
            "a new shipping address for {}, which is {}",
            order.reference,
            order.state.as_str()
        )),
    }
}
