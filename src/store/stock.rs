//! The stock ledger and its running totals.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use time::OffsetDateTime;

use super::chain::{Chain, next_link, stock_link};
use super::{Result, StoreError, ts};
use crate::core::decision::{MoveKind, StockMove};

/// Record one movement and update the running totals in the same transaction.
pub fn apply_move(
    tx: &Connection,
    mv: &StockMove,
    order_ref: Option<&str>,
    now: OffsetDateTime,
) -> Result<()> {
    let q = mv.quantity;
    if q <= 0 && mv.kind != MoveKind::Adjustment {
        return Err(StoreError::Input(format!(
            "stock move {:?} of {q} for {}",
            mv.kind, mv.sku
        )));
    }
    let (id, prev) = next_link(tx, Chain::StockMoves)?;
    let at = ts(now);
    let hash = stock_link(
        &prev,
        id,
        &at,
        &mv.sku,
        mv.kind.as_str(),
        q,
        order_ref,
        &mv.reason,
    );
    tx.prepare_cached(
        "INSERT INTO stock_moves (id, at, sku, kind, quantity, order_ref, reason, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        id,
        at,
        mv.sku,
        mv.kind.as_str(),
        q,
        order_ref,
        mv.reason,
        prev,
        hash
    ])?;
    // A sale takes the goods off the shelf and ends their reservation.
    let (on_hand, reserved) = match mv.kind {
        MoveKind::Receipt | MoveKind::Return | MoveKind::Adjustment => (q, 0),
        MoveKind::Reserve => (0, q),
        MoveKind::Release => (0, -q),
        MoveKind::Sale => (-q, -q),
    };
    let changed = tx
        .prepare_cached(
            "UPDATE stock SET on_hand = on_hand + ?2, reserved = reserved + ?3 WHERE sku = ?1",
        )?
        .execute(params![mv.sku, on_hand, reserved])?;
    if changed == 0 {
        return Err(StoreError::Input(format!(
            "stock move for unknown SKU {}",
            mv.sku
        )));
    }
    Ok(())
}

/// Stock free to promise for the given SKUs, plus the first few SKUs that have any (to offer
/// when nothing asked for is in stock). Reads only what a decision needs, whatever the
/// catalog's size.
pub fn available_map<'a>(
    conn: &Connection,
    skus: impl IntoIterator<Item = &'a str>,
) -> Result<HashMap<String, i64>> {
    let mut map = HashMap::new();
    let mut one = conn.prepare_cached("SELECT on_hand - reserved FROM stock WHERE sku = ?1")?;
    for sku in skus {
        if !map.contains_key(sku) {
            let n: Option<i64> = one.query_row([sku], |r| r.get(0)).optional()?;
            map.insert(sku.to_string(), n.unwrap_or(0));
        }
    }
    let mut some = conn.prepare_cached("SELECT sku, on_hand - reserved FROM stock WHERE on_hand - reserved > 0 ORDER BY sku LIMIT 5")?;
    for row in some.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (sku, n) = row?;
        map.entry(sku).or_insert(n);
    }
    Ok(map)
}

#[derive(Debug, Clone, Serialize)]
pub struct StockRow {
    pub sku: String,
    pub name: String,
    pub unit_price: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
}

pub fn inventory(conn: &Connection) -> Result<Vec<StockRow>> {
    let mut stmt = conn.prepare(
        "SELECT c.sku, c.name, c.unit_price, COALESCE(s.on_hand, 0), COALESCE(s.reserved, 0)
         FROM catalog c LEFT JOIN stock s ON s.sku = c.sku ORDER BY c.sku",
    )?;
    let rows = stmt.query_map([], |r| {
        let on_hand: i64 = r.get(3)?;
        let reserved: i64 = r.get(4)?;
        Ok(StockRow {
            sku: r.get(0)?,
            name: r.get(1)?,
            unit_price: r.get(2)?,
            on_hand,
            reserved,
            available: on_hand - reserved,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
