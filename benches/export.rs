//! `cargo bench --bench export`: the issue's figure "Exporting 100,000 orders takes under a
//! minute", measured on a shop database with 100,000 orders, and `verify` at that size.
//!
//! The database is built once through the real code path (`mailcart init`, `mailcart inventory
//! import`, then `pipeline::process_batch` over generated customer emails and payment notices)
//! and cached under `target/bench-export/N/`; it is reused when it holds the expected number of
//! orders. Then the release binary runs `export --out DIR` (CSV, then JSON lines, each into a
//! fresh folder) and `verify`, each timed from start to exit. Exits 1 when an export takes longer
//! than the limit.
//!
//! Options (env): MAILCART_BENCH_EXPORT_N (orders, default 100000), MAILCART_BENCH_EXPORT_BATCH
//! (messages per `process_batch`, default 500), MAILCART_BENCH_EXPORT_PAID (percent of orders
//! that get a payment notice, default 60), MAILCART_BENCH_EXPORT_REBUILD=1 (build afresh),
//! MAILCART_BENCH_EXPORT_KEEP=1 (keep the export folders), MAILCART_BENCH_EXPORT_PLAIN_BUILD=1
//! (build without the temporary index described in `build`).

mod common;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use mailcart::config::Config;
use mailcart::pipeline::{References, process_batch};
use time::{Duration, OffsetDateTime};

/// The figure the issue promises.
const LIMIT_SECS: f64 = 60.0;
/// Bumped when the generated shop changes, so that an old cache is rebuilt.
const BUILD_VERSION: u32 = 1;
const BIN: &str = env!("CARGO_BIN_EXE_mailcart");

const NAMES: &[&str] = &[
    "Pat Okafor",
    "Lee Chen",
    "Zoë Müller",
    "Ana García",
    "Sam Taylor",
    "Yuki Tanaka",
    "Jean Dupont",
    "Ola Nordmann",
];
/// Unambiguous names and aliases of items up to 24.00, so that three lines of at most three
/// each stay under the example config's approval rules (first order over 250.00): every order
/// is quoted.
const ITEMS: &[&str] = &[
    "Blue Glazed Mug",
    "Green Speckled Mug",
    "Red Glazed Mug",
    "Small Rice Bowl",
    "Large Rice Bowl",
    "Bud Vase",
    "Dinner Plate",
    "Side Plate",
    "Sake Cup",
    "Soy Candle",
    "Linen Tea Towel",
];
const ADDRESSES: &[&str] = &[
    "Ship to:\n{name}\n41 Linden Avenue\nPortland, OR 97205\nUSA",
    "Deliver to: {name}, 12 Rue Oberkampf, 75011 Paris, France",
    "Lieferadresse:\n{name}\nInvalidenstraße 117\n10115 Berlin\nDeutschland",
    "{name}\n221B Baker Street\nLondon NW1 6XE\nUnited Kingdom",
    "Address:\n{name}\n350 King St W\nToronto ON M5V 3X5\nCanada",
];

/// A small deterministic generator per order, so that a rebuild makes the same shop.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// References from a counter, scrambled by an odd multiplier (a bijection on 40 bits): unique,
/// random-looking, and the same on every rebuild.
struct CounterReferences(u64);

impl References for CounterReferences {
    fn next(&mut self, prefix: &str) -> String {
        const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        self.0 += 1;
        let mut n = self.0.wrapping_mul(0x0005_DEEC_E66D) & ((1 << 40) - 1);
        let mut code = [0u8; 8];
        for c in code.iter_mut().rev() {
            *c = ALPHABET[(n & 31) as usize];
            n >>= 5;
        }
        format!("{prefix}-{}", String::from_utf8_lossy(&code))
    }
}

/// Customer `i`'s order email. Customers come back (40% of orders are from someone who ordered
/// before), which the first-order rule looks up.
fn order_email(i: usize, customers: usize) -> Vec<u8> {
    let mut rng = Rng::new(i as u64);
    let c = i % customers;
    let name = NAMES[c % NAMES.len()];
    let mut body = String::from("Hello,\n\n");
    let mut items: Vec<&str> = ITEMS.to_vec();
    for _ in 0..1 + rng.below(3) {
        let item = items.swap_remove(rng.below(items.len()));
        let q = 1 + rng.below(3);
        let line = match rng.below(5) {
            0 => format!("{q} x {item}"),
            1 => format!("{item} x{q}"),
            2 => format!("- {q} {item}"),
            3 => format!("{item} - qty: {q}"),
            _ => format!("Qty {q} - {item}"),
        };
        body.push_str(&line);
        body.push('\n');
    }
    body.push('\n');
    body.push_str(&ADDRESSES[rng.below(ADDRESSES.len())].replace("{name}", name));
    body.push_str("\n\nThanks,\n");
    body.push_str(name);
    body.push_str("\n\n-- \nSent from my phone\n");
    let content = if rng.below(4) == 0 {
        let html: String = body.lines().map(|l| format!("<div>{l}</div>")).collect();
        format!("Content-Type: text/html; charset=utf-8\r\n\r\n<html><body>{html}</body></html>")
    } else {
        format!(
            "Content-Type: text/plain; charset=utf-8\r\n\r\n{}",
            body.replace('\n', "\r\n")
        )
    };
    format!(
        "From: {name} <customer{c}@example.test>\r\nTo: orders@lindenclay.test\r\nSubject: Order\r\nMessage-ID: <export-bench-{i}@example.test>\r\nDate: Mon, 02 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n{content}"
    )
    .into_bytes()
}

/// A payment notice for order `i` (its reference and exact total), in the shapes of
/// `mailbox-fixtures/53-55`: PayPal, Stripe or a bank transfer, each with its own id.
fn payment_email(i: usize, reference: &str, total: &str, customers: usize) -> Vec<u8> {
    let c = i % customers;
    let payer = NAMES[c % NAMES.len()];
    let email = format!("customer{c}@example.test");
    match i % 3 {
        0 => {
            let txn = format!("4RT{i:014}");
            format!(
                "From: PayPal <service@paypal.example>\r\nTo: Linden Clay Studio <payments@lindenclay.test>\r\nMessage-ID: <pp.{txn}@paypal.example>\r\nSubject: You've received a payment\r\nDate: Mon, 02 Nov 2026 10:41:09 -0800\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\n\r\nHello, Linden Clay Studio\r\n\r\nYou've received a payment\r\n\r\n{payer} sent you ${total} USD\r\n\r\nNote from {payer}:\r\n{reference}\r\n\r\nTransaction ID: {txn}\r\n\r\nAmount received: ${total} USD\r\n\r\nHelp & Contact | Security | Apps\r\n"
            )
        }
        1 => {
            let id = format!("pi_3QkR{i:012}x0aB");
            format!(
                "From: Stripe <notifications@stripe.example>\r\nTo: orders@lindenclay.test\r\nMessage-ID: <{id}@mail.stripe.example>\r\nSubject: Payment succeeded: ${total} USD for {reference}\r\nDate: Mon, 02 Nov 2026 19:02:18 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nPayment succeeded\r\n\r\nYou received a successful payment of ${total} USD from {email}.\r\n\r\nAmount: ${total} USD\r\nDescription: Order {reference}\r\nPayment ID: {id}\r\n"
            )
        }
        _ => format!(
            "From: Northbank Alerts <alerts@bank.example>\r\nTo: orders@lindenclay.test\r\nSubject: Incoming transfer: USD {total}\r\nMessage-ID: <alert.{i}@notify.bank.example>\r\nDate: Tue, 03 Nov 2026 07:15:01 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nYou have received a transfer.\r\n\r\nAmount:        USD {total}\r\nPayer:         {payer}\r\nReference:     {reference}\r\nAccount:       Linden Clay Studio ****2051\r\n"
        ),
    }
    .into_bytes()
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn mailcart(args: &[&str]) -> std::process::Output {
    let out = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running mailcart");
    if !out.status.success() {
        panic!(
            "mailcart {args:?} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

fn count(conn: &rusqlite::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// The cached shop when it is whole and of the expected size, else `None`.
fn cached(dir: &Path, n: usize, paid_pct: usize) -> Option<PathBuf> {
    let config = dir.join("config.toml");
    let stamp = std::fs::read_to_string(dir.join("built")).ok()?;
    if stamp.trim() != format!("v{BUILD_VERSION} n={n} paid={paid_pct}") {
        return None;
    }
    let cfg = Config::load(&config).ok()?;
    let conn = rusqlite::Connection::open(&cfg.storage.database).ok()?;
    let orders: i64 = conn
        .query_row("SELECT COUNT(*) FROM orders", [], |r| r.get(0))
        .ok()?;
    (orders as usize == n).then_some(config)
}

fn build(dir: &Path, n: usize, batch: usize, paid_pct: usize) -> PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let start = Instant::now();
    let base = OffsetDateTime::parse(
        "2026-11-02T08:00:00Z",
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let at = |t: OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    mailcart(&["init", dir.to_str().unwrap()]);
    let config_path = dir.join("config.toml");
    let config_arg = config_path.to_str().unwrap();
    let text = std::fs::read_to_string(&config_path).unwrap();
    std::fs::write(&config_path, common::without_global_reply_cap(&text)).unwrap();
    let csv = common::stocked_catalog_csv("10000000");
    let catalog = dir.join("catalog.csv");
    std::fs::write(&catalog, csv).unwrap();
    mailcart(&[
        "--config",
        config_arg,
        "--at",
        &at(base),
        "inventory",
        "import",
        catalog.to_str().unwrap(),
    ]);

    let config = Config::load(&config_path).unwrap();
    let mut conn = mailcart::store::open(&config.storage.database).unwrap();
    // `store::order_thread` (run for every message about an order) looks `thread_ids` up by
    // `order_ref`, which the schema does not index: each payment notice scans the whole table
    // and the build grows quadratic (hours at this size). A temporary index, dropped before
    // anything is measured, keeps the build to minutes; the rows are mailcart's own either way.
    let plain = std::env::var_os("MAILCART_BENCH_EXPORT_PLAIN_BUILD").is_some();
    if !plain {
        conn.execute_batch(
            "CREATE INDEX IF NOT EXISTS bench_export_thread_ids_order ON thread_ids(order_ref)",
        )
        .unwrap();
    }
    let mut refs = CounterReferences(0);
    let customers = (n * 3 / 5).max(1);
    let mut pending: VecDeque<Vec<u8>> = VecDeque::new();
    let (mut next, mut calls, mut messages) = (0usize, 0usize, 0usize);
    let mut not_quoted = 0usize;
    let mut last_print = Instant::now();
    while next < n || !pending.is_empty() {
        // Payment notices for the previous batch's orders first, then new orders up to `batch`.
        let mut raws: Vec<Vec<u8>> = pending.drain(..pending.len().min(batch)).collect();
        let first = next;
        let take = (batch - raws.len()).min(n - next);
        raws.extend((first..first + take).map(|i| order_email(i, customers)));
        next += take;
        // Ten minutes between batches: 100,000 orders arrive over about two days.
        let now = base + Duration::minutes(10 * (calls as i64 + 1));
        let outcomes = process_batch(&mut conn, &config, &raws, now, &mut refs).unwrap();
        calls += 1;
        messages += raws.len();
        let orders = &outcomes[outcomes.len() - take..];
        for (k, o) in orders.iter().enumerate() {
            let i = first + k;
            if o.state != Some("awaiting_payment") {
                not_quoted += 1;
                continue;
            }
            if Rng::new(i as u64 ^ 0xABCD).below(100) >= paid_pct {
                continue;
            }
            let reference = o.order.as_deref().expect("a quoted order has a reference");
            let total: String = conn
                .prepare_cached("SELECT total FROM orders WHERE reference = ?1")
                .unwrap()
                .query_row([reference], |r| r.get(0))
                .unwrap();
            pending.push_back(payment_email(i, reference, &total, customers));
        }
        if last_print.elapsed().as_secs() >= 10 {
            last_print = Instant::now();
            eprintln!(
                "build: {next} orders, {messages} messages, {:.0} s",
                start.elapsed().as_secs_f64()
            );
        }
    }
    conn.execute_batch("DROP INDEX IF EXISTS bench_export_thread_ids_order")
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    let orders = count(&conn, "SELECT COUNT(*) FROM orders");
    assert_eq!(orders as usize, n, "every order email made an order");
    println!(
        "build: {n} orders from {messages} messages in {calls} process_batch calls, {secs:.1} s ({:.0} msg/s); {not_quoted} not quoted{}",
        messages as f64 / secs,
        if plain {
            ""
        } else {
            " (with a temporary index on thread_ids(order_ref))"
        }
    );
    drop(conn);
    std::fs::write(
        dir.join("built"),
        format!("v{BUILD_VERSION} n={n} paid={paid_pct}\n"),
    )
    .unwrap();
    config_path
}

/// Files and bytes under `dir`.
fn tree_size(dir: &Path) -> (u64, u64) {
    let (mut files, mut bytes) = (0, 0);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                stack.push(e.path());
            } else {
                files += 1;
                bytes += meta.len();
            }
        }
    }
    (files, bytes)
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// Time one export; true when it stays within the limit.
fn export(dir: &Path, config: &str, format: &str, orders: i64) -> bool {
    let out = dir.join(format!("out-{format}"));
    assert!(!out.exists(), "{} was moved aside", out.display());
    let start = Instant::now();
    let run = Command::new(BIN)
        .args([
            "--config",
            config,
            "export",
            "--out",
            out.to_str().unwrap(),
            "--format",
            format,
        ])
        .stdin(Stdio::null())
        .output()
        .expect("running mailcart export");
    let secs = start.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    if !run.status.success() {
        println!(
            "export {format}: FAILED ({}) after {secs:.1} s\n{stderr}",
            run.status
        );
        return false;
    }
    // The export's own progress lines (each with its elapsed seconds): where the time went.
    for line in stderr.lines() {
        println!("  | {line}");
    }
    let (files, bytes) = tree_size(&out);
    let tables: Vec<String> = stdout
        .lines()
        .filter(|l| l.contains(" rows"))
        .map(|l| l.trim().to_string())
        .collect();
    let table_bytes: u64 = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| file_size(&e.path()))
        .sum();
    let manifest = std::fs::read_to_string(out.join("MANIFEST")).unwrap_or_default();
    let verdict = manifest
        .lines()
        .find_map(|l| l.strip_prefix("# verify at export: "))
        .unwrap_or("?");
    println!(
        "export {format}: {orders} orders in {secs:.1} s ({:.2} of the {LIMIT_SECS:.0} s limit)",
        secs / LIMIT_SECS
    );
    println!(
        "  {files} files, {:.1} MB ({:.1} MB of tables and MANIFEST, {:.1} MB of raw messages); verify at export: {verdict}",
        mb(bytes),
        mb(table_bytes),
        mb(bytes - table_bytes)
    );
    println!("  {}", tables.join("; "));
    secs <= LIMIT_SECS
}

fn main() -> ExitCode {
    let n = env_usize("MAILCART_BENCH_EXPORT_N", 100_000).max(1);
    let batch = env_usize("MAILCART_BENCH_EXPORT_BATCH", 500).max(2);
    let paid_pct = env_usize("MAILCART_BENCH_EXPORT_PAID", 60).min(100);
    let keep = std::env::var_os("MAILCART_BENCH_EXPORT_KEEP").is_some();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/bench-export")
        .join(n.to_string());
    let config = match cached(&dir, n, paid_pct) {
        Some(c) if std::env::var_os("MAILCART_BENCH_EXPORT_REBUILD").is_none() => {
            println!("build: reusing {} ({n} orders)", dir.display());
            c
        }
        _ => build(&dir, n, batch, paid_pct),
    };
    let config_arg = config.to_str().unwrap();
    let cfg = Config::load(&config).unwrap();
    {
        let conn = rusqlite::Connection::open(&cfg.storage.database).unwrap();
        let mut by_state = conn
            .prepare("SELECT state, COUNT(*) FROM orders GROUP BY state ORDER BY 2 DESC")
            .unwrap();
        let states: Vec<String> = by_state
            .query_map([], |r| {
                Ok(format!(
                    "{} {}",
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?
                ))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let db = &cfg.storage.database;
        let wal = PathBuf::from(format!("{}-wal", db.display()));
        println!(
            "database: {:.1} MB (+{:.1} MB WAL); orders: {}; {} order lines, {} payments, {} inbound and {} outgoing messages, {} events, {} stock moves",
            mb(file_size(db)),
            mb(file_size(&wal)),
            states.join(", "),
            count(&conn, "SELECT COUNT(*) FROM order_lines"),
            count(&conn, "SELECT COUNT(*) FROM payments"),
            count(&conn, "SELECT COUNT(*) FROM messages"),
            count(&conn, "SELECT COUNT(*) FROM outbox"),
            count(&conn, "SELECT COUNT(*) FROM events"),
            count(&conn, "SELECT COUNT(*) FROM stock_moves"),
        );
    }
    let orders = n as i64;

    // Each export goes into a fresh folder. Deleting a few hundred thousand files makes ext4
    // create files several times slower for a while after (the sys time of `openat`), so earlier
    // exports are only moved aside now and deleted once everything is measured.
    // ext4 skips inodes freed in the last minutes when it allocates new ones
    // (`recently_deleted` in a profile): right after a run's clean-up, files are created slower.
    let cleanup = dir.join("last-cleanup");
    if let Some(age) = std::fs::metadata(&cleanup)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .filter(|age| age.as_secs() < 300)
    {
        println!(
            "note: the previous run deleted its exports {} s ago; ext4 creates files slower for a few minutes after a mass delete, so these figures may be high (wait 5 minutes between runs)",
            age.as_secs()
        );
    }
    let trash = dir.join(format!("trash-{}", std::process::id()));
    for format in ["csv", "jsonl"] {
        let out = dir.join(format!("out-{format}"));
        if out.exists() {
            std::fs::create_dir_all(&trash).unwrap();
            std::fs::rename(&out, trash.join(format!("out-{format}"))).unwrap();
        }
    }
    let mut within = true;
    for format in ["csv", "jsonl"] {
        within &= export(&dir, config_arg, format, orders);
    }

    let start = Instant::now();
    let run = Command::new(BIN)
        .args(["--config", config_arg, "verify", "--json"])
        .stdin(Stdio::null())
        .output()
        .expect("running mailcart verify");
    let secs = start.elapsed().as_secs_f64();
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap_or_default();
    println!(
        "verify: {orders} orders in {secs:.1} s ({}; {} events, {} stock moves, {} + {} raw messages hashed)",
        if run.status.success() {
            "the record is whole".to_string()
        } else {
            format!("BROKEN: {}", report["breaks"])
        },
        report["events"],
        report["stock_moves"],
        report["messages_in"],
        report["messages_out"],
    );
    let deleted = !keep || trash.exists();
    if trash.exists() {
        let _ = std::fs::remove_dir_all(&trash);
    }
    if !keep {
        for format in ["csv", "jsonl"] {
            let _ = std::fs::remove_dir_all(dir.join(format!("out-{format}")));
        }
    }
    if deleted {
        std::fs::write(&cleanup, "").unwrap();
    }
    if !within {
        println!("FAILED: an export took longer than {LIMIT_SECS:.0} s");
        return ExitCode::FAILURE;
    }
    if !run.status.success() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
