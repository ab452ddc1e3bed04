//! The append-only event log.

use rusqlite::{Connection, params};
use time::OffsetDateTime;

use super::{Result, ts};

pub fn insert_event(
    tx: &Connection,
    now: OffsetDateTime,
    order_ref: Option<&str>,
    message_id: Option<&str>,
    kind: &str,
    detail: &serde_json::Value,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO events (at, order_ref, message_id, kind, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        ts(now),
        order_ref,
        message_id,
        kind,
        detail.to_string()
    ])?;
    Ok(())
}
