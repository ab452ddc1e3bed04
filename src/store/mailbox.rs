//! The mailbox checkpoint and the record of contact with servers.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use time::OffsetDateTime;

use super::{Result, ts};

/// How far the mailbox has been read: every UID up to `last_uid` under `uidvalidity` is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    pub uidvalidity: u32,
    pub last_uid: u32,
}

pub fn load_checkpoint(conn: &Connection, mailbox: &str) -> Result<Option<Checkpoint>> {
    Ok(conn
        .prepare_cached("SELECT uidvalidity, last_uid FROM mailbox_checkpoint WHERE mailbox = ?1")?
        .query_row([mailbox], |r| {
            Ok(Checkpoint {
                uidvalidity: r.get(0)?,
                last_uid: r.get(1)?,
            })
        })
        .optional()?)
}

pub fn save_checkpoint(
    tx: &Connection,
    mailbox: &str,
    checkpoint: Checkpoint,
    now: OffsetDateTime,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO mailbox_checkpoint (mailbox, uidvalidity, last_uid, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid,
         updated_at = excluded.updated_at",
    )?
    .execute(params![mailbox, checkpoint.uidvalidity, checkpoint.last_uid, ts(now)])?;
    Ok(())
}

/// Note a successful contact (`error` None) or a failure with a server.
pub fn record_contact(
    conn: &Connection,
    server: &str,
    error: Option<&str>,
    now: OffsetDateTime,
) -> Result<()> {
    let sql = match error {
        None => {
            "INSERT INTO server_contact (server, last_ok_at) VALUES (?1, ?2)
             ON CONFLICT(server) DO UPDATE SET last_ok_at = excluded.last_ok_at"
        }
        Some(_) => {
            "INSERT INTO server_contact (server, last_error_at, last_error) VALUES (?1, ?2, ?3)
             ON CONFLICT(server) DO UPDATE SET last_error_at = excluded.last_error_at, last_error = excluded.last_error"
        }
    };
    let mut stmt = conn.prepare_cached(sql)?;
    match error {
        None => stmt.execute(params![server, ts(now)])?,
        Some(e) => stmt.execute(params![server, ts(now), e])?,
    };
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerContact {
    pub server: String,
    pub last_ok_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
}

pub fn server_contacts(conn: &Connection) -> Result<Vec<ServerContact>> {
    let mut stmt = conn.prepare(
        "SELECT server, last_ok_at, last_error, last_error_at FROM server_contact ORDER BY server",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(ServerContact {
            server: r.get(0)?,
            last_ok_at: r.get(1)?,
            last_error: r.get(2)?,
            last_error_at: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every mailbox's checkpoint, for `mailcart status`.
pub fn checkpoints(conn: &Connection) -> Result<Vec<(String, Checkpoint, String)>> {
    let mut stmt = conn.prepare("SELECT mailbox, uidvalidity, last_uid, updated_at FROM mailbox_checkpoint ORDER BY mailbox")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            Checkpoint {
                uidvalidity: r.get(1)?,
                last_uid: r.get(2)?,
            },
            r.get(3)?,
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Orders per state, for `mailcart status`.
pub fn orders_by_state(conn: &Connection) -> Result<Vec<(String, i64)>> {
    let mut stmt =
        conn.prepare("SELECT state, COUNT(*) FROM orders GROUP BY state ORDER BY state")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
