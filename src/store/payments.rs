//! Payment notices as the books keep them.

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use super::{Result, ts};
use crate::core::decision::PaymentEntry;
use crate::core::payment::ProposedPayment;
use crate::mail::read::sha256_hex;

pub fn insert_payment(
    tx: &Connection,
    entry: &PaymentEntry,
    message_id: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let n = &entry.notice;
    let row = PaymentRow {
        at: ts(now),
        order_ref: entry.order_ref.clone(),
        message_id: message_id.to_string(),
        provider: entry.provider.to_string(),
        transaction_id: n.transaction_id.clone(),
        amount: n.amount.map(|a| a.to_string()),
        currency: n.currency.clone(),
        payer: n.payer.clone(),
        outcome: entry.outcome.to_string(),
    };
    tx.prepare_cached(
        "INSERT INTO payments (at, order_ref, message_id, provider, transaction_id, amount, currency, payer, outcome)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        row.at,
        row.order_ref,
        row.message_id,
        row.provider,
        row.transaction_id,
        row.amount,
        row.currency,
        row.payer,
        row.outcome
    ])?;
    let id = tx.last_insert_rowid();
    let detail = serde_json::json!({ "row": id, "outcome": row.outcome, "sha256": row.digest() });
    super::insert_event(
        tx,
        now,
        row.order_ref.as_deref(),
        Some(message_id),
        "payment_recorded",
        &detail,
    )?;
    Ok(())
}

/// A row of `payments`, as the books and `verify` read it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PaymentRow {
    pub at: String,
    pub order_ref: Option<String>,
    pub message_id: String,
    pub provider: String,
    pub transaction_id: Option<String>,
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub payer: Option<String>,
    pub outcome: String,
}

pub const PAYMENT_COLUMNS: &str =
    "at, order_ref, message_id, provider, transaction_id, amount, currency, payer, outcome";

impl PaymentRow {
    /// Read from a row selected with `PAYMENT_COLUMNS` starting at column `at`.
    pub fn from_row(r: &rusqlite::Row, at: usize) -> rusqlite::Result<PaymentRow> {
        Ok(PaymentRow {
            at: r.get(at)?,
            order_ref: r.get(at + 1)?,
            message_id: r.get(at + 2)?,
            provider: r.get(at + 3)?,
            transaction_id: r.get(at + 4)?,
            amount: r.get(at + 5)?,
            currency: r.get(at + 6)?,
            payer: r.get(at + 7)?,
            outcome: r.get(at + 8)?,
        })
    }

    /// The SHA-256 of the row as a JSON array in column order (what the chain holds).
    pub fn digest(&self) -> String {
        let fields = serde_json::json!([
            self.at,
            self.order_ref,
            self.message_id,
            self.provider,
            self.transaction_id,
            self.amount,
            self.currency,
            self.payer,
            self.outcome
        ]);
        sha256_hex(fields.to_string().as_bytes())
    }
}

/// The latest notice proposed to the sellers for `order_ref` (see `core::settle::propose`):
/// its payer and transaction id go with the payment a seller's `paid` confirms.
pub fn proposed_payment(conn: &Connection, order_ref: &str) -> Result<Option<ProposedPayment>> {
    Ok(conn
        .prepare_cached(
            "SELECT provider, transaction_id, payer, amount FROM payments
             WHERE order_ref = ?1 AND outcome = 'proposed' ORDER BY id DESC LIMIT 1",
        )?
        .query_row([order_ref], |r| {
            Ok(ProposedPayment {
                provider: r.get(0)?,
                transaction_id: r.get(1)?,
                payer: r.get(2)?,
                amount: r.get::<_, Option<String>>(3)?.and_then(|a| a.parse().ok()),
            })
        })
        .optional()?)
}

/// Whether `provider` has told us of this transaction before.
pub fn transaction_seen(conn: &Connection, provider: &str, transaction_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM payments WHERE provider = ?1 AND transaction_id = ?2)",
        )?
        .query_row([provider, transaction_id], |r| r.get(0))?)
}
