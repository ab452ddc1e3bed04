//! Customer feedback (`[feedback] after_days`), through the real binary: the request some days
//! after shipping, the replies kept and thanked for once, and where the feedback shows up
//! (`mailcart feedback`, the export, `verify`, `customer export`, erasure).

mod common;
use common::shop::{PAT, Shop, eml, header};
use serde_json::Value;

const REQUEST: &str = "How did it go with your order";
const THANKS: &str = "Thank you for letting us know";

fn ask_after_a_week(shop: &Shop) {
    shop.edit_config("# after_days = 14", "after_days = 7");
}

fn tick(shop: &Shop, at: &str) -> String {
    shop.run(&["--at", at, "tick"])
}

/// The Message-ID of the one feedback request sent.
fn request_id(shop: &Shop) -> String {
    let sent = shop.mail_with(REQUEST);
    assert_eq!(sent.len(), 1, "one feedback request");
    header(&sent[0], "Message-ID")
        .trim_matches(['<', '>'])
        .to_string()
}

/// Pat answers the feedback request.
fn answer(shop: &Shop, id: &str, body: &str, at: &str) -> String {
    let request = request_id(shop);
    let raw = eml(
        PAT,
        "Re: How did it go?",
        id,
        Some(&request),
        &format!("{body}\n\n> {REQUEST}?\n"),
    );
    shop.deliver(&format!("{id}.eml"), &raw, at)
}

fn feedback(shop: &Shop) -> Vec<Value> {
    shop.json(&["feedback", "--json"])
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn the_request_goes_once_after_the_days_and_replies_are_kept_and_thanked_for_once() {
    let shop = Shop::new();
    ask_after_a_week(&shop);
    let r = shop.paid_order(true);
    let out = tick(&shop, "2026-12-09T09:59:00Z");
    assert!(shop.mail_with(REQUEST).is_empty(), "not before: {out}");
    let out = tick(&shop, "2026-12-09T10:01:00Z");
    assert!(
        out.contains(&format!("-> order {r}")) && out.contains("sent feedback_request to pat@"),
        "{out}"
    );
    tick(&shop, "2026-12-10T10:00:00Z");
    let request = &shop.mail_with(REQUEST)[0];
    assert!(header(request, "Subject").contains(&r), "{request}");
    assert!(request.contains("Just reply to this email"), "{request}");
    // In the order's conversation, so that the reply finds the order.
    assert!(header(request, "In-Reply-To").contains("@"), "{request}");
    request_id(&shop);

    let out = answer(
        &shop,
        "fb1@example.test",
        "The mugs are lovely and arrived well packed. 5/5",
        "2026-12-10T12:00:00Z",
    );
    assert!(
        out.contains("sent feedback_thanks to pat@example.test"),
        "{out}"
    );
    assert!(!out.contains("held"), "{out}");
    let out = answer(
        &shop,
        "fb2@example.test",
        "PS: the glaze is even nicer in daylight.",
        "2026-12-11T12:00:00Z",
    );
    assert!(
        out.contains("not answered") && !out.contains("held"),
        "{out}"
    );
    assert_eq!(shop.mail_with(THANKS).len(), 1, "thanked for once");

    let listed = feedback(&shop);
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0]["order"], r.as_str());
    assert_eq!(listed[0]["customer"], "pat@example.test");
    assert_eq!(listed[0]["rating"], 5);
    assert_eq!(
        listed[0]["text"], "The mugs are lovely and arrived well packed. 5/5",
        "their words, without the quoted request"
    );
    assert!(listed[0]["at"].as_str().unwrap().starts_with("2026-12-10"));
    assert_eq!(listed[1]["rating"], Value::Null);
    let text = shop.run(&["feedback"]);
    assert!(
        text.contains(&r) && text.contains("5/5") && text.contains("glaze"),
        "{text}"
    );
    let history = shop.order(&r)["history"].to_string();
    assert!(history.contains("feedback_recorded"), "{history}");
    assert!(history.contains("thank_for_feedback"), "{history}");

    // The record: `verify` holds the feedback rows; the export and the customer's data carry them.
    let verified = shop.json(&["verify", "--json"]);
    assert_eq!(verified["feedback"], 2, "{verified}");
    let out = shop.dir.path().join("export");
    shop.run(&["export", "--out", out.to_str().unwrap()]);
    let csv = std::fs::read_to_string(out.join("feedback.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "a header and two rows: {csv}");
    assert!(
        csv.contains("arrived well packed") && csv.contains(&r),
        "{csv}"
    );
    let data = shop.json(&["customer", "export", "pat@example.test"]);
    assert_eq!(data["feedback"].as_array().unwrap().len(), 2, "{data}");

    // The database cannot be edited behind mailcart's back.
    let db = shop.dir.path().join("mailcart.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE feedback SET rating = 1 WHERE id = 1", [])
        .unwrap();
    let broken = std::process::Command::new(env!("CARGO_BIN_EXE_mailcart"))
        .arg("--config")
        .arg(shop.dir.path().join("config.toml"))
        .arg("verify")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&broken.stdout);
    assert!(!broken.status.success(), "{text}");
    assert!(text.contains("BROKEN: feedback 1: changed"), "{text}");
    conn.execute("UPDATE feedback SET rating = 5 WHERE id = 1", [])
        .unwrap();
    drop(conn);

    // Erased, the customer's words go; that they wrote, when, and the rating stay.
    let out = shop.run(&["customer", "erase", "pat@example.test", "--yes"]);
    assert!(out.contains("2 feedback"), "{out}");
    let listed = feedback(&shop);
    assert!(listed.iter().all(|f| f["text"] == "[erased]"), "{listed:?}");
    assert_eq!(listed[0]["rating"], 5);
    let verified = shop.run(&["verify"]);
    assert!(verified.contains("the record is whole"), "{verified}");
    shop.assert_every_claim_happened();
}

#[test]
fn off_by_default_and_never_after_a_return() {
    let shop = Shop::new();
    let r = shop.paid_order(true);
    tick(&shop, "2026-12-05T10:00:00Z");
    tick(&shop, "2026-12-16T10:00:00Z");
    assert!(shop.mail_with(REQUEST).is_empty(), "off unless set");

    // Set, but the customer asked to send it back.
    ask_after_a_week(&shop);
    let out = shop.deliver(
        "c.eml",
        &eml(
            PAT,
            &format!("Cancel {r}"),
            "c@example.test",
            None,
            "I want to cancel my order please",
        ),
        "2026-12-03T12:00:00Z",
    );
    assert!(out.contains("sent returns"), "{out}");
    tick(&shop, "2026-12-10T10:00:00Z");
    assert!(shop.mail_with(REQUEST).is_empty(), "not after a return");
    shop.assert_every_claim_happened();
}

#[test]
fn machine_replies_and_requests_for_a_person_are_not_thanked() {
    let shop = Shop::new();
    ask_after_a_week(&shop);
    let r = shop.paid_order(true);
    tick(&shop, "2026-12-09T10:01:00Z");

    // An out-of-office answer to the request is no feedback.
    let auto = eml(
        PAT,
        "Automatic reply: How did it go?",
        "ooo@example.test",
        Some(&request_id(&shop)),
        "I am out of the office until Monday.",
    )
    .replacen(
        "MIME-Version",
        "Auto-Submitted: auto-replied\r\nMIME-Version",
        1,
    );
    let out = shop.deliver("ooo.eml", &auto, "2026-12-09T10:05:00Z");
    assert!(
        out.contains("auto_reply") && out.contains("not answered"),
        "{out}"
    );
    assert!(feedback(&shop).is_empty());

    // One that asks for something is kept, and goes to a person instead of a thank-you.
    let out = answer(
        &shop,
        "fb1@example.test",
        "One of the mugs arrived broken, sadly.",
        "2026-12-10T12:00:00Z",
    );
    assert!(out.contains("held for a person"), "{out}");
    assert!(shop.mail_with(THANKS).is_empty());
    assert_eq!(feedback(&shop).len(), 1);
    let history = shop.order(&r)["history"].to_string();
    assert!(!history.contains("thank_for_feedback"), "{history}");
    let held = shop.run(&["review"]);
    assert!(held.contains("a person should answer"), "{held}");
}
