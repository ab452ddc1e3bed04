//! Card numbers mailed in by customers: gone from everything mailcart keeps, logs, sends or
//! exports, the redaction on the record, and the customer told, without the number.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::shop::Shop;

fn cards_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cards")
}

/// (fixture file, the numbers it holds as written).
fn fixtures() -> Vec<(String, Vec<String>)> {
    std::fs::read_to_string(cards_dir().join("numbers.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut cols = l.split('\t');
            let file = cols.next().unwrap().to_string();
            (file, cols.map(str::to_string).collect())
        })
        .collect()
}

/// Every way the number could sit in bytes we keep: as written, bare, and grouped in fours
/// with a space or a dash (the usual card layout, whatever the customer typed).
fn forms(number: &str) -> Vec<String> {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let grouped = |sep: &str| {
        digits
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(sep)
    };
    let mut out = vec![
        number.to_string(),
        digits.clone(),
        grouped(" "),
        grouped("-"),
    ];
    out.sort();
    out.dedup();
    out
}

/// Run mailcart with every log line it can write (trace, and JSON too): stdout + stderr.
fn run_logged(config: &Path, args: &[&str], json: bool) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailcart"));
    cmd.env("MAILCART_LOG", "trace").arg("--config").arg(config);
    if json {
        cmd.arg("--log-json");
    }
    let out = cmd.args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "mailcart {args:?} failed: {text}");
    text
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// What any reader of a stored message sees: subject, every part decoded, attachment names;
/// spaces and dashes taken out so a number split across layout still shows.
fn readable(raw: &[u8]) -> String {
    let msg = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a stored message parses");
    let mut text = msg.subject().unwrap_or_default().to_string();
    let mut stack = vec![msg];
    while let Some(m) = stack.pop() {
        for part in &m.parts {
            if let Some(name) = mail_parser::MimeHeaders::attachment_name(part) {
                text.push_str(name);
            }
            match &part.body {
                mail_parser::PartType::Text(t) | mail_parser::PartType::Html(t) => text.push_str(t),
                mail_parser::PartType::Binary(b) | mail_parser::PartType::InlineBinary(b) => {
                    text.push_str(&String::from_utf8_lossy(b))
                }
                mail_parser::PartType::Message(inner) => {
                    text.push_str(inner.subject().unwrap_or_default());
                    stack.push(inner.clone());
                }
                mail_parser::PartType::Multipart(_) => {}
            }
        }
    }
    text.chars().filter(|c| *c != ' ' && *c != '-').collect()
}

fn message_id_of(raw: &[u8]) -> String {
    mail_parser::MessageParser::default()
        .parse(raw)
        .unwrap()
        .message_id()
        .unwrap()
        .to_string()
}

#[test]
fn card_numbers_are_gone_from_everything_mailcart_keeps_logs_sends_or_exports() {
    let fixtures = fixtures();
    assert!(fixtures.len() >= 20, "at least 20 card fixtures");
    let shop = Shop::new();
    let config = shop.dir.path().join("config.toml");
    let paths: Vec<String> = fixtures
        .iter()
        .map(|(f, _)| cards_dir().join(f).to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["-vv", "--at", "2026-11-22T10:00:00Z", "process"];
    args.extend(paths.iter().map(String::as_str));
    let mut logs = run_logged(&config, &args, false);
    // The same mail again (another IMAP copy): still recognised as already taken.
    let mut again = vec!["--at", "2026-11-22T10:05:00Z", "process"];
    again.extend(paths.iter().take(3).map(String::as_str));
    let second = run_logged(&config, &again, true);
    assert_eq!(
        second
            .matches("duplicate of a message already taken")
            .count(),
        3,
        "{second}"
    );
    logs.push_str(&second);
    for args in [
        &["orders", "--json"][..],
        &["review"][..],
        &["status"][..],
        &["verify"][..],
    ] {
        logs.push_str(&run_logged(&config, args, true));
    }
    let export = shop.dir.path().join("export");
    logs.push_str(&run_logged(
        &config,
        &["export", "--out", export.to_str().unwrap()],
        false,
    ));
    for (file, _) in &fixtures {
        logs.push_str(&run_logged(
            &config,
            &["parse", cards_dir().join(file).to_str().unwrap()],
            false,
        ));
    }

    // Every byte mailcart left on disk (database, its WAL and shared memory, outbox, export),
    // and everything it printed.
    let files = common::files_under(shop.dir.path());
    let mut leaks = Vec::new();
    let db = rusqlite::Connection::open(shop.dir.path().join("mailcart.db")).unwrap();
    let stored: Vec<(String, Vec<u8>)> = db
        .prepare("SELECT message_id, raw FROM messages ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let sent: Vec<Vec<u8>> = db
        .prepare("SELECT raw FROM outbox")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (file, numbers) in &fixtures {
        for number in numbers {
            for form in forms(number) {
                for path in &files {
                    if contains(&std::fs::read(path).unwrap(), &form) {
                        leaks.push(format!("{form} ({file}) in {}", path.display()));
                    }
                }
                if logs.contains(&form) {
                    leaks.push(format!("{form} ({file}) in the output"));
                }
            }
            let digits: String = number.chars().filter(char::is_ascii_digit).collect();
            for (id, raw) in &stored {
                if readable(raw).contains(&digits) {
                    leaks.push(format!("{number} ({file}) readable in stored message {id}"));
                }
            }
            for raw in &sent {
                if readable(raw).contains(&digits) {
                    leaks.push(format!("{number} ({file}) readable in an outgoing email"));
                }
            }
        }
    }
    assert!(leaks.is_empty(), "card numbers left:\n{}", leaks.join("\n"));

    // Every fixture was kept (redacted, with its own Message-ID: long digit runs in headers
    // are not card numbers) and its redaction is on the record: how many, never which.
    assert_eq!(stored.len(), fixtures.len());
    for (file, numbers) in &fixtures {
        let id = message_id_of(&std::fs::read(cards_dir().join(file)).unwrap());
        assert!(
            stored.iter().any(|(m, _)| *m == id),
            "{file}: its Message-ID {id} was not kept as it was"
        );
        let count: i64 = db
            .query_row(
                "SELECT json_extract(detail, '$.count') FROM events
                 WHERE kind = 'card_number_redacted' AND message_id = ?1",
                [&id],
                |r| r.get(0),
            )
            .unwrap_or_else(|e| panic!("{file}: no redaction event: {e}"));
        // A number in both the text and the HTML alternative is two removals.
        assert!(
            count as usize >= numbers.len() && count as usize <= 2 * numbers.len(),
            "{file}: {count} removals for {} numbers",
            numbers.len()
        );
    }

    // The customer is told, once per message, without the number (checked above with the rest).
    let warnings = shop.mail_with("Please never send card numbers by email");
    assert_eq!(warnings.len(), fixtures.len(), "one warning per message");
    assert!(
        warnings
            .iter()
            .all(|w| w.contains("never send card numbers by email") && w.contains("In-Reply-To:")),
        "the warning answers the message it is about"
    );
    assert!(
        run_logged(&config, &["verify"], false).contains("whole"),
        "the redacted copies are what the chain holds"
    );
}

#[test]
fn mail_without_card_numbers_is_stored_byte_for_byte_and_gets_no_warning() {
    let shop = Shop::new();
    let fixtures = common::fixture_files();
    let mut args = vec!["--at", "2026-11-22T10:00:00Z", "process"];
    let names: Vec<String> = fixtures
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    args.extend(names.iter().map(String::as_str));
    shop.run(&args);
    let db = rusqlite::Connection::open(shop.dir.path().join("mailcart.db")).unwrap();
    let redactions: i64 = db
        .query_row(
            "SELECT count(*) FROM events WHERE kind = 'card_number_redacted'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        redactions, 0,
        "no fixture of the ordinary corpus holds a card"
    );
    for path in &fixtures {
        let raw = std::fs::read(path).unwrap();
        let kept: i64 = db
            .query_row(
                "SELECT count(*) FROM messages WHERE raw = ?1",
                [&raw],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(kept, 1, "{} stored exactly as it came", path.display());
    }
    assert!(shop.mail_with("never send card numbers").is_empty());
}
