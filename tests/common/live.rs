//! For tests that run `mailcart run` against the lab: the daemon as a child process with its
//! log in a file, the lab's mailtool, and unique Message-IDs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// `mailcart run` (or any long-running command) with stdout and stderr in `log`; killed if
/// the test ends without `stop`.
pub struct Daemon {
    child: Option<Child>,
    log: PathBuf,
}

impl Daemon {
    pub fn start(mut cmd: Command, log: &Path) -> Daemon {
        let file = std::fs::File::create(log).unwrap();
        let child = cmd
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        Daemon {
            child: Some(child),
            log: log.to_owned(),
        }
    }

    /// SIGTERM, as a service manager would; the daemon must exit cleanly and promptly.
    pub fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            super::terminate(child, || self.log());
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// tests/lab/mailtool with `args`; its stdout.
pub fn mailtool(args: &[&str]) -> String {
    let out = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/mailtool"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mailtool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A Message-ID no other test run uses.
pub fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{tag}-{nanos}-{}@example.test", std::process::id())
}
