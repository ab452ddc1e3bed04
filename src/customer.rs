//! `mailcart customer export|erase EMAIL`: one customer's data, given (GDPR art. 15) or
//! erased (art. 17). The search and the rewrite are `store::customer`; here are the edges: the
//! transaction, the outbox folder's copies, and the database file itself.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::config::Config;
use crate::pipeline::{RandomReferences, References};
use crate::store::customer::{Erasure, customer_data, erase, footprint, unfinished};
use crate::store::{self, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CustomerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("mailcart holds nothing about {0}")]
    Unknown(String),
    #[error(
        "{email} still has orders the shop must finish first: {orders}. Cancel or complete them, then erase"
    )]
    Unfinished { email: String, orders: String },
    #[error("rewriting {path}: {source}")]
    File {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// Everything held about `email`, as JSON; the export itself goes on the record.
pub fn export_customer(
    conn: &mut Connection,
    email: &str,
    now: OffsetDateTime,
) -> Result<Value, CustomerError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let f = footprint(&tx, email)?;
    if f.orders.is_empty() && f.messages.is_empty() && f.outbox.is_empty() {
        return Err(CustomerError::Unknown(f.email));
    }
    let data = customer_data(&tx, &f)?;
    let detail = json!({ "customer": f.email, "orders": f.orders.len(), "messages": f.messages.len() + f.outbox.len() });
    store::insert_event(&tx, now, None, None, "customer_data_exported", &detail)?;
    tx.commit()?;
    Ok(data)
}

/// What `erase_customer` did, and whether the old bytes are gone from the file too.
pub struct Erased {
    pub erasure: Erasure,
    pub files_rewritten: usize,
    /// False when another process kept the WAL from being emptied (a running daemon's read):
    /// then the old pages go at its next checkpoint, not now.
    pub wal_emptied: bool,
}

pub fn erase_customer(
    conn: &mut Connection,
    config: &Config,
    email: &str,
    now: OffsetDateTime,
) -> Result<Erased, CustomerError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let f = footprint(&tx, email)?;
    if f.orders.is_empty() && f.messages.is_empty() && f.outbox.is_empty() {
        return Err(CustomerError::Unknown(f.email));
    }
    let open = unfinished(&f);
    if !open.is_empty() {
        return Err(CustomerError::Unfinished {
            email: f.email,
            orders: open.join(", "),
        });
    }
    let pseudonym = format!(
        "{}@{}",
        RandomReferences.next("erased").to_ascii_lowercase(),
        crate::core::erase::ERASED_DOMAIN
    );
    let erasure = erase(&tx, &f, &pseudonym, now)?;
    tx.commit()?;
    let files_rewritten = rewrite_outbox_files(&config.outbox.dir, &erasure)?;
    // The old versions of the rewritten pages sit in the WAL and in free pages until the WAL
    // is copied back and the file rebuilt.
    let busy = |conn: &Connection| -> rusqlite::Result<bool> {
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            r.get::<_, i64>(0)
        })
        .map(|b| b != 0)
    };
    conn.execute_batch("VACUUM")?;
    let wal_emptied = !busy(conn)?;
    Ok(Erased {
        erasure,
        files_rewritten,
        wal_emptied,
    })
}

/// The outbox folder keeps a copy of each email sent without SMTP: those copies change too.
fn rewrite_outbox_files(dir: &Path, erasure: &Erasure) -> Result<usize, CustomerError> {
    let mut n = 0;
    for (message_id, raw) in &erasure.outgoing {
        let path = dir.join(crate::outbox::file_name(message_id));
        if path.exists() {
            crate::outbox::write_atomically(&path, raw)
                .map_err(|source| CustomerError::File { path, source })?;
            n += 1;
        }
    }
    Ok(n)
}
