//! Crash safety: `mailcart run` as a process against the loopback lab, SIGKILLed over and over
//! while it works through a backlog of orders, payments and seller commands, and restarted each
//! time. Kills come from inside at the named points (`MAILCART_CRASH_AT`, src/crashpoint.rs)
//! and from outside at random moments (seeded; the seed is printed). At the end the books must
//! be as if nothing had happened: every order once and in the state its messages call for, the
//! stock ledger consistent, SQLite and `mailcart verify` happy, one quote per order, and every
//! message delivered at least once and, when again, with the same Message-ID and bytes.
//!
//! The orders go by IMAP APPEND into a folder of the shop's mailbox made for this run; the
//! replies go through the lab's Postfix to addresses outside the lab's domains, so they land in
//! sink@example.test, where this run's are found by a tag in their `To:`.
//!
//! Knobs for a longer soak: MAILCART_CRASH_ORDERS (default 1000), MAILCART_CRASH_KILLS
//! (default 110), MAILCART_CRASH_SEED (default: from the clock).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use futures::StreamExt;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

mod common;
use common::lab::{Lab, lab};

const SHOP: &str = "orders@lindenclay.test";
const SINK: &str = "sink@example.test";
const STOCK: i64 = 100_000;
const BATCH: usize = 8;
const SKUS: [(&str, &str, &str); 3] = [
    ("MUG-BLU", "Blue Glazed Mug", "18.00"),
    ("BOWL-RICE-S", "Small Rice Bowl", "12.00"),
    ("TEAPOT-CI", "Cast Iron Teapot", "64.00"),
];

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the harness does with one order after it is quoted (or held for approval).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Unpaid,
    Paid,
    Shipped,
    Cancelled,
    /// Over the first-order limit: held for a seller, who approves...
    Approved,
    /// ... and then it is paid,
    ApprovedPaid,
    /// ... or who rejects it,
    Rejected,
    /// ... or who has not answered yet.
    Waiting,
}

impl Plan {
    fn held(self) -> bool {
        matches!(
            self,
            Plan::Approved | Plan::ApprovedPaid | Plan::Rejected | Plan::Waiting
        )
    }

    fn final_state(self) -> &'static str {
        match self {
            Plan::Unpaid | Plan::Approved => "awaiting_payment",
            Plan::Paid | Plan::ApprovedPaid => "paid",
            Plan::Shipped => "shipped",
            Plan::Cancelled => "cancelled",
            Plan::Rejected => "rejected",
            Plan::Waiting => "awaiting_approval",
        }
    }

    fn quoted(self) -> bool {
        !matches!(self, Plan::Rejected | Plan::Waiting)
    }
}

struct Order {
    id: String,
    customer: String,
    plan: Plan,
    items: Vec<(&'static str, i64)>,
    reference: String,
    total: String,
}

const NAMES: [&str; 6] = [
    "Pat Okafor",
    "Lee Park",
    "Kim Ruiz",
    "Ana Silva",
    "Sam Berg",
    "Joe Adams",
];

fn order_mail(o: &Order, i: usize, rng: &mut StdRng) -> Vec<u8> {
    let name = NAMES[i % NAMES.len()];
    let lines: Vec<String> = o
        .items
        .iter()
        .map(|(sku, q)| {
            let (_, item, _) = SKUS.iter().find(|s| s.0 == *sku).unwrap();
            match rng.random_range(0..3) {
                0 => format!("{q} x {item}"),
                1 => format!("{item} x{q}"),
                _ => format!("{sku} qty {q}"),
            }
        })
        .collect();
    let body = format!(
        "Hello,\n\n{}\n\nShip to:\n{name}\n{} Linden Avenue\nPortland, OR 97205\nUSA\n\nThanks!\n",
        lines.join("\n"),
        10 + i
    );
    email(
        &format!("{name} <{}>", o.customer),
        &o.id,
        "Order",
        None,
        &body,
    )
}

fn email(from: &str, id: &str, subject: &str, parent: Option<&str>, body: &str) -> Vec<u8> {
    let mut s = format!(
        "From: {from}\r\nTo: Linden Clay Studio <{SHOP}>\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nDate: {}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n",
        time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap()
    );
    if let Some(p) = parent {
        s.push_str(&format!("In-Reply-To: <{p}>\r\nReferences: <{p}>\r\n"));
    }
    s.push_str("\r\n");
    s.push_str(&body.replace('\n', "\r\n"));
    s.into_bytes()
}

/// PayPal's notice (fixture 53, in its real shape) of `amount` for `reference`.
fn paypal(reference: &str, amount: &str, txn: &str) -> Vec<u8> {
    let fixture = common::fixtures_dir().join("53-paypal-payment.eml");
    std::fs::read_to_string(fixture)
        .unwrap()
        .replace("MC-7K2QXD9F", reference)
        .replace("116.00", amount)
        .replace("4RT12345AB678901C", txn)
        .into_bytes()
}

// ---------------------------------------------------------------------------------------------
// The lab's mailboxes, over a plain IMAP session of the harness's own
// ---------------------------------------------------------------------------------------------

type Admin = async_imap::Session<tokio::net::TcpStream>;
type Imap<T> = Result<T, async_imap::error::Error>;

/// Runs `op` until it works, for up to a minute: other test binaries restart the lab's
/// Dovecot now and then, and the harness must outlast that as mailcart does.
fn retry<T, F: Future<Output = Imap<T>>>(
    rt: &tokio::runtime::Runtime,
    what: &str,
    mut op: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match rt.block_on(op()) {
            Ok(v) => return v,
            Err(e) if Instant::now() < deadline => {
                eprintln!("imap {what}: {e}; again in a second");
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(e) => panic!("imap {what}: {e}"),
        }
    }
}

async fn login(lab: &Lab, user: &str) -> Imap<Admin> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", lab.imap_port)).await?;
    let mut client = async_imap::Client::new(tcp);
    client
        .read_response()
        .await?
        .ok_or(async_imap::error::Error::ConnectionLost)?;
    client.login(user, &lab.password).await.map_err(|(e, _)| e)
}

/// Appends `messages[*from..]`, moving `from` on as each is taken (so that a retry goes on
/// where a broken connection stopped).
async fn append(
    lab: &Lab,
    folder: &str,
    messages: &[Vec<u8>],
    from: &std::cell::Cell<usize>,
) -> Imap<()> {
    let mut a = login(lab, SHOP).await?;
    while let Some(m) = messages.get(from.get()) {
        a.append(lab.folder(folder), None, None, m).await?;
        from.set(from.get() + 1);
    }
    a.logout().await
}

async fn count(lab: &Lab, folder: &str) -> Imap<u32> {
    let mut a = login(lab, SHOP).await?;
    let n = a.status(lab.folder(folder), "(MESSAGES)").await?.exists;
    a.logout().await?;
    Ok(n)
}

/// UIDs of this run's mail in the sink (its `To:` carries the run's tag), in order.
async fn tagged(a: &mut Admin, tag: &str) -> Imap<Vec<u32>> {
    a.select("INBOX").await?;
    let mut uids: Vec<u32> = a
        .uid_search(format!("HEADER To \"{tag}\""))
        .await?
        .into_iter()
        .collect();
    uids.sort_unstable();
    Ok(uids)
}

fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// This run's mail in the sink: (UID, raw).
async fn delivered(lab: &Lab, tag: &str) -> Imap<Vec<(u32, Vec<u8>)>> {
    let mut a = login(lab, SINK).await?;
    let uids = tagged(&mut a, tag).await?;
    let mut out = Vec::with_capacity(uids.len());
    for chunk in uids.chunks(500) {
        let mut fetches = a.uid_fetch(uid_set(chunk), "(UID BODY.PEEK[])").await?;
        while let Some(f) = fetches.next().await {
            let f = f?;
            out.push((f.uid.unwrap_or(0), f.body().unwrap_or_default().to_vec()));
        }
    }
    a.logout().await?;
    out.sort_by_key(|(uid, _)| *uid);
    Ok(out)
}

async fn delivered_count(lab: &Lab, tag: &str) -> Imap<usize> {
    let mut a = login(lab, SINK).await?;
    let n = tagged(&mut a, tag).await?.len();
    a.logout().await?;
    Ok(n)
}

async fn clean_up(lab: &Lab, tag: &str, folder: &str) -> Imap<()> {
    let mut a = login(lab, SINK).await?;
    let uids = tagged(&mut a, tag).await?;
    for chunk in uids.chunks(500) {
        let mut done = a
            .uid_store(uid_set(chunk), "+FLAGS.SILENT (\\Deleted)")
            .await?;
        while done.next().await.is_some() {}
    }
    a.expunge().await?.for_each(|_| async {}).await;
    a.logout().await?;
    let mut a = login(lab, SHOP).await?;
    for f in [
        format!("{folder}/processed"),
        format!("{folder}/needs-human"),
        folder.to_string(),
    ] {
        let _ = a.delete(lab.folder(&f)).await;
    }
    a.logout().await
}

// ---------------------------------------------------------------------------------------------
// The shop and the daemon's lives
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kill {
    At(mailcart::crashpoint::Point),
    /// From outside, at a random moment.
    Outside,
}

impl Kill {
    fn name(self) -> &'static str {
        match self {
            Kill::At(p) => p.as_str(),
            Kill::Outside => "outside (random moment)",
        }
    }
}

struct Harness {
    lab: Lab,
    rt: tokio::runtime::Runtime,
    dir: PathBuf,
    config: PathBuf,
    db: PathBuf,
    folder: String,
    rng: StdRng,
    lives: usize,
    kills: BTreeMap<Kill, usize>,
    /// Lives whose kill point was not reached in time (then killed from outside; not counted).
    missed: usize,
}

impl Harness {
    fn cli(&self, args: &[&str]) -> String {
        common::mailcart(&self.config, args)
    }

    fn sql<T: rusqlite::types::FromSql>(&self, sql: &str) -> T {
        let c = rusqlite::Connection::open(&self.db).unwrap();
        c.busy_timeout(Duration::from_secs(10)).unwrap();
        c.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        let c = rusqlite::Connection::open(&self.db).unwrap();
        c.busy_timeout(Duration::from_secs(10)).unwrap();
        let mut stmt = c.prepare(sql).unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| {
            (0..n)
                .map(|i| {
                    r.get::<_, rusqlite::types::Value>(i).map(|v| match v {
                        rusqlite::types::Value::Text(t) => t,
                        rusqlite::types::Value::Integer(i) => i.to_string(),
                        rusqlite::types::Value::Null => String::new(),
                        other => format!("{other:?}"),
                    })
                })
                .collect()
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    /// Of `ids`, how many are not stored yet; and how many outbox rows wait to be sent.
    fn work_left(&self, ids: &HashSet<String>) -> (usize, usize) {
        let stored: HashSet<String> = self
            .rows("SELECT DISTINCT message_id FROM messages")
            .into_iter()
            .map(|mut r| r.swap_remove(0))
            .collect();
        let unstored = ids.iter().filter(|id| !stored.contains(*id)).count();
        let pending: i64 =
            self.sql("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')");
        (unstored, usize::try_from(pending).unwrap())
    }

    fn spawn(&self, crash: Option<String>) -> (Child, PathBuf) {
        let log = self.dir.join(format!("life-{:03}.log", self.lives));
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailcart"));
        cmd.arg("--config")
            .arg(&self.config)
            .arg("run")
            .env_remove("MAILCART_CRASH_AT")
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        if let Some(spec) = crash {
            cmd.env("MAILCART_CRASH_AT", spec)
                .env("MAILCART_CRASH_IDLE_MS", self.rng_idle_ms().to_string());
        }
        (cmd.spawn().unwrap(), log)
    }

    fn rng_idle_ms(&self) -> u64 {
        // Derived from the life's number so that `spawn` needs no `&mut`.
        100 + (self.lives as u64 * 37) % 400
    }

    /// One life that ends in a SIGKILL: at `kill`, the Nth time (`n`), or from outside after
    /// `n` ms.
    fn life(&mut self, kill: Kill, n: u64) {
        let spec = match kill {
            Kill::At(p) => Some(format!("{}:{n}", p.as_str())),
            Kill::Outside => None,
        };
        let (mut child, log) = self.spawn(spec);
        self.lives += 1;
        let started = Instant::now();
        let limit = match kill {
            Kill::At(_) => Duration::from_secs(10),
            Kill::Outside => Duration::from_millis(n),
        };
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                use std::os::unix::process::ExitStatusExt;
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                assert_eq!(
                    status.signal(),
                    Some(9),
                    "the daemon ended by itself ({status}), not by its kill point:\n{}",
                    tail(&text)
                );
                assert!(
                    matches!(kill, Kill::At(p) if text.contains(&format!("crash point {} reached", p.as_str()))),
                    "killed, but not at {}:\n{}",
                    kill.name(),
                    tail(&text)
                );
                *self.kills.entry(kill).or_default() += 1;
                return;
            }
            if started.elapsed() >= limit {
                child.kill().unwrap();
                child.wait().unwrap();
                match kill {
                    Kill::Outside => *self.kills.entry(kill).or_default() += 1,
                    Kill::At(_) => self.missed += 1,
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// A life without kills until `left` says nothing is left to do (within 90 s), then
    /// SIGTERM: it must stop cleanly.
    fn clean_life(&mut self, what: &str, left: impl Fn(&Harness) -> Option<String>) {
        let (mut child, log) = self.spawn(None);
        self.lives += 1;
        let started = Instant::now();
        let deadline = started + Duration::from_secs(90);
        // A moment at least, so that it is up and has its signal handlers.
        while started.elapsed() < Duration::from_secs(1) || left(self).is_some() {
            let text = || tail(&std::fs::read_to_string(&log).unwrap_or_default());
            assert!(
                child.try_wait().unwrap().is_none(),
                "the daemon died: {}",
                text()
            );
            assert!(
                Instant::now() < deadline,
                "{what}: not done after 90 s without kills: {}\n{}",
                left(self).unwrap_or_default(),
                text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "exit {status}");
                return;
            }
            assert!(Instant::now() < deadline, "no clean stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The kill for the next life: the point used least so far among those that can be
    /// reached with the work left, half the time, else any of them; and its N (or, from
    /// outside, the delay in ms).
    fn choose(&mut self, unstored: usize, pending: usize) -> (Kill, u64) {
        use mailcart::crashpoint::Point::*;
        let batches = unstored.div_ceil(BATCH) as u64;
        // With a backlog, short lives, so that the kills fall while there is work; IDLE comes
        // only once the backlog is taken (the replies may still be going out).
        let backlog = unstored > 2 * BATCH;
        let outside = if backlog { 100..800 } else { 100..2500 };
        let mut options: Vec<(Kill, u64)> = vec![(Kill::Outside, self.rng.random_range(outside))];
        if !backlog {
            options.push((Kill::At(DuringIdle), 1));
        }
        if unstored > 0 {
            options.push((
                Kill::At(AfterFetch),
                self.rng.random_range(1..=batches.min(3)),
            ));
            options.push((
                Kill::At(AfterCommit),
                self.rng.random_range(1..=batches.min(3)),
            ));
            options.push((
                Kill::At(MidTransaction),
                self.rng.random_range(1..=(unstored as u64).min(20)),
            ));
        }
        let sends = (pending + unstored) as u64;
        if sends > 0 {
            options.push((
                Kill::At(AfterSmtpAccepted),
                self.rng.random_range(1..=sends.min(30)),
            ));
        }
        if self.rng.random_bool(0.5) {
            let least = options
                .iter()
                .map(|(k, _)| self.kills.get(k).copied().unwrap_or(0))
                .min()
                .unwrap();
            options.retain(|(k, _)| self.kills.get(k).copied().unwrap_or(0) == least);
        }
        options[self.rng.random_range(0..options.len())]
    }

    fn killed(&self) -> usize {
        self.kills.values().sum()
    }

    /// Put `messages` in the watched folder and see them through: `quota` kills while work is
    /// left, then a clean life to the end (the mailbox emptied, the outbox sent).
    fn stage(&mut self, name: &str, messages: Vec<(String, Vec<u8>)>, quota: usize) {
        let started = Instant::now();
        let ids: HashSet<String> = messages.iter().map(|(id, _)| id.clone()).collect();
        let raws: Vec<Vec<u8>> = messages.into_iter().map(|(_, raw)| raw).collect();
        let n = raws.len();
        let from = std::cell::Cell::new(0);
        retry(&self.rt, "append", || {
            append(&self.lab, &self.folder, &raws, &from)
        });
        let appended = started.elapsed();
        // A sixth of the kills wait for IDLE, which comes once the backlog is taken.
        let idle = quota / 6;
        let target = self.killed() + quota - idle;
        let missed = self.missed;
        while self.killed() < target && self.missed < missed + 5 {
            let (unstored, pending) = self.work_left(&ids);
            if unstored == 0 && pending == 0 {
                break;
            }
            let (kill, n) = self.choose(unstored, pending);
            self.life(kill, n);
        }
        for _ in 0..idle {
            self.life(Kill::At(mailcart::crashpoint::Point::DuringIdle), 1);
        }
        let folder = self.folder.clone();
        self.clean_life(name, |h| {
            let (unstored, pending) = h.work_left(&ids);
            let in_folder = retry(&h.rt, "status", || count(&h.lab, &folder));
            let sending: i64 = h.sql("SELECT count(*) FROM outbox WHERE status = 'sending'");
            ((unstored, pending, in_folder) != (0, 0, 0)).then(|| {
                format!(
                    "{unstored} of its messages not stored, {pending} outbox rows unsent ({sending} of them 'sending'), {in_folder} messages left in the folder"
                )
            })
        });
        eprintln!(
            "stage {name}: {n} messages appended in {:.1?}, done in {:.1?}; {} kills so far in {} lives",
            appended,
            started.elapsed(),
            self.killed(),
            self.lives
        );
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

fn set_up(lab: &Lab, tag: &str, dir: &Path) -> PathBuf {
    common::mailcart(&dir.join("config.toml"), &["init", dir.to_str().unwrap()]);
    let config = dir.join("config.toml");
    let folder = format!("crash-{tag}");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(
            "sellers = [\"mara@lindenclay.test\", \"sam@lindenclay.test\"]",
            &format!("sellers = [\"mara.{tag}@crash.example\"]"),
        )
        // The loop caps (tests/loops.rs) would rightly stop thousands of replies an hour.
        .replace(
            "repeats_per_correspondent_per_day = 3",
            "repeats_per_correspondent_per_day = 100000",
        )
        .replace(
            "replies_per_correspondent_per_hour = 30",
            "replies_per_correspondent_per_hour = 100000",
        )
        .replace(
            "replies_per_correspondent_per_day = 100",
            "replies_per_correspondent_per_day = 100000",
        )
        .replace("replies_per_hour = 1000\n", "replies_per_hour = 1000000\n");
    let text = format!(
        "{text}\n[imap]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nusername = \"{SHOP}\"\npassword = {:?}\nmailbox = {folder:?}\nprocessed_folder = \"{folder}/processed\"\nneeds_human_folder = \"{folder}/needs-human\"\nbatch_size = {BATCH}\ntimeout_seconds = 10\n\n[smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\ntimeout_seconds = 10\nconnections = 2\n",
        lab.imap_port, lab.password, lab.smtp_port
    );
    std::fs::write(&config, text).unwrap();
    let csv = dir.join("catalog.csv");
    let mut rows = String::from("sku,name,unit_price,stock,aliases\n");
    for (sku, name, price) in SKUS {
        rows.push_str(&format!("{sku},{name},{price},{STOCK},\n"));
    }
    std::fs::write(&csv, rows).unwrap();
    common::mailcart(&config, &["inventory", "import", csv.to_str().unwrap()]);
    config
}

#[test]
fn a_thousand_orders_survive_a_hundred_sigkills() {
    let orders_n = env_num("MAILCART_CRASH_ORDERS", 1000) as usize;
    let kills_n = env_num("MAILCART_CRASH_KILLS", 110) as usize;
    let seed = env_num(
        "MAILCART_CRASH_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            % 1_000_000_007,
    );
    eprintln!(
        "crash harness: seed {seed} (MAILCART_CRASH_SEED), {orders_n} orders, {kills_n} kills"
    );
    let started = Instant::now();
    let lab = lab();
    let tmp = tempfile::Builder::new()
        .prefix("mailcart-crash-")
        .tempdir()
        .unwrap();
    // MAILCART_CRASH_KEEP=1 keeps the shop (database, each life's log) for a look afterwards.
    let tmp = match std::env::var_os("MAILCART_CRASH_KEEP") {
        Some(_) => {
            let kept = tmp.keep();
            eprintln!("crash harness: keeping {}", kept.display());
            Kept::Dir(kept)
        }
        None => Kept::Temp(tmp),
    };
    let tag = format!("r{seed}x{}", std::process::id());
    let config = set_up(&lab, &tag, tmp.path());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let folder = format!("crash-{tag}");
    {
        retry(&rt, "create", || async {
            let mut a = login(&lab, SHOP).await?;
            a.create(lab.folder(&folder)).await?;
            a.logout().await
        });
    }
    let mut h = Harness {
        lab: lab.clone(),
        rt,
        dir: tmp.path().to_path_buf(),
        db: tmp.path().join("mailcart.db"),
        config,
        folder: folder.clone(),
        rng: StdRng::seed_from_u64(seed),
        lives: 0,
        kills: BTreeMap::new(),
        missed: 0,
    };

    // Stage 1: the backlog of orders (a few sent twice, as clients resend).
    let mut orders = Vec::with_capacity(orders_n);
    let mut mails = Vec::new();
    for i in 0..orders_n {
        let plan = match h.rng.random_range(0..100) {
            0..20 => Plan::Unpaid,
            20..45 => Plan::Paid,
            45..63 => Plan::Shipped,
            63..75 => Plan::Cancelled,
            75..82 => Plan::Approved,
            82..88 => Plan::ApprovedPaid,
            88..94 => Plan::Rejected,
            _ => Plan::Waiting,
        };
        // Held orders go over the first-order limit (250.00); the others stay well below.
        let items = if plan.held() {
            vec![("TEAPOT-CI", h.rng.random_range(4..=6))]
        } else {
            let mut items = vec![("MUG-BLU", h.rng.random_range(1..=4))];
            if h.rng.random_bool(0.4) {
                items.push(("BOWL-RICE-S", h.rng.random_range(1..=3)));
            }
            items
        };
        let o = Order {
            id: format!("o{i}.{tag}@crash.example"),
            customer: format!("c{i}.{tag}@crash.example"),
            plan,
            items,
            reference: String::new(),
            total: String::new(),
        };
        let raw = order_mail(&o, i, &mut h.rng);
        if h.rng.random_bool(0.02) {
            mails.push((o.id.clone(), raw.clone()));
        }
        mails.push((o.id.clone(), raw));
        orders.push(o);
    }
    let quota = |share: usize| kills_n * share / 100;
    h.stage("orders", mails, quota(55));

    // What mailcart made of them: each order's reference, total, and the mail to answer.
    let refs: HashMap<String, (String, String)> = h
        .rows(
            "SELECT t.message_id, o.reference, o.total FROM thread_ids t JOIN orders o ON o.reference = t.order_ref WHERE t.party = 'customer'",
        )
        .into_iter()
        .map(|r| (r[0].clone(), (r[1].clone(), r[2].clone())))
        .collect();
    let outbox_id = |h: &Harness, reference: &str, template: &str| -> String {
        let rows = h.rows(&format!(
            "SELECT message_id FROM outbox WHERE order_ref = '{reference}' AND template = '{template}'"
        ));
        assert_eq!(rows.len(), 1, "one {template} for {reference}: {rows:?}");
        rows[0][0].clone()
    };
    for o in &mut orders {
        let (reference, total) = refs
            .get(&o.id)
            .unwrap_or_else(|| panic!("no order for {}", o.id))
            .clone();
        o.reference = reference;
        o.total = total;
    }

    // Stage 2: payments, customers cancelling, sellers approving and rejecting, mixed.
    let seller = format!("Mara <mara.{tag}@crash.example>");
    let mut mails = Vec::new();
    for (i, o) in orders.iter().enumerate() {
        let r = &o.reference;
        match o.plan {
            Plan::Paid | Plan::Shipped => {
                let txn = format!("TXN{i}X{}", seed % 100_000);
                let raw = paypal(r, &o.total, &txn);
                mails.push((format!("7c2e9a14.1b3d5f7a9c.{txn}@paypal.example"), raw));
            }
            Plan::Cancelled => {
                let id = format!("x{i}.{tag}@crash.example");
                let quote = outbox_id(&h, r, "quote");
                let from = format!("Customer <{}>", o.customer);
                let body = "Please cancel my order, sorry.\n";
                let subject = format!("Re: Order [{r}]");
                mails.push((id.clone(), email(&from, &id, &subject, Some(&quote), body)));
            }
            Plan::Approved | Plan::ApprovedPaid | Plan::Rejected => {
                let id = format!("s{i}.{tag}@crash.example");
                let request = outbox_id(&h, r, "approval_request");
                let body = if o.plan == Plan::Rejected {
                    "reject we cannot ship that many teapots\n\n> Order needs your approval\n"
                } else {
                    "approve\n\n> Order needs your approval\n"
                };
                mails.push((
                    id.clone(),
                    email(&seller, &id, "Re: request", Some(&request), body),
                ));
            }
            Plan::Unpaid | Plan::Waiting => {}
        }
    }
    shuffle(&mut mails, &mut h.rng);
    h.stage("payments and commands", mails, quota(30));

    // Stage 3: the paid ones shipped by reply to the packing slip, the approved ones paid.
    let mut mails = Vec::new();
    for (i, o) in orders.iter().enumerate() {
        let r = &o.reference;
        match o.plan {
            Plan::Shipped => {
                let id = format!("t{i}.{tag}@crash.example");
                let slip = outbox_id(&h, r, "packing_slip");
                let body = format!("shipped USPS 94001118992231{i:08}\n");
                mails.push((
                    id.clone(),
                    email(&seller, &id, "Re: Pack order", Some(&slip), &body),
                ));
            }
            Plan::ApprovedPaid => {
                let txn = format!("TXN{i}Y{}", seed % 100_000);
                mails.push((
                    format!("7c2e9a14.1b3d5f7a9c.{txn}@paypal.example"),
                    paypal(r, &o.total, &txn),
                ));
            }
            _ => {}
        }
    }
    shuffle(&mut mails, &mut h.rng);
    let left = kills_n.saturating_sub(h.killed());
    h.stage("shipping and late payments", mails, left);
    // Short of kills (the work ran out first): kill it idle, or just started, until there.
    while h.killed() < kills_n {
        let kill = if h.rng.random_bool(0.5) {
            (Kill::At(mailcart::crashpoint::Point::DuringIdle), 1)
        } else {
            (Kill::Outside, h.rng.random_range(100..1500))
        };
        h.life(kill.0, kill.1);
    }
    h.clean_life("the last start", |_| None);
    let worked = started.elapsed();

    // ---- The books ------------------------------------------------------------------------
    let integrity: String = h.sql("PRAGMA integrity_check");
    assert_eq!(integrity, "ok");
    let verify = h.cli(&["verify"]);
    assert!(!verify.is_empty());

    let n_orders: i64 = h.sql("SELECT count(*) FROM orders");
    assert_eq!(n_orders as usize, orders_n, "every order exactly once");
    let states: HashMap<String, String> = h
        .rows("SELECT reference, state FROM orders")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    let lines: HashMap<String, Vec<(String, i64)>> = h
        .rows("SELECT order_ref, sku, quantity FROM order_lines ORDER BY order_ref, line_no")
        .into_iter()
        .fold(HashMap::new(), |mut m, r| {
            m.entry(r[0].clone())
                .or_default()
                .push((r[1].clone(), r[2].parse().unwrap()));
            m
        });
    let payments: HashMap<String, (i64, String)> = h
        .rows("SELECT order_ref, count(*), group_concat(outcome) FROM payments GROUP BY order_ref")
        .into_iter()
        .map(|r| (r[0].clone(), (r[1].parse().unwrap(), r[2].clone())))
        .collect();
    let mut by_plan: BTreeMap<String, usize> = BTreeMap::new();
    let mut reserved: HashMap<&str, i64> = HashMap::new();
    let mut sold: HashMap<&str, i64> = HashMap::new();
    for o in &orders {
        *by_plan.entry(format!("{:?}", o.plan)).or_default() += 1;
        assert_eq!(
            states[&o.reference],
            o.plan.final_state(),
            "order {} ({}, {:?})",
            o.reference,
            o.id,
            o.plan
        );
        let want: Vec<(String, i64)> = o.items.iter().map(|(s, q)| (s.to_string(), *q)).collect();
        assert_eq!(lines[&o.reference], want, "lines of {}", o.reference);
        let paid = matches!(o.plan, Plan::Paid | Plan::Shipped | Plan::ApprovedPaid);
        assert_eq!(
            payments.get(&o.reference).map(|p| p.0),
            paid.then_some(1),
            "payments of {} ({:?}): {:?}",
            o.reference,
            o.plan,
            payments.get(&o.reference)
        );
        for (sku, q) in &o.items {
            match o.plan.final_state() {
                "awaiting_payment" | "awaiting_approval" => *reserved.entry(sku).or_default() += q,
                "paid" | "shipped" => *sold.entry(sku).or_default() += q,
                _ => {}
            }
        }
    }
    for (sku, _, _) in SKUS {
        let row = &h.rows(&format!(
            "SELECT on_hand, reserved FROM stock WHERE sku = '{sku}'"
        ))[0];
        let ledger = &h.rows(&format!(
            "SELECT
               coalesce(sum(CASE WHEN kind IN ('receipt','return','adjustment') THEN quantity WHEN kind = 'sale' THEN -quantity ELSE 0 END), 0),
               coalesce(sum(CASE kind WHEN 'reserve' THEN quantity WHEN 'release' THEN -quantity WHEN 'sale' THEN -quantity ELSE 0 END), 0)
             FROM stock_moves WHERE sku = '{sku}'"
        ))[0];
        let want = (
            (STOCK - sold.get(sku).copied().unwrap_or(0)).to_string(),
            reserved.get(sku).copied().unwrap_or(0).to_string(),
        );
        assert_eq!(
            (row[0].clone(), row[1].clone()),
            want,
            "{sku}: on hand and reserved"
        );
        assert_eq!(
            (ledger[0].clone(), ledger[1].clone()),
            want,
            "{sku}: the ledger's sums"
        );
    }
    let unsent: i64 = h.sql("SELECT count(*) FROM outbox WHERE status <> 'sent'");
    assert_eq!(unsent, 0, "the whole outbox sent");

    // ---- The mailboxes --------------------------------------------------------------------
    let rt = &h.rt;
    assert_eq!(
        retry(rt, "status", || count(&lab, &folder)),
        0,
        "the folder emptied"
    );
    let needs_human = format!("{folder}/needs-human");
    assert_eq!(
        retry(rt, "status", || count(&lab, &needs_human)),
        0,
        "nothing for a person"
    );
    let outbox: HashMap<String, (String, Vec<u8>)> = {
        let c = rusqlite::Connection::open(&h.db).unwrap();
        let mut stmt = c
            .prepare("SELECT message_id, template, raw FROM outbox")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    // Postfix has accepted everything; wait for it to have delivered it all, and no more.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last = 0;
    loop {
        let n = retry(rt, "search", || delivered_count(&lab, &tag));
        if n >= outbox.len() && n == last {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{n} of {} messages delivered",
            outbox.len()
        );
        last = n;
        std::thread::sleep(Duration::from_millis(1500));
    }
    let mail = retry(rt, "fetch", || delivered(&lab, &tag));
    let mut copies: HashMap<String, usize> = HashMap::new();
    let mut quotes: HashMap<(String, String), HashSet<String>> = HashMap::new();
    let reference = regex::Regex::new(r"Thank you for your order (MC-[0-9A-Z]{8,9})").unwrap();
    for (uid, raw) in &mail {
        let parsed = mail_parser::MessageParser::default()
            .parse(raw)
            .unwrap_or_else(|| panic!("delivered message {uid} unreadable"));
        let id = parsed.message_id().unwrap_or_default().to_string();
        let (template, sent) = outbox
            .get(&id)
            .unwrap_or_else(|| panic!("delivered {id:?} is in no outbox row"));
        // What Postfix and Dovecot add goes on top; the rest is byte for byte what was queued.
        assert!(
            lf(raw).trim_end().ends_with(lf(sent).trim_end()),
            "copy of {id} differs from the outbox row:\n{}\n---\n{}",
            lf(raw),
            lf(sent)
        );
        *copies.entry(id.clone()).or_default() += 1;
        let body = parsed.body_text(0).unwrap_or_default();
        if body.contains("Here is your quote:") {
            assert_eq!(template, "quote");
            let to = parsed
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_string();
            let r = reference
                .captures(&body)
                .map(|c| c[1].to_string())
                .unwrap_or_default();
            quotes.entry((to, r)).or_default().insert(id.clone());
        }
    }
    let lost: Vec<&String> = outbox
        .keys()
        .filter(|id| !copies.contains_key(*id))
        .collect();
    assert!(lost.is_empty(), "never delivered: {lost:?}");
    for ((to, r), ids) in &quotes {
        assert_eq!(ids.len(), 1, "{to} got different quotes for {r}: {ids:?}");
    }
    for o in &orders {
        let got = quotes.get(&(o.customer.clone(), o.reference.clone()));
        assert_eq!(
            got.map(HashSet::len).unwrap_or(0),
            usize::from(o.plan.quoted()),
            "quotes to {} for {} ({:?})",
            o.customer,
            o.reference,
            o.plan
        );
    }
    let resent: usize = copies.values().map(|n| n - 1).sum();
    let smtp_kills = h
        .kills
        .get(&Kill::At(mailcart::crashpoint::Point::AfterSmtpAccepted))
        .copied()
        .unwrap_or(0);
    // Each kill just after a 250 leaves that message to be sent again, with its Message-ID.
    assert!(
        resent >= smtp_kills,
        "{resent} resent copies after {smtp_kills} kills after the SMTP server accepted"
    );

    eprintln!(
        "crash harness: seed {seed}; {orders_n} orders ({by_plan:?}), {} outgoing messages, {} delivered ({resent} sent again, same Message-ID and bytes), {} kills in {} lives ({} points missed), {:.1?} of work, {:.1?} in all",
        outbox.len(),
        mail.len(),
        h.killed(),
        h.lives,
        h.missed,
        worked,
        started.elapsed()
    );
    for (kill, n) in &h.kills {
        eprintln!("  kills {:<26} {n}", kill.name());
    }
    assert!(h.killed() >= kills_n);
    retry(rt, "clean-up", || clean_up(&lab, &tag, &folder));
}

enum Kept {
    Temp(tempfile::TempDir),
    Dir(PathBuf),
}

impl Kept {
    fn path(&self) -> &Path {
        match self {
            Kept::Temp(t) => t.path(),
            Kept::Dir(d) => d,
        }
    }
}

fn lf(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).replace("\r\n", "\n")
}

fn shuffle<T>(v: &mut [T], rng: &mut StdRng) {
    use rand::seq::SliceRandom;
    v.shuffle(rng);
}
