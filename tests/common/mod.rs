//! Shared by the integration tests: the fixture folder and its catalog.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use mailcart::core::catalog::Catalog;

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("mailbox-fixtures")
}

pub fn catalog() -> Catalog {
    let f = std::fs::File::open(fixtures_dir().join("catalog.csv")).unwrap();
    Catalog::new(
        mailcart::store::parse_catalog_csv(f)
            .unwrap()
            .into_iter()
            .map(|(i, _)| i)
            .collect(),
    )
}

/// The fixture .eml files, in name order.
pub fn fixture_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
}

pub mod lab;
pub mod live;
pub mod proxy;
pub mod shop;
pub mod store;

/// Run the real `mailcart` binary with a config; its stdout, or a failed test with its stderr.
pub fn mailcart(config: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mailcart"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mailcart {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every file below `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// A store on disk in `dir` with the fixture catalog imported, for `config_text` (its
/// `database` key pointed there): what a test hands `pipeline::process_batch`.
pub fn stocked_store(
    dir: &Path,
    config_text: &str,
    now: time::OffsetDateTime,
) -> (mailcart::config::Config, rusqlite::Connection) {
    let text = config_text.replace(
        "database = \"mailcart.db\"",
        &format!("database = {:?}", dir.join("m.db").to_str().unwrap()),
    );
    let config = mailcart::config::Config::from_toml(&text, Path::new("x")).unwrap();
    let mut conn = mailcart::store::open(&config.storage.database).unwrap();
    let csv = std::fs::File::open(fixtures_dir().join("catalog.csv")).unwrap();
    let tx = conn.transaction().unwrap();
    mailcart::store::import_catalog_csv(&tx, csv, now).unwrap();
    tx.commit().unwrap();
    (config, conn)
}

/// SIGTERM `child`, as a service manager would: it must exit cleanly within 20 s; `log` is
/// shown when it does not.
pub fn terminate(mut child: std::process::Child, log: impl Fn() -> String) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "daemon exit {status}: {}", log());
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "daemon did not stop on SIGTERM: {}",
            log()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Poll `f` every 100 ms until it gives a value, for at most `secs`; then fail with `why()`.
pub fn wait_until<T>(secs: u64, mut f: impl FnMut() -> Option<T>, why: impl Fn() -> String) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "{}", why());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// `mailcart run` on `config` as a child process, its stdout and stderr in the file `log`.
pub fn spawn_daemon(config: &Path, log: &Path) -> std::process::Child {
    let log = std::fs::File::create(log).unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_mailcart"))
        .arg("--config")
        .arg(config)
        .arg("run")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}
