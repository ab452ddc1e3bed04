//! Customer data and secrets at rest: every file and folder mailcart makes in its main flows
//! (init, inventory, process with the file outbox, tick, demo, export, customer export, and
//! `run` against the loopback lab, with its lock, -wal and -shm looked at while it runs) is
//! owner-only, 0600 / 0700, even when it is started with the permissive umask of a stock
//! login (022). The library's own calls are held to the same without `main`'s umask. And
//! `check` and `run` name a config holding a password, or a database, that others can read,
//! with the `chmod` that fixes it.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mailcart");

/// mailcart started from a shell whose umask is 022.
fn mailcart_022(config: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let out = Command::new("sh")
        .arg("-c")
        .arg("umask 022 && exec \"$@\"")
        .arg("sh")
        .arg(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mailcart {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

/// `root` and everything below it, each with its mode.
fn tree(root: &Path) -> Vec<(PathBuf, u32, bool)> {
    let mut out = vec![(root.to_path_buf(), mode(root), true)];
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let is_dir = path.is_dir();
            if is_dir {
                dirs.push(path.clone());
            }
            // A file may go between the listing and this look (SQLite's -shm on close).
            if let Ok(m) = std::fs::symlink_metadata(&path) {
                out.push((path, m.permissions().mode() & 0o7777, is_dir));
            }
        }
    }
    out
}

/// Every entry below `root` that is not owner-only, in words.
fn open_to_others(root: &Path, skip: &[&Path]) -> Vec<String> {
    tree(root)
        .into_iter()
        .filter(|(p, _, _)| !skip.iter().any(|s| p.starts_with(s)))
        .filter(|(_, m, is_dir)| *m != if *is_dir { 0o700 } else { 0o600 })
        .map(|(p, m, _)| format!("{} {m:04o}", p.display()))
        .collect()
}

fn names(root: &Path) -> Vec<String> {
    tree(root)
        .into_iter()
        .filter_map(|(p, _, _)| p.strip_prefix(root).ok().map(|r| r.display().to_string()))
        .collect()
}

#[test]
fn everything_the_command_line_makes_is_owner_only() {
    let base = tempfile::tempdir().unwrap();
    // Made by the test with a loose mode, as a user's shell would: mailcart's own folders go
    // inside it.
    std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let shop = base.path().join("shop");
    let config = shop.join("config.toml");
    mailcart_022(&config, &["init", shop.to_str().unwrap()], &[]);
    let fixtures = common::fixtures_dir();
    mailcart_022(
        &config,
        &[
            "inventory",
            "import",
            fixtures.join("catalog.csv").to_str().unwrap(),
        ],
        &[],
    );
    let files: Vec<String> = common::fixture_files()
        .iter()
        .take(12)
        .map(|p| p.display().to_string())
        .collect();
    let mut args = vec!["process"];
    args.extend(files.iter().map(String::as_str));
    mailcart_022(&config, &args, &[]);
    mailcart_022(&config, &["tick", "--at", "2030-01-01T00:00:00Z"], &[]);
    let export = shop.join("export");
    mailcart_022(&config, &["export", "--out", export.to_str().unwrap()], &[]);
    let dossier = shop.join("pat.json");
    mailcart_022(
        &config,
        &[
            "customer",
            "export",
            "pat.okafor@example.test",
            "--out",
            dossier.to_str().unwrap(),
        ],
        &[],
    );
    let tmp = base.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
    let demo = mailcart_022(&config, &["demo", "--keep"], &[("TMPDIR", &tmp)]);
    let demo_out = String::from_utf8_lossy(&demo.stdout);
    assert!(demo_out.contains("workspace kept at"), "{demo_out}");

    let seen = names(&shop);
    for want in [
        "config.toml",
        "mailcart.db",
        "outbox",
        "export/MANIFEST",
        "export/messages",
        "pat.json",
    ] {
        assert!(seen.iter().any(|n| n == want), "no {want} in {seen:?}");
    }
    assert!(
        seen.iter()
            .any(|n| n.starts_with("outbox/") && n.ends_with(".eml")),
        "the file outbox wrote nothing: {seen:?}"
    );
    assert!(
        seen.iter()
            .any(|n| n.starts_with("export/messages/") && n.ends_with(".eml")),
        "{seen:?}"
    );
    let loose = open_to_others(&shop, &[]);
    assert!(loose.is_empty(), "open to other users: {loose:#?}");
    let demos: Vec<PathBuf> = std::fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(demos.len(), 1, "{demos:?}");
    assert!(names(&demos[0]).iter().any(|n| n.ends_with(".eml")));
    let loose = open_to_others(&demos[0], &[]);
    assert!(loose.is_empty(), "the demo's workspace: {loose:#?}");
}

#[test]
fn the_library_makes_its_files_owner_only_without_the_binarys_umask() {
    // A program using mailcart as a library, with a stock umask: the modes come from the
    // calls themselves.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
    let dir = tempfile::tempdir().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let text = mailcart::EXAMPLE_CONFIG.replace(
        "dir = \"outbox\"",
        &format!("dir = {:?}", dir.path().join("out/box").to_str().unwrap()),
    );
    let (config, mut conn) = common::stocked_store(dir.path(), &text, now);
    let raws: Vec<Vec<u8>> = common::fixture_files()
        .iter()
        .take(5)
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    mailcart::pipeline::process_batch(
        &mut conn,
        &config,
        &raws,
        now,
        &mut mailcart::pipeline::RandomReferences,
    )
    .unwrap();
    let written = mailcart::outbox::deliver_to_dir(&conn, &config.outbox.dir, now).unwrap();
    assert!(!written.is_empty());
    let lock = mailcart::lock::DaemonLock::acquire(&config.storage.database).unwrap();
    mailcart::export::export(
        &mut conn,
        &dir.path().join("audit"),
        mailcart::export::Format::Jsonl,
        &mailcart::export::Selection {
            from: None,
            to: None,
            order: None,
        },
        now,
    )
    .unwrap();
    // The connection is open: the -wal and -shm are there to be looked at.
    let seen = names(dir.path());
    for want in [
        "m.db",
        "m.db-wal",
        "m.db-shm",
        "m.db.lock",
        "out/box",
        "audit/MANIFEST",
    ] {
        assert!(seen.iter().any(|n| n == want), "no {want} in {seen:?}");
    }
    // The temporary folder is the test's (tempfile makes it with the umask); what is below
    // it is mailcart's.
    let loose: Vec<String> = open_to_others(dir.path(), &[])
        .into_iter()
        .filter(|l| !l.starts_with(&format!("{} ", dir.path().display())))
        .collect();
    assert!(loose.is_empty(), "open to other users: {loose:#?}");
    drop(lock);
}

/// A shop folder from `init`, with `extra` appended to its config.
fn shop_with(extra: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    common::mailcart(&config, &["init", dir.path().to_str().unwrap()]);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(extra);
    std::fs::write(&config, text).unwrap();
    (dir, config)
}

fn check(config: &Path) -> String {
    let out = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("check")
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn check_names_a_readable_config_with_a_password_and_the_chmod_that_fixes_it() {
    // An [smtp] on a closed port: check fails there, quickly, after the warnings.
    let (_dir, config) = shop_with(
        "\n[smtp]\nhost = \"127.0.0.1\"\nport = 9\ntls = \"none\"\nusername = \"orders@lindenclay.test\"\npassword = \"Inline-S3cret\"\ntimeout_seconds = 2\n",
    );
    assert!(!check(&config).contains("warning"), "0600 is fine");

    chmod(&config, 0o644);
    let out = check(&config);
    let want = format!("run `chmod 600 {}`", config.display());
    assert!(
        out.contains(&format!("warning: {}", config.display()))
            && out.contains("[smtp] password")
            && out.contains("mode 0644")
            && out.contains(&want),
        "{out}"
    );
    assert!(!out.contains("Inline-S3cret"), "{out}");

    chmod(&config, 0o640);
    assert!(
        check(&config).contains(&want),
        "group-readable is readable too"
    );
}

#[test]
fn a_config_without_secrets_inline_may_be_readable() {
    let (_dir, config) = shop_with(
        "\n[smtp]\nhost = \"127.0.0.1\"\nport = 9\ntls = \"none\"\nusername = \"orders@lindenclay.test\"\npassword_env = \"SOME_VAR\"\ntimeout_seconds = 2\n",
    );
    chmod(&config, 0o644);
    let out = check(&config);
    assert!(!out.contains("warning"), "{out}");
}

#[test]
fn check_names_a_database_made_readable_by_an_older_version() {
    let (dir, config) = shop_with("");
    let db = dir.path().join("mailcart.db");
    chmod(&db, 0o644);
    let out = check(&config);
    assert!(
        out.contains(&format!("warning: {}", db.display()))
            && out.contains(&format!("run `chmod 600 {}", db.display())),
        "{out}"
    );
    let outbox = dir.path().join("outbox");
    chmod(&outbox, 0o755);
    let out = check(&config);
    assert!(
        out.contains(&format!("run `chmod -R go= {}`", outbox.display())),
        "{out}"
    );
}

#[test]
fn run_warns_about_a_readable_config_and_makes_its_own_files_owner_only() {
    let lab = common::lab::lab();
    let base = tempfile::tempdir().unwrap();
    let shop = base.path().join("shop");
    let config = shop.join("config.toml");
    mailcart_022(&config, &["init", shop.to_str().unwrap()], &[]);
    let mut text = std::fs::read_to_string(&config).unwrap();
    // A mailbox of its own, so that no other test's mail is taken.
    text.push_str(&format!(
        "\n[imap]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"tls\"\nca_file = \"{}\"\nusername = \"kim@example.net\"\npassword = \"{}\"\nmailbox = \"mailcart-permissions\"\ntimeout_seconds = 10\n",
        lab.imaps_port,
        lab.ca_file.display(),
        lab.password
    ));
    std::fs::write(&config, text).unwrap();
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/mailtool");
    let made = Command::new(&tool)
        .args(["create", "kim@example.net", "mailcart-permissions"])
        .status()
        .unwrap();
    assert!(made.success());
    chmod(&config, 0o644);

    let log = shop.join("run.log");
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new("sh")
        .arg("-c")
        .arg("umask 022 && exec \"$@\"")
        .arg("sh")
        .arg(BIN)
        .arg("--config")
        .arg(&config)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(out)
        .spawn()
        .unwrap();
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !read_log().contains("logged in to the imap server") {
        assert!(Instant::now() < deadline, "{}", read_log());
        std::thread::sleep(Duration::from_millis(100));
    }
    let seen = names(&shop);
    for want in ["mailcart.db-wal", "mailcart.db-shm", "mailcart.db.lock"] {
        assert!(seen.iter().any(|n| n == want), "no {want} in {seen:?}");
    }
    // The config (made loose above) and the log (the test's) are not mailcart's doing.
    let loose = open_to_others(&shop, &[&config, &log]);
    common::terminate(child, read_log);
    assert!(loose.is_empty(), "open to other users: {loose:#?}");
    let logged = read_log();
    assert!(
        logged.contains(&format!("run `chmod 600 {}`", config.display()))
            && logged.contains("[imap] password"),
        "{logged}"
    );
}
