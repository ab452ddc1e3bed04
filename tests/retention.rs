//! `[retention] raw_messages_days`: old raw copies emptied by the timers, the record whole.

mod common;

use common::shop::{Shop, eml};

fn count(shop: &Shop, sql: &str) -> i64 {
    let db = rusqlite::Connection::open(shop.dir.path().join("mailcart.db")).unwrap();
    db.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn raw_copies_past_the_retention_period_are_purged_and_the_record_still_verifies() {
    let shop = Shop::new();
    let old = shop.quoted_order("old@example.test", "2026-11-01T09:00:00Z");
    // A message for a person, as old: kept until someone has looked at it.
    let held = shop.deliver(
        "odd.eml",
        &eml(
            "Sam Lee <sam@example.test>",
            "hello",
            "odd@example.test",
            None,
            "Do you do weddings? Call me.",
        ),
        "2026-11-01T10:00:00Z",
    );
    assert!(held.contains("held"), "{held}");
    let new = shop.quoted_order("new@example.test", "2026-11-25T09:00:00Z");
    shop.edit_config("# raw_messages_days = 730", "raw_messages_days = 14");

    let out = shop.run(&["--at", "2026-11-26T00:00:00Z", "tick"]);
    // Sent: the old quote, and the two sellers' alerts about the held message (the copies it
    // carries go with them; the held message itself stays).
    assert!(
        out.contains("raw copies of 1 received and 3 sent messages purged"),
        "{out}"
    );
    assert_eq!(
        count(
            &shop,
            "SELECT count(*) FROM messages WHERE purged_at IS NOT NULL AND length(raw) = 0"
        ),
        1
    );
    assert_eq!(
        count(
            &shop,
            "SELECT count(*) FROM messages WHERE message_id = 'odd@example.test' AND length(raw) > 0"
        ),
        1,
        "the held message stays"
    );
    assert_eq!(
        count(
            &shop,
            "SELECT count(*) FROM messages WHERE message_id = 'new@example.test' AND length(raw) > 0"
        ),
        1,
        "the recent one stays"
    );
    // Orders and events stay; the quote's words are gone, its hash is not.
    for r in [&old, &new] {
        assert_eq!(shop.order(r)["total"], "46.88");
    }
    assert!(shop.run(&["verify"]).contains("whole"));
    let again = shop.run(&["--at", "2026-11-26T00:01:00Z", "tick"]);
    assert!(
        again.contains("nothing due"),
        "a second run has nothing to do: {again}"
    );

    // The same old message fetched again is not kept a second time.
    let out = shop.deliver(
        "old-again.eml",
        &std::fs::read_to_string(shop.dir.path().join("old@example.test.eml")).unwrap(),
        "2026-11-26T01:00:00Z",
    );
    assert!(out.contains("duplicate"), "{out}");
    assert_eq!(
        count(
            &shop,
            "SELECT count(*) FROM messages WHERE message_id = 'old@example.test'"
        ),
        1
    );

    // The export lists the purged copies without files; its MANIFEST still checks.
    let export = shop.dir.path().join("export");
    shop.run(&["export", "--out", export.to_str().unwrap()]);
    let csv = std::fs::read_to_string(export.join("messages.csv")).unwrap();
    let purged_line = csv
        .lines()
        .find(|l| l.contains("old@example.test"))
        .unwrap();
    assert!(purged_line.contains("2026-11-26"), "{purged_line}");
    let eml_files = std::fs::read_dir(export.join("messages")).unwrap().count();
    assert_eq!(
        eml_files as i64,
        count(
            &shop,
            "SELECT (SELECT count(*) FROM messages WHERE purged_at IS NULL) + (SELECT count(*) FROM outbox WHERE purged_at IS NULL)"
        )
    );

    // Zero days would purge everything as it arrives: refused.
    shop.edit_config("raw_messages_days = 14", "raw_messages_days = 0");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mailcart"))
        .arg("--config")
        .arg(shop.dir.path().join("config.toml"))
        .arg("tick")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("retention.raw_messages_days"));
}
