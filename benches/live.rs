//! `cargo bench --bench live`: `mailcart run` as a real process against its own loopback mail
//! lab (`tests/lab`: Dovecot + Postfix), in `/tmp/mc-bench-lab` on ports 24143/24993/22525/22465
//! so that it never disturbs the default lab the tests use. The lab is reset (`stop --clean`,
//! `start`) at the beginning and stopped at the end, also on failure or Ctrl-C.
//!
//! 1. Push latency under load: after one order alone (mailcart is up and in IDLE; its quote is
//!    the backlog's sample), an open-loop stream of orders is submitted to Postfix at a fixed
//!    rate (MAILCART_BENCH_LIVE_RATE a second): order i is due at start + i / rate, and
//!    whichever of the SMTP connections is free sends it when due (at once if late), never
//!    waiting on a reply. The first second of the stream is not measured; the next
//!    MAILCART_BENCH_LIVE_LATENCY_N orders are. Each order goes to the shop's INBOX, which
//!    `mailcart run` watches with IDLE, and in the same transaction to a watch mailbox
//!    (`kim@example.net`, listed first) that nothing else touches. Per order, matched by its
//!    Message-ID and its customer's own address, all on this process's monotonic clock:
//!    - t0: our SMTP client reads Postfix's `250` to the order's DATA;
//!    - tf: our own IMAP session, IDLE on the watch mailbox, is told of it (`StreamWatch`).
//!      Dovecot announces a change to an IDLE session 0.5 s after it notices it, and one
//!      `* n EXISTS` then covers every message delivered meanwhile; the watch, like mailcart's
//!      session, leaves IDLE at once, fetches the Message-IDs of the messages that EXISTS
//!      covers (by sequence number: that folder is never expunged), and goes back to IDLE.
//!      Postfix delivers both copies in one LMTP transaction, the watch's first. The two
//!      sessions' 0.5 s timers run in their own phases, so an order's tf is when a client
//!      like mailcart's could have been told, not when mailcart was; mailcart also lists the
//!      mailbox again after each batch, and takes what arrived meanwhile without waiting for
//!      Dovecot: such an order's share can be below 0 (their number is printed);
//!    - t1: Postfix answers `250` to the DATA of mailcart's reply to that customer. mailcart's
//!      `[smtp]` points at a byte-for-byte relay in this process, in front of Postfix, that
//!      notes the instant it reads that `250` from Postfix with the transaction's recipients.
//!      Postfix's own log only has whole seconds, and reading the quote back over IMAP would
//!      add Dovecot's delay again. The relay costs mailcart some tens of microseconds per SMTP
//!      round trip;
//!    - tl: when the order landed: Dovecot names the watch's copy of it (both copies are
//!      written in the same LMTP transaction) after the moment it began writing the file,
//!      `<seconds>.M<microseconds>P...`, read from the maildir after the stream.
//!
//!    Reported: total (t1 - t0), floor (tf - t0) and mailcart's share (t1 - tf), and landed
//!    (tl - t0) and mailcart's share from landing (t1 - tl), p50/p99/max. The goals take the
//!    share from landing: mailcart follows a stream (`[imap] follow_ms`) and takes most orders
//!    before Dovecot's 0.5 s announcement, so t1 - tf is mostly below 0 and says little.
//!    Also: how long mailcart's SMTP transaction took (MAIL FROM to 250, from the relay), how late
//!    submissions began against their schedule and the rate Postfix took them at.
//! 2. Backlog: N orders are APPENDed over IMAP (MULTIAPPEND, LITERAL+) to a fresh folder
//!    `bench-<pid>` while mailcart is not running. Then the limit: the same number of messages
//!    shaped like mailcart's quotes (a captured quote, new Message-ID), sent straight to Postfix
//!    over as many connections as mailcart uses, one transaction at a time per connection, as
//!    mailcart's SMTP client does. Then `mailcart run` is started on the folder (SMTP straight
//!    to Postfix, no relay) and timed until the MTA has accepted every reply (the outbox rows
//!    in its database, polled read-only every 50 ms). Postfix's queue is let drain between the
//!    steps. Reported: orders/s, messages/s, their ratio, mailcart's peak RSS (VmHWM) and CPU
//!    time, and how busy the machine was during each (the MTA shares the CPUs).
//!
//! The daemon is the release binary Cargo builds for the bench (`CARGO_BIN_EXE_mailcart`);
//! failing that, `target/release/mailcart`, built first if missing.
//!
//! At the end, each goal with its figure, the figure's ratio to it and PASS or FAIL, and the
//! messages the shops' loop breakers held (every customer is an address of its own, so 0).
//!
//! Options (env): MAILCART_BENCH_LIVE_N (default 10000), MAILCART_BENCH_LIVE_LATENCY_N
//! (default 500), MAILCART_BENCH_LIVE_RATE (orders a second in the latency stream, default
//! 50), MAILCART_BENCH_LIVE_SUBMIT_CONNECTIONS (its SMTP connections, default one for every
//! 5/s, at least 2), MAILCART_BENCH_LIVE_CONNECTIONS (`[smtp] connections` and the limit's, default
//! 2), MAILCART_BENCH_LIVE_PERF=FILE (`perf record -g` the daemon during the backlog into FILE),
//! MAILCART_BENCH_LIVE_CLEAN=1 (delete the lab directory at the end; by default it is kept with
//! its logs until the next run), MAILCART_BENCH_LIVE_KEEP=1 (keep the shops' workspaces, with
//! the daemon's log `run.log`). `MAILCART_LOG` reaches the daemon. Needs root (the lab does).

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

mod common;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = Result<T, Error>;

macro_rules! fail {
    ($($t:tt)*) => { return Err(format!($($t)*).into()) };
}

const LAB_DIR: &str = "/tmp/mc-bench-lab";
const LAB_PORTS: [(&str, u16); 4] = [
    ("MAILCART_LAB_IMAP_PORT", 24143),
    ("MAILCART_LAB_IMAPS_PORT", 24993),
    ("MAILCART_LAB_SMTP_PORT", 22525),
    ("MAILCART_LAB_SMTPS_PORT", 22465),
];
const SHOP: &str = "orders@lindenclay.test";
/// Time limit for one network step (a reply, a connection).
const STEP: Duration = Duration::from_secs(60);

fn main() {
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("live bench: {e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    // Whichever ends first, the other future is dropped, and with it the guards that stop
    // mailcart, perf and the lab.
    let outcome = runtime.block_on(async {
        tokio::select! {
            r = bench(&settings) => r,
            s = interrupted() => Err(format!("interrupted by {s}").into()),
        }
    });
    drop(runtime);
    match outcome {
        Ok(report) => print!("{report}"),
        Err(e) => {
            eprintln!("live bench failed: {e}");
            std::process::exit(1);
        }
    }
}

struct Settings {
    n: usize,
    latency_n: usize,
    rate: f64,
    submit_connections: usize,
    connections: usize,
    perf: Option<PathBuf>,
    clean: bool,
}

impl Settings {
    fn from_env() -> Res<Settings> {
        fn number(name: &str, default: usize) -> Res<usize> {
            match std::env::var(name) {
                Ok(v) => v
                    .trim()
                    .parse()
                    .map_err(|_| format!("{name}={v:?} is not a number").into()),
                Err(_) => Ok(default),
            }
        }
        let connections = number("MAILCART_BENCH_LIVE_CONNECTIONS", 2)?;
        let n = number("MAILCART_BENCH_LIVE_N", 10_000)?;
        if connections == 0 || n == 0 {
            fail!("MAILCART_BENCH_LIVE_N and MAILCART_BENCH_LIVE_CONNECTIONS must be at least 1");
        }
        let rate = match std::env::var("MAILCART_BENCH_LIVE_RATE") {
            Ok(v) => match v.trim().parse::<f64>() {
                Ok(r) if r > 0.0 && r.is_finite() => r,
                _ => fail!("MAILCART_BENCH_LIVE_RATE={v:?} is not a positive number"),
            },
            Err(_) => 50.0,
        };
        // Postfix takes an order in a few ms on a quiet machine: a connection for every 5/s
        // leaves each 200 ms a transaction, so that a busy machine still keeps the rate.
        let submit_connections = number(
            "MAILCART_BENCH_LIVE_SUBMIT_CONNECTIONS",
            ((rate / 5.0).ceil() as usize).max(2),
        )?
        .max(1);
        Ok(Settings {
            n,
            latency_n: number("MAILCART_BENCH_LIVE_LATENCY_N", 500)?.max(1),
            rate,
            submit_connections,
            connections,
            perf: std::env::var_os("MAILCART_BENCH_LIVE_PERF").map(PathBuf::from),
            clean: std::env::var("MAILCART_BENCH_LIVE_CLEAN").is_ok_and(|v| v == "1"),
        })
    }
}

async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        },
        _ => std::future::pending().await,
    }
}

async fn bench(s: &Settings) -> Res<String> {
    let bin = mailcart_binary()?;
    eprintln!("live bench: mailcart binary {}", bin.display());
    eprintln!("live bench: starting a fresh lab in {LAB_DIR}");
    let lab = Lab::start(s.clean)?;
    let disk = settle_disk()?;
    let latency = latency_phase(s, &lab, &bin).await?;
    let backlog = backlog_phase(s, &lab, &bin, &latency.quote_sample).await?;
    Ok(format!(
        "{}  disk before the stream: fsync of 4 KiB p50 {:.1} ms, after waiting {:.0} s for it \
         to come under {SETTLED_FSYNC_MS} ms{}\n",
        report(s, &latency, &backlog),
        disk.fsync_ms,
        disk.waited.as_secs_f64(),
        if disk.settled {
            ""
        } else {
            " (it never did: the figures are of a busy disk)"
        },
    ))
}

/// Median fsync time (ms) under which the disk counts as at rest.
const SETTLED_FSYNC_MS: f64 = 2.0;

struct Disk {
    fsync_ms: f64,
    waited: Duration,
    settled: bool,
}

/// Wait (at most 3 minutes) until the disk is at rest: Postfix, Dovecot and mailcart all fsync
/// on every message, so a disk still busy with earlier work (the lab's reset deletes the last
/// run's files) would be measured with them. A guard, and a figure printed with the report: in
/// the six runs of 2026-12-01 that had it the disk was at rest (0.3-0.5 ms), the slow ones too. At
/// rest: `sync`, then ten fsyncs of a 4 KiB file take under `SETTLED_FSYNC_MS` at the median.
fn settle_disk() -> Res<Disk> {
    use std::io::Write;
    let start = Instant::now();
    let probe = Path::new(LAB_DIR).join("fsync-probe");
    loop {
        let _ = Command::new("sync").status();
        let mut times = Vec::with_capacity(10);
        let mut f = std::fs::File::create(&probe)?;
        for _ in 0..10 {
            f.write_all(&[0u8; 4096])?;
            let t = Instant::now();
            f.sync_all()?;
            times.push(ms(t.elapsed()));
        }
        drop(f);
        let p50 = percentile(&sorted(&times), 0.5);
        let waited = start.elapsed();
        if p50 < SETTLED_FSYNC_MS || waited > Duration::from_secs(180) {
            let _ = std::fs::remove_file(&probe);
            eprintln!(
                "live bench: disk fsync p50 {p50:.1} ms after {:.0} s",
                waited.as_secs_f64()
            );
            return Ok(Disk {
                fsync_ms: p50,
                waited,
                settled: p50 < SETTLED_FSYNC_MS,
            });
        }
        std::thread::sleep(Duration::from_secs(5));
    }
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The release binary: Cargo builds it for benches and says where; otherwise it is built here.
fn mailcart_binary() -> Res<PathBuf> {
    if let Some(p) = option_env!("CARGO_BIN_EXE_mailcart")
        && Path::new(p).is_file()
    {
        return Ok(PathBuf::from(p));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"));
    let path = target.join("release/mailcart");
    if !path.is_file() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--release", "--bin", "mailcart"])
            .current_dir(repo())
            .status()?;
        if !status.success() || !path.is_file() {
            fail!("cargo build --release --bin mailcart failed ({status})");
        }
    }
    Ok(path)
}

// ---------------------------------------------------------------------------------------------
// The lab, the shop workspace, the daemon
// ---------------------------------------------------------------------------------------------

/// This bench's own lab; stopped when dropped.
struct Lab {
    env: HashMap<String, String>,
    clean: bool,
}

impl Lab {
    fn script(name: &str) -> Command {
        let mut c = Command::new(repo().join("tests/lab").join(name));
        c.env("MAILCART_LAB_DIR", LAB_DIR)
            .env_remove("MAILCART_LAB_LOCKED")
            .stdin(Stdio::null());
        for (k, v) in LAB_PORTS {
            c.env(k, v.to_string());
        }
        c
    }

    fn run(mut c: Command, what: &str) -> Res<()> {
        let out = c.output()?;
        if !out.status.success() {
            fail!(
                "{what} failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    fn start(clean: bool) -> Res<Lab> {
        // The guard first, so that a start that fails half-way is stopped too.
        let mut lab = Lab {
            env: HashMap::new(),
            clean,
        };
        // Every run on a fresh lab: what an earlier run left (mail, queue, logs) goes first.
        if Path::new(LAB_DIR).exists() {
            let mut stop = Lab::script("stop");
            stop.arg("--clean");
            Lab::run(stop, "tests/lab/stop --clean")?;
        }
        Lab::run(Lab::script("start"), "tests/lab/start")?;
        lab.env = std::fs::read_to_string(Path::new(LAB_DIR).join("env"))?
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Ok(lab)
    }

    fn port(&self, key: &str) -> Res<u16> {
        match self.env.get(key).map(|v| v.parse()) {
            Some(Ok(p)) => Ok(p),
            _ => fail!("{LAB_DIR}/env has no usable {key}"),
        }
    }

    fn imap(&self) -> Res<u16> {
        self.port("LAB_IMAP_PORT")
    }

    fn smtp(&self) -> Res<u16> {
        self.port("LAB_SMTP_PORT")
    }

    fn password(&self) -> &str {
        self.env
            .get("LAB_PASSWORD")
            .map(String::as_str)
            .unwrap_or("labpass")
    }

    /// Messages in Postfix's queue not yet delivered (maildrop, incoming, active), and deferred.
    fn queued(&self) -> (usize, usize) {
        fn files(dir: &Path) -> usize {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return 0;
            };
            entries
                .flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => files(&e.path()),
                    Ok(_) => 1,
                    Err(_) => 0,
                })
                .sum()
        }
        let queue = Path::new(LAB_DIR).join("postfix-queue");
        let waiting = ["maildrop", "incoming", "active"]
            .iter()
            .map(|q| files(&queue.join(q)))
            .sum();
        (waiting, files(&queue.join("deferred")))
    }

    /// Until Postfix has delivered everything it holds, so that one step's deliveries do not
    /// compete with the next step.
    async fn drain_queue(&self) -> Res<Duration> {
        let start = Instant::now();
        loop {
            let (waiting, deferred) = self.queued();
            if waiting == 0 {
                if deferred > 0 {
                    eprintln!("live bench: warning: {deferred} message(s) deferred by Postfix");
                }
                return Ok(start.elapsed());
            }
            if start.elapsed() > Duration::from_secs(900) {
                fail!("Postfix still holds {waiting} message(s) after 15 minutes");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let mut stop = Lab::script("stop");
        if self.clean {
            stop.arg("--clean");
        }
        match Lab::run(stop, "tests/lab/stop") {
            Ok(()) => eprintln!("live bench: lab stopped"),
            Err(e) => eprintln!("live bench: {e}"),
        }
    }
}

/// A mailcart workspace (config, database) in a temporary directory.
struct Shop {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Shop {
    fn new(bin: &Path, lab: &Lab, mailbox: &str, smtp_port: u16, connections: usize) -> Res<Shop> {
        let keep = std::env::var("MAILCART_BENCH_LIVE_KEEP").is_ok_and(|v| v == "1");
        let dir = tempfile::Builder::new()
            .prefix("mc-bench-live-")
            .disable_cleanup(keep)
            .tempdir()?;
        if keep {
            eprintln!("live bench: workspace kept: {}", dir.path().display());
        }
        let shop = Shop {
            dir,
            bin: bin.to_path_buf(),
        };
        shop.cli(&["init", path_str(shop.dir.path())?])?;
        let config = shop.dir.path().join("config.toml");
        let mut text = common::without_global_reply_cap(&std::fs::read_to_string(&config)?);
        text.push_str(&format!(
            "\n[imap]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nusername = \"{SHOP}\"\n\
             password = \"{}\"\nmailbox = \"{mailbox}\"\ntimeout_seconds = 60\n\n\
             [smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\ntls = \"none\"\n\
             timeout_seconds = 60\nconnections = {connections}\n",
            lab.imap()?,
            lab.password(),
        ));
        std::fs::write(&config, text)?;
        // The fixture catalog with plenty of stock: no order runs short.
        let rewritten = common::stocked_catalog_csv("1000000");
        let catalog = shop.dir.path().join("catalog.csv");
        std::fs::write(&catalog, rewritten)?;
        shop.cli(&["inventory", "import", path_str(&catalog)?])?;
        Ok(shop)
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    fn cli(&self, args: &[&str]) -> Res<String> {
        let out = Command::new(&self.bin)
            .arg("--config")
            .arg(self.config())
            .args(args)
            .stdin(Stdio::null())
            .output()?;
        if !out.status.success() {
            fail!(
                "mailcart {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn start(&self) -> Res<Daemon> {
        let log_path = self.dir.path().join("run.log");
        let log = std::fs::File::create(&log_path)?;
        let child = Command::new(&self.bin)
            .arg("--config")
            .arg(self.config())
            .arg("run")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Its own process group: a Ctrl-C reaches the bench, which stops it in order.
            .process_group(0)
            .spawn()?;
        Ok(Daemon {
            child: Some(child),
            log: log_path,
        })
    }

    /// From `mailcart status --json`.
    fn status(&self) -> Res<Status> {
        let v: serde_json::Value = serde_json::from_str(&self.cli(&["status", "--json"])?)?;
        let states = v["orders"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let held = v["held_for_a_person"].as_u64().unwrap_or(u64::MAX);
        let paused = v["paused"].as_array().map_or(usize::MAX, Vec::len);
        Ok(Status {
            text: format!(
                "orders: {states}; outbox: {}; held for a person: {held}; paused: {paused}",
                v["outbox"]
            ),
            held,
            paused,
        })
    }
}

/// The end state of a shop: every generated order should be answered, none held or paused
/// by the loop breaker.
struct Status {
    text: String,
    held: u64,
    paused: usize,
}

fn path_str(p: &Path) -> Res<&str> {
    p.to_str()
        .ok_or_else(|| format!("path {} is not UTF-8", p.display()).into())
}

/// `mailcart run`; stopped (SIGTERM, then SIGKILL) when dropped.
struct Daemon {
    child: Option<Child>,
    log: PathBuf,
}

impl Daemon {
    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(25)..].join("\n")
    }

    /// An error (with the end of its log) when the daemon has exited.
    fn alive(&mut self) -> Res<()> {
        if let Some(child) = self.child.as_mut()
            && let Some(status) = child.try_wait()?
        {
            self.child = None;
            fail!(
                "mailcart run exited ({status}); its log ends:\n{}",
                self.log_tail()
            );
        }
        Ok(())
    }

    /// CPU time used so far (user + system), in seconds.
    fn cpu_secs(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).ok()?;
        // After the command name in parentheses: state is field 3, utime 14 and stime 15.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        // USER_HZ, 100 on every Linux platform in practice.
        Some(ticks as f64 / 100.0)
    }

    /// Peak resident set size so far (VmHWM), in KiB.
    fn peak_rss_kb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    }

    /// SIGTERM, as a service manager would, and wait for a clean exit.
    fn stop(&mut self) -> Res<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait()? {
                if !status.success() {
                    fail!("mailcart run exited with {status}:\n{}", self.log_tail());
                }
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                fail!("mailcart run did not stop within 30 s of SIGTERM; killed");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.is_some()
            && let Err(e) = self.stop()
        {
            eprintln!("live bench: {e}");
        }
    }
}

/// `perf record` attached to a process; stopped (SIGINT, so that it writes its file) on drop.
struct Perf(Option<Child>);

impl Perf {
    fn attach(pid: u32, out: &Path) -> Res<Perf> {
        let child = Command::new("perf")
            .args(["record", "-g", "-F", "999", "-p", &pid.to_string(), "-o"])
            .arg(out)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        Ok(Perf(Some(child)))
    }
}

impl Drop for Perf {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = Command::new("kill")
                .arg("-INT")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Aborts a background task when dropped.
struct Task(tokio::task::JoinHandle<()>);

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

// ---------------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------------

const NAMES: &[&str] = &[
    "Pat Okafor",
    "Lee Chen",
    "Zoe Muller",
    "Ana Garcia",
    "Sam Taylor",
    "Yuki Tanaka",
    "Jean Dupont",
    "Ola Nordmann",
];
const ITEMS: &[&str] = &[
    "Blue Mug",
    "Green Speckled Mug",
    "Small Rice Bowl",
    "large bowl",
    "Bud Vase",
    "Dinner Plate",
    "sake cups",
    "Soy Candle",
    "tea towels",
    "Ramen Bowl",
    "Cast Iron Teapot",
    "side plates",
];
const ADDRESSES: &[&str] = &[
    "Ship to:\n{name}\n41 Linden Avenue\nPortland, OR 97205\nUSA",
    "Deliver to: {name}, 12 Rue Oberkampf, 75011 Paris, France",
    "Lieferadresse:\n{name}\nInvalidenstrasse 117\n10115 Berlin\nDeutschland",
    "{name}\n221B Baker Street\nLondon NW1 6XE\nUnited Kingdom",
    "Address:\n{name}\n350 King St W\nToronto ON M5V 3X5\nCanada",
];

/// Order `i` of a series: (customer address, raw message with CRLF line ends). Every one
/// names 1-3 distinct items (at most 2 of each, so no total reaches the approval threshold)
/// and a full address: each is answered with exactly one quote. The customer is an address
/// of its own (the reply limit is per correspondent) outside the lab's domains, so the quote
/// lands in the lab's sink mailbox.
fn order(series: &str, i: usize) -> (String, Vec<u8>) {
    let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut next = |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    let name = NAMES[next(NAMES.len())];
    let mut body = String::from("Hello,\n\n");
    let first = next(ITEMS.len());
    for k in 0..1 + next(3) {
        let item = ITEMS[(first + k * 5) % ITEMS.len()];
        let q = 1 + next(2);
        body.push_str(&match next(5) {
            0 => format!("{q} x {item}"),
            1 => format!("{item} x{q}"),
            2 => format!("- {q} {item}"),
            3 => format!("{item} - qty: {q}"),
            _ => format!("Qty {q} - {item}"),
        });
        body.push('\n');
    }
    body.push('\n');
    body.push_str(&ADDRESSES[next(ADDRESSES.len())].replace("{name}", name));
    body.push_str(&format!("\n\nThanks,\n{name}\n"));
    let customer = format!("{series}{i}@elsewhere.test");
    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default();
    let raw = format!(
        "From: {name} <{customer}>\nTo: Linden Clay Studio <{SHOP}>\nSubject: Order\n\
         Message-ID: <{series}-{i}.{}@elsewhere.test>\nDate: {date}\nMIME-Version: 1.0\n\
         Content-Type: text/plain; charset=utf-8\n\n{body}",
        std::process::id()
    );
    (customer, raw.replace('\n', "\r\n").into_bytes())
}

/// A copy of a captured reply (already in SMTP's dot-stuffed form) with a Message-ID of its own.
fn with_message_id(template: &[u8], id: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(template);
    let mut out = String::with_capacity(text.len() + 64);
    let mut replaced = false;
    let mut in_header = true;
    for line in text.split_inclusive("\r\n") {
        if line == "\r\n" {
            in_header = false;
        }
        if in_header
            && !replaced
            && line.len() > 11
            && line[..11].eq_ignore_ascii_case("message-id:")
        {
            out.push_str(&format!("Message-ID: <{id}>\r\n"));
            replaced = true;
        } else {
            out.push_str(line);
        }
    }
    if !replaced {
        out.insert_str(0, &format!("Message-ID: <{id}>\r\n"));
    }
    out.into_bytes()
}

// ---------------------------------------------------------------------------------------------
// A minimal SMTP client
// ---------------------------------------------------------------------------------------------

struct SmtpClient {
    r: BufReader<OwnedReadHalf>,
    w: BufWriter<OwnedWriteHalf>,
}

impl SmtpClient {
    async fn connect(port: u16) -> Res<SmtpClient> {
        let stream = tokio::time::timeout(STEP, TcpStream::connect(("127.0.0.1", port))).await??;
        stream.set_nodelay(true)?;
        let (r, w) = stream.into_split();
        let mut c = SmtpClient {
            r: BufReader::new(r),
            w: BufWriter::new(w),
        };
        c.expect(220).await?;
        c.command("EHLO bench.elsewhere.test", 250).await?;
        Ok(c)
    }

    /// One reply (all its lines): its code and text.
    async fn reply(&mut self) -> Res<(u16, String)> {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            if tokio::time::timeout(STEP, self.r.read_line(&mut line)).await?? == 0 {
                fail!("the SMTP server closed the connection");
            }
            let b = line.as_bytes();
            if b.len() < 4 || !b[..3].iter().all(u8::is_ascii_digit) {
                fail!("unreadable SMTP reply {line:?}");
            }
            text.push_str(&line);
            if b[3] != b'-' {
                return Ok((line[..3].parse()?, text));
            }
        }
    }

    async fn expect(&mut self, code: u16) -> Res<()> {
        let (got, text) = self.reply().await?;
        if got != code {
            fail!("SMTP: wanted {code}, got {}", text.trim_end());
        }
        Ok(())
    }

    async fn command(&mut self, command: &str, code: u16) -> Res<()> {
        self.w.write_all(command.as_bytes()).await?;
        self.w.write_all(b"\r\n").await?;
        self.w.flush().await?;
        self.expect(code).await
    }

    /// One transaction, one command at a time; returns when the server's `250` to the data
    /// was read. `data` must be dot-stuffed and end with CRLF.
    async fn send(&mut self, from: &str, to: &[&str], data: &[u8]) -> Res<Instant> {
        self.command(&format!("MAIL FROM:<{from}>"), 250).await?;
        for to in to {
            self.command(&format!("RCPT TO:<{to}>"), 250).await?;
        }
        self.command("DATA", 354).await?;
        self.w.write_all(data).await?;
        self.w.write_all(b".\r\n").await?;
        self.w.flush().await?;
        self.expect(250).await?;
        Ok(Instant::now())
    }

    async fn quit(mut self) {
        let _ = self.command("QUIT", 221).await;
    }
}

// ---------------------------------------------------------------------------------------------
// A minimal IMAP client
// ---------------------------------------------------------------------------------------------

struct ImapClient {
    r: BufReader<OwnedReadHalf>,
    w: OwnedWriteHalf,
    tag: u32,
}

impl ImapClient {
    async fn login(port: u16, password: &str) -> Res<ImapClient> {
        ImapClient::login_as(port, SHOP, password).await
    }

    async fn login_as(port: u16, user: &str, password: &str) -> Res<ImapClient> {
        let stream = tokio::time::timeout(STEP, TcpStream::connect(("127.0.0.1", port))).await??;
        stream.set_nodelay(true)?;
        let (r, w) = stream.into_split();
        let mut c = ImapClient {
            r: BufReader::new(r),
            w,
            tag: 0,
        };
        let greeting = c.line().await?;
        if !greeting.starts_with("* OK") {
            fail!("IMAP greeting {greeting:?}");
        }
        c.command(&format!("LOGIN \"{user}\" \"{password}\""))
            .await?;
        Ok(c)
    }

    async fn line(&mut self) -> Res<String> {
        let mut line = String::new();
        if tokio::time::timeout(STEP, self.r.read_line(&mut line)).await?? == 0 {
            fail!("the IMAP server closed the connection");
        }
        Ok(line)
    }

    /// Send a command and read to its tagged completion; the untagged lines in between.
    async fn command(&mut self, command: &str) -> Res<Vec<String>> {
        self.tag += 1;
        let tag = format!("b{} ", self.tag);
        self.w
            .write_all(format!("{tag}{command}\r\n").as_bytes())
            .await?;
        let mut untagged = Vec::new();
        loop {
            let line = self.line().await?;
            if let Some(rest) = line.strip_prefix(&tag) {
                if rest.starts_with("OK") {
                    return Ok(untagged);
                }
                fail!("IMAP {command:?}: {}", rest.trim_end());
            }
            untagged.push(line);
        }
    }

    /// APPEND `count` messages: MULTIAPPEND commands of `PER_APPEND` messages each (one
    /// transaction, so one round of fsyncs, per command in Dovecot), with non-synchronising
    /// literals (LITERAL+) so that the writer never waits; a reader task collects the answers.
    async fn append_all(
        mut self,
        folder: &str,
        count: usize,
        message: impl Fn(usize) -> Vec<u8>,
    ) -> Res<()> {
        const PER_APPEND: usize = 250;
        let caps = self.command("CAPABILITY").await?.concat();
        for cap in ["LITERAL+", "MULTIAPPEND"] {
            if !caps.contains(cap) {
                fail!("the IMAP server does not offer {cap}: {caps}");
            }
        }
        let commands = count.div_ceil(PER_APPEND);
        let ImapClient { mut r, w, .. } = self;
        let reader = tokio::spawn(async move {
            let mut done = 0;
            let mut line = String::new();
            while done < commands {
                line.clear();
                if tokio::time::timeout(STEP, r.read_line(&mut line)).await?? == 0 {
                    return Err::<(), Error>("the IMAP server closed the connection".into());
                }
                if let Some(rest) = line.strip_prefix('a') {
                    match rest.split(' ').nth(1) {
                        Some("OK") => done += 1,
                        _ => return Err(format!("APPEND: {}", line.trim_end()).into()),
                    }
                }
            }
            Ok(())
        });
        let mut w = BufWriter::with_capacity(1 << 16, w);
        for c in 0..commands {
            w.write_all(format!("a{c} APPEND \"{folder}\"").as_bytes())
                .await?;
            for i in c * PER_APPEND..count.min((c + 1) * PER_APPEND) {
                let m = message(i);
                w.write_all(format!(" {{{}+}}\r\n", m.len()).as_bytes())
                    .await?;
                w.write_all(&m).await?;
            }
            w.write_all(b"\r\n").await?;
        }
        w.flush().await?;
        reader.await??;
        w.write_all(b"z LOGOUT\r\n").await?;
        w.flush().await?;
        Ok(())
    }
}

/// Our own IMAP session IDLE on the watch mailbox (`WATCH`), which every order is also
/// addressed to and which nothing else touches: the instant Dovecot announces each message to
/// an IDLE session, by Message-ID.
///
/// Like mailcart's session, it leaves IDLE as soon as it is told of new mail, fetches it, and
/// goes back to IDLE. It fetches the messages the announcement covers by sequence number (the
/// folder is never expunged, so the numbers are stable) and only their Message-ID header, with
/// BODY.PEEK (no flag changes of its own to be announced). A new EXISTS read while out of
/// IDLE (during DONE or the FETCH) is an announcement too, timed when read.
struct StreamWatch {
    c: ImapClient,
    count: u64,
    /// Message-ID (without <>) -> when it was announced.
    told: HashMap<String, Instant>,
    /// Announced sequence numbers not fetched yet: (first, last, when).
    pending: Vec<(u64, u64, Instant)>,
}

impl StreamWatch {
    async fn start(port: u16, user: &str, password: &str) -> Res<StreamWatch> {
        let mut c = ImapClient::login_as(port, user, password).await?;
        let mut count = 0;
        for line in c.command("SELECT INBOX").await? {
            if let Some(n) = exists(&line) {
                count = n;
            }
        }
        Ok(StreamWatch {
            c,
            count,
            told: HashMap::new(),
            pending: Vec::new(),
        })
    }

    async fn line(&mut self, limit: Duration) -> Res<Option<String>> {
        let mut line = String::new();
        match tokio::time::timeout(limit, self.c.r.read_line(&mut line)).await {
            Err(_) => Ok(None),
            Ok(Err(e)) => Err(e.into()),
            Ok(Ok(0)) => fail!("the IMAP server closed the watch connection"),
            Ok(Ok(_)) => {
                let at = Instant::now();
                if let Some(n) = exists(&line)
                    && n > self.count
                {
                    self.pending.push((self.count + 1, n, at));
                    self.count = n;
                }
                Ok(Some(line))
            }
        }
    }

    /// Read to the line starting with `tag`; error unless it is OK.
    async fn until_tagged(&mut self, tag: &str, seq: &mut Option<(u64, Instant)>) -> Res<()> {
        loop {
            let Some(line) = self.line(STEP).await? else {
                fail!("watch: no answer to {tag}");
            };
            if let Some(rest) = line.strip_prefix(tag) {
                if rest.starts_with(" OK") {
                    return Ok(());
                }
                fail!("watch: {tag}: {}", line.trim_end());
            }
            if let Some((_, at)) = *seq
                && let Some(id) = message_id_header(&line)
            {
                self.told.entry(id).or_insert(at);
            }
            if let Some(n) = fetch_seq(&line) {
                *seq = self.pending_at(n).map(|at| (n, at));
            }
        }
    }

    fn pending_at(&self, n: u64) -> Option<Instant> {
        self.pending
            .iter()
            .find(|(a, b, _)| (*a..=*b).contains(&n))
            .map(|p| p.2)
    }

    /// Watch until `stop` is set; then what it was told.
    async fn run(
        mut self,
        stop: Arc<std::sync::atomic::AtomicBool>,
    ) -> Res<HashMap<String, Instant>> {
        use std::sync::atomic::Ordering;
        loop {
            if self.pending.is_empty() {
                self.c.w.write_all(b"i IDLE\r\n").await?;
                let mut idling = false;
                while self.pending.is_empty() {
                    match self.line(Duration::from_millis(200)).await? {
                        Some(l) if l.starts_with('+') => idling = true,
                        Some(l) if l.starts_with("i ") => fail!("watch: IDLE: {}", l.trim_end()),
                        Some(_) => {}
                        None if stop.load(Ordering::Relaxed) && idling => break,
                        None => {}
                    }
                }
                if !idling {
                    // Told before the server's "+": read it, then leave.
                    loop {
                        match self.line(STEP).await? {
                            Some(l) if l.starts_with('+') => break,
                            Some(_) => {}
                            None => fail!("watch: no answer to IDLE"),
                        }
                    }
                }
                self.c.w.write_all(b"DONE\r\n").await?;
                self.until_tagged("i", &mut None).await?;
                if self.pending.is_empty() {
                    return Ok(self.told);
                }
            }
            let (first, last) = (self.pending[0].0, self.pending.last().map_or(0, |p| p.1));
            self.c.tag += 1;
            let tag = format!("b{}", self.c.tag);
            self.c
                .w
                .write_all(
                    format!(
                        "{tag} FETCH {first}:{last} (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])\r\n"
                    )
                    .as_bytes(),
                )
                .await?;
            let mut seq = None;
            self.until_tagged(&tag, &mut seq).await?;
            self.pending.retain(|p| p.0 > last);
        }
    }
}

/// `n` of an untagged `* n FETCH (` line.
fn fetch_seq(line: &str) -> Option<u64> {
    let (n, rest) = line.strip_prefix("* ")?.split_once(' ')?;
    rest.starts_with("FETCH (")
        .then(|| n.parse().ok())
        .flatten()
}

/// The value of a `Message-ID:` header line, without the angle brackets.
fn message_id_header(line: &str) -> Option<String> {
    let value = line
        .get(..11)?
        .eq_ignore_ascii_case("message-id:")
        .then(|| &line[11..])?;
    let value = value.trim();
    Some(
        value
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_string(),
    )
}

fn exists(line: &str) -> Option<u64> {
    line.strip_prefix("* ")?
        .trim_end()
        .strip_suffix(" EXISTS")?
        .parse()
        .ok()
}

// ---------------------------------------------------------------------------------------------
// The SMTP relay in front of Postfix
// ---------------------------------------------------------------------------------------------

/// A message the MTA accepted through the relay.
struct Accepted {
    at: Instant,
    rcpts: Vec<String>,
    data: Vec<u8>,
    /// When the client's MAIL FROM came through.
    mail_from: Option<Instant>,
    /// When its first line of data, and the end-of-data line ("."), came through.
    data_from: Option<Instant>,
    data_end: Option<Instant>,
}

#[derive(Default)]
struct Transaction {
    rcpts: Vec<String>,
    data: Vec<u8>,
    in_data: bool,
    awaiting: bool,
    mail_from: Option<Instant>,
    data_from: Option<Instant>,
    data_end: Option<Instant>,
}

/// Listen on an ephemeral loopback port and relay every connection to `upstream` byte for
/// byte, noting each transaction the upstream server accepts.
async fn smtp_relay(upstream: u16) -> Res<(u16, mpsc::UnboundedReceiver<Accepted>, Task)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                if let Err(e) = relay(client, upstream, tx).await {
                    eprintln!("live bench: SMTP relay: {e}");
                }
            });
        }
    });
    Ok((port, rx, Task(task)))
}

async fn relay(client: TcpStream, upstream: u16, tx: mpsc::UnboundedSender<Accepted>) -> Res<()> {
    let server = TcpStream::connect(("127.0.0.1", upstream)).await?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let state = Arc::new(Mutex::new(Transaction::default()));
    let (up, down) = tokio::join!(
        pump(cr, sw, state.clone(), None),
        pump(sr, cw, state, Some(tx))
    );
    up.and(down)
}

/// Copy one direction, reading its lines on the way: the client's commands and data (no
/// `replies`), or the server's replies (with `replies`, where accepted transactions go).
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    state: Arc<Mutex<Transaction>>,
    replies: Option<mpsc::UnboundedSender<Accepted>>,
) -> Res<()> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut partial: Vec<u8> = Vec::new();
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return Ok(());
            }
            Ok(n) => n,
        };
        let at = Instant::now();
        partial.extend_from_slice(&buf[..n]);
        {
            let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
            let mut start = 0;
            while let Some(end) = partial[start..].iter().position(|&b| b == b'\n') {
                let line = &partial[start..start + end + 1];
                match &replies {
                    None => client_line(&mut st, line, at),
                    Some(tx) => server_line(&mut st, line, at, tx),
                }
                start += end + 1;
            }
            partial.drain(..start);
        }
        // Noted before it is passed on, so the other direction sees it in time.
        to.write_all(&buf[..n]).await?;
    }
}

fn client_line(st: &mut Transaction, line: &[u8], at: Instant) {
    let bare = line.strip_suffix(b"\n").unwrap_or(line);
    let bare = bare.strip_suffix(b"\r").unwrap_or(bare);
    if st.in_data {
        if bare == b"." {
            st.in_data = false;
            st.awaiting = true;
            st.data_end = Some(at);
        } else {
            st.data_from.get_or_insert(at);
            if st.data.len() < 1 << 20 {
                st.data.extend_from_slice(line);
            }
        }
        return;
    }
    let upper = String::from_utf8_lossy(bare).to_ascii_uppercase();
    if upper.starts_with("MAIL FROM:") || upper == "RSET" {
        st.rcpts.clear();
        st.data.clear();
        st.mail_from = Some(at);
        st.data_from = None;
        st.data_end = None;
    } else if upper.starts_with("RCPT TO:") {
        let text = String::from_utf8_lossy(bare);
        if let (Some(a), Some(b)) = (text.find('<'), text.find('>'))
            && a < b
        {
            st.rcpts.push(text[a + 1..b].to_ascii_lowercase());
        }
    } else if upper == "DATA" {
        st.in_data = true;
    }
}

fn server_line(
    st: &mut Transaction,
    line: &[u8],
    at: Instant,
    tx: &mpsc::UnboundedSender<Accepted>,
) {
    if line.len() < 4 || line[3] == b'-' {
        return;
    }
    if st.awaiting {
        st.awaiting = false;
        if line.starts_with(b"250") {
            let _ = tx.send(Accepted {
                at,
                rcpts: std::mem::take(&mut st.rcpts),
                data: std::mem::take(&mut st.data),
                mail_from: st.mail_from.take(),
                data_from: st.data_from.take(),
                data_end: st.data_end.take(),
            });
        }
    } else if st.in_data && st.data.is_empty() && !line.starts_with(b"354") {
        // DATA refused: the client sends no data.
        st.in_data = false;
    }
}

async fn recv_within<T>(rx: &mut mpsc::UnboundedReceiver<T>, limit: Duration) -> Option<T> {
    tokio::time::timeout(limit, rx.recv()).await.ok().flatten()
}

// ---------------------------------------------------------------------------------------------
// 1. Push latency
// ---------------------------------------------------------------------------------------------

/// The mailbox every order is also sent to, for `StreamWatch`: a lab user mailcart never
/// writes to (its customers here are outside the lab's domains).
const WATCH: &str = "kim@example.net";

struct Latency {
    total: Vec<f64>,
    floor: Vec<f64>,
    share: Vec<f64>,
    /// MTA took order -> its file in the watch's maildir, and from there to the MTA taking
    /// mailcart's reply: mailcart's share counted from delivery, not from an IDLE announcement.
    landed: Vec<f64>,
    from_landing: Vec<f64>,
    /// Orders whose delivered file was not found (no share from landing).
    unlanded: usize,
    not_quotes: usize,
    other_mail: usize,
    /// Orders the watch was never told of (no floor of their own).
    unpaired: usize,
    /// The reply's SMTP transaction through the relay (MAIL FROM to 250), and within it the
    /// time between the first line of data and the end-of-data line.
    smtp: Vec<f64>,
    data_gap: Vec<f64>,
    /// Measured orders: how late each submission began against its schedule, and the rate
    /// of their 250s.
    lateness: Vec<f64>,
    submit_rate: f64,
    submit_connections: usize,
    peak_rss_kb: Option<u64>,
    status: Status,
    load: (String, String),
    quote_sample: Vec<u8>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn signed_ms(later: Instant, earlier: Instant) -> f64 {
    if later >= earlier {
        ms(later - earlier)
    } else {
        -ms(earlier - later)
    }
}

/// An order's Message-ID without the angle brackets (as `order` writes it).
fn order_message_id(raw: &[u8]) -> Option<String> {
    String::from_utf8_lossy(raw)
        .split("\r\n")
        .take_while(|l| !l.is_empty())
        .find_map(message_id_header)
}

/// A submission of the stream: order index, when it was due, when it began, when Postfix took it.
type Submitted = (usize, Instant, Instant, Instant);

/// Orders `0..count` of `series` at `rate` a second from `start` on, over `connections`
/// connections: whichever is free takes the next order and sends it when it is due (at once if
/// late), so the stream does not wait on the replies.
async fn submit_stream(
    port: u16,
    series: &'static str,
    count: usize,
    rate: f64,
    connections: usize,
) -> Res<Vec<Submitted>> {
    let mut clients = Vec::with_capacity(connections);
    for _ in 0..connections {
        clients.push(SmtpClient::connect(port).await?);
    }
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now() + Duration::from_millis(100);
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            let next = next.clone();
            tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let due = start + Duration::from_secs_f64(i as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                    let began = Instant::now();
                    let (customer, raw) = order(series, i);
                    let t0 = client.send(&customer, &[WATCH, SHOP], &raw).await?;
                    done.push((i, due, began, t0));
                }
                client.quit().await;
                Ok::<_, Error>(done)
            })
        })
        .collect();
    let mut all = Vec::with_capacity(count);
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_by_key(|s| s.0);
    Ok(all)
}

async fn latency_phase(s: &Settings, lab: &Lab, bin: &Path) -> Res<Latency> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let load_before = loadavg();
    let (relay_port, mut accepted, _relay) = smtp_relay(lab.smtp()?).await?;
    let shop = Shop::new(bin, lab, "INBOX", relay_port, s.connections)?;
    let mut daemon = shop.start()?;
    let watch = StreamWatch::start(lab.imap()?, WATCH, lab.password()).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let watching = tokio::spawn(watch.run(stop.clone()));

    // One order first, alone: mailcart is up, has selected, is in IDLE; its quote is the
    // sample the backlog's limit sends.
    let mut smtp = SmtpClient::connect(lab.smtp()?).await?;
    let (customer, raw) = order("warm", 0);
    smtp.send(&customer, &[WATCH, SHOP], &raw).await?;
    smtp.quit().await;
    let mut other_mail = 0;
    let sample = loop {
        let Some(a) = recv_within(&mut accepted, 3 * STEP).await else {
            daemon.alive()?;
            fail!(
                "no reply to the first order; mailcart's log ends:\n{}",
                daemon.log_tail()
            );
        };
        if a.rcpts.contains(&customer) {
            break a.data;
        }
        other_mail += 1;
    };
    if !String::from_utf8_lossy(&sample).contains("[MC-") {
        fail!(
            "the first reply is not a quote:\n{}",
            String::from_utf8_lossy(&sample)
        );
    }

    // A second of unmeasured stream first, so that mailcart and the watch are in their
    // steady state when the measured orders come.
    let lead = s.rate.ceil() as usize;
    let count = lead + s.latency_n;
    let connections = s.submit_connections;
    eprintln!(
        "live bench: push latency, a stream of {count} orders at {}/s over {connections} SMTP \
         connection(s), the last {} measured",
        s.rate, s.latency_n
    );
    let submitted = submit_stream(lab.smtp()?, "lat", count, s.rate, connections).await?;

    // Every reply, by its recipient.
    let customers: HashMap<String, usize> = (0..count).map(|i| (order("lat", i).0, i)).collect();
    let mut replies: HashMap<usize, Accepted> = HashMap::new();
    while replies.len() < count {
        let Some(a) = recv_within(&mut accepted, STEP).await else {
            daemon.alive()?;
            fail!(
                "{} of {count} orders without a reply accepted by the MTA after {STEP:?} \
                 without one; mailcart's log ends:\n{}",
                count - replies.len(),
                daemon.log_tail()
            );
        };
        match a.rcpts.iter().find_map(|r| customers.get(r)) {
            Some(&i) => {
                replies.entry(i).or_insert(a);
            }
            None => other_mail += 1,
        }
    }
    // Whatever the watch is still to be told of comes within a second or so.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let told = watching.await??;
    let peak_rss_kb = daemon.peak_rss_kb();
    daemon.stop()?;
    let load_after = loadavg();

    let landings = landed_at(&Path::new(LAB_DIR).join("mail/example.net/kim"))?;
    // One reading of both clocks turns the maildir's wall-clock times into this process's
    // monotonic ones (the run is minutes long: no clock step to speak of).
    let (wall, mono) = (std::time::SystemTime::now(), Instant::now());
    let to_instant = |at: std::time::SystemTime| match wall.duration_since(at) {
        Ok(ago) => mono.checked_sub(ago),
        Err(e) => mono.checked_add(e.duration()),
    };
    let measured = &submitted[lead..];
    let mut out = Latency {
        total: Vec::new(),
        floor: Vec::new(),
        share: Vec::new(),
        landed: Vec::new(),
        from_landing: Vec::new(),
        unlanded: 0,
        not_quotes: 0,
        other_mail,
        unpaired: 0,
        smtp: Vec::new(),
        data_gap: Vec::new(),
        lateness: measured
            .iter()
            .map(|&(_, due, began, _)| ms(began.saturating_duration_since(due)))
            .collect(),
        submit_rate: match (measured.first(), measured.iter().map(|m| m.3).max()) {
            (Some(first), Some(last)) if measured.len() > 1 && last > first.3 => {
                (measured.len() - 1) as f64 / (last - first.3).as_secs_f64()
            }
            _ => f64::NAN,
        },
        submit_connections: connections,
        peak_rss_kb,
        status: shop.status()?,
        load: (load_before, load_after),
        quote_sample: sample,
    };
    for &(i, _, _, t0) in measured {
        let quote = &replies[&i];
        let text = String::from_utf8_lossy(&quote.data);
        if !(text.contains("[MC-") && text.contains("Total")) {
            out.not_quotes += 1;
        }
        if let (Some(m), Some(f), Some(e)) = (quote.mail_from, quote.data_from, quote.data_end) {
            out.smtp.push(ms(quote.at.saturating_duration_since(m)));
            out.data_gap.push(ms(e.saturating_duration_since(f)));
        }
        out.total.push(ms(quote.at - t0));
        let id = order_message_id(&order("lat", i).1).unwrap_or_default();
        match landings.get(&id).and_then(|&at| to_instant(at)) {
            Some(at) => {
                out.landed.push(signed_ms(at, t0));
                out.from_landing.push(signed_ms(quote.at, at));
            }
            None => out.unlanded += 1,
        }
        match told.get(&id) {
            Some(&tf) => {
                out.floor.push(signed_ms(tf, t0));
                out.share.push(signed_ms(quote.at, tf));
            }
            None => out.unpaired += 1,
        }
    }
    Ok(out)
}

/// When each message of a maildir landed, by Message-ID: Dovecot names a delivered file
/// `<seconds>.M<microseconds>P<pid>.<host>` after the moment it began writing it, and the file
/// becomes visible (is renamed into `new/`) a little later, after its fsync: so a share counted
/// from this moment is, if anything, a little long.
fn landed_at(maildir: &Path) -> Res<HashMap<String, std::time::SystemTime>> {
    let mut out = HashMap::new();
    for sub in ["new", "cur"] {
        let dir = maildir.join(sub);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let Some(at) = maildir_time(&name.to_string_lossy()) else {
                continue;
            };
            let mut head = vec![0; 8192];
            let n = std::io::Read::read(&mut std::fs::File::open(entry.path())?, &mut head)?;
            // Dovecot may store LF line ends: not `order_message_id`, which splits at CRLF.
            let text = String::from_utf8_lossy(&head[..n]);
            let id = text
                .lines()
                .take_while(|l| !l.is_empty())
                .find_map(message_id_header);
            if let Some(id) = id {
                out.insert(id, at);
            }
        }
    }
    Ok(out)
}

/// The time in a maildir file name `1733080000.M123456P789.host...`.
fn maildir_time(name: &str) -> Option<std::time::SystemTime> {
    let (secs, rest) = name.split_once(".M")?;
    let usecs: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let at = Duration::from_secs(secs.parse().ok()?) + Duration::from_micros(usecs.parse().ok()?);
    Some(std::time::UNIX_EPOCH + at)
}

/// /proc/loadavg's three figures.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------------------------
// 2. Backlog
// ---------------------------------------------------------------------------------------------

struct Backlog {
    append_secs: f64,
    limit_secs: f64,
    /// From the limit's last acceptance until Postfix had delivered them all.
    limit_drain_secs: f64,
    /// How busy the machine's CPUs were during the limit and during mailcart's run (0 to 1).
    limit_busy: f64,
    mailcart_busy: f64,
    mailcart_secs: f64,
    first_reply_secs: f64,
    all_taken_secs: f64,
    sent: i64,
    failed: i64,
    peak_rss_kb: Option<u64>,
    cpu_secs: Option<f64>,
    status: Status,
    load: (String, String),
}

#[derive(Default)]
struct Progress {
    taken: i64,
    sent: i64,
    failed: i64,
    unsent: i64,
}

fn progress(db: &rusqlite::Connection) -> rusqlite::Result<Progress> {
    db.query_row(
        "SELECT (SELECT COUNT(*) FROM messages),
                COALESCE(SUM(status = 'sent'), 0), COALESCE(SUM(status = 'failed'), 0),
                COALESCE(SUM(status IN ('pending', 'sending')), 0)
         FROM outbox",
        [],
        |r| {
            Ok(Progress {
                taken: r.get(0)?,
                sent: r.get(1)?,
                failed: r.get(2)?,
                unsent: r.get(3)?,
            })
        },
    )
}

async fn backlog_phase(s: &Settings, lab: &Lab, bin: &Path, template: &[u8]) -> Res<Backlog> {
    let load_before = loadavg();
    let n = s.n;
    let folder = format!("bench-{}", std::process::id());
    let imap = lab.imap()?;

    eprintln!("live bench: backlog: appending {n} orders to {folder} over IMAP");
    let mut c = ImapClient::login(imap, lab.password()).await?;
    c.command(&format!("CREATE \"{folder}\"")).await?;
    let start = Instant::now();
    c.append_all(&folder, n, |i| order("bl", i).1).await?;
    let append_secs = start.elapsed().as_secs_f64();
    let mut c = ImapClient::login(imap, lab.password()).await?;
    let status = c
        .command(&format!("STATUS \"{folder}\" (MESSAGES)"))
        .await?
        .concat();
    if !status.contains(&format!("(MESSAGES {n})")) {
        fail!("{folder} should hold {n} messages: {status}");
    }
    let _ = c.command("LOGOUT").await;
    lab.drain_queue().await?;

    eprintln!(
        "live bench: backlog: the limit, {n} quote-sized messages straight to Postfix over {} connection(s)",
        s.connections
    );
    let cpu = machine_cpu();
    let limit_secs = mta_limit(lab.smtp()?, n, s.connections, template).await?;
    let limit_busy = machine_busy_since(cpu);
    let drained = lab.drain_queue().await?;
    eprintln!(
        "live bench: backlog: Postfix delivered the rest {:.1} s after the last acceptance",
        drained.as_secs_f64()
    );

    eprintln!("live bench: backlog: mailcart run on {folder}");
    let shop = Shop::new(bin, lab, &folder, lab.smtp()?, s.connections)?;
    let db_path = shop.dir.path().join("mailcart.db");
    let cpu = machine_cpu();
    let start = Instant::now();
    let mut daemon = shop.start()?;
    let _perf = match &s.perf {
        Some(out) => Some(Perf::attach(daemon.pid(), out)?),
        None => None,
    };
    let db = rusqlite::Connection::open_with_flags(
        &db_path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    db.busy_timeout(Duration::from_secs(5))?;
    let n_i64 = i64::try_from(n)?;
    let mut first_reply = None;
    let mut all_taken = None;
    let mut last = Progress::default();
    let mut last_change = Instant::now();
    let mut next_note = Instant::now() + Duration::from_secs(10);
    let done = loop {
        daemon.alive()?;
        let p = progress(&db)?;
        let now = Instant::now();
        if first_reply.is_none() && p.sent > 0 {
            first_reply = Some(now - start);
        }
        if all_taken.is_none() && p.taken >= n_i64 {
            all_taken = Some(now - start);
        }
        if p.taken >= n_i64 && p.unsent == 0 && p.sent + p.failed > 0 {
            break now - start;
        }
        if (p.taken, p.sent, p.failed) != (last.taken, last.sent, last.failed) {
            last_change = now;
        }
        if now - last_change > Duration::from_secs(120) {
            fail!(
                "no progress for 2 minutes: {} taken, {} sent, {} failed, {} unsent; log ends:\n{}",
                p.taken,
                p.sent,
                p.failed,
                p.unsent,
                daemon.log_tail()
            );
        }
        if now > next_note {
            eprintln!(
                "live bench: backlog: {:.0} s: {} taken, {} replies sent",
                (now - start).as_secs_f64(),
                p.taken,
                p.sent
            );
            next_note = now + Duration::from_secs(10);
        }
        last = p;
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mailcart_busy = machine_busy_since(cpu);
    let p = progress(&db)?;
    drop(db);
    let peak_rss_kb = daemon.peak_rss_kb();
    let cpu_secs = daemon.cpu_secs();
    drop(_perf);
    daemon.stop()?;
    Ok(Backlog {
        append_secs,
        limit_secs,
        limit_drain_secs: drained.as_secs_f64(),
        limit_busy,
        mailcart_busy,
        mailcart_secs: done.as_secs_f64(),
        first_reply_secs: first_reply.unwrap_or_default().as_secs_f64(),
        all_taken_secs: all_taken.unwrap_or_default().as_secs_f64(),
        sent: p.sent,
        failed: p.failed,
        peak_rss_kb,
        cpu_secs,
        status: shop.status()?,
        load: (load_before, loadavg()),
    })
}

/// Seconds Postfix takes to accept `n` copies of `template` over `connections` connections
/// (opened beforehand, like mailcart's pool), one transaction at a time on each.
async fn mta_limit(port: u16, n: usize, connections: usize, template: &[u8]) -> Res<f64> {
    let mut clients = Vec::with_capacity(connections);
    for _ in 0..connections {
        clients.push(SmtpClient::connect(port).await?);
    }
    let template = Arc::new(template.to_vec());
    let start = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(c, mut client)| {
            let template = template.clone();
            tokio::spawn(async move {
                let pid = std::process::id();
                for i in (c..n).step_by(connections) {
                    let data = with_message_id(&template, &format!("limit-{i}.{pid}@bench.test"));
                    client
                        .send(SHOP, &[&format!("limit{i}@elsewhere.test")], &data)
                        .await?;
                }
                client.quit().await;
                Ok::<(), Error>(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    Ok(start.elapsed().as_secs_f64())
}

/// The whole machine's CPU time so far (busy, total), in ticks, from /proc/stat.
fn machine_cpu() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    let total: u64 = ticks.iter().sum();
    // idle and iowait are the 4th and 5th.
    let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// How busy the machine's CPUs were since `from` (0 to 1).
fn machine_busy_since(from: (u64, u64)) -> f64 {
    let (busy, total) = machine_cpu();
    (busy - from.0) as f64 / (total - from.1).max(1) as f64
}

// ---------------------------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------------------------

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn row(name: &str, values: &[f64]) -> String {
    let v = sorted(values);
    format!(
        "  {name:<44} {:>8.1} {:>8.1} {:>8.1} {:>8.1}\n",
        percentile(&v, 0.5),
        percentile(&v, 0.99),
        v.last().copied().unwrap_or(f64::NAN),
        v.first().copied().unwrap_or(f64::NAN)
    )
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn mib(kb: Option<u64>) -> String {
    kb.map_or("?".into(), |kb| format!("{:.1} MiB", kb as f64 / 1024.0))
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// "PASS"/"FAIL" and the figure as a ratio of its goal (under 1 is better for a ceiling,
/// over 1 for a floor).
fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

fn report(s: &Settings, l: &Latency, b: &Backlog) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "\nmailcart live bench (lab {LAB_DIR}; [smtp] connections = {}; {} cores)\n\n",
        s.connections,
        cores()
    ));
    out.push_str(&format!(
        "push latency, {} orders of a {}/s stream (ms)    p50      p99      max      min\n",
        l.total.len(),
        s.rate
    ));
    out.push_str(&row("total: MTA took order -> MTA took reply", &l.total));
    out.push_str(&row("floor: MTA took order -> IDLE session told", &l.floor));
    out.push_str(&row(
        "mailcart's share: IDLE told -> MTA took reply",
        &l.share,
    ));
    out.push_str(&row("landed: MTA took order -> file in maildir", &l.landed));
    out.push_str(&row(
        "mailcart's share from landing -> MTA took it",
        &l.from_landing,
    ));
    out.push_str(&row("  of which its SMTP send: MAIL FROM -> 250", &l.smtp));
    out.push_str(&row(
        "    within it: first data line -> final \".\"",
        &l.data_gap,
    ));
    out.push_str(&row("submission late against its schedule", &l.lateness));
    out.push_str(&format!(
        "  submitted at {:.1} orders/s over {} SMTP connection(s) (asked: {}/s)\n  \
         shares below 0 (mailcart took the order before Dovecot announced it: it lists the \
         mailbox again after each batch, and follows a stream): {}\n  orders the watch was \
         never told of (no share): {}; orders not found in the maildir: {}; replies that were not quotes: {}; other mail through the relay: {}\n  \
         peak RSS {}; load average {} before, {} after\n  {}\n\n",
        l.submit_rate,
        l.submit_connections,
        s.rate,
        l.share.iter().filter(|&&x| x < 0.0).count(),
        l.unpaired,
        l.unlanded,
        l.not_quotes,
        l.other_mail,
        mib(l.peak_rss_kb),
        l.load.0,
        l.load.1,
        l.status.text
    ));
    let n = s.n as f64;
    let limit = n / b.limit_secs;
    let mailcart = n / b.mailcart_secs;
    out.push_str(&format!("backlog, {} orders\n", s.n));
    out.push_str(&format!(
        "  {:<44} {:>8.0} msg/s ({:.1} s)\n",
        "IMAP APPEND into the folder (setup)",
        n / b.append_secs,
        b.append_secs
    ));
    out.push_str(&format!(
        "  {:<44} {:>8.0} msg/s ({:.1} s)\n",
        format!("limit: Postfix alone, {} connection(s)", s.connections),
        limit,
        b.limit_secs
    ));
    out.push_str(&format!(
        "  {:<44} {:>8.0} orders/s ({:.1} s; first reply at {:.2} s, all taken at {:.1} s)\n",
        "mailcart run: start -> every reply accepted",
        mailcart,
        b.mailcart_secs,
        b.first_reply_secs,
        b.all_taken_secs
    ));
    out.push_str(&format!(
        "  {:<44} {:>8.2}\n",
        "ratio mailcart / limit",
        mailcart / limit
    ));
    // The limit's deliveries lag behind its acceptances (the queue grows, and is drained
    // after); mailcart's slower stream is delivered as it goes, on the same CPUs.
    let sustained = n / (b.limit_secs + b.limit_drain_secs);
    out.push_str(&format!(
        "  {:<44} {:>8.0} msg/s (accepted in {:.1} s, all delivered {:.1} s later)\n",
        "  for context: the limit until all delivered", sustained, b.limit_secs, b.limit_drain_secs
    ));
    out.push_str(&format!(
        "  {:<44} {:>8.2}\n",
        "  ratio mailcart / that",
        mailcart / sustained
    ));
    out.push_str(&format!(
        "  {:<44} {:>8}\n",
        "mailcart peak RSS (VmHWM)",
        mib(b.peak_rss_kb)
    ));
    out.push_str(&format!(
        "  {:<44} {:>8}\n",
        "mailcart CPU (user + system) / wall time",
        b.cpu_secs.map_or("?".into(), |c| format!(
            "{:.1} s / {:.1} s = {:.0}% of one core",
            c,
            b.mailcart_secs,
            100.0 * c / b.mailcart_secs
        ))
    ));
    out.push_str(&format!(
        "  {:<44} {:>7.0}% during the limit, {:.0}% during mailcart's run\n",
        format!("machine CPU busy ({} cores, all processes)", cores()),
        100.0 * b.limit_busy,
        100.0 * b.mailcart_busy
    ));
    out.push_str(&format!(
        "  replies sent {}, failed {}; load average {} before, {} after\n  {}\n\n",
        b.sent, b.failed, b.load.0, b.load.1, b.status.text
    ));

    // The goals take the stricter share, from the order's landing in the maildir: with
    // `follow_ms` mailcart often takes an order before Dovecot announces it to an IDLE client,
    // and a share counted from that announcement would flatter it.
    let share = sorted(&l.from_landing);
    let (p50, p99) = (percentile(&share, 0.5), percentile(&share, 0.99));
    let ratio = mailcart / limit;
    let peak = l
        .peak_rss_kb
        .max(b.peak_rss_kb)
        .map_or(f64::NAN, |kb| kb as f64 / 1024.0);
    out.push_str("goals                                          figure     goal  figure/goal\n");
    let goal = |name: &str, figure: String, goal: &str, r: f64, ok: bool| {
        format!(
            "  {name:<40} {figure:>10} {goal:>8} {r:>8.2}  {}\n",
            verdict(ok)
        )
    };
    out.push_str(&goal(
        "mailcart's share p50 (from landing)",
        format!("{p50:.1} ms"),
        "< 50",
        p50 / 50.0,
        p50 < 50.0,
    ));
    out.push_str(&goal(
        "mailcart's share p99 (from landing)",
        format!("{p99:.1} ms"),
        "< 200",
        p99 / 200.0,
        p99 < 200.0,
    ));
    out.push_str(&goal(
        "backlog: mailcart / the MTA's limit",
        format!("{ratio:.2}"),
        ">= 0.80",
        ratio / 0.8,
        ratio >= 0.8,
    ));
    out.push_str(&goal(
        "peak RSS (both phases)",
        format!("{peak:.1} MiB"),
        "< 64",
        peak / 64.0,
        peak < 64.0,
    ));
    let held = l.status.held.saturating_add(b.status.held);
    let paused = l.status.paused.saturating_add(b.status.paused);
    out.push_str(&format!(
        "  messages held for a person: {held}, correspondents paused: {paused} (both must be 0) {}\n",
        verdict(held == 0 && paused == 0)
    ));
    out
}
