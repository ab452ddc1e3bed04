//! Sellers by email, through the real binary on a real database: approve and reject by reply,
//! `shipped` with the tracking email, fresh commands that need authentication, and forged or
//! stale commands, none of which changes an order.

mod common;
use common::shop::{ADDRESS, PAT, Shop, eml, header, request_id};

const MARA: &str = "mara@lindenclay.test";
const SAM: &str = "sam@lindenclay.test";
const OURS: &str = "mx.lindenclay.test";

/// 8 Cast Iron Teapots (512.00 + shipping, over the 500.00 approval limit) as Pat.
fn flagged_order(shop: &Shop, id: &str, at: &str) -> String {
    flagged(shop, id, "8 x Cast Iron Teapot", at)
}

fn flagged(shop: &Shop, id: &str, items: &str, at: &str) -> String {
    let out = shop.deliver(
        &format!("{id}.eml"),
        &eml(PAT, "Order", id, None, &format!("{items}\n\n{ADDRESS}")),
        at,
    );
    assert!(out.contains("awaiting_approval"), "{out}");
    let start = out.find("-> order ").unwrap() + 9;
    out[start..].split_whitespace().next().unwrap().to_string()
}

fn state(shop: &Shop, r: &str) -> String {
    shop.order(r)["state"].as_str().unwrap().to_string()
}

fn command(
    shop: &Shop,
    n: &str,
    from: &str,
    reply_to: Option<&str>,
    body: &str,
    at: &str,
) -> String {
    shop.deliver(
        &format!("cmd-{n}.eml"),
        &eml(
            from,
            "Re: request",
            &format!("cmd-{n}@lindenclay.test"),
            reply_to,
            body,
        ),
        at,
    )
}

#[test]
fn a_seller_approves_by_reply_and_the_customer_gets_the_quote() {
    let shop = Shop::new();
    let r = flagged_order(&shop, "big@example.test", "2026-12-01T09:00:00Z");
    assert_eq!(
        shop.stock("TEAPOT-CI"),
        (8, 8, 0),
        "reserved while it waits"
    );
    let mara = request_id(&shop, MARA, "needs your approval");
    let sam = request_id(&shop, SAM, "needs your approval");
    assert_ne!(mara, sam, "each seller has a token of their own");
    let token = mara.split(['.', '@']).nth(1).unwrap();
    assert_eq!(token.len(), 32, "128 bits in hex: {mara}");
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()));

    let out = command(
        &shop,
        "1",
        MARA,
        Some(&mara),
        "Approve\n\n> Order ... needs your approval",
        "2026-12-01T10:00:00Z",
    );
    assert!(
        out.contains("seller_command") && out.contains("[awaiting_payment]"),
        "{out}"
    );
    assert!(out.contains("sent quote to pat@example.test"), "{out}");
    let quote = shop.mail_with("quote and payment details");
    assert_eq!(quote.len(), 1);
    assert!(quote[0].contains("Total:"), "{}", quote[0]);
    // The quote threads with the customer's own conversation, not with the sellers' mail.
    assert!(
        header(&quote[0], "In-Reply-To").contains(&r.to_ascii_lowercase()),
        "{}",
        quote[0]
    );
    assert!(!quote[0].contains(&mara), "{}", quote[0]);
    let history = shop.order(&r)["history"].to_string();
    assert!(
        history.contains("\"step\":\"approve\"") && history.contains("token of approval request"),
        "{history}"
    );

    // Sam's answer comes second: his request was answered with Mara's, so nothing happens.
    let out = command(
        &shop,
        "2",
        SAM,
        Some(&sam),
        "approve",
        "2026-12-01T10:05:00Z",
    );
    assert!(
        out.contains("held for a person") && out.contains("already answered"),
        "{out}"
    );
    assert_eq!(state(&shop, &r), "awaiting_payment");
}

#[test]
fn a_rejection_releases_the_stock_and_tells_the_customer_why() {
    let shop = Shop::new();
    let r = flagged_order(&shop, "big@example.test", "2026-12-01T09:00:00Z");
    let mara = request_id(&shop, MARA, "needs your approval");
    let out = command(
        &shop,
        "1",
        MARA,
        Some(&mara),
        "reject Sorry, we can only sell four teapots per customer.",
        "2026-12-01T10:00:00Z",
    );
    assert!(out.contains("[rejected]"), "{out}");
    assert_eq!(state(&shop, &r), "rejected");
    assert_eq!(shop.stock("TEAPOT-CI"), (8, 0, 8));
    let refusal = shop.mail_with("not able to accept it");
    assert_eq!(refusal.len(), 1);
    assert!(
        refusal[0].contains("we can only sell four teapots per customer"),
        "{}",
        refusal[0]
    );
    assert!(header(&refusal[0], "To").contains("pat@example.test"));
}

#[test]
fn shipped_by_reply_to_the_packing_slip_sends_the_tracking_link() {
    let shop = Shop::new();
    let r = shop.quoted_order("o1@example.test", "2026-12-01T09:00:00Z");
    let out = command(&shop, "pay", MARA, None, "", "2026-12-01T09:01:00Z");
    assert!(
        out.contains("held"),
        "an empty message from a seller is no command: {out}"
    );
    // A seller confirms a payment mailcart cannot see; fresh commands need authentication.
    shop.edit_config(
        "# authserv_id = \"mx.lindenclay.test\"",
        "authserv_id = \"mx.lindenclay.test\"",
    );
    let authenticated = |body: &str, n: &str, reply_to: Option<&str>, at: &str| {
        let raw = eml(
            MARA,
            "Re: request",
            &format!("auth-{n}@lindenclay.test"),
            reply_to,
            body,
        );
        let raw = format!(
            "Authentication-Results: {OURS}; dkim=pass header.d=lindenclay.test; dmarc=pass header.from=lindenclay.test\r\n{raw}"
        );
        shop.deliver(&format!("auth-{n}.eml"), &raw, at)
    };
    let out = authenticated(&format!("paid {r}"), "paid", None, "2026-12-01T10:00:00Z");
    assert!(
        out.contains("[paid]") && out.contains("packing_slip"),
        "{out}"
    );
    assert_eq!(shop.stock("MUG-BLU"), (38, 0, 38));

    let slip = request_id(&shop, MARA, "please pack it");
    let out = authenticated(
        "Shipped UPS 1Z999AA10123456784\n\nThanks",
        "ship",
        Some(&slip),
        "2026-12-02T15:00:00Z",
    );
    assert!(
        out.contains("[shipped]") && out.contains("sent shipped to pat@example.test"),
        "{out}"
    );
    let tracking = shop.mail_with("is on its way");
    assert_eq!(tracking.len(), 1);
    for line in [
        "Carrier: UPS",
        "Tracking number: 1Z999AA10123456784",
        "Track it here: https://www.ups.com/track?tracknum=1Z999AA10123456784",
    ] {
        assert!(
            tracking[0].contains(line),
            "{line:?} missing: {}",
            tracking[0]
        );
    }
    // "Where is my order?" now answers with the tracking number.
    let out = shop.deliver(
        "where.eml",
        &eml(
            PAT,
            "Where is my order?",
            "where@example.test",
            None,
            "Hi, where is my order?",
        ),
        "2026-12-03T09:00:00Z",
    );
    assert!(out.contains("sent status"), "{out}");
    let status = shop.mail_with("tracking number 1Z999AA10123456784");
    assert_eq!(status.len(), 1, "the status answer carries the tracking");
}

#[test]
fn fresh_commands_cancel_refund_and_note_with_authentication() {
    let shop = Shop::new();
    shop.edit_config(
        "# authserv_id = \"mx.lindenclay.test\"",
        "authserv_id = \"mx.lindenclay.test\"",
    );
    let r = shop.quoted_order("o1@example.test", "2026-12-01T09:00:00Z");
    let n = std::cell::Cell::new(0);
    let fresh = |body: String, at: &str| {
        n.set(n.get() + 1);
        let raw = eml(
            SAM,
            "command",
            &format!("fresh-{}@lindenclay.test", n.get()),
            None,
            &body,
        );
        let raw =
            format!("Authentication-Results: {OURS}; dkim=pass header.d=lindenclay.test\r\n{raw}");
        shop.deliver(&format!("fresh-{}.eml", n.get()), &raw, at)
    };
    let out = fresh(
        format!("note {r} customer phoned, wants it gift wrapped"),
        "2026-12-01T09:30:00Z",
    );
    assert!(!out.contains("held"), "{out}");
    assert!(
        shop.order(&r)["history"]
            .to_string()
            .contains("gift wrapped")
    );
    fresh(format!("paid {r}"), "2026-12-01T10:00:00Z");
    assert_eq!(state(&shop, &r), "paid");
    let slips = shop.mail_with("please pack it");
    assert_eq!(slips.len(), 2);
    assert!(
        slips[0].contains("sam@lindenclay.test: customer phoned, wants it gift wrapped"),
        "the seller's note is on the slip: {}",
        slips[0]
    );
    assert!(
        slips[0].contains("2 x Blue Mug"),
        "and the customer's words: {}",
        slips[0]
    );
    let out = fresh(
        format!("cancel {r} the glaze cracked in the kiln"),
        "2026-12-01T11:00:00Z",
    );
    assert!(
        out.contains("[cancelled]") && out.contains("cancelled_by_shop"),
        "{out}"
    );
    // Sold, then cancelled before shipping: the mugs are back on the shelf, the money is due back.
    assert_eq!(shop.stock("MUG-BLU"), (40, 0, 40));
    let order = shop.order(&r);
    assert!(order["history"].to_string().contains("refund_due"));
    let told = shop.mail_with("will be refunded in full");
    assert_eq!(told.len(), 1);
    assert!(
        told[0].contains("the glaze cracked in the kiln"),
        "{}",
        told[0]
    );
    assert_eq!(
        shop.mail_with("Refund due").len(),
        1,
        "the seller is asked to refund"
    );
    let out = fresh(format!("refunded {r}"), "2026-12-02T09:00:00Z");
    assert!(!out.contains("held"), "{out}");
    let out = fresh(format!("refunded {r}"), "2026-12-02T09:05:00Z");
    assert!(
        out.contains("Nothing done") || out.contains("alert"),
        "a second refund is no news: {out}"
    );
}

/// Forged, stale, misdirected and unauthenticated commands: none changes the order, each is
/// held, and the seller named is told once per order.
#[test]
fn forged_and_stale_seller_commands_change_nothing() {
    let shop = Shop::new();
    let r = flagged_order(&shop, "big@example.test", "2026-12-01T09:00:00Z");
    let other = flagged(
        &shop,
        "big2@example.test",
        "30 x Dinner Plate",
        "2026-12-01T09:01:00Z",
    );
    let mara: Vec<String> = shop
        .mail_with("needs your approval")
        .into_iter()
        .filter(|t| header(t, "To").contains(MARA))
        .map(|t| {
            header(&t, "Message-ID")
                .trim_matches(['<', '>'])
                .to_string()
        })
        .collect();
    let (mara_r, mara_other): (String, String) = {
        let mine = mara
            .iter()
            .find(|m| m.starts_with(&r.to_ascii_lowercase()))
            .unwrap();
        let theirs = mara
            .iter()
            .find(|m| m.starts_with(&other.to_ascii_lowercase()))
            .unwrap();
        (mine.clone(), theirs.clone())
    };
    let sam_r = request_id(&shop, SAM, &format!("Order {r} needs your approval"));
    let guessed = format!(
        "{}.0123456789abcdef0123456789abcdef@lindenclay.test",
        r.to_ascii_lowercase()
    );
    let at = "2026-12-01T10:00:00Z";
    let cases: Vec<(&str, String, Option<String>, String)> = vec![
        (
            "a customer replying to the request",
            PAT.into(),
            Some(mara_r.clone()),
            "approve".into(),
        ),
        (
            "display name of a seller, address of a stranger",
            "\"mara@lindenclay.test\" <mara@lindenclay.test.evil.example>".into(),
            Some(mara_r.clone()),
            "approve".into(),
        ),
        (
            "a seller answering another seller's request",
            SAM.into(),
            Some(mara_r.clone()),
            "approve".into(),
        ),
        (
            "a guessed token",
            MARA.into(),
            Some(guessed),
            "approve".into(),
        ),
        (
            "another order's request with this order's reference",
            MARA.into(),
            Some(mara_other.clone()),
            format!("approve {r}"),
        ),
        (
            "shipped in answer to an approval request",
            MARA.into(),
            Some(mara_r.clone()),
            "shipped UPS 1Z999AA10123456784".into(),
        ),
        (
            "a fresh command while authserv_id is unset",
            MARA.into(),
            None,
            format!("approve {r}"),
        ),
        (
            "a fresh command with no reference at all",
            MARA.into(),
            None,
            "approve".into(),
        ),
    ];
    for (i, (what, from, reply_to, body)) in cases.iter().enumerate() {
        let out = command(&shop, &format!("f{i}"), from, reply_to.as_deref(), body, at);
        assert_eq!(state(&shop, &r), "awaiting_approval", "{what}: {out}");
        assert!(out.contains("held for a person"), "{what}: {out}");
    }
    // Now with authentication required.
    shop.edit_config(
        "# authserv_id = \"mx.lindenclay.test\"",
        "authserv_id = \"mx.lindenclay.test\"",
    );
    let forged = |n: &str, headers: &str, reply_to: Option<&str>, body: &str, at: &str| {
        let raw = eml(
            MARA,
            "Re: request",
            &format!("auth-{n}@lindenclay.test"),
            reply_to,
            body,
        );
        shop.deliver(&format!("auth-{n}.eml"), &format!("{headers}{raw}"), at)
    };
    let fail_then_forged_pass = format!(
        "Authentication-Results: {OURS}; dkim=fail header.d=lindenclay.test; dmarc=fail header.from=lindenclay.test\r\nAuthentication-Results: {OURS}; dkim=pass header.d=lindenclay.test\r\n"
    );
    let cases: Vec<(&str, String, Option<String>, String, &str)> = vec![
        (
            "the real token, but our server says DKIM failed",
            fail_then_forged_pass.clone(),
            Some(mara_r.clone()),
            "approve".into(),
            at,
        ),
        (
            "a fresh command with a forged pass below the real fail",
            fail_then_forged_pass,
            None,
            format!("approve {r}"),
            at,
        ),
        (
            "a fresh command with no Authentication-Results",
            String::new(),
            None,
            format!("reject {r} no reason"),
            at,
        ),
        (
            "a pass from someone else's server",
            "Authentication-Results: mx.evil.example; dkim=pass header.d=lindenclay.test\r\n"
                .into(),
            None,
            format!("approve {r}"),
            at,
        ),
        (
            "a token past its expiry",
            format!("Authentication-Results: {OURS}; dkim=pass header.d=lindenclay.test\r\n"),
            Some(mara_r.clone()),
            "approve".into(),
            "2026-12-09T10:00:00Z",
        ),
    ];
    for (i, (what, headers, reply_to, body, when)) in cases.iter().enumerate() {
        let out = forged(&format!("a{i}"), headers, reply_to.as_deref(), body, when);
        assert_eq!(state(&shop, &r), "awaiting_approval", "{what}: {out}");
        assert!(out.contains("held for a person"), "{what}: {out}");
    }
    assert_eq!(
        shop.stock("TEAPOT-CI"),
        (8, 8, 0),
        "nothing released, nothing sold"
    );
    // Mara heard once about the ignored commands about this order, and once about those that
    // named no order at all; not once per forgery.
    let notices: Vec<String> = shop
        .mail_with("An unverified command was ignored")
        .into_iter()
        .filter(|t| header(t, "To").contains(MARA))
        .collect();
    assert_eq!(notices.len(), 2, "{notices:?}");
    // The genuine reply still works: Sam's approval by reply, authenticated.
    let raw = eml(
        SAM,
        "Re: request",
        "real@lindenclay.test",
        Some(&sam_r),
        "approve",
    );
    let raw =
        format!("Authentication-Results: {OURS}; dkim=pass header.d=lindenclay.test\r\n{raw}");
    let out = shop.deliver("real.eml", &raw, "2026-12-01T11:00:00Z");
    assert!(out.contains("[awaiting_payment]"), "{out}");
}
