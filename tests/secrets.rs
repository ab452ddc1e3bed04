//! Server passwords from the environment or a file, and never in what mailcart prints: not in
//! its logs at the most verbose level, not in its errors, not when the server refuses them.
//! Against the loopback lab's real Dovecot.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::lab::{Lab, start as lab};

const SHOP: &str = "orders@lindenclay.test";
const WRONG: &str = "Wr0ng-S3cret-pw-7731";

struct Run {
    ok: bool,
    text: String,
}

fn shop(lab: &Lab, login: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::mailcart(
        &dir.path().join("config.toml"),
        &["init", dir.path().to_str().unwrap()],
    );
    let config = dir.path().join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[imap]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"tls\"\nca_file = \"{}\"\nusername = \"{SHOP}\"\n{login}\ntimeout_seconds = 10\n",
        lab.imaps_port,
        lab.ca_file.display(),
    ));
    std::fs::write(&config, text).unwrap();
    dir
}

/// mailcart at its most talkative (trace, plain and JSON logs), with `env` set.
fn run(dir: &tempfile::TempDir, args: &[&str], env: &[(&str, &str)], json: bool) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailcart"));
    cmd.env("MAILCART_LOG", "trace")
        .envs(env.iter().copied())
        .arg("--config")
        .arg(dir.path().join("config.toml"));
    if json {
        cmd.arg("--log-json");
    }
    let out = cmd.args(args).output().unwrap();
    Run {
        ok: out.status.success(),
        text: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// `mailcart run` for a few seconds (it retries a refused login), then stopped; its output.
fn daemon(dir: &tempfile::TempDir, env: &[(&str, &str)]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailcart"))
        .env("MAILCART_LOG", "trace")
        .envs(env.iter().copied())
        .arg("--config")
        .arg(dir.path().join("config.toml"))
        .arg("run")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    std::thread::sleep(Duration::from_secs(2));
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_password_from_the_environment_works_and_is_never_printed() {
    let lab = lab();
    let dir = shop(&lab, "password_env = \"MAILCART_SECRET_PW\"");
    let env = [("MAILCART_SECRET_PW", lab.password.as_str())];
    let check = run(&dir, &["-vv", "check"], &env, true);
    assert!(check.ok, "{}", check.text);
    assert!(check.text.contains("LOGIN") || check.text.to_lowercase().contains("login"));
    assert!(
        !check.text.contains(&lab.password),
        "the password was printed: {}",
        check.text
    );
    let log = daemon(&dir, &env);
    assert!(log.contains("imap"), "{log}");
    assert!(
        !log.contains(&lab.password),
        "the daemon printed the password: {log}"
    );

    // Not set: the error names the variable, not a value.
    let missing = run(&dir, &["check"], &[], false);
    assert!(!missing.ok);
    assert!(
        missing.text.contains("MAILCART_SECRET_PW"),
        "{}",
        missing.text
    );
}

#[test]
fn a_refused_password_from_a_file_is_reported_without_it() {
    let lab = lab();
    let pw_dir = tempfile::tempdir().unwrap();
    let file = pw_dir.path().join("imap-password");
    std::fs::write(&file, format!("{WRONG}\n")).unwrap();
    let dir = shop(&lab, &format!("password_file = \"{}\"", file.display()));
    let check = run(&dir, &["-vv", "check"], &[], false);
    assert!(!check.ok, "a wrong password must fail: {}", check.text);
    assert!(
        check.text.to_lowercase().contains("auth") || check.text.to_lowercase().contains("login"),
        "the failure says what failed: {}",
        check.text
    );
    assert!(!check.text.contains(WRONG), "printed: {}", check.text);
    let log = daemon(&dir, &[]);
    assert!(
        !log.contains(WRONG),
        "the daemon printed the password: {log}"
    );
    for args in [&["status"][..], &["status", "--json"][..]] {
        let out = run(&dir, args, &[], true);
        assert!(
            !out.text.contains(WRONG),
            "{args:?} printed it: {}",
            out.text
        );
    }
    let db = std::fs::read(dir.path().join("mailcart.db")).unwrap_or_default();
    assert!(
        !String::from_utf8_lossy(&db).contains(WRONG),
        "the password reached the database"
    );
}
