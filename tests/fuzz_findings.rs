//! What the fuzzer found stays found: every input in tests/fuzz-findings/ (and every fixture the
//! fuzzer is seeded with) goes through the fuzz target's own checks, against each order state,
//! and then through the real pipeline into SQLite on disk.

use std::path::{Path, PathBuf};

mod common;

#[path = "../fuzz/harness/ingest.rs"]
mod harness;

fn files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        // Files only: mailbox-fixtures/ has subfolders (wild/), whose names have no extension.
        .filter(|p| p.is_file() && p.extension().is_none_or(|x| x == "eml"))
        .collect();
    files.sort();
    files
}

fn findings() -> Vec<(PathBuf, Vec<u8>)> {
    files("tests/fuzz-findings")
        .into_iter()
        .map(|p| {
            let raw = std::fs::read(&p).unwrap();
            (p, raw)
        })
        .collect()
}

/// Which check a message breaks, if any.
fn broken(raw: &[u8]) -> Option<String> {
    std::panic::catch_unwind(|| harness::check(raw))
        .err()
        .map(|p| {
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        })
}

#[test]
fn every_finding_passes_the_fuzz_checks() {
    let all = findings();
    let failed: Vec<String> = all
        .iter()
        .filter_map(|(p, raw)| broken(raw).map(|why| format!("{}: {why}", p.display())))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn every_seed_passes_the_fuzz_checks() {
    assert_eq!(
        broken(harness::WARM_UP),
        None,
        "the target's warm-up message"
    );
    let mut n = 0;
    for dir in [
        "mailbox-fixtures",
        "mailbox-fixtures/wild/pottery",
        "mailbox-fixtures/wild/stationery",
        "mailbox-fixtures/wild/not-orders",
        "tests/cards",
    ] {
        for p in files(dir) {
            let raw = std::fs::read(&p).unwrap();
            if let Some(why) = broken(&raw) {
                panic!("{}: {why}", p.display());
            }
            n += 1;
        }
    }
    assert!(n > 90, "only {n} seeds");
}

#[test]
fn every_finding_is_stored_and_none_is_a_bug_in_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let now = harness::WORLD.now;
    let (config, mut conn) = common::stocked_store(dir.path(), &harness::config_text(), now);
    // An open order first, so that findings naming its reference meet it.
    let order = "From: Pat Okafor <pat@example.test>\r\nSubject: Order\r\nMessage-ID: <order-1@example.test>\r\n\r\n2 x Blue Mug\r\n\r\nShip to:\r\nPat Okafor\r\n41 Linden Avenue\r\nPortland, OR 97205\r\nUSA\r\n";
    let mut batch = vec![order.as_bytes().to_vec()];
    let all = findings();
    batch.extend(all.iter().map(|(_, raw)| raw.clone()));
    let outcomes =
        mailcart::pipeline::process_batch(&mut conn, &config, &batch, now, &mut Fixed(0)).unwrap();
    assert_eq!(outcomes[0].state, Some("awaiting_payment"));
    for (o, (p, _)) in outcomes[1..].iter().zip(&all) {
        let attention = o.attention.as_deref().unwrap_or("");
        assert!(
            !attention.contains("internal error"),
            "{}: {attention}",
            p.display()
        );
    }
    let stored: i64 = conn
        .query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))
        .unwrap();
    let distinct: std::collections::HashSet<&Vec<u8>> = batch.iter().collect();
    assert_eq!(stored as usize, distinct.len(), "every finding is kept raw");
}

/// The reference the findings name first, then others.
struct Fixed(u32);

impl mailcart::pipeline::References for Fixed {
    fn next(&mut self, prefix: &str) -> String {
        self.0 += 1;
        match self.0 {
            1 => harness::REFERENCE.to_string(),
            n => format!("{prefix}-FUZZ{n:04}"),
        }
    }
}
