//! Subtotal, shipping, tax and total for an order, exact to the minor unit.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::money::round;
use crate::config::Config;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    #[serde(with = "rust_decimal::serde::str")]
    pub subtotal: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub shipping: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub tax: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub total: Decimal,
    /// The tax rate applied, e.g. 0.08.
    #[serde(with = "rust_decimal::serde::str")]
    pub tax_rate: Decimal,
}

impl Totals {
    /// Nothing priced yet, in the currency's scale ("0.00").
    pub fn zero(currency: &str) -> Totals {
        let z = round(Decimal::ZERO, currency);
        Totals {
            subtotal: z,
            shipping: z,
            tax: z,
            total: z,
            tax_rate: Decimal::ZERO,
        }
    }
}

/// Price `lines` (quantity, unit price) for delivery to `country` (ISO alpha-2).
pub fn price_order(lines: &[(u32, Decimal)], country: &str, config: &Config) -> Totals {
    let currency = config.shop.currency.as_str();
    let subtotal = round(
        lines
            .iter()
            .map(|(q, p)| round(*p * Decimal::from(*q), currency))
            .sum(),
        currency,
    );
    let shipping_rules = &config.shipping;
    let free = shipping_rules
        .free_over
        .is_some_and(|limit| subtotal >= limit);
    let shipping = if free || lines.is_empty() {
        Decimal::ZERO
    } else {
        shipping_rules
            .by_country
            .get(country)
            .map(|d| d.0)
            .unwrap_or(shipping_rules.flat_rate)
    };
    let shipping = round(shipping, currency);
    let tax_rate = config
        .tax
        .by_country
        .get(country)
        .map(|d| d.0)
        .unwrap_or(config.tax.default_rate);
    let taxable = if config.tax.shipping_taxable {
        subtotal + shipping
    } else {
        subtotal
    };
    let tax = round(taxable * tax_rate, currency);
    Totals {
        subtotal,
        shipping,
        tax,
        total: round(subtotal + shipping + tax, currency),
        tax_rate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::str::FromStr;

    fn config() -> Config {
        Config::from_toml(include_str!("../../config.example.toml"), Path::new("x")).unwrap()
    }
    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn pricing_table() {
        let c = config();
        // (lines, country, subtotal, shipping, tax, total)
        let cases = [
            (
                vec![(2, d("18.00"))],
                "US",
                "36.00",
                "8.00",
                "2.88",
                "46.88",
            ),
            (
                vec![(2, d("18.00"))],
                "CA",
                "36.00",
                "15.00",
                "0.00",
                "51.00",
            ),
            (
                vec![(3, d("12.00")), (1, d("64.00"))],
                "US",
                "100.00",
                "8.00",
                "8.00",
                "116.00",
            ),
            (
                vec![(10, d("18.00"))],
                "US",
                "180.00",
                "0.00",
                "14.40",
                "194.40",
            ),
            (
                vec![(1, d("19.50"))],
                "US",
                "19.50",
                "8.00",
                "1.56",
                "29.06",
            ),
            (vec![(3, d("0.10"))], "JP", "0.30", "30.00", "0.00", "30.30"),
            (vec![(1, d("9.99"))], "NZ", "9.99", "8.00", "0.80", "18.79"),
        ];
        for (lines, country, sub, ship, tax, total) in cases {
            let t = price_order(&lines, country, &c);
            assert_eq!(
                (
                    t.subtotal.to_string(),
                    t.shipping.to_string(),
                    t.tax.to_string(),
                    t.total.to_string()
                ),
                (sub.into(), ship.into(), tax.into(), total.into()),
                "{lines:?} to {country}"
            );
        }
    }
}
