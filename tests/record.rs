//! The record: `mailcart verify` on the demo's whole history, clean and after each kind of
//! edit made behind mailcart's back (straight into the SQLite file, as an insider could).

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

/// The demo's workspace: orders, quotes, a payment, a packing slip, reminders, stock moves.
fn history() -> (tempfile::TempDir, PathBuf) {
    let keep = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mailcart"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["demo", "--keep"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let dir = text
        .lines()
        .last()
        .unwrap()
        .trim_start_matches("workspace kept at ")
        .to_string();
    let dest = keep.path().join("shop");
    copy_dir(Path::new(&dir), &dest);
    std::fs::remove_dir_all(&dir).unwrap();
    let config = dest.join("config.toml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(&dir, dest.to_str().unwrap());
    std::fs::write(&config, text).unwrap();
    (keep, config)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// `mailcart verify`: (exit status 0, stdout).
fn verify(config: &Path, extra: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mailcart"))
        .arg("--config")
        .arg(config)
        .arg("verify")
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn db(config: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(config.parent().unwrap().join("mailcart.db")).unwrap()
}

fn head(text: &str) -> String {
    let line = text.lines().find(|l| l.starts_with("events:")).unwrap();
    line.rsplit(' ').next().unwrap().to_string()
}

#[test]
fn verify_passes_on_the_record_as_mailcart_wrote_it() {
    let (_keep, config) = history();
    let (ok, text) = verify(&config, &[]);
    assert!(ok, "{text}");
    assert!(text.contains("verified: the record is whole"), "{text}");
    for line in ["events:", "stock moves:", "messages:", "orders:", "stock:"] {
        assert!(text.contains(line), "{text}");
    }
    let conn = db(&config);
    let payments: i64 = conn
        .query_row("SELECT COUNT(*) FROM payments", [], |r| r.get(0))
        .unwrap();
    assert!(payments >= 1, "the demo's history should hold a payment");
}

#[test]
fn verify_catches_every_edit_behind_its_back() {
    let (_keep, config) = history();
    let (_, clean) = verify(&config, &[]);
    let original = std::fs::read(config.parent().unwrap().join("mailcart.db")).unwrap();
    let cases: &[(&str, &str)] = &[
        (
            "UPDATE events SET detail = '{}' WHERE id = 40",
            "event 40: its detail was changed",
        ),
        (
            "UPDATE events SET kind = 'nothing' WHERE id = 41",
            "event 41 (nothing)",
        ),
        (
            "DELETE FROM events WHERE id = 42",
            "event 43: does not follow",
        ),
        (
            "UPDATE stock SET on_hand = on_hand + 1 WHERE sku = 'MUG-BLU'",
            "stock of MUG-BLU",
        ),
        (
            "UPDATE stock_moves SET quantity = quantity + 1 WHERE id = 5",
            "stock move 5: was changed",
        ),
        (
            "DELETE FROM stock_moves WHERE id = 6",
            "stock move 7: does not follow",
        ),
        (
            "UPDATE messages SET raw = CAST('hello' AS BLOB) WHERE id = 3",
            "inbound message 3: its raw copy",
        ),
        (
            "UPDATE messages SET raw = CAST('x' AS BLOB), sha256 = 'ab' WHERE id = 4",
            "inbound message 4: its hash was changed",
        ),
        (
            "DELETE FROM messages WHERE id = 5",
            "inbound messages recorded in the chain are missing",
        ),
        (
            "UPDATE outbox SET raw = CAST('x' AS BLOB) WHERE id = 2",
            "outgoing message 2: its raw copy",
        ),
        (
            "UPDATE orders SET total = '1.00' WHERE reference = (SELECT MIN(reference) FROM orders)",
            "differ from its recorded document",
        ),
        (
            "UPDATE order_lines SET quantity = 9 WHERE rowid = (SELECT MAX(rowid) FROM order_lines)",
            "its lines differ",
        ),
        (
            "UPDATE orders SET doc = replace(doc, '\"state\"', '\"state\" ') WHERE reference = (SELECT MIN(reference) FROM orders)",
            "its document was changed",
        ),
        (
            "DELETE FROM order_lines WHERE rowid = (SELECT MAX(rowid) FROM order_lines)",
            "its lines differ",
        ),
        ("UPDATE payments SET amount = '1.00'", "payment 1: changed"),
        (
            "INSERT INTO payments (at, message_id, provider, amount, outcome) VALUES ('2026-01-01', 'x', 'p', '5', 'matched')",
            "changed or added behind",
        ),
    ];
    let db_path = config.parent().unwrap().join("mailcart.db");
    for (sql, expect) in cases {
        std::fs::write(&db_path, &original).unwrap();
        db(&config).execute_batch(sql).unwrap();
        let (ok, text) = verify(&config, &[]);
        assert!(!ok, "verify passed after {sql}:\n{text}");
        assert!(text.contains("BROKEN: "), "{text}");
        assert!(
            text.contains(expect),
            "after {sql} expected {expect:?}:\n{text}"
        );
    }

    // An insider who knows the hash rules rewrites an event and its own links: the next
    // event no longer follows it. Rewriting the whole tail as well is caught by a head
    // written down before (an export's MANIFEST holds one).
    std::fs::write(&db_path, &original).unwrap();
    {
        let conn = db(&config);
        let (prev, at, order_ref, message_id, kind): (
            String,
            String,
            Option<String>,
            Option<String>,
            String,
        ) = conn
            .query_row(
                "SELECT prev_hash, at, order_ref, message_id, kind FROM events WHERE id = 30",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        let detail = "{\"forged\":true}";
        let detail_sha = mailcart::mail::read::sha256_hex(detail.as_bytes());
        let hash = mailcart::store::event_link(
            &prev,
            30,
            &at,
            order_ref.as_deref(),
            message_id.as_deref(),
            &kind,
            &detail_sha,
        );
        conn.execute(
            "UPDATE events SET detail = ?1, detail_sha256 = ?2, hash = ?3 WHERE id = 30",
            rusqlite::params![detail, detail_sha, hash],
        )
        .unwrap();
    }
    let (ok, text) = verify(&config, &[]);
    assert!(!ok && text.contains("event 31: does not follow"), "{text}");

    std::fs::write(&db_path, &original).unwrap();
    let old_head = head(&clean);
    db(&config)
        .execute_batch("DELETE FROM events WHERE id = (SELECT MAX(id) FROM events)")
        .unwrap();
    let (ok, text) = verify(&config, &[]);
    assert!(
        ok,
        "cutting the newest event leaves a whole (shorter) chain:\n{text}"
    );
    let (ok, text) = verify(&config, &["--head", &old_head]);
    assert!(!ok && text.contains("is not in the chain"), "{text}");

    std::fs::write(&db_path, &original).unwrap();
    let (ok, text) = verify(&config, &["--head", &old_head]);
    assert!(ok, "{text}");
}

/// Run `mailcart` with `args`, asserting success; stdout.
fn run(config: &Path, args: &[&str]) -> String {
    common::mailcart(config, args)
}

fn csv_rows(path: &Path) -> Vec<csv::StringRecord> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records().map(|x| x.unwrap()).collect()
}

fn count(config: &Path, sql: &str) -> usize {
    db(config)
        .query_row(sql, [], |r| r.get::<_, i64>(0))
        .unwrap() as usize
}

#[test]
fn an_export_checks_out_with_sha256sum_and_matches_the_database() {
    let (keep, config) = history();
    let out = keep.path().join("export");
    let text = run(&config, &["export", "--out", out.to_str().unwrap()]);
    assert!(text.contains("sha256sum -c MANIFEST"), "{text}");

    // The auditor's check, without mailcart.
    let check = Command::new("sha256sum")
        .args(["--strict", "-c", "MANIFEST"])
        .current_dir(&out)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let listed = String::from_utf8_lossy(&check.stdout).lines().count();
    // Nine tables, the raw messages, and the invoices' PDFs.
    let pdfs = std::fs::read_dir(out.join("invoices")).map_or(0, |d| d.count());
    let files = 9 + std::fs::read_dir(out.join("messages")).unwrap().count() + pdfs;
    assert_eq!(listed, files, "every file is in the MANIFEST");

    let manifest = std::fs::read_to_string(out.join("MANIFEST")).unwrap();
    for needle in [
        "# period:",
        "# tool: mailcart",
        "# verify at export: the record is whole",
    ] {
        assert!(manifest.contains(needle), "{manifest}");
    }

    for (file, table) in [
        ("orders.csv", "orders"),
        ("order_lines.csv", "order_lines"),
        ("returns.csv", "returns"),
        ("payments.csv", "payments"),
        ("feedback.csv", "feedback"),
        ("stock_moves.csv", "stock_moves"),
    ] {
        assert_eq!(
            csv_rows(&out.join(file)).len(),
            count(&config, &format!("SELECT COUNT(*) FROM {table}")),
            "{file}"
        );
    }
    let events = csv_rows(&out.join("events.csv"));
    assert_eq!(
        events.len() + 1,
        count(&config, "SELECT COUNT(*) FROM events"),
        "all but the export's own event"
    );
    let messages = csv_rows(&out.join("messages.csv"));
    assert_eq!(
        messages.len(),
        count(
            &config,
            "SELECT (SELECT COUNT(*) FROM messages) + (SELECT COUNT(*) FROM outbox)"
        )
    );
    // Each message row names its file, whose bytes hash to the row's sha256.
    for m in &messages {
        let raw = std::fs::read(out.join(&m[11])).unwrap();
        assert_eq!(mailcart::mail::read::sha256_hex(&raw), &m[9]);
    }
    // Money as decimal strings with a dot; times ISO 8601 UTC.
    let orders = csv_rows(&out.join("orders.csv"));
    let money = regex::Regex::new(r"^\d+\.\d{2}$").unwrap();
    let iso = regex::Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z$").unwrap();
    for o in &orders {
        assert!(money.is_match(&o[9]), "total {:?}", &o[9]);
        assert!(iso.is_match(&o[10]), "created_at {:?}", &o[10]);
    }

    // The chain recomputed from events.csv by a script that knows only the README's rule.
    let script = r#"
import csv, hashlib, json, sys
prev = "0" * 64
for row in csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")):
    assert hashlib.sha256(row["detail"].encode()).hexdigest() == row["detail_sha256"], row["id"]
    fields = [prev, int(row["id"]), row["at"], row["order_ref"] or None, row["message_id"] or None, row["kind"], row["detail_sha256"]]
    h = hashlib.sha256(json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
    assert row["prev_hash"] == prev and row["hash"] == h, row["id"]
    prev = h
print(prev)
"#;
    let py = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(out.join("events.csv"))
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let py_head = String::from_utf8_lossy(&py.stdout).trim().to_string();
    assert!(
        manifest.contains(&format!("# events chain head: {py_head}")),
        "{py_head}\n{manifest}"
    );

    // Exporting into a folder that holds something is refused.
    let again = Command::new(env!("CARGO_BIN_EXE_mailcart"))
        .arg("--config")
        .arg(&config)
        .args(["export", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
}

#[test]
fn an_order_dossier_and_a_period_in_json_lines() {
    let (keep, config) = history();
    let paid: String = db(&config)
        .query_row(
            "SELECT reference FROM orders WHERE state = 'paid' LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let out = keep.path().join("dossier");
    run(
        &config,
        &[
            "export",
            "--out",
            out.to_str().unwrap(),
            "--order",
            &paid,
            "--format",
            "jsonl",
        ],
    );
    let check = Command::new("sha256sum")
        .args(["-c", "MANIFEST"])
        .current_dir(&out)
        .output()
        .unwrap();
    assert!(check.status.success());
    let lines = |f: &str| -> Vec<serde_json::Value> {
        std::fs::read_to_string(out.join(f))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let orders = lines("orders.jsonl");
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["reference"], paid.as_str());
    assert_eq!(orders[0]["state"], "paid");
    assert!(
        !lines("payments.jsonl").is_empty(),
        "the dossier holds its payment"
    );
    assert!(
        lines("stock_moves.jsonl")
            .iter()
            .all(|m| m["order_ref"] == paid.as_str())
    );
    assert!(
        lines("stock_moves.jsonl")
            .iter()
            .any(|m| m["kind"] == "sale")
    );
    let messages = lines("messages.jsonl");
    assert!(
        messages.iter().any(|m| m["direction"] == "in")
            && messages.iter().any(|m| m["direction"] == "out")
    );
    assert!(messages.iter().all(|m| m["order_ref"] == paid.as_str()));
    let templates: Vec<&str> = messages.iter().filter_map(|m| m["kind"].as_str()).collect();
    assert!(
        templates.contains(&"quote") && templates.contains(&"payment_confirmed"),
        "{templates:?}"
    );
    assert!(
        lines("events.jsonl")
            .iter()
            .all(|e| e["order_ref"] == paid.as_str())
    );

    // A period before anything happened holds nothing but the empty files and the MANIFEST.
    let empty = keep.path().join("empty");
    run(
        &config,
        &[
            "export",
            "--out",
            empty.to_str().unwrap(),
            "--from",
            "2001-01-01",
            "--to",
            "2001-12-31",
        ],
    );
    assert_eq!(csv_rows(&empty.join("orders.csv")).len(), 0);
    assert_eq!(csv_rows(&empty.join("events.csv")).len(), 0);
    let manifest = std::fs::read_to_string(empty.join("MANIFEST")).unwrap();
    assert!(
        manifest.contains("2001-01-01T00:00:00.000000Z to 2002-01-01T00:00:00.000000Z"),
        "{manifest}"
    );

    let missing = Command::new(env!("CARGO_BIN_EXE_mailcart"))
        .arg("--config")
        .arg(&config)
        .args([
            "export",
            "--out",
            keep.path().join("none").to_str().unwrap(),
            "--order",
            "MC-NOSUCH",
        ])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no order MC-NOSUCH"));
}

#[test]
fn an_order_is_in_every_period_it_was_alive_in() {
    let shop = common::shop::Shop::new();
    shop.require_authentication();
    let r = shop.quoted_order("o1@example.test", "2026-11-20T09:00:00Z");
    let out = shop.seller_says(&format!("paid {r}"), "2026-12-02T10:00:00Z");
    assert!(out.contains("[paid]"), "{out}");
    let orders_in = |from: &str, to: &str| -> Vec<String> {
        let dir = shop.dir.path().join(format!("export-{from}-{to}"));
        shop.run(&[
            "export",
            "--out",
            dir.to_str().unwrap(),
            "--from",
            from,
            "--to",
            to,
        ]);
        csv_rows(&dir.join("orders.csv"))
            .iter()
            .map(|row| row[0].to_string())
            .collect()
    };
    assert_eq!(
        orders_in("2026-11-01", "2026-11-30"),
        std::slice::from_ref(&r),
        "created in it"
    );
    assert_eq!(
        orders_in("2026-12-01", "2026-12-31"),
        std::slice::from_ref(&r),
        "paid in it"
    );
    assert_eq!(
        orders_in("2026-11-25", "2026-11-26"),
        std::slice::from_ref(&r),
        "waiting in it"
    );
    assert!(
        orders_in("2026-11-01", "2026-11-19").is_empty(),
        "before it existed"
    );
}
