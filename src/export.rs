//! `mailcart export`: the record of a period (or one order's dossier) as files an auditor can
//! check without mailcart: CSV (RFC 4180, UTF-8, ISO times, decimal strings with a dot) or
//! JSON lines, the raw messages as .eml, and a MANIFEST that `sha256sum -c` reads.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rusqlite::Connection;
use rusqlite::types::ValueRef;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::store::{self, ts};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("writing {path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Input(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    fn ext(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }
}

/// What to export: a period (`from` inclusive, `to` exclusive) or one order.
pub struct Selection {
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub order: Option<String>,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct ExportSummary {
    pub files: Vec<(String, u64)>,
    pub messages: u64,
    pub chain_head: String,
    pub verified: bool,
}

/// The tables, each with the time column its period is chosen by (or `first..last`, a span:
/// an order belongs to every period it was alive in, from creation to its last change) and the
/// column naming its order. Columns are listed, never `*`, so that the files keep their shape as the schema grows.
const TABLES: &[(&str, &str, &str, &str)] = &[
    (
        "orders",
        "o.created_at..o.updated_at",
        "o.reference",
        "SELECT o.reference, o.state, o.customer_email, json_extract(o.doc, '$.customer.name') AS customer_name,
                json_extract(o.doc, '$.country_code') AS ship_country, o.currency, o.subtotal, o.shipping,
                o.tax, o.total, o.created_at, o.updated_at, json_extract(o.doc, '$.paid_at') AS paid_at,
                COALESCE(json_extract(o.doc, '$.revision'), 0) + 1 AS revision,
                json_extract(o.doc, '$.exchange_for') AS exchange_for,
                coalesce(json_extract(o.doc, '$.credit'), '0') AS credit,
                CASE WHEN json_extract(o.doc, '$.refund_due') THEN 1 ELSE 0 END AS refund_due
         FROM orders o WHERE {where} ORDER BY o.created_at, o.reference",
    ),
    (
        "order_lines",
        "o.created_at..o.updated_at",
        "o.reference",
        "SELECT l.order_ref, l.line_no, l.sku, l.name, l.quantity, l.unit_price, l.line_total
         FROM order_lines l JOIN orders o ON o.reference = l.order_ref WHERE {where}
         ORDER BY o.created_at, l.order_ref, l.line_no",
    ),
    (
        "returns",
        "o.created_at..o.updated_at",
        "o.reference",
        "SELECT r.rma, r.order_ref, r.state, r.lines, r.credit, r.refund, r.exchange_ref,
                r.authorised_at, r.received_at
         FROM returns r JOIN orders o ON o.reference = r.order_ref WHERE {where}
         ORDER BY o.created_at, r.order_ref, r.authorised_at, r.rma",
    ),
    (
        "payments",
        "p.at",
        "p.order_ref",
        "SELECT p.id, p.at, p.order_ref, p.message_id, p.provider, p.transaction_id, p.amount,
                p.currency, p.payer, p.outcome FROM payments p WHERE {where} ORDER BY p.id",
    ),
    (
        "feedback",
        "f.at",
        "f.order_ref",
        "SELECT f.id, f.at, f.order_ref, f.message_id, f.rating, f.text FROM feedback f
         WHERE {where} ORDER BY f.id",
    ),
    (
        "invoices",
        "i.issued_at",
        "i.order_ref",
        "SELECT i.seq, i.number, i.kind, i.order_ref, i.issued_at,
                json_extract(i.doc, '$.cancels') AS cancels,
                json_extract(i.doc, '$.customer.name') AS customer_name,
                json_extract(i.doc, '$.currency') AS currency, json_extract(i.doc, '$.net') AS net,
                json_extract(i.doc, '$.tax') AS tax, json_extract(i.doc, '$.total') AS total,
                json_extract(i.doc, '$.paid_total') AS paid, i.pdf_sha256,
                'invoices/invoice-' || i.number || '.pdf' AS file
         FROM invoices i WHERE {where} ORDER BY i.seq",
    ),
    (
        "stock_moves",
        "m.at",
        "m.order_ref",
        "SELECT m.id, m.at, m.sku, m.kind, m.quantity, m.order_ref, m.reason, m.prev_hash, m.hash
         FROM stock_moves m WHERE {where} ORDER BY m.id",
    ),
    (
        "events",
        "e.at",
        "e.order_ref",
        "SELECT e.id, e.at, e.order_ref, e.message_id, e.kind, e.detail, e.detail_sha256,
                e.prev_hash, e.hash FROM events e WHERE {where} ORDER BY e.id",
    ),
];

const MESSAGES: &str =
    "SELECT 'in' AS direction, m.id, m.message_id, m.received_at AS at, m.order_ref,
        m.from_addr AS sender, '' AS recipients, m.subject, m.kind AS kind, m.sha256, m.purged_at
     FROM messages m WHERE {where_in}
     UNION ALL
     SELECT 'out', o.id, o.message_id, o.created_at, o.order_ref, '', o.to_addrs, o.subject,
        o.template, o.sha256, o.purged_at
     FROM outbox o WHERE {where_out}
     ORDER BY 4, 1, 2";

/// The PDFs of the period's invoices and credit notes, rendered again from the record, as
/// `invoices/invoice-<number>.pdf` (the file `invoices.csv` names).
fn write_invoices(
    tx: &Connection,
    out: &Path,
    sel: &Selection,
    bound: &Bound,
    manifest: &mut Vec<(String, String)>,
) -> Result<(), ExportError> {
    let sql = format!(
        "SELECT i.id, {} FROM invoices i WHERE {} ORDER BY i.seq",
        store::invoices::INVOICE_COLUMNS
            .split(", ")
            .map(|c| format!("i.{c}"))
            .collect::<Vec<_>>()
            .join(", "),
        condition("i.issued_at", "i.order_ref", sel)
    );
    let mut stmt = tx.prepare(&sql)?;
    let params = bound.params(&stmt);
    let rows: Vec<store::invoices::InvoiceRow> = stmt
        .query_map(params.as_slice(), |r| {
            store::invoices::InvoiceRow::from_row(r, 1)
        })?
        .collect::<rusqlite::Result<_>>()?;
    if rows.is_empty() {
        return Ok(());
    }
    let dir = out.join("invoices");
    crate::fsutil::create_private_dir(&dir).map_err(|error| ExportError::Io {
        path: dir.clone(),
        error,
    })?;
    for row in rows {
        let pdf = store::invoices::pdf(&row)?;
        let name = format!("invoices/{}", crate::invoice::file_name(&row.number));
        let path = out.join(&name);
        crate::fsutil::write_private(&path, &pdf)
            .map_err(|error| ExportError::Io { path, error })?;
        manifest.push((crate::mail::read::sha256_hex(&pdf), name));
    }
    Ok(())
}

/// What tells two read transactions apart: every change to what `verify` reads appends to one
/// of the chains.
fn snapshot(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row(
        "SELECT (SELECT coalesce(max(id), 0) FROM events), (SELECT coalesce(max(id), 0) FROM stock_moves)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

fn verify_beside(path: &Path) -> Result<((i64, i64), store::VerifyReport), ExportError> {
    let mut conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let tx = conn.transaction()?;
    let moment = snapshot(&tx)?;
    Ok((moment, store::verify(&tx)?))
}

fn condition(time_col: &str, ref_col: &str, sel: &Selection) -> String {
    if sel.order.is_some() {
        format!("{ref_col} = :order")
    } else if sel.from.is_none() && sel.to.is_none() {
        // Everything: no time index to walk, and the rows come in id order without a sort.
        "1 = 1".to_string()
    } else if let Some((first, last)) = time_col.split_once("..") {
        format!("{first} < :to AND {last} >= :from")
    } else {
        format!("{time_col} >= :from AND {time_col} < :to")
    }
}

pub fn export(
    conn: &mut Connection,
    out: &Path,
    format: Format,
    sel: &Selection,
    now: OffsetDateTime,
) -> Result<ExportSummary, ExportError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| ExportError::Io { path, error }
    };
    if out.exists() && std::fs::read_dir(out).map_err(io(out))?.next().is_some() {
        return Err(ExportError::Input(format!(
            "{} is not empty: an export goes into a folder of its own",
            out.display()
        )));
    }
    crate::fsutil::create_private_dir(&out.join("messages")).map_err(io(out))?;
    let bound = Bound {
        from: sel.from.map(ts).unwrap_or_default(),
        // Past every timestamp we write (they start with a 4-digit year).
        to: sel.to.map(ts).unwrap_or_else(|| "9999".into()),
        order: sel.order.clone().unwrap_or_default(),
    };
    if let Some(order) = &sel.order
        && store::load_order(conn, order)?.is_none()
    {
        return Err(ExportError::Input(format!("no order {order}")));
    }
    let mut summary = ExportSummary::default();
    let mut progress = Progress::new();
    let mut reported = None;
    // One read transaction: every file shows the same moment, whatever the daemon writes.
    // `verify` (a third of the time on a large record) runs beside it on a second connection;
    // its verdict counts only if it read the same moment, else it runs again in this one.
    let path = conn.path().filter(|p| !p.is_empty()).map(PathBuf::from);
    let tx = conn.transaction()?;
    let moment = snapshot(&tx)?;
    std::thread::scope(|scope| -> Result<(), ExportError> {
        let beside = path.map(|p| scope.spawn(move || verify_beside(&p)));
        let mut manifest: Vec<(String, String)> = Vec::new();
        for (name, time_col, ref_col, sql) in TABLES {
            let sql = sql.replace("{where}", &condition(time_col, ref_col, sel));
            let file = format!("{name}.{}", format.ext());
            let mut stmt = tx.prepare(&sql)?;
            let params = bound.params(&stmt);
            let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
            let path = out.join(&file);
            let mut writer = TableWriter::create(&path, format, &columns).map_err(io(&path))?;
            let mut rows = stmt.query(params.as_slice())?;
            let mut n = 0u64;
            while let Some(r) = rows.next()? {
                writer.row(r, columns.len())?;
                n += 1;
                progress.tick(name, n);
            }
            let hash = writer.finish().map_err(io(&path))?;
            progress.done(name, n);
            summary.files.push((file.clone(), n));
            manifest.push((hash, file));
        }
        write_invoices(&tx, out, sel, &bound, &mut manifest)?;

        let sql = MESSAGES
            .replace(
                "{where_in}",
                &condition("m.received_at", "m.order_ref", sel),
            )
            .replace(
                "{where_out}",
                &condition("o.created_at", "o.order_ref", sel),
            );
        let mut stmt = tx.prepare(&sql)?;
        let params = bound.params(&stmt);
        let columns: Vec<String> = [
            "direction",
            "row",
            "message_id",
            "at",
            "order_ref",
            "from",
            "to",
            "subject",
            "kind",
            "sha256",
            "purged_at",
            "file",
        ]
        .map(String::from)
        .to_vec();
        let file = format!("messages.{}", format.ext());
        let path = out.join(&file);
        let mut writer = TableWriter::create(&path, format, &columns).map_err(io(&path))?;
        let mut raw_in = tx.prepare("SELECT raw FROM messages WHERE id = ?1")?;
        let mut raw_out = tx.prepare("SELECT raw FROM outbox WHERE id = ?1")?;
        let mut rows = stmt.query(params.as_slice())?;
        let mut n = 0u64;
        while let Some(r) = rows.next()? {
            let direction: String = r.get(0)?;
            let id: i64 = r.get(1)?;
            let purged = !matches!(r.get_ref(10)?, ValueRef::Null);
            let name = if purged {
                None
            } else {
                let name = format!("messages/{direction}-{id:07}.eml");
                // Fetched by row, not carried through the sort above (gigabytes on a large
                // record).
                let source = if direction == "in" {
                    &mut raw_in
                } else {
                    &mut raw_out
                };
                let raw: Vec<u8> = source.query_row([id], |r| r.get(0))?;
                let raw = raw.as_slice();
                let path = out.join(&name);
                crate::fsutil::write_private(&path, raw).map_err(io(&path))?;
                manifest.push((crate::mail::read::sha256_hex(raw), name.clone()));
                Some(name)
            };
            writer.row_with(r, 11, name.as_deref())?;
            n += 1;
            progress.tick("messages", n);
        }
        let hash = writer.finish().map_err(io(&path))?;
        progress.done("messages", n);
        summary.messages = n;
        summary.files.push((file.clone(), n));
        manifest.push((hash, file));
        drop(rows);
        drop(stmt);
        let report = match beside.map(|h| h.join()) {
            Some(Ok(Ok((seen, report)))) if seen == moment => report,
            _ => store::verify(&tx)?,
        };
        summary.verified = report.ok();
        summary.chain_head = report.events_head.clone();
        reported = Some((report, manifest));
        Ok(())
    })?;
    tx.commit()?;
    let (report, manifest) =
        reported.ok_or_else(|| ExportError::Input("export did not finish".into()))?;

    let period = match &sel.order {
        Some(r) => format!("order {r}"),
        None => format!(
            "{} to {}",
            sel.from.map(ts).unwrap_or_else(|| "the beginning".into()),
            sel.to.map(ts).unwrap_or_else(|| "now".into())
        ),
    };
    let mut text = format!(
        "# mailcart export\n# tool: mailcart {}\n# made: {}\n# period: {period} (from inclusive, to exclusive)\n# format: {}\n# events chain head: {}\n# stock chain head: {}\n# verify at export: {}\n# check with: sha256sum -c MANIFEST\n",
        env!("CARGO_PKG_VERSION"),
        ts(now),
        format.ext(),
        report.events_head,
        report.stock_head,
        if report.ok() {
            "the record is whole".to_string()
        } else {
            format!("BROKEN: {}", report.breaks.join("; "))
        },
    );
    for (hash, name) in &manifest {
        text.push_str(&format!("{hash}  {name}\n"));
    }
    let path = out.join("MANIFEST");
    crate::fsutil::write_private(&path, text.as_bytes()).map_err(io(&path))?;

    let detail = serde_json::json!({
        "by": "operator", "out": out.display().to_string(), "period": period,
        "format": format.ext(), "files": summary.files, "chain_head": report.events_head,
    });
    store::insert_event(
        conn,
        now,
        sel.order.as_deref(),
        None,
        "export_made",
        &detail,
    )?;
    Ok(summary)
}

/// The values a query's `:from`, `:to` and `:order` take.
struct Bound {
    from: String,
    to: String,
    order: String,
}

impl Bound {
    /// Those of them that `stmt` uses.
    fn params(&self, stmt: &rusqlite::Statement) -> Vec<(&'static str, &dyn rusqlite::ToSql)> {
        let all: [(&'static str, &dyn rusqlite::ToSql); 3] = [
            (":from", &self.from),
            (":to", &self.to),
            (":order", &self.order),
        ];
        all.into_iter()
            .filter(|(name, _)| stmt.parameter_index(name).ok().flatten().is_some())
            .collect()
    }
}

/// A cell a spreadsheet would take for a formula is written with a leading apostrophe, which
/// spreadsheets show as text (OWASP's advice against CSV injection); the JSON lines keep every
/// value exactly.
fn spreadsheet_safe(s: &str) -> std::borrow::Cow<'_, str> {
    let risky = match s.as_bytes() {
        [b'=' | b'+' | b'@' | b'\t' | b'\r', ..] => true,
        [b'-', rest @ ..] => !rest.first().is_some_and(u8::is_ascii_digit),
        _ => false,
    };
    if risky {
        format!("'{s}").into()
    } else {
        s.into()
    }
}

/// Writes one table's file and hashes it as it goes.
struct TableWriter {
    format: Format,
    columns: Vec<String>,
    csv: Option<csv::Writer<HashingWriter>>,
    json: Option<HashingWriter>,
}

impl TableWriter {
    fn create(path: &Path, format: Format, columns: &[String]) -> std::io::Result<TableWriter> {
        let file = HashingWriter {
            inner: BufWriter::with_capacity(1 << 16, crate::fsutil::create_private_file(path)?),
            hash: Sha256::new(),
        };
        let mut w = TableWriter {
            format,
            columns: columns.to_vec(),
            csv: None,
            json: None,
        };
        match format {
            Format::Csv => {
                let mut c = csv::WriterBuilder::new()
                    .terminator(csv::Terminator::CRLF)
                    .from_writer(file);
                c.write_record(columns).map_err(std::io::Error::other)?;
                w.csv = Some(c);
            }
            Format::Jsonl => w.json = Some(file),
        }
        Ok(w)
    }

    fn row(&mut self, r: &rusqlite::Row, n: usize) -> Result<(), ExportError> {
        self.row_with(r, n, None).map(|_| ())
    }

    /// The first `n` columns of `r`, then `extra` if given.
    fn row_with(
        &mut self,
        r: &rusqlite::Row,
        n: usize,
        extra: Option<&str>,
    ) -> Result<(), ExportError> {
        let last = extra.map(|_| 1).unwrap_or(0);
        match self.format {
            Format::Csv => {
                let mut record = csv::StringRecord::with_capacity(256, n + last);
                for i in 0..n {
                    match r.get_ref(i)? {
                        ValueRef::Null => record.push_field(""),
                        ValueRef::Integer(v) => record.push_field(&v.to_string()),
                        ValueRef::Real(v) => record.push_field(&v.to_string()),
                        ValueRef::Text(t) => {
                            record.push_field(&spreadsheet_safe(&String::from_utf8_lossy(t)))
                        }
                        ValueRef::Blob(_) => record.push_field(""),
                    }
                }
                if self.columns.len() > n {
                    record.push_field(&spreadsheet_safe(extra.unwrap_or("")));
                }
                self.csv
                    .as_mut()
                    .expect("csv writer")
                    .write_record(&record)?;
            }
            Format::Jsonl => {
                // Written field by field in column order: no map and no copied strings per row
                // (it was most of a JSON-lines export's time on the tables).
                let out = self.json.as_mut().expect("json writer");
                let mut line = Vec::with_capacity(256);
                line.push(b'{');
                for i in 0..self.columns.len().min(n + 1) {
                    if i > 0 {
                        line.push(b',');
                    }
                    serde_json::to_writer(&mut line, &self.columns[i])?;
                    line.push(b':');
                    if i == n {
                        serde_json::to_writer(&mut line, &extra)?;
                        continue;
                    }
                    match r.get_ref(i)? {
                        ValueRef::Null | ValueRef::Blob(_) => line.extend_from_slice(b"null"),
                        ValueRef::Integer(v) => line.extend_from_slice(v.to_string().as_bytes()),
                        ValueRef::Real(v) => serde_json::to_writer(&mut line, &v)?,
                        ValueRef::Text(t) => {
                            serde_json::to_writer(&mut line, &String::from_utf8_lossy(t))?
                        }
                    }
                }
                line.extend_from_slice(b"}\n");
                out.write_all(&line)
                    .map_err(|e| ExportError::Input(format!("writing JSON lines: {e}")))?;
            }
        }
        Ok(())
    }

    /// Flush, and the file's SHA-256.
    fn finish(self) -> std::io::Result<String> {
        let mut w = match (self.csv, self.json) {
            (Some(c), _) => c
                .into_inner()
                .map_err(|e| std::io::Error::other(e.to_string()))?,
            (None, Some(j)) => j,
            (None, None) => unreachable!("a table writer has one of its writers"),
        };
        w.flush()?;
        w.inner.get_ref().sync_all()?;
        Ok(format!("{:x}", w.hash.finalize()))
    }
}

struct HashingWriter {
    inner: BufWriter<File>,
    hash: Sha256,
}

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A line on stderr now and then, so a long export shows it is moving.
struct Progress {
    start: Instant,
    last: Instant,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            start: Instant::now(),
            last: Instant::now(),
        }
    }

    fn tick(&mut self, table: &str, n: u64) {
        if n.is_multiple_of(4096) && self.last.elapsed().as_secs() >= 1 {
            self.last = Instant::now();
            eprintln!(
                "export: {table}: {n} rows ({:.0} s)",
                self.start.elapsed().as_secs_f64()
            );
        }
    }

    fn done(&mut self, table: &str, n: u64) {
        if self.start.elapsed().as_secs() >= 1 {
            eprintln!(
                "export: {table}: {n} rows, done ({:.0} s)",
                self.start.elapsed().as_secs_f64()
            );
        }
    }
}
