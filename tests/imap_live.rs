//! The mailbox source against a real IMAP server: the loopback mail lab (`tests/lab`), whose
//! Dovecot holds the shop's mailbox. Each test works in a folder of its own in
//! orders@lindenclay.test, filled by IMAP APPEND, and removes it at the end.
//!
//! The lab is started here when it is not running (`tests/lab/start` is idempotent).

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use mailcart::config::Config;
use mailcart::db::Db;
use mailcart::imap::{self, Part};
use time::OffsetDateTime;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

const SHOP: &str = "orders@lindenclay.test";

mod common;
use common::lab::{Lab, lab};

/// A name no other test (or earlier run) uses.
fn unique(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{tag}-{nanos}-{}", N.fetch_add(1, Ordering::Relaxed))
}

// ---------------------------------------------------------------------------------------------
// The shop under test
// ---------------------------------------------------------------------------------------------

struct Shop {
    dir: tempfile::TempDir,
    db: Db,
    config: Arc<Config>,
}

/// `[imap]` keys for the lab's plain port, watching `mailbox`; `extra` lines are appended.
fn imap_section(lab: &Lab, mailbox: &str, extra: &str) -> String {
    format!(
        "[imap]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nusername = \"{SHOP}\"\npassword = {:?}\nmailbox = {mailbox:?}\ntimeout_seconds = 10\n{extra}\n",
        lab.imap_port, lab.password
    )
}

fn config_in(dir: &Path, imap: &str) -> Arc<Config> {
    let text = mailcart::EXAMPLE_CONFIG
        .replace(
            "database = \"mailcart.db\"",
            &format!("database = {:?}", dir.join("mailcart.db").to_str().unwrap()),
        )
        .replace(
            "dir = \"outbox\"",
            &format!("dir = {:?}", dir.join("outbox").to_str().unwrap()),
        );
    let text = format!("{text}\n{imap}");
    Arc::new(Config::from_toml(&text, &dir.join("config.toml")).unwrap())
}

async fn new_shop(imap: &str) -> Shop {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path(), imap);
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
    Shop { dir, db, config }
}

struct Running {
    task: JoinHandle<()>,
    stop: watch::Sender<bool>,
    wake: Arc<Notify>,
}

fn start(shop: &Shop) -> Running {
    start_with(shop, shop.config.clone())
}

/// Run the source on the shop's database with another config.
fn start_with(shop: &Shop, config: Arc<Config>) -> Running {
    let (stop, stopped) = watch::channel(false);
    let wake = Arc::new(Notify::new());
    let task = tokio::spawn(imap::run(shop.db.clone(), config, wake.clone(), stopped));
    Running { task, stop, wake }
}

impl Running {
    /// Ask for shutdown and wait (a bounded time) for the source to log out and return.
    async fn stop(self) {
        self.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("the source stops within 20 s of shutdown")
            .expect("the source task did not panic");
    }
}

async fn sql_count(db: &Db, sql: &'static str) -> i64 {
    db.call(move |c| c.query_row(sql, [], |r| r.get::<_, i64>(0)))
        .await
        .unwrap()
        .unwrap()
}

async fn orders(db: &Db) -> Vec<(String, String)> {
    db.call(|c| mailcart::store::list_orders(c))
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|(row, _)| (row.reference, row.customer_email))
        .collect()
}

async fn checkpoint(db: &Db, mailbox: &str) -> Option<mailcart::store::Checkpoint> {
    let mailbox = mailbox.to_string();
    db.call(move |c| mailcart::store::load_checkpoint(c, &mailbox))
        .await
        .unwrap()
        .unwrap()
}

async fn imap_contact(db: &Db) -> Option<mailcart::store::ServerContact> {
    db.call(|c| mailcart::store::server_contacts(c))
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .find(|c| c.server == "imap")
}

/// Wait until `check` holds, polling; panics naming `what` after `secs`.
async fn eventually<F, Fut>(what: &str, secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if check().await {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Mail in the lab, through a plain IMAP session of our own
// ---------------------------------------------------------------------------------------------

type Admin = async_imap::Session<tokio::net::TcpStream>;

async fn admin(lab: &Lab) -> Admin {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", lab.imap_port))
        .await
        .unwrap();
    let mut client = async_imap::Client::new(tcp);
    client
        .read_response()
        .await
        .unwrap()
        .expect("IMAP greeting");
    client
        .login(SHOP, &lab.password)
        .await
        .map_err(|(e, _)| e)
        .unwrap()
}

async fn create_folder(lab: &Lab, name: &str) {
    let mut a = admin(lab).await;
    a.create(lab.folder(name)).await.unwrap();
    a.logout().await.unwrap();
}

/// `[imap]` lines naming the processed and needs-human folders after the test's folder (which
/// `delete_shop_folders` removes), then `extra`.
fn with_folders(folder: &str, extra: &str) -> String {
    format!(
        "processed_folder = \"{folder}-done\"\nneeds_human_folder = \"{folder}-human\"\n{extra}"
    )
}

/// The test's folder and the processed and needs-human folders its config names after it.
async fn delete_shop_folders(lab: &Lab, folder: &str) {
    delete_folders(
        lab,
        &[
            folder,
            &format!("{folder}-done"),
            &format!("{folder}-human"),
        ],
    )
    .await;
}

async fn delete_folders(lab: &Lab, names: &[&str]) {
    let mut a = admin(lab).await;
    for n in names {
        let _ = a.delete(lab.folder(n)).await;
    }
    let _ = a.logout().await;
}

async fn append(lab: &Lab, folder: &str, messages: &[Vec<u8>]) {
    let mut a = admin(lab).await;
    for m in messages {
        a.append(lab.folder(folder), None, None, m).await.unwrap();
    }
    a.logout().await.unwrap();
}

/// (Message-ID, flags, raw message) of every message in `folder`, in UID order.
async fn contents(lab: &Lab, folder: &str) -> Vec<(String, Vec<String>, Vec<u8>)> {
    let mut a = admin(lab).await;
    let mb = a.examine(lab.folder(folder)).await.unwrap();
    let mut out = Vec::new();
    if mb.exists > 0 {
        let mut fetches = a.fetch("1:*", "(UID FLAGS BODY.PEEK[])").await.unwrap();
        let mut found = Vec::new();
        while let Some(f) = fetches.next().await {
            let f = f.unwrap();
            let flags = f.flags().map(|fl| format!("{fl:?}")).collect::<Vec<_>>();
            let raw = f.body().unwrap_or_default().to_vec();
            found.push((f.uid.unwrap_or(0), message_id(&raw), flags, raw));
        }
        drop(fetches);
        found.sort_by_key(|(uid, ..)| *uid);
        out = found
            .into_iter()
            .map(|(_, id, fl, raw)| (id, fl, raw))
            .collect();
    }
    a.logout().await.unwrap();
    out
}

async fn ids_in(lab: &Lab, folder: &str) -> Vec<String> {
    contents(lab, folder)
        .await
        .into_iter()
        .map(|(id, ..)| id)
        .collect()
}

fn message_id(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    text.lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("message-id")
                .then(|| value.trim().trim_matches(['<', '>']).to_string())
        })
        .unwrap_or_default()
}

fn email(from: &str, id: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: Linden Clay Studio <{SHOP}>\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nDate: {}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}",
        OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap(),
        body.replace('\n', "\r\n")
    )
    .into_bytes()
}

const CUSTOMERS: [(&str, &str); 3] = [
    (
        "Pat Okafor <pat@example.test>",
        "Pat Okafor\n41 Linden Avenue\nPortland, OR 97205\nUSA",
    ),
    (
        "Lee Park <lee@example.org>",
        "Lee Park\n9 Harbor Road\nSeattle, WA 98101\nUSA",
    ),
    (
        "Kim Ruiz <kim@example.net>",
        "Kim Ruiz\n12 Elm Street\nAustin, TX 73301\nUSA",
    ),
];

/// An order for two blue mugs with a shipping address: a quote goes out.
fn order(i: usize) -> (String, Vec<u8>) {
    let (from, address) = CUSTOMERS[i % CUSTOMERS.len()];
    let id = format!("{}@example.test", unique("order"));
    let body = format!("Hi!\n2 x Blue Mug\n\nShip to:\n{address}\n\nThanks\n");
    let raw = email(from, &id, "Order", &body);
    (id, raw)
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn orders_are_taken_moved_and_never_taken_twice() {
    let lab = lab();
    let folder = unique("test-orders");
    create_folder(&lab, &folder).await;
    let mail: Vec<(String, Vec<u8>)> = (0..3).map(order).collect();
    append(
        &lab,
        &folder,
        &mail.iter().map(|(_, raw)| raw.clone()).collect::<Vec<_>>(),
    )
    .await;

    // Default folders: mailcart/processed and mailcart/needs-human.
    let shop = new_shop(&imap_section(&lab, &folder, "batch_size = 2")).await;
    let running = start(&shop);
    eventually("three orders", 30, || async {
        orders(&shop.db).await.len() == 3
    })
    .await;
    // The move follows the commit; wait for the folder to empty before stopping.
    eventually("the folder is emptied", 15, || async {
        ids_in(&lab, &folder).await.is_empty()
    })
    .await;
    running.stop().await;

    let taken = orders(&shop.db).await;
    let mut customers: Vec<&str> = taken.iter().map(|(_, c)| c.as_str()).collect();
    customers.sort_unstable();
    assert_eq!(
        customers,
        ["kim@example.net", "lee@example.org", "pat@example.test"]
    );
    assert_eq!(
        sql_count(
            &shop.db,
            "SELECT COUNT(*) FROM outbox WHERE template = 'quote' AND status = 'pending'"
        )
        .await,
        3,
        "a quote is queued for each order"
    );
    let processed = ids_in(&lab, "mailcart/processed").await;
    for (id, _) in &mail {
        assert!(processed.contains(id), "{id} is in mailcart/processed");
    }
    let cp = checkpoint(&shop.db, &folder).await.expect("a checkpoint");
    let mut a = admin(&lab).await;
    let state = a.examine(lab.folder(&folder)).await.unwrap();
    a.logout().await.unwrap();
    assert_eq!(cp.uidvalidity, state.uid_validity.unwrap());
    assert_eq!(cp.last_uid, 3);
    assert!(imap_contact(&shop.db).await.unwrap().last_ok_at.is_some());

    // Again, with a fourth message: only that one is taken.
    let (fourth, raw) = order(0);
    append(&lab, &folder, &[raw]).await;
    let running = start(&shop);
    eventually("the fourth order", 30, || async {
        orders(&shop.db).await.len() == 4
    })
    .await;
    eventually("the folder is emptied", 15, || async {
        ids_in(&lab, &folder).await.is_empty()
    })
    .await;
    running.stop().await;
    assert_eq!(
        sql_count(&shop.db, "SELECT COUNT(*) FROM messages").await,
        4
    );
    assert_eq!(sql_count(&shop.db, "SELECT COUNT(*) FROM outbox").await, 4);
    assert!(ids_in(&lab, "mailcart/processed").await.contains(&fourth));
    assert_eq!(checkpoint(&shop.db, &folder).await.unwrap().last_uid, 4);

    // Tidy the shared folder of this test's messages.
    let mut a = admin(&lab).await;
    a.select(lab.folder("mailcart/processed")).await.unwrap();
    for (id, _) in mail.iter().chain([&(fourth, Vec::new())]) {
        let found = a
            .search(format!("HEADER Message-ID \"<{id}>\""))
            .await
            .unwrap();
        for seq in found {
            a.store(seq.to_string(), "+FLAGS.SILENT (\\Deleted)")
                .await
                .unwrap()
                .for_each(|_| async {})
                .await;
        }
    }
    a.expunge().await.unwrap().for_each(|_| async {}).await;
    a.logout().await.unwrap();
    delete_folders(&lab, &[&folder]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_after_seen_messages_stay_and_are_not_reread() {
    let lab = lab();
    let folder = unique("test-seen");
    create_folder(&lab, &folder).await;
    let (first, raw1) = order(0);
    let (second, raw2) = order(1);
    append(&lab, &folder, &[raw1, raw2]).await;
    let shop = new_shop(&imap_section(&lab, &folder, "after = \"seen\"")).await;

    let running = start(&shop);
    eventually("two orders", 30, || async {
        orders(&shop.db).await.len() == 2
    })
    .await;
    eventually("both flagged \\Seen", 15, || async {
        let c = contents(&lab, &folder).await;
        c.len() == 2
            && c.iter()
                .all(|(_, flags, _)| flags.iter().any(|f| f == "Seen"))
    })
    .await;
    running.stop().await;
    let ids = ids_in(&lab, &folder).await;
    assert_eq!(ids, [first.clone(), second.clone()]);

    // A second run sees the two again in the folder but takes only the new third one.
    let (third, raw3) = order(2);
    append(&lab, &folder, &[raw3]).await;
    let running = start(&shop);
    eventually("the third order", 30, || async {
        orders(&shop.db).await.len() == 3
    })
    .await;
    running.stop().await;
    assert_eq!(
        sql_count(&shop.db, "SELECT COUNT(*) FROM messages").await,
        3
    );
    assert_eq!(sql_count(&shop.db, "SELECT COUNT(*) FROM outbox").await, 3);
    assert_eq!(ids_in(&lab, &folder).await, [first, second, third]);
    delete_folders(&lab, &[&folder]).await;
}

/// Without IDLE and with a 10-minute poll, only following (`follow_ms`) can take mail that
/// arrives just after a batch: the second order is taken at once, and once the window has
/// closed a third waits for the poll.
#[tokio::test(flavor = "multi_thread")]
async fn a_stream_is_followed_after_a_batch_and_then_left_to_the_poll() {
    let lab = lab();
    let folder = unique("test-follow");
    create_folder(&lab, &folder).await;
    let extra = with_folders(
        &folder,
        "poll_seconds = 600\nidle = false\nfollow_ms = 3000",
    );
    let shop = new_shop(&imap_section(&lab, &folder, &extra)).await;
    append(&lab, &folder, &[order(0).1]).await;
    let running = start(&shop);
    eventually("the order there at the start", 30, || async {
        orders(&shop.db).await.len() == 1
    })
    .await;

    append(&lab, &folder, &[order(1).1]).await;
    let appended = Instant::now();
    eventually("the order that came while following", 10, || async {
        orders(&shop.db).await.len() == 2
    })
    .await;
    eprintln!(
        "followed: taken {:?} after it was appended",
        appended.elapsed()
    );

    // 3 s after the last message taken the source stops looking and polls every 10 minutes.
    tokio::time::sleep(Duration::from_secs(5)).await;
    append(&lab, &folder, &[order(2).1]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        orders(&shop.db).await.len(),
        2,
        "an order arriving after the follow window must wait for the poll (idle = false, poll 600 s)"
    );
    running.stop().await;
    delete_shop_folders(&lab, &folder).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mail_arriving_during_idle_is_taken_within_seconds() {
    let lab = lab();
    let folder = unique("test-idle");
    create_folder(&lab, &folder).await;
    let extra = with_folders(&folder, "poll_seconds = 600");
    let shop = new_shop(&imap_section(&lab, &folder, &extra)).await;
    let running = start(&shop);
    // Connected and caught up (the empty folder) once contact is on record and the folders exist.
    eventually("the source is up", 30, || async {
        imap_contact(&shop.db)
            .await
            .is_some_and(|c| c.last_ok_at.is_some())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let woken = running.wake.clone();
    let notified = tokio::spawn(async move { woken.notified().await });
    let (id, raw) = order(0);
    let sent = Instant::now();
    append(&lab, &folder, &[raw]).await;
    eventually("the order from mail sent during IDLE", 10, || async {
        orders(&shop.db).await.len() == 1
    })
    .await;
    let took = sent.elapsed();
    eprintln!("taken {took:?} after it arrived");
    assert!(
        took < Duration::from_secs(5),
        "took {took:?} (poll_seconds is 600: IDLE must have woken the source)"
    );
    tokio::time::timeout(Duration::from_secs(10), notified)
        .await
        .expect("the outbox was woken")
        .unwrap();
    eventually("moved to the processed folder", 10, || async {
        ids_in(&lab, &format!("{folder}-done")).await == [id.clone()]
    })
    .await;
    running.stop().await;
    delete_shop_folders(&lab, &folder).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reports_each_step_and_tls_needs_the_lab_ca() {
    let lab = lab();
    let with_ca = format!(
        "[imap]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"tls\"\nca_file = {:?}\nusername = \"{SHOP}\"\npassword = {:?}\ntimeout_seconds = 10\n",
        lab.imaps_port,
        lab.ca_file.to_str().unwrap(),
        lab.password
    );
    let shop_tls = new_shop(&with_ca).await;
    let cfg = shop_tls.config.imap.clone().unwrap();
    let steps = imap::check(&cfg).await;
    for (name, result) in &steps {
        eprintln!("{name:>9}: {result:?}");
    }
    let names: Vec<&str> = steps.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "dns", "tcp", "tls", "greeting", "login", "layout", "mailbox", "idle", "move",
            "folders"
        ],
        "{steps:#?}"
    );
    assert!(steps.iter().all(|(_, r)| r.is_ok()), "{steps:#?}");
    let tls = steps[2].1.as_ref().unwrap();
    assert!(tls.contains("TLS 1."), "{tls}");
    let mailbox = steps[6].1.as_ref().unwrap();
    assert!(mailbox.contains("\"INBOX\" exists"), "{mailbox}");

    // The source runs over IMAPS too.
    let folder = unique("test-imaps");
    create_folder(&lab, &folder).await;
    let (id, raw) = order(1);
    append(&lab, &folder, &[raw]).await;
    let text = with_ca.replace(
        "timeout_seconds = 10\n",
        &format!(
            "timeout_seconds = 10\nmailbox = {folder:?}\n{}",
            with_folders(&folder, "")
        ),
    );
    let shop_run = new_shop(&text).await;
    let running = start(&shop_run);
    eventually("the order over IMAPS", 30, || async {
        orders(&shop_run.db).await.len() == 1
    })
    .await;
    eventually("moved over IMAPS", 10, || async {
        ids_in(&lab, &format!("{folder}-done")).await == [id.clone()]
    })
    .await;
    running.stop().await;
    delete_shop_folders(&lab, &folder).await;

    // Without the lab's CA the certificate is not trusted, and check says what to do.
    let mut no_ca = cfg.clone();
    no_ca.ca_file = None;
    let steps = imap::check(&no_ca).await;
    eprintln!("without the CA: {:?}", steps.last().unwrap());
    let (name, result) = steps.last().unwrap();
    assert_eq!(name, "tls", "{steps:#?}");
    let error = result.as_ref().unwrap_err();
    assert!(
        error.contains("not signed by a CA we trust") && error.contains("ca_file"),
        "{error}"
    );
    let err = match imap::connect(&no_ca).await {
        Ok(_) => panic!("connected without trusting the lab CA"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("TLS"), "{err}");

    // STARTTLS on the plain port, with the CA.
    let mut starttls = cfg.clone();
    starttls.port = lab.imap_port;
    starttls.tls = mailcart::config::TlsMode::Starttls;
    let steps = imap::check(&starttls).await;
    assert!(steps.iter().all(|(_, r)| r.is_ok()), "{steps:#?}");
    assert!(
        steps[3].1.as_ref().unwrap().contains("STARTTLS"),
        "{steps:#?}"
    );

    // Implicit TLS against the plain port: the hint names the likely fix.
    let mut wrong_port = cfg.clone();
    wrong_port.port = lab.imap_port;
    let steps = imap::check(&wrong_port).await;
    let error = steps.last().unwrap().1.as_ref().unwrap_err();
    assert!(error.contains("starttls"), "{error}");

    // A wrong password and a missing mailbox are named as such.
    let bad_login = new_shop(&with_ca.replace(
        &format!("password = {:?}", lab.password),
        "password = \"wrong-password\"",
    ))
    .await;
    let steps = imap::check(bad_login.config.imap.as_ref().unwrap()).await;
    let (name, result) = steps.last().unwrap();
    assert_eq!(name, "login");
    let error = result.as_ref().unwrap_err();
    assert!(
        error.contains(SHOP) && !error.contains("wrong-password"),
        "{error}"
    );
    let mut missing = cfg.clone();
    missing.mailbox = unique("no-such-folder");
    let steps = imap::check(&missing).await;
    let (name, result) = steps.last().unwrap();
    assert_eq!(name, "mailbox");
    assert!(
        result.as_ref().unwrap_err().contains("cannot open"),
        "{steps:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_uidvalidity_rescans_without_doubling_orders() {
    let lab = lab();
    let folder = unique("test-uidvalidity");
    create_folder(&lab, &folder).await;
    let first: Vec<(String, Vec<u8>)> = (0..2).map(order).collect();
    append(
        &lab,
        &folder,
        &first.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
    )
    .await;
    let shop = new_shop(&imap_section(&lab, &folder, "after = \"seen\"")).await;
    let running = start(&shop);
    eventually("two orders", 30, || async {
        orders(&shop.db).await.len() == 2
    })
    .await;
    running.stop().await;
    let before = checkpoint(&shop.db, &folder).await.unwrap();

    // Recreate the folder with the same messages (plus one new): the UIDs start again.
    let kept = contents(&lab, &folder).await;
    delete_folders(&lab, &[&folder]).await;
    // Dovecot derives UIDVALIDITY from the clock: make sure it moves on.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    create_folder(&lab, &folder).await;
    let (new_id, new_raw) = order(2);
    let mut again: Vec<Vec<u8>> = kept.into_iter().map(|(_, _, raw)| raw).collect();
    again.push(new_raw);
    append(&lab, &folder, &again).await;

    let running = start(&shop);
    eventually("the new order", 30, || async {
        orders(&shop.db).await.len() == 3
    })
    .await;
    eventually("all three flagged \\Seen", 15, || async {
        let c = contents(&lab, &folder).await;
        c.len() == 3
            && c.iter()
                .all(|(_, flags, _)| flags.iter().any(|f| f == "Seen"))
    })
    .await;
    running.stop().await;
    assert_eq!(orders(&shop.db).await.len(), 3, "no order twice");
    // Three quotes, and one alert to the sellers about the reset.
    assert_eq!(
        sql_count(
            &shop.db,
            "SELECT COUNT(*) FROM outbox WHERE template = 'quote'"
        )
        .await,
        3
    );
    assert_eq!(
        sql_count(
            &shop.db,
            "SELECT COUNT(*) FROM outbox WHERE template = 'alert'"
        )
        .await,
        2,
        "one alert to each seller, once"
    );
    let after = checkpoint(&shop.db, &folder).await.unwrap();
    assert_ne!(after.uidvalidity, before.uidvalidity);
    assert_eq!(after.last_uid, 3);
    let contact = imap_contact(&shop.db).await.unwrap();
    let error = contact.last_error.unwrap_or_default();
    assert!(error.contains("UIDVALIDITY"), "{error}");
    assert!(ids_in(&lab, &folder).await.contains(&new_id));
    delete_folders(&lab, &[&folder]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn what_mailcart_cannot_handle_goes_to_needs_human() {
    let lab = lab();
    let folder = unique("test-human");
    create_folder(&lab, &folder).await;
    let garbage_id = format!("{}@example.test", unique("garbage"));
    let garbage = format!(
        "From: Someone <someone@example.test>\r\nTo: {SHOP}\r\nSubject: ???\r\nMessage-ID: <{garbage_id}>\r\n\r\n\u{1}\u{2}\u{3} %%%% lorem ipsum dolor sit amet zxqv 0xdeadbeef\r\n"
    )
    .into_bytes();
    let question_id = format!("{}@example.net", unique("question"));
    let question = email(
        "Liam O'Connor <liam.oconnor@example.net>",
        &question_id,
        "Shipping to Australia?",
        "Hi there,\n\nDo you ship to Australia? My sister lives in Melbourne and I'd like to surprise her for Christmas.\n\nCheers,\nLiam\n",
    );
    let big_id = format!("{}@example.test", unique("big"));
    let big = email(
        "Pat Okafor <pat@example.test>",
        &big_id,
        "Order with a photo",
        &format!("2 x Blue Mug\n\n{}\n", "x".repeat(120).repeat(100)),
    );
    let (order_id, order_raw) = order(0);
    append(&lab, &folder, &[garbage, question, big, order_raw]).await;

    let extra = with_folders(&folder, "max_message_bytes = 8000");
    let shop = new_shop(&imap_section(&lab, &folder, &extra)).await;
    let running = start(&shop);
    eventually("the folder is emptied", 30, || async {
        ids_in(&lab, &folder).await.is_empty()
    })
    .await;
    running.stop().await;

    let mut human = ids_in(&lab, &format!("{folder}-human")).await;
    human.sort();
    let mut want = vec![garbage_id, question_id, big_id.clone()];
    want.sort();
    assert_eq!(human, want);
    assert_eq!(ids_in(&lab, &format!("{folder}-done")).await, [order_id]);
    // The person-bound messages are left unread.
    for (_, flags, _) in contents(&lab, &format!("{folder}-human")).await {
        assert!(!flags.iter().any(|f| f == "Seen"), "{flags:?}");
    }
    let held = shop
        .db
        .call(|c| mailcart::store::held_messages(c))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.len(), 3, "{held:#?}");
    let big_reason = held
        .iter()
        .find(|h| h.subject.as_deref() == Some("Order with a photo"))
        .map(|h| h.reason.clone())
        .unwrap();
    assert!(big_reason.contains("8000-byte limit"), "{big_reason}");
    assert_eq!(orders(&shop.db).await.len(), 1);
    delete_shop_folders(&lab, &folder).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn moving_works_without_move_and_without_uidplus() {
    let lab = lab();
    let folder = unique("test-nomove");
    let target = format!("{folder}-done");
    create_folder(&lab, &folder).await;
    create_folder(&lab, &target).await;
    let mail: Vec<(String, Vec<u8>)> = (0..4).map(order).collect();
    append(
        &lab,
        &folder,
        &mail.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
    )
    .await;
    let shop = new_shop(&imap_section(&lab, &folder, "")).await;
    let cfg = shop.config.imap.clone().unwrap();

    let mut s = imap::connect(&cfg).await.unwrap();
    // Every lab server has IDLE and UIDPLUS; Courier (Debian's settings) has no MOVE.
    assert!(s.has("IDLE") && s.has("UIDPLUS"));
    assert_eq!(
        s.has("MOVE"),
        lab.server != "courier",
        "MOVE on {}",
        lab.server
    );
    s.forget_capability("MOVE");
    s.select(&lab.folder(&folder)).await.unwrap();
    let listed = s.list_after(0).await.unwrap();
    assert_eq!(
        listed.iter().map(|(u, _)| *u).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert!(listed.iter().all(|(_, size)| *size > 100));
    assert!(
        s.list_after(4).await.unwrap().is_empty(),
        "n:* past the end names nothing new"
    );
    let heads = s.fetch(&[1], Part::Header).await.unwrap();
    assert!(String::from_utf8_lossy(&heads[&1]).contains("Message-ID"));
    // COPY + \Deleted + UID EXPUNGE
    s.move_to(&[1, 2], &lab.folder(&target)).await.unwrap();
    s.forget_capability("UIDPLUS");
    // COPY + \Deleted + EXPUNGE
    s.move_to(&[3], &lab.folder(&target)).await.unwrap();
    s.logout().await;

    let left = ids_in(&lab, &folder).await;
    assert_eq!(left, [mail[3].0.clone()]);
    let moved = ids_in(&lab, &target).await;
    assert_eq!(
        moved,
        [mail[0].0.clone(), mail[1].0.clone(), mail[2].0.clone()]
    );
    // Fetching never set \Seen.
    for (_, flags, _) in contents(&lab, &folder).await {
        assert!(!flags.iter().any(|f| f == "Seen"), "{flags:?}");
    }
    delete_folders(&lab, &[&folder, &target]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_server_is_retried_and_shutdown_is_prompt() {
    let lab = lab();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let section = imap_section(&lab, "INBOX", "").replace(
        &format!("port = {}", lab.imap_port),
        &format!("port = {closed}"),
    );
    let shop = new_shop(&section).await;
    let running = start(&shop);
    eventually("the failure is on record", 10, || async {
        imap_contact(&shop.db)
            .await
            .is_some_and(|c| c.last_error.is_some())
    })
    .await;
    let error = imap_contact(&shop.db).await.unwrap().last_error.unwrap();
    assert!(error.contains("cannot connect"), "{error}");
    let asked = Instant::now();
    running.stop().await;
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "shutdown during backoff is prompt"
    );

    // Likewise a wrong password: retried, recorded, never shown.
    let section = imap_section(&lab, "INBOX", "").replace(
        &format!("password = {:?}", lab.password),
        "password = \"not-it\"",
    );
    let refused = new_shop(&section).await;
    let running = start(&refused);
    eventually("the refused login is on record", 15, || async {
        imap_contact(&refused.db)
            .await
            .is_some_and(|c| c.last_error.is_some())
    })
    .await;
    running.stop().await;
    let error = imap_contact(&refused.db).await.unwrap().last_error.unwrap();
    assert!(
        error.contains("refused the login") && !error.contains("not-it"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_committed_but_not_moved_are_moved_on_the_next_start() {
    let lab = lab();
    let folder = unique("test-tidy");
    create_folder(&lab, &folder).await;
    let (order_id, order_raw) = order(1);
    let question_id = format!("{}@example.net", unique("question"));
    let question = email(
        "Liam O'Connor <liam.oconnor@example.net>",
        &question_id,
        "Shipping to Australia?",
        "Hi there,\n\nDo you ship to Australia?\n\nCheers,\nLiam\n",
    );
    append(&lab, &folder, &[order_raw, question]).await;

    // Taken with after = "seen": both stay in the folder (the question unread but flagged), as
    // if the move after the commit had never happened.
    let shop = new_shop(&imap_section(&lab, &folder, "after = \"seen\"")).await;
    let running = start(&shop);
    eventually("both taken and marked", 30, || async {
        let c = contents(&lab, &folder).await;
        c.len() == 2
            && c[0].1.iter().any(|f| f == "Seen")
            && c[1].1.iter().any(|f| f == "Flagged")
            && !c[1].1.iter().any(|f| f == "Seen")
    })
    .await;
    running.stop().await;

    // Now with after = "move": the next start moves them where their outcome says.
    let extra = with_folders(&folder, "");
    let moving = config_in(shop.dir.path(), &imap_section(&lab, &folder, &extra));
    let running = start_with(&shop, moving);
    eventually("the folder is emptied", 30, || async {
        ids_in(&lab, &folder).await.is_empty()
    })
    .await;
    running.stop().await;
    assert_eq!(ids_in(&lab, &format!("{folder}-done")).await, [order_id]);
    assert_eq!(
        ids_in(&lab, &format!("{folder}-human")).await,
        [question_id]
    );
    assert_eq!(
        sql_count(&shop.db, "SELECT COUNT(*) FROM messages").await,
        2
    );
    assert_eq!(orders(&shop.db).await.len(), 1);
    delete_shop_folders(&lab, &folder).await;
}

/// A TCP relay to the lab whose connections can be cut, as a network failure would.
struct Relay {
    port: u16,
    links: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
    accept: JoinHandle<()>,
}

impl Relay {
    async fn to(target: u16) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let links = Arc::new(Mutex::new(Vec::new()));
        let held = links.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let link = tokio::spawn(async move {
                    if let Ok(mut outbound) =
                        tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                held.lock().unwrap().push(link.abort_handle());
            }
        });
        Relay {
            port,
            links,
            accept,
        }
    }

    /// Close every connection through the relay; returns how many there were.
    fn cut(&self) -> usize {
        let links = std::mem::take(&mut *self.links.lock().unwrap());
        for l in &links {
            l.abort();
        }
        links.len()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_connection_is_reopened_and_reading_resumes() {
    let lab = lab();
    let folder = unique("test-reconnect");
    create_folder(&lab, &folder).await;
    let (first, raw) = order(0);
    append(&lab, &folder, &[raw]).await;
    let relay = Relay::to(lab.imap_port).await;
    // follow_ms = 0: straight to IDLE after the first order, where the cut is to come.
    let extra = with_folders(&folder, "poll_seconds = 600\nfollow_ms = 0");
    let section = imap_section(&lab, &folder, &extra).replace(
        &format!("port = {}", lab.imap_port),
        &format!("port = {}", relay.port),
    );
    let shop = new_shop(&section).await;
    let running = start(&shop);
    eventually("the first order", 30, || async {
        orders(&shop.db).await.len() == 1
    })
    .await;
    eventually("the first is moved", 10, || async {
        ids_in(&lab, &format!("{folder}-done")).await == [first.clone()]
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The network drops the connection while the source idles; then mail arrives.
    assert_eq!(relay.cut(), 1, "one connection open: the source's");
    let (second, raw) = order(1);
    append(&lab, &folder, &[raw]).await;
    eventually("the second order after reconnecting", 20, || async {
        orders(&shop.db).await.len() == 2
    })
    .await;
    eventually("the second is moved", 10, || async {
        ids_in(&lab, &format!("{folder}-done")).await.len() == 2
    })
    .await;
    running.stop().await;
    assert!(
        ids_in(&lab, &format!("{folder}-done"))
            .await
            .contains(&second)
    );
    let contact = imap_contact(&shop.db).await.unwrap();
    let error = contact.last_error.unwrap_or_default();
    assert!(error.contains("closed the connection"), "{error}");
    assert_eq!(
        sql_count(&shop.db, "SELECT COUNT(*) FROM messages").await,
        2
    );
    assert_eq!(checkpoint(&shop.db, &folder).await.unwrap().last_uid, 2);
    delete_shop_folders(&lab, &folder).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sent_copies_are_appended_to_the_sent_folder() {
    let lab = lab();
    let sent = unique("test-sent");
    create_folder(&lab, &sent).await;
    let shop = new_shop(&imap_section(
        &lab,
        "INBOX",
        &format!("after = \"seen\"\nsent_folder = {sent:?}"),
    ))
    .await;
    let cfg = shop.config.imap.clone().unwrap();
    let (id, raw) = order(2);
    assert_eq!(imap::append_sent(&cfg, &[raw]).await.unwrap(), 1);
    let c = contents(&lab, &sent).await;
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].0, id);
    assert!(c[0].1.iter().any(|f| f == "Seen"), "{:?}", c[0].1);
    let steps = imap::check(&cfg).await;
    let (name, result) = steps.last().unwrap();
    assert_eq!(name, "sent folder");
    assert!(result.is_ok(), "{steps:#?}");

    delete_folders(&lab, &[&sent]).await;
    let steps = imap::check(&cfg).await;
    let error = steps.last().unwrap().1.as_ref().unwrap_err();
    assert!(error.contains("does not exist"), "{error}");
    let mut none = cfg.clone();
    none.sent_folder = None;
    assert_eq!(imap::append_sent(&none, &[b"x".to_vec()]).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_at_new_leaves_an_old_mailbox_alone() {
    let lab = lab();
    let folder = unique("test-startnew");
    create_folder(&lab, &folder).await;
    let (_, old1) = order(0);
    let (_, old2) = order(1);
    append(&lab, &folder, &[old1, old2]).await;
    let shop = new_shop(&imap_section(
        &lab,
        &folder,
        "start_at = \"new\"\nafter = \"seen\"",
    ))
    .await;
    let running = start(&shop);
    eventually("a checkpoint past the old mail", 30, || async {
        checkpoint(&shop.db, &folder)
            .await
            .is_some_and(|c| c.last_uid == 2)
    })
    .await;
    let (_, fresh) = order(2);
    append(&lab, &folder, &[fresh]).await;
    eventually("the new order", 30, || async {
        orders(&shop.db).await.len() == 1
    })
    .await;
    running.stop().await;
    assert_eq!(
        sql_count(&shop.db, "SELECT COUNT(*) FROM messages").await,
        1,
        "old mail not taken"
    );
    delete_folders(&lab, &[&folder]).await;
}

/// The folders the config names with `/` fit whatever layout the lab's Dovecot has (run the
/// suite with MAILCART_LAB_LAYOUT=dot or inbox: see tests/lab/README.md), names outside ASCII
/// are sent in modified UTF-7 and shown decoded, and `check` creates the folders and prints
/// the names it will use on the server.
#[tokio::test(flavor = "multi_thread")]
async fn folders_fit_the_server_layout_and_names_outside_ascii_round_trip() {
    let lab = lab();
    let folder = unique("test-layout");
    create_folder(&lab, &folder).await;
    let base = unique("Bestellungen");
    let done = format!("{base}/geprüft");
    let human = format!("{base}/für Menschen");
    // RFC 3501's modified UTF-7, written out by hand: ü is U+00FC, "&APw-".
    let done_wire = lab.folder(&format!("{base}/gepr&APw-ft"));
    let extra = format!("processed_folder = {done:?}\nneeds_human_folder = {human:?}\n");
    let shop = new_shop(&imap_section(&lab, &folder, &extra)).await;
    let cfg = shop.config.imap.clone().unwrap();

    let steps = imap::check(&cfg).await;
    for (name, result) in &steps {
        eprintln!("{name:>9}: {result:?}");
    }
    assert!(steps.iter().all(|(_, r)| r.is_ok()), "{steps:#?}");
    let said = |name: &str| {
        steps
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, r)| r.clone().ok())
            .unwrap_or_default()
    };
    let layout = said("layout");
    let expected = match lab.layout.as_str() {
        "slash" => "no prefix, separator \"/\" (from NAMESPACE)",
        "dot" => "no prefix, separator \".\" (from NAMESPACE)",
        _ => "prefix \"INBOX.\", separator \".\" (from NAMESPACE)",
    };
    assert!(layout.ends_with(expected), "{layout}");
    // Each folder as the config names it and, where the layout differs, as a mail client
    // shows the server's name (decoded).
    let shown = |logical: &str| {
        let server = lab.folder(logical);
        if server == logical {
            format!("{logical:?} created")
        } else {
            format!("{logical:?} (on the server {server:?}) created")
        }
    };
    assert_eq!(
        said("folders"),
        format!("{}; {}", shown(&done), shown(&human))
    );
    // It made them: a second check finds them.
    let again = imap::check(&cfg).await;
    let folders = again.iter().find(|(n, _)| n == "folders").unwrap();
    assert!(
        folders.1.as_ref().unwrap().matches(" exists").count() == 2,
        "{folders:?}"
    );
    // The server lists them under the encoded name, which reads back as the config wrote it.
    let mut a = admin(&lab).await;
    let listed: Vec<String> = a
        .list(Some(""), Some(&lab.folder(&format!("{base}/*"))))
        .await
        .unwrap()
        .map(|n| n.unwrap().name().to_string())
        .collect()
        .await;
    a.logout().await.unwrap();
    assert!(listed.contains(&done_wire), "{listed:?}");
    let decoded = imap::decode_folder_name(&done_wire).unwrap();
    assert_eq!(decoded, lab.folder(&done), "decoded for display");

    // The source moves an order there.
    let (id, raw) = order(7);
    append(&lab, &folder, &[raw]).await;
    let running = start(&shop);
    eventually("moved to the folder outside ASCII", 30, || async {
        ids_in(&lab, &format!("{base}/gepr&APw-ft")).await == [id.clone()]
    })
    .await;
    running.stop().await;

    // Without NAMESPACE the separator comes from LIST (the prefix cannot be learned that way).
    let mut s = imap::connect(&cfg).await.unwrap();
    s.forget_capability("NAMESPACE");
    s.learn_layout().await.unwrap();
    assert_eq!(s.layout().source, imap::LayoutSource::List);
    let separator = if lab.layout == "slash" { '/' } else { '.' };
    assert_eq!(s.layout().delimiter, Some(separator));
    s.logout().await;

    delete_folders(
        &lab,
        &[
            &folder,
            &format!("{base}/gepr&APw-ft"),
            &format!("{base}/f&APw-r Menschen"),
            &base,
        ],
    )
    .await;
}
