//! Test-only kill points, for the crash harness (tests/crash.rs). With
//! `MAILCART_CRASH_AT=POINT:N` the process SIGKILLs itself (a real kill: no unwinding, no
//! destructors, no flush) the Nth time it passes POINT; `during_idle` kills it a moment after
//! the Nth entry into IDLE (`MAILCART_CRASH_IDLE_MS`, default 300), while it waits there.
//! Unset (production), a pass is one load of an already parsed `None`.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Point {
    /// Messages read from IMAP, not yet stored.
    AfterFetch,
    /// Inside the pipeline's write transaction, after a message's rows are written.
    MidTransaction,
    /// The batch is committed; its messages are not yet flagged or moved.
    AfterCommit,
    /// The SMTP server said 250 to DATA; the outbox row is not yet marked sent.
    AfterSmtpAccepted,
    /// Waiting in IDLE.
    DuringIdle,
}

impl Point {
    pub const ALL: [Point; 5] = [
        Point::AfterFetch,
        Point::MidTransaction,
        Point::AfterCommit,
        Point::AfterSmtpAccepted,
        Point::DuringIdle,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Point::AfterFetch => "after_fetch",
            Point::MidTransaction => "mid_transaction",
            Point::AfterCommit => "after_commit",
            Point::AfterSmtpAccepted => "after_smtp_accepted",
            Point::DuringIdle => "during_idle",
        }
    }
}

struct Armed {
    point: Point,
    at: u64,
    passes: AtomicU64,
    idle_delay: Duration,
}

static ARMED: LazyLock<Option<Armed>> = LazyLock::new(|| {
    let spec = std::env::var("MAILCART_CRASH_AT").ok()?;
    let armed = parse(&spec);
    if armed.is_none() {
        tracing::warn!(
            spec,
            "MAILCART_CRASH_AT is not POINT:N with a known point; ignored"
        );
    }
    armed
});

fn parse(spec: &str) -> Option<Armed> {
    let (name, n) = spec.split_once(':')?;
    let point = Point::ALL.into_iter().find(|p| p.as_str() == name.trim())?;
    let at = n.trim().parse().ok().filter(|n| *n > 0)?;
    let idle_ms = std::env::var("MAILCART_CRASH_IDLE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    Some(Armed {
        point,
        at,
        passes: AtomicU64::new(0),
        idle_delay: Duration::from_millis(idle_ms),
    })
}

/// Passing `point`: dies here if this is the armed point's Nth pass.
pub fn pass(point: Point) {
    let Some(armed) = ARMED.as_ref() else {
        return;
    };
    if armed.point != point || armed.passes.fetch_add(1, Ordering::SeqCst) + 1 != armed.at {
        return;
    }
    if point == Point::DuringIdle {
        // The caller is about to go into IDLE: die once it is in there.
        let delay = armed.idle_delay;
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            die(point, armed.at)
        });
    } else {
        die(point, armed.at)
    }
}

/// `pass` when `reached`.
pub fn pass_if(reached: bool, point: Point) {
    if reached {
        pass(point)
    }
}

fn die(point: Point, n: u64) -> ! {
    eprintln!("crash point {} reached (pass {n}): SIGKILL", point.as_str());
    let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    // Not reached: SIGKILL cannot be caught.
    std::process::abort()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_or_are_refused() {
        let a = parse("mid_transaction:3").unwrap();
        assert_eq!((a.point, a.at), (Point::MidTransaction, 3));
        for bad in [
            "mid_transaction",
            "nowhere:1",
            "after_fetch:0",
            "after_fetch:x",
            "",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
