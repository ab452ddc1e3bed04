//! Reading a payment notice: the order reference, amount, currency, payer and transaction id,
//! from the shapes PayPal-, Stripe- and bank-style notices take. What is not found is `None`,
//! never guessed: a notice without a readable amount is put to a seller.

use std::sync::LazyLock;

use regex::Regex;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentNotice {
    /// Our order reference, as we write it, when the notice names one (in any of the ways
    /// `core::reference` reads).
    pub reference: Option<String>,
    /// A reference written with a check symbol that does not hold, as written: a typo, matched
    /// to no order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub miswritten: Option<String>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub amount: Option<Decimal>,
    /// ISO 4217.
    pub currency: Option<String>,
    pub payer: Option<String>,
    pub transaction_id: Option<String>,
}

/// A notice the sellers were asked about (it named no order; amount and payer fitted one):
/// what a seller's `paid` then confirms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProposedPayment {
    pub provider: String,
    pub transaction_id: Option<String>,
    pub payer: Option<String>,
    pub amount: Option<Decimal>,
}

/// A sum of money as notices write it: `$46.88 USD`, `USD 46.88`, `46,88 €`, `EUR 1.234,56`.
const MONEY: &str = r"(?:(?P<pre>[A-Z]{3})\s*)?(?P<sym>[$€£¥])?\s*(?P<num>\d{1,3}(?:[.,' ]\d{3})+(?:[.,]\d{1,3})?|\d+(?:[.,]\d{1,3})?)(?:\s*(?P<sym2>[$€£¥]))?(?:\s*(?P<post>[A-Z]{3})\b)?";

static AMOUNT_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?im)^\s*(?:amount received|amount paid|payment amount|gross amount|amount|total paid|betrag|montant|importe)\s*[:=]?\s*{MONEY}"
    ))
    .unwrap()
});
static AMOUNT_PHRASE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)(?:received a payment of|received|sent you|payment of|transfer of)\s+{MONEY}"
    ))
    .unwrap()
});
static TRANSACTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^\s*(?:transaction id|transaction reference|transaction number|payment id|charge id|reference number|transaktions-?id|end-to-end(?:-| )id)\s*[:#]?\s*([A-Za-z0-9][A-Za-z0-9_\-]{5,63})\b")
        .unwrap()
});
static PAYER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^\s*(?:payer|customer|ordering party|sender|from|paid by|auftraggeber|donneur d'ordre)\s*:\s*(.{1,120}?)\s*$")
        .unwrap()
});
static PAYER_PHRASE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bfrom\s+([^\n()]{1,80}?)\s*\(([^()\s]+@[^()\s]+)\)").unwrap()
});
/// "Pat Okafor sent you $116.00", "a payment of $116.00 USD from pat@example.test."
static PAYER_SENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^\s*([^\n]{1,80}?)\s+sent you\b|\bpayment of [^\n]{1,40}? from ([^\s@]+@[^\s@]+?)\.?(?:\s|$)").unwrap()
});

/// Read a notice's subject and text. `prefix` is the shop's reference prefix: other codes of
/// the same shape (a bank's `TRX-20261201`) are not our references.
pub fn read_notice(subject: &str, text: &str, prefix: &str) -> PaymentNotice {
    let mention = super::reference::named(&[subject, text], prefix);
    let reference = mention.as_ref().and_then(|m| m.readings.first().cloned());
    let miswritten = mention.filter(|m| m.check_failed).map(|m| m.written);
    let (amount, currency) = AMOUNT_LINE
        .captures(text)
        .or_else(|| AMOUNT_PHRASE.captures(text))
        .or_else(|| AMOUNT_PHRASE.captures(subject))
        .map(|c| money(&c))
        .unwrap_or((None, None));
    let transaction_id = TRANSACTION.captures(text).map(|c| c[1].to_string());
    let payer = PAYER
        .captures(text)
        .map(|c| c[1].to_string())
        .or_else(|| {
            PAYER_PHRASE
                .captures(text)
                .map(|c| format!("{} <{}>", c[1].trim(), &c[2]))
        })
        .or_else(|| {
            PAYER_SENT
                .captures(text)
                .and_then(|c| c.get(1).or_else(|| c.get(2)))
                .map(|m| m.as_str().trim().to_string())
        });
    PaymentNotice {
        reference,
        miswritten,
        amount,
        currency,
        payer,
        transaction_id,
    }
}

fn money(c: &regex::Captures) -> (Option<Decimal>, Option<String>) {
    let code = c
        .name("pre")
        .or_else(|| c.name("post"))
        .map(|m| m.as_str().to_string())
        .filter(|code| is_currency_code(code));
    let symbol = c
        .name("sym")
        .or_else(|| c.name("sym2"))
        .and_then(|m| match m.as_str() {
            "$" => Some("USD"),
            "€" => Some("EUR"),
            "£" => Some("GBP"),
            "¥" => Some("JPY"),
            _ => None,
        });
    let currency = code.or_else(|| symbol.map(str::to_string));
    (parse_number(&c["num"]), currency)
}

/// Three capitals that are no currency ("USD" is; "THE", "FEE" are not worth a lookup table
/// here: the codes notices use).
fn is_currency_code(code: &str) -> bool {
    const CODES: &[&str] = &[
        "USD", "EUR", "GBP", "CAD", "AUD", "NZD", "CHF", "JPY", "SEK", "NOK", "DKK", "PLN", "CZK",
        "HUF", "MXN", "BRL", "INR", "SGD", "HKD", "CNY", "ZAR",
    ];
    CODES.contains(&code)
}

/// `1,234.56`, `1.234,56`, `1 234,56`, `46.88`, `46,88`, `1234`: the last separator followed by
/// one to two digits (three for a few currencies is written with a dot, so three digits after
/// a lone separator read as thousands) is the decimal point.
pub fn parse_number(s: &str) -> Option<Decimal> {
    let s = s.trim();
    let last_sep = s.rfind(['.', ',']);
    let (int_part, frac_part) = match last_sep {
        Some(i) if s.len() - i - 1 <= 2 => (&s[..i], &s[i + 1..]),
        _ => (s, ""),
    };
    let digits: String = int_part.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return None;
    }
    let text = if frac_part.is_empty() {
        digits
    } else {
        format!("{digits}.{frac_part}")
    };
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Option<Decimal> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn numbers_in_every_notation() {
        assert_eq!(parse_number("46.88"), d("46.88"));
        assert_eq!(parse_number("46,88"), d("46.88"));
        assert_eq!(parse_number("1,234.56"), d("1234.56"));
        assert_eq!(parse_number("1.234,56"), d("1234.56"));
        assert_eq!(parse_number("1 234,56"), d("1234.56"));
        assert_eq!(parse_number("1,234"), d("1234"));
        assert_eq!(parse_number("1234"), d("1234"));
        assert_eq!(parse_number("7.5"), d("7.5"));
    }

    #[test]
    fn paypal_shape() {
        let text = "Hello Linden Clay Studio,\n\nYou received a payment of $46.88 USD from Pat Okafor (pat@example.test)\n\nTransaction ID: 7RX12345AB678901C\n\nNote from Pat Okafor:\nMC-7K2QXD9F\n\nAmount received  $46.88 USD\nFee             -$1.86 USD\nNet amount       $45.02 USD\n";
        let n = read_notice("You've received a payment", text, "MC");
        assert_eq!(n.reference.as_deref(), Some("MC-7K2QXD9F"));
        assert_eq!(n.amount, d("46.88"));
        assert_eq!(n.currency.as_deref(), Some("USD"));
        assert_eq!(n.transaction_id.as_deref(), Some("7RX12345AB678901C"));
        assert_eq!(n.payer.as_deref(), Some("Pat Okafor <pat@example.test>"));
    }

    #[test]
    fn bank_shape_ignores_codes_of_other_prefixes() {
        let text = "Credit transfer received\n\nAmount: EUR 1.234,50\nOrdering party: Lee Chen\nRemittance information: order mc-7k2qxd9f thanks\nTransaction reference: TRX-20261201\n";
        let n = read_notice("Incoming credit transfer TRX-20261201", text, "MC");
        assert_eq!(n.reference.as_deref(), Some("MC-7K2QXD9F"));
        assert_eq!(n.amount, d("1234.50"));
        assert_eq!(n.currency.as_deref(), Some("EUR"));
        assert_eq!(n.transaction_id.as_deref(), Some("TRX-20261201"));
        assert_eq!(n.payer.as_deref(), Some("Lee Chen"));
    }

    #[test]
    fn nothing_is_guessed() {
        let n = read_notice("Payment received", "Thanks for using us.", "MC");
        assert_eq!(n, PaymentNotice::default());
    }
}
