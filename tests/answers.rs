//! A seller's answer to one of our requests is never dropped, through the real binary: plain
//! consent and refusal in the shop's languages act; doubt gets an immediate answer saying what
//! to write; plain words from anyone but the seller the request went to change nothing.

mod common;
use common::shop::{ADDRESS, PAT, Shop, eml, header, request_id};

const MARA: &str = "mara@lindenclay.test";
const SAM: &str = "sam@lindenclay.test";
const AT: &str = "2026-12-01T10:00:00Z";

/// 8 Cast Iron Teapots (over the approval limit) as Pat; returns the reference.
fn flagged(shop: &Shop) -> String {
    let out = shop.deliver(
        "big.eml",
        &eml(
            PAT,
            "Order",
            "big@example.test",
            None,
            &format!("8 x Cast Iron Teapot\n\n{ADDRESS}"),
        ),
        "2026-12-01T09:00:00Z",
    );
    assert!(out.contains("awaiting_approval"), "{out}");
    let start = out.find("-> order ").unwrap() + 9;
    out[start..].split_whitespace().next().unwrap().to_string()
}

fn answer(shop: &Shop, n: &str, from: &str, reply_to: &str, body: &str, at: &str) -> String {
    shop.deliver(
        &format!("answer-{n}.eml"),
        &eml(
            from,
            "Re: Approve order?",
            &format!("answer-{n}@lindenclay.test"),
            Some(reply_to),
            body,
        ),
        at,
    )
}

fn state(shop: &Shop, r: &str) -> String {
    shop.order(r)["state"].as_str().unwrap().to_string()
}

#[test]
fn plain_consent_approves_in_the_shops_languages() {
    for yes in [
        "approve",
        "Approved.",
        "Approve\n\n> Order needs your approval\n> Reply approve",
        "Yes, approve",
        "OK",
        "approve - thanks!",
        "Ja, passt. Danke!",
        "Oui, d'accord",
        "Sí, aprobado",
    ] {
        let shop = Shop::new();
        let r = flagged(&shop);
        let mara = request_id(&shop, MARA, "needs your approval");
        let out = answer(&shop, "1", MARA, &mara, yes, AT);
        assert!(
            out.contains("seller_command")
                && out.contains("[awaiting_payment]")
                && out.contains("sent quote to pat@example.test"),
            "{yes:?}: {out}"
        );
        assert!(!out.contains("held"), "{yes:?}: {out}");
        assert_eq!(shop.mail_with("quote and payment details").len(), 1);
        let history = shop.order(&r)["history"].to_string();
        assert!(
            history.contains("\"step\":\"approve\""),
            "{yes:?}: {history}"
        );
    }
}

#[test]
fn a_plain_no_rejects_and_the_customer_is_told_why() {
    let shop = Shop::new();
    let r = flagged(&shop);
    let mara = request_id(&shop, MARA, "needs your approval");
    let out = answer(
        &shop,
        "1",
        MARA,
        &mara,
        "No - we can't do this one, sorry",
        AT,
    );
    assert!(out.contains("[rejected]") && !out.contains("held"), "{out}");
    assert_eq!(state(&shop, &r), "rejected");
    assert_eq!(shop.stock("TEAPOT-CI"), (8, 0, 8), "the stock is released");
    let refusal = shop.mail_with("not able to accept it");
    assert_eq!(refusal.len(), 1);
    assert!(header(&refusal[0], "To").contains("pat@example.test"));
    assert!(
        refusal[0].contains("we can't do this one, sorry"),
        "{}",
        refusal[0]
    );
    let history = shop.order(&r)["history"].to_string();
    assert!(
        history.contains("No - we can't do this one, sorry"),
        "the words it was read from are recorded: {history}"
    );
}

#[test]
fn doubt_gets_an_immediate_answer_saying_what_to_write() {
    for (i, unclear) in [
        "approve? not sure",
        "don't approve",
        "Yes, but only 4 of them",
        "Let me think about it",
        "Nein, doch, genehmigt",
    ]
    .into_iter()
    .enumerate()
    {
        let shop = Shop::new();
        let r = flagged(&shop);
        let mara = request_id(&shop, MARA, "needs your approval");
        let out = answer(&shop, &format!("u{i}"), MARA, &mara, unclear, AT);
        assert_eq!(state(&shop, &r), "awaiting_approval", "{unclear:?}: {out}");
        assert_eq!(shop.stock("TEAPOT-CI"), (8, 8, 0), "{unclear:?}");
        assert!(
            out.contains(&format!("sent alert to {MARA}")) && !out.contains("held"),
            "{unclear:?}: {out}"
        );
        assert!(shop.mail_with("quote and payment details").is_empty());
        let told = shop.mail_with("Not understood");
        assert_eq!(told.len(), 1, "{unclear:?}");
        assert!(header(&told[0], "To").contains(MARA));
        for what in ["did not act on your answer", "approve", "reject <"] {
            assert!(told[0].contains(what), "{what:?} in {}", told[0]);
        }
        // Answering the notice with the command does what was meant: it threads back to the
        // request.
        let notice_id = header(&told[0], "Message-ID")
            .trim_matches(['<', '>'])
            .to_string();
        let out = shop.deliver(
            "again.eml",
            &format!(
                "From: {MARA}\r\nTo: orders@lindenclay.test\r\nSubject: Re: Not understood\r\nMessage-ID: <again-{i}@lindenclay.test>\r\nIn-Reply-To: <{notice_id}>\r\nReferences: <{mara}> <answer-u{i}@lindenclay.test> <{notice_id}>\r\n\r\napprove\r\n"
            ),
            "2026-12-01T10:05:00Z",
        );
        assert!(out.contains("[awaiting_payment]"), "{unclear:?}: {out}");
    }
}

#[test]
fn plain_words_from_anyone_else_or_too_late_change_nothing() {
    let shop = Shop::new();
    let r = flagged(&shop);
    let mara = request_id(&shop, MARA, "needs your approval");
    // Another seller's plain yes to Mara's request.
    let out = answer(&shop, "sam", SAM, &mara, "Yes, approve", AT);
    assert!(out.contains("held for a person"), "{out}");
    // The customer, who saw a forwarded request.
    answer(&shop, "pat", PAT, &mara, "OK", AT);
    // Mara, after the request expired.
    let out = answer(&shop, "late", MARA, &mara, "OK", "2026-12-09T10:00:00Z");
    assert!(out.contains("held for a person"), "{out}");
    // Mara, unclear and too late: no lecture on what to write, just a hold.
    let out = answer(&shop, "late2", MARA, &mara, "hmm?", "2026-12-09T10:00:00Z");
    assert!(out.contains("held for a person"), "{out}");
    assert_eq!(state(&shop, &r), "awaiting_approval");
    assert_eq!(shop.stock("TEAPOT-CI"), (8, 8, 0));
    assert!(shop.mail_with("quote and payment details").is_empty());
    assert!(shop.mail_with("not able to accept it").is_empty());
}
