//! The record of connection problems a person has to mend (see `crate::problem`).

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use time::OffsetDateTime;

use super::{Result, ts};

/// A problem as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProblemRow {
    pub id: i64,
    pub server: String,
    pub kind: String,
    pub words: String,
    pub fix: String,
    pub since: String,
    pub last_at: String,
    pub tries: i64,
    /// How the sellers were told, or why they were not.
    pub told: String,
    pub cleared_at: Option<String>,
}

const COLUMNS: &str = "id, server, kind, words, fix, since, last_at, tries, told, cleared_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ProblemRow> {
    Ok(ProblemRow {
        id: r.get(0)?,
        server: r.get(1)?,
        kind: r.get(2)?,
        words: r.get(3)?,
        fix: r.get(4)?,
        since: r.get(5)?,
        last_at: r.get(6)?,
        tries: r.get(7)?,
        told: r.get(8)?,
        cleared_at: r.get(9)?,
    })
}

/// The problem open for `server`, if any.
pub fn open_problem(conn: &Connection, server: &str) -> Result<Option<ProblemRow>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM problems WHERE server = ?1 AND cleared_at IS NULL"
        ))?
        .query_row([server], row)
        .optional()?)
}

/// Every open problem, oldest first.
pub fn open_problems(conn: &Connection) -> Result<Vec<ProblemRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM problems WHERE cleared_at IS NULL ORDER BY id"
    ))?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[allow(clippy::too_many_arguments)]
pub fn insert_problem(
    tx: &Connection,
    server: &str,
    kind: &str,
    words: &str,
    fix: &str,
    told: &str,
    now: OffsetDateTime,
) -> Result<i64> {
    tx.prepare_cached(
        "INSERT INTO problems (server, kind, words, fix, since, last_at, tries, told)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, 1, ?6)",
    )?
    .execute(params![server, kind, words, fix, ts(now), told])?;
    Ok(tx.last_insert_rowid())
}

/// One more failed try while the problem is open; `words` replaces the last seen when given.
pub fn problem_again(
    tx: &Connection,
    id: i64,
    words: Option<&str>,
    now: OffsetDateTime,
) -> Result<()> {
    tx.prepare_cached(
        "UPDATE problems SET tries = tries + 1, last_at = ?2, words = COALESCE(?3, words)
         WHERE id = ?1",
    )?
    .execute(params![id, ts(now), words])?;
    Ok(())
}

pub fn clear_problem(tx: &Connection, id: i64, now: OffsetDateTime) -> Result<()> {
    tx.prepare_cached("UPDATE problems SET cleared_at = ?2 WHERE id = ?1")?
        .execute(params![id, ts(now)])?;
    Ok(())
}
