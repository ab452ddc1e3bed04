//! Delivering the outbox. Without an SMTP server configured, each message becomes one `.eml`
//! file named after its Message-ID: writing the same row twice replaces the file, so a crash
//! between writing and marking it sent never produces two copies.

use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use time::OffsetDateTime;

use crate::config::Config;
use crate::core::emails::{delivery_failed, seller_alert};
use crate::mail::compose::compose;
use crate::store::{self, OutboxRow, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("composing the failure notice: {0}")]
    Compose(#[from] crate::mail::compose::ComposeError),
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Write every pending message to `dir`; returns the files written.
pub fn deliver_to_dir(
    conn: &Connection,
    dir: &Path,
    now: OffsetDateTime,
) -> Result<Vec<PathBuf>, OutboxError> {
    crate::fsutil::create_private_dir(dir).map_err(|source| OutboxError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let mut written = Vec::new();
    loop {
        let batch = store::pending_outbox(conn, now, 256)?;
        if batch.is_empty() {
            return Ok(written);
        }
        // One commit per batch: a crash before it rewrites the same files, never new ones.
        let tx = conn.unchecked_transaction()?;
        for row in batch {
            let path = dir.join(file_name(&row.message_id));
            write_atomically(&path, &row.raw).map_err(|source| OutboxError::Write {
                path: path.clone(),
                source,
            })?;
            record_sent(&tx, &row, now)?;
            written.push(path);
        }
        tx.commit()?;
    }
}

pub(crate) fn file_name(message_id: &str) -> String {
    let safe: String = message_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.eml")
}

pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    // Made 0600 (tempfile's default), and the rename keeps the mode.
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The server took the message: mark it sent and log it. Call inside a transaction, so that
/// both are written or neither.
pub fn record_sent(
    tx: &Connection,
    row: &OutboxRow,
    now: OffsetDateTime,
) -> Result<(), OutboxError> {
    store::mark_sent(tx, row.id, now)?;
    let detail = serde_json::json!({ "outbox_message_id": row.message_id, "to": row.to_addrs, "template": row.template });
    store::insert_event(
        tx,
        now,
        row.order_ref.as_deref(),
        Some(&row.message_id),
        "email_sent",
        &detail,
    )?;
    Ok(())
}

/// The server refused the message for good: mark it failed, log it, and tell the sellers.
/// Call inside a transaction, so that all of it is written or none.
pub fn record_permanent_failure(
    tx: &Connection,
    config: &Config,
    row: &OutboxRow,
    error: &str,
    now: OffsetDateTime,
) -> Result<(), OutboxError> {
    store::mark_failed(tx, row.id, error)?;
    let detail = serde_json::json!({ "outbox_message_id": row.message_id, "to": row.to_addrs, "error": error });
    store::insert_event(
        tx,
        now,
        row.order_ref.as_deref(),
        Some(&row.message_id),
        "email_failed",
        &detail,
    )?;
    let notices = delivery_failed(
        config,
        row.order_ref.as_deref(),
        &row.to_addrs,
        &row.subject,
        error,
    );
    for (i, notice) in notices.iter().enumerate() {
        // Derived from the failed message: unique, and the same if this step is replayed.
        let id = format!("failed.{i}.{}", row.message_id);
        queue(tx, notice, &id, row.order_ref.as_deref(), config, now)?;
    }
    Ok(())
}

/// Queue an alert to the sellers, once per `key`: the same key again is ignored, so a condition
/// noticed on every reconnect is still reported only once.
pub fn alert_sellers(
    conn: &Connection,
    config: &Config,
    key: &str,
    subject: &str,
    text: &str,
    now: OffsetDateTime,
) -> Result<bool, OutboxError> {
    let tx = conn.unchecked_transaction()?;
    let queued = alert_sellers_in(&tx, config, key, subject, text, now)?;
    tx.commit()?;
    Ok(queued)
}

/// `alert_sellers` in the caller's transaction, beside the decision it reports.
pub fn alert_sellers_in(
    tx: &Connection,
    config: &Config,
    key: &str,
    subject: &str,
    text: &str,
    now: OffsetDateTime,
) -> Result<bool, OutboxError> {
    let safe: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut queued = false;
    for (i, alert) in seller_alert(config, subject, text).iter().enumerate() {
        let id = format!("alert.{safe}.{i}@{}", config.shop_domain());
        let exists: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM outbox WHERE message_id = ?1)",
            [&id],
            |r| r.get(0),
        )?;
        if !exists {
            queue(tx, alert, &id, None, config, now)?;
            queued = true;
        }
    }
    if !queued {
        return Ok(false);
    }
    let id = format!("alert.{safe}@{}", config.shop_domain());
    store::insert_event(
        tx,
        now,
        None,
        Some(&id),
        "sellers_alerted",
        &serde_json::json!({ "subject": subject, "text": text }),
    )?;
    Ok(true)
}

/// Compose an email and put it in the outbox under `id`.
fn queue(
    tx: &Connection,
    email: &crate::core::decision::Email,
    id: &str,
    order_ref: Option<&str>,
    config: &Config,
    now: OffsetDateTime,
) -> Result<(), OutboxError> {
    let raw = compose(email, id, now, config)?;
    let to: Vec<&str> = email.to.iter().map(|m| m.email.as_str()).collect();
    store::insert_outbox(
        tx,
        id,
        order_ref,
        &to.join(", "),
        email.to_customer,
        &email.subject,
        email.template.name(),
        &raw,
        now,
    )?;
    Ok(())
}

/// A transient failure: try again after a capped exponential backoff (`cap`:
/// `[smtp] retry_max_seconds`).
pub fn record_transient_failure(
    conn: &Connection,
    row: &OutboxRow,
    error: &str,
    cap: time::Duration,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, OutboxError> {
    let next = now + retry_delay(row.attempts, cap);
    store::mark_retry(conn, row.id, next, error)?;
    Ok(next)
}

/// `[smtp] retry_max_seconds`, as a duration.
pub fn retry_cap(config: &Config) -> time::Duration {
    let secs = config
        .smtp
        .as_ref()
        .map_or(30 * 60, |s| s.retry_max_seconds);
    time::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 1000))
}

/// 10 s, 20 s, 40 s ... capped at `cap` (30 min by default): quick for a blip, gentle for an
/// outage.
pub fn retry_delay(attempts: i64, cap: time::Duration) -> time::Duration {
    let exp = attempts.clamp(0, 16) as u32;
    time::Duration::seconds(10 * 2i64.pow(exp)).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_capped() {
        let cap = time::Duration::minutes(30);
        assert_eq!(retry_delay(0, cap), time::Duration::seconds(10));
        assert_eq!(retry_delay(1, cap), time::Duration::seconds(20));
        assert_eq!(retry_delay(5, cap), time::Duration::seconds(320));
        assert_eq!(retry_delay(7, cap), time::Duration::seconds(1280));
        assert_eq!(retry_delay(8, cap), time::Duration::minutes(30));
        assert_eq!(retry_delay(60, cap), time::Duration::minutes(30));
        let short = time::Duration::seconds(30);
        assert_eq!(retry_delay(1, short), time::Duration::seconds(20));
        assert_eq!(retry_delay(2, short), short);
        assert_eq!(retry_delay(9, short), short);
    }
}
