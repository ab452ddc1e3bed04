//! Payment notices as the books keep them.

use rusqlite::{Connection, params};
use time::OffsetDateTime;

use super::{Result, ts};
use crate::core::decide::PaymentEntry;

pub fn insert_payment(
    tx: &Connection,
    entry: &PaymentEntry,
    message_id: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let n = &entry.notice;
    tx.prepare_cached(
        "INSERT INTO payments (at, order_ref, message_id, provider, transaction_id, amount, currency, payer, outcome)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        ts(now),
        entry.order_ref,
        message_id,
        entry.provider,
        n.transaction_id,
        n.amount.map(|a| a.to_string()),
        n.currency,
        n.payer,
        entry.outcome
    ])?;
    Ok(())
}

/// Whether `provider` has told us of this transaction before.
pub fn transaction_seen(conn: &Connection, provider: &str, transaction_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM payments WHERE provider = ?1 AND transaction_id = ?2)",
        )?
        .query_row([provider, transaction_id], |r| r.get(0))?)
}
