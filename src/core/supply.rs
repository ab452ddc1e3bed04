//! What the shop can supply of what the customer wants: one priced line per item, as much as
//! is available, and the shortfall of each line that is short.

use rust_decimal::Decimal;

use super::catalog::Catalog;
use super::decision::Shortage;
use super::items::ItemLine;
use super::money;
use super::order::OrderLine;

/// The lines for `wanted` with `available(sku)` units free for this order; an item the catalog
/// no longer has is left out.
pub fn supply(
    wanted: &[ItemLine],
    catalog: &Catalog,
    currency: &str,
    available: impl Fn(&str) -> i64,
) -> (Vec<OrderLine>, Vec<Shortage>) {
    let mut lines = Vec::new();
    let mut shortages = Vec::new();
    for want in wanted {
        let Some(item) = catalog.get(&want.sku) else {
            continue;
        };
        let free = available(&want.sku).max(0);
        let supply = i64::from(want.quantity).min(free) as u32;
        if supply < want.quantity {
            shortages.push(Shortage {
                name: item.name.clone(),
                requested: want.quantity,
                available: supply,
            });
        }
        if supply > 0 {
            lines.push(OrderLine {
                sku: item.sku.clone(),
                name: item.name.clone(),
                quantity: supply,
                requested: want.quantity,
                unit_price: item.unit_price,
                line_total: money::round(item.unit_price * Decimal::from(supply), currency),
            });
        }
    }
    (lines, shortages)
}
