//! The loopback mail lab (tests/lab/start): found running, or started once per test binary.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Lab {
    /// Which IMAP server the lab runs: "dovecot" (tests/lab/start, with Postfix), "courier" or
    /// "cyrus" (tests/lab/other-server: IMAP alone).
    pub server: String,
    /// 0 in a Courier or Cyrus lab, which has no SMTP (only imap_live runs there).
    pub smtp_port: u16,
    /// Implicit TLS (SMTPS), if the lab offers it.
    pub smtps_port: Option<u16>,
    pub imap_port: u16,
    pub imaps_port: u16,
    pub ca_file: PathBuf,
    pub password: String,
    /// How the lab's server lays out folders: "slash", "dot" or "inbox" (tests/lab/start; the
    /// Courier and Cyrus labs are "inbox").
    pub layout: String,
}

impl Lab {
    /// The lab server's name for a folder written with `/` between levels, worked out here on
    /// its own (not by mailcart's mapping, which the tests check): `a/b` on the slash layout,
    /// `a.b` on dot, `INBOX.a.b` on inbox. ASCII names only.
    pub fn folder(&self, name: &str) -> String {
        if name.eq_ignore_ascii_case("INBOX") || self.layout == "slash" {
            return name.to_string();
        }
        let dotted = name.replace('/', ".");
        if self.layout == "inbox" {
            format!("INBOX.{dotted}")
        } else {
            dotted
        }
    }
}

/// The layout the tests ask for (`MAILCART_LAB_LAYOUT`, default slash).
pub fn wanted_layout() -> String {
    std::env::var("MAILCART_LAB_LAYOUT").unwrap_or_else(|_| "slash".into())
}

/// The server the tests ask for (`MAILCART_LAB_SERVER`, default dovecot).
pub fn wanted_server() -> String {
    std::env::var("MAILCART_LAB_SERVER").unwrap_or_else(|_| "dovecot".into())
}

/// `MAILCART_LAB_DIR`, as the lab scripts read it (their default depends on the server).
pub fn lab_dir() -> PathBuf {
    PathBuf::from(std::env::var("MAILCART_LAB_DIR").unwrap_or_else(|_| {
        match wanted_server().as_str() {
            "dovecot" => "/tmp/mailcart-lab".into(),
            other => format!("/tmp/mailcart-lab-{other}"),
        }
    }))
}

fn read_env(path: &Path) -> Option<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(
        text.lines()
            .filter_map(|l| {
                let l = l.trim();
                let l = l.strip_prefix("export ").unwrap_or(l);
                let (k, v) = l.split_once('=')?;
                let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
                (!k.starts_with('#')).then(|| (k.trim().to_string(), v.to_string()))
            })
            .collect(),
    )
}

pub fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    )
    .is_ok()
}

fn lab_from_env() -> Option<Lab> {
    let env = read_env(&lab_dir().join("env"))?;
    let port = |k: &str| env.get(k)?.parse::<u16>().ok();
    let server = env
        .get("LAB_SERVER")
        .cloned()
        .unwrap_or_else(|| "dovecot".into());
    let dovecot = server == "dovecot";
    let lab = Lab {
        smtp_port: if dovecot { port("LAB_SMTP_PORT")? } else { 0 },
        smtps_port: port("LAB_SMTPS_PORT"),
        imap_port: port("LAB_IMAP_PORT")?,
        imaps_port: port("LAB_IMAPS_PORT")?,
        ca_file: PathBuf::from(env.get("LAB_CA_FILE")?),
        password: env
            .get("LAB_PASSWORD")
            .cloned()
            .unwrap_or_else(|| "labpass".into()),
        layout: env
            .get("LAB_LAYOUT")
            .cloned()
            .unwrap_or_else(|| "slash".into()),
        server,
    };
    // A lab of another server or layout, or a Dovecot lab started before the lab had its
    // identity provider, is restarted by tests/lab/start. Courier and Cyrus have the layout
    // they have (MAILCART_LAB_LAYOUT sets up Dovecot only), and no identity provider.
    let idp_up = port("LAB_IDP_PORT").is_some_and(port_open);
    (lab.server == wanted_server()
        && (!dovecot || (lab.layout == wanted_layout() && idp_up && port_open(lab.smtp_port)))
        && port_open(lab.imap_port)
        && port_open(lab.imaps_port))
    .then_some(lab)
}

/// The running lab, started if need be (once per test binary). Set MAILCART_TEST_LOG (e.g.
/// to "mailcart=debug") to see mailcart's log in the tests.
pub fn lab() -> Lab {
    if let Ok(filter) = std::env::var("MAILCART_TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    }
    static LAB: OnceLock<Lab> = OnceLock::new();
    static STARTING: Mutex<()> = Mutex::new(());
    let _guard = STARTING.lock().unwrap_or_else(|p| p.into_inner());
    LAB.get_or_init(start).clone()
}

/// Start the lab (idempotent) and wait for it; another test binary may be (re)starting it at
/// the same moment.
pub fn start() -> Lab {
    if let Some(lab) = lab_from_env() {
        return lab;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/start");
    let status = std::process::Command::new(&script)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(lab) = lab_from_env() {
            return lab;
        }
        assert!(
            Instant::now() < deadline,
            "{} ended with {status}, and {}/env is missing or its ports are closed",
            script.display(),
            lab_dir().display()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Run `tests/lab/mailtool` (send and read mail in the lab); its stdout, or a failed test.
pub fn mailtool(args: &[&str]) -> String {
    let out = std::process::Command::new(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/mailtool"),
    )
    .args(args)
    .output()
    .unwrap_or_else(|e| panic!("cannot run mailtool: {e}"));
    assert!(
        out.status.success(),
        "mailtool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
