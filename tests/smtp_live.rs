//! The outbox over real SMTP: against the loopback mail lab (`tests/lab`), Postfix takes what
//! the dispatcher sends, Dovecot files it in the lab users' mailboxes, and the test reads it
//! back over IMAP by its Message-ID.
//!
//! The lab is started here when it is not running (`tests/lab/start` is idempotent). Like the
//! lab's scripts, the tests honour `MAILCART_LAB_DIR` (default `/tmp/mailcart-lab`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use mailcart::config::Config;
use mailcart::db::Db;
use mailcart::dispatch;
use mailcart::pipeline::{Outcome, RandomReferences, process_batch};
use mailcart::smtp::SmtpSink;
use time::OffsetDateTime;

mod common;
use common::lab::{Lab, lab};

/// A shop with its own database, sending to `smtp_port` on loopback.
struct Shop {
    _dir: tempfile::TempDir,
    db: Db,
    config: Arc<Config>,
}

fn smtp_section(lab: &Lab, port: u16) -> String {
    format!(
        "[smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"starttls\"\nca_file = {:?}\nusername = \"orders@lindenclay.test\"\npassword = {:?}\ntimeout_seconds = 10\nconnections = 2\n",
        lab.ca_file.to_str().unwrap(),
        lab.password,
    )
}

async fn shop(lab: &Lab, port: u16) -> Shop {
    let dir = tempfile::tempdir().unwrap();
    let text = mailcart::EXAMPLE_CONFIG
        .replace(
            "database = \"mailcart.db\"",
            &format!(
                "database = {:?}",
                dir.path().join("mailcart.db").to_str().unwrap()
            ),
        )
        .replace(
            "dir = \"outbox\"",
            &format!("dir = {:?}", dir.path().join("outbox").to_str().unwrap()),
        )
        // Sellers the lab has a mailbox for, so that notices to them can be delivered.
        .replace(
            "sellers = [\"mara@lindenclay.test\", \"sam@lindenclay.test\"]",
            "sellers = [\"mara@lindenclay.test\"]",
        );
    let text = format!("{text}\n{}", smtp_section(lab, port));
    let config = Arc::new(Config::from_toml(&text, &dir.path().join("config.toml")).unwrap());
    assert_eq!(config.shop.sellers, ["mara@lindenclay.test"]);
    let db = Db::open(&config.storage.database).unwrap();
    let catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("mailbox-fixtures/catalog.csv");
    db.call(move |c| {
        let tx = c.transaction()?;
        mailcart::store::import_catalog_csv(
            &tx,
            std::fs::File::open(catalog).unwrap(),
            OffsetDateTime::now_utc(),
        )?;
        tx.commit()?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })
    .await
    .unwrap()
    .unwrap();
    Shop {
        _dir: dir,
        db,
        config,
    }
}

fn sink(shop: &Shop) -> SmtpSink {
    SmtpSink::new(
        shop.config.smtp.as_ref().unwrap(),
        &shop.config.shop.address,
    )
    .unwrap()
}

/// A message ID no earlier run has used, so that each run finds its own mail in the lab.
fn fresh_id(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{tag}.{nanos}@example.test")
}

fn order_email(from: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: Linden Clay Studio <orders@lindenclay.test>\r\nSubject: Order\r\nMessage-ID: <{}>\r\nDate: {}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}",
        fresh_id("order"),
        OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap(),
        body.replace('\n', "\r\n")
    )
    .into_bytes()
}

const WITH_ADDRESS: &str = "Hi!\n2 x Blue Mug\n\nShip to:\nPat Okafor\n41 Linden Avenue\nPortland, OR 97205\nUSA\n\nThanks,\nPat\n";
const WITHOUT_ADDRESS: &str = "Hello,\n1 x Cast Iron Teapot please.\n\nPat\n";

async fn receive(shop: &Shop, messages: Vec<Vec<u8>>) -> Vec<Outcome> {
    let config = Arc::clone(&shop.config);
    shop.db
        .call(move |c| {
            process_batch(
                c,
                &config,
                &messages,
                OffsetDateTime::now_utc(),
                &mut RandomReferences,
            )
        })
        .await
        .unwrap()
        .unwrap()
}

#[derive(Debug, Clone)]
struct Row {
    message_id: String,
    order_ref: Option<String>,
    to_addrs: String,
    template: String,
    status: String,
    attempts: i64,
    next_attempt_at: Option<String>,
    last_error: Option<String>,
    raw: Vec<u8>,
}

async fn rows(db: &Db) -> Vec<Row> {
    db.call(|c| {
        let mut stmt = c
            .prepare(
                "SELECT message_id, order_ref, to_addrs, template, status, attempts, next_attempt_at, last_error,
                 raw FROM outbox ORDER BY id",
            )
            .unwrap();
        stmt.query_map([], |r| {
            Ok(Row {
                message_id: r.get(0)?,
                order_ref: r.get(1)?,
                to_addrs: r.get(2)?,
                template: r.get(3)?,
                status: r.get(4)?,
                attempts: r.get(5)?,
                next_attempt_at: r.get(6)?,
                last_error: r.get(7)?,
                raw: r.get(8)?,
            })
        })
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap()
    })
    .await
    .unwrap()
}

async fn set_status(db: &Db, message_id: &str, status: &'static str) {
    let id = message_id.to_string();
    db.call(move |c| {
        c.execute(
            "UPDATE outbox SET status = ?2 WHERE message_id = ?1",
            (id, status),
        )
    })
    .await
    .unwrap()
    .unwrap();
}

/// The raw messages in `user`'s INBOX with this Message-ID, waiting (up to 30 s) until there
/// are at least `want` of them: Postfix hands mail to Dovecot in its own time.
async fn inbox(lab: &Lab, user: &str, message_id: &str, want: usize) -> Vec<Vec<u8>> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let found = imap_search(lab, user, message_id).await;
        if found.len() >= want || std::time::Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn imap_search(lab: &Lab, user: &str, message_id: &str) -> Vec<Vec<u8>> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", lab.imap_port))
        .await
        .unwrap();
    let mut client = async_imap::Client::new(tcp);
    client
        .read_response()
        .await
        .unwrap()
        .expect("IMAP greeting");
    let mut session = client
        .login(user, &lab.password)
        .await
        .map_err(|(e, _)| e)
        .unwrap();
    session.select("INBOX").await.unwrap();
    let seqs = session
        .search(format!("HEADER Message-ID \"<{message_id}>\""))
        .await
        .unwrap();
    let mut bodies = Vec::new();
    if !seqs.is_empty() {
        let set: Vec<String> = seqs.iter().map(u32::to_string).collect();
        let mut fetches = session.fetch(set.join(","), "BODY.PEEK[]").await.unwrap();
        while let Some(f) = fetches.next().await {
            if let Some(body) = f.unwrap().body() {
                bodies.push(body.to_vec());
            }
        }
    }
    let _ = session.logout().await;
    bodies
}

fn header(raw: &[u8], name: &str) -> Option<String> {
    let msg = mail_parser::MessageParser::default().parse(raw)?;
    msg.header_raw(name).map(|v| v.trim().to_string())
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn queued_mail_reaches_the_customer() {
    let lab = lab();
    let shop = shop(&lab, lab.smtp_port).await;
    let out = receive(
        &shop,
        vec![
            order_email("Pat Okafor <pat@example.test>", WITH_ADDRESS),
            order_email("Pat Okafor <pat@example.test>", WITHOUT_ADDRESS),
        ],
    )
    .await;
    assert_eq!(out.len(), 2);
    let queued = rows(&shop.db).await;
    let templates: Vec<&str> = queued.iter().map(|r| r.template.as_str()).collect();
    assert_eq!(templates, ["quote", "ask_details"], "{queued:?}");
    assert!(queued.iter().all(|r| r.status == "pending"));

    let sent = dispatch::drain(&shop.db, &shop.config, &sink(&shop))
        .await
        .unwrap();
    assert_eq!(sent, 2);
    let after = rows(&shop.db).await;
    for r in &after {
        assert_eq!((r.status.as_str(), r.attempts), ("sent", 1), "{r:?}");
    }

    let quote = &after[0];
    let got = inbox(&lab, "pat@example.test", &quote.message_id, 1).await;
    assert_eq!(
        got.len(),
        1,
        "the quote {} is in Pat's INBOX",
        quote.message_id
    );
    assert!(
        got[0].ends_with(&quote.raw),
        "sent as stored, byte for byte"
    );
    let text = String::from_utf8_lossy(&got[0]);
    let reference = quote.order_ref.as_deref().unwrap();
    assert!(text.contains(reference), "{text}");
    assert_eq!(
        header(&got[0], "Message-ID").as_deref(),
        Some(format!("<{}>", quote.message_id).as_str())
    );
    let ask = inbox(&lab, "pat@example.test", &after[1].message_id, 1).await;
    assert_eq!(ask.len(), 1);

    // Contact with the server is on record for `mailcart status`.
    let contacts = shop
        .db
        .call(|c| mailcart::store::server_contacts(c))
        .await
        .unwrap()
        .unwrap();
    let smtp = contacts.iter().find(|c| c.server == "smtp").unwrap();
    assert!(smtp.last_ok_at.is_some(), "{smtp:?}");
}

#[tokio::test]
async fn a_refused_recipient_fails_for_good_and_the_sellers_are_told() {
    let lab = lab();
    let shop = shop(&lab, lab.smtp_port).await;
    // A mailbox the shop's own domain does not have: the lab refuses it at RCPT.
    receive(
        &shop,
        vec![order_email("Nobody <nobody@lindenclay.test>", WITH_ADDRESS)],
    )
    .await;
    let quote = rows(&shop.db).await.remove(0);
    assert_eq!(quote.to_addrs, "nobody@lindenclay.test");

    dispatch::drain(&shop.db, &shop.config, &sink(&shop))
        .await
        .unwrap();
    let after = rows(&shop.db).await;
    let failed = after
        .iter()
        .find(|r| r.message_id == quote.message_id)
        .unwrap();
    assert_eq!(failed.status, "failed", "{failed:?}");
    let error = failed.last_error.as_deref().unwrap_or("");
    assert!(error.contains("(5"), "a 5xx answer: {error}");
    let notice = after
        .iter()
        .find(|r| r.template == "delivery_failed")
        .expect("a notice to the sellers is queued");
    assert_eq!(notice.to_addrs, "mara@lindenclay.test");
    assert_eq!(notice.order_ref, quote.order_ref);
    // The drain went on to send the notice too.
    assert_eq!(notice.status, "sent", "{notice:?}");
    // The notice's Message-ID is made from the row number, so earlier runs of this test (each
    // with a fresh database) left notices with the same ID: find this run's by its order.
    let reference = quote.order_ref.as_deref().unwrap();
    let got = inbox(&lab, "mara@lindenclay.test", &notice.message_id, 1).await;
    let ours: Vec<String> = got
        .iter()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .filter(|m| m.contains(reference))
        .collect();
    assert_eq!(ours.len(), 1, "the notice about {reference} reached Mara");
    assert!(ours[0].contains("nobody@lindenclay.test"), "{}", ours[0]);
}

#[tokio::test]
async fn an_unreachable_server_means_try_again_later() {
    let lab = lab();
    let shop = shop(&lab, closed_port()).await;
    receive(
        &shop,
        vec![order_email("Pat Okafor <pat@example.test>", WITH_ADDRESS)],
    )
    .await;
    let before = OffsetDateTime::now_utc();
    let sent = dispatch::drain(&shop.db, &shop.config, &sink(&shop))
        .await
        .unwrap();
    assert_eq!(sent, 0);
    let row = rows(&shop.db).await.remove(0);
    assert_eq!(
        (row.status.as_str(), row.attempts),
        ("pending", 1),
        "{row:?}"
    );
    let next = OffsetDateTime::parse(
        row.next_attempt_at.as_deref().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(next > before + time::Duration::seconds(8), "{row:?}");
    let error = row.last_error.as_deref().unwrap();
    assert!(error.to_lowercase().contains("refused"), "{error}");
    assert!(!error.contains(&lab.password), "{error}");

    // Not due yet: another pass leaves it alone.
    dispatch::drain(&shop.db, &shop.config, &sink(&shop))
        .await
        .unwrap();
    assert_eq!(rows(&shop.db).await[0].attempts, 1);
    let contacts = shop
        .db
        .call(|c| mailcart::store::server_contacts(c))
        .await
        .unwrap()
        .unwrap();
    let smtp = contacts.iter().find(|c| c.server == "smtp").unwrap();
    assert!(smtp.last_error.as_deref().unwrap().contains("refused"));
}

#[tokio::test]
async fn a_send_cut_off_by_a_crash_is_sent_again_with_the_same_message_id() {
    let lab = lab();
    let shop = shop(&lab, lab.smtp_port).await;
    receive(
        &shop,
        vec![order_email("Pat Okafor <pat@example.test>", WITH_ADDRESS)],
    )
    .await;
    let quote = rows(&shop.db).await.remove(0);
    // The process died after marking the row and before the server answered.
    set_status(&shop.db, &quote.message_id, "sending").await;
    let sent = dispatch::drain(&shop.db, &shop.config, &sink(&shop))
        .await
        .unwrap();
    assert_eq!(sent, 1);
    assert_eq!(rows(&shop.db).await[0].status, "sent");
    assert_eq!(
        inbox(&lab, "pat@example.test", &quote.message_id, 1)
            .await
            .len(),
        1
    );

    // This time it died after the server had taken the message: it goes out once more, as
    // the same message, which the customer's mail client can recognise as a copy.
    set_status(&shop.db, &quote.message_id, "sending").await;
    let sent = dispatch::drain(&shop.db, &shop.config, &sink(&shop))
        .await
        .unwrap();
    assert_eq!(sent, 1);
    let copies = inbox(&lab, "pat@example.test", &quote.message_id, 2).await;
    assert_eq!(copies.len(), 2);
    for copy in &copies {
        assert!(
            copy.ends_with(&quote.raw),
            "each copy is the stored message, byte for byte, below the servers' trace headers"
        );
    }
}

#[tokio::test]
async fn the_dispatcher_sends_when_woken_and_stops_on_shutdown() {
    let lab = lab();
    let shop = shop(&lab, lab.smtp_port).await;
    let wake = Arc::new(tokio::sync::Notify::new());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(dispatch::run(
        shop.db.clone(),
        Arc::clone(&shop.config),
        sink(&shop),
        Arc::clone(&wake),
        stopped,
    ));
    // Let it find the empty queue and go to sleep.
    tokio::time::sleep(Duration::from_millis(300)).await;
    receive(
        &shop,
        vec![order_email("Pat Okafor <pat@example.test>", WITH_ADDRESS)],
    )
    .await;
    wake.notify_one();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let quote = loop {
        let r = rows(&shop.db).await.remove(0);
        if r.status == "sent" || std::time::Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(quote.status, "sent", "sent well before the 30 s tick");
    assert_eq!(
        inbox(&lab, "pat@example.test", &quote.message_id, 1)
            .await
            .len(),
        1
    );
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(15), task)
        .await
        .expect("the dispatcher stops on shutdown")
        .unwrap();
}

#[tokio::test]
async fn check_reaches_the_lab_step_by_step() {
    let lab = lab();
    let shop = shop(&lab, lab.smtp_port).await;
    let steps = sink(&shop).check().await;
    let names: Vec<&str> = steps.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["dns", "connect", "tls", "login"], "{steps:?}");
    for (name, result) in &steps {
        assert!(result.is_ok(), "{name}: {result:?}");
    }
    assert!(
        steps[3]
            .1
            .as_ref()
            .unwrap()
            .contains("orders@lindenclay.test")
    );

    // Without the lab's CA the certificate is not trusted, and check says so.
    let mut smtp = shop.config.smtp.clone().unwrap();
    smtp.ca_file = None;
    let steps = SmtpSink::new(&smtp, &shop.config.shop.address)
        .unwrap()
        .check()
        .await;
    let (name, result) = steps.last().unwrap();
    assert_eq!(name, "tls");
    let why = result.clone().unwrap_err();
    assert!(why.contains("ca_file"), "{why}");

    // A wrong password is named as such, and not shown.
    let text = format!(
        "{}\n{}",
        mailcart::EXAMPLE_CONFIG,
        smtp_section(&lab, lab.smtp_port).replace(
            &format!("password = {:?}", lab.password),
            "password = \"wrong-secret\""
        )
    );
    let config = Config::from_toml(&text, Path::new("c.toml")).unwrap();
    let steps = SmtpSink::new(config.smtp.as_ref().unwrap(), &config.shop.address)
        .unwrap()
        .check()
        .await;
    let (name, result) = steps.last().unwrap();
    assert_eq!(name, "login");
    let why = result.clone().unwrap_err();
    assert!(why.contains("refused the username or password"), "{why}");
    assert!(!why.contains("wrong-secret"), "{why}");
}

#[tokio::test]
async fn implicit_tls_on_the_smtps_port_works_too() {
    let lab = lab();
    let Some(port) = lab.smtps_port else {
        panic!("the lab's env names no LAB_SMTPS_PORT");
    };
    let text = format!(
        "{}\n{}",
        mailcart::EXAMPLE_CONFIG,
        smtp_section(&lab, port).replace("tls = \"starttls\"", "tls = \"tls\"")
    );
    let config = Config::from_toml(&text, Path::new("c.toml")).unwrap();
    let sink = SmtpSink::new(config.smtp.as_ref().unwrap(), &config.shop.address).unwrap();
    let steps = sink.check().await;
    let names: Vec<&str> = steps.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["dns", "connect", "tls", "login"], "{steps:?}");
    assert!(steps.iter().all(|(_, r)| r.is_ok()), "{steps:?}");
    assert!(steps[2].1.as_ref().unwrap().contains("implicit TLS"));

    let id = fresh_id("smtps");
    // Complete headers, so that the server adds none (Postfix fills in a missing Date).
    let raw = format!(
        "From: orders@lindenclay.test\r\nTo: pat@example.test\r\nSubject: over SMTPS\r\nMessage-ID: <{id}>\r\nDate: {}\r\n\r\nhello\r\n",
        OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap()
    );
    sink.send(&["pat@example.test"], raw.as_bytes())
        .await
        .unwrap();
    let got = inbox(&lab, "pat@example.test", &id, 1).await;
    assert_eq!(got.len(), 1);
    assert!(got[0].ends_with(raw.as_bytes()));

    // Implicit TLS against the STARTTLS port: the server answers in plain text, and check says
    // what is probably wrong.
    let text = text.replace(
        &format!("port = {port}"),
        &format!("port = {}", lab.smtp_port),
    );
    let config = Config::from_toml(&text, Path::new("c.toml")).unwrap();
    let sink = SmtpSink::new(config.smtp.as_ref().unwrap(), &config.shop.address).unwrap();
    let steps = sink.check().await;
    let (name, result) = steps.last().unwrap();
    assert_eq!(name, "tls");
    let why = result.clone().unwrap_err();
    assert!(why.contains("starttls"), "{why}");
    let err = sink
        .send(&["pat@example.test"], raw.as_bytes())
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
}
