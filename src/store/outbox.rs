//! Outgoing mail: a row per message, written in the decision's transaction, sent afterwards.

use rusqlite::{Connection, params};
use time::OffsetDateTime;

use super::{Result, ts};
use crate::mail::read::sha256_hex;

pub struct OutboxRow {
    pub id: i64,
    pub message_id: String,
    pub order_ref: Option<String>,
    /// Recipients, comma-separated.
    pub to_addrs: String,
    pub to_customer: bool,
    pub subject: String,
    pub template: String,
    pub attempts: i64,
    /// 'sending' means a send began and its outcome is unknown: resend with the same ID.
    pub status: String,
    pub raw: Vec<u8>,
}

impl OutboxRow {
    pub fn recipients(&self) -> Vec<&str> {
        self.to_addrs
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    }
}

const ROW: &str =
    "id, message_id, order_ref, to_addrs, to_customer, subject, template, attempts, status, raw";

fn row(r: &rusqlite::Row) -> rusqlite::Result<OutboxRow> {
    Ok(OutboxRow {
        id: r.get(0)?,
        message_id: r.get(1)?,
        order_ref: r.get(2)?,
        to_addrs: r.get(3)?,
        to_customer: r.get(4)?,
        subject: r.get(5)?,
        template: r.get(6)?,
        attempts: r.get(7)?,
        status: r.get(8)?,
        raw: r.get(9)?,
    })
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
    let sha256 = sha256_hex(raw);
    tx.prepare_cached(
        "INSERT INTO outbox (message_id, order_ref, to_addrs, to_customer, subject, template, raw, created_at, sha256)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![message_id, order_ref, to_addrs, to_customer, subject, template, raw, ts(now), sha256])?;
    let row = tx.last_insert_rowid();
    let detail = serde_json::json!({
        "template": template, "to": to_addrs, "outbox_message_id": message_id,
        "row": row, "sha256": sha256, "direction": "out",
    });
    super::insert_event(
        tx,
        now,
        order_ref,
        Some(message_id),
        "email_queued",
        &detail,
    )?;
    Ok(())
}

/// Emails of `template` queued since `since`, counted up to `limit`.
pub fn count_recent_template(
    conn: &Connection,
    template: &str,
    since: OffsetDateTime,
    limit: u32,
) -> Result<u32> {
    Ok(conn
        .prepare_cached(
            "SELECT COUNT(*) FROM (SELECT 1 FROM outbox WHERE created_at >= ?1 AND template = ?2 LIMIT ?3)",
        )?
        .query_row(params![ts(since), template, limit], |r| r.get(0))?)
}

pub fn outbox_has(conn: &Connection, message_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM outbox WHERE message_id = ?1)")?
        .query_row([message_id], |r| r.get(0))?)
}

/// Whether a once-only email whose Message-ID is `prefix` and a token was queued already.
pub fn outbox_has_prefix(conn: &Connection, prefix: &str) -> Result<bool> {
    // A range on the unique index: `prefix.` up to `prefix/` ('/' follows '.').
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM outbox WHERE message_id > ?1 || '.' AND message_id < ?1 || '/')",
        )?
        .query_row([prefix], |r| r.get(0))?)
}

/// Rows to send now: pending or interrupted mid-send, and not waiting for a retry.
pub fn pending_outbox(
    conn: &Connection,
    now: OffsetDateTime,
    limit: usize,
) -> Result<Vec<OutboxRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ROW} FROM outbox INDEXED BY outbox_due WHERE status IN ('pending', 'sending')
         AND (next_attempt_at IS NULL OR next_attempt_at <= ?2) ORDER BY id LIMIT ?1"
    ))?;
    let rows = stmt.query_map(params![limit as i64, ts(now)], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// When the next retry is due, if any row waits for one.
pub fn next_retry_at(conn: &Connection) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT MIN(next_attempt_at) FROM outbox WHERE status IN ('pending', 'sending') AND next_attempt_at IS NOT NULL")?
        .query_row([], |r| r.get(0))?)
}

/// Sends are about to begin: after a crash from here on, these rows are sent again, with the
/// same Message-IDs. One transaction for all of them.
///
/// Committed without waiting for the disk (`synchronous = NORMAL` for this one commit): the
/// mark only tells a restart that a send had begun, and if a power cut loses it the row is
/// still 'pending', which is sent again just the same. A crash of the process loses nothing
/// (the commit is in the WAL), and WAL keeps commits in order, so the next durable commit
/// carries the mark to disk. It saves the dispatcher an fsync per round, before its first send.
pub fn mark_sending(conn: &mut Connection, ids: &[i64]) -> Result<()> {
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let marked = set_status(conn, ids, "sending");
    conn.pragma_update(None, "synchronous", "FULL")?;
    marked
}

/// Rows marked 'sending' whose send never started (the dispatcher stopped first).
pub fn unmark_sending(conn: &mut Connection, ids: &[i64]) -> Result<()> {
    set_status(conn, ids, "pending")
}

fn set_status(conn: &mut Connection, ids: &[i64], status: &str) -> Result<()> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "UPDATE outbox SET status = ?2 WHERE id = ?1 AND status IN ('pending', 'sending')",
        )?;
        for id in ids {
            stmt.execute(params![id, status])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// A transient failure: try again at `next`.
pub fn mark_retry(conn: &Connection, id: i64, next: OffsetDateTime, error: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET status = 'pending', attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 WHERE id = ?1",
    )?
    .execute(params![id, ts(next), error])?;
    Ok(())
}

/// A permanent failure: never tried again.
pub fn mark_failed(conn: &Connection, id: i64, error: &str) -> Result<()> {
    conn.prepare_cached("UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?2 WHERE id = ?1")?
        .execute(params![id, error])?;
    Ok(())
}

/// (pending, sending, sent, failed)
pub fn outbox_counts(conn: &Connection) -> Result<(i64, i64, i64, i64)> {
    Ok(conn.query_row(
        "SELECT COALESCE(SUM(status = 'pending'), 0), COALESCE(SUM(status = 'sending'), 0),
                COALESCE(SUM(status = 'sent'), 0), COALESCE(SUM(status = 'failed'), 0) FROM outbox",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?)
}

pub fn mark_sent(conn: &Connection, id: i64, now: OffsetDateTime) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET status = 'sent', sent_at = ?2, attempts = attempts + 1 WHERE id = ?1",
    )?
    .execute(params![id, ts(now)])?;
    Ok(())
}

/// The raw bytes of the first email of `template` queued for an order.
pub fn first_email(conn: &Connection, order_ref: &str, template: &str) -> Result<Option<Vec<u8>>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .prepare_cached(
            "SELECT raw FROM outbox WHERE order_ref = ?1 AND template = ?2 ORDER BY id LIMIT 1",
        )?
        .query_row([order_ref, template], |r| r.get(0))
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marking_sending_leaves_the_connection_durable() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open(&dir.path().join("m.db")).unwrap();
        let level = |c: &Connection| c.query_row("PRAGMA synchronous", [], |r| r.get::<_, i64>(0));
        assert_eq!(level(&conn).unwrap(), 2, "FULL after open");
        mark_sending(&mut conn, &[1, 2]).unwrap();
        assert_eq!(level(&conn).unwrap(), 2, "FULL again after the mark");
    }
}
