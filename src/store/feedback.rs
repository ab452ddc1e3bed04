//! Customers' feedback on their orders, as the books keep it (`core::feedback`).

use rusqlite::{Connection, params};
use serde::Serialize;
use time::OffsetDateTime;

use super::{Result, StoreError, ts};
use crate::core::decision::FeedbackEntry;
use crate::core::order::Order;
use crate::mail::read::sha256_hex;

/// A row of `feedback`, as the books, the export and `verify` read it.
#[derive(Debug, Clone, Serialize)]
pub struct FeedbackRow {
    pub at: String,
    pub order_ref: String,
    pub message_id: String,
    pub text: String,
    pub rating: Option<u8>,
}

pub const FEEDBACK_COLUMNS: &str = "at, order_ref, message_id, text, rating";

impl FeedbackRow {
    /// Read from a row selected with `FEEDBACK_COLUMNS` starting at column `at`.
    pub fn from_row(r: &rusqlite::Row, at: usize) -> rusqlite::Result<FeedbackRow> {
        Ok(FeedbackRow {
            at: r.get(at)?,
            order_ref: r.get(at + 1)?,
            message_id: r.get(at + 2)?,
            text: r.get(at + 3)?,
            rating: r.get(at + 4)?,
        })
    }

    /// The SHA-256 of the row as a JSON array in column order (what the chain holds).
    pub fn digest(&self) -> String {
        let fields = serde_json::json!([
            self.at,
            self.order_ref,
            self.message_id,
            self.text,
            self.rating
        ]);
        sha256_hex(fields.to_string().as_bytes())
    }
}

pub fn insert_feedback(
    tx: &Connection,
    entry: &FeedbackEntry,
    message_id: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let row = FeedbackRow {
        at: ts(now),
        order_ref: entry.order_ref.clone(),
        message_id: message_id.to_string(),
        text: entry.text.clone(),
        rating: entry.rating,
    };
    tx.prepare_cached(
        "INSERT INTO feedback (at, order_ref, message_id, text, rating) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        row.at,
        row.order_ref,
        row.message_id,
        row.text,
        row.rating
    ])?;
    let id = tx.last_insert_rowid();
    let detail = serde_json::json!({ "row": id, "rating": row.rating, "sha256": row.digest() });
    super::insert_event(
        tx,
        now,
        Some(&row.order_ref),
        Some(message_id),
        "feedback_recorded",
        &detail,
    )
}

/// Feedback with its order's customer, oldest first: `mailcart feedback`.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub order: String,
    pub customer: String,
    pub at: String,
    pub rating: Option<u8>,
    pub text: String,
}

pub fn list_feedback(conn: &Connection) -> Result<Vec<Listed>> {
    let mut stmt = conn.prepare(
        "SELECT f.order_ref, coalesce(o.customer_email, ''), f.at, f.rating, f.text
         FROM feedback f LEFT JOIN orders o ON o.reference = f.order_ref ORDER BY f.id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Listed {
            order: r.get(0)?,
            customer: r.get(1)?,
            at: r.get(2)?,
            rating: r.get(3)?,
            text: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Shipped orders not yet asked for feedback and changed since `since` (an order changes
/// when it ships, so none shipped later is left out), each with whether its customer asked to
/// return it: the timer's candidates.
pub fn awaiting_feedback_request(
    conn: &Connection,
    since: OffsetDateTime,
) -> Result<Vec<(Order, bool)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT o.reference, o.doc,
                EXISTS(SELECT 1 FROM events e WHERE e.order_ref = o.reference AND e.kind = 'return_requested')
         FROM orders o
         WHERE o.state = 'shipped' AND o.updated_at >= ?1
           AND coalesce(json_extract(o.doc, '$.feedback_requested'), 0) = 0
         ORDER BY o.created_at",
    )?;
    let rows = stmt.query_map([ts(since)], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, bool>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (reference, doc, returned) = row?;
        let order = serde_json::from_str(&doc)
            .map_err(|e| StoreError::Corrupt(format!("order {reference}: {e}")))?;
        out.push((order, returned));
    }
    Ok(out)
}

/// Whether one of these Message-IDs is a feedback request of ours.
pub fn answers_feedback_request<'a>(
    conn: &Connection,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<bool> {
    let mut stmt = conn.prepare_cached(
        "SELECT EXISTS(SELECT 1 FROM outbox WHERE message_id = ?1 AND template = 'feedback_request')",
    )?;
    for id in ids {
        if stmt.query_row([id], |r| r.get::<_, bool>(0))? {
            return Ok(true);
        }
    }
    Ok(false)
}
