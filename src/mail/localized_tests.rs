//! Every customer template in every language: it renders, it carries every figure and name the
//! English one carries (written the language's way), and no English is left in it.

use std::path::Path;

use rust_decimal::Decimal;
use time::OffsetDateTime;
use time::macros::datetime;

use crate::config::Config;
use crate::core::address::ShippingAddress;
use crate::core::decision::{Email, Shortage, Template};
use crate::core::inbound::Mailbox;
use crate::core::items::{Problem, Unmatched};
use crate::core::order::{Order, OrderLine, OrderState, Return, ReturnLine, ReturnState, Shipment};
use crate::mail::compose::render_text;
use crate::mail::locale::locale;

/// Words that would give away an English sentence left in a translation; none of them is a
/// word of the other languages (so not "total", "subtotal", "is", "in", "we", "december").
const ENGLISH: &[&str] = &[
    "hello",
    "thank",
    "thanks",
    "order",
    "shipping",
    "please",
    "your",
    "you",
    "our",
    "the",
    "and",
    "with",
    "payment",
    "pay",
    "reply",
    "email",
    "items",
    "reference",
    "has",
    "been",
    "will",
    "just",
    "quote",
    "shipped",
    "cancelled",
    "return",
    "refund",
    "tracking",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "regards",
    "tax",
    "paid",
    "there",
];

fn config() -> Config {
    let text = include_str!("../../config.example.toml")
        .replace("currency = \"USD\"", "currency = \"EUR\"")
        .replace("name = \"Bank transfer\"", "name = \"IBAN\"")
        .replace(
            "Transfer {total} to Linden Clay Studio, IBAN DE02 1203 0000 0000 2020 51, BIC BYLADEM1001, with the reference {reference}.",
            "DE02 1203 0000 0000 2020 51 / BYLADEM1001: {total}, {reference}",
        )
        .replace(
            "Send {total} to payments@lindenclay.test via PayPal and put {reference} in the note.",
            "payments@lindenclay.test: {total}, {reference}",
        )
        .replace(
            "returns = \"You can return",
            "returns = \"30 Tage / jours / días / giorni / dagen / dias.\"\n# \"You can return",
        )
        .replace("timezone = \"UTC\"", "timezone = \"Europe/Berlin\"");
    Config::from_toml(&text, Path::new("x")).unwrap()
}

fn now() -> OffsetDateTime {
    datetime!(2026-12-10 13:30 UTC)
}

fn line(sku: &str, name: &str, quantity: u32, unit: i64) -> OrderLine {
    OrderLine {
        sku: sku.into(),
        name: name.into(),
        quantity,
        requested: quantity,
        unit_price: Decimal::new(unit, 2),
        line_total: Decimal::new(unit * i64::from(quantity), 2),
    }
}

fn order() -> Order {
    let customer = Mailbox {
        name: Some("Anna Schmidt".into()),
        email: "anna@example.test".into(),
    };
    let mut o = Order::new("MC-7K2QXD9F".into(), customer, "EUR", now());
    o.state = OrderState::AwaitingPayment;
    o.lines = vec![
        line("MUG-BLU", "Blue Mug", 2, 1800),
        line("POT-TEA", "Teapot Grande", 1, 123450),
    ];
    o.totals.subtotal = Decimal::new(127050, 2);
    o.totals.shipping = Decimal::new(590, 2);
    o.totals.tax_rate = Decimal::new(19, 2);
    o.totals.tax = Decimal::new(24252, 2);
    o.totals.total = Decimal::new(151892, 2);
    o.shipping_address = Some(ShippingAddress {
        text: "Anna Schmidt\nHauptstraße 1\n10115 Berlin".into(),
        postal_code: Some("10115".into()),
        country: None,
        country_code: Some("DE".into()),
    });
    o.payment_due = Some(now());
    o.reserved_until = Some(now());
    o.delivery = Some(("DHL Paket".into(), "2026-12-15".into()));
    o.shipment = Some(Shipment {
        carrier: "DHL".into(),
        tracking: "00340434161094042557".into(),
        url: Some("https://dhl.example/00340434161094042557".into()),
        at: now(),
    });
    o.returns = vec![Return {
        rma: "MC-7K2QXD9F-R1".into(),
        state: ReturnState::Authorised,
        lines: vec![ReturnLine {
            sku: "MUG-BLU".into(),
            name: "Blue Mug".into(),
            quantity: 1,
            unit_price: Decimal::new(1800, 2),
        }],
        credit: Decimal::new(2142, 2),
        refund: Decimal::new(2142, 2),
        exchange: None,
        authorised_at: now(),
        received_at: None,
    }];
    o
}

fn templates() -> Vec<Template> {
    let o = order();
    let rma = "MC-7K2QXD9F-R1".to_string();
    let mut new_order = order();
    new_order.reference = "MC-9PQ4RT2W".into();
    new_order.credit = Decimal::new(2142, 2);
    let shortages = vec![Shortage {
        name: "Blue Mug".into(),
        requested: 3,
        available: 2,
    }];
    vec![
        Template::AskDetails {
            order: o.clone(),
            problems: vec![Unmatched {
                line: "3 x Grüne Vase".into(),
                problem: Problem::Unknown,
                suggestions: vec!["Green Vase".into()],
            }],
            shortages: shortages.clone(),
            need_address: true,
            need_items: true,
            have: vec![("Blue Mug".into(), 2), ("Teapot Grande".into(), 1)],
            unserved_country: Some("Atlantis".into()),
            in_stock: vec!["Blue Mug".into()],
        },
        Template::Quote {
            order: o.clone(),
            shortages: shortages.clone(),
        },
        Template::UnderReview {
            order: o.clone(),
            shortages,
        },
        Template::Status { order: o.clone() },
        Template::StatusUnknown,
        Template::CardWarning,
        Template::Cancelled { order: o.clone() },
        Template::PaymentConfirmed { order: o.clone() },
        Template::PaymentPartial {
            order: o.clone(),
            received: Decimal::new(50000, 2),
        },
        Template::PaymentClaimed { order: o.clone() },
        Template::PaymentReminder { order: o.clone() },
        Template::Expired { order: o.clone() },
        Template::FeedbackRequest { order: o.clone() },
        Template::FeedbackThanks { order: o.clone() },
        Template::Rejected {
            order: o.clone(),
            reason: String::new(),
        },
        Template::Shipped { order: o.clone() },
        Template::CancelledByShop {
            order: o.clone(),
            reason: String::new(),
        },
        Template::Returns {
            order: o.clone(),
            rma: rma.clone(),
        },
        Template::Exchange {
            order: o.clone(),
            rma: rma.clone(),
            new_order: new_order.clone(),
        },
        Template::ReturnReceived {
            order: o.clone(),
            rma,
            exchange: Some(new_order),
        },
        Template::AddressChanged { order: o.clone() },
        Template::TooLateToChange { order: o.clone() },
        Template::ChangeQuestion {
            order: o.clone(),
            unclear: vec![("Tasse".into(), vec!["Blue Mug".into()])],
            empties: false,
            understood: Vec::new(),
        },
        Template::ChangeAfterShipping { order: o },
    ]
}

fn email(template: Template, language: &str) -> Email {
    Email {
        to: vec![Mailbox {
            name: Some("Anna Schmidt".into()),
            email: "anna@example.test".into(),
        }],
        in_reply_to: None,
        references: Vec::new(),
        subject: "MC-7K2QXD9F".into(),
        template,
        to_customer: true,
        command: None,
        once: None,
        attach_inbound: false,
        language: Some(language.into()),
    }
}

/// The figures and names `english` shows, as `language` writes them.
fn carried(english: &str, language: &str) -> Vec<String> {
    let loc = locale(language);
    let mut want = Vec::new();
    for name in [
        "MC-7K2QXD9F",
        "MC-9PQ4RT2W",
        "MC-7K2QXD9F-R1",
        "Blue Mug",
        "Teapot Grande",
    ] {
        if english.contains(name) {
            want.push(name.to_string());
        }
    }
    for amount in [
        "1518.92", "1234.50", "36.00", "18.00", "1270.50", "5.90", "242.52", "500.00", "21.42",
    ] {
        if english.contains(amount) {
            want.push(loc.amount(amount));
        }
    }
    want
}

#[test]
fn every_customer_template_exists_in_every_language() {
    for t in templates() {
        assert_eq!(
            super::languages(&t),
            crate::core::language::SUPPORTED,
            "{}",
            t.name()
        );
    }
}

#[test]
fn every_template_in_every_language_carries_the_figures_and_no_english() {
    let config = config();
    let mut faults = Vec::new();
    for t in templates() {
        let english = render_text(&email(t.clone(), "en"), &config).unwrap();
        assert!(english.starts_with("Hello Anna,"), "{english}");
        for language in crate::core::language::SUPPORTED
            .iter()
            .filter(|l| **l != "en")
        {
            let text = render_text(&email(t.clone(), language), &config)
                .unwrap_or_else(|e| panic!("{} in {language}: {e}", t.name()));
            let name = t.name();
            for want in carried(&english, language) {
                if !text.contains(&want) {
                    faults.push(format!("{name} in {language} lacks {want:?}"));
                }
            }
            // The change commands are the words the parser reads; they stay as they are.
            let prose = &text[..text.find("add 2 x").unwrap_or(text.len())];
            let words: Vec<String> = prose
                .split(|c: char| !c.is_alphabetic())
                .map(str::to_lowercase)
                .collect();
            for word in ENGLISH {
                if words.iter().any(|w| w == word) {
                    faults.push(format!("{name} in {language} has the English {word:?}"));
                }
            }
            if !text.contains("Anna") {
                faults.push(format!("{name} in {language} greets nobody"));
            }
        }
    }
    assert!(faults.is_empty(), "{}", faults.join("\n"));
}

#[test]
fn german_writes_dates_money_and_the_zone_its_way() {
    let text = render_text(
        &email(
            Template::Quote {
                order: order(),
                shortages: Vec::new(),
            },
            "de",
        ),
        &config(),
    )
    .unwrap();
    assert!(text.starts_with("Guten Tag Anna,"), "{text}");
    assert!(text.contains("Gesamt:    1.518,92 €"), "{text}");
    assert!(text.contains("MwSt. (19 %): 242,52"), "{text}");
    assert!(
        text.contains("Donnerstag, 10. Dezember 2026, 14:30 Uhr (MEZ)"),
        "{text}"
    );
}

#[test]
fn a_language_the_shop_does_not_answer_in_falls_back_to_its_own() {
    let mut config = config();
    config.shop.languages = vec!["en".into(), "de".into()];
    config.shop.language = "de".into();
    let text = render_text(&email(Template::Status { order: order() }, "fr"), &config).unwrap();
    assert!(text.starts_with("Guten Tag Anna,"), "{text}");
    // Without a language of its own, the order's answers.
    let mut o = order();
    o.language = Some("es".into());
    config.shop.languages.push("es".into());
    let mut e = email(Template::Status { order: o }, "en");
    e.language = None;
    let text = render_text(&e, &config).unwrap();
    assert!(text.starts_with("Hola, Anna:"), "{text}");
}

#[test]
fn english_in_utc_is_as_it_always_was() {
    let mut config = config();
    config.shop.timezone = "UTC".into();
    config.shop.currency = "USD".into();
    let text = render_text(
        &email(
            Template::Quote {
                order: order(),
                shortages: Vec::new(),
            },
            "en",
        ),
        &config,
    )
    .unwrap();
    assert!(text.contains("  Total:    1518.92 USD\n"), "{text}");
    assert!(
        text.contains("Please pay by Thursday 10 December 2026, 13:30 UTC."),
        "{text}"
    );
}

#[test]
fn sellers_get_the_shops_language_whatever_the_customers() {
    let mut config = config();
    config.shop.language = "de".into();
    let mut o = order();
    o.language = Some("fr".into());
    let mut e = email(Template::PackingSlip { order: o }, "fr");
    e.to_customer = false;
    e.language = None;
    let text = render_text(&e, &config).unwrap();
    assert!(
        text.starts_with("Bestellung MC-7K2QXD9F ist bezahlt (0,00 €): bitte packen."),
        "{text}"
    );
    assert!(text.contains("Dezember 2026"), "{text}");
    config.shop.language = "en".into();
    let text = render_text(&e, &config).unwrap();
    assert!(
        text.contains("is paid (0.00 EUR): please pack it"),
        "{text}"
    );
    // A shop language without seller templates writes English.
    config.shop.language = "fr".into();
    let text = render_text(&e, &config).unwrap();
    assert!(text.contains("please pack it"), "{text}");
}
