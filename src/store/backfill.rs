//! Migration to version 5: the chains over what was written before they existed.

use rusqlite::Transaction;
use serde_json::{Value, json};

use super::chain::{GENESIS, event_link, stock_link};
use super::payments::{PAYMENT_COLUMNS, PaymentRow};
use crate::mail::read::sha256_hex;

/// id, at, order_ref, message_id, kind, detail
type EventFields = (i64, String, Option<String>, Option<String>, String, String);
/// id, at, sku, kind, quantity, order_ref, reason
type MoveFields = (i64, String, String, String, i64, Option<String>, String);
/// Link the rows written before the chains existed, in id order, and
/// record the hashes of the raw messages kept so far in one event, so that `verify` covers the
/// whole history from here on.
pub fn backfill(tx: &Transaction) -> rusqlite_migration::HookResult {
    let fail = |e: super::StoreError| rusqlite_migration::HookError::Hook(e.to_string());
    let mut prev = GENESIS.to_string();
    let rows: Vec<EventFields> = tx
        .prepare("SELECT id, at, order_ref, message_id, kind, detail FROM events ORDER BY id")?
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (id, at, order_ref, message_id, kind, detail) in rows {
        let detail_sha = sha256_hex(detail.as_bytes());
        let hash = event_link(
            &prev,
            id,
            &at,
            order_ref.as_deref(),
            message_id.as_deref(),
            &kind,
            &detail_sha,
        );
        tx.execute(
            "UPDATE events SET detail_sha256 = ?2, prev_hash = ?3, hash = ?4 WHERE id = ?1",
            rusqlite::params![id, detail_sha, prev, hash],
        )?;
        prev = hash;
    }
    let mut prev = GENESIS.to_string();
    let rows: Vec<MoveFields> = tx
        .prepare(
            "SELECT id, at, sku, kind, quantity, order_ref, reason FROM stock_moves ORDER BY id",
        )?
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (id, at, sku, kind, quantity, order_ref, reason) in rows {
        let hash = stock_link(
            &prev,
            id,
            &at,
            &sku,
            &kind,
            quantity,
            order_ref.as_deref(),
            &reason,
        );
        tx.execute(
            "UPDATE stock_moves SET prev_hash = ?2, hash = ?3 WHERE id = ?1",
            rusqlite::params![id, prev, hash],
        )?;
        prev = hash;
    }
    let mut outbox = serde_json::Map::new();
    let rows: Vec<(i64, Vec<u8>)> = tx
        .prepare("SELECT id, raw FROM outbox ORDER BY id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, raw) in rows {
        let sha = sha256_hex(&raw);
        tx.execute(
            "UPDATE outbox SET sha256 = ?2 WHERE id = ?1",
            rusqlite::params![id, sha],
        )?;
        outbox.insert(id.to_string(), Value::String(sha));
    }
    let mut messages = serde_json::Map::new();
    let rows: Vec<(i64, String)> = tx
        .prepare("SELECT id, sha256 FROM messages ORDER BY id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, sha) in rows {
        messages.insert(id.to_string(), Value::String(sha));
    }
    let mut orders = serde_json::Map::new();
    let rows: Vec<(String, String)> = tx
        .prepare("SELECT reference, doc FROM orders ORDER BY reference")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (reference, doc) in rows {
        orders.insert(reference, Value::String(sha256_hex(doc.as_bytes())));
    }
    let mut payments = serde_json::Map::new();
    let rows: Vec<(i64, PaymentRow)> = tx
        .prepare(&format!(
            "SELECT id, {} FROM payments ORDER BY id",
            PAYMENT_COLUMNS
        ))?
        .query_map([], |r| Ok((r.get(0)?, PaymentRow::from_row(r, 1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, row) in rows {
        payments.insert(id.to_string(), Value::String(row.digest()));
    }
    if !messages.is_empty() || !outbox.is_empty() || !orders.is_empty() {
        let detail = json!({ "messages": messages, "outbox": outbox, "orders": orders, "payments": payments });
        super::insert_event(
            tx,
            time::OffsetDateTime::now_utc(),
            None,
            None,
            "chain_started",
            &detail,
        )
        .map_err(fail)?;
    }
    Ok(())
}
