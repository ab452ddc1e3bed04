//! The loop breaker's pauses (see `core::reply_cap`), and the counts its caps compare.

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Result, StoreError, ts};
use crate::core::reply_cap::{ALL, ECHO_WINDOW_HOURS, Pause, PauseChange, RecentReplies};

fn parse(at: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(at, &Rfc3339)
        .map_err(|e| StoreError::Corrupt(format!("pause time {at:?}: {e}")))
}

fn pause(r: &rusqlite::Row) -> rusqlite::Result<(String, String, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn to_pause((scope, opened, held, reason): (String, String, String, String)) -> Result<Pause> {
    Ok(Pause {
        scope,
        opened_at: parse(&opened)?,
        last_held_at: parse(&held)?,
        reason,
    })
}

/// The pauses that may hold mail from `correspondent`: theirs and the one of all customers.
pub fn pauses_for(conn: &Connection, correspondent: &str) -> Result<Vec<Pause>> {
    let mut stmt = conn.prepare_cached(
        "SELECT scope, opened_at, last_held_at, reason FROM pauses WHERE scope IN (?1, ?2)",
    )?;
    let rows = stmt.query_map(params![ALL, correspondent.to_ascii_lowercase()], pause)?;
    rows.map(|r| to_pause(r?)).collect()
}

/// Every pause on record, lifted ones included (the caller knows `pause_hours`).
pub fn all_pauses(conn: &Connection) -> Result<Vec<Pause>> {
    let mut stmt = conn.prepare_cached(
        "SELECT scope, opened_at, last_held_at, reason FROM pauses ORDER BY scope",
    )?;
    let rows = stmt.query_map([], pause)?;
    rows.map(|r| to_pause(r?)).collect()
}

pub fn apply_pause(conn: &Connection, change: &PauseChange, now: OffsetDateTime) -> Result<()> {
    match change {
        PauseChange::Open { scope, reason } => conn
            .prepare_cached(
                "INSERT OR REPLACE INTO pauses (scope, opened_at, last_held_at, reason) VALUES (?1, ?2, ?2, ?3)",
            )?
            .execute(params![scope, ts(now), reason])?,
        PauseChange::Held { scope } => conn
            .prepare_cached("UPDATE pauses SET last_held_at = ?2 WHERE scope = ?1")?
            .execute(params![scope, ts(now)])?,
    };
    Ok(())
}

/// Lift a pause by hand; whether there was one. A person has judged the address: the caps
/// count it afresh from `now`.
pub fn resume(conn: &Connection, scope: &str, now: OffsetDateTime) -> Result<bool> {
    let scope = scope.to_ascii_lowercase();
    let lifted = conn
        .prepare_cached("DELETE FROM pauses WHERE scope = ?1")?
        .execute([&scope])?
        > 0;
    if lifted {
        conn.prepare_cached("INSERT OR REPLACE INTO resumes (scope, at) VALUES (?1, ?2)")?
            .execute(params![scope, ts(now)])?;
    }
    Ok(lifted)
}

/// When a person last resumed `scope`, as stored.
fn resumed_at(conn: &Connection, scope: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT at FROM resumes WHERE scope = ?1")?
        .query_row([scope.to_ascii_lowercase()], |r| r.get(0))
        .optional()?)
}

/// Automatic replies to all customers since `since`, counted no further than `limit`: the
/// caller only asks whether a cap is passed, and an hour of a busy shop is many rows.
pub fn count_all_recent_replies(
    conn: &Connection,
    since: OffsetDateTime,
    limit: u32,
) -> Result<u32> {
    Ok(conn
        .prepare_cached(
            "SELECT COUNT(*) FROM (SELECT 1 FROM outbox WHERE created_at >= ?1 AND to_customer = 1 LIMIT ?2)",
        )?
        .query_row(params![ts(since), limit], |r| r.get(0))?)
}

/// Replies to `to_addr` in the last hour and the last 24 hours before `now`, and no earlier
/// than `floor`.
fn recent_replies_to(
    conn: &Connection,
    to_addr: &str,
    now: OffsetDateTime,
    floor: &str,
) -> Result<(u32, u32)> {
    let hour = ts(now - time::Duration::hours(1)).max(floor.to_string());
    let day = ts(now - time::Duration::hours(24)).max(floor.to_string());
    Ok(conn
        .prepare_cached(
            "SELECT COALESCE(SUM(created_at >= ?2), 0), COUNT(*) FROM outbox
             WHERE to_addrs = ?1 AND to_customer = 1 AND created_at >= ?3",
        )?
        .query_row(params![to_addr, hour, day], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

/// From `sender` in the echo window before message `row`: earlier messages with the text
/// `text_hash`, and (no earlier than `floor`) echoes answered.
fn recent_echoes(
    conn: &Connection,
    sender: &str,
    text_hash: Option<&str>,
    row: i64,
    now: OffsetDateTime,
    floor: &str,
) -> Result<(u32, u32)> {
    let since = ts(now - time::Duration::hours(ECHO_WINDOW_HOURS));
    Ok(conn
        .prepare_cached(
            "SELECT COALESCE(SUM(text_hash = ?2), 0), COALESCE(SUM(echo IS NOT NULL AND received_at >= ?5), 0)
             FROM messages WHERE lower(from_addr) = ?1 AND from_addr IS NOT NULL
               AND received_at >= ?3 AND id < ?4",
        )?
        .query_row(
            params![sender.to_ascii_lowercase(), text_hash, since, row, since.clone().max(floor.to_string())],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
}

/// What the caps need to know of one message: from `sender` (its From) with the text
/// `text_hash`, stored as `row`, answered at `to_addr`; given the batch's running count of
/// replies to all customers.
pub struct Asking<'a> {
    pub to_addr: &'a str,
    pub sender: &'a str,
    pub text_hash: Option<&'a str>,
    pub row: i64,
}

/// The counts for one message.
pub fn recent_replies(
    conn: &Connection,
    asking: &Asking,
    now: OffsetDateTime,
    to_all_hour: u32,
) -> Result<RecentReplies> {
    let floor = resumed_at(conn, asking.to_addr)?.unwrap_or_default();
    let (to_them_hour, to_them_day) = recent_replies_to(conn, asking.to_addr, now, &floor)?;
    let (same_text, echoes_day) = if asking.sender.is_empty() {
        (0, 0)
    } else {
        recent_echoes(
            conn,
            asking.sender,
            asking.text_hash,
            asking.row,
            now,
            &floor,
        )?
    };
    Ok(RecentReplies {
        to_them_hour,
        to_them_day,
        to_all_hour,
        same_text,
        echoes_day,
    })
}
