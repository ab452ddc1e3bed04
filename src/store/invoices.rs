//! Invoices and credit notes as the books keep them: numbered in the writer's transaction (the
//! one that records the payment or the cancellation), so a number is never skipped or given
//! twice, and committed to the events chain (`invoice_issued`) as payments are.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use time::OffsetDateTime;

use super::{Result, StoreError, ts};
use crate::config::Config;
use crate::core::invoice::{self, InvoiceDoc, InvoiceKind};
use crate::core::order::{Order, OrderState};
use crate::mail::read::sha256_hex;

/// A row of `invoices`, as the books, the export and `verify` read it.
#[derive(Debug, Clone, Serialize)]
pub struct InvoiceRow {
    pub seq: i64,
    pub number: String,
    pub kind: String,
    pub order_ref: String,
    pub issued_at: String,
    pub doc: String,
    pub pdf_sha256: String,
}

pub const INVOICE_COLUMNS: &str = "seq, number, kind, order_ref, issued_at, doc, pdf_sha256";

impl InvoiceRow {
    /// Read from a row selected with `INVOICE_COLUMNS` starting at column `at`.
    pub fn from_row(r: &rusqlite::Row, at: usize) -> rusqlite::Result<InvoiceRow> {
        Ok(InvoiceRow {
            seq: r.get(at)?,
            number: r.get(at + 1)?,
            kind: r.get(at + 2)?,
            order_ref: r.get(at + 3)?,
            issued_at: r.get(at + 4)?,
            doc: r.get(at + 5)?,
            pdf_sha256: r.get(at + 6)?,
        })
    }

    /// The SHA-256 of the row as a JSON array in column order (what the chain holds).
    pub fn digest(&self) -> String {
        let fields = serde_json::json!([
            self.seq,
            self.number,
            self.kind,
            self.order_ref,
            self.issued_at,
            self.doc,
            self.pdf_sha256
        ]);
        sha256_hex(fields.to_string().as_bytes())
    }

    pub fn parsed(&self) -> Result<InvoiceDoc> {
        serde_json::from_str(&self.doc)
            .map_err(|e| StoreError::Corrupt(format!("invoice {}: {e}", self.number)))
    }
}

/// A document just issued, with its PDF (to attach without rendering it twice).
pub struct Issued {
    pub order_ref: String,
    pub kind: InvoiceKind,
    pub number: String,
    pub pdf: Vec<u8>,
}

/// What `order`, as this decision leaves it, is owed: its invoice when it has just been paid,
/// a credit note when a paid order was cancelled. Nothing when `[invoices] enabled` is off,
/// or when the document exists already (an order is invoiced once, and credited once).
pub fn issue_for(
    tx: &Connection,
    config: &Config,
    order: &Order,
    now: OffsetDateTime,
    language: &str,
) -> Result<Option<Issued>> {
    if !config.invoices.enabled {
        return Ok(None);
    }
    let doc = match order.state {
        OrderState::Paid => {
            if find(tx, &order.reference, InvoiceKind::Invoice)?.is_some() {
                return Ok(None);
            }
            invoice::invoice(order, config, next_seq(tx)?, now, language)
        }
        OrderState::Cancelled => {
            let Some(inv) = find(tx, &order.reference, InvoiceKind::Invoice)? else {
                return Ok(None);
            };
            if find(tx, &order.reference, InvoiceKind::CreditNote)?.is_some() {
                return Ok(None);
            }
            invoice::credit_note(&inv.parsed()?, &config.invoices.prefix, next_seq(tx)?, now)
        }
        _ => return Ok(None),
    };
    let mut row = InvoiceRow {
        seq: doc.seq,
        number: doc.number.clone(),
        kind: doc.kind.as_str().to_string(),
        order_ref: doc.order_ref.clone(),
        issued_at: ts(now),
        doc: serde_json::to_string(&doc)
            .map_err(|e| StoreError::Input(format!("invoice {}: {e}", doc.number)))?,
        pdf_sha256: String::new(),
    };
    // Rendered from the snapshot as stored, exactly as `mailcart invoice` will render it.
    let pdf = pdf(&row)?;
    row.pdf_sha256 = sha256_hex(&pdf);
    tx.prepare_cached(
        "INSERT INTO invoices (seq, number, kind, order_ref, issued_at, doc, pdf_sha256)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        row.seq,
        row.number,
        row.kind,
        row.order_ref,
        row.issued_at,
        row.doc,
        row.pdf_sha256
    ])?;
    let id = tx.last_insert_rowid();
    let detail = serde_json::json!({
        "row": id,
        "number": row.number,
        "kind": row.kind,
        "sha256": row.digest(),
    });
    super::insert_event(
        tx,
        now,
        Some(&row.order_ref),
        None,
        "invoice_issued",
        &detail,
    )?;
    Ok(Some(Issued {
        order_ref: row.order_ref,
        kind: doc.kind,
        number: row.number,
        pdf,
    }))
}

/// The next number in the shop's one sequence. The caller holds the write transaction, so no
/// other writer can take the same one.
fn next_seq(tx: &Connection) -> Result<i64> {
    Ok(tx
        .prepare_cached("SELECT COALESCE(MAX(seq), 0) + 1 FROM invoices")?
        .query_row([], |r| r.get(0))?)
}

/// The order's invoice or credit note, if it has one.
pub fn find(conn: &Connection, order_ref: &str, kind: InvoiceKind) -> Result<Option<InvoiceRow>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {INVOICE_COLUMNS} FROM invoices WHERE order_ref = ?1 AND kind = ?2"
        ))?
        .query_row(params![order_ref, kind.as_str()], |r| {
            InvoiceRow::from_row(r, 0)
        })
        .optional()?)
}

/// The document numbered `number`, if any.
pub fn by_number(conn: &Connection, number: &str) -> Result<Option<InvoiceRow>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {INVOICE_COLUMNS} FROM invoices WHERE number = ?1"
        ))?
        .query_row([number], |r| InvoiceRow::from_row(r, 0))
        .optional()?)
}

/// Every invoice and credit note, in number order.
pub fn all(conn: &Connection) -> Result<Vec<InvoiceRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices ORDER BY seq"
    ))?;
    let rows = stmt
        .query_map([], |r| InvoiceRow::from_row(r, 0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// The PDF of a stored document, rendered again from its snapshot.
pub fn pdf(row: &InvoiceRow) -> Result<Vec<u8>> {
    crate::invoice::render(&row.parsed()?).map_err(|e| StoreError::Input(e.to_string()))
}

/// `verify`'s check of the numbers and files: the sequence runs 1, 2, 3 ... with no gap, each
/// row's number and kind are its snapshot's, and each snapshot renders to the PDF whose hash
/// was recorded. The first break, if any; and how many documents were checked.
pub fn check(conn: &Connection) -> Result<(u64, Option<String>)> {
    let mut n = 0u64;
    for row in all(conn)? {
        n += 1;
        if row.seq != n as i64 {
            return Ok((
                n,
                Some(format!(
                    "invoice numbers: {} follows number {} of the sequence (a gap)",
                    row.number,
                    n - 1
                )),
            ));
        }
        let doc = match row.parsed() {
            Ok(d) => d,
            Err(e) => return Ok((n, Some(e.to_string()))),
        };
        if doc.number != row.number || doc.seq != row.seq || doc.kind.as_str() != row.kind {
            return Ok((
                n,
                Some(format!(
                    "invoice {}: its number or kind differs from its snapshot",
                    row.number
                )),
            ));
        }
        let pdf = match crate::invoice::render(&doc) {
            Ok(p) => p,
            Err(e) => return Ok((n, Some(format!("invoice {}: {e}", row.number)))),
        };
        if sha256_hex(&pdf) != row.pdf_sha256 {
            return Ok((
                n,
                Some(format!(
                    "invoice {}: its PDF rendered again does not match the hash recorded when it was sent",
                    row.number
                )),
            ));
        }
    }
    Ok((n, None))
}

/// `customer erase`: the customer's name, address and email on the invoices of `orders`, and
/// the payers' names, become the pseudonym; numbers, dates, items and amounts stay. Each
/// rewritten row's new digest, by row id, for the `customer_erased` event (which `verify`
/// then holds the rows to).
pub fn erase(
    tx: &Connection,
    orders: &[String],
    terms: &[String],
    pseudonym: &str,
) -> Result<serde_json::Map<String, serde_json::Value>> {
    let mut digests = serde_json::Map::new();
    let mut stmt = tx.prepare(&format!(
        "SELECT id, {INVOICE_COLUMNS} FROM invoices WHERE order_ref = ?1 ORDER BY id"
    ))?;
    for order in orders {
        let rows: Vec<(i64, InvoiceRow)> = stmt
            .query_map([order], |r| Ok((r.get(0)?, InvoiceRow::from_row(r, 1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (id, mut row) in rows {
            let mut doc: InvoiceDoc = row.parsed()?;
            doc.customer.name = pseudonym.to_string();
            doc.customer.email = Some(pseudonym.to_string());
            doc.customer.address.clear();
            for p in &mut doc.paid {
                if let Some(payer) = &mut p.payer {
                    *payer = crate::core::erase::scrub(payer, terms, pseudonym).into_owned();
                }
            }
            row.doc = serde_json::to_string(&doc)
                .map_err(|e| StoreError::Input(format!("invoice {}: {e}", row.number)))?;
            row.pdf_sha256 = sha256_hex(&pdf(&row)?);
            tx.execute(
                "UPDATE invoices SET doc = ?2, pdf_sha256 = ?3 WHERE id = ?1",
                params![id, row.doc, row.pdf_sha256],
            )?;
            digests.insert(id.to_string(), serde_json::json!(row.digest()));
        }
    }
    Ok(digests)
}
