//! The shop's flag rules (`[approval]`): an order that meets one goes to the sellers before the
//! customer gets a quote.

use super::order::Order;
use crate::config::Config;

/// Which of the shop's flag rules this order meets; each is named for the seller.
pub fn flag_rules(order: &Order, config: &Config, earlier_orders: u32) -> Vec<String> {
    let a = &config.approval;
    let money = |d| crate::core::money::format(d, &order.currency);
    let mut rules = Vec::new();
    if let Some(limit) = a.total_over
        && order.totals.total > limit
    {
        rules.push(format!(
            "total_over: total {} is above {}",
            money(order.totals.total),
            money(limit)
        ));
    }
    if let Some(limit) = a.quantity_over
        && let Some(line) = order.lines.iter().find(|l| l.quantity > limit)
    {
        rules.push(format!(
            "quantity_over: {} x {} is more than {limit} of one item",
            line.quantity, line.name
        ));
    }
    if let Some(limit) = a.first_order_over
        && earlier_orders == 0
        && order.totals.total > limit
    {
        rules.push(format!(
            "first_order_over: a first order from {} of {}, above {}",
            order.customer.email,
            money(order.totals.total),
            money(limit)
        ));
    }
    if let Some(country) = &order.country_code
        && a.countries.iter().any(|c| c.eq_ignore_ascii_case(country))
    {
        rules.push(format!(
            "countries: ships to {country}, a destination on the review list"
        ));
    }
    rules
}
