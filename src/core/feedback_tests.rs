use super::*;
use crate::core::decide::tests::{ADDRESS, msg, run, run_feedback};
use crate::core::decision::Decision;
use crate::core::inbound::Inbound;
use crate::core::order::{Order, Shipment};

/// Pat's order of 2 Blue Mugs, shipped, and asked about.
fn asked() -> Order {
    let mut o = run(&msg(&format!("2 x Blue Mug\n\n{ADDRESS}")), None, 10, 0)
        .order
        .unwrap();
    o.state = OrderState::Shipped;
    o.reserved_until = None;
    o.shipment = Some(Shipment {
        carrier: "DHL".into(),
        tracking: "1".into(),
        url: None,
        at: crate::core::decide::tests::now(),
    });
    o.feedback_requested = true;
    o
}

fn answer(text: &str) -> Inbound {
    let mut m = msg(text);
    m.subject = "Re: How did it go with your order MC-TEST0001?".into();
    m.in_reply_to = vec!["once.feedback.mc-test0001@lindenclay.test".into()];
    m
}

fn templates(d: &Decision) -> Vec<&str> {
    d.emails.iter().map(|e| e.template.name()).collect()
}

#[test]
fn feedback_is_kept_and_thanked_for_once() {
    let d = run_feedback(
        &answer("Lovely mugs, they arrived quickly. 5 stars!"),
        asked(),
    );
    let kept = d.feedback.clone().unwrap();
    assert_eq!(kept.order_ref, "MC-TEST0001");
    assert_eq!(kept.rating, Some(5));
    assert!(kept.text.starts_with("Lovely mugs"));
    assert!(d.attention.is_none());
    assert_eq!(templates(&d), ["feedback_thanks"]);
    assert!(
        d.emails[0].to_customer && d.emails[0].in_reply_to.as_deref() == Some("m1@example.test")
    );
    let thanked = d.order.unwrap();
    assert!(thanked.feedback_thanked);
    assert_eq!(thanked.state, OrderState::Shipped);

    // A second answer is kept, and not thanked for again.
    let d = run_feedback(
        &answer("The glaze is even nicer in daylight."),
        thanked.clone(),
    );
    assert!(d.feedback.is_some() && d.emails.is_empty() && d.order.is_none());
    assert!(d.attention.is_none());
    assert_eq!(d.about.as_deref(), Some("MC-TEST0001"));
    // "Thanks!" to our thank-you is not feedback.
    let d = run_feedback(&answer("Thanks!"), thanked);
    assert!(d.feedback.is_none() && d.emails.is_empty());
}

#[test]
fn what_asks_for_something_goes_to_a_person_kept_but_unthanked() {
    for text in [
        "One mug arrived broken, can you send another one",
        "Nice, but do you also sell saucers?",
        "I'd like to return the teapot",
    ] {
        let d = run_feedback(&answer(text), asked());
        assert!(d.feedback.is_some(), "{text}");
        assert!(
            d.attention.unwrap().contains("a person should answer"),
            "{text}"
        );
        assert!(
            d.emails.iter().all(|e| !e.to_customer),
            "{text}: no thank-you"
        );
        assert!(d.order.is_none(), "{text}: not marked thanked");
    }
    // "Nothing went wrong" is not a complaint.
    let d = run_feedback(&answer("All good, nothing went wrong. 4/5"), asked());
    assert!(d.attention.is_none() && d.feedback.unwrap().rating == Some(4));
}

#[test]
fn not_feedback_takes_its_usual_route() {
    // A cancellation after shipping is a return, not feedback.
    let d = run_feedback(&answer("Please cancel my order"), asked());
    assert!(d.feedback.is_none());
    assert_eq!(templates(&d)[0], "returns");
    // Machine mail.
    let mut auto = answer("I am out of the office until Monday.");
    auto.auto_submitted = Some("auto-replied".into());
    let d = run_feedback(&auto, asked());
    assert!(d.feedback.is_none() && d.emails.is_empty());
    // Someone other than the customer.
    let mut other = answer("Great shop!");
    other.from = Some(crate::core::inbound::Mailbox {
        name: None,
        email: "lee@example.org".into(),
    });
    assert!(run_feedback(&other, asked()).feedback.is_none());
    // Not in the request's thread.
    let d = run(&answer("Lovely mugs"), Some(asked()), 10, 0);
    assert!(d.feedback.is_none());
}

#[test]
fn ratings_read() {
    let cases = [
        ("5/5", Some(5)),
        ("I'd give it 4 out of 5.", Some(4)),
        ("3 stars", Some(3)),
        ("5 Sterne!", Some(5)),
        ("★★★★☆", Some(4)),
        ("4,5/5", Some(4)),
        ("we bought 15/5 at the market", None),
        ("order 25 stars", None),
        ("no rating here", None),
    ];
    for (text, want) in cases {
        assert_eq!(rating(text), want, "{text}");
    }
}
