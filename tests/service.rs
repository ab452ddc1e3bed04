//! The systemd unit in `dist/`: systemd's own checker finds nothing to say about it, and its
//! hardening scores as systemd rates it. Runs where `systemd-analyze` is installed (Debian's
//! `systemd` package); elsewhere it says so and passes, so CI on a bare machine needs nothing.

use std::path::Path;
use std::process::Command;

fn unit_text() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/mailcart.service"))
        .unwrap()
}

/// The unit in a folder of its own, pointing at the binary cargo built (verify checks that
/// ExecStart can run, and /usr/local/bin/mailcart is not installed here).
fn unit_here(dir: &Path) -> std::path::PathBuf {
    let text = unit_text().replace("/usr/local/bin/mailcart", env!("CARGO_BIN_EXE_mailcart"));
    let path = dir.join("mailcart.service");
    std::fs::write(&path, text).unwrap();
    path
}

fn analyze(args: &[&str]) -> Option<(bool, String)> {
    let out = Command::new("systemd-analyze").args(args).output().ok()?;
    Some((
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

#[test]
fn the_unit_promises_what_the_readme_says() {
    let text = unit_text();
    for line in [
        "User=mailcart",
        "ExecStart=/usr/local/bin/mailcart run",
        "StateDirectory=mailcart",
        "StateDirectoryMode=0700",
        "UMask=0077",
        "KillSignal=SIGTERM",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in the unit");
    }
}

#[test]
fn systemd_analyze_verify_finds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_here(dir.path());
    let Some((ok, out)) = analyze(&["verify", "--man=no", unit.to_str().unwrap()]) else {
        eprintln!("systemd-analyze is not installed: the unit is not verified");
        return;
    };
    // An unknown or misspelt key is only a warning to verify, with exit 0: any word fails.
    assert!(ok && out.trim().is_empty(), "systemd-analyze verify: {out}");
}

#[test]
fn its_exposure_is_low_as_systemd_rates_it() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_here(dir.path());
    let Some((_, version)) = analyze(&["--version"]) else {
        eprintln!("systemd-analyze is not installed: the exposure is not rated");
        return;
    };
    // `security --offline` came with systemd 250.
    let release: u32 = version
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if release < 250 {
        eprintln!("systemd {release} cannot rate a unit offline");
        return;
    }
    let (ok, out) = analyze(&[
        "security",
        "--offline=true",
        "--threshold=20",
        unit.to_str().unwrap(),
    ])
    .unwrap();
    assert!(ok, "{out}");
    let line = out
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_default();
    eprintln!("{line}");
    // systemd rates 0 (locked down) to 10 (exposed); 1.4 when written.
    let score: f64 = line
        .split(':')
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(10.0);
    assert!(score <= 2.0, "{line}");
}
