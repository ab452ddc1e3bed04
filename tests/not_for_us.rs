//! Mail that is not for us, through the pipeline on a real SQLite file: spam the mail server
//! marked (and SpamAssassin's own samples and verdicts, from Debian's spamassassin package,
//! read where it installs them), spam complaints, bulk mail without list headers, mail with no
//! usable sender, first messages that are not orders. None is answered; each is named.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::store::Store;
use mailcart::core::classify::Kind;
use mailcart::pipeline::Outcome;

const ORDER: &str = "Hello,\r\n\r\n2 x Blue Glazed Mug\r\n\r\nShip to:\r\nPat Okafor\r\n41 Linden Avenue\r\nPortland, OR 97205\r\nUSA\r\n";

fn mail(id: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Pat Okafor <pat@example.test>\r\nTo: orders@lindenclay.test\r\nSubject: Hello\r\nMessage-ID: <{id}@notours.test>\r\n{extra_headers}\r\n{body}"
    )
    .into_bytes()
}

fn take(store: &mut Store, raw: Vec<u8>) -> Outcome {
    store.take(&[raw]).remove(0)
}

/// Emails to anyone but the sellers.
fn answers(store: &Store, o: &Outcome) -> Vec<String> {
    o.emails
        .iter()
        .filter(|(_, to)| !to.split(',').all(|a| store.config.is_seller(a.trim())))
        .map(|(t, to)| format!("{t} to {to}"))
        .collect()
}

fn kind(o: &Outcome) -> &'static str {
    o.kind.map_or("none", Kind::as_str)
}

#[test]
fn spam_the_server_marked_is_stored_and_never_answered() {
    let mut store = Store::new();
    for (i, header) in [
        "X-Spam-Flag: YES\r\n",
        "X-Spam-Status: Yes, score=7.3 required=5.0 tests=BAYES_99,URIBL_BLACK\r\n",
        "X-Spam-Status: No, score=5.4 required=6.0\r\n",
        "X-Spam: Yes\r\n",
        "X-Rspamd-Action: add header\r\n",
        "X-Spam-Score: 12.5\r\n",
    ]
    .iter()
    .enumerate()
    {
        let o = take(&mut store, mail(&format!("spam{i}"), header, ORDER));
        assert_eq!(kind(&o), "spam", "{header}");
        assert!(o.emails.is_empty(), "{header}: {:?}", o.emails);
        assert_eq!(o.attention, None, "{header}: not for a person either");
    }
    // Under the threshold, or a "No" verdict: read as what it is.
    for (i, header) in [
        "X-Spam-Score: 1.2\r\n",
        "X-Spam-Flag: NO\r\nX-Spam-Status: No, score=-0.1 required=5.0\r\n",
        "X-Rspamd-Action: no action\r\n",
    ]
    .iter()
    .enumerate()
    {
        let o = take(&mut store, mail(&format!("ham{i}"), header, ORDER));
        assert_eq!(kind(&o), "order", "{header}");
    }
    assert_eq!(
        store.count("SELECT COUNT(*) FROM messages WHERE kind = 'spam'"),
        6
    );
}

const SA_EXAMPLES: &str = "/usr/share/doc/spamassassin/examples";

/// Debian's spamassassin package: its sample spam (GTUBE) and ham, and the filter itself. In
/// CI it must be there (`.ci/run` installs it); elsewhere its absence is said out loud.
fn spamassassin_here() -> bool {
    let here = Path::new(SA_EXAMPLES).join("sample-spam.txt").is_file();
    if !here {
        assert!(
            std::env::var_os("CI").is_none(),
            "spamassassin's samples missing, and CI is set (see .ci/run)"
        );
        eprintln!(
            "not_for_us: spamassassin not installed (apt-get install spamassassin); left out"
        );
    }
    here
}

/// The message as SpamAssassin marks it: local tests only (no network), the headers it adds
/// on a mail server (report_safe 0: the message stays as it was, headers added).
fn spamassassin(raw: &[u8]) -> Vec<u8> {
    let mut child = Command::new("spamassassin")
        .args(["-L", "--cf=report_safe 0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spamassassin runs");
    let mut stdin = child.stdin.take().unwrap();
    let input = raw.to_vec();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(!out.stdout.is_empty(), "spamassassin gave nothing back");
    out.stdout
}

#[test]
fn spamassassins_samples_and_verdicts() {
    if !spamassassin_here() {
        return;
    }
    let mut store = Store::new();
    let spam = std::fs::read(Path::new(SA_EXAMPLES).join("sample-spam.txt")).unwrap();
    let ham = std::fs::read(Path::new(SA_EXAMPLES).join("sample-nonspam.txt")).unwrap();
    // As it arrives, unfiltered: the GTUBE string alone names it.
    let o = take(&mut store, spam.clone());
    assert_eq!(kind(&o), "spam");
    assert!(o.emails.is_empty());
    // As SpamAssassin marks it, and its ham and one of our orders as it passes them.
    let marked = spamassassin(&spam);
    assert!(String::from_utf8_lossy(&marked).contains("X-Spam-Flag: YES"));
    let o = take(&mut store, common_id(&marked, "sa-spam"));
    assert_eq!(kind(&o), "spam");
    let o = take(&mut store, spamassassin(&ham));
    assert_ne!(kind(&o), "spam");
    assert!(answers(&store, &o).is_empty(), "{:?}", o.emails);
    let order = mail("sa-order", "", ORDER);
    let passed = spamassassin(&order);
    assert!(String::from_utf8_lossy(&passed).contains("X-Spam-Status: No"));
    let o = take(&mut store, passed);
    assert_eq!(kind(&o), "order");
}

/// `raw` under a Message-ID of its own (a marked copy is another message).
fn common_id(raw: &[u8], id: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw);
    let re = regex::Regex::new(r"(?im)^message-id:[^\r\n]*").unwrap();
    re.replace(&text, format!("Message-ID: <{id}@notours.test>").as_str())
        .into_owned()
        .into_bytes()
}

#[test]
fn a_spam_complaint_is_named_and_the_sellers_are_told() {
    let mut store = Store::new();
    let arf = "From: Abuse Desk <fbl@isp.test>\r\nTo: orders@lindenclay.test\r\nSubject: FW: Your order MC-7K2QXD9F\r\nMessage-ID: <arf1@isp.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=feedback-report; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report for an email message received from IP 192.0.2.1.\r\n--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: SomeGenerator/1.0\r\nVersion: 1\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: orders@lindenclay.test\r\nTo: someone@isp.test\r\nSubject: Your order MC-7K2QXD9F\r\n\r\nThanks for your order.\r\n--b--\r\n";
    let o = take(&mut store, arf.as_bytes().to_vec());
    assert_eq!(kind(&o), "spam_complaint");
    assert!(answers(&store, &o).is_empty(), "{:?}", o.emails);
    let to_sellers: Vec<_> = o.emails.iter().filter(|(t, _)| t == "alert").collect();
    assert_eq!(
        to_sellers.len(),
        store.config.shop.sellers.len(),
        "{:?}",
        o.emails
    );
}

#[test]
fn no_usable_sender_is_held_with_that_reason_not_called_a_bounce() {
    let mut store = Store::new();
    let body = format!("To: orders@lindenclay.test\r\nSubject: order\r\n\r\n{ORDER}");
    let cases = [
        (
            "unparsable",
            format!("From: Pat Okafor <<<>>\r\nMessage-ID: <ns1@x.test>\r\n{body}"),
        ),
        (
            "two bare addresses",
            format!(
                "From: pat@example.test, kim@example.test\r\nMessage-ID: <ns2@x.test>\r\n{body}"
            ),
        ),
        ("no From", format!("Message-ID: <ns3@x.test>\r\n{body}")),
        (
            "blank line first",
            format!("\r\nFrom: Pat <pat@example.test>\r\nMessage-ID: <ns4@x.test>\r\n{body}"),
        ),
    ];
    for (what, raw) in cases {
        let o = take(&mut store, raw.into_bytes());
        assert_eq!(kind(&o), "unknown", "{what}");
        let why = o.attention.as_deref().unwrap_or("");
        assert!(why.starts_with("no usable sender"), "{what}: {why}");
        // Nobody to answer; the sellers are alerted.
        assert!(
            o.emails.iter().all(|(t, _)| t == "held"),
            "{what}: {:?}",
            o.emails
        );
    }
}

#[test]
fn bulk_mail_without_list_headers_is_known_by_what_it_carries() {
    let mut store = Store::new();
    let offer =
        "Hello,\r\n\r\n2 x Garden Gnome Deluxe\r\n3 x Patio Lantern\r\n\r\nOnly this week!\r\n";
    let many: Vec<String> = (0..12).map(|i| format!("r{i}@example.test")).collect();
    let html = "Content-Type: text/html; charset=utf-8\r\n";
    let cases = [
        (
            "ESP header",
            mail("b1", "X-Mailgun-Sid: WyI0Y2I\r\n", offer),
        ),
        (
            "SES",
            mail("b2", "X-SES-Outgoing: 2026.12.03-1.2.3.4\r\n", offer),
        ),
        (
            "Feedback-ID",
            mail("b3", "Feedback-ID: 1:campaign:acme:esp\r\n", offer),
        ),
        ("X-Precedence", mail("b4", "X-Precedence: bulk\r\n", offer)),
        (
            "many recipients",
            mail("b5", &format!("Cc: {}\r\n", many.join(", ")), offer),
        ),
        (
            "unsubscribe link in the HTML",
            mail(
                "b6",
                html,
                "<p>2 x Garden Gnome Deluxe for 9.99!</p><p><a href=\"https://esp.test/u?id=9\">Unsubscribe</a></p>",
            ),
        ),
        (
            "newsletter footer in text",
            mail(
                "b7",
                "",
                &format!("{offer}\r\nTo unsubscribe: https://esp.test/u/123\r\n"),
            ),
        ),
    ];
    for (what, raw) in cases {
        let o = take(&mut store, raw);
        assert_eq!(kind(&o), "bulk", "{what}");
        assert!(o.emails.is_empty(), "{what}: {:?}", o.emails);
    }
}

#[test]
fn a_first_message_that_names_nothing_we_sell_and_asks_nothing_is_not_an_order() {
    let mut store = Store::new();
    // A supplier's price list: lines shaped like order lines, no catalog item, no request.
    let price_list = "Dear purchasing team,\r\n\r\nOur new prices from January:\r\n500 x Kraft Box 20x20 cm\r\n1000 x Tissue Paper A4\r\n\r\nBest regards,\r\nPackaging Ltd\r\n";
    let o = take(&mut store, mail("n1", "", price_list));
    assert_eq!(kind(&o), "unknown");
    assert!(o.attention.is_some());
    // Not answered: held, and the sellers alerted.
    assert!(o.emails.iter().all(|(t, _)| t == "held"), "{:?}", o.emails);
    // The same unknown lines with a request to buy, in several languages: asked about.
    for (i, ask) in [
        "I'd like to order the following:",
        "Ich möchte bestellen:",
        "Je voudrais commander :",
        "Quisiera pedir:",
        "Vorrei ordinare:",
        "Ik wil graag bestellen:",
        "Gostaria de encomendar:",
    ]
    .iter()
    .enumerate()
    {
        let o = take(
            &mut store,
            mail(
                &format!("n2{i}"),
                "",
                &format!("{ask}\r\n\r\n2 x Purple Thing\r\n"),
            ),
        );
        assert_eq!(kind(&o), "order", "{ask}");
    }
    // A catalog item named: an order whatever the words around it.
    let o = take(&mut store, mail("n3", "", ORDER));
    assert_eq!(kind(&o), "order");
}

#[test]
fn raw_8bit_display_names_are_read_in_the_messages_charset_or_left_out() {
    let head = b"From: J\xfcrgen M\xfcller <jm@example.test>\r\nTo: orders@lindenclay.test\r\nSubject: order\r\nMessage-ID: <8bit@x.test>\r\n";
    let latin1 = [
        head.as_slice(),
        b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\n2 x Blue Glazed Mug\r\n",
    ]
    .concat();
    let msg = mailcart::mail::read::read(&latin1);
    let from = msg.from.unwrap();
    assert_eq!(from.name.as_deref(), Some("Jürgen Müller"));
    assert_eq!(from.email, "jm@example.test");
    let utf8 = [
        head.as_slice(),
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n2 x Blue Glazed Mug\r\n",
    ]
    .concat();
    let msg = mailcart::mail::read::read(&utf8);
    let from = msg.from.unwrap();
    assert_eq!(from.name, None, "not UTF-8 as declared: left out");
    assert_eq!(from.email, "jm@example.test");
}

/// Through the binary: the threshold is the shop's setting, and `status` counts what was not
/// answered.
#[test]
fn the_threshold_is_configured_and_status_counts_spam() {
    let shop = common::shop::Shop::new();
    let scored = |id: &str| {
        common::shop::eml(common::shop::PAT, "Order", id, None, ORDER).replacen(
            "\r\n\r\n",
            "\r\nX-Spam-Score: 6.5\r\n\r\n",
            1,
        )
    };
    let out = shop.deliver("a.eml", &scored("a@notours.test"), "2026-11-22T10:00:00Z");
    assert!(out.contains("spam"), "{out}");
    shop.edit_config("spam_score_threshold = 5.0", "spam_score_threshold = 8.0");
    let out = shop.deliver("b.eml", &scored("b@notours.test"), "2026-11-22T10:01:00Z");
    assert!(out.contains("order"), "{out}");
    let status = shop.run(&["status"]);
    assert!(
        status.contains("not answered (mail that is not for the shop): 1 spam"),
        "{status}"
    );
    assert_eq!(shop.json(&["status", "--json"])["not_answered"]["spam"], 1);
}
