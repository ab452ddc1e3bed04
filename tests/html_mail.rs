//! Customers' emails as multipart/alternative: the text part as it always was, and an HTML
//! twin with the same words and figures (`mail::html`).
//!
//! With MAILCART_HTML_OUT=DIR, `every_template_has_a_twin` also writes each sample's text and
//! HTML there; scripts/render-html uses that to make the PNGs.

#[path = "html_mail/samples.rs"]
mod samples;

use std::collections::BTreeSet;
use std::path::Path;

use mail_parser::{MessageParser, MimeHeaders, PartType};
use mailcart::config::Config;
use mailcart::core::decision::{Email, Template};
use mailcart::core::inbound::Mailbox;
use mailcart::core::order::OrderState;
use mailcart::mail::compose::{Attachment, compose, compose_with, render_html, render_text};
use regex::Regex;
use time::macros::datetime;

fn config() -> Config {
    Config::from_toml(mailcart::EXAMPLE_CONFIG, Path::new("config.example.toml")).unwrap()
}

/// What a reader of the HTML sees: the body without its tags, entities decoded.
fn visible(html: &str) -> String {
    let body = &html[html.find("<body").expect("a body")..];
    let tags = Regex::new(r"<[^>]*>").unwrap();
    let text = tags.replace_all(body, " ");
    let numeric = Regex::new(r"&#(\d+);").unwrap();
    let text = numeric.replace_all(&text, |c: &regex::Captures| {
        char::from_u32(c[1].parse().unwrap()).unwrap().to_string()
    });
    let mut out = text.replace("&nbsp;", " ");
    for (entity, c) in [
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&amp;", "&"),
    ] {
        out = out.replace(entity, c);
    }
    out
}

/// Every figure (amounts, quantities, dates, tracking numbers) and every order or return
/// reference in `text`.
fn figures(text: &str) -> BTreeSet<String> {
    let number = Regex::new(r"\b\d+(?:[.,]\d+)*\b").unwrap();
    let reference = Regex::new(r"\bMC-[A-Z0-9]{8}(?:-R\d+)?\b").unwrap();
    number
        .find_iter(text)
        .chain(reference.find_iter(text))
        .map(|m| m.as_str().to_string())
        .collect()
}

#[test]
fn every_template_has_a_twin() {
    let config = config();
    let out = std::env::var_os("MAILCART_HTML_OUT").map(std::path::PathBuf::from);
    let emails = samples::customer_emails();
    let names: BTreeSet<&str> = emails.iter().map(|e| e.template.name()).collect();
    assert_eq!(names.len(), 25, "one sample of each customer template");
    // In every language: the HTML takes its words from the same template and labels.
    for language in ["en", "de", "fr", "es", "it", "nl", "pt"] {
        for (i, email) in emails.iter().enumerate() {
            let mut email = email.clone();
            email.language = Some(language.into());
            let email = &email;
            let name = format!("{language}/{}", email.template.name());
            let text = render_text(email, &config).unwrap();
            let html = render_html(email, &config).unwrap();
            if let Some(dir) = &out {
                std::fs::create_dir_all(dir).unwrap();
                let file = format!("{language}-{i:02}-{}", email.template.name());
                std::fs::write(dir.join(format!("{file}.txt")), &text).unwrap();
                std::fs::write(dir.join(format!("{file}.html")), &html).unwrap();
            }
            assert!(
                !text.contains("[[mailcart:"),
                "{name}: a marker in the text"
            );
            assert!(
                !html.contains("[[mailcart:"),
                "{name}: a marker left in the HTML"
            );
            let (in_text, in_html) = (figures(&text), figures(&visible(&html)));
            assert!(
                in_text.contains(samples::REFERENCE)
                    || matches!(
                        email.template,
                        Template::StatusUnknown
                            | Template::CardWarning
                            | Template::SellerReply { .. }
                    ),
                "{name}: {in_text:?}"
            );
            assert_eq!(
                in_text.difference(&in_html).collect::<Vec<_>>(),
                Vec::<&String>::new(),
                "{name}: figures of the text missing from the HTML"
            );
            assert_eq!(
                in_html.difference(&in_text).collect::<Vec<_>>(),
                Vec::<&String>::new(),
                "{name}: figures in the HTML the text does not have"
            );
        }
    }
}

#[test]
fn the_quote_has_its_table_and_payment_box() {
    let config = config();
    let quote = &samples::customer_emails()[1];
    assert_eq!(quote.template.name(), "quote");
    let html = render_html(quote, &config).unwrap();
    // The items table: one row per line, then the totals, the total last and prominent.
    for cell in [
        ">Blue Glazed Mug<",
        ">2<",
        ">18.00<",
        ">36.00<",
        ">SKU MUG-BLU<",
    ] {
        assert!(
            html.contains(cell) || html.contains(&cell.replace('>', "> ")),
            "{cell}"
        );
    }
    let total = html.find(">56.76 USD<").expect("the total in its cell");
    assert!(
        html[..total]
            .rfind("font-weight:bold")
            .is_some_and(|b| total - b < 200)
    );
    // The payment box: the reference alone in a monospace block, then every method.
    let mono = html.find("monospace").unwrap();
    let reference = html[mono..]
        .find(">MC-7K2QXD9F<")
        .expect("the reference in the block");
    assert!(reference < 400);
    for name in ["Bank transfer", "PayPal"] {
        assert!(
            html[mono..].contains(&format!("<strong>{name}</strong>")),
            "{name}"
        );
    }
    assert!(html.contains("IBAN DE02 1203 0000 0000 2020 51"));
    // What mail clients cannot take.
    for banned in [
        "<script",
        "<link",
        "@import",
        "<style",
        "fonts.googleapis",
        "class=",
    ] {
        assert!(!html.contains(banned), "{banned}");
    }
    assert!(html.contains("max-width:600px"));
}

#[test]
fn links_in_the_html() {
    let config = config();
    let shipped = samples::customer_emails()
        .into_iter()
        .find(|e| e.template.name() == "shipped")
        .unwrap();
    let html = render_html(&shipped, &config).unwrap();
    assert!(html.contains("<a href=\"https://www.ups.com/track?tracknum=1Z999AA10123456784\""));
}

fn mime_type(part: &mail_parser::MessagePart) -> String {
    let ct = part.content_type().expect("a content type");
    format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default())
}

#[test]
fn mime_structure() {
    let config = config();
    let now = datetime!(2026-11-22 09:00 UTC);
    let quote = samples::customer_emails().swap_remove(1);
    let text = render_text(&quote, &config).unwrap();

    let raw = compose(&quote, "q1@lindenclay.test", now, &config).unwrap();
    let msg = MessageParser::default().parse(&raw).unwrap();
    let root = msg.root_part();
    assert_eq!(mime_type(root), "multipart/alternative");
    let PartType::Multipart(kids) = &root.body else {
        panic!("not multipart")
    };
    let types: Vec<String> = kids
        .iter()
        .map(|&i| mime_type(&msg.parts[i as usize]))
        .collect();
    assert_eq!(types, ["text/plain", "text/html"]);
    assert_eq!(msg.body_text(0).unwrap().replace("\r\n", "\n"), text);
    assert!(msg.body_html(0).unwrap().contains("<table"));

    let attached = b"From: pat@example.test\r\nSubject: hi\r\n\r\n2 x Blue Glazed Mug\r\n";
    let raw = compose_with(
        &quote,
        "q2@lindenclay.test",
        now,
        &config,
        &[Attachment::Message(attached)],
    )
    .unwrap();
    let msg = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(mime_type(msg.root_part()), "multipart/mixed");
    let PartType::Multipart(kids) = &msg.root_part().body else {
        panic!("not multipart")
    };
    let types: Vec<String> = kids
        .iter()
        .map(|&i| mime_type(&msg.parts[i as usize]))
        .collect();
    assert_eq!(types, ["multipart/alternative", "message/rfc822"]);
    assert_eq!(msg.body_text(0).unwrap().replace("\r\n", "\n"), text);

    // Sellers' mail stays one text part.
    let mut to_seller = quote.clone();
    to_seller.to_customer = false;
    to_seller.to = vec![Mailbox {
        name: None,
        email: "mara@lindenclay.test".into(),
    }];
    let raw = compose(&to_seller, "s1@lindenclay.test", now, &config).unwrap();
    let msg = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(mime_type(msg.root_part()), "text/plain");
}

#[test]
fn what_customers_and_the_catalog_write_stays_text() {
    let config = config();
    let mut order = samples::order(OrderState::AwaitingPayment);
    order.lines[0].name = "<script>alert(\"mug\")</script>".into();
    order.lines[1].sku = "TOWEL\"><img src=x onerror=alert(1)>".into();
    order.shipping_address.as_mut().unwrap().text =
        "Pat </td></tr></table><b>Doe</b>\n12 Alder & Sons Street".into();
    let email = Email {
        to: vec![Mailbox {
            name: Some("<i>Pat".into()),
            email: "pat@example.test".into(),
        }],
        in_reply_to: None,
        references: Vec::new(),
        subject: "Your order </title><script>x</script>".into(),
        template: Template::Quote {
            order,
            shortages: Vec::new(),
        },
        to_customer: true,
        command: None,
        once: None,
        attach_inbound: false,
        language: None,
    };
    let html = render_html(&email, &config).unwrap();
    for raw in ["<script", "<img", "<b>", "<i>", "</td></tr></table><b>"] {
        assert!(!html.contains(raw), "{raw} got through:\n{html}");
    }
    assert!(html.contains("&#60;script&#62;alert("));
    let seen = visible(&html);
    for shown in [
        "<script>alert(\"mug\")</script>",
        "TOWEL\"><img src=x onerror=alert(1)>",
        "Pat </td></tr></table><b>Doe</b>",
        "12 Alder & Sons Street",
        "Hello <i>Pat,",
    ] {
        assert!(seen.contains(shown), "{shown} not shown as text:\n{seen}");
    }

    let reply = Email {
        template: Template::SellerReply {
            text: "See https://x.test/\"onmouseover=\"alert(1) and javascript:alert(2)".into(),
        },
        ..email
    };
    let html = render_html(&reply, &config).unwrap();
    assert!(html.contains("<a href=\"https://x.test/\" "), "{html}");
    assert!(!html.contains("href=\"javascript"));
    assert!(!html.contains("\"onmouseover"));
}

#[test]
fn the_shops_look() {
    let mut config = config();
    let quote = samples::customer_emails().swap_remove(1);
    let html = render_html(&quote, &config).unwrap();
    assert!(html.contains(">Linden Clay Studio</span>") && !html.contains("<img"));
    config.shop.logo_url = Some("https://lindenclay.test/logo.png?a=1&b=2".into());
    config.shop.accent_colour = Some("#f5d76e".into());
    let html = render_html(&quote, &config).unwrap();
    assert!(
        html.contains(
            "<img src=\"https://lindenclay.test/logo.png?a=1&#38;b=2\" alt=\"Linden Clay Studio\""
        ) || html.contains(
            "<img src=\"https://lindenclay.test/logo.png?a=1&amp;b=2\" alt=\"Linden Clay Studio\""
        ),
        "{html}"
    );
    assert!(html.contains("background-color:#f5d76e;"));
    // A light accent gets dark text.
    assert!(html.contains("background-color:#f5d76e;color:#111111;"));
}

/// The price of the twin: `cargo test --release --test html_mail -- --ignored --nocapture`.
#[test]
#[ignore]
fn cost_of_the_twin() {
    let config = config();
    let now = datetime!(2026-11-22 09:00 UTC);
    let quote = samples::customer_emails().swap_remove(1);
    let mut text_only = quote.clone();
    text_only.to_customer = false;
    let per_email = |email: &Email| {
        let n = 2000;
        let start = std::time::Instant::now();
        for i in 0..n {
            compose(email, &format!("{i}@lindenclay.test"), now, &config).unwrap();
        }
        start.elapsed() / n
    };
    let (text, both) = (per_email(&text_only), per_email(&quote));
    let size = compose(&quote, "x@lindenclay.test", now, &config)
        .unwrap()
        .len();
    let text_size = compose(&text_only, "x@lindenclay.test", now, &config)
        .unwrap()
        .len();
    eprintln!(
        "quote: text only {text:?} ({text_size} bytes), with the HTML twin {both:?} ({size} bytes)"
    );
}

#[test]
fn an_html_reply_quoting_the_twin_reads_as_the_customers_words() {
    let config = config();
    let quote = samples::customer_emails().swap_remove(1);
    let html = render_html(&quote, &config).unwrap();
    let body = &html[html.find("<body").unwrap()..html.find("</body>").unwrap()];
    let reply = format!(
        "From: Pat Doe <pat@example.test>\r\nTo: orders@lindenclay.test\r\nSubject: Re: your order {}\r\nMessage-ID: <r1@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<div>Please make it 3 mugs instead of 2.</div><div class=\"gmail_quote\"><blockquote>{body}</blockquote></div>\r\n",
        samples::REFERENCE
    );
    let inbound = mailcart::mail::read::read(reply.as_bytes());
    assert_eq!(inbound.bulk_layout, None);
    assert!(
        inbound.text.contains("3 mugs instead of 2"),
        "{}",
        inbound.text
    );
    for quoted in ["56.76", "Blue Glazed Mug", "IBAN"] {
        assert!(!inbound.text.contains(quoted), "{quoted}: {}", inbound.text);
    }
}
