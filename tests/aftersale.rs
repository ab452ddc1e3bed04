//! After the quote: customers cancelling paid and shipped orders, changing the address, and
//! asking where their order is, through the real binary.

mod common;
use common::shop::{PAT, Shop, eml};

fn state(shop: &Shop, r: &str) -> String {
    shop.order(r)["state"].as_str().unwrap().to_string()
}

fn customer_says(shop: &Shop, id: &str, subject: &str, body: &str, at: &str) -> String {
    shop.deliver(&format!("{id}.eml"), &eml(PAT, subject, id, None, body), at)
}

#[test]
fn cancelling_after_payment_returns_the_stock_and_asks_the_sellers_to_refund() {
    let shop = Shop::new();
    let r = shop.paid_order(false);
    assert_eq!(shop.stock("MUG-BLU"), (38, 0, 38));
    let out = customer_says(
        &shop,
        "c@example.test",
        &format!("Re: Order {r}"),
        "Please cancel my order, I ordered by mistake.",
        "2026-12-01T12:00:00Z",
    );
    assert!(out.contains("[cancelled]"), "{out}");
    assert_eq!(shop.stock("MUG-BLU"), (40, 0, 40), "back on the shelf");
    let told = shop.mail_with("will be refunded in full");
    assert_eq!(told.len(), 1);
    assert!(told[0].contains("46.88 USD"), "{}", told[0]);
    let asks = shop.mail_with("Refund the customer");
    assert_eq!(asks.len(), 2, "each seller is asked");
    let out = shop.seller_says(&format!("refunded {r}"), "2026-12-02T09:00:00Z");
    assert!(!out.contains("held"), "{out}");
    assert!(
        shop.order(&r)["history"]
            .to_string()
            .contains("\"refunded\"")
    );
}

#[test]
fn after_shipping_a_cancellation_is_a_return_with_its_number() {
    let shop = Shop::new();
    let r = shop.paid_order(true);
    let out = customer_says(
        &shop,
        "c@example.test",
        &format!("Cancel {r}"),
        "I want to cancel my order please",
        "2026-12-03T12:00:00Z",
    );
    assert!(
        out.contains("sent returns") && !out.contains("held for a person"),
        "{out}"
    );
    assert_eq!(state(&shop, &r), "shipped");
    let returns = shop.mail_with(&format!("return authorisation number is {r}-R1"));
    assert_eq!(returns.len(), 1);
    assert!(returns[0].contains("within 30 days"), "{}", returns[0]);
    assert!(
        returns[0].contains("Royal Mail, tracking number AB123456789GB"),
        "{}",
        returns[0]
    );
    assert_eq!(
        shop.mail_with(&format!("Return {r}-R1 authorised")).len(),
        2
    );
}

#[test]
fn a_new_address_before_shipping_replaces_the_old_one_and_after_is_too_late() {
    let shop = Shop::new();
    let r = shop.quoted_order("o1@example.test", "2026-12-01T09:00:00Z");
    let quote_id = shop
        .mail_with("Here is your quote")
        .first()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("Message-ID:"))
                .map(|s| s.trim().trim_matches(['<', '>']).to_string())
        })
        .unwrap();
    let new_address = "Sorry, please ship it to my office instead:\n\nPat Okafor\n900 SW Fifth Avenue\nPortland, OR 97204\nUSA\n";
    let out = shop.deliver(
        "addr.eml",
        &eml(
            PAT,
            &format!("Re: Your order {r}"),
            "addr@example.test",
            Some(&quote_id),
            new_address,
        ),
        "2026-12-01T10:00:00Z",
    );
    assert!(
        out.contains("sent address_changed to pat@example.test"),
        "{out}"
    );
    let order = shop.order(&r);
    assert!(
        order["shipping_address"]["text"]
            .as_str()
            .unwrap()
            .contains("900 SW Fifth Avenue")
    );
    assert_eq!(order["state"], "awaiting_payment");
    assert_eq!(order["total"], "46.88", "same country: same price");
    assert_eq!(
        shop.mail_with("New shipping address for order").len(),
        2,
        "the sellers are told"
    );

    // Another country would change shipping and tax: a person answers.
    let abroad =
        "Actually please send it to:\n\nPat Okafor\n12 Rue de Rivoli\n75001 Paris\nFrance\n";
    let out = shop.deliver(
        "abroad.eml",
        &eml(
            PAT,
            &format!("Re: Your order {r}"),
            "abroad@example.test",
            Some(&quote_id),
            abroad,
        ),
        "2026-12-01T10:30:00Z",
    );
    assert!(
        out.contains("held for a person") && out.contains("another country"),
        "{out}"
    );
}

#[test]
fn a_new_address_after_shipping_is_too_late() {
    let shop = Shop::new();
    let r = shop.paid_order(true);
    let out = shop.deliver(
        "late.eml",
        &eml(
            PAT,
            &format!("Re: Order {r} has shipped"),
            "late@example.test",
            None,
            "Could you send it here instead?\n\nPat Okafor\n900 SW Fifth Avenue\nPortland, OR 97204\nUSA\n",
        ),
        "2026-12-03T10:00:00Z",
    );
    assert!(out.contains("too_late_to_change"), "{out}");
    let late = shop.mail_with("can no longer change where it goes");
    assert_eq!(late.len(), 1);
    assert!(
        late[0].contains("41 Linden Avenue"),
        "the old address stands: {}",
        late[0]
    );
    assert!(
        !shop.order(&r)["shipping_address"]["text"]
            .as_str()
            .unwrap()
            .contains("900 SW")
    );
}

#[test]
fn a_status_question_naming_no_order_is_answered_only_when_there_is_one_live_order() {
    let shop = Shop::new();
    let r = shop.quoted_order("o1@example.test", "2026-12-01T09:00:00Z");
    let out = customer_says(
        &shop,
        "q1@example.test",
        "Order status",
        "Any update on my order?",
        "2026-12-01T10:00:00Z",
    );
    assert!(
        out.contains(&format!("order {r}")) && out.contains("sent status"),
        "{out}"
    );
    shop.quoted_order("o2@example.test", "2026-12-01T11:00:00Z");
    let out = customer_says(
        &shop,
        "q2@example.test",
        "Order status",
        "Any update on my order?",
        "2026-12-01T12:00:00Z",
    );
    assert!(
        out.contains("sent status_unknown"),
        "two live orders: we ask which: {out}"
    );
}
