//! Tokens of the requests we send sellers, which their replies carry back.

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Result, StoreError, ts};
use crate::core::decision::{CommandToken, Purpose};

pub fn insert_command_token(
    tx: &Connection,
    message_id: &str,
    order_ref: &str,
    purpose: Purpose,
    seller: &str,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO command_tokens (message_id, order_ref, purpose, seller, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        message_id,
        order_ref,
        purpose.as_str(),
        seller,
        ts(now),
        ts(expires_at)
    ])?;
    Ok(())
}

/// The first of `ids` (a message's In-Reply-To and References) that is one of our requests.
pub fn find_command_token<'a>(
    conn: &Connection,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<Option<CommandToken>> {
    let mut stmt = conn.prepare_cached(
        "SELECT message_id, order_ref, purpose, seller, expires_at, used_at IS NOT NULL
         FROM command_tokens WHERE message_id = ?1",
    )?;
    for id in ids {
        let row = stmt
            .query_row([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, bool>(5)?,
                ))
            })
            .optional()?;
        if let Some((message_id, order_ref, purpose, seller, expires_at, used)) = row {
            let corrupt =
                |what: &str| StoreError::Corrupt(format!("command token {message_id}: {what}"));
            return Ok(Some(CommandToken {
                purpose: Purpose::parse(&purpose).ok_or_else(|| corrupt("purpose"))?,
                expires_at: OffsetDateTime::parse(&expires_at, &Rfc3339)
                    .map_err(|_| corrupt("expiry"))?,
                message_id,
                order_ref,
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
