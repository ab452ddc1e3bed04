//! `mailcart verify`: walk the chains, the raw messages and the stock ledger, and report the
//! first break in each. Read-only.

use std::collections::{HashMap, HashSet};

use rusqlite::Connection;
use serde::Serialize;
use serde_json::Value;

use super::Result;
use super::chain::{GENESIS, event_link, stock_link};
use crate::mail::read::sha256_hex;

#[derive(Debug, Default, Serialize)]
pub struct VerifyReport {
    pub events: u64,
    pub events_head: String,
    pub stock_moves: u64,
    pub stock_head: String,
    pub messages_in: u64,
    pub messages_out: u64,
    pub purged: u64,
    pub orders: u64,
    pub payments: u64,
    pub feedback: u64,
    /// Invoices and credit notes, each rendered again and checked against its recorded hash.
    pub invoices: u64,
    /// Return authorisations, each checked against its order's document and the ledger.
    pub returns: u64,
    pub skus: u64,
    /// The first break found by each check, in the order the checks ran; empty when all hold.
    pub breaks: Vec<String>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.breaks.is_empty()
    }
}

/// What the chain says each raw copy must hash to, and which copies it allows to be gone.
#[derive(Default)]
struct Commitments {
    messages: HashMap<i64, String>,
    outbox: HashMap<i64, String>,
    /// Order reference -> the hash of its latest saved document.
    orders: HashMap<String, String>,
    payments: HashMap<i64, String>,
    feedback: HashMap<i64, String>,
    invoices: HashMap<i64, String>,
    purged_messages: HashSet<i64>,
    purged_outbox: HashSet<i64>,
    /// Event id -> the hash its rewritten detail must have (an erasure's doing).
    rewritten: HashMap<i64, String>,
}

impl Commitments {
    fn take(&mut self, kind: &str, order_ref: Option<&str>, detail: &Value) {
        let row = || detail.get("row").and_then(Value::as_i64);
        let sha = || {
            detail
                .get("sha256")
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        match kind {
            "order_saved" => {
                if let (Some(o), Some(s)) = (order_ref, sha()) {
                    self.orders.insert(o.to_string(), s);
                }
            }
            "message_stored" => {
                if let (Some(r), Some(s)) = (row(), sha()) {
                    self.messages.insert(r, s);
                }
            }
            "email_queued" => {
                if let (Some(r), Some(s)) = (row(), sha()) {
                    self.outbox.insert(r, s);
                }
            }
            "payment_recorded" => {
                if let (Some(r), Some(s)) = (row(), sha()) {
                    self.payments.insert(r, s);
                }
            }
            "feedback_recorded" => {
                if let (Some(r), Some(s)) = (row(), sha()) {
                    self.feedback.insert(r, s);
                }
            }
            "invoice_issued" => {
                if let (Some(r), Some(s)) = (row(), sha()) {
                    self.invoices.insert(r, s);
                }
            }
            "chain_started" | "customer_erased" => {
                if let Some(orders) = detail.get("orders").and_then(Value::as_object) {
                    for (k, v) in orders {
                        if let Some(v) = v.as_str() {
                            self.orders.insert(k.clone(), v.to_string());
                        }
                    }
                }
                map_into(detail.get("payments"), &mut self.payments);
                map_into(detail.get("feedback"), &mut self.feedback);
                map_into(detail.get("invoices"), &mut self.invoices);
                map_into(detail.get("messages"), &mut self.messages);
                map_into(detail.get("outbox"), &mut self.outbox);
                map_into(detail.get("events"), &mut self.rewritten);
            }
            "raw_messages_purged" => {
                set_into(detail.get("messages"), &mut self.purged_messages);
                set_into(detail.get("outbox"), &mut self.purged_outbox);
            }
            _ => {}
        }
    }
}

fn map_into(v: Option<&Value>, into: &mut HashMap<i64, String>) {
    for (k, v) in v.and_then(Value::as_object).into_iter().flatten() {
        if let (Ok(k), Some(v)) = (k.parse(), v.as_str()) {
            into.insert(k, v.to_string());
        }
    }
}

fn set_into(v: Option<&Value>, into: &mut HashSet<i64>) {
    into.extend(
        v.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_i64),
    );
}

/// The kinds whose detail `verify` reads; every other detail is only hashed.
const COMMITTING: &[&str] = &[
    "order_saved",
    "payment_recorded",
    "feedback_recorded",
    "invoice_issued",
    "message_stored",
    "email_queued",
    "chain_started",
    "customer_erased",
    "raw_messages_purged",
];

pub fn verify(conn: &Connection) -> Result<VerifyReport> {
    let mut report = VerifyReport::default();
    let mut commitments = Commitments::default();
    if let Some(b) = events(conn, &mut report, &mut commitments)? {
        report.breaks.push(b);
    }
    if let Some(b) = stock_moves(conn, &mut report)? {
        report.breaks.push(b);
    }
    if let Some(b) = raw_copies(conn, &mut report, &commitments, Direction::In)? {
        report.breaks.push(b);
    }
    if let Some(b) = raw_copies(conn, &mut report, &commitments, Direction::Out)? {
        report.breaks.push(b);
    }
    if let Some(b) = orders(conn, &mut report, &commitments)? {
        report.breaks.push(b);
    }
    let (n, b) = digested(
        conn,
        ("payments", "payment"),
        super::payments::PAYMENT_COLUMNS,
        &commitments.payments,
        |r| Ok(super::payments::PaymentRow::from_row(r, 1)?.digest()),
    )?;
    report.payments = n;
    report.breaks.extend(b);
    let (n, b) = digested(
        conn,
        ("feedback", "feedback"),
        super::feedback::FEEDBACK_COLUMNS,
        &commitments.feedback,
        |r| Ok(super::feedback::FeedbackRow::from_row(r, 1)?.digest()),
    )?;
    report.feedback = n;
    report.breaks.extend(b);
    let (_, b) = digested(
        conn,
        ("invoices", "invoice"),
        super::invoices::INVOICE_COLUMNS,
        &commitments.invoices,
        |r| Ok(super::invoices::InvoiceRow::from_row(r, 1)?.digest()),
    )?;
    report.breaks.extend(b);
    let (n, b) = super::invoices::check(conn)?;
    report.invoices = n;
    report.breaks.extend(b);
    if let Some(b) = ledger(conn, &mut report)? {
        report.breaks.push(b);
    }
    let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check != "ok" {
        report
            .breaks
            .push(format!("SQLite integrity check: {check}"));
    }
    Ok(report)
}

fn events(
    conn: &Connection,
    report: &mut VerifyReport,
    commitments: &mut Commitments,
) -> Result<Option<String>> {
    let mut stmt = conn.prepare(
        "SELECT id, at, order_ref, message_id, kind, detail, detail_sha256, prev_hash, hash
         FROM events ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    let mut prev = GENESIS.to_string();
    // Details that differ from what the chain holds; each must be an erasure's rewrite.
    let mut changed: Vec<(i64, String)> = Vec::new();
    // After a break the walk goes on (from the stored hash), so that the checks of the raw
    // copies still know every hash the chain holds and report only breaks of their own.
    let mut first_break = None;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let at: String = r.get(1)?;
        let order_ref: Option<String> = r.get(2)?;
        let message_id: Option<String> = r.get(3)?;
        let kind: String = r.get(4)?;
        let detail: String = r.get(5)?;
        let detail_sha: String = r.get::<_, Option<String>>(6)?.unwrap_or_default();
        let prev_hash: Option<String> = r.get(7)?;
        let hash: Option<String> = r.get(8)?;
        let expect = event_link(
            &prev,
            id,
            &at,
            order_ref.as_deref(),
            message_id.as_deref(),
            &kind,
            &detail_sha,
        );
        if first_break.is_none() {
            if prev_hash.as_deref() != Some(prev.as_str()) {
                first_break = Some(format!(
                    "event {id}: does not follow the event before it (an event was removed, inserted or reordered)"
                ));
            } else if hash.as_deref() != Some(expect.as_str()) {
                first_break = Some(format!(
                    "event {id} ({kind}): its time, order, message, kind or hash was changed after it was written"
                ));
            }
        }
        let actual = sha256_hex(detail.as_bytes());
        if actual != detail_sha {
            changed.push((id, actual));
        }
        if COMMITTING.contains(&kind.as_str()) {
            let value: Value = serde_json::from_str(&detail).unwrap_or(Value::Null);
            commitments.take(&kind, order_ref.as_deref(), &value);
        }
        report.events += 1;
        prev = hash.unwrap_or(expect);
    }
    report.events_head = prev;
    if first_break.is_some() {
        return Ok(first_break);
    }
    for (id, actual) in changed {
        if commitments.rewritten.get(&id) != Some(&actual) {
            return Ok(Some(format!(
                "event {id}: its detail was changed after it was written"
            )));
        }
    }
    Ok(None)
}

fn stock_moves(conn: &Connection, report: &mut VerifyReport) -> Result<Option<String>> {
    let mut stmt = conn.prepare(
        "SELECT id, at, sku, kind, quantity, order_ref, reason, prev_hash, hash FROM stock_moves ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    let mut prev = GENESIS.to_string();
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let expect = stock_link(
            &prev,
            id,
            &r.get::<_, String>(1)?,
            &r.get::<_, String>(2)?,
            &r.get::<_, String>(3)?,
            r.get(4)?,
            r.get::<_, Option<String>>(5)?.as_deref(),
            &r.get::<_, String>(6)?,
        );
        if r.get::<_, Option<String>>(7)?.as_deref() != Some(prev.as_str()) {
            return Ok(Some(format!(
                "stock move {id}: does not follow the move before it (a move was removed, inserted or reordered)"
            )));
        }
        if r.get::<_, Option<String>>(8)?.as_deref() != Some(expect.as_str()) {
            return Ok(Some(format!(
                "stock move {id}: was changed after it was written"
            )));
        }
        report.stock_moves += 1;
        prev = expect;
    }
    report.stock_head = prev;
    Ok(None)
}

#[derive(Clone, Copy)]
enum Direction {
    In,
    Out,
}

fn raw_copies(
    conn: &Connection,
    report: &mut VerifyReport,
    commitments: &Commitments,
    direction: Direction,
) -> Result<Option<String>> {
    let (sql, committed, purged, what) = match direction {
        Direction::In => (
            "SELECT id, sha256, raw, purged_at IS NOT NULL FROM messages ORDER BY id",
            &commitments.messages,
            &commitments.purged_messages,
            "inbound message",
        ),
        Direction::Out => (
            "SELECT id, sha256, raw, purged_at IS NOT NULL FROM outbox ORDER BY id",
            &commitments.outbox,
            &commitments.purged_outbox,
            "outgoing message",
        ),
    };
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    let mut seen = 0usize;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let sha: Option<String> = r.get(1)?;
        let is_purged: bool = r.get(3)?;
        let Some(want) = committed.get(&id) else {
            return Ok(Some(format!(
                "{what} {id}: the record has no hash for it (added behind mailcart's back)"
            )));
        };
        seen += 1;
        if sha.as_ref() != Some(want) {
            return Ok(Some(format!("{what} {id}: its hash was changed")));
        }
        if is_purged {
            if !purged.contains(&id) {
                return Ok(Some(format!(
                    "{what} {id}: marked purged, but no purge was recorded"
                )));
            }
            report.purged += 1;
        } else {
            let raw = r.get_ref(2)?.as_blob().unwrap_or_default();
            if sha256_hex(raw) != *want {
                return Ok(Some(format!(
                    "{what} {id}: its raw copy does not match its hash"
                )));
            }
        }
        match direction {
            Direction::In => report.messages_in += 1,
            Direction::Out => report.messages_out += 1,
        }
    }
    if seen < committed.len() {
        return Ok(Some(format!(
            "{} {what}s recorded in the chain are missing",
            committed.len() - seen
        )));
    }
    Ok(None)
}

fn ledger(conn: &Connection, report: &mut VerifyReport) -> Result<Option<String>> {
    let mut stmt = conn.prepare(
        "SELECT COALESCE(s.sku, m.sku), COALESCE(s.on_hand, 0), COALESCE(s.reserved, 0),
                COALESCE(m.on_hand, 0), COALESCE(m.reserved, 0)
         FROM stock s FULL OUTER JOIN (
           SELECT sku,
             SUM(CASE WHEN kind IN ('receipt', 'return', 'adjustment') THEN quantity
                      WHEN kind = 'sale' THEN -quantity ELSE 0 END) AS on_hand,
             SUM(CASE WHEN kind = 'reserve' THEN quantity
                      WHEN kind IN ('release', 'sale') THEN -quantity ELSE 0 END) AS reserved
           FROM stock_moves GROUP BY sku) m ON m.sku = s.sku
         ORDER BY 1",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let sku: String = r.get(0)?;
        let (on_hand, reserved, ledger_on_hand, ledger_reserved): (i64, i64, i64, i64) =
            (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
        if (on_hand, reserved) != (ledger_on_hand, ledger_reserved) {
            return Ok(Some(format!(
                "stock of {sku}: {on_hand} on hand, {reserved} reserved, but the ledger sums to {ledger_on_hand} and {ledger_reserved}"
            )));
        }
        report.skus += 1;
    }
    Ok(None)
}

/// Each order's row and lines against the version the chain holds.
fn orders(
    conn: &Connection,
    report: &mut VerifyReport,
    commitments: &Commitments,
) -> Result<Option<String>> {
    let mut stmt = conn.prepare(
        "SELECT reference, state, customer_email, currency, subtotal, shipping, tax, total, doc
         FROM orders ORDER BY reference",
    )?;
    let mut lines = conn.prepare(
        "SELECT sku, quantity, unit_price, line_total FROM order_lines WHERE order_ref = ?1 ORDER BY line_no",
    )?;
    let mut returns = conn.prepare(
        "SELECT rma, state, lines, credit, refund, exchange_ref FROM returns WHERE order_ref = ?1 ORDER BY rowid",
    )?;
    let mut restocked = conn.prepare(
        "SELECT sku, SUM(quantity) FROM stock_moves WHERE order_ref = ?1 AND kind = 'return'
           AND reason LIKE 'returned (%' GROUP BY sku ORDER BY sku",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let reference: String = r.get(0)?;
        let doc: String = r.get(8)?;
        let Some(want) = commitments.orders.get(&reference) else {
            return Ok(Some(format!(
                "order {reference}: the record has no version of it"
            )));
        };
        if sha256_hex(doc.as_bytes()) != *want {
            return Ok(Some(format!("order {reference}: its document was changed")));
        }
        let order: crate::core::order::Order = match serde_json::from_str(&doc) {
            Ok(o) => o,
            Err(e) => return Ok(Some(format!("order {reference}: unreadable document: {e}"))),
        };
        let t = &order.totals;
        let columns: [String; 7] = [
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
        ];
        let from_doc = [
            order.state.as_str().to_string(),
            order.customer.email.clone(),
            order.currency.clone(),
            t.subtotal.to_string(),
            t.shipping.to_string(),
            t.tax.to_string(),
            t.total.to_string(),
        ];
        if columns != from_doc {
            return Ok(Some(format!(
                "order {reference}: its state, customer or amounts differ from its recorded document"
            )));
        }
        let stored: Vec<(String, i64, String, String)> = lines
            .query_map([&reference], |l| {
                Ok((l.get(0)?, l.get(1)?, l.get(2)?, l.get(3)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let expected: Vec<(String, i64, String, String)> = order
            .lines
            .iter()
            .map(|l| {
                (
                    l.sku.clone(),
                    i64::from(l.quantity),
                    l.unit_price.to_string(),
                    l.line_total.to_string(),
                )
            })
            .collect();
        if stored != expected {
            return Ok(Some(format!(
                "order {reference}: its lines differ from its recorded document"
            )));
        }
        if let Some(b) = order_returns(&order, &mut returns, &mut restocked)? {
            return Ok(Some(b));
        }
        report.returns += order.returns.len() as u64;
        report.orders += 1;
    }
    if report.orders < commitments.orders.len() as u64 {
        return Ok(Some(format!(
            "{} orders recorded in the chain are missing",
            commitments.orders.len() as u64 - report.orders
        )));
    }
    Ok(None)
}

type ReturnRow = (String, String, String, String, String, Option<String>);

/// An order's return rows against its document, and the goods it says came back against the
/// ledger's return moves.
fn order_returns(
    order: &crate::core::order::Order,
    returns: &mut rusqlite::Statement,
    restocked: &mut rusqlite::Statement,
) -> Result<Option<String>> {
    use crate::core::order::ReturnState;
    let reference = &order.reference;
    let stored: Vec<ReturnRow> = returns
        .query_map([reference], |r| {
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
    let expected: Vec<ReturnRow> = order
        .returns
        .iter()
        .map(|r| {
            (
                r.rma.clone(),
                r.state.as_str().to_string(),
                super::orders::return_lines_json(r),
                r.credit.to_string(),
                r.refund.to_string(),
                r.exchange.clone(),
            )
        })
        .collect();
    if stored != expected {
        return Ok(Some(format!(
            "order {reference}: its returns differ from its recorded document"
        )));
    }
    let in_ledger: Vec<(String, i64)> = restocked
        .query_map([reference], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut back: std::collections::BTreeMap<String, i64> = Default::default();
    for r in order
        .returns
        .iter()
        .filter(|r| r.state != ReturnState::Authorised)
    {
        for l in &r.lines {
            *back.entry(l.sku.clone()).or_default() += i64::from(l.quantity);
        }
    }
    if in_ledger != back.into_iter().collect::<Vec<_>>() {
        return Ok(Some(format!(
            "order {reference}: the goods its returns say came back differ from the ledger's return moves"
        )));
    }
    for l in &order.lines {
        if order.returned(&l.sku) > l.quantity {
            return Ok(Some(format!(
                "order {reference}: more of {} came back than was sold",
                l.sku
            )));
        }
    }
    Ok(None)
}

/// Each row of a table the chain holds a digest of (`payment_recorded`, `feedback_recorded`,
/// or an erasure's rewrite), against it: how many rows, and the first break.
fn digested(
    conn: &Connection,
    (table, what): (&str, &str),
    columns: &str,
    committed: &HashMap<i64, String>,
    digest: impl Fn(&rusqlite::Row) -> rusqlite::Result<String>,
) -> Result<(u64, Option<String>)> {
    let mut stmt = conn.prepare(&format!("SELECT id, {columns} FROM {table} ORDER BY id"))?;
    let mut rows = stmt.query([])?;
    let mut n = 0u64;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        if committed.get(&id) != Some(&digest(r)?) {
            return Ok((
                n,
                Some(format!(
                    "{what} {id}: changed or added behind mailcart's back"
                )),
            ));
        }
        n += 1;
    }
    if n < committed.len() as u64 {
        return Ok((
            n,
            Some(format!(
                "{} {table} recorded in the chain are missing",
                committed.len() as u64 - n
            )),
        ));
    }
    Ok((n, None))
}

/// Whether an event or stock move with this hash is in the chains.
pub fn chain_has(conn: &Connection, hash: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM events WHERE hash = ?1) OR EXISTS(SELECT 1 FROM stock_moves WHERE hash = ?1)",
        [hash],
        |r| r.get(0),
    )?)
}
