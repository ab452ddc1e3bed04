//! A person reached by email, through the real binary: a message held for a person reaches
//! the sellers at once with the message attached; a seller's `reply` to that alert reaches the
//! customer in their thread; `resolved` and the order's commands close it; forged, stale and
//! unauthenticated answers change and send nothing.

mod common;
use common::shop::{PAT, Shop, eml, header, request_id};

const MARA: &str = "mara@lindenclay.test";
const SAM: &str = "sam@lindenclay.test";
const OURS: &str = "mx.lindenclay.test";

/// A quoted order, then Pat's question in its thread, which mailcart leaves to a person.
/// Returns the order's reference.
fn held_question(shop: &Shop) -> String {
    let r = shop.quoted_order("o1@example.test", "2026-12-01T09:00:00Z");
    let out = shop.deliver(
        "gift.eml",
        &eml(
            PAT,
            "Re: Your order",
            "gift@example.test",
            Some("o1@example.test"),
            "Hi, do you gift wrap? It's for my mother's birthday.",
        ),
        "2026-12-01T09:30:00Z",
    );
    assert!(out.contains("held for a person"), "{out}");
    for seller in [MARA, SAM] {
        assert!(out.contains(&format!("sent held to {seller}")), "{out}");
    }
    r
}

/// The raw outbox files whose bytes contain `needle`.
fn raw_mail_with(shop: &Shop, needle: &str) -> Vec<String> {
    shop.outbox()
        .into_iter()
        .map(|(p, _)| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned())
        .filter(|raw| raw.contains(needle))
        .collect()
}

fn answer(shop: &Shop, n: &str, from: &str, alert: &str, body: &str, at: &str) -> String {
    shop.deliver(
        &format!("answer-{n}.eml"),
        &eml(
            from,
            "Re: Waiting for you",
            &format!("answer-{n}@lindenclay.test"),
            Some(alert),
            body,
        ),
        at,
    )
}

fn waiting(shop: &Shop) -> usize {
    shop.json(&["review", "--json"]).as_array().unwrap().len()
}

#[test]
fn a_held_message_reaches_the_sellers_and_a_reply_reaches_the_customer() {
    let shop = Shop::new();
    let r = held_question(&shop);
    let alert = request_id(&shop, MARA, "A message waits for you");
    let text = &shop.mail_with(&alert)[0];
    for what in [
        "a person should answer",
        "From: pat@example.test",
        &format!("Order {r} is waiting for payment"),
        "2 x Blue Glazed Mug",
        "reply <your text>",
        "resolved <note>",
    ] {
        assert!(text.contains(what), "{what:?} in {text}");
    }
    let raw = raw_mail_with(&shop, &alert);
    assert_eq!(raw.len(), 1);
    assert!(
        raw[0].contains("Content-Type: message/rfc822")
            && raw[0].contains("Message-ID: <gift@example.test>")
            && raw[0].contains("do you gift wrap?"),
        "the customer's message is attached as it arrived: {}",
        raw[0]
    );
    let token = alert.split(['.', '@']).nth(1).unwrap();
    assert_eq!(
        token.len(),
        32,
        "a token in the alert's Message-ID: {alert}"
    );
    assert_eq!(waiting(&shop), 1);

    let out = answer(
        &shop,
        "1",
        MARA,
        &alert,
        "Reply Yes, we gift wrap for free.\nI'll add a birthday card too.\n\nMara\n\n> A message waits for you",
        "2026-12-01T10:00:00Z",
    );
    assert!(
        out.contains("sent seller_reply to pat@example.test") && !out.contains("held"),
        "{out}"
    );
    let sent = shop.mail_with("we gift wrap for free");
    assert_eq!(sent.len(), 1);
    let sent = &sent[0];
    assert!(header(sent, "To").contains("pat@example.test"));
    assert!(header(sent, "From").contains("orders@lindenclay.test"));
    assert_eq!(header(sent, "In-Reply-To"), "<gift@example.test>");
    assert!(
        header(sent, "References").contains("<o1@example.test>"),
        "{sent}"
    );
    assert!(
        header(sent, "Subject").starts_with("Re: Your order"),
        "{sent}"
    );
    assert!(sent.contains("I'll add a birthday card too."), "{sent}");
    assert!(!sent.contains("A message waits"), "no quoted alert: {sent}");
    assert!(!sent.contains(&alert), "the token stays with the sellers");
    // Recorded with the order: the event, and the email in its outbox.
    let order = shop.order(&r);
    let history = order["history"].to_string();
    assert!(
        history.contains("seller_replied") && history.contains("held_message_resolved"),
        "{history}"
    );
    assert_eq!(waiting(&shop), 0, "answered, so nothing waits");
    assert_eq!(order["state"], "awaiting_payment", "the order is as it was");

    // Sam's alert about the same message is answered with Mara's.
    let sam = request_id(&shop, SAM, "A message waits for you");
    let out = answer(
        &shop,
        "2",
        SAM,
        &sam,
        "reply Hello!",
        "2026-12-01T10:05:00Z",
    );
    assert!(out.contains("already answered"), "{out}");
    assert!(shop.mail_with("Hello!").is_empty());
}

#[test]
fn resolved_and_order_commands_close_the_hold() {
    let shop = Shop::new();
    held_question(&shop);
    let alert = request_id(&shop, MARA, "A message waits for you");
    let out = answer(
        &shop,
        "1",
        MARA,
        &alert,
        "resolved phoned her",
        "2026-12-01T10:00:00Z",
    );
    assert!(!out.contains("held") && !out.contains("sent"), "{out}");
    assert_eq!(waiting(&shop), 0);

    // A question from a stranger that names no order: the alert says so, and `cancel` on it
    // would have no order; `reply` answers the stranger.
    let shop = Shop::new();
    let out = shop.deliver(
        "aus.eml",
        &eml(
            "Kim Lee <kim@example.test>",
            "Shipping",
            "aus@example.test",
            None,
            "Do you ship to Australia?",
        ),
        "2026-12-01T09:00:00Z",
    );
    assert!(out.contains(&format!("sent held to {MARA}")), "{out}");
    let alert = request_id(&shop, MARA, "A message waits for you");
    assert!(!shop.mail_with(&alert)[0].contains("Order "));
    let out = answer(
        &shop,
        "2",
        MARA,
        &alert,
        "reply Yes, to Australia in 7-10 days.",
        "2026-12-01T10:00:00Z",
    );
    assert!(
        out.contains("sent seller_reply to kim@example.test"),
        "{out}"
    );
    assert_eq!(waiting(&shop), 0);

    // An order's command on the alert: the hold is dealt with too.
    let shop = Shop::new();
    let r = held_question(&shop);
    let alert = request_id(&shop, SAM, "A message waits for you");
    let out = answer(
        &shop,
        "3",
        SAM,
        &alert,
        "cancel we cannot gift wrap, sorry",
        "2026-12-01T10:00:00Z",
    );
    assert!(out.contains("[cancelled]"), "{out}");
    assert_eq!(shop.order(&r)["state"], "cancelled");
    assert_eq!(waiting(&shop), 0);
}

#[test]
fn a_forged_or_stale_reply_changes_and_sends_nothing() {
    let shop = Shop::new();
    let r = held_question(&shop);
    let mara = request_id(&shop, MARA, "A message waits for you");
    let at = "2026-12-01T10:00:00Z";
    let cases: [(&str, &str, &str); 4] = [
        ("another seller on Mara's alert", SAM, at),
        ("the customer on a forwarded alert", PAT, at),
        (
            "a stranger with a seller's name",
            "\"mara@lindenclay.test\" <mara@lindenclay.test.evil.example>",
            at,
        ),
        (
            "Mara, after the alert expired",
            MARA,
            "2027-01-05T10:00:00Z",
        ),
    ];
    for (i, (what, from, when)) in cases.iter().enumerate() {
        let out = answer(
            &shop,
            &format!("f{i}"),
            from,
            &mara,
            "reply Your order is free today!",
            when,
        );
        assert!(out.contains("held for a person"), "{what}: {out}");
        assert!(!out.contains("seller_reply"), "{what}: {out}");
    }
    // A reply with no token at all, from Mara: it answers nothing.
    let out = shop.deliver(
        "fresh.eml",
        &eml(
            MARA,
            "reply",
            "fresh@lindenclay.test",
            Some("gift@example.test"),
            "reply Your order is free today!",
        ),
        at,
    );
    assert!(!out.contains("seller_reply"), "{out}");
    // With authentication required, Mara's real token with DKIM failing.
    shop.require_authentication();
    let raw = eml(
        MARA,
        "Re: Waiting for you",
        "dkim@lindenclay.test",
        Some(&mara),
        "reply Your order is free today!",
    );
    let raw = format!(
        "Authentication-Results: {OURS}; dkim=fail header.d=lindenclay.test; dmarc=fail header.from=lindenclay.test\r\n{raw}"
    );
    let out = shop.deliver("dkim.eml", &raw, at);
    assert!(
        out.contains("held for a person") && out.contains("authentication"),
        "{out}"
    );

    assert!(shop.mail_with("free today").is_empty(), "nothing sent");
    let history = shop.order(&r)["history"].to_string();
    assert!(!history.contains("seller_replied"), "{history}");
    assert_eq!(shop.order(&r)["state"], "awaiting_payment");
    // The customer's question still waits, beside the forgeries.
    let review = shop.run(&["review"]);
    assert!(
        review.contains("do you gift wrap") || review.contains("a person should answer"),
        "{review}"
    );

    // The genuine answer, authenticated, still works.
    let raw = eml(
        MARA,
        "Re: Waiting for you",
        "real@lindenclay.test",
        Some(&mara),
        "reply We do, for free.",
    );
    let raw =
        format!("Authentication-Results: {OURS}; dkim=pass header.d=lindenclay.test\r\n{raw}");
    let out = shop.deliver("real.eml", &raw, "2026-12-01T11:00:00Z");
    assert!(
        out.contains("sent seller_reply to pat@example.test"),
        "{out}"
    );
}

#[test]
fn a_daily_digest_lists_what_still_waits() {
    let shop = Shop::new();
    shop.edit_config("# digest_hour = 8", "digest_hour = 8");
    held_question(&shop);
    let digests = || shop.mail_with("Waiting for you: 1 held");
    shop.run(&["--at", "2026-12-02T07:59:00Z", "tick"]);
    assert!(digests().is_empty(), "not before the hour");
    let out = shop.run(&["--at", "2026-12-02T08:01:00Z", "tick"]);
    assert!(out.contains(&format!("sent alert to {MARA}")), "{out}");
    let sent = digests();
    assert_eq!(sent.len(), 2, "one to each seller");
    for what in [
        "1 message held for a person",
        "since 2026-12-01 09:30 UTC (22 hours)",
        "pat@example.test, \"Re: Your order\"",
        "a person should answer",
    ] {
        assert!(sent[0].contains(what), "{what:?} in {}", sent[0]);
    }
    shop.run(&["--at", "2026-12-02T09:00:00Z", "tick"]);
    assert_eq!(digests().len(), 2, "once a day");
    // Dealt with: the next day nothing waits, and no digest comes.
    let alert = request_id(&shop, MARA, "A message waits for you");
    answer(&shop, "r", MARA, &alert, "resolved", "2026-12-02T10:00:00Z");
    let out = shop.run(&["--at", "2026-12-03T08:30:00Z", "tick"]);
    assert!(!out.contains("alert"), "{out}");
    assert!(shop.mail_with("Waiting for you: 0 held").is_empty());
}

#[test]
fn a_flood_of_held_mail_is_not_a_flood_of_alerts() {
    let shop = Shop::new();
    let mut paths = Vec::new();
    for i in 0..33 {
        let path = shop.dir.path().join(format!("q{i}.eml"));
        let raw = eml(
            &format!("Visitor {i} <v{i}@example.test>"),
            "Question",
            &format!("q{i}@example.test"),
            None,
            &format!("Question number {i}: do you ship to the moon?"),
        );
        std::fs::write(&path, raw).unwrap();
        paths.push(path.to_string_lossy().into_owned());
    }
    let mut args = vec!["--at", "2026-12-01T09:00:00Z", "process"];
    args.extend(paths.iter().map(String::as_str));
    shop.run(&args);
    assert_eq!(shop.mail_with("A message waits for you").len(), 30 * 2);
    assert_eq!(
        shop.mail_with("Many messages wait for you").len(),
        2,
        "one notice a seller that hour"
    );
    assert_eq!(waiting(&shop), 33, "every message still waits");
}
