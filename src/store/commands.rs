//! Tokens of the requests we send sellers, which their replies carry back.

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Result, StoreError, ts};
use crate::core::decision::{CommandToken, Purpose};

/// The request this token was issued in: its order and the held message it is about, if any.
pub struct Request<'a> {
    pub order_ref: Option<&'a str>,
    pub held_message: Option<&'a str>,
    pub purpose: Purpose,
    pub seller: &'a str,
    pub expires_at: OffsetDateTime,
}

pub fn insert_command_token(
    tx: &Connection,
    message_id: &str,
    request: &Request,
    now: OffsetDateTime,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO command_tokens (message_id, order_ref, purpose, seller, created_at, expires_at, held_message)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        message_id,
        request.order_ref,
        request.purpose.as_str(),
        request.seller,
        ts(now),
        ts(request.expires_at),
        request.held_message
    ])?;
    Ok(())
}

/// The first of `ids` (a message's In-Reply-To and References) that is one of our requests.
pub fn find_command_token<'a>(
    conn: &Connection,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<Option<CommandToken>> {
    let mut stmt = conn.prepare_cached(
        "SELECT message_id, order_ref, purpose, seller, expires_at, used_at IS NOT NULL, held_message
         FROM command_tokens WHERE message_id = ?1",
    )?;
    for id in ids {
        let row = stmt
            .query_row([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, bool>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            })
            .optional()?;
        if let Some((message_id, order_ref, purpose, seller, expires_at, used, held)) = row {
            let corrupt =
                |what: &str| StoreError::Corrupt(format!("command token {message_id}: {what}"));
            return Ok(Some(CommandToken {
                purpose: Purpose::parse(&purpose).ok_or_else(|| corrupt("purpose"))?,
                expires_at: OffsetDateTime::parse(&expires_at, &Rfc3339)
                    .map_err(|_| corrupt("expiry"))?,
                message_id,
                order_ref,
                held,
                seller,
                used,
            }));
        }
    }
    Ok(None)
}

/// A command was carried out: every request of this order and purpose is answered.
pub fn retire_command_tokens(
    tx: &Connection,
    order_ref: &str,
    purpose: Purpose,
    used_by: &str,
    now: OffsetDateTime,
) -> Result<()> {
    tx.prepare_cached(
        "UPDATE command_tokens SET used_at = ?3, used_by = ?4
         WHERE order_ref = ?1 AND purpose = ?2 AND used_at IS NULL",
    )?
    .execute(params![order_ref, purpose.as_str(), ts(now), used_by])?;
    Ok(())
}

/// A held message as stored: its From address, subject and raw copy.
pub struct HeldRow {
    pub from_addr: Option<String>,
    pub subject: String,
    pub raw: Vec<u8>,
}

/// The held message `message_id` as an answer to it needs it (the raw copy gives its Reply-To
/// and References). None when it is not stored.
pub fn held_message(conn: &Connection, message_id: &str) -> Result<Option<HeldRow>> {
    Ok(conn
        .prepare_cached(
            "SELECT from_addr, COALESCE(subject, ''), COALESCE(raw, X'') FROM messages
             WHERE message_id = ?1 AND duplicate_of IS NULL ORDER BY id LIMIT 1",
        )?
        .query_row([message_id], |r| {
            Ok(HeldRow {
                from_addr: r.get(0)?,
                subject: r.get(1)?,
                raw: r.get(2)?,
            })
        })
        .optional()?)
}

/// A seller dealt with a held message by email (`note` says how): it leaves `review`, the
/// event is filed with its order, and every alert about it is answered.
pub fn resolve_held(
    tx: &Connection,
    held: &str,
    by: &str,
    note: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let row: Option<(i64, Option<String>)> = tx
        .prepare_cached(
            "SELECT id, order_ref FROM messages
             WHERE message_id = ?1 AND attention IS NOT NULL AND resolved_at IS NULL",
        )?
        .query_row([held], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    if let Some((id, order_ref)) = row {
        tx.prepare_cached("UPDATE messages SET resolved_at = ?2 WHERE id = ?1")?
            .execute(params![id, ts(now)])?;
        let detail = serde_json::json!({ "message": id, "note": note, "by": by });
        super::insert_event(
            tx,
            now,
            order_ref.as_deref(),
            Some(held),
            "held_message_resolved",
            &detail,
        )?;
    }
    retire_held_tokens(tx, held, by, now)
}

/// Every alert about `held` is answered (by the Message-ID `used_by`, or "operator").
pub fn retire_held_tokens(
    tx: &Connection,
    held: &str,
    used_by: &str,
    now: OffsetDateTime,
) -> Result<()> {
    tx.prepare_cached(
        "UPDATE command_tokens SET used_at = ?2, used_by = ?3
         WHERE held_message = ?1 AND used_at IS NULL",
    )?
    .execute(params![held, ts(now), used_by])?;
    Ok(())
}
