//! A customer changing an order they already have (`core::changes` reads what they ask).
//! Before payment the order is revised: stock checked again against what it holds and what is
//! free, the reservation moved, a revised quote (same reference, the next revision, saying
//! what changed) with a new deadline, and the flag rules asked again. After payment the change
//! is for the sellers, with what it would cost; after shipping the customer hears how returns
//! work.

use std::collections::HashMap;

use serde_json::json;

use super::changes::{Changes, apply_changes};
use super::decision::{Decision, Input, Purpose, Template};
use super::emails::reply;
use super::flags::flag_rules;
use super::lifecycle::{self, Step};
use super::money;
use super::order::{Order, OrderState};
use super::pricing::price_order;
use super::supply::supply;

pub fn revise(input: &Input, mut d: Decision, mut order: Order, changes: Changes) -> Decision {
    d.about = Some(order.reference.clone());
    let (wanted, said) = apply_changes(&order.wanted, &changes.changes, input.catalog);
    if !changes.unclear.is_empty() {
        return ask(input, d, order, changes.unclear, said, false);
    }
    match order.state {
        OrderState::AwaitingApproval | OrderState::AwaitingPayment => {}
        OrderState::Paid => {
            let cost = cost_of(input, &order, &wanted);
            return d.hold(format!(
                "{} asks to change order {}, which is paid: {}; {cost}",
                order.customer.email,
                order.reference,
                said.join(", ")
            ));
        }
        // "Swap the blue mug for the green one" after shipping: an exchange.
        OrderState::Shipped
            if changes
                .changes
                .iter()
                .all(|c| matches!(c, super::changes::Change::Swap { .. })) =>
        {
            return super::returns::request(
                input,
                d,
                order,
                super::returns::Ask { exchange: true },
            );
        }
        OrderState::Shipped => {
            d.event(
                "change_after_shipping",
                json!({ "order": order.reference, "asked": said }),
            );
            d.emails.push(reply(
                input,
                format!("Order {}: already on its way", order.reference),
                Template::ChangeAfterShipping { order },
            ));
            return d;
        }
        state => {
            return d.hold(format!(
                "a change to order {}, which is {}: a person should answer",
                order.reference,
                state.as_str()
            ));
        }
    }
    if said.is_empty() {
        // Asked for what the order already is: the quote as it stands.
        d.event("change_without_effect", json!({ "order": order.reference }));
        let subject = format!("Your order {}", order.reference);
        d.emails
            .push(reply(input, subject, Template::Status { order }));
        return d;
    }
    let free = free_for(input, &order);
    let (lines, shortages) = supply(&wanted, input.catalog, &order.currency, |sku| {
        free.get(sku).copied().unwrap_or(0)
    });
    if wanted.is_empty() || lines.is_empty() {
        return ask(input, d, order, Vec::new(), said, true);
    }
    let country = order
        .country_code
        .clone()
        .unwrap_or_else(|| input.config.shop.home_country.clone());
    let priced: Vec<_> = lines.iter().map(|l| (l.quantity, l.unit_price)).collect();
    let totals = price_order(&priced, &country, input.config);
    let mut proposed = order.clone();
    proposed.lines = lines.clone();
    proposed.totals = totals.clone();
    let rules = flag_rules(&proposed, input.config, input.earlier_orders);
    let step = Step::Revise {
        lines,
        totals,
        rules: rules.clone(),
        changes: said,
    };
    if let Err(why) = lifecycle::take(input, &mut order, step, json!("customer"), &mut d) {
        return d.hold(why);
    }
    order.wanted = wanted;
    order.open_problems.clear();
    if !shortages.is_empty() {
        d.event(
            "stock_short",
            json!({ "order": order.reference, "shortages": shortages }),
        );
    }
    super::offer::send(input, &order, shortages, &mut d);
    if !order.flags.is_empty() {
        // An earlier approval request was about another order than this one.
        d.retire_tokens = Some((order.reference.clone(), Purpose::Approval));
    }
    d.order = Some(order);
    d
}

/// One precise question about what could not be read; nothing changes.
fn ask(
    input: &Input,
    mut d: Decision,
    order: Order,
    unclear: Vec<(String, Vec<String>)>,
    understood: Vec<String>,
    empties: bool,
) -> Decision {
    d.event(
        "change_unclear",
        json!({ "order": order.reference, "unclear": unclear, "understood": understood, "empties": empties }),
    );
    let subject = format!("Your order {}: which change do you mean?", order.reference);
    d.emails.push(reply(
        input,
        subject,
        Template::ChangeQuestion {
            order,
            unclear,
            empties,
            understood,
        },
    ));
    d
}

/// What each SKU has free for this order: the shelf's free stock and what the order itself
/// holds, which a revision gives back first.
fn free_for(input: &Input, order: &Order) -> HashMap<String, i64> {
    let mut free: HashMap<String, i64> = input.available.clone();
    if order.reserved_until.is_some() {
        for line in &order.lines {
            *free.entry(line.sku.clone()).or_default() += i64::from(line.quantity);
        }
    }
    free
}

/// What a change to a paid order would cost, for the sellers (stock aside: they decide).
fn cost_of(input: &Input, order: &Order, wanted: &[super::items::ItemLine]) -> String {
    let (lines, _) = supply(wanted, input.catalog, &order.currency, |_| i64::MAX);
    let country = order
        .country_code
        .clone()
        .unwrap_or_else(|| input.config.shop.home_country.clone());
    let priced: Vec<_> = lines.iter().map(|l| (l.quantity, l.unit_price)).collect();
    let total = price_order(&priced, &country, input.config).total;
    let diff = total - order.totals.total;
    let f = |d| money::format(d, &order.currency);
    if diff.is_sign_negative() {
        format!(
            "it would come to {} ({} less than paid)",
            f(total),
            f(-diff)
        )
    } else {
        format!("it would come to {} ({} more than paid)", f(total), f(diff))
    }
}
