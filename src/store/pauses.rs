//! The loop breaker's pauses (see `core::reply_cap`), and the counts its caps compare.

use rusqlite::{Connection, params};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Result, StoreError, ts};
use crate::core::reply_cap::{ALL, Pause, PauseChange, RecentReplies};

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

/// Lift a pause by hand; whether there was one.
pub fn resume(conn: &Connection, scope: &str) -> Result<bool> {
    let scope = scope.to_ascii_lowercase();
    Ok(conn
        .prepare_cached("DELETE FROM pauses WHERE scope = ?1")?
        .execute([&scope])?
        > 0)
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

/// Replies to `to_addr` in the last hour and the last 24 hours before `now`.
pub fn recent_replies_to(
    conn: &Connection,
    to_addr: &str,
    now: OffsetDateTime,
) -> Result<(u32, u32)> {
    let hour = ts(now - time::Duration::hours(1));
    let day = ts(now - time::Duration::hours(24));
    Ok(conn
        .prepare_cached(
            "SELECT COALESCE(SUM(created_at >= ?2), 0), COUNT(*) FROM outbox
             WHERE to_addrs = ?1 AND to_customer = 1 AND created_at >= ?3",
        )?
        .query_row(params![to_addr, hour, day], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

/// The counts for one message, given the batch's running count of replies to all customers.
pub fn recent_replies(
    conn: &Connection,
    to_addr: &str,
    now: OffsetDateTime,
    to_all_hour: u32,
) -> Result<RecentReplies> {
    let (to_them_hour, to_them_day) = recent_replies_to(conn, to_addr, now)?;
    Ok(RecentReplies {
        to_them_hour,
        to_them_day,
        to_all_hour,
    })
}
