//! Exact money: `rust_decimal`, rounded to the currency's minor unit.

use rust_decimal::{Decimal, RoundingStrategy};

/// Minor-unit digits of an ISO 4217 currency (ISO 4217's exponent column, common cases).
pub fn minor_digits(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" | "VND" | "CLP" | "ISK" | "UGX" | "XAF" | "XOF" | "PYG" => 0,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" | "IQD" | "LYD" => 3,
        _ => 2,
    }
}

/// Round half away from zero, as invoices and tax authorities do.
pub fn round(amount: Decimal, currency: &str) -> Decimal {
    let mut d = amount.round_dp_with_strategy(
        minor_digits(currency),
        RoundingStrategy::MidpointAwayFromZero,
    );
    d.rescale(minor_digits(currency));
    d
}

/// "18.00 USD" style, for emails and the CLI.
pub fn format(amount: Decimal, currency: &str) -> String {
    format!("{} {currency}", round(amount, currency))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn rounding_is_exact_and_keeps_scale() {
        let d = |s| Decimal::from_str(s).unwrap();
        assert_eq!(round(d("1.005"), "USD").to_string(), "1.01");
        assert_eq!(round(d("2"), "USD").to_string(), "2.00");
        assert_eq!(round(d("1234.5"), "JPY").to_string(), "1235");
        assert_eq!(round(d("0.1") + d("0.2"), "USD"), d("0.30"));
        assert_eq!(format(d("7.5"), "EUR"), "7.50 EUR");
    }
}
