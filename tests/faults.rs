//! Network faults between `mailcart run` (the real binary) and the lab's Dovecot and Postfix,
//! made by the fault-injecting proxy of tests/common/proxy.rs: a connection reset mid-FETCH, a
//! black hole, a server that drips a byte a second, SMTP 4xx and 5xx answers, a connection
//! dropped after the final "." of DATA, the SMTP server down for two minutes, and (on a lab of
//! our own, so that nobody else's servers are restarted) Dovecot restarted. Each test states
//! the bound within which mailcart must recover by itself, and checks afterwards that every
//! order is in the database once and answered once.
//!
//! A new UIDVALIDITY is covered by imap_live.rs (`a_new_uidvalidity_rescans_without_doubling_
//! orders`), a connection cut while idling by `a_dropped_connection_is_reopened_and_reading_
//! resumes` there.
//!
//! Time limits in the bot's config are short (IMAP 2 s, SMTP 3 s, IDLE renewed every minute,
//! SMTP retries at most 30 s apart) to keep the bounds small.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::lab::{Lab, lab};
use common::proxy::{Fault, Proxy};

const SHOP: &str = "orders@lindenclay.test";
const IMAP_TIMEOUT: u64 = 2;
const SMTP_TIMEOUT: u64 = 3;
const RETRY_MAX: u64 = 30;
/// The bot's reconnect backoff starts at 1 s and doubles.
const FIRST_RECONNECT: Duration = Duration::from_secs(1);

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{tag}-{nanos}-{}", std::process::id())
}

// ---------------------------------------------------------------------------------------------
// Mailboxes in a lab, over IMAP
// ---------------------------------------------------------------------------------------------

type Imap = async_imap::Session<tokio::net::TcpStream>;

/// Log in to `user`'s mailbox on `port` and run `f` there.
fn with_imap<T>(port: u16, user: &str, f: impl AsyncFnOnce(&mut Imap) -> T) -> T {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap().expect("greeting");
        let mut s = client
            .login(user, "labpass")
            .await
            .map_err(|(e, _)| e)
            .unwrap();
        let out = f(&mut s).await;
        let _ = s.logout().await;
        out
    })
}

/// The Message-IDs of the messages in `user`'s INBOX matching the IMAP search `query`.
fn found(port: u16, user: &str, query: &str) -> Vec<String> {
    with_imap(port, user, async |s| {
        s.select("INBOX").await.unwrap();
        let uids = s.uid_search(query).await.unwrap();
        let mut ids = Vec::new();
        for uid in uids {
            let mut fetches = s
                .uid_fetch(uid.to_string(), "BODY.PEEK[HEADER]")
                .await
                .unwrap();
            use futures::StreamExt;
            while let Some(f) = fetches.next().await {
                let f = f.unwrap();
                let head = String::from_utf8_lossy(f.header().unwrap_or_default()).into_owned();
                let id = head.lines().find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("message-id")
                        .then(|| value.trim().trim_matches(['<', '>']).to_string())
                });
                ids.push(id.unwrap_or_default());
            }
        }
        ids
    })
}

/// The Message-IDs of the answers to `order_id` in `customer`'s INBOX.
fn answers(port: u16, customer: &str, order_id: &str) -> Vec<String> {
    found(
        port,
        customer,
        &format!("HEADER In-Reply-To \"{order_id}\""),
    )
}

fn order_mail(customer: &str, id: &str) -> Vec<u8> {
    format!(
        "From: Customer <{customer}>\r\nTo: {SHOP}\r\nSubject: Order\r\nMessage-ID: <{id}>\r\nDate: Tue, 01 Dec 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n2 x Blue Mug\r\n\r\nShip to:\r\nPat Okafor\r\n41 Linden Avenue\r\nPortland, OR 97205\r\nUSA\r\n"
    )
    .into_bytes()
}

// ---------------------------------------------------------------------------------------------
// The bot: `mailcart run` on a folder of its own in the shop's mailbox
// ---------------------------------------------------------------------------------------------

struct Bot {
    dir: tempfile::TempDir,
    daemon: Option<Child>,
    folder: String,
    /// The lab's IMAP port, for our own sessions (never through the proxy).
    imap_port: u16,
}

impl Bot {
    /// Set up a shop watching a new folder through `imap_port`, sending through `smtp_port`.
    fn new(lab: &Lab, tag: &str, imap_port: u16, smtp_port: u16) -> Bot {
        let dir = tempfile::tempdir().unwrap();
        let folder = unique(tag);
        let bot = Bot {
            dir,
            daemon: None,
            folder,
            imap_port: lab.imap_port,
        };
        common::mailcart(&bot.config(), &["init", bot.dir.path().to_str().unwrap()]);
        let mut text = std::fs::read_to_string(bot.config()).unwrap();
        let f = &bot.folder;
        text.push_str(&format!(
            "\n[imap]\nhost = \"127.0.0.1\"\nport = {imap_port}\ntls = \"none\"\nusername = \"{SHOP}\"\npassword = \"{}\"\nmailbox = \"{f}\"\nprocessed_folder = \"{f}-done\"\nneeds_human_folder = \"{f}-human\"\ntimeout_seconds = {IMAP_TIMEOUT}\nidle_minutes = 1\n\n[smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\ntls = \"none\"\ntimeout_seconds = {SMTP_TIMEOUT}\nretry_max_seconds = {RETRY_MAX}\n",
            lab.password
        ));
        std::fs::write(bot.config(), text).unwrap();
        let catalog = repo().join("mailbox-fixtures/catalog.csv");
        common::mailcart(
            &bot.config(),
            &["inventory", "import", catalog.to_str().unwrap()],
        );
        let folder = bot.folder.clone();
        with_imap(bot.imap_port, SHOP, async |s| {
            s.create(&folder).await.unwrap();
        });
        bot
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    fn start(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("run.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_mailcart"))
            .arg("--config")
            .arg(self.config())
            .args(["--log-json", "run"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.daemon = Some(child);
    }

    /// SIGTERM; the daemon must exit cleanly within 20 s whatever the network does.
    fn stop(&mut self) {
        if let Some(child) = self.daemon.take() {
            common::terminate(child, || self.log());
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("run.log")).unwrap_or_default()
    }

    /// The log lines whose message is `message`, as JSON.
    fn logged(&self, message: &str) -> Vec<serde_json::Value> {
        self.log()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["fields"]["message"] == message)
            .collect()
    }

    /// Put an order from `customer` in the watched folder; returns its Message-ID.
    fn order(&self, customer: &str) -> String {
        let id = format!("{}@example.test", unique("order"));
        let raw = order_mail(customer, &id);
        let folder = self.folder.clone();
        with_imap(self.imap_port, SHOP, async |s| {
            s.append(&folder, None, None, &raw).await.unwrap();
        });
        id
    }

    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open_with_flags(
            self.dir.path().join("mailcart.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap()
    }

    fn count(&self, sql: &str, param: &str) -> i64 {
        self.db().query_row(sql, [param], |r| r.get(0)).unwrap()
    }

    fn orders_in_db(&self) -> i64 {
        self.db()
            .query_row("SELECT COUNT(*) FROM orders", [], |r| r.get(0))
            .unwrap()
    }

    /// The order an inbound message made, once it is taken.
    fn order_of(&self, message_id: &str) -> Option<String> {
        self.db()
            .query_row(
                "SELECT order_ref FROM messages WHERE message_id IN (?1, '<' || ?1 || '>') AND order_ref IS NOT NULL",
                [message_id],
                |r| r.get(0),
            )
            .ok()
    }

    /// The Message-ID of the quote for this order.
    fn quote_id(&self, order: &str) -> String {
        self.db()
            .query_row(
                "SELECT message_id FROM outbox WHERE order_ref = ?1 AND template = 'quote'",
                [order],
                |r| r.get(0),
            )
            .unwrap()
    }

    fn outbox_status(&self, order: &str) -> String {
        self.db()
            .query_row(
                "SELECT status FROM outbox WHERE order_ref = ?1 AND template = 'quote'",
                [order],
                |r| r.get(0),
            )
            .unwrap_or_default()
    }

    /// Wait until `check` holds, at most `secs`; returns how long it took.
    fn until(&self, what: &str, secs: u64, mut check: impl FnMut() -> bool) -> Duration {
        let start = Instant::now();
        loop {
            if check() {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < Duration::from_secs(secs),
                "not within {secs} s: {what}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Each order stored once and answered exactly once (in the mailboxes of the lab whose
    /// IMAP port is given), checked a second after the last answer so that a late copy would
    /// be seen; and `total` orders in the database, none twice.
    fn each_answered_once(&self, lab_imap: u16, orders: &[(&str, &str)], total: i64) {
        for (customer, id) in orders {
            self.until(&format!("{id} answered"), 60, || {
                !answers(lab_imap, customer, id).is_empty()
            });
        }
        std::thread::sleep(Duration::from_secs(1));
        for (customer, id) in orders {
            let got = answers(lab_imap, customer, id);
            assert_eq!(got.len(), 1, "{id} answered {got:?}\n{}", self.log());
            assert_eq!(
                self.count(
                    "SELECT COUNT(*) FROM messages WHERE message_id IN (?1, '<' || ?1 || '>')",
                    id
                ),
                1,
                "{id} stored once"
            );
        }
        assert_eq!(self.orders_in_db(), total, "no order twice");
    }

    fn taken_folder_holds(&self, n: usize) -> bool {
        let done = format!("{}-done", self.folder);
        with_imap(self.imap_port, SHOP, async |s| {
            s.examine(&done)
                .await
                .map(|m| m.exists as usize)
                .unwrap_or(0)
                == n
        })
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        if let Some(mut child) = self.daemon.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let f = self.folder.clone();
        let port = self.imap_port;
        let _ = std::panic::catch_unwind(move || {
            with_imap(port, SHOP, async |s| {
                for name in [f.clone(), format!("{f}-done"), format!("{f}-human")] {
                    let _ = s.delete(&name).await;
                }
            })
        });
    }
}

/// The moments (from the log) of the failed tries of the email with this Message-ID.
fn failed_tries(bot: &Bot, message_id: &str) -> Vec<time::OffsetDateTime> {
    logged_at(bot, "email not sent; will retry", message_id)
}

/// The moments of the log lines saying `message` about the email with this Message-ID.
fn logged_at(bot: &Bot, message: &str, message_id: &str) -> Vec<time::OffsetDateTime> {
    bot.logged(message)
        .iter()
        .filter(|v| v["fields"]["message_id"] == message_id)
        .map(|v| {
            time::OffsetDateTime::parse(
                v["timestamp"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
        })
        .collect()
}

fn gaps(moments: &[time::OffsetDateTime]) -> Vec<f64> {
    moments
        .windows(2)
        .map(|w| (w[1] - w[0]).as_seconds_f64())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Tests. The two-minute outage sorts first, so that it starts at once beside the others.
// ---------------------------------------------------------------------------------------------

/// Postfix unreachable (the port refuses connections) for 2 min while three orders arrive:
/// each reply is tried 10 s, 20 s, 30 s, 30 s ... apart, never more often, and all three go
/// within `retry_max_seconds` (30 s) of the server coming back, each once.
#[test]
fn a_two_minute_smtp_outage_delays_the_replies_and_loses_or_doubles_none() {
    let lab = lab();
    let smtp = Proxy::to(lab.smtp_port);
    smtp.set(Fault::Refuse);
    let mut bot = Bot::new(&lab, "fault-down", lab.imap_port, smtp.port);
    bot.start();
    let down = Instant::now();
    let customers = ["pat@example.test", "lee@example.org", "kim@example.net"];
    let mut orders = Vec::new();
    for (i, customer) in customers.iter().enumerate() {
        let id = bot.order(customer);
        bot.until("the order taken", 20, || bot.order_of(&id).is_some());
        orders.push((*customer, id));
        if i < 2 {
            std::thread::sleep(Duration::from_secs(40));
        }
    }
    while down.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(200));
    }
    for (customer, id) in &orders {
        assert!(
            answers(lab.imap_port, customer, id).is_empty(),
            "sent while down?"
        );
        let order = bot.order_of(id).unwrap();
        assert_ne!(bot.outbox_status(&order), "sent");
    }
    smtp.set(Fault::Pass);
    let back = Instant::now();
    for (customer, id) in &orders {
        bot.until("the reply after the outage", RETRY_MAX + 10, || {
            !answers(lab.imap_port, customer, id).is_empty()
        });
    }
    let all_sent = back.elapsed();
    assert!(
        all_sent <= Duration::from_secs(RETRY_MAX + 5),
        "{all_sent:?}"
    );
    let pairs: Vec<(&str, &str)> = orders.iter().map(|(c, id)| (*c, id.as_str())).collect();
    bot.each_answered_once(lab.imap_port, &pairs, 3);
    for (_, id) in &orders {
        let quote = bot.quote_id(&bot.order_of(id).unwrap());
        let tries = failed_tries(&bot, &quote);
        let spacing = gaps(&tries);
        // The first one waited 2 min: at least 10 s + 20 s + 30 s + 30 s, at most ~8 tries.
        assert!(
            tries.len() >= 2 && tries.len() <= 9,
            "{quote}: {} tries",
            tries.len()
        );
        for (i, g) in spacing.iter().enumerate() {
            let want = (10.0 * 2f64.powi(i as i32)).min(RETRY_MAX as f64);
            assert!(*g >= want - 0.5, "{quote}: tries {spacing:?} apart");
        }
    }
    bot.stop();
    assert_eq!(
        bot.count("SELECT COUNT(*) FROM outbox WHERE status != ?1", "sent"),
        0
    );
}

/// The connection is reset (RST) in the middle of the literal of `UID FETCH ... BODY[]`:
/// the bot reconnects after 1 s and takes both orders, each once, within 10 s.
#[test]
fn imap_reset_mid_fetch_reconnects_and_takes_each_order_once() {
    let lab = lab();
    let imap = Proxy::to(lab.imap_port);
    imap.set(Fault::Reset {
        after: b"BODY[] {".to_vec(),
        then: 120,
    });
    let mut bot = Bot::new(&lab, "fault-reset", imap.port, lab.smtp_port);
    let first = bot.order("pat@example.test");
    let second = bot.order("lee@example.org");
    bot.start();
    let took = bot.until("both orders taken", 10, || {
        bot.order_of(&first).is_some() && bot.order_of(&second).is_some()
    });
    assert_eq!(imap.fired(), 1, "the reset happened");
    assert!(imap.accepted().len() >= 2, "a new connection");
    assert!(took >= FIRST_RECONNECT, "{took:?}");
    let failures = bot.logged("imap connection failed; will reconnect");
    assert!(!failures.is_empty(), "{}", bot.log());
    bot.until("both moved", 10, || bot.taken_folder_holds(2));
    bot.each_answered_once(
        lab.imap_port,
        &[("pat@example.test", &first), ("lee@example.org", &second)],
        2,
    );
    bot.stop();
}

/// A black hole (connections accepted, never answered, never closed): new connections give up
/// after the 2 s greeting limit and are retried 1 s, 2 s, 4 s ... apart; a connection that
/// goes silent while idling is found dead within `idle_minutes` (1 min) + 2 s. Once the
/// network is back, the orders are taken within the backoff in force.
#[test]
fn black_hole_is_timed_out_retried_with_backoff_and_left() {
    let lab = lab();
    let imap = Proxy::to(lab.imap_port);
    imap.set(Fault::BlackHole);
    let mut bot = Bot::new(&lab, "fault-hole", imap.port, lab.smtp_port);
    let first = bot.order("pat@example.test");
    bot.start();
    std::thread::sleep(Duration::from_secs(12));
    let tries = imap.accepted();
    // Tries at about 0, 3, 7, 13 s (2 s limit + 1, 2, 4 s waits): never hammering.
    assert!(
        (2..=4).contains(&tries.len()),
        "{} tries in 12 s",
        tries.len()
    );
    for (i, w) in tries.windows(2).enumerate() {
        let gap = w[1] - w[0];
        let want = Duration::from_secs(IMAP_TIMEOUT) + FIRST_RECONNECT * (1 << i);
        assert!(
            gap + Duration::from_millis(300) >= want,
            "tries {gap:?} apart"
        );
    }
    let timeouts = bot.logged("imap connection failed; will reconnect");
    assert!(
        timeouts.iter().all(|v| v["fields"]["error"]
            .as_str()
            .unwrap_or("")
            .contains("timed out")),
        "{timeouts:?}"
    );
    imap.set(Fault::Pass);
    // The next try is at most 8 s away, then 2 s to log in and take it.
    bot.until("the first order once the network is back", 12, || {
        bot.order_of(&first).is_some()
    });
    bot.until("moved", 10, || bot.taken_folder_holds(1));

    // Now the open, idle connection goes silent.
    std::thread::sleep(Duration::from_secs(1));
    let failures_before = bot.logged("imap connection failed; will reconnect").len();
    imap.set(Fault::BlackHole);
    let holed = Instant::now();
    let second = bot.order("lee@example.org");
    bot.until(
        "the silent connection noticed",
        60 + IMAP_TIMEOUT + 5,
        || bot.logged("imap connection failed; will reconnect").len() > failures_before,
    );
    let noticed = holed.elapsed();
    imap.set(Fault::Pass);
    bot.until("the second order", 15, || bot.order_of(&second).is_some());
    assert!(
        noticed <= Duration::from_secs(60 + IMAP_TIMEOUT + 3),
        "{noticed:?}"
    );
    bot.until("moved", 10, || bot.taken_folder_holds(2));
    bot.each_answered_once(
        lab.imap_port,
        &[("pat@example.test", &first), ("lee@example.org", &second)],
        2,
    );
    bot.stop();
}

/// A byte a second from either server: no read ever waits long, but the SMTP send has a
/// deadline of 3 s and each IMAP command one of 2 s (plus transfer time at 32 KiB/s), so the
/// bot gives up within them, retries (SMTP after 10 s), and recovers once the drip stops.
#[test]
fn drip_of_one_byte_a_second_trips_the_deadlines() {
    let lab = lab();
    let imap = Proxy::to(lab.imap_port);
    let smtp = Proxy::to(lab.smtp_port);
    smtp.set(Fault::Drip {
        bytes: 1,
        every: Duration::from_secs(1),
    });
    let mut bot = Bot::new(&lab, "fault-drip", imap.port, smtp.port);
    let first = bot.order("pat@example.test");
    bot.start();
    bot.until("the order taken", 10, || bot.order_of(&first).is_some());
    let order = bot.order_of(&first).unwrap();
    let quote = bot.quote_id(&order);
    let waited = bot.until("the dripping send given up", SMTP_TIMEOUT + 5, || {
        !failed_tries(&bot, &quote).is_empty()
    });
    assert!(
        waited <= Duration::from_secs(SMTP_TIMEOUT + 3),
        "{waited:?}"
    );
    let error: String = bot
        .db()
        .query_row(
            "SELECT last_error FROM outbox WHERE message_id = ?1",
            [&quote],
            |r| r.get(0),
        )
        .unwrap();
    assert!(error.contains("timed out"), "{error}");
    smtp.set(Fault::Pass);

    // IMAP: the idle connection starts dripping; the bot drops it and reconnects (into the
    // drip, which its greeting limit cuts short) until the drip stops.
    std::thread::sleep(Duration::from_secs(1));
    imap.set(Fault::Drip {
        bytes: 1,
        every: Duration::from_secs(1),
    });
    let dripping = Instant::now();
    let second = bot.order("lee@example.org");
    bot.until("the dripping connection given up", 30, || {
        !bot.logged("imap connection failed; will reconnect")
            .is_empty()
    });
    let given_up = dripping.elapsed();
    imap.set(Fault::Pass);
    bot.until("the second order", 15, || bot.order_of(&second).is_some());
    // "* N EXISTS" takes ~12 s at this rate (IDLE waits for it), the answer to DONE then
    // trips the 2 s limit.
    assert!(given_up <= Duration::from_secs(20), "{given_up:?}");
    bot.each_answered_once(
        lab.imap_port,
        &[("pat@example.test", &first), ("lee@example.org", &second)],
        2,
    );
    assert_eq!(failed_tries(&bot, &quote).len(), 1, "one retry was enough");
    bot.stop();
}

/// 451 to RCPT: tried again 10 s later (the longer waits: the outage test), delivered once.
/// 550 to RCPT and 554 to DATA: given up at once, never retried, each seller told once.
#[test]
fn smtp_4xx_is_retried_with_backoff_and_5xx_given_up_with_one_notice() {
    let lab = lab();
    let smtp = Proxy::to(lab.smtp_port);
    smtp.set(Fault::SmtpReply {
        verb: "RCPT",
        to: "pat@example.test".into(),
        reply: "451 4.7.1 greylisted, try again later".into(),
        times: 1,
    });
    let mut bot = Bot::new(&lab, "fault-codes", lab.imap_port, smtp.port);
    let greylisted = bot.order("pat@example.test");
    bot.start();
    bot.until("the greylisted reply delivered", 25, || {
        !answers(lab.imap_port, "pat@example.test", &greylisted).is_empty()
    });
    let quote = bot.quote_id(&bot.order_of(&greylisted).unwrap());
    let mut tries = failed_tries(&bot, &quote);
    assert_eq!(tries.len(), 1, "{}", bot.log());
    tries.extend(logged_at(&bot, "email sent", &quote));
    let spacing = gaps(&tries);
    assert!(spacing.len() == 1 && spacing[0] >= 9.5, "{spacing:?}");
    assert_eq!(smtp.fired(), 1);

    for (verb, customer, reply) in [
        ("RCPT", "lee@example.org", "550 5.1.1 no such user here"),
        ("DATA", "kim@example.net", "554 5.7.1 message refused"),
    ] {
        smtp.set(Fault::SmtpReply {
            verb,
            to: customer.into(),
            reply: reply.into(),
            times: 1,
        });
        let id = bot.order(customer);
        bot.until("the order taken", 10, || bot.order_of(&id).is_some());
        let order = bot.order_of(&id).unwrap();
        bot.until("the reply given up", 10, || {
            bot.outbox_status(&order) == "failed"
        });
        let subject = format!("SUBJECT \"Undeliverable\" SUBJECT \"{order}\"");
        for seller in ["mara@lindenclay.test", "sam@lindenclay.test"] {
            bot.until("the seller told", 15, || {
                !found(lab.imap_port, seller, &subject).is_empty()
            });
        }
        std::thread::sleep(Duration::from_secs(1));
        for seller in ["mara@lindenclay.test", "sam@lindenclay.test"] {
            assert_eq!(found(lab.imap_port, seller, &subject).len(), 1, "{seller}");
        }
        let quote = bot.quote_id(&order);
        assert!(failed_tries(&bot, &quote).is_empty(), "never retried");
        assert!(answers(lab.imap_port, customer, &id).is_empty());
    }
    bot.stop();
    assert_eq!(smtp.fired(), 3);
    assert_eq!(bot.orders_in_db(), 3);
}

/// The connection drops right after the final "." of DATA. When the server's 250 is lost on
/// the way, the reply is sent again 10 s later with the same Message-ID (the customer may hold
/// two copies of one message, never two messages). When the 250 got through, the reply counts
/// as sent, and the next one finds its way over a new connection.
#[test]
fn dropped_after_data_resends_with_the_same_message_id() {
    let lab = lab();
    let smtp = Proxy::to(lab.smtp_port);
    smtp.set(Fault::DropAfterData {
        reply_reaches_client: false,
        times: 1,
    });
    let mut bot = Bot::new(&lab, "fault-data", lab.imap_port, smtp.port);
    let lost_ack = bot.order("pat@example.test");
    bot.start();
    bot.until("the order taken", 10, || bot.order_of(&lost_ack).is_some());
    let order = bot.order_of(&lost_ack).unwrap();
    bot.until("sent again", 25, || bot.outbox_status(&order) == "sent");
    bot.until("both copies in", 10, || {
        answers(lab.imap_port, "pat@example.test", &lost_ack).len() == 2
    });
    let copies = answers(lab.imap_port, "pat@example.test", &lost_ack);
    let quote = bot.quote_id(&order);
    assert!(
        copies.iter().all(|c| c.trim_matches(['<', '>']) == quote),
        "{copies:?} vs {quote}"
    );
    assert_eq!(failed_tries(&bot, &quote).len(), 1);
    assert_eq!(smtp.fired(), 1);

    smtp.set(Fault::DropAfterData {
        reply_reaches_client: true,
        times: 1,
    });
    let acked = bot.order("lee@example.org");
    bot.until("the order taken", 10, || bot.order_of(&acked).is_some());
    bot.until("sent", 10, || {
        bot.outbox_status(&bot.order_of(&acked).unwrap()) == "sent"
    });
    assert_eq!(smtp.fired(), 2);
    let next = bot.order("kim@example.net");
    bot.each_answered_once(
        lab.imap_port,
        &[("lee@example.org", &acked), ("kim@example.net", &next)],
        3,
    );
    bot.stop();
    assert_eq!(
        bot.count("SELECT COUNT(*) FROM outbox WHERE status = ?1", "sent"),
        3
    );
}

// ---------------------------------------------------------------------------------------------
// A lab of our own, for restarting its Dovecot
// ---------------------------------------------------------------------------------------------

const OWN_LAB_DIR: &str = "/tmp/mc-faults-lab";
const OWN_LAB: [(&str, u16); 4] = [
    ("MAILCART_LAB_IMAP_PORT", 34143),
    ("MAILCART_LAB_IMAPS_PORT", 34993),
    ("MAILCART_LAB_SMTP_PORT", 32525),
    ("MAILCART_LAB_SMTPS_PORT", 32465),
];

fn own_lab(script: &str, args: &[&str]) {
    let status = Command::new(repo().join("tests/lab").join(script))
        .args(args)
        .env("MAILCART_LAB_DIR", OWN_LAB_DIR)
        .envs(OWN_LAB.iter().map(|(k, v)| (*k, v.to_string())))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "tests/lab/{script} {args:?}: {status}");
}

/// Stops the own lab however the test ends.
struct OwnLab;

impl Drop for OwnLab {
    fn drop(&mut self) {
        own_lab("stop", &["--clean"]);
    }
}

/// Dovecot stopped and started again under the bot: it reconnects within the backoff in force
/// (1, 2, 4, 8 s ... after the first failure: within 12 s of Dovecot being back) and the
/// orders before and after are each taken and answered once.
#[test]
fn imap_server_restarted_is_reconnected_within_the_backoff() {
    own_lab("start", &[]);
    let _stop = OwnLab;
    let lab = Lab {
        server: "dovecot".into(),
        smtp_port: OWN_LAB[2].1,
        smtps_port: Some(OWN_LAB[3].1),
        imap_port: OWN_LAB[0].1,
        imaps_port: OWN_LAB[1].1,
        ca_file: PathBuf::from(OWN_LAB_DIR).join("ca.pem"),
        password: "labpass".into(),
        layout: common::lab::wanted_layout(),
    };
    let mut bot = Bot::new(&lab, "fault-restart", lab.imap_port, lab.smtp_port);
    let before = bot.order("pat@example.test");
    bot.start();
    bot.until("the first order", 10, || bot.order_of(&before).is_some());
    bot.until("moved", 10, || bot.taken_folder_holds(1));
    bot.until("the first answered", 30, || {
        !answers(lab.imap_port, "pat@example.test", &before).is_empty()
    });
    let conf = Path::new(OWN_LAB_DIR).join("dovecot.conf");
    let stopped = Command::new("dovecot")
        .arg("-c")
        .arg(&conf)
        .arg("stop")
        .status()
        .unwrap();
    assert!(stopped.success());
    while common::lab::port_open(lab.imap_port) {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    own_lab("start", &[]);
    let back = Instant::now();
    let after = bot.order("lee@example.org");
    bot.until("the order after the restart", 20, || {
        bot.order_of(&after).is_some()
    });
    let took = back.elapsed();
    assert!(took <= Duration::from_secs(12), "{took:?}");
    let failures = bot.logged("imap connection failed; will reconnect");
    assert!(!failures.is_empty(), "{}", bot.log());
    bot.until("moved", 10, || bot.taken_folder_holds(2));
    bot.each_answered_once(
        lab.imap_port,
        &[("pat@example.test", &before), ("lee@example.org", &after)],
        2,
    );
    bot.stop();
}

/// A listing whose every response comes well within the 2 s read limit (48 bytes every
/// 0.5 s) but whose whole would take ~4 s: the command's own deadline ends it after 2 s.
#[test]
fn an_answer_of_quick_responses_still_meets_the_command_deadline() {
    let lab = lab();
    let imap = Proxy::to(lab.imap_port);
    let bot = Bot::new(&lab, "fault-slow", imap.port, lab.smtp_port);
    for _ in 0..12 {
        bot.order("pat@example.test");
    }
    let cfg = mailcart::config::Config::load(&bot.config())
        .unwrap()
        .imap
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut s = mailcart::imap::connect(&cfg).await.unwrap();
        assert_eq!(s.select(&bot.folder).await.unwrap().exists, 12);
        imap.set(Fault::Drip {
            bytes: 48,
            every: Duration::from_millis(500),
        });
        let started = Instant::now();
        let err = s.list_after(0).await.unwrap_err();
        let took = started.elapsed();
        assert!(err.to_string().contains("answered in full"), "{err}");
        assert!(
            took < Duration::from_secs(IMAP_TIMEOUT) + Duration::from_millis(500),
            "{took:?}"
        );
    });
}
