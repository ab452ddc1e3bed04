//! Customers changing their order in its thread, through the real binary: before payment a
//! revised quote (stock checked again, the reservation moved, the deadline restarted, the flag
//! rules asked again), after payment a person, after shipping the returns.

mod common;
use common::shop::{PAT, Shop, eml, header};

fn state(shop: &Shop, r: &str) -> String {
    shop.order(r)["state"].as_str().unwrap().to_string()
}

/// The Message-ID of the newest email to Pat whose text has `needle`.
fn our_mail(shop: &Shop, needle: &str) -> String {
    let mail: Vec<String> = shop
        .mail_with(needle)
        .into_iter()
        .filter(|t| header(t, "To").contains("pat@example.test"))
        .collect();
    let last = mail
        .last()
        .unwrap_or_else(|| panic!("no mail with {needle:?}"));
    header(last, "Message-ID")
        .trim_matches(['<', '>'])
        .to_string()
}

/// Pat answers our newest mail containing `needle`.
fn pat_answers(shop: &Shop, needle: &str, id: &str, body: &str, at: &str) -> String {
    let parent = our_mail(shop, needle);
    shop.deliver(
        &format!("{id}.eml"),
        &eml(PAT, "Re: Your order", id, Some(&parent), body),
        at,
    )
}

fn lines(shop: &Shop, r: &str) -> Vec<(String, u64)> {
    shop.order(r)["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["sku"].as_str().unwrap().to_string(),
                l["quantity"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn owned(items: &[(&str, u64)]) -> Vec<(String, u64)> {
    items.iter().map(|(s, q)| (s.to_string(), *q)).collect()
}

#[test]
fn a_change_before_payment_gets_a_revised_quote_with_stock_moved_and_a_new_deadline() {
    let shop = Shop::new();
    let r = shop.quoted_order("o1@example.test", "2026-12-01T09:00:00Z");
    let due_before = shop.order(&r)["payment_due"].as_str().unwrap().to_string();
    assert_eq!(shop.stock("MUG-BLU").1, 2, "2 mugs reserved");

    let out = pat_answers(
        &shop,
        "Here is your quote",
        "change1@example.test",
        "Could you also add 2 Bud Vases? And make it 3 mugs instead of 2.\n\nThanks, Pat",
        "2026-12-02T09:00:00Z",
    );
    assert!(out.contains("[awaiting_payment]"), "{out}");
    assert_eq!(lines(&shop, &r), owned(&[("MUG-BLU", 3), ("VASE-BUD", 2)]));
    // The ledger holds the new lines only.
    assert_eq!(shop.stock("MUG-BLU").1, 3);
    assert_eq!(shop.stock("VASE-BUD").1, 2);
    let order = shop.order(&r);
    // 3 x 18.00 + 2 x 22.00 = 98.00, shipping 8.00, tax 8% of the goods.
    assert_eq!(order["subtotal"], "98.00", "{order}");
    assert_ne!(order["payment_due"].as_str().unwrap(), due_before);

    let revised = shop.mail_with("revision 2");
    assert_eq!(revised.len(), 1, "one revised quote");
    for said in [
        "added 2 x Bud Vase",
        "Blue Glazed Mug: 3 instead of 2",
        &r,
        order["total"].as_str().unwrap(),
    ] {
        assert!(revised[0].contains(said), "{said}: {}", revised[0]);
    }
    // In the customer's thread, from the shop.
    assert!(header(&revised[0], "In-Reply-To").contains("change1@example.test"));

    // Paying the first total now is a part payment, handled as any other.
    let notice = format!(
        "From: Northbank Alerts <alerts@bank.example>\r\nTo: orders@lindenclay.test\r\nSubject: Incoming transfer: USD 46.88\r\nMessage-ID: <pay-old@notify.bank.example>\r\nDate: Wed, 2 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nYou have received a transfer.\r\n\r\nAmount:        USD 46.88\r\nPayer:         Pat Okafor\r\nTransaction reference: TRX-old-2026\r\nRemittance information:\r\n{r}\r\n"
    );
    let out = shop.deliver("pay-old.eml", &notice, "2026-12-02T10:00:00Z");
    assert!(out.contains("[awaiting_payment]"), "{out}");
    let order = shop.order(&r);
    assert_eq!(order["paid"], "46.88");
    assert_ne!(order["outstanding"], "0.00", "{order}");

    // Everything the history says was sent is in the outbox.
    let history = order["history"].as_array().unwrap().clone();
    let revise = history
        .iter()
        .find(|e| e["kind"] == "state_changed" && e["detail"]["step"] == "revise")
        .expect("a revise step");
    assert_eq!(revise["detail"]["detail"]["revision"], 2);
    shop.assert_every_claim_happened();

    // The record knows the revision: `verify` holds, the export says which revision the
    // order is at, and the customer's own export carries what changed.
    let verify = shop.run(&["verify"]);
    assert!(verify.contains("verified: the record is whole"), "{verify}");
    let out = shop.dir.path().join("export");
    shop.run(&["export", "--out", out.to_str().unwrap()]);
    let orders = std::fs::read_to_string(out.join("orders.csv")).unwrap();
    let column = |line: &str| -> String {
        let header_row = orders.lines().next().unwrap();
        let at = header_row.split(',').position(|c| c == "revision");
        let at = at.unwrap_or_else(|| panic!("no revision column: {header_row}"));
        line.split(',').nth(at).unwrap_or_default().to_string()
    };
    let row = orders.lines().find(|l| l.starts_with(&r)).unwrap();
    assert_eq!(column(row), "2", "{row}");
    let mine = shop.json(&["customer", "export", "pat@example.test"]);
    assert!(
        mine.to_string().contains("Blue Glazed Mug: 3 instead of 2"),
        "{mine}"
    );
}

#[test]
fn remove_swap_and_what_cannot_be_read() {
    let shop = Shop::new();
    let r = shop.quoted_order("o1@example.test", "2026-12-01T09:00:00Z");
    let out = pat_answers(
        &shop,
        "Here is your quote",
        "swap@example.test",
        "Please swap the blue mug for the green one",
        "2026-12-01T10:00:00Z",
    );
    assert!(out.contains("[awaiting_payment]"), "{out}");
    assert_eq!(lines(&shop, &r), owned(&[("MUG-GRN", 2)]));
    assert_eq!(shop.stock("MUG-BLU").1, 0, "the blue mugs are free again");

    // "Add 2 mugs" when three kinds fit and the order has none of them: one question.
    let before = shop.order(&r);
    let out = pat_answers(
        &shop,
        "revision 2",
        "unclear@example.test",
        "also add some bowls",
        "2026-12-01T11:00:00Z",
    );
    assert!(!out.contains("held"), "{out}");
    let asked = shop.mail_with("could not tell exactly what you would like");
    assert_eq!(asked.len(), 1);
    assert!(asked[0].contains("also add some bowls"), "{}", asked[0]);
    assert_eq!(shop.order(&r)["lines"], before["lines"], "nothing changed");

    // Removing the last item leaves nothing: asked, not cancelled.
    let out = pat_answers(
        &shop,
        "revision 2",
        "empty@example.test",
        "no green mugs after all",
        "2026-12-01T12:00:00Z",
    );
    assert_eq!(state(&shop, &r), "awaiting_payment", "{out}");
    assert!(
        shop.mail_with("If you would like to cancel the order")
            .len()
            == 1,
        "{out}"
    );
    shop.assert_every_claim_happened();
}

#[test]
fn a_change_over_the_approval_limit_goes_to_the_sellers() {
    let shop = Shop::new();
    let r = shop.quoted_order("o1@example.test", "2026-12-01T09:00:00Z");
    // Eight cast iron teapots at 64.00 take the total over 500.00.
    let out = pat_answers(
        &shop,
        "Here is your quote",
        "big@example.test",
        "Please also add 8 cast iron teapots",
        "2026-12-01T10:00:00Z",
    );
    assert!(out.contains("[awaiting_approval]"), "{out}");
    assert_eq!(shop.order(&r)["total"], "591.84");
    let requests = shop.mail_with("Approve order");
    assert_eq!(requests.len(), 2, "one per seller");
    assert!(requests[0].contains("revision 2"), "{}", requests[0]);
    assert!(requests[0].contains("total_over"), "{}", requests[0]);
    assert_eq!(shop.mail_with("member of our team").len(), 1);
    shop.assert_every_claim_happened();
}

#[test]
fn a_revision_that_races_the_last_item_in_stock_gets_what_is_left() {
    let shop = Shop::new();
    // Red Glazed Mug: 3 in stock. Pat holds 1, Lee takes 1, then Pat wants 3.
    let quoted = |id: &str, who: &str, body: &str| {
        shop.deliver(
            &format!("{id}.eml"),
            &eml(who, "Order", id, None, body),
            "2026-12-01T09:00:00Z",
        )
    };
    let out = quoted(
        "pat1@example.test",
        PAT,
        &format!("1 x Red Mug\n\n{}", common::shop::ADDRESS),
    );
    assert!(out.contains("awaiting_payment"), "{out}");
    let r = shop.orders()[0]["reference"].as_str().unwrap().to_string();
    let out = quoted(
        "lee1@example.test",
        "Lee Chen <lee@example.test>",
        "1 x Red Mug\n\nShip to:\nLee Chen\n9 Elm Street\nPortland, OR 97205\nUSA\n",
    );
    assert!(out.contains("awaiting_payment"), "{out}");
    assert_eq!(shop.stock("MUG-RED").2, 1, "one left");
    let out = pat_answers(
        &shop,
        "Here is your quote",
        "more-red@example.test",
        "make it 3 red mugs",
        "2026-12-01T10:00:00Z",
    );
    assert!(out.contains("[awaiting_payment]"), "{out}");
    // Pat's own one and the last free one: 2 of the 3 asked.
    assert_eq!(lines(&shop, &r), owned(&[("MUG-RED", 2)]));
    assert_eq!(shop.stock("MUG-RED").2, 0);
    let revised = shop.mail_with("revision 2");
    assert!(revised[0].contains("3"), "{}", revised[0]);
    shop.assert_every_claim_happened();
}

#[test]
fn after_payment_a_person_and_after_shipping_the_returns() {
    let shop = Shop::new();
    shop.require_authentication();
    let r = shop.quoted_order("o1@example.test", "2026-12-01T09:00:00Z");
    let out = shop.seller_says(&format!("paid {r}"), "2026-12-01T10:00:00Z");
    assert!(out.contains("[paid]"), "{out}");
    let out = pat_answers(
        &shop,
        "payment received",
        "paid-change@example.test",
        "Could you add a teapot as well?",
        "2026-12-01T11:00:00Z",
    );
    assert!(out.contains("held"), "{out}");
    let problems = shop.run(&["review"]);
    assert!(
        problems.contains("Cast Iron Teapot") && problems.contains("more than paid"),
        "{problems}"
    );
    assert_eq!(state(&shop, &r), "paid");

    let out = shop.seller_says(
        &format!("shipped {r} Royal Mail AB123456789GB"),
        "2026-12-02T10:00:00Z",
    );
    assert!(out.contains("[shipped]"), "{out}");
    let out = pat_answers(
        &shop,
        "has shipped",
        "late-change@example.test",
        "Oh, and make it 3 mugs please",
        "2026-12-02T11:00:00Z",
    );
    assert!(!out.contains("held"), "{out}");
    let told = shop.mail_with("can no longer change what is in it");
    assert_eq!(told.len(), 1, "{out}");
    assert_eq!(state(&shop, &r), "shipped");
    shop.assert_every_claim_happened();
}
