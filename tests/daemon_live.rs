//! `mailcart run` as a real process against the loopback mail lab (Dovecot + Postfix): orders
//! arrive through the MTA, quotes are read back from the customer's mailbox over IMAP; the bot
//! catches up after being down, survives a Dovecot restart, waits out an MTA outage, and takes
//! the same message delivered twice only once. The lab is started if it is not up.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// These tests restart the lab's servers and share the shop's INBOX: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

mod common;
use common::lab::{Lab, lab_dir, mailtool, start as lab};

const SHOP: &str = "orders@lindenclay.test";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

struct Shop {
    dir: tempfile::TempDir,
    daemon: Option<Child>,
}

impl Shop {
    fn new(lab: &Lab) -> Shop {
        let dir = tempfile::tempdir().unwrap();
        let shop = Shop { dir, daemon: None };
        shop.cli(&["init", shop.dir.path().to_str().unwrap()]);
        let config = shop.dir.path().join("config.toml");
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str(&format!(
            "\n[imap]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"tls\"\nca_file = \"{}\"\nusername = \"{SHOP}\"\npassword = \"{}\"\ntimeout_seconds = 10\nsent_folder = \"Sent\"\n\n[smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\ntimeout_seconds = 10\n",
            lab.imaps_port,
            lab.ca_file.display(),
            lab.password,
            lab.smtp_port
        ));
        std::fs::write(&config, text).unwrap();
        shop.cli(&[
            "inventory",
            "import",
            repo()
                .join("mailbox-fixtures/catalog.csv")
                .to_str()
                .unwrap(),
        ]);
        mailtool(&["clear", SHOP]);
        shop
    }

    fn cli(&self, args: &[&str]) -> String {
        common::mailcart(&self.dir.path().join("config.toml"), args)
    }

    fn start(&mut self) {
        self.daemon = Some(common::spawn_daemon(
            &self.dir.path().join("config.toml"),
            &self.dir.path().join("run.log"),
        ));
    }

    /// SIGTERM, as a service manager would; the daemon must exit cleanly and promptly.
    fn stop(&mut self) {
        if let Some(child) = self.daemon.take() {
            common::terminate(child, || self.log());
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("run.log")).unwrap_or_default()
    }

    fn status(&self) -> serde_json::Value {
        serde_json::from_str(&self.cli(&["status", "--json"])).unwrap()
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        if let Some(mut child) = self.daemon.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{tag}-{nanos}-{}@example.test", std::process::id())
}

fn order(dir: &Path, customer: &str, id: &str, body: &str) -> PathBuf {
    let raw = format!(
        "From: Customer <{customer}>\r\nTo: {SHOP}\r\nSubject: Order\r\nMessage-ID: <{id}>\r\nDate: Sun, 22 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}",
        body.replace('\n', "\r\n")
    );
    let path = dir.join(format!("{}.eml", id.replace('@', "_")));
    std::fs::write(&path, raw).unwrap();
    path
}

const BODY: &str =
    "2 x Blue Mug\n\nShip to:\nPat Okafor\n41 Linden Avenue\nPortland, OR 97205\nUSA\n";

fn wait_for_answers(customer: &str, id: &str, want: usize, secs: u64, shop: &Shop) -> Duration {
    let start = Instant::now();
    loop {
        let n: usize = mailtool(&["replies", customer, id]).trim().parse().unwrap();
        if n >= want {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "no answer to {id} after {secs}s; daemon log:\n{}",
            shop.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn an_order_through_the_mta_is_answered_and_the_same_message_twice_only_once() {
    let _one = serial();
    let lab = lab();
    let mut shop = Shop::new(&lab);
    mailtool(&["create", SHOP, "Sent"]);
    let sent_before: u32 = mailtool(&["count", SHOP, "Sent"]).trim().parse().unwrap();
    shop.start();
    let id = unique("live");
    let file = order(shop.dir.path(), "pat@example.test", &id, BODY);
    mailtool(&["send", "pat@example.test", SHOP, file.to_str().unwrap()]);
    let took = wait_for_answers("pat@example.test", &id, 1, 30, &shop);
    eprintln!("quote arrived {took:?} after the MTA took the order");
    let quote = mailtool(&["show", "pat@example.test", &id]);
    assert!(
        quote.contains("Subject: Re: Order [MC-")
            && quote.contains("Total:")
            && quote.contains("How to pay"),
        "{quote}"
    );
    // The MTA delivers the very same message again (a client resend, a second route).
    mailtool(&["send", "pat@example.test", SHOP, file.to_str().unwrap()]);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        mailtool(&["replies", "pat@example.test", &id]).trim(),
        "1",
        "one quote, not two"
    );
    let status = shop.status();
    assert_eq!(status["orders"]["awaiting_payment"], 1, "{status}");
    let sent_after: u32 = mailtool(&["count", SHOP, "Sent"]).trim().parse().unwrap();
    assert_eq!(
        sent_after,
        sent_before + 1,
        "a copy of the quote in the shop's Sent folder"
    );
    let processed: u32 = mailtool(&["count", SHOP, "mailcart/processed"])
        .trim()
        .parse()
        .unwrap();
    assert!(processed >= 2, "both copies are moved out of the INBOX");
    shop.stop();
}

#[test]
fn a_payment_notice_through_the_mta_confirms_the_order_and_the_sellers_get_a_packing_slip() {
    let _one = serial();
    let lab = lab();
    let mut shop = Shop::new(&lab);
    mailtool(&["clear", "mara@lindenclay.test"]);
    shop.start();
    let id = unique("pay");
    let file = order(shop.dir.path(), "pat@example.test", &id, BODY);
    mailtool(&["send", "pat@example.test", SHOP, file.to_str().unwrap()]);
    wait_for_answers("pat@example.test", &id, 1, 30, &shop);
    let quote = mailtool(&["show", "pat@example.test", &id]);
    let reference = quote
        .split(['[', ']'])
        .find(|w| w.starts_with("MC-"))
        .unwrap_or_else(|| panic!("no reference in {quote}"))
        .to_string();
    let quote_id = quote
        .lines()
        .find_map(|l| l.strip_prefix("Message-ID: "))
        .unwrap()
        .trim()
        .to_string();
    assert!(quote.contains("Total:    46.88 USD"), "{quote}");

    pay_through_paypal(&shop, &reference, "46.88");
    // The confirmation answers the quote, in the customer's mailbox.
    let took = wait_for_answers("pat@example.test", &quote_id, 1, 30, &shop);
    eprintln!("confirmation arrived {took:?} after the MTA took the payment notice");
    let confirmation = mailtool(&["show", "pat@example.test", &quote_id]);
    assert!(
        confirmation.contains("Your order is confirmed")
            && confirmation.contains("Expected delivery:")
            && confirmation.contains(&reference),
        "{confirmation}"
    );
    let status = shop.status();
    assert_eq!(status["orders"]["paid"], 1, "{status}");
    // The packing slip went to each seller.
    let deadline = Instant::now() + Duration::from_secs(20);
    while mailtool(&["count", "mara@lindenclay.test"]).trim() == "0" {
        assert!(Instant::now() < deadline, "no packing slip: {}", shop.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    shop.stop();
}

/// PayPal's notice (fixture 53, in its real shape) for `reference` and `amount`, through the MTA.
fn pay_through_paypal(shop: &Shop, reference: &str, amount: &str) {
    let notice = std::fs::read_to_string(repo().join("mailbox-fixtures/53-paypal-payment.eml"))
        .unwrap()
        .replace("MC-7K2QXD9F", reference)
        .replace("116.00", amount)
        .replace(
            "4RT12345AB678901C",
            &format!("LIVE{}", reference.replace('-', "")),
        );
    let file = shop.dir.path().join(format!("notice-{reference}.eml"));
    std::fs::write(&file, notice).unwrap();
    mailtool(&[
        "send",
        "service@paypal.example",
        SHOP,
        file.to_str().unwrap(),
    ]);
}

/// Poll `mailtool find USER SUBJECT` until a message turns up; its Message-ID.
fn wait_for_subject(user: &str, subject: &str, shop: &Shop) -> String {
    common::wait_until(
        30,
        || {
            let id = mailtool(&["find", user, subject]).trim().to_string();
            (!id.is_empty()).then_some(id)
        },
        || format!("no {subject:?} for {user}: {}", shop.log()),
    )
}

/// The daemon running, Mara's and Pat's mailboxes empty, and Pat's order `body` sent through
/// the MTA; its Message-ID.
fn running_with_order(lab: &Lab, tag: &str, body: &str) -> (Shop, String) {
    let mut shop = Shop::new(lab);
    for user in ["mara@lindenclay.test", "pat@example.test"] {
        mailtool(&["clear", user]);
    }
    shop.start();
    let id = unique(tag);
    let file = order(shop.dir.path(), "pat@example.test", &id, body);
    mailtool(&["send", "pat@example.test", SHOP, file.to_str().unwrap()]);
    (shop, id)
}

/// `from` ("Name <address>") writes `text` to the shop through the MTA, threaded under
/// `parent`; the new message's Message-ID.
fn send_in_thread(shop: &Shop, from: &str, name: &str, parent: &str, text: &str) -> String {
    let parent = format!("<{}>", parent.trim_matches(['<', '>']));
    let id = unique(name);
    let raw = format!(
        "From: {from}\r\nTo: {SHOP}\r\nSubject: Re: {name}\r\nMessage-ID: <{id}>\r\nIn-Reply-To: {parent}\r\nReferences: {parent}\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n\r\n{}\r\n",
        text.replace('\n', "\r\n")
    );
    let path = shop.dir.path().join(format!("{name}.eml"));
    std::fs::write(&path, raw).unwrap();
    let address = from.rsplit(['<', '>']).nth(1).unwrap_or(from);
    mailtool(&["send", address, SHOP, path.to_str().unwrap()]);
    id
}

#[test]
fn a_seller_approves_and_ships_by_replying_through_the_mta() {
    let _one = serial();
    let lab = lab();
    let body =
        "8 x Cast Iron Teapot\n\nShip to:\nPat Okafor\n41 Linden Avenue\nPortland, OR 97205\nUSA\n";
    let (mut shop, _) = running_with_order(&lab, "big", body);
    let request = wait_for_subject("mara@lindenclay.test", "Approve order", &shop);
    let reply = |name: &str, parent: &str, text: &str| {
        send_in_thread(&shop, "Mara <mara@lindenclay.test>", name, parent, text);
    };
    reply(
        "approve",
        &request,
        "approve\n\n> Order needs your approval",
    );
    wait_for_subject("pat@example.test", "quote and payment details", &shop);
    let status = shop.status();
    assert_eq!(status["orders"]["awaiting_payment"], 1, "{status}");

    // Paid through PayPal, then shipped by reply to the packing slip.
    let reference = shop.cli(&["orders", "--json"]);
    let reference: serde_json::Value = serde_json::from_str(&reference).unwrap();
    let reference = reference[0]["reference"].as_str().unwrap().to_string();
    pay_through_paypal(&shop, &reference, "552.96");
    let slip = wait_for_subject("mara@lindenclay.test", "Pack order", &shop);
    reply("ship", &slip, "shipped USPS 9400111899223197428490");
    wait_for_subject("pat@example.test", "has shipped", &shop);
    let status = shop.status();
    assert_eq!(status["orders"]["shipped"], 1, "{status}");
    shop.stop();
}

#[test]
fn mail_that_arrives_while_the_bot_is_down_is_answered_when_it_starts() {
    let _one = serial();
    let lab = lab();
    let mut shop = Shop::new(&lab);
    let id = unique("down");
    let file = order(shop.dir.path(), "lee@example.org", &id, BODY);
    mailtool(&["send", "lee@example.org", SHOP, file.to_str().unwrap()]);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(mailtool(&["replies", "lee@example.org", &id]).trim(), "0");
    shop.start();
    wait_for_answers("lee@example.org", &id, 1, 30, &shop);
    // Stopped and started again: nothing is taken twice.
    shop.stop();
    shop.start();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(mailtool(&["replies", "lee@example.org", &id]).trim(), "1");
    shop.stop();
}

#[test]
fn a_dovecot_restart_mid_run_is_survived() {
    let _one = serial();
    let lab = lab();
    let mut shop = Shop::new(&lab);
    shop.start();
    std::thread::sleep(Duration::from_secs(1));
    let conf = lab_dir().join("dovecot.conf");
    let stopped = Command::new("dovecot")
        .arg("-c")
        .arg(&conf)
        .arg("stop")
        .status()
        .unwrap();
    assert!(stopped.success());
    std::thread::sleep(Duration::from_secs(1));
    // Back via the lab script, which restarts whatever is down.
    crate::lab();
    let id = unique("restart");
    let file = order(shop.dir.path(), "kim@example.net", &id, BODY);
    mailtool(&["send", "kim@example.net", SHOP, file.to_str().unwrap()]);
    wait_for_answers("kim@example.net", &id, 1, 60, &shop);
    assert!(
        shop.log().contains("connecting to the imap server"),
        "{}",
        shop.log()
    );
    shop.stop();
}

#[test]
fn with_the_mta_down_replies_wait_in_the_outbox_and_go_when_it_is_back() {
    let _one = serial();
    let lab = lab();
    let mut shop = Shop::new(&lab);
    shop.start();
    let postfix = lab_dir().join("postfix");
    assert!(
        Command::new("postfix")
            .arg("-c")
            .arg(&postfix)
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    );
    // With the MTA down the order can only be put in the mailbox directly.
    let id = unique("mta-down");
    let file = order(shop.dir.path(), "pat@example.test", &id, BODY);
    mailtool(&["append", SHOP, "INBOX", file.to_str().unwrap()]);
    let start = Instant::now();
    loop {
        let s = shop.status();
        let smtp_failed = s["servers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["server"] == "smtp" && c["last_error"].is_string());
        if s["orders"]["awaiting_payment"] == 1 && s["outbox"]["pending"] == 1 && smtp_failed {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "reply not queued: {s}\n{}",
            shop.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        Command::new("postfix")
            .arg("-c")
            .arg(&postfix)
            .arg("start")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    );
    wait_for_answers("pat@example.test", &id, 1, 90, &shop);
    let s = shop.status();
    assert_eq!(s["outbox"]["sent"], 1, "{s}");
    assert_eq!(s["outbox"]["failed"], 0, "{s}");
    shop.stop();
}

#[test]
fn a_held_question_reaches_the_seller_and_their_reply_reaches_the_customer_threaded() {
    let _one = serial();
    let lab = lab();
    let (mut shop, first) = running_with_order(&lab, "gift-order", BODY);
    wait_for_answers("pat@example.test", &first, 1, 30, &shop);
    // A question in the order's thread: mailcart leaves it to a person.
    let question = send_in_thread(
        &shop,
        "Pat <pat@example.test>",
        "gift-question",
        &first,
        "Hi, do you gift wrap? It's for my mother's birthday.",
    );
    let alert = wait_for_subject("mara@lindenclay.test", "Waiting for you", &shop);
    send_in_thread(
        &shop,
        "Mara <mara@lindenclay.test>",
        "mara-answer",
        &alert,
        "reply Yes, we gift wrap for free: it goes out in our linen paper.\n\n> A message waits for you",
    );
    // In Pat's mailbox, as an answer to Pat's question, from the shop.
    wait_for_answers("pat@example.test", &question, 1, 30, &shop);
    let shown = mailtool(&["show", "pat@example.test", &question]);
    assert!(
        shown.contains("we gift wrap for free") && !shown.contains("reply Yes"),
        "{shown}"
    );
    assert!(
        shop.cli(&["review", "--json"]).trim() == "[]",
        "the hold is closed"
    );
    shop.stop();
}
