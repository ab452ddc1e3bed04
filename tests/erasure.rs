//! A customer's data: exported whole (GDPR art. 15), then erased everywhere but the books
//! (art. 17), with `verify` still passing and nothing of them left in any file mailcart keeps.

mod common;

use common::shop::{ADDRESS, PAT, Shop, eml};
use serde_json::Value;

const DANA: &str = "Dana Whitfield <dana@example.test>";
const DANA_ADDRESS: &str =
    "Ship to:\nDana Whitfield\n9 Harbour Road\nBristol BS1 5TR\nUnited Kingdom\n";

/// What of Pat must not survive the erasure, in any case.
const PAT_TRACES: &[&str] = &[
    "pat@example.test",
    "Okafor",
    "41 Linden Avenue",
    "Portland, OR 97205",
    "I'm out on Tuesdays",
];

fn fails(shop: &Shop, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mailcart"))
        .arg("--config")
        .arg(shop.dir.path().join("config.toml"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "mailcart {args:?} should have failed"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn found_in(bytes: &[u8], needle: &str) -> bool {
    let hay = String::from_utf8_lossy(bytes).to_ascii_lowercase();
    hay.contains(&needle.to_ascii_lowercase())
}

/// Pat: ordered, paid, shipped, asked where it is (a whole, finished story). Dana: an order
/// waiting for payment.
fn two_customers() -> (Shop, String, String) {
    let shop = Shop::new();
    shop.require_authentication();
    let body =
        format!("2 x Blue Mug\n\n{ADDRESS}\nI'm out on Tuesdays, leave it with a neighbour.");
    let out = shop.deliver(
        "o1.eml",
        &eml(PAT, "Order", "o1@example.test", None, &body),
        "2026-11-22T09:00:00Z",
    );
    assert!(out.contains("awaiting_payment"), "{out}");
    let pat = out[out.find("-> order ").unwrap() + 9..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let out = shop.seller_says(&format!("paid {pat}"), "2026-11-22T10:00:00Z");
    assert!(out.contains("[paid]"), "{out}");
    let out = shop.seller_says(
        &format!("shipped {pat} Royal Mail AB123456789GB"),
        "2026-11-23T10:00:00Z",
    );
    assert!(out.contains("[shipped]"), "{out}");
    shop.deliver(
        "q1.eml",
        &eml(
            PAT,
            &format!("Where is {pat}?"),
            "q1@example.test",
            None,
            "Hi, where is my order? Pat Okafor",
        ),
        "2026-11-24T10:00:00Z",
    );
    // A question that names no order: held, and the sellers' alerts carry it attached.
    let out = shop.deliver(
        "g1.eml",
        &eml(
            PAT,
            "Gift cards",
            "g1@example.test",
            None,
            "Do you sell gift cards? I'm out on Tuesdays, so email me.",
        ),
        "2026-11-24T10:30:00Z",
    );
    assert!(out.contains("sent held to"), "{out}");
    let out = shop.deliver(
        "d1.eml",
        &eml(
            DANA,
            "Order",
            "d1@example.test",
            None,
            &format!("1 x Blue Mug\n\n{DANA_ADDRESS}"),
        ),
        "2026-11-24T11:00:00Z",
    );
    assert!(out.contains("awaiting_payment"), "{out}");
    let dana = out[out.find("-> order ").unwrap() + 9..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    (shop, pat, dana)
}

#[test]
fn a_customer_export_holds_all_of_their_data_and_only_theirs() {
    let (shop, pat, dana) = two_customers();
    let data = shop.json(&["customer", "export", "PAT@example.test"]);
    assert_eq!(data["customer"], "pat@example.test");
    let orders = data["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["order"]["reference"], pat.as_str());
    assert_eq!(orders[0]["lines"][0]["sku"], "MUG-BLU");
    let received = data["messages_received"].as_array().unwrap();
    assert!(received.len() >= 2, "the order and the question");
    assert!(
        received
            .iter()
            .any(|m| m["raw"].as_str().unwrap().contains("I'm out on Tuesdays"))
    );
    let sent = data["messages_sent"].as_array().unwrap();
    assert!(
        sent.iter()
            .any(|m| m["raw"].as_str().unwrap().contains("46.88")),
        "the quote is in it"
    );
    assert!(!data["events"].as_array().unwrap().is_empty());
    let text = data.to_string();
    assert!(!text.contains(&dana) && !text.contains("dana@example.test"));
    let err = fails(&shop, &["customer", "export", "nobody@example.test"]);
    assert!(
        err.contains("holds nothing about nobody@example.test"),
        "{err}"
    );
}

#[test]
fn an_erased_customer_is_gone_from_every_file_while_the_books_and_verify_hold() {
    let (shop, pat, dana) = two_customers();
    let before: Value = shop.order(&pat);
    // The export goes on the record with the address in it: the erasure must reach that too.
    shop.run(&["customer", "export", "pat@example.test"]);
    let dry = shop.run(&["customer", "erase", "pat@example.test"]);
    assert!(
        dry.contains("would erase pat@example.test: 1 orders"),
        "{dry}"
    );
    assert_eq!(
        shop.order(&pat)["customer_email"],
        before["customer_email"],
        "a dry run changes nothing"
    );

    // Dana's order is waiting for her money: erasing her now would lose it.
    let err = fails(&shop, &["customer", "erase", "dana@example.test", "--yes"]);
    assert!(err.contains(&format!("{dana} (awaiting_payment)")), "{err}");

    let out = shop.run(&["customer", "erase", "pat@example.test", "--yes"]);
    assert!(out.contains("erased: now erased-"), "{out}");
    for t in PAT_TRACES {
        assert!(!found_in(out.as_bytes(), t), "{t} printed: {out}");
    }

    // The books: same reference, items, amounts, dates and destination country.
    let after = shop.order(&pat);
    for field in [
        "reference",
        "state",
        "total",
        "subtotal",
        "tax",
        "shipping",
        "created_at",
        "lines",
    ] {
        assert_eq!(after[field], before[field], "{field} kept");
    }
    let pseudonym = after["customer_email"].as_str().unwrap();
    assert!(pseudonym.ends_with("@erased.invalid"), "{pseudonym}");
    assert!(
        after["customer_name"].is_null(),
        "{}",
        after["customer_name"]
    );
    let verify = shop.run(&["verify"]);
    assert!(verify.contains("whole"), "{verify}");

    // A later copy of Pat's order (IMAP fetched again) does not bring the message back.
    let again = shop.deliver(
        "o1-again.eml",
        &std::fs::read_to_string(shop.dir.path().join("o1.eml")).unwrap(),
        "2026-11-25T09:00:00Z",
    );
    assert!(!again.contains("awaiting_payment"), "{again}");
    let export = shop.dir.path().join("export");
    shop.run(&["export", "--out", export.to_str().unwrap()]);

    // Every file mailcart keeps: the database with its WAL and shared memory, the outbox
    // folder, and an export made after the erasure.
    let mut files = common::files_under(&shop.dir.path().join("outbox"));
    files.extend(common::files_under(&export));
    for name in ["mailcart.db", "mailcart.db-wal", "mailcart.db-shm"] {
        let p = shop.dir.path().join(name);
        if p.exists() {
            files.push(p);
        }
    }
    assert!(files.len() > 10, "{files:?}");
    let mut left = Vec::new();
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        for t in PAT_TRACES {
            if found_in(&bytes, t) {
                left.push(format!("{t} in {}", path.display()));
            }
        }
    }
    assert!(left.is_empty(), "left after erasure:\n{}", left.join("\n"));
    let json = shop.run(&["orders", "--json"]) + &shop.run(&["order", &pat, "--json"]);
    for t in PAT_TRACES {
        assert!(!found_in(json.as_bytes(), t), "{t} shown by the CLI");
    }

    // Dana is untouched, and the record says what happened, without saying who.
    let d = shop.order(&dana);
    assert_eq!(d["customer_email"], "dana@example.test");
    assert!(d.to_string().contains("9 Harbour Road"));
    let db = rusqlite::Connection::open(shop.dir.path().join("mailcart.db")).unwrap();
    let detail: String = db
        .query_row(
            "SELECT detail FROM events WHERE kind = 'customer_erased'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let detail: Value = serde_json::from_str(&detail).unwrap();
    assert!(detail["orders"].get(&pat).is_some(), "{detail}");
    assert!(!detail["messages"].as_object().unwrap().is_empty());
    // The loop caps' fingerprint of what Pat wrote goes with the text; Dana's stays.
    let hashes = |erased: bool| -> i64 {
        db.query_row(
            "SELECT count(text_hash) FROM messages WHERE (erased_at IS NOT NULL) = ?1",
            [erased],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(hashes(true), 0);
    assert!(hashes(false) > 0);
    let err = fails(&shop, &["customer", "export", "pat@example.test"]);
    assert!(err.contains("holds nothing"), "{err}");
}
