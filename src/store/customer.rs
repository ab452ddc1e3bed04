//! One customer's data: found (`customer export`, GDPR art. 15) and erased (`customer erase`,
//! art. 17) by the same search, so the export shows exactly what an erasure would remove.

use std::collections::BTreeSet;

use rusqlite::{Connection, params};
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::feedback::{FEEDBACK_COLUMNS, FeedbackRow};
use super::payments::{PAYMENT_COLUMNS, PaymentRow};
use super::{Result, StoreError, insert_event, load_order, save_order, ts};
use crate::core::erase::{ERASED, personal_terms, placeholder, pseudonymise, scrub, scrub_json};
use crate::core::order::{Order, OrderState};
use crate::mail::read::sha256_hex;

/// Every row that is about one customer.
#[derive(Debug, Default)]
pub struct Footprint {
    pub email: String,
    pub orders: Vec<Order>,
    /// Rows of `messages`: theirs, and every message of their orders' conversations.
    pub messages: Vec<i64>,
    /// Rows of `outbox`: mail to them, and mail to sellers about their orders.
    pub outbox: Vec<i64>,
    pub payments: Vec<i64>,
    /// Rows of `feedback` on their orders.
    pub feedback: Vec<i64>,
    pub events: Vec<i64>,
}

pub fn footprint(conn: &Connection, email: &str) -> Result<Footprint> {
    let email = email.trim().to_ascii_lowercase();
    let refs: Vec<String> = conn
        .prepare(
            "SELECT reference FROM orders WHERE lower(customer_email) = ?1 ORDER BY created_at",
        )?
        .query_map([&email], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut orders = Vec::with_capacity(refs.len());
    for r in &refs {
        orders.extend(load_order(conn, r)?);
    }
    let refs_json = serde_json::to_string(&refs).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let ids = |sql: &str| -> Result<Vec<i64>> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map(params![email, refs_json], |r| r.get(0))?;
        Ok(rows
            .collect::<rusqlite::Result<BTreeSet<i64>>>()?
            .into_iter()
            .collect())
    };
    let messages = ids("SELECT id FROM messages WHERE lower(from_addr) = ?1
           OR order_ref IN (SELECT value FROM json_each(?2))
           OR message_id IN (SELECT message_id FROM thread_ids
                             WHERE order_ref IN (SELECT value FROM json_each(?2)))")?;
    let outbox = ids(
        "SELECT id FROM outbox WHERE order_ref IN (SELECT value FROM json_each(?2))
           OR instr(lower(to_addrs), ?1) > 0",
    )?;
    // The sellers' alerts about their held messages carry those messages attached.
    let alerts: BTreeSet<i64> = ids(
        "SELECT o.id FROM outbox o JOIN command_tokens t ON t.message_id = o.message_id
         JOIN messages m ON m.message_id = t.held_message
         WHERE lower(m.from_addr) = ?1 AND ?2 IS NOT NULL", // ?2: `ids` binds both
    )?
    .into_iter()
    .collect();
    // `instr` found candidates; keep those with this exact address among the recipients.
    let mut stmt = conn.prepare("SELECT order_ref, lower(to_addrs) FROM outbox WHERE id = ?1")?;
    let mut theirs = Vec::with_capacity(outbox.len() + alerts.len());
    for id in outbox {
        if alerts.contains(&id) {
            continue;
        }
        let (order, to): (Option<String>, String) =
            stmt.query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if order.is_some_and(|o| refs.contains(&o))
            || to
                .split(',')
                .any(|a| a.trim().trim_matches(['<', '>']) == email)
        {
            theirs.push(id);
        }
    }
    theirs.extend(alerts);
    theirs.sort_unstable();
    let outbox = theirs;
    let payments = ids(
        "SELECT id FROM payments WHERE order_ref IN (SELECT value FROM json_each(?2))
           OR lower(payer) = ?1",
    )?;
    let feedback = ids(
        "SELECT id FROM feedback WHERE order_ref IN (SELECT value FROM json_each(?2))
           AND ?1 IS NOT NULL", // ?1: `ids` binds both
    )?;
    let message_ids: Vec<String> = {
        let mut ids: Vec<String> = Vec::new();
        for (table, rows) in [("messages", &messages), ("outbox", &outbox)] {
            let mut stmt =
                conn.prepare(&format!("SELECT message_id FROM {table} WHERE id = ?1"))?;
            for row in rows {
                ids.push(stmt.query_row([row], |r| r.get(0))?);
            }
        }
        ids
    };
    let ids_json =
        serde_json::to_string(&message_ids).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut stmt = conn.prepare(
        "SELECT id FROM events WHERE order_ref IN (SELECT value FROM json_each(?2))
           OR message_id IN (SELECT value FROM json_each(?3))
           OR instr(lower(detail), ?1) > 0
         ORDER BY id",
    )?;
    let events = stmt
        .query_map(params![email, refs_json, ids_json], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Footprint {
        email,
        orders,
        messages,
        outbox,
        payments,
        feedback,
        events,
    })
}

/// Everything held about the customer, as one JSON document.
pub fn customer_data(conn: &Connection, f: &Footprint) -> Result<Value> {
    let mut orders = Vec::new();
    for o in &f.orders {
        let mut stmt = conn.prepare(
            "SELECT line_no, sku, name, quantity, unit_price, line_total FROM order_lines
             WHERE order_ref = ?1 ORDER BY line_no",
        )?;
        let lines: Vec<Value> = stmt
            .query_map([&o.reference], |r| {
                Ok(json!({
                    "line": r.get::<_, i64>(0)?, "sku": r.get::<_, String>(1)?,
                    "name": r.get::<_, String>(2)?, "quantity": r.get::<_, i64>(3)?,
                    "unit_price": r.get::<_, String>(4)?, "line_total": r.get::<_, String>(5)?,
                }))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut stmt = conn.prepare(
            "SELECT rma, state, lines, credit, refund, exchange_ref, authorised_at, received_at
             FROM returns WHERE order_ref = ?1 ORDER BY authorised_at, rma",
        )?;
        let returns: Vec<Value> = stmt
            .query_map([&o.reference], |r| {
                let lines: String = r.get(2)?;
                Ok(json!({
                    "rma": r.get::<_, String>(0)?, "state": r.get::<_, String>(1)?,
                    "lines": serde_json::from_str::<Value>(&lines).unwrap_or(Value::String(lines)),
                    "credit": r.get::<_, String>(3)?, "refund": r.get::<_, String>(4)?,
                    "exchange": r.get::<_, Option<String>>(5)?,
                    "authorised_at": r.get::<_, String>(6)?,
                    "received_at": r.get::<_, Option<String>>(7)?,
                }))
            })?
            .collect::<rusqlite::Result<_>>()?;
        orders.push(json!({ "order": o, "lines": lines, "returns": returns }));
    }
    let messages = raw_rows(conn, "messages", "received_at", &f.messages)?;
    let sent = raw_rows(conn, "outbox", "created_at", &f.outbox)?;
    let mut payments = Vec::new();
    let mut stmt = conn.prepare(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = ?1"
    ))?;
    for id in &f.payments {
        payments.push(stmt.query_row([id], |r| PaymentRow::from_row(r, 0))?);
    }
    let mut feedback = Vec::new();
    let mut stmt = conn.prepare(&format!(
        "SELECT {FEEDBACK_COLUMNS} FROM feedback WHERE id = ?1"
    ))?;
    for id in &f.feedback {
        feedback.push(stmt.query_row([id], |r| FeedbackRow::from_row(r, 0))?);
    }
    let mut events = Vec::new();
    let mut stmt = conn
        .prepare("SELECT id, at, order_ref, message_id, kind, detail FROM events WHERE id = ?1")?;
    for id in &f.events {
        events.push(stmt.query_row([id], |r| {
            let detail: String = r.get(5)?;
            Ok(json!({
                "id": r.get::<_, i64>(0)?, "at": r.get::<_, String>(1)?,
                "order": r.get::<_, Option<String>>(2)?, "message_id": r.get::<_, Option<String>>(3)?,
                "kind": r.get::<_, String>(4)?,
                "detail": serde_json::from_str::<Value>(&detail).unwrap_or(Value::String(detail)),
            }))
        })?);
    }
    Ok(json!({
        "customer": f.email,
        "orders": orders,
        "payments": payments,
        "feedback": feedback,
        "messages_received": messages,
        "messages_sent": sent,
        "events": events,
    }))
}

fn raw_rows(conn: &Connection, table: &str, at: &str, rows: &[i64]) -> Result<Vec<Value>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT message_id, {at}, subject, raw, purged_at FROM {table} WHERE id = ?1"
    ))?;
    let mut out = Vec::with_capacity(rows.len());
    for id in rows {
        out.push(stmt.query_row([id], |r| {
            let raw: Vec<u8> = r.get(3)?;
            Ok(json!({
                "message_id": r.get::<_, String>(0)?, "at": r.get::<_, String>(1)?,
                "subject": r.get::<_, Option<String>>(2)?,
                "raw": String::from_utf8_lossy(&raw),
                "purged_at": r.get::<_, Option<String>>(4)?,
            }))
        })?);
    }
    Ok(out)
}

/// What an erasure changed, for the CLI (the `customer_erased` event holds the hashes).
#[derive(Debug, Serialize)]
pub struct Erasure {
    pub pseudonym: String,
    pub orders: Vec<String>,
    pub messages: usize,
    pub outbox: usize,
    pub payments: usize,
    pub feedback: usize,
    pub events: usize,
    /// Outgoing Message-IDs whose text changed, for the outbox folder's copies.
    pub outgoing: Vec<(String, Vec<u8>)>,
}

/// Orders a customer cannot be erased from yet: the shop still owes or expects something.
pub fn unfinished(f: &Footprint) -> Vec<String> {
    f.orders
        .iter()
        .filter(|o| {
            matches!(
                o.state,
                OrderState::AwaitingDetails
                    | OrderState::AwaitingApproval
                    | OrderState::AwaitingPayment
                    | OrderState::Paid
            ) || (o.refund_due && !o.refunded)
                || o.open_return().is_some()
        })
        .map(|o| format!("{} ({})", o.reference, o.state.as_str()))
        .collect()
}

/// Pseudonymise everything in `f` inside `tx`, and record it as one `customer_erased` event
/// naming the new hash of every rewritten row, so `verify` holds the rewritten form.
pub fn erase(
    tx: &Connection,
    f: &Footprint,
    pseudonym: &str,
    now: OffsetDateTime,
) -> Result<Erasure> {
    let terms = personal_terms(&f.email, &f.orders);
    let day = ts(now)[..10].to_string();
    let mut orders = serde_json::Map::new();
    for o in &f.orders {
        let mut o = o.clone();
        pseudonymise(&mut o, pseudonym, &terms);
        tx.execute(
            "UPDATE orders SET customer_email = ?2 WHERE reference = ?1",
            params![o.reference, pseudonym],
        )?;
        save_order(tx, &o, now)?;
        let doc = serde_json::to_string(&o).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        orders.insert(o.reference.clone(), json!(sha256_hex(doc.as_bytes())));
    }
    let mut messages = serde_json::Map::new();
    for id in &f.messages {
        let message_id: String =
            tx.query_row("SELECT message_id FROM messages WHERE id = ?1", [id], |r| {
                r.get(0)
            })?;
        let raw = placeholder(&message_id, &day, *id);
        let sha = sha256_hex(&raw);
        let attention = scrub_opt(tx, "messages", "attention", *id, &terms, pseudonym)?;
        tx.execute(
            "UPDATE messages SET raw = ?2, sha256 = ?3, subject = ?4, attention = ?7, erased_at = ?8,
               text_hash = NULL,
               from_addr = CASE WHEN lower(from_addr) = ?5 THEN ?6 ELSE from_addr END
             WHERE id = ?1",
            params![id, raw, sha, ERASED, f.email, pseudonym, attention, ts(now)],
        )?;
        messages.insert(id.to_string(), json!(sha));
    }
    let mut outbox = serde_json::Map::new();
    let mut outgoing = Vec::new();
    for id in &f.outbox {
        let (message_id, to, error): (String, String, Option<String>) = tx.query_row(
            "SELECT message_id, to_addrs, last_error FROM outbox WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let raw = placeholder(&message_id, &day, *id);
        let sha = sha256_hex(&raw);
        // Mail not yet sent is never sent now: its text is gone.
        tx.execute(
            "UPDATE outbox SET raw = ?2, sha256 = ?3, subject = ?4, to_addrs = ?5, last_error = ?6, erased_at = ?7,
               status = CASE WHEN status IN ('pending', 'sending') THEN 'failed' ELSE status END
             WHERE id = ?1",
            params![
                id,
                raw,
                sha,
                ERASED,
                scrub(&to, &terms, pseudonym),
                error.map(|e| scrub(&e, &terms, pseudonym).into_owned()),
                ts(now)
            ],
        )?;
        outbox.insert(id.to_string(), json!(sha));
        outgoing.push((message_id, raw));
    }
    let mut payments = serde_json::Map::new();
    for id in &f.payments {
        tx.execute(
            "UPDATE payments SET payer = ?2 WHERE id = ?1 AND payer IS NOT NULL",
            params![id, pseudonym],
        )?;
        let row = tx.query_row(
            &format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = ?1"),
            [id],
            |r| PaymentRow::from_row(r, 0),
        )?;
        payments.insert(id.to_string(), json!(row.digest()));
    }
    // What they wrote about the order goes; that they wrote, when, and the rating stay.
    let mut feedback = serde_json::Map::new();
    for id in &f.feedback {
        tx.execute(
            "UPDATE feedback SET text = ?2 WHERE id = ?1",
            params![id, ERASED],
        )?;
        let row = tx.query_row(
            &format!("SELECT {FEEDBACK_COLUMNS} FROM feedback WHERE id = ?1"),
            [id],
            |r| FeedbackRow::from_row(r, 0),
        )?;
        feedback.insert(id.to_string(), json!(row.digest()));
    }
    let orders_of: Vec<String> = f.orders.iter().map(|o| o.reference.clone()).collect();
    let invoices = super::invoices::erase(tx, &orders_of, &terms, pseudonym)?;
    let mut events = serde_json::Map::new();
    for id in &f.events {
        let detail: String =
            tx.query_row("SELECT detail FROM events WHERE id = ?1", [id], |r| {
                r.get(0)
            })?;
        let Ok(mut value) = serde_json::from_str::<Value>(&detail) else {
            continue;
        };
        if !scrub_json(&mut value, &terms, pseudonym) {
            continue;
        }
        let new = value.to_string();
        tx.execute(
            "UPDATE events SET detail = ?2 WHERE id = ?1",
            params![id, new],
        )?;
        events.insert(id.to_string(), json!(sha256_hex(new.as_bytes())));
    }
    // A server's last error may name the address it refused.
    let mut stmt =
        tx.prepare("SELECT server, last_error FROM server_contact WHERE last_error IS NOT NULL")?;
    let contacts: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (server, error) in contacts {
        if let std::borrow::Cow::Owned(clean) = scrub(&error, &terms, pseudonym) {
            tx.execute(
                "UPDATE server_contact SET last_error = ?2 WHERE server = ?1",
                params![server, clean],
            )?;
        }
    }
    // When a person last lifted their pause names them, and is no longer needed.
    tx.execute("DELETE FROM resumes WHERE scope = ?1", [&f.email])?;
    let erasure = Erasure {
        pseudonym: pseudonym.to_string(),
        orders: f.orders.iter().map(|o| o.reference.clone()).collect(),
        messages: messages.len(),
        outbox: outbox.len(),
        payments: payments.len(),
        feedback: feedback.len(),
        events: events.len(),
        outgoing,
    };
    insert_event(
        tx,
        now,
        None,
        None,
        "customer_erased",
        &json!({
            "pseudonym": pseudonym,
            "orders": orders,
            "messages": messages,
            "outbox": outbox,
            "payments": payments,
            "feedback": feedback,
            "invoices": invoices,
            "events": events,
        }),
    )?;
    Ok(erasure)
}

fn scrub_opt(
    tx: &Connection,
    table: &str,
    column: &str,
    id: i64,
    terms: &[String],
    pseudonym: &str,
) -> Result<Option<String>> {
    let value: Option<String> = tx.query_row(
        &format!("SELECT {column} FROM {table} WHERE id = ?1"),
        [id],
        |r| r.get(0),
    )?;
    Ok(value.map(|v| scrub(&v, terms, pseudonym).into_owned()))
}
