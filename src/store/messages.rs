//! Inbound messages, stored raw before anything is decided on them.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use time::OffsetDateTime;

use super::{Result, ts};

pub struct StoredMessage<'a> {
    pub message_id: &'a str,
    pub sha256: &'a str,
    pub from_addr: Option<&'a str>,
    pub subject: &'a str,
    pub raw: &'a [u8],
}

pub fn message_exists_by_hash(conn: &Connection, sha256: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM messages WHERE sha256 = ?1")?
        .exists([sha256])?)
}

/// The row of an earlier message with this Message-ID, if any.
pub fn message_id_seen(conn: &Connection, message_id: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT id FROM messages WHERE message_id = ?1 AND duplicate_of IS NULL ORDER BY id LIMIT 1")?
        .query_row([message_id], |r| r.get(0))
        .optional()?)
}

/// The first copy of this message was erased or purged: a later copy must not bring it back.
pub fn message_gone(conn: &Connection, row: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT erased_at IS NOT NULL OR purged_at IS NOT NULL FROM messages WHERE id = ?1",
        )?
        .query_row([row], |r| r.get(0))
        .optional()?
        .unwrap_or(false))
}

/// The order a stored message was filed under, if any.
pub fn message_order_ref(conn: &Connection, row: i64) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT order_ref FROM messages WHERE id = ?1")?
        .query_row([row], |r| r.get(0))
        .optional()?
        .flatten())
}

pub fn insert_message(
    tx: &Connection,
    m: &StoredMessage,
    now: OffsetDateTime,
    duplicate_of: Option<i64>,
) -> Result<i64> {
    tx.prepare_cached(
        "INSERT INTO messages (message_id, sha256, received_at, from_addr, subject, duplicate_of, raw)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![m.message_id, m.sha256, ts(now), m.from_addr, m.subject, duplicate_of, m.raw])?;
    let row = tx.last_insert_rowid();
    // The chain holds the hash of every raw copy: `verify` checks each against it.
    let detail = serde_json::json!({ "row": row, "sha256": m.sha256, "direction": "in" });
    super::insert_event(tx, now, None, Some(m.message_id), "message_stored", &detail)?;
    Ok(row)
}

/// What became of a message: its kind, order, why a person must look; and what the loop caps
/// count of it (`core::echo`): its text's fingerprint, and whether it echoed and was answered.
pub fn update_message(
    tx: &Connection,
    id: i64,
    kind: &str,
    order_ref: Option<&str>,
    attention: Option<&str>,
    text_hash: Option<&str>,
    echo: Option<&str>,
) -> Result<()> {
    tx.prepare_cached(
        "UPDATE messages SET kind = ?2, order_ref = ?3, attention = ?4, text_hash = ?5, echo = ?6
         WHERE id = ?1",
    )?
    .execute(params![id, kind, order_ref, attention, text_hash, echo])?;
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct HeldMessage {
    pub id: i64,
    pub received_at: String,
    pub from: Option<String>,
    pub subject: Option<String>,
    pub kind: Option<String>,
    pub order_ref: Option<String>,
    pub reason: String,
}

/// Messages waiting for a person, oldest first.
/// Messages never answered for what they are (spam, bulk, automatic replies, spam
/// complaints), counted by kind.
pub fn unanswered_by_kind(conn: &Connection) -> Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare(
        "SELECT kind, COUNT(*) FROM messages
         WHERE kind IN ('spam', 'bulk', 'auto_reply', 'spam_complaint')
         GROUP BY kind ORDER BY kind",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn held_messages(conn: &Connection) -> Result<Vec<HeldMessage>> {
    let mut stmt = conn.prepare(
        "SELECT id, received_at, from_addr, subject, kind, order_ref, attention FROM messages
         WHERE attention IS NOT NULL AND resolved_at IS NULL ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(HeldMessage {
            id: r.get(0)?,
            received_at: r.get(1)?,
            from: r.get(2)?,
            subject: r.get(3)?,
            kind: r.get(4)?,
            order_ref: r.get(5)?,
            reason: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A person has dealt with a held message; returns false when there is no such held message.
pub fn resolve_message(tx: &Connection, id: i64, now: OffsetDateTime, note: &str) -> Result<bool> {
    let changed = tx
        .prepare_cached("UPDATE messages SET resolved_at = ?2 WHERE id = ?1 AND attention IS NOT NULL AND resolved_at IS NULL")?
        .execute(params![id, ts(now)])?;
    if changed == 0 {
        return Ok(false);
    }
    let (message_id, order_ref): (String, Option<String>) = tx.query_row(
        "SELECT message_id, order_ref FROM messages WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    // The alerts about it cannot be answered any more.
    super::commands::retire_held_tokens(tx, &message_id, "operator", now)?;
    let detail = serde_json::json!({ "message": id, "note": note, "by": "operator" });
    super::insert_event(
        tx,
        now,
        order_ref.as_deref(),
        Some(&message_id),
        "held_message_resolved",
        &detail,
    )?;
    Ok(true)
}

/// Messages of `kind` received since `since` (spam, for the digest).
pub fn count_kind_since(conn: &Connection, kind: &str, since: OffsetDateTime) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached("SELECT count(*) FROM messages WHERE kind = ?1 AND received_at >= ?2")?
        .query_row(params![kind, ts(since)], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}
