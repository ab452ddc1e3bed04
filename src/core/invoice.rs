//! An invoice or credit note as issued: every word and figure it prints, fixed when it is
//! issued. The record keeps this snapshot (not the order, which goes on changing), so that
//! `mailcart invoice` renders the same PDF byte for byte years later. Pure: the number and
//! the date come in from the store.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::money::round;
use super::order::Order;
use crate::config::Config;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceKind {
    Invoice,
    /// Cancels an invoice whose order was cancelled after payment; the invoice itself is
    /// never edited.
    CreditNote,
}

impl InvoiceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceKind::Invoice => "invoice",
            InvoiceKind::CreditNote => "credit_note",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub name: String,
    /// Postal address, one entry a line.
    pub address: Vec<String>,
    pub email: Option<String>,
    pub tax_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    /// The catalog name; empty for the shipping line, which the renderer labels.
    pub description: String,
    pub sku: Option<String>,
    pub quantity: u32,
    #[serde(with = "rust_decimal::serde::str")]
    pub unit_price: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub net: Decimal,
    /// E.g. 0.19 for 19 %.
    #[serde(with = "rust_decimal::serde::str")]
    pub tax_rate: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub tax: Decimal,
}

/// Money received, as the order's record has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaidLine {
    /// `YYYY-MM-DD`, UTC.
    pub date: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    /// Who told us of it (the bank's or provider's address, or the seller who confirmed it).
    pub provider: String,
    pub transaction_id: Option<String>,
    pub payer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceDoc {
    pub kind: InvoiceKind,
    pub number: String,
    /// The place in the shop's one sequence (invoices and credit notes share it).
    pub seq: i64,
    /// `YYYY-MM-DD`, UTC.
    pub issued: String,
    pub order_ref: String,
    /// Which label table prints it (`invoice::labels`).
    pub language: String,
    /// A credit note: the number of the invoice it cancels.
    pub cancels: Option<String>,
    pub seller: Party,
    pub customer: Party,
    pub currency: String,
    /// Goods first, then shipping when charged. A credit note's amounts are negative.
    pub lines: Vec<InvoiceLine>,
    #[serde(with = "rust_decimal::serde::str")]
    pub net: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub tax: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub total: Decimal,
    /// An exchange's credit, counted as paid.
    #[serde(with = "rust_decimal::serde::str")]
    pub credit: Decimal,
    /// For an invoice the money received; for a credit note, what goes back.
    pub paid: Vec<PaidLine>,
    #[serde(with = "rust_decimal::serde::str")]
    pub paid_total: Decimal,
}

/// What an invoice number looks like: the prefix, then the sequence in six digits at least.
pub fn invoice_number(prefix: &str, seq: i64) -> String {
    format!("{prefix}{seq:06}")
}

fn date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// The invoice for `order` as it stands (paid), numbered `seq`.
pub fn invoice(
    order: &Order,
    config: &Config,
    seq: i64,
    now: OffsetDateTime,
    language: &str,
) -> InvoiceDoc {
    let currency = order.currency.as_str();
    let t = &order.totals;
    let mut lines: Vec<InvoiceLine> = order
        .lines
        .iter()
        .filter(|l| l.quantity > 0)
        .map(|l| InvoiceLine {
            description: l.name.clone(),
            sku: Some(l.sku.clone()),
            quantity: l.quantity,
            unit_price: l.unit_price,
            net: l.line_total,
            tax_rate: t.tax_rate,
            tax: round(l.line_total * t.tax_rate, currency),
        })
        .collect();
    if !t.shipping.is_zero() {
        let rate = if config.tax.shipping_taxable {
            t.tax_rate
        } else {
            Decimal::ZERO
        };
        lines.push(InvoiceLine {
            description: String::new(),
            sku: None,
            quantity: 1,
            unit_price: t.shipping,
            net: t.shipping,
            tax_rate: rate,
            tax: round(t.shipping * rate, currency),
        });
    }
    // The order's tax is computed on the sum; rounded line by line it may differ by a minor
    // unit or two. The difference goes to the largest taxed line, so that the lines add up
    // to the totals the customer was quoted and paid.
    let diff = t.tax - lines.iter().map(|l| l.tax).sum::<Decimal>();
    if !diff.is_zero()
        && let Some(l) = lines
            .iter_mut()
            .filter(|l| !l.tax_rate.is_zero())
            .max_by_key(|l| l.net)
    {
        l.tax += diff;
    }
    let paid: Vec<PaidLine> = order
        .payments
        .iter()
        .map(|p| PaidLine {
            date: date(p.at),
            amount: p.amount,
            provider: p.provider.clone(),
            transaction_id: p.transaction_id.clone(),
            payer: p.payer.clone(),
        })
        .collect();
    let customer_name = order
        .customer
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| order.customer.email.clone());
    let address: Vec<String> = order
        .shipping_address
        .as_ref()
        .map(|a| split_lines(&a.text))
        .unwrap_or_default()
        .into_iter()
        // The address block often starts with the name printed above it.
        .skip_while(|l| l.eq_ignore_ascii_case(&customer_name))
        .collect();
    InvoiceDoc {
        kind: InvoiceKind::Invoice,
        number: invoice_number(&config.invoices.prefix, seq),
        seq,
        issued: date(now),
        order_ref: order.reference.clone(),
        language: language.to_string(),
        cancels: None,
        seller: Party {
            name: config.shop.name.clone(),
            address: split_lines(config.shop.legal_address.as_deref().unwrap_or("")),
            email: Some(config.shop.address.clone()),
            tax_id: config.shop.tax_id.clone(),
        },
        customer: Party {
            name: customer_name,
            address,
            email: Some(order.customer.email.clone()),
            tax_id: None,
        },
        currency: order.currency.clone(),
        net: t.subtotal + t.shipping,
        tax: t.tax,
        total: t.total,
        credit: order.credit,
        paid_total: order.paid(),
        paid,
        lines,
    }
}

/// The credit note cancelling `invoice` in full, numbered `seq`.
pub fn credit_note(
    invoice: &InvoiceDoc,
    prefix: &str,
    seq: i64,
    now: OffsetDateTime,
) -> InvoiceDoc {
    let mut note = invoice.clone();
    note.kind = InvoiceKind::CreditNote;
    note.number = invoice_number(prefix, seq);
    note.seq = seq;
    note.issued = date(now);
    note.cancels = Some(invoice.number.clone());
    // Zero stays zero: a "-0.00" would read as a typo.
    let neg = |d: Decimal| if d.is_zero() { d } else { -d };
    for l in &mut note.lines {
        l.unit_price = neg(l.unit_price);
        l.net = neg(l.net);
        l.tax = neg(l.tax);
    }
    note.net = neg(note.net);
    note.tax = neg(note.tax);
    note.total = neg(note.total);
    note
}

/// Lines of text as a customer or the config wrote them, without blanks or control
/// characters (which would print as boxes or move the pen).
fn split_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| {
            l.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect::<String>()
                .trim()
                .to_string()
        })
        .filter(|l| !l.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::inbound::Mailbox;
    use crate::core::order::{OrderLine, OrderState, Payment};
    use crate::core::pricing::Totals;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn paid_order() -> (Order, Config) {
        let config = Config::from_toml(
            include_str!("../../config.example.toml"),
            std::path::Path::new("x"),
        )
        .unwrap();
        let now = OffsetDateTime::from_unix_timestamp(1_796_000_000).unwrap();
        let mut o = Order::new(
            "MC-7".into(),
            Mailbox {
                name: Some("Zoë Ωmega 山田".into()),
                email: "z@example.org".into(),
            },
            "EUR",
            now,
        );
        o.state = OrderState::Paid;
        for (sku, q, p) in [("A", 3, "0.33"), ("B", 1, "0.33"), ("C", 1, "0.34")] {
            let unit = d(p);
            o.lines.push(OrderLine {
                sku: sku.into(),
                name: format!("Item {sku}"),
                quantity: q,
                requested: q,
                unit_price: unit,
                line_total: unit * Decimal::from(q),
            });
        }
        // 1.66 + 4.00 shipping at 19 %: 1.0754 -> 1.08 on the sum, but the lines' taxes
        // rounded one by one (0.19, 0.06, 0.06, 0.76) make 1.07.
        o.totals = Totals {
            subtotal: d("1.66"),
            shipping: d("4.00"),
            tax: d("1.08"),
            total: d("6.74"),
            tax_rate: d("0.19"),
        };
        o.payments.push(Payment {
            amount: d("6.74"),
            currency: "EUR".into(),
            transaction_id: Some("TX-1".into()),
            provider: "bank@example.org".into(),
            payer: Some("Zoe".into()),
            at: now,
        });
        (o, config)
    }

    #[test]
    fn lines_add_up_to_the_totals_paid() {
        let (order, mut config) = paid_order();
        config.tax.shipping_taxable = true;
        let now = OffsetDateTime::from_unix_timestamp(1_796_000_000).unwrap();
        let inv = invoice(&order, &config, 123, now, "en");
        assert_eq!(inv.number, "INV-000123");
        assert_eq!(inv.lines.len(), 4);
        assert_eq!(inv.lines.iter().map(|l| l.tax).sum::<Decimal>(), d("1.08"));
        assert_eq!(
            inv.lines[3].tax,
            d("0.77"),
            "the difference on the largest line"
        );
        assert_eq!(inv.lines.iter().map(|l| l.net).sum::<Decimal>(), inv.net);
        assert_eq!(inv.net + inv.tax, inv.total);
        assert_eq!(inv.paid_total, d("6.74"));
        let note = credit_note(&inv, "INV-", 124, now);
        assert_eq!(note.total, d("-6.74"));
        assert_eq!(note.cancels.as_deref(), Some("INV-000123"));
        assert_eq!(note.lines[0].net, d("-0.99"));
    }

    #[test]
    fn customer_text_loses_its_control_characters() {
        assert_eq!(
            split_lines("a\u{1b}[2Jb\n\n  c\r\n"),
            vec!["a [2Jb".to_string(), "c".to_string()]
        );
    }
}
