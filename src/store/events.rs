//! The append-only event log, hash-chained (see `chain`).

use rusqlite::{Connection, params};
use time::OffsetDateTime;

use super::chain::{Chain, event_link, next_link};
use super::{Result, ts};
use crate::mail::read::sha256_hex;

pub fn insert_event(
    tx: &Connection,
    now: OffsetDateTime,
    order_ref: Option<&str>,
    message_id: Option<&str>,
    kind: &str,
    detail: &serde_json::Value,
) -> Result<()> {
    insert_event_id(tx, now, order_ref, message_id, kind, detail).map(|_| ())
}

/// As `insert_event`, giving the new event's id.
pub fn insert_event_id(
    tx: &Connection,
    now: OffsetDateTime,
    order_ref: Option<&str>,
    message_id: Option<&str>,
    kind: &str,
    detail: &serde_json::Value,
) -> Result<i64> {
    let detail = detail.to_string();
    let detail_sha = sha256_hex(detail.as_bytes());
    let (id, prev) = next_link(tx, Chain::Events)?;
    let at = ts(now);
    let hash = event_link(&prev, id, &at, order_ref, message_id, kind, &detail_sha);
    tx.prepare_cached(
        "INSERT INTO events (id, at, order_ref, message_id, kind, detail, detail_sha256, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![id, at, order_ref, message_id, kind, detail, detail_sha, prev, hash])?;
    Ok(id)
}
