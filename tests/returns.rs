//! Returns and exchanges through the real binary: a return authorisation with the shop's
//! instructions after shipping, the sellers' `returned` (forged ones change nothing), goods
//! back in the ledger and the refund due, partial returns, exchanges quoted at the
//! difference, and what `verify`, `export` and `customer export` make of them.

mod common;
use common::shop::{PAT, Shop, eml, header, request_id};

const MARA: &str = "mara@lindenclay.test";

fn customer_says(shop: &Shop, id: &str, subject: &str, body: &str, at: &str) -> String {
    shop.deliver(&format!("{id}.eml"), &eml(PAT, subject, id, None, body), at)
}

/// Mara's reply to one of our requests, DKIM-signed as our server saw it.
fn seller_replies(shop: &Shop, id: &str, parent: &str, body: &str, at: &str) -> String {
    reply_as(shop, MARA, id, parent, body, at)
}

fn reply_as(shop: &Shop, seller: &str, id: &str, parent: &str, body: &str, at: &str) -> String {
    let raw = eml(seller, "Re: request", id, Some(parent), body);
    let raw = format!(
        "Authentication-Results: mx.lindenclay.test; dkim=pass header.d=lindenclay.test\r\n{raw}"
    );
    shop.deliver(&format!("{}.eml", id.replace('@', "_")), &raw, at)
}

/// Paid and shipped: `items` to Portland, as Pat.
fn shipped_order(shop: &Shop, items: &str) -> String {
    shop.require_authentication();
    let out = shop.deliver(
        "o1.eml",
        &eml(
            PAT,
            "Order",
            "o1@example.test",
            None,
            &format!("{items}\n\n{}", common::shop::ADDRESS),
        ),
        "2026-12-01T09:00:00Z",
    );
    let start = out.find("-> order ").unwrap() + 9;
    let r = out[start..].split_whitespace().next().unwrap().to_string();
    let out = shop.seller_says(&format!("paid {r}"), "2026-12-01T10:00:00Z");
    assert!(out.contains("[paid]"), "{out}");
    let out = shop.seller_says(
        &format!("shipped {r} Royal Mail AB123456789GB"),
        "2026-12-02T10:00:00Z",
    );
    assert!(out.contains("[shipped]"), "{out}");
    r
}

fn order_field(shop: &Shop, r: &str, field: &str) -> serde_json::Value {
    shop.order(r)[field].clone()
}

fn verified(shop: &Shop) {
    let out = shop.run(&["verify"]);
    assert!(out.contains("verified: the record is whole"), "{out}");
}

#[test]
fn a_return_after_shipping_gets_a_number_and_the_goods_come_back_by_reply() {
    let shop = Shop::new();
    let r = shipped_order(&shop, "2 x Blue Mug");
    assert_eq!(shop.stock("MUG-BLU"), (38, 0, 38));
    let out = customer_says(
        &shop,
        "ret@example.test",
        &format!("Re: Order {r} has shipped"),
        "Hello, I'd like to return the mugs please, they are not the blue I expected.",
        "2026-12-05T09:00:00Z",
    );
    let rma = format!("{r}-R1");
    assert!(
        out.contains("sent returns to pat@example.test") && !out.contains("held"),
        "{out}"
    );
    let told = shop.mail_with(&format!("Your return authorisation number is {rma}"));
    assert_eq!(told.len(), 1);
    assert!(
        told[0].contains("within 30 days"),
        "the shop's instructions: {}",
        told[0]
    );
    assert!(
        told[0].contains("2 x Blue Glazed Mug (MUG-BLU)"),
        "{}",
        told[0]
    );
    assert!(told[0].contains("we refund 38.88 USD"), "{}", told[0]);
    let returns = order_field(&shop, &r, "returns");
    assert_eq!(returns[0]["rma"], rma.as_str());
    assert_eq!(returns[0]["state"], "authorised");
    assert_eq!(order_field(&shop, &r, "state"), "shipped");
    assert_eq!(shop.stock("MUG-BLU"), (38, 0, 38), "nothing back yet");
    // Each seller is asked, with a token of their own.
    let asks = shop.mail_with(&format!("Return {rma} authorised"));
    assert_eq!(asks.len(), 2, "one per seller");
    assert!(
        asks[0].contains("reply to this email with `returned`"),
        "{}",
        asks[0]
    );

    // Asking again gives the same number, not a second one.
    let out = customer_says(
        &shop,
        "ret2@example.test",
        &format!("Return {r}"),
        "Did you get my return request?",
        "2026-12-05T10:00:00Z",
    );
    assert!(out.contains("sent returns"), "{out}");
    assert_eq!(
        order_field(&shop, &r, "returns").as_array().unwrap().len(),
        1
    );

    // Mara answers her request: everything it lists is back.
    let parent = request_id(&shop, MARA, &format!("Return {rma} authorised"));
    let out = seller_replies(
        &shop,
        "back@lindenclay.test",
        &parent,
        "returned",
        "2026-12-10T09:00:00Z",
    );
    assert!(out.contains("[returned]") && !out.contains("held"), "{out}");
    assert_eq!(shop.stock("MUG-BLU"), (40, 0, 40), "back on the shelf");
    let order = shop.order(&r);
    assert_eq!(order["refund_due"], true);
    assert_eq!(order["returns"][0]["state"], "received");
    assert_eq!(order["returns"][0]["refund"], "38.88");
    let arrived = shop.mail_with("has arrived:");
    assert_eq!(arrived.len(), 1);
    assert!(header(&arrived[0], "To").contains("pat@example.test"));
    assert!(
        arrived[0].contains("Your refund of 38.88 USD is on its way"),
        "{}",
        arrived[0]
    );
    assert_eq!(shop.mail_with("Please refund 38.88 USD").len(), 2);
    let inventory = shop.run(&["inventory"]);
    assert!(inventory.contains("MUG-BLU"), "{inventory}");

    // The request is answered: the other seller's token is spent.
    let sams = request_id(
        &shop,
        "sam@lindenclay.test",
        &format!("Return {rma} authorised"),
    );
    let out = reply_as(
        &shop,
        "sam@lindenclay.test",
        "again@lindenclay.test",
        &sams,
        "returned",
        "2026-12-10T10:00:00Z",
    );
    assert!(out.contains("held"), "{out}");
    assert_eq!(shop.stock("MUG-BLU"), (40, 0, 40), "not twice");

    // `refunded` as today.
    let out = shop.seller_says(&format!("refunded {r}"), "2026-12-11T09:00:00Z");
    assert!(!out.contains("held"), "{out}");
    let order = shop.order(&r);
    assert_eq!(order["refund_due"], false);
    assert_eq!(order["refunded"], true);
    assert_eq!(order["returns"][0]["state"], "refunded");
    let text = shop.run(&["order", &r]);
    assert!(text.contains(&format!("return {rma} [refunded]")), "{text}");
    verified(&shop);
    shop.assert_every_claim_happened();
}

#[test]
fn a_forged_returned_changes_nothing() {
    let shop = Shop::new();
    let r = shipped_order(&shop, "2 x Blue Mug");
    customer_says(
        &shop,
        "ret@example.test",
        &format!("Return {r}"),
        "I want to send them back.",
        "2026-12-05T09:00:00Z",
    );
    let before = shop.order(&r);
    // Not a seller at all.
    let out = shop.deliver(
        "eve.eml",
        &eml(
            "Eve <eve@example.org>",
            "x",
            "eve@example.org",
            None,
            &format!("returned {r}"),
        ),
        "2026-12-06T09:00:00Z",
    );
    assert!(out.contains("held"), "{out}");
    // A seller's address, but our server did not see it signed.
    let out = shop.deliver(
        "spoof.eml",
        &eml(
            MARA,
            "x",
            "spoof@lindenclay.test",
            None,
            &format!("returned {r}"),
        ),
        "2026-12-06T09:05:00Z",
    );
    assert!(
        out.contains("held") && out.contains("authentication"),
        "{out}"
    );
    // The token of Mara's request, from someone else.
    let parent = request_id(&shop, MARA, "authorised");
    let out = shop.deliver(
        "stolen.eml",
        &eml(
            "Eve <eve@example.org>",
            "Re: request",
            "stolen@example.org",
            Some(&parent),
            "returned",
        ),
        "2026-12-06T09:10:00Z",
    );
    assert!(out.contains("held"), "{out}");
    assert_eq!(shop.stock("MUG-BLU"), (38, 0, 38));
    let after = shop.order(&r);
    assert_eq!(after["state"], before["state"]);
    assert_eq!(after["returns"], before["returns"]);
    assert_eq!(after["refund_due"], false);
    verified(&shop);
    shop.assert_every_claim_happened();
}

#[test]
fn a_partial_return_keeps_the_rest_shipped() {
    let shop = Shop::new();
    let r = shipped_order(&shop, "2 x Blue Mug\n1 x Cast Iron Teapot");
    assert_eq!(shop.stock("TEAPOT-CI"), (7, 0, 7));
    let out = customer_says(
        &shop,
        "ret@example.test",
        &format!("Re: Order {r}"),
        "Ich möchte den Tetsubin zurückgeben, bitte.",
        "2026-12-05T09:00:00Z",
    );
    assert!(out.contains("sent returns"), "{out}");
    let returns = order_field(&shop, &r, "returns");
    assert_eq!(returns[0]["lines"].as_array().unwrap().len(), 1);
    assert_eq!(returns[0]["lines"][0]["sku"], "TEAPOT-CI");
    // 64.00 and 8% tax.
    assert_eq!(returns[0]["credit"], "69.12");

    // A fresh command naming the authorisation and what arrived.
    let out = shop.seller_says(
        &format!("returned {r}-R1 TEAPOT-CI 1"),
        "2026-12-10T09:00:00Z",
    );
    assert!(out.contains("[shipped]") && !out.contains("held"), "{out}");
    assert_eq!(shop.stock("TEAPOT-CI"), (8, 0, 8));
    assert_eq!(shop.stock("MUG-BLU"), (38, 0, 38), "the mugs stay with Pat");
    let order = shop.order(&r);
    assert_eq!(
        order["lines"].as_array().unwrap().len(),
        2,
        "the order as sold"
    );
    assert_eq!(order["returns"][0]["refund"], "69.12");

    // More than is left is refused, and changes nothing.
    let out = shop.seller_says(&format!("returned {r} MUG-BLU 3"), "2026-12-11T09:00:00Z");
    assert!(out.contains("sent alert"), "{out}");
    assert!(
        !shop
            .mail_with("only 2 of it are still with the customer")
            .is_empty(),
        "the seller is told why"
    );
    assert_eq!(shop.stock("MUG-BLU"), (38, 0, 38));

    // The rest, without a request: a second number, and now all of it is back.
    let out = shop.seller_says(&format!("returned {r}"), "2026-12-12T09:00:00Z");
    assert!(out.contains("[returned]"), "{out}");
    assert_eq!(shop.stock("MUG-BLU"), (40, 0, 40));
    let returns = order_field(&shop, &r, "returns");
    assert_eq!(returns[1]["rma"], format!("{r}-R2").as_str());
    assert_eq!(returns[1]["refund"], "38.88");
    verified(&shop);

    // Edited behind mailcart's back, the returns no longer match what the record holds.
    let db = rusqlite::Connection::open(shop.dir.path().join("mailcart.db")).unwrap();
    db.execute(
        "UPDATE returns SET refund = '0.00' WHERE rma LIKE '%-R2'",
        [],
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mailcart"))
        .arg("--config")
        .arg(shop.dir.path().join("config.toml"))
        .arg("verify")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("its returns differ from its recorded document"),
        "{text}"
    );
    db.execute(
        "UPDATE returns SET refund = '38.88' WHERE rma LIKE '%-R2'",
        [],
    )
    .unwrap();
    verified(&shop);
    shop.assert_every_claim_happened();
}

#[test]
fn an_exchange_is_a_return_and_a_linked_order_quoted_at_the_difference() {
    let shop = Shop::new();
    let r = shipped_order(&shop, "2 x Blue Mug");
    let out = customer_says(
        &shop,
        "swap@example.test",
        &format!("Re: Order {r} has shipped"),
        "Can I exchange the blue mugs for the green ones?",
        "2026-12-05T09:00:00Z",
    );
    assert!(out.contains("sent exchange to pat@example.test"), "{out}");
    let rma = format!("{r}-R1");
    let returns = order_field(&shop, &r, "returns");
    let x = returns[0]["exchange"].as_str().unwrap().to_string();
    let new = shop.order(&x);
    assert_eq!(new["exchange_for"], rma.as_str());
    assert_eq!(new["state"], "awaiting_payment");
    // 2 x 19.50 = 39.00 and 8% tax, no second shipping: 42.12; the mugs' 38.88 counts.
    assert_eq!(new["total"], "42.12");
    assert_eq!(new["credit"], "38.88");
    assert_eq!(new["outstanding"], "3.24");
    assert_eq!(shop.stock("MUG-GRN"), (25, 2, 23), "set aside");
    let mail = shop.mail_with("Credit for what you send back");
    assert_eq!(mail.len(), 1);
    assert!(
        mail[0].contains(&rma) && mail[0].contains(&x),
        "{}",
        mail[0]
    );
    assert!(
        mail[0].contains("Please pay the difference of 3.24 USD"),
        "{}",
        mail[0]
    );
    assert!(mail[0].contains("Transfer 3.24 USD"), "{}", mail[0]);

    // The difference is paid like any order's; the return comes back with nothing to refund.
    let out = shop.seller_says(&format!("paid {x}"), "2026-12-06T09:00:00Z");
    assert!(out.contains("[paid]"), "{out}");
    assert_eq!(
        shop.order(&x)["payments"][0]["amount"],
        "3.24",
        "only the difference"
    );
    let out = shop.seller_says(&format!("returned {r}"), "2026-12-10T09:00:00Z");
    assert!(out.contains("[returned]"), "{out}");
    assert_eq!(shop.stock("MUG-BLU"), (40, 0, 40));
    let order = shop.order(&r);
    assert_eq!(
        order["refund_due"], false,
        "the credit went to the exchange"
    );
    assert_eq!(order["returns"][0]["refund"], "0.00");
    verified(&shop);
    shop.assert_every_claim_happened();
}

#[test]
fn an_exchange_for_less_is_settled_when_the_goods_are_back_and_the_rest_refunded() {
    let shop = Shop::new();
    let r = shipped_order(&shop, "2 x Blue Mug");
    let out = customer_says(
        &shop,
        "swap@example.test",
        &format!("Re: Order {r}"),
        "Please swap the blue mugs for small rice bowls.",
        "2026-12-05T09:00:00Z",
    );
    assert!(out.contains("sent exchange"), "{out}");
    let x = order_field(&shop, &r, "returns")[0]["exchange"]
        .as_str()
        .unwrap()
        .to_string();
    // 2 x 12.00 and tax: 25.92, all of it covered by the 38.88 credit.
    let new = shop.order(&x);
    assert_eq!(
        (new["total"].as_str(), new["outstanding"].as_str()),
        (Some("25.92"), Some("0.00"))
    );
    let mail = shop.mail_with("There is nothing to pay");
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains("12.96 USD, we then refund"), "{}", mail[0]);
    // It waits for the goods, however long they take: no expiry.
    let out = shop.run(&["--at", "2026-12-20T09:00:00Z", "tick"]);
    assert!(!out.contains(&x), "{out}");
    assert_eq!(shop.order(&x)["state"], "awaiting_payment");

    let parent = request_id(&shop, MARA, "authorised");
    let out = seller_replies(
        &shop,
        "back@lindenclay.test",
        &parent,
        "returned",
        "2026-12-21T09:00:00Z",
    );
    assert!(
        out.contains("[returned]") && out.contains("packing_slip"),
        "{out}"
    );
    let new = shop.order(&x);
    assert_eq!(new["state"], "paid");
    assert_eq!(shop.stock("BOWL-RICE-S"), (58, 0, 58), "sold");
    let order = shop.order(&r);
    assert_eq!(order["returns"][0]["refund"], "12.96");
    assert_eq!(order["refund_due"], true);
    assert!(
        shop.mail_with("Your new order")
            .iter()
            .any(|m| m.contains("is now being prepared")),
    );
    // The packing slip is the new order's: `shipped` by reply ships it.
    let slip = request_id(&shop, MARA, &format!("Pack order {x}"));
    let out = seller_replies(
        &shop,
        "ship@lindenclay.test",
        &slip,
        "shipped UPS 1Z999AA10123456784",
        "2026-12-21T10:00:00Z",
    );
    assert!(out.contains(&format!("order {x} [shipped]")), "{out}");
    verified(&shop);

    // The export and the customer's data know the return.
    let dir = shop.dir.path().join("export");
    shop.run(&["export", "--out", dir.to_str().unwrap()]);
    let csv = std::fs::read_to_string(dir.join("returns.csv")).unwrap();
    assert!(csv.starts_with("rma,order_ref,state,lines"), "{csv}");
    assert!(csv.contains(&format!("{r}-R1,{r},received")), "{csv}");
    assert!(csv.contains(&x), "{csv}");
    let orders = std::fs::read_to_string(dir.join("orders.csv")).unwrap();
    assert!(
        orders.contains(&format!("{r}-R1")),
        "the exchange names its return: {orders}"
    );
    let data = shop.json(&["customer", "export", "pat@example.test"]);
    let mine = data["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["order"]["reference"] == r.as_str())
        .unwrap()
        .clone();
    assert_eq!(mine["returns"][0]["rma"], format!("{r}-R1").as_str());
    assert_eq!(mine["returns"][0]["refund"], "12.96");
    shop.assert_every_claim_happened();
}

#[test]
fn a_return_request_before_shipping_makes_no_return() {
    let shop = Shop::new();
    shop.require_authentication();
    let r = shop.quoted_order("o1@example.test", "2026-12-01T09:00:00Z");
    let out = shop.seller_says(&format!("paid {r}"), "2026-12-01T10:00:00Z");
    assert!(out.contains("[paid]"), "{out}");
    let out = customer_says(
        &shop,
        "ret@example.test",
        &format!("Re: Order {r}"),
        "Actually I'd like to return my order, can you cancel it?",
        "2026-12-01T12:00:00Z",
    );
    // Paid, not shipped: today's cancellation after payment, no return number.
    assert!(out.contains("[cancelled]"), "{out}");
    let order = shop.order(&r);
    assert_eq!(order["returns"].as_array().unwrap().len(), 0);
    assert_eq!(order["refund_due"], true);
    assert_eq!(shop.stock("MUG-BLU"), (40, 0, 40));

    // Unpaid: "return" in a change is no return either; the order stays as it was quoted.
    let r2 = shop.quoted_order("o2@example.test", "2026-12-02T09:00:00Z");
    let out = customer_says(
        &shop,
        "ret2@example.test",
        &format!("Re: Your order {r2}"),
        "Can I return it if the colour is wrong?",
        "2026-12-02T10:00:00Z",
    );
    assert!(
        !out.contains("sent returns") && out.contains("held for a person"),
        "a question for a person: {out}"
    );
    assert_eq!(shop.order(&r2)["returns"].as_array().unwrap().len(), 0);
    assert_eq!(shop.order(&r2)["state"], "awaiting_payment");

    // And an order that mentions returns is an order.
    let out = shop.deliver(
        "new.eml",
        &eml(
            "Lee <lee@example.org>",
            "Order",
            "new@example.org",
            None,
            &format!(
                "1 x Bud Vase please. If it doesn't fit I may return it.\n\n{}",
                common::shop::ADDRESS
            ),
        ),
        "2026-12-02T11:00:00Z",
    );
    assert!(out.contains("[awaiting_payment]"), "{out}");
    verified(&shop);
    shop.assert_every_claim_happened();
}

#[test]
fn naming_no_order_a_return_means_the_one_shipped_order_and_a_new_order_stays_one() {
    let shop = Shop::new();
    let r = shipped_order(&shop, "2 x Blue Mug");
    // A new order with its address, saying they may return it: a new order.
    let out = customer_says(
        &shop,
        "again@example.test",
        "Another order",
        &format!(
            "1 x Bud Vase please. If it doesn't fit I may return it.\n\n{}",
            common::shop::ADDRESS
        ),
        "2026-12-03T09:00:00Z",
    );
    assert!(
        out.contains("[awaiting_payment]") && !out.contains(&r),
        "{out}"
    );
    assert_eq!(
        order_field(&shop, &r, "returns").as_array().unwrap().len(),
        0
    );
    // Paid and shipped too, so that one order of Pat's is live again.
    let vase = shop
        .orders()
        .into_iter()
        .find(|o| o["reference"] != r.as_str())
        .unwrap();
    let v = vase["reference"].as_str().unwrap().to_string();
    shop.seller_says(&format!("cancel {v}"), "2026-12-03T09:30:00Z");
    // Naming no order: the one that shipped.
    let out = customer_says(
        &shop,
        "ret@example.test",
        "Hello",
        "I want to send them back, please.",
        "2026-12-04T09:00:00Z",
    );
    assert!(
        out.contains(&format!("order {r}")) && out.contains("sent returns"),
        "{out}"
    );
    assert_eq!(
        order_field(&shop, &r, "returns")[0]["rma"],
        format!("{r}-R1").as_str()
    );
    shop.assert_every_claim_happened();
}
