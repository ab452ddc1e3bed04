//! Payments, through the real binary on a real database: notices in the shapes PayPal, Stripe
//! and banks send (mailbox-fixtures/53-55, with this order's reference and amount put in),
//! customers' claims, forgeries of every kind, the timers, and the race for the last item.

use std::path::Path;

mod common;
use common::shop::{ADDRESS, PAT, Shop, eml, request_id};

const OURS: &str = "mx.lindenclay.test";

/// A payment notice from a fixture, for `reference` and `amount` ("46.88"), with its own
/// Message-ID and transaction id, and `headers` on top (as our MTA adds them).
fn notice(fixture: &str, reference: &str, amount: &str, txn: &str, headers: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("mailbox-fixtures")
        .join(fixture);
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = String::from(headers);
    for line in text.split_inclusive('\n') {
        if line.to_ascii_lowercase().starts_with("message-id:") {
            out.push_str(&format!(
                "Message-ID: <{txn}.{reference}@notices.example>\n"
            ));
        } else {
            out.push_str(
                &line
                    .replace("MC-7K2QXD9F", reference)
                    .replace("116.00", amount)
                    .replace("4RT12345AB678901C", txn)
                    .replace("pi_3QkR7tLkdIwHu7ix0aB1cD2e", txn),
            );
        }
    }
    out
}

fn passed(domain: &str) -> String {
    format!(
        "Authentication-Results: {OURS}; dkim=pass header.d={domain} header.s=s1; spf=pass smtp.mailfrom={domain}; dmarc=pass header.from={domain}\n"
    )
}

fn state(shop: &Shop, reference: &str) -> String {
    shop.order(reference)["state"].as_str().unwrap().to_string()
}

#[test]
fn an_exact_payment_confirms_sells_the_stock_and_asks_the_sellers_to_pack() {
    let shop = Shop::new();
    let r = shop.quoted_order("o1@example.test", "2026-12-01T09:00:00Z");
    assert_eq!(shop.stock("MUG-BLU"), (40, 2, 38));
    let out = shop.deliver(
        "pay.eml",
        &notice(
            "53-paypal-payment.eml",
            &r,
            "46.88",
            "7RX00000000000001",
            "",
        ),
        "2026-12-01T10:00:00Z",
    );
    assert!(out.contains("[paid]"), "{out}");
    assert!(
        out.contains("payment_confirmed to pat@example.test"),
        "{out}"
    );
    assert!(
        out.contains("packing_slip to mara@lindenclay.test")
            && out.contains("packing_slip to sam@lindenclay.test"),
        "{out}"
    );
    let order = shop.order(&r);
    assert_eq!(order["state"], "paid");
    assert_eq!(order["paid"], "46.88");
    assert_eq!(order["outstanding"], "0.00");
    assert_eq!(order["payments"][0]["transaction_id"], "7RX00000000000001");
    // 2026-12-01 is a Tuesday: five business days later is Tuesday 8 December.
    assert_eq!(order["delivery"]["expected"], "2026-12-08");
    // The reservation became a sale: off the shelf, no longer reserved.
    assert_eq!(shop.stock("MUG-BLU"), (38, 0, 38));

    let confirmation = shop.mail_with("confirmed: payment received");
    assert_eq!(confirmation.len(), 1);
    let c = &confirmation[0];
    for line in [
        "<pat@example.test>",
        &format!("Order number: {r}"),
        "2 x Blue Glazed Mug",
        "Paid:     46.88 USD",
        "41 Linden Avenue",
        "Shipping method: Standard shipping",
        "Expected delivery: Tuesday 8 December 2026",
    ] {
        assert!(c.contains(line), "{line:?} missing from:\n{c}");
    }
    // Threaded with the order: it answers the quote we sent.
    let quote_id = format!("{}.", r.to_ascii_lowercase());
    assert!(
        c.lines()
            .any(|l| l.starts_with("In-Reply-To:") && l.contains(&quote_id)),
        "{c}"
    );
    let slips = shop.mail_with("please pack it");
    assert_eq!(slips.len(), 2, "one per seller");
    assert!(
        slips[0].contains("[ ] 2 x Blue Glazed Mug (MUG-BLU)"),
        "{}",
        slips[0]
    );
    assert!(slips[0].contains("Portland, OR 97205"), "{}", slips[0]);
}

#[test]
fn part_payments_add_up_and_the_rest_is_asked_for() {
    let shop = Shop::new();
    let r = shop.quoted_order("o1@example.test", "2026-12-01T09:00:00Z");
    let out = shop.deliver(
        "p1.eml",
        &notice("54-stripe-payment.eml", &r, "20.00", "pi_part000001", ""),
        "2026-12-01T10:00:00Z",
    );
    assert!(
        out.contains("[awaiting_payment]") && out.contains("payment_partial"),
        "{out}"
    );
    let asks = shop.mail_with("part of your payment arrived");
    assert_eq!(asks.len(), 1);
    assert!(asks[0].contains("26.88 USD is still to pay"), "{}", asks[0]);
    // The payment instructions ask for the rest, not the whole.
    assert!(asks[0].contains("Transfer 26.88 USD"), "{}", asks[0]);
    assert_eq!(
        shop.stock("MUG-BLU"),
        (40, 2, 38),
        "still reserved, not sold"
    );

    let out = shop.deliver(
        "p2.eml",
        &notice("54-stripe-payment.eml", &r, "26.88", "pi_part000002", ""),
        "2026-12-01T11:00:00Z",
    );
    assert!(out.contains("[paid]"), "{out}");
    assert_eq!(shop.order(&r)["paid"], "46.88");
    assert_eq!(shop.stock("MUG-BLU"), (38, 0, 38));
}

#[test]
fn a_customer_saying_they_paid_is_acknowledged_and_nothing_more() {
    let shop = Shop::new();
    let r = shop.quoted_order("o1@example.test", "2026-12-01T09:00:00Z");
    let out = shop.deliver(
        "claim.eml",
        &eml(
            PAT,
            &format!("Re: Your order {r}"),
            "claim@example.test",
            None,
            "Hi, I've paid by bank transfer this morning.\n\nPat",
        ),
        "2026-12-01T10:00:00Z",
    );
    assert!(
        out.contains("payment_notice") && out.contains("payment_claimed"),
        "{out}"
    );
    assert_eq!(state(&shop, &r), "awaiting_payment");
    let ack = shop.mail_with("Thank you for letting us know");
    assert_eq!(ack.len(), 1);
    assert!(
        ack[0].contains("In-Reply-To: <claim@example.test>"),
        "{}",
        ack[0]
    );
    let history = shop.order(&r)["history"].to_string();
    assert!(history.contains("payment_claimed"), "{history}");
}

/// Every notice here is forged or wrong; none may change the order, and each is kept for a
/// person. `authserv_id` is set, as a shop that trusts its server's DKIM checks would.
#[test]
fn forged_and_mismatched_payment_notices_change_nothing() {
    let shop = Shop::new();
    shop.edit_config(
        "# authserv_id = \"mx.lindenclay.test\"",
        "authserv_id = \"mx.lindenclay.test\"",
    );
    let r = shop.quoted_order("o1@example.test", "2026-12-01T09:00:00Z");
    let other = shop.quoted_order("o2@example.test", "2026-12-01T09:05:00Z");
    let good = passed("paypal.example");
    // A real payment for the other order, so that its transaction id is known.
    let out = shop.deliver(
        "real.eml",
        &notice(
            "53-paypal-payment.eml",
            &other,
            "46.88",
            "REALTXN0000001",
            &good,
        ),
        "2026-12-01T09:30:00Z",
    );
    assert!(out.contains("[paid]"), "{out}");

    let paypal = |amount: &str, txn: &str, headers: &str| {
        notice("53-paypal-payment.eml", &r, amount, txn, headers)
    };
    let spoof_from = |from: &str, headers: &str| {
        paypal("46.88", &format!("SPOOF{}", from.len()), headers)
            .replace("From: PayPal <service@paypal.example>", from)
    };
    let cases: Vec<(&str, String)> = vec![
        (
            "display name says PayPal, address is not trusted",
            spoof_from(
                "From: \"service@paypal.example\" <service@paypa1.example>",
                &passed("paypa1.example"),
            ),
        ),
        (
            "look-alike domain",
            spoof_from(
                "From: PayPal <service@paypal.example.evil.test>",
                &passed("paypal.example.evil.test"),
            ),
        ),
        (
            "trusted address, no Authentication-Results at all",
            paypal("46.88", "NOAUTH00000001", ""),
        ),
        (
            "our server says dkim=fail; a forged pass under our name below it",
            paypal(
                "46.88",
                "FORGEDBELOW0001",
                &format!(
                    "Authentication-Results: {OURS}; dkim=fail header.d=paypal.example; dmarc=fail header.from=paypal.example\n{good}"
                ),
            ),
        ),
        (
            "a pass written by some other server",
            paypal(
                "46.88",
                "OTHERSERVER0001",
                "Authentication-Results: mx.evil.example; dkim=pass header.d=paypal.example; dmarc=pass header.from=paypal.example\n",
            ),
        ),
        (
            "signed, but by another domain",
            paypal(
                "46.88",
                "WRONGSIGNER0001",
                &format!("Authentication-Results: {OURS}; dkim=pass header.d=evil.example\n"),
            ),
        ),
        (
            "SPF pass only",
            paypal(
                "46.88",
                "SPFONLY00000001",
                &format!("Authentication-Results: {OURS}; spf=pass smtp.mailfrom=paypal.example\n"),
            ),
        ),
        (
            "one cent too much",
            paypal("46.89", "ONECENTOVER0001", &good),
        ),
        (
            "wrong currency",
            paypal("46.88", "WRONGCURRENCY01", &good).replace("USD", "EUR"),
        ),
        (
            "a transaction id already counted for another order",
            paypal("46.88", "REALTXN0000001", &good),
        ),
        (
            "a reference that is no order of ours",
            notice(
                "53-paypal-payment.eml",
                "MC-ZZZZZZZZ",
                "46.88",
                "UNKNOWNREF00001",
                &good,
            ),
        ),
        (
            "no reference at all",
            paypal("46.88", "NOREF0000000001", &good).replace(&r, "see attached"),
        ),
        (
            "an amount that cannot be read",
            paypal("46.88", "NOAMOUNT0000001", &good).replace("$46.88 USD", "(see app)"),
        ),
        (
            "a stripe notice whose DKIM pass is in a comment",
            notice(
                "54-stripe-payment.eml",
                &r,
                "46.88",
                "pi_comment00001",
                &format!(
                    "Authentication-Results: {OURS}; dkim=none (dkim=pass header.d=stripe.example)\n"
                ),
            ),
        ),
        (
            "a customer forwarding a 'payment received' mail of their own making",
            eml(
                PAT,
                &format!("Payment received for {r}"),
                "fwd@example.test",
                None,
                &format!(
                    "You've received a payment\n\nAmount received: $46.88 USD\nTransaction ID: FAKE00000000001\nNote: {r}"
                ),
            ),
        ),
    ];
    assert!(cases.len() >= 15);
    for (i, (what, raw)) in cases.iter().enumerate() {
        let out = shop.deliver(&format!("forged-{i}.eml"), raw, "2026-12-01T10:00:00Z");
        let order = shop.order(&r);
        assert_eq!(order["state"], "awaiting_payment", "{what}: {out}");
        assert_eq!(order["paid"], "0.00", "{what}: {out}");
        assert!(
            out.contains("held for a person") || out.contains("payment_claimed"),
            "{what}: not put to a person: {out}"
        );
        assert!(!out.contains("payment_confirmed"), "{what}: {out}");
    }
    assert_eq!(shop.stock("MUG-BLU"), (38, 2, 36), "only the real sale");
    assert_eq!(state(&shop, &other), "paid");
    // Mismatches from an authenticated provider are put to the sellers; forgeries only to
    // `review` (a forger must not be able to fill the sellers' inbox).
    let alerts = shop.mail_with("needs a look");
    assert!(!alerts.is_empty());
    assert!(
        alerts
            .iter()
            .all(|a| !a.contains("FORGEDBELOW") && !a.contains("NOAUTH")),
        "forgeries are not mailed to sellers"
    );
    let held = shop.json(&["review", "--json"]);
    assert!(held.as_array().unwrap().len() >= cases.len() - 1, "{held}");

    // And the real one still works afterwards.
    let out = shop.deliver(
        "real2.eml",
        &notice(
            "53-paypal-payment.eml",
            &r,
            "46.88",
            "REALTXN0000002",
            &good,
        ),
        "2026-12-01T11:00:00Z",
    );
    assert!(out.contains("[paid]"), "{out}");
}

#[test]
fn unpaid_orders_are_reminded_then_expire_and_free_their_stock() {
    let shop = Shop::new();
    // Due three days after the quote: 2026-12-04T09:00Z; the reminder 24 h before.
    let r = shop.quoted_order("o1@example.test", "2026-12-01T09:00:00Z");
    assert_eq!(
        shop.run(&["--at", "2026-12-02T09:00:00Z", "tick"]).trim(),
        "nothing due"
    );
    let out = shop.run(&["--at", "2026-12-03T09:30:00Z", "tick"]);
    assert!(
        out.contains("payment_reminder to pat@example.test"),
        "{out}"
    );
    let reminder = shop.mail_with("Reminder: order");
    assert_eq!(reminder.len(), 1);
    assert!(reminder[0].contains("46.88 USD"), "{}", reminder[0]);
    // Once only.
    assert_eq!(
        shop.run(&["--at", "2026-12-03T10:00:00Z", "tick"]).trim(),
        "nothing due"
    );
    assert_eq!(shop.stock("MUG-BLU"), (40, 2, 38));

    let out = shop.run(&["--at", "2026-12-04T09:01:00Z", "tick"]);
    assert!(
        out.contains("[expired]") && out.contains("expired to pat@example.test"),
        "{out}"
    );
    assert_eq!(state(&shop, &r), "expired");
    assert_eq!(
        shop.stock("MUG-BLU"),
        (40, 0, 40),
        "the reservation is released"
    );
    assert_eq!(shop.mail_with("has expired").len(), 1);

    // A payment that arrives after expiry marks nothing paid and is put to the sellers.
    let out = shop.deliver(
        "late.eml",
        &notice("55-bank-transfer.eml", &r, "46.88", "LATE", ""),
        "2026-12-05T09:00:00Z",
    );
    assert!(
        out.contains("held for a person") && out.contains("expired"),
        "{out}"
    );
    assert_eq!(state(&shop, &r), "expired");
    assert_eq!(shop.stock("MUG-BLU"), (40, 0, 40));
}

#[test]
fn two_customers_racing_for_the_last_item_never_oversell() {
    let shop = Shop::new();
    // MUG-RED has 3 in stock: leave one.
    let csv = shop.dir.path().join("one-left.csv");
    std::fs::write(
        &csv,
        "sku,name,unit_price,stock,aliases\nMUG-RED,Red Glazed Mug,18.00,1,red mug\n",
    )
    .unwrap();
    shop.run(&["inventory", "import", csv.to_str().unwrap()]);
    assert_eq!(shop.stock("MUG-RED"), (1, 0, 1));
    let customers = ["pat@example.test", "lee@example.org"];
    let files: Vec<_> = customers
        .iter()
        .enumerate()
        .map(|(i, who)| {
            let p = shop.dir.path().join(format!("race-{i}.eml"));
            std::fs::write(
                &p,
                eml(
                    who,
                    "Order",
                    &format!("race{i}@example.test"),
                    None,
                    &format!("1 x Red Glazed Mug\n\n{ADDRESS}"),
                ),
            )
            .unwrap();
            p
        })
        .collect();
    // Two processes at once, as two deliveries racing each other.
    let config = shop.dir.path().join("config.toml");
    let children: Vec<_> = files
        .iter()
        .map(|f| {
            std::process::Command::new(env!("CARGO_BIN_EXE_mailcart"))
                .arg("--config")
                .arg(&config)
                .args(["--at", "2026-12-01T09:00:00Z", "process"])
                .arg(f)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<String> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .map(|o| {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8_lossy(&o.stdout).to_string()
        })
        .collect();
    let quoted = outs
        .iter()
        .filter(|o| o.contains("awaiting_payment"))
        .count();
    assert_eq!(quoted, 1, "exactly one gets the last mug: {outs:?}");
    assert_eq!(shop.stock("MUG-RED"), (1, 1, 0));
    let winner = shop
        .orders()
        .into_iter()
        .find(|o| o["state"] == "awaiting_payment")
        .unwrap();
    let r = winner["reference"].as_str().unwrap().to_string();
    let total = winner["total"].as_str().unwrap().to_string();
    let out = shop.deliver(
        "pay.eml",
        &notice("55-bank-transfer.eml", &r, &total, "RACE", ""),
        "2026-12-01T10:00:00Z",
    );
    assert!(out.contains("[paid]"), "{out}");
    assert_eq!(shop.stock("MUG-RED"), (0, 0, 0), "sold, never below zero");
}

/// A bank's credit-transfer notice to the shop, the remittance information as the payer's bank
/// passed it on (`remittance` may span lines, as statements wrap them).
fn bank_notice(id: &str, amount: &str, payer: &str, remittance: &str) -> String {
    format!(
        "From: Northbank Alerts <alerts@bank.example>\r\nTo: orders@lindenclay.test\r\nSubject: Incoming transfer: USD {amount}\r\nMessage-ID: <{id}@notify.bank.example>\r\nDate: Tue, 1 Dec 2026 07:15:01 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nYou have received a transfer.\r\n\r\nAmount:        USD {amount}\r\nPayer:         {payer}\r\nTransaction reference: TRX-{id}-2026\r\nRemittance information:\r\n{}\r\nValue date:    01 Dec 2026\r\n",
        remittance.replace('\n', "\r\n")
    )
}

#[test]
fn bank_notices_match_the_reference_however_it_is_written() {
    let shop = Shop::new();
    type Spelling = fn(&str) -> String;
    let spellings: [(&str, Spelling); 4] = [
        ("without its hyphen", |r| r.replace('-', "")),
        ("in groups with spaces", |r| {
            format!("{} {} {} {}", &r[..2], &r[3..7], &r[7..11], &r[11..])
        }),
        ("in lower case, O for 0 and l for 1", |r| {
            r.to_ascii_lowercase().replace('0', "o").replace('1', "l")
        }),
        ("wrapped across two lines", |r| {
            format!("SVWZ+Bestellung {}\n{} Danke", &r[..8], &r[8..])
        }),
    ];
    for (i, (how, spell)) in spellings.iter().enumerate() {
        let at = format!("2026-12-0{}T09:00:00Z", i + 1);
        let r = shop.quoted_order(&format!("o{i}@example.test"), &at);
        assert_eq!(
            r.len(),
            "MC-".len() + 9,
            "eight symbols and a check symbol: {r}"
        );
        let written = spell(&r);
        let out = shop.deliver(
            &format!("bank-{i}.eml"),
            &bank_notice(&format!("t{i}"), "46.88", "Pat Okafor", &written),
            &format!("2026-12-0{}T10:00:00Z", i + 1),
        );
        assert!(out.contains("[paid]"), "{how} ({written:?}): {out}");
        assert_eq!(state(&shop, &r), "paid", "{how}");
    }

    // One symbol wrong: the check symbol catches it; nothing is matched, a person is told why.
    let r = shop.quoted_order("typo@example.test", "2026-12-06T09:00:00Z");
    let mut typo: Vec<char> = r.chars().collect();
    typo[6] = if typo[6] == '7' { '8' } else { '7' };
    let typo: String = typo.into_iter().collect();
    let out = shop.deliver(
        "bank-typo.eml",
        &bank_notice("typo", "46.88", "Pat Okafor", &typo),
        "2026-12-06T10:00:00Z",
    );
    assert!(
        out.contains("held for a person") && out.contains("check symbol"),
        "{out}"
    );
    assert_eq!(state(&shop, &r), "awaiting_payment");
    let alert = shop.mail_with("whose check symbol does not hold");
    assert_eq!(alert.len(), 2, "one per seller");
    assert!(alert[0].contains(&typo), "{}", alert[0]);
}

/// References issued before check symbols (eight symbols) are still matched, exactly.
#[test]
fn old_references_without_a_check_symbol_are_still_matched() {
    /// The old shape first, then references as issued now.
    struct Old(bool);
    impl mailcart::pipeline::References for Old {
        fn next(&mut self, prefix: &str) -> String {
            if std::mem::replace(&mut self.0, true) {
                mailcart::pipeline::RandomReferences.next(prefix)
            } else {
                format!("{prefix}-7K2QXD9F")
            }
        }
    }
    let mut refs = Old(false);
    let dir = tempfile::tempdir().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let (config, mut conn) = common::stocked_store(dir.path(), mailcart::EXAMPLE_CONFIG, now);
    let mut take = |raw: String| {
        let out = mailcart::pipeline::process_batch(
            &mut conn,
            &config,
            &[raw.into_bytes()],
            now,
            &mut refs,
        )
        .unwrap();
        out.into_iter().next().unwrap()
    };
    let order = take(eml(
        PAT,
        "Order",
        "old@example.test",
        None,
        &format!("2 x Blue Mug\n\n{ADDRESS}"),
    ));
    assert_eq!(order.order.as_deref(), Some("MC-7K2QXD9F"));
    assert_eq!(order.state, Some("awaiting_payment"));
    // A check symbol the old reference never had: no order.
    let wrong = take(bank_notice("old1", "46.88", "Pat Okafor", "MC-7K2QXD9FX"));
    assert_eq!(wrong.state, None, "{wrong:?}");
    assert!(wrong.attention.is_some(), "{wrong:?}");
    let paid = take(bank_notice("old2", "46.88", "Pat Okafor", "mc 7k2q xd9f"));
    assert_eq!(paid.order.as_deref(), Some("MC-7K2QXD9F"), "{paid:?}");
    assert_eq!(paid.state, Some("paid"), "{paid:?}");
}

#[test]
fn a_notice_without_a_reference_is_proposed_by_amount_and_payer_and_applied_on_paid() {
    let shop = Shop::new();
    let r = shop.quoted_order("o1@example.test", "2026-12-01T09:00:00Z");
    let out = shop.deliver(
        "noref.eml",
        &bank_notice("noref", "46.88", "OKAFOR, PAT", "Thank you for the mugs"),
        "2026-12-01T10:00:00Z",
    );
    assert!(out.contains("held for a person"), "{out}");
    assert_eq!(
        state(&shop, &r),
        "awaiting_payment",
        "proposed, never applied"
    );
    let proposals = shop.mail_with(&format!("looks like {r}"));
    assert_eq!(proposals.len(), 2, "one per seller: {out}");
    assert!(
        proposals[0].contains("reply `paid` to confirm"),
        "{}",
        proposals[0]
    );

    // The same transfer notified twice is not proposed twice.
    let again = bank_notice("noref", "46.88", "OKAFOR, PAT", "Thank you for the mugs")
        .replace("<noref@", "<noref-again@");
    let out = shop.deliver("noref-again.eml", &again, "2026-12-01T10:10:00Z");
    assert!(out.contains("already recorded"), "{out}");
    assert_eq!(shop.mail_with(&format!("looks like {r}")).len(), 2);

    // A customer answering `paid` in no thread of theirs changes nothing.
    let request = request_id(&shop, "mara@lindenclay.test", &format!("looks like {r}"));
    let out = shop.deliver(
        "not-a-seller.eml",
        &eml(
            PAT,
            "Re: payment",
            "pat-paid@example.test",
            Some(&request),
            "paid",
        ),
        "2026-12-01T10:30:00Z",
    );
    assert!(!out.contains("[paid]"), "{out}");
    assert_eq!(state(&shop, &r), "awaiting_payment");

    // The seller's `paid` in that thread applies it.
    let out = shop.deliver(
        "seller-paid.eml",
        &eml(
            "mara@lindenclay.test",
            "Re: payment",
            "mara-paid@lindenclay.test",
            Some(&request),
            "paid\n\n> Looks like it",
        ),
        "2026-12-01T11:00:00Z",
    );
    assert!(out.contains("[paid]"), "{out}");
    assert_eq!(state(&shop, &r), "paid");
    let order = shop.order(&r);
    assert_eq!(order["paid"], "46.88");
    // The payment confirmed is the bank's: its transaction and payer are kept.
    assert!(
        order["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "state_changed"
                && e["detail"]["step"] == "pay"
                && e["detail"]["detail"]["transaction_id"] == "TRX-noref-2026"),
        "{order}"
    );
    let payment = &order["payments"][0];
    assert_eq!(payment["transaction_id"], "TRX-noref-2026", "{order}");
    assert_eq!(payment["payer"], "OKAFOR, PAT", "{order}");
    assert!(
        payment["provider"]
            .as_str()
            .is_some_and(|p| p.contains("confirmed by seller mara@lindenclay.test")),
        "{order}"
    );
    // Sam's copy of the request is spent: a second `paid` changes nothing.
    let sams = request_id(&shop, "sam@lindenclay.test", &format!("looks like {r}"));
    let out = shop.deliver(
        "sam-paid.eml",
        &eml(
            "sam@lindenclay.test",
            "Re: payment",
            "sam-paid@lindenclay.test",
            Some(&sams),
            "paid",
        ),
        "2026-12-01T11:05:00Z",
    );
    assert!(out.contains("held for a person"), "{out}");
    assert_eq!(shop.order(&r)["paid"], "46.88", "counted once");
}

#[test]
fn no_proposal_when_the_amount_and_payer_fit_no_order_or_several() {
    let shop = Shop::new();
    let first = shop.quoted_order("o1@example.test", "2026-12-01T09:00:00Z");
    // Another name at the right amount: fits nothing.
    let out = shop.deliver(
        "stranger.eml",
        &bank_notice("stranger", "46.88", "Lee Chen", "mugs"),
        "2026-12-01T10:00:00Z",
    );
    assert!(out.contains("fit no order awaiting payment"), "{out}");
    assert!(shop.mail_with("looks like").is_empty());

    // Pat's second order of the same amount: the notice fits both, so neither is proposed.
    let second = shop.quoted_order("o2@example.test", "2026-12-01T11:00:00Z");
    let out = shop.deliver(
        "both.eml",
        &bank_notice("both", "46.88", "Pat Okafor", "mugs"),
        "2026-12-01T12:00:00Z",
    );
    assert!(
        out.contains("fit 2 orders") && out.contains(&first) && out.contains(&second),
        "{out}"
    );
    assert!(shop.mail_with("looks like").is_empty());
    assert_eq!(state(&shop, &first), "awaiting_payment");
    assert_eq!(state(&shop, &second), "awaiting_payment");
}
