//! Outgoing mail: a row per message, written in the decision's transaction, sent afterwards.

use rusqlite::{Connection, params};
use time::OffsetDateTime;

use super::{Result, ts};

pub struct OutboxRow {
    pub id: i64,
    pub message_id: String,
    pub raw: Vec<u8>,
}

#[allow(clippy::too_many_arguments)]
pub fn insert_outbox(
    tx: &Connection,
    message_id: &str,
    order_ref: Option<&str>,
    to_addrs: &str,
    to_customer: bool,
    subject: &str,
    template: &str,
    raw: &[u8],
    now: OffsetDateTime,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO outbox (message_id, order_ref, to_addrs, to_customer, subject, template, raw, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![message_id, order_ref, to_addrs, to_customer, subject, template, raw, ts(now)])?;
    Ok(())
}

/// Automatic replies to `to_addr` since `since`, for the loop cap.
pub fn count_recent_replies(
    conn: &Connection,
    to_addr: &str,
    since: OffsetDateTime,
) -> Result<u32> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM outbox WHERE to_addrs = ?1 AND to_customer = 1 AND created_at >= ?2")?
        .query_row(params![to_addr, ts(since)], |r| r.get(0))?)
}

pub fn pending_outbox(conn: &Connection, limit: usize) -> Result<Vec<OutboxRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, message_id, raw FROM outbox WHERE status IN ('pending', 'sending') ORDER BY id LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok(OutboxRow {
            id: r.get(0)?,
            message_id: r.get(1)?,
            raw: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn mark_sent(conn: &Connection, id: i64, now: OffsetDateTime) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET status = 'sent', sent_at = ?2, attempts = attempts + 1 WHERE id = ?1",
    )?
    .execute(params![id, ts(now)])?;
    Ok(())
}

/// The text of the first quote sent for an order (for the demo's printout).
pub fn quote_text(conn: &Connection, order_ref: &str) -> Result<Option<String>> {
    use rusqlite::OptionalExtension;
    let raw: Option<Vec<u8>> = conn
        .prepare_cached("SELECT raw FROM outbox WHERE order_ref = ?1 AND template = 'quote' ORDER BY id LIMIT 1")?
        .query_row([order_ref], |r| r.get(0))
        .optional()?;
    Ok(raw.and_then(|r| {
        let msg = mail_parser::MessageParser::default().parse(&r)?;
        msg.body_text(0).map(|t| t.into_owned())
    }))
}
