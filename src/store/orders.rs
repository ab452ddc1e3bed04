//! Orders: the JSON document plus the columns that queries need.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use time::OffsetDateTime;

use super::{Result, StoreError, ts};
use crate::core::order::Order;
use crate::mail::read::sha256_hex;

pub fn save_order(tx: &Connection, order: &Order, now: OffsetDateTime) -> Result<()> {
    let doc = serde_json::to_string(order).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let t = &order.totals;
    tx.prepare_cached(
        "INSERT INTO orders (reference, state, customer_email, currency, subtotal, shipping, tax, total, created_at, updated_at, doc)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT(reference) DO UPDATE SET state = excluded.state, subtotal = excluded.subtotal,
           shipping = excluded.shipping, tax = excluded.tax, total = excluded.total,
           updated_at = excluded.updated_at, doc = excluded.doc",
    )?
    .execute(params![
        order.reference,
        order.state.as_str(),
        order.customer.email,
        order.currency,
        t.subtotal.to_string(),
        t.shipping.to_string(),
        t.tax.to_string(),
        t.total.to_string(),
        ts(order.created_at),
        ts(now),
        doc
    ])?;
    // The chain holds each version of the order, so `verify` can tell the row was not edited.
    let detail = serde_json::json!({ "state": order.state.as_str(), "total": t.total.to_string(), "sha256": sha256_hex(doc.as_bytes()) });
    super::insert_event(
        tx,
        now,
        Some(&order.reference),
        None,
        "order_saved",
        &detail,
    )?;
    tx.prepare_cached("DELETE FROM order_lines WHERE order_ref = ?1")?
        .execute([&order.reference])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO order_lines (order_ref, line_no, sku, name, quantity, unit_price, line_total) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (i, l) in order.lines.iter().enumerate() {
        insert.execute(params![
            order.reference,
            i as i64 + 1,
            l.sku,
            l.name,
            l.quantity,
            l.unit_price.to_string(),
            l.line_total.to_string()
        ])?;
    }
    save_returns(tx, order)
}

/// The order's returns as rows (`verify` holds them to the document).
fn save_returns(tx: &Connection, order: &Order) -> Result<()> {
    tx.prepare_cached("DELETE FROM returns WHERE order_ref = ?1")?
        .execute([&order.reference])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO returns (rma, order_ref, state, lines, credit, refund, exchange_ref, authorised_at, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for r in &order.returns {
        insert.execute(params![
            r.rma,
            order.reference,
            r.state.as_str(),
            return_lines_json(r),
            r.credit.to_string(),
            r.refund.to_string(),
            r.exchange,
            ts(r.authorised_at),
            r.received_at.map(ts),
        ])?;
    }
    Ok(())
}

/// A return's lines as its row keeps them.
pub fn return_lines_json(r: &crate::core::order::Return) -> String {
    serde_json::to_string(&r.lines).unwrap_or_default()
}

fn parse_doc(reference: &str, doc: &str) -> Result<Order> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(format!("order {reference}: {e}")))
}

pub fn load_order(conn: &Connection, reference: &str) -> Result<Option<Order>> {
    let doc: Option<String> = conn
        .prepare_cached("SELECT doc FROM orders WHERE reference = ?1")?
        .query_row([reference], |r| r.get(0))
        .optional()?;
    doc.map(|d| parse_doc(reference, &d)).transpose()
}

pub fn find_order_by_reference(conn: &Connection, reference: &str) -> Result<Option<Order>> {
    load_order(conn, &reference.to_ascii_uppercase())
}

/// The order whose conversation one of these Message-IDs belongs to.
pub fn find_thread_order<'a>(
    conn: &Connection,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<Option<Order>> {
    let mut stmt = conn.prepare_cached("SELECT order_ref FROM thread_ids WHERE message_id = ?1")?;
    for id in ids {
        if let Some(reference) = stmt.query_row([id], |r| r.get::<_, String>(0)).optional()? {
            return load_order(conn, &reference);
        }
    }
    Ok(None)
}

/// The order a customer means when they name none: their one live order (awaiting something,
/// paid or shipped); with none live, their latest; with several, none (we ask which).
pub fn customer_order(conn: &Connection, email: &str) -> Result<Option<Order>> {
    let live: Vec<(String, String)> = conn
        .prepare_cached(
            "SELECT reference, doc FROM orders WHERE customer_email = ?1
             AND state NOT IN ('cancelled', 'rejected', 'expired', 'returned') ORDER BY created_at DESC LIMIT 2",
        )?
        .query_map([email], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let found = match live.len() {
        0 => conn
            .prepare_cached("SELECT reference, doc FROM orders WHERE customer_email = ?1 ORDER BY created_at DESC LIMIT 1")?
            .query_row([email], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?,
        1 => live.into_iter().next(),
        _ => None,
    };
    found.map(|(r, d)| parse_doc(&r, &d)).transpose()
}

/// How many orders a customer has placed, leaving out `except`.
pub fn count_customer_orders(conn: &Connection, email: &str, except: Option<&str>) -> Result<u32> {
    Ok(conn
        .prepare_cached(
            "SELECT COUNT(*) FROM orders WHERE customer_email = ?1 AND reference IS NOT ?2",
        )?
        .query_row(params![email, except], |r| r.get(0))?)
}

/// The Message-IDs of an order's conversation with its customer, oldest first.
pub fn order_thread(conn: &Connection, order_ref: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT message_id FROM thread_ids WHERE order_ref = ?1 AND party = 'customer' ORDER BY rowid",
    )?;
    let rows = stmt.query_map([order_ref], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Orders that a deadline can still change (awaiting payment or approval).
pub fn open_orders_with_deadlines(conn: &Connection) -> Result<Vec<Order>> {
    let mut stmt = conn.prepare_cached(
        "SELECT reference, doc FROM orders WHERE state IN ('awaiting_payment', 'awaiting_approval') ORDER BY created_at",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (reference, doc) = row?;
        out.push(parse_doc(&reference, &doc)?);
    }
    Ok(out)
}

/// Orders waiting for an answer the loop caps held back, for `scope` (a customer's address,
/// lower case) or for everyone (`core::reply_cap::ALL`), oldest first.
pub fn orders_with_held_replies(conn: &Connection, scope: &str) -> Result<Vec<Order>> {
    let mut stmt = conn.prepare_cached(
        "SELECT reference, doc FROM orders
         WHERE state IN ('awaiting_details', 'awaiting_approval', 'awaiting_payment')
           AND json_extract(doc, '$.reply_held') IS NOT NULL
           AND (?1 = '*' OR lower(customer_email) = ?1)
         ORDER BY created_at",
    )?;
    let rows = stmt.query_map([scope], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (reference, doc) = row?;
        out.push(parse_doc(&reference, &doc)?);
    }
    Ok(out)
}

/// Link Message-IDs to an order's conversation; `party` is `customer`, `shop` or `other`.
pub fn insert_thread_ids<'a>(
    tx: &Connection,
    order_ref: &str,
    party: &str,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT OR IGNORE INTO thread_ids (message_id, order_ref, party) VALUES (?1, ?2, ?3)",
    )?;
    for id in ids {
        stmt.execute(params![id, order_ref, party])?;
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct OrderRow {
    pub reference: String,
    pub state: String,
    pub customer_email: String,
    pub currency: String,
    pub subtotal: String,
    pub shipping: String,
    pub tax: String,
    pub total: String,
    pub created_at: String,
    pub updated_at: String,
}

pub fn list_orders(conn: &Connection) -> Result<Vec<(OrderRow, Order)>> {
    let mut stmt = conn.prepare(
        "SELECT reference, state, customer_email, currency, subtotal, shipping, tax, total, created_at, updated_at, doc
         FROM orders ORDER BY created_at, reference",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            OrderRow {
                reference: r.get(0)?,
                state: r.get(1)?,
                customer_email: r.get(2)?,
                currency: r.get(3)?,
                subtotal: r.get(4)?,
                shipping: r.get(5)?,
                tax: r.get(6)?,
                total: r.get(7)?,
                created_at: r.get(8)?,
                updated_at: r.get(9)?,
            },
            r.get::<_, String>(10)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (row, doc) = row?;
        let order = parse_doc(&row.reference, &doc)?;
        out.push((row, order));
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    pub at: String,
    pub kind: String,
    pub message_id: Option<String>,
    pub detail: serde_json::Value,
}

pub fn order_events(conn: &Connection, reference: &str) -> Result<Vec<EventRow>> {
    let mut stmt = conn.prepare(
        "SELECT at, kind, message_id, detail FROM events WHERE order_ref = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([reference], |r| {
        let detail: String = r.get(3)?;
        Ok(EventRow {
            at: r.get(0)?,
            kind: r.get(1)?,
            message_id: r.get(2)?,
            detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
