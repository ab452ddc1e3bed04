//! SQLite: the one place state lives. One connection writes; every decision is one
//! transaction holding the raw message, the order, the ledger rows, the events and the outbox.

mod backfill;
mod catalog;
mod chain;
mod commands;
pub mod customer;
mod events;
pub mod feedback;
pub mod invoices;
mod mailbox;
mod messages;
mod orders;
mod outbox;
mod pauses;
pub mod payments;
mod problems;
mod retention;
mod stock;
mod verify;

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use rusqlite_migration::{M, Migrations};
use time::OffsetDateTime;
use time::macros::format_description;

pub use catalog::{
    ImportReport, cached_catalog, import_catalog_csv, load_catalog, parse_catalog_csv,
};
pub use chain::{Chain, GENESIS, event_link, link, stock_link};
pub use commands::{
    HeldRow, Request, find_command_token, held_message, insert_command_token, resolve_held,
    retire_command_tokens,
};
pub use events::{insert_event, insert_event_id};
pub use mailbox::{
    Checkpoint, ServerContact, checkpoints, load_checkpoint, orders_by_state, record_contact,
    save_checkpoint, server_contacts,
};
pub use messages::{
    HeldMessage, StoredMessage, count_kind_since, held_messages, insert_message,
    message_exists_by_hash, message_gone, message_id_seen, message_order_ref, resolve_message,
    unanswered_by_kind, update_message,
};
pub use orders::{
    EventRow, OrderRow, count_customer_orders, customer_order, find_order_by_reference,
    find_thread_order, insert_thread_ids, list_orders, load_order, open_orders_with_deadlines,
    order_events, order_thread, orders_with_held_replies, save_order,
};
pub use outbox::{
    OutboxRow, count_recent_template, first_email, insert_outbox, mark_failed, mark_retry,
    mark_sending, mark_sent, next_retry_at, outbox_counts, outbox_has, outbox_has_prefix,
    pending_outbox, unmark_sending,
};
pub use pauses::{
    Asking, all_pauses, apply_pause, count_all_recent_replies, pauses_for, recent_replies, resume,
};
pub use payments::{insert_payment, transaction_seen};
pub use problems::{
    ProblemRow, clear_problem, insert_problem, open_problem, open_problems, problem_again,
};
pub use retention::{Purged, purge_raw};
pub use stock::{StockRow, apply_move, available_map, inventory};
pub use verify::{VerifyReport, chain_has, verify};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("database schema: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Input(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("schema_v1.sql")),
        M::up(include_str!("schema_v2.sql")),
        M::up(include_str!("schema_v3.sql")),
        M::up(include_str!("schema_v4.sql")),
        M::up_with_hook(include_str!("schema_v5.sql"), backfill::backfill),
        M::up(include_str!("schema_v6.sql")),
        M::up(include_str!("schema_v7.sql")),
        M::up(include_str!("schema_v8.sql")),
        M::up(include_str!("schema_v9.sql")),
        M::up(include_str!("schema_v10.sql")),
        M::up(include_str!("schema_v11.sql")),
        M::up(include_str!("schema_v12.sql")),
        M::up(include_str!("schema_v13.sql")),
        M::up(include_str!("schema_v14.sql")),
        M::up(include_str!("schema_v15.sql")),
        M::up(include_str!("schema_v16.sql")),
        M::up(include_str!("schema_v17.sql")),
    ])
}

/// Open (creating if needed) and migrate the database.
pub fn open(path: &Path) -> Result<Connection> {
    // SQLite makes a new file 0644 and gives -wal and -shm the database file's mode: made
    // owner-only here first, all three are.
    if !path.exists() {
        crate::fsutil::open_private_file(path)
            .map_err(|e| StoreError::Input(format!("creating {}: {e}", path.display())))?;
    }
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    // Every query is prepared once: the default cache (16) is smaller than the set one
    // message's decision uses, and re-preparing was a sixth of the time per message.
    conn.set_prepared_statement_cache_capacity(64);
    // WAL + FULL: a commit is on disk when COMMIT returns, and readers never block the writer.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Each message is a savepoint; its rollback journal stays in memory instead of a temp file.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Purged and erased bytes are zeroed in the file, not left in free pages.
    conn.pragma_update(None, "secure_delete", "ON")?;
    migrations().to_latest(&mut conn)?;
    Ok(conn)
}

/// Fixed-width UTC timestamps, so that text order is time order.
pub fn ts(t: OffsetDateTime) -> String {
    let f =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
    }

    #[test]
    fn a_database_from_before_the_chains_is_linked_on_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            migrations().to_version(&mut conn, 4).unwrap();
            conn.execute_batch(
                "INSERT INTO catalog VALUES ('MUG', 'Mug', '10.00', '[]', 't');
                 INSERT INTO stock VALUES ('MUG', 5, 1);
                 INSERT INTO stock_moves (at, sku, kind, quantity, reason) VALUES ('t', 'MUG', 'receipt', 5, 'r');
                 INSERT INTO stock_moves (at, sku, kind, quantity, reason) VALUES ('t', 'MUG', 'reserve', 1, 'r');
                 INSERT INTO messages (message_id, sha256, received_at, raw) VALUES
                   ('a@x', '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824', 't', CAST('hello' AS BLOB));
                 INSERT INTO events (at, kind, detail) VALUES ('t', 'one', '{}'), ('t', 'two', '{\"a\":1}');
                 INSERT INTO outbox (message_id, to_addrs, to_customer, subject, template, raw, created_at)
                   VALUES ('o@x', 'p@x', 1, 's', 't', CAST('out' AS BLOB), 't');",
            )
            .unwrap();
        }
        let conn = open(&path).unwrap();
        let report = verify(&conn).unwrap();
        assert!(report.ok(), "{:?}", report.breaks);
        assert_eq!(
            (
                report.events,
                report.stock_moves,
                report.messages_in,
                report.messages_out
            ),
            (3, 2, 1, 1)
        );
        conn.execute("UPDATE messages SET raw = CAST('hellO' AS BLOB)", [])
            .unwrap();
        assert!(!verify(&conn).unwrap().ok());
    }

    #[test]
    fn timestamps_sort() {
        let a = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let b = a + time::Duration::milliseconds(500);
        assert!(ts(a) < ts(b));
        assert_eq!(ts(a).len(), ts(b).len());
    }
}
