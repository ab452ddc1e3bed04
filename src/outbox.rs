//! Delivering the outbox. Without an SMTP server configured, each message becomes one `.eml`
//! file named after its Message-ID: writing the same row twice replaces the file, so a crash
//! between writing and marking it sent never produces two copies.

use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use time::OffsetDateTime;

use crate::store::{self, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    Store(#[from] StoreError),
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
    std::fs::create_dir_all(dir).map_err(|source| OutboxError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let mut written = Vec::new();
    loop {
        let batch = store::pending_outbox(conn, 256)?;
        if batch.is_empty() {
            return Ok(written);
        }
        for row in batch {
            let path = dir.join(file_name(&row.message_id));
            write_atomically(&path, &row.raw).map_err(|source| OutboxError::Write {
                path: path.clone(),
                source,
            })?;
            store::mark_sent(conn, row.id, now)?;
            written.push(path);
        }
    }
}

fn file_name(message_id: &str) -> String {
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

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
