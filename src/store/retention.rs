//! `[retention] raw_messages_days`: raw copies older than that are emptied; the row (Message-ID,
//! hash, sender, order), the orders and the events stay, so the record still proves what came
//! and went, only not the words.

use rusqlite::{Connection, params};
use serde_json::json;
use time::OffsetDateTime;

use super::{Result, insert_event, ts};

/// At most this many rows per table per run: a first run on a years-old database takes its
/// backlog in bounded transactions, one a minute, instead of one that holds the writer for long.
const PER_RUN: i64 = 5000;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub messages: Vec<i64>,
    pub outbox: Vec<i64>,
}

/// Empty the raw copies made before `before`. Kept whatever their age: a message a person has
/// still to look at, and mail still waiting to be sent.
pub fn purge_raw(tx: &Connection, before: OffsetDateTime, now: OffsetDateTime) -> Result<Purged> {
    let ids = |sql: &str| -> Result<Vec<i64>> {
        let mut stmt = tx.prepare_cached(sql)?;
        let rows = stmt.query_map(params![ts(before), PER_RUN], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    };
    let purged = Purged {
        messages: ids(
            "SELECT id FROM messages WHERE received_at < ?1 AND purged_at IS NULL
               AND (attention IS NULL OR resolved_at IS NOT NULL)
             ORDER BY id LIMIT ?2",
        )?,
        outbox: ids(
            "SELECT id FROM outbox WHERE created_at < ?1 AND purged_at IS NULL
               AND status IN ('sent', 'failed')
             ORDER BY id LIMIT ?2",
        )?,
    };
    if purged.messages.is_empty() && purged.outbox.is_empty() {
        return Ok(purged);
    }
    for (table, rows) in [("messages", &purged.messages), ("outbox", &purged.outbox)] {
        let mut stmt = tx.prepare_cached(&format!(
            "UPDATE {table} SET raw = zeroblob(0), purged_at = ?2 WHERE id = ?1"
        ))?;
        for id in rows {
            stmt.execute(params![id, ts(now)])?;
        }
    }
    let detail =
        json!({ "before": ts(before), "messages": purged.messages, "outbox": purged.outbox });
    insert_event(tx, now, None, None, "raw_messages_purged", &detail)?;
    tracing::info!(
        messages = purged.messages.len(),
        outbox = purged.outbox.len(),
        "raw copies past the retention period purged"
    );
    Ok(purged)
}
