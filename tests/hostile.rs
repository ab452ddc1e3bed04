//! Hostile and strange mail through the whole ingest path (`pipeline::process_batch` on a
//! SQLite file, and `mailcart process` as a child for its memory): the real samples at hand
//! (CPython's email test data from Debian's libpython3.11-testsuite, mail-parser's own
//! resources from the cargo registry, read where they are and never copied into the repo, our
//! fixtures), each mutated in systematic ways, then crafted monsters.
//!
//! `cargo test --test hostile -- --nocapture` prints the summary lines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mailcart::mail::read::{redact_and_read, sha256_hex};
use mailcart::pipeline::Outcome;
use regex::bytes::Regex;

mod common;
use common::store::Store;
use common::{files_under, fixture_files};

/// What one message may take in the pipeline, debug build included.
const PER_MESSAGE: Duration = Duration::from_secs(2);
/// Peak RSS of `mailcart process` over the whole corpus (~2 MB, held whole: one batch); it
/// measured ~35 MiB, so well over this means something grows with what it reads.
const PEAK_RSS_BOUND_KB: i64 = 128 * 1024;

// ------------------------------------------------------------------------------------------
// The samples

/// A source of samples that must be there in CI (`.ci/run` installs it); elsewhere a missing
/// one is said out loud and left out.
fn required(what: &str, found: Vec<PathBuf>) -> Vec<PathBuf> {
    if found.is_empty() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{what}: no samples found, and CI is set (see .ci/run)"
        );
        eprintln!("hostile: {what}: no samples found here; left out");
    }
    found
}

fn cpython_samples() -> Vec<PathBuf> {
    let data = Path::new("/usr/lib/python3.11/test/test_email/data");
    let found = if data.is_dir() {
        files_under(data)
            .into_iter()
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name.starts_with("msg_") || name.ends_with(".eml") || name.ends_with(".mbox")
            })
            .collect()
    } else {
        Vec::new()
    };
    required(
        "CPython's email test data (apt-get install libpython3.11-testsuite)",
        found,
    )
}

/// mail-parser 0.11's `resources/` in the cargo registry: .eml files (Hunny Software's MIME
/// samples, Dovecot's malformed and third-party tests, RFC examples) and a maildir.
fn mail_parser_samples() -> Vec<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .unwrap_or_default();
    let mut found = Vec::new();
    for index in std::fs::read_dir(home.join("registry/src"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let Ok(crates) = std::fs::read_dir(index.path()) else {
            continue;
        };
        let mut versions: Vec<PathBuf> = crates
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("mail-parser-0.11."))
            })
            .collect();
        versions.sort();
        if let Some(dir) = versions.last().map(|v| v.join("resources"))
            && dir.is_dir()
        {
            found = files_under(&dir)
                .into_iter()
                .filter(|p| {
                    p.extension().is_some_and(|x| x == "eml")
                        || p.components().any(|c| c.as_os_str() == "maildir")
                })
                .collect();
        }
    }
    required("mail-parser 0.11's resources in the cargo registry", found)
}

fn our_samples() -> Vec<PathBuf> {
    let cards = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cards");
    let mut files = fixture_files();
    files.extend(
        files_under(&cards)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|x| x == "eml")),
    );
    files
}

/// Each sample and each mutant under its own Message-ID, so that none is taken as a copy of
/// another (which would stop it before it is classified).
fn with_own_id(raw: &[u8], n: usize) -> Vec<u8> {
    let eol: &[u8] = if raw.windows(2).any(|w| w == b"\r\n") {
        b"\r\n"
    } else {
        b"\n"
    };
    let id = format!("Message-ID: <hostile.{n}@corpus.test>");
    let head_end = find(raw, b"\n\r\n")
        .into_iter()
        .chain(find(raw, b"\n\n"))
        .min()
        .unwrap_or(raw.len());
    let re = Regex::new(r"(?im)^message-id:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*").unwrap();
    let (head, body) = raw.split_at(head_end);
    if re.is_match(head) {
        let mut out = re.replace_all(head, id.as_bytes()).into_owned();
        out.extend_from_slice(body);
        out
    } else {
        [id.as_bytes(), eol, raw].concat()
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

// ------------------------------------------------------------------------------------------
// Mutations: systematic, deterministic, each a way real mail goes wrong.

const MUTATIONS: &[&str] = &[
    "truncated at a quarter",
    "truncated at half",
    "truncated at three quarters",
    "header only, no blank line",
    "truncated inside the header",
    "first header lost its colon",
    "8-bit garbage header lines",
    "conflicting Content-Type and From on top",
    "unknown charset",
    "wrong charset (utf-16)",
    "latin-1 bytes in the text",
    "boundary renamed in the header",
    "closing boundary cut off",
    "boundary parameter removed",
    "NUL bytes in header and body",
    "LF line ends only",
    "bare CR line ends only",
    "CR, LF and CRLF mixed",
    "empty folded Received: on top",
    "broken encoded words in Subject",
];

/// What the "latin-1 bytes in the text" mutation writes into a message: an order line (a
/// catalog item and its quantity) among bytes that are not UTF-8.
const LATIN1_ORDER_LINE: &[u8] = b"caf\xe9 cr\xe8me \xff\xfe\xfd 2 x Blue Mug\r\n";

fn mutate(raw: &[u8], kind: usize) -> Vec<u8> {
    let len = raw.len();
    let head_end = find(raw, b"\n\r\n")
        .into_iter()
        .chain(find(raw, b"\n\n"))
        .min()
        .unwrap_or(len);
    let first_line = raw.iter().position(|b| *b == b'\n').map_or(len, |i| i + 1);
    let insert = |at: usize, what: &[u8]| [&raw[..at], what, &raw[at..]].concat();
    let re = |pattern: &str, with: &[u8]| {
        Regex::new(pattern)
            .unwrap()
            .replace_all(raw, with)
            .into_owned()
    };
    match kind {
        0 => raw[..len / 4].to_vec(),
        1 => raw[..len / 2].to_vec(),
        2 => raw[..len * 3 / 4].to_vec(),
        3 => raw[..head_end].to_vec(),
        4 => raw[..head_end / 2].to_vec(),
        5 => {
            let mut v = raw.to_vec();
            if let Some(i) = raw[..first_line].iter().position(|b| *b == b':') {
                v.remove(i);
            }
            v
        }
        6 => insert(
            first_line,
            b"X-\xff\xfe: \x80\x81 =?utf-8?B?////?=\r\nno colon on this line\r\n\t\xc3\x28\r\n",
        ),
        7 => insert(
            0,
            b"Content-Type: multipart/alternative; boundary=\"nope\"\r\nFrom: <>\r\n",
        ),
        8 => re(r#"(?i)charset\s*=\s*"?[^";\s]*"?"#, b"charset=x-unknown-42"),
        9 => re(r#"(?i)charset\s*=\s*"?[^";\s]*"?"#, b"charset=\"utf-16\""),
        10 => insert(head_end + (len - head_end) / 2, LATIN1_ORDER_LINE),
        11 => re(r#"(?i)(boundary\s*=\s*"?)"#, b"${1}broken-"),
        12 => {
            let b = Regex::new(r#"(?i)boundary\s*=\s*"?([^";\s]+)"#)
                .unwrap()
                .captures(raw)
                .and_then(|c| c.get(1))
                .map(|m| m.as_bytes().to_vec());
            let cut = b.and_then(|b| {
                raw.windows(b.len() + 2)
                    .rposition(|w| w.starts_with(b"--") && w.ends_with(&b))
            });
            raw[..cut.unwrap_or(len)].to_vec()
        }
        13 => re(r#"(?i);?\s*boundary\s*=\s*("[^"]*"|[^;\s]*)"#, b""),
        14 => {
            let v = insert(len, b"\0");
            let v = [&v[..first_line], b"X-Nul: a\0b\r\n", &v[first_line..]].concat();
            let mid = first_line + (v.len() - first_line) / 2;
            [&v[..mid], b"\0\0\0", &v[mid..]].concat()
        }
        15 => re(r"\r\n", b"\n"),
        16 => Regex::new(r"\r?\n")
            .unwrap()
            .replace_all(raw, b"\r".as_slice())
            .into_owned(),
        17 => {
            let mut out = Vec::with_capacity(len);
            for (i, line) in raw.split(|b| *b == b'\n').enumerate() {
                if i > 0 {
                    out.extend_from_slice([b"\r\n".as_slice(), b"\n", b"\r"][i % 3]);
                }
                out.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
            }
            out
        }
        18 => insert(0, b"Received:\n\t\n"),
        _ => re(
            r"(?im)^subject:[^\r\n]*",
            b"Subject: =?utf-8?q?=ZZ=?= =?x-unknown?b?@@@?= =?utf-8?B?w?= =?=?=",
        ),
    }
}

struct Sample {
    source: &'static str,
    name: String,
    raw: Vec<u8>,
}

/// The samples, each with its own id, then four mutations of each (rotating through the
/// list, so every mutation meets every kind of sample), without byte-identical repeats.
fn corpus() -> (Vec<Sample>, BTreeMap<&'static str, usize>) {
    let mut originals = Vec::new();
    for (source, files) in [
        ("cpython", cpython_samples()),
        ("mail-parser", mail_parser_samples()),
        ("mailcart", our_samples()),
    ] {
        for f in files {
            let raw = std::fs::read(&f).unwrap();
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            originals.push((source, name, raw));
        }
    }
    let mut by_source = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (i, (source, name, raw)) in originals.iter().enumerate() {
        *by_source.entry(*source).or_insert(0) += 1;
        let mut add = |name: String, raw: Vec<u8>| {
            if seen.insert(raw.clone()) {
                out.push(Sample { source, name, raw });
            }
        };
        for k in 0..4 {
            let kind = (i * 4 + k) % MUTATIONS.len();
            let own = with_own_id(raw, i * 5 + k);
            add(format!("{name} ({})", MUTATIONS[kind]), mutate(&own, kind));
        }
        add(name.clone(), with_own_id(raw, i * 5 + 4));
    }
    (out, by_source)
}

/// "not read: message of 123 bytes ..." -> "not read: message of N bytes ...": reasons
/// grouped for the summary.
fn reason_class(reason: &str) -> String {
    let digits = Regex::new(r"[0-9]+").unwrap();
    let r = digits.replace_all(reason.as_bytes(), b"N".as_slice());
    let r = String::from_utf8_lossy(&r);
    r.chars().take(60).collect()
}

fn stored_raw(store: &Store, raw: &[u8]) -> bool {
    // Card numbers are cut out before a message is kept: then the redacted copy is stored.
    let (redacted, _) = redact_and_read(raw, &store.config.limits.message());
    let kept = redacted.as_ref().map_or(raw, |r| r.raw.as_slice());
    store
        .conn
        .query_row(
            "SELECT length(raw) FROM messages WHERE sha256 = ?1",
            [sha256_hex(kept)],
            |r| r.get::<_, i64>(0),
        )
        .is_ok_and(|n| n as usize == kept.len())
}

/// Parsed (classified with a kind) or set aside with a reason; never a caught panic or a
/// failed handling, never a duplicate (each sample has its own id).
fn assert_handled(name: &str, o: &Outcome) {
    assert!(!o.duplicate, "{name}: taken as a duplicate");
    assert!(o.kind.is_some(), "{name}: no kind");
    if let Some(a) = &o.attention {
        assert!(!a.trim().is_empty(), "{name}: set aside without a reason");
        assert!(
            !a.starts_with("could not be processed"),
            "{name}: handling failed: {a}"
        );
    }
}

#[test]
fn the_corpus_through_the_pipeline() {
    let (corpus, by_source) = corpus();
    assert!(
        corpus.len() >= 1_000 || std::env::var_os("CI").is_none(),
        "only {} messages",
        corpus.len()
    );
    let mut store = Store::new();
    let mut slowest = (Duration::ZERO, String::new());
    let mut parsed = 0;
    let mut aside: BTreeMap<String, usize> = BTreeMap::new();
    let mut too_slow = Vec::new();
    let mut sent = Vec::new();
    let mut cuts = Vec::new();
    let known_cards = known_cards();
    for s in &corpus {
        let start = Instant::now();
        let outcome = store.take(std::slice::from_ref(&s.raw)).remove(0);
        let took = start.elapsed();
        let name = format!("{}: {}", s.source, s.name);
        assert_handled(&name, &outcome);
        for (template, to) in &outcome.emails {
            if !to.split(',').all(|a| store.config.is_seller(a.trim())) {
                // Our fixtures are mail to the shop; into other mail a mutation may have
                // written an order line, and a reply to that is one a person would send too.
                let to_the_shop = s.source == "mailcart"
                    || s.raw
                        .windows(LATIN1_ORDER_LINE.len())
                        .any(|w| w == LATIN1_ORDER_LINE);
                sent.push((
                    to_the_shop,
                    name.clone(),
                    outcome.kind,
                    template.clone(),
                    to.clone(),
                ));
            }
        }
        if let (Some(r), _) = redact_and_read(&s.raw, &store.config.limits.message()) {
            cuts.push((
                name.clone(),
                r.count,
                r.places.join(", "),
                numbers_in(&s.raw),
            ));
        }
        assert!(stored_raw(&store, &s.raw), "{name}: not stored raw");
        if took > PER_MESSAGE {
            too_slow.push(format!("{name} {took:?}"));
        }
        if took > slowest.0 {
            slowest = (took, name);
        }
        match &outcome.attention {
            Some(reason) => *aside.entry(reason_class(reason)).or_insert(0) += 1,
            None => parsed += 1,
        }
    }
    assert_eq!(
        store.count("SELECT COUNT(*) FROM messages") as usize,
        corpus.len()
    );
    assert_eq!(
        store.count("SELECT COUNT(*) FROM messages WHERE kind IS NULL"),
        0,
        "every message stored has its kind"
    );
    println!(
        "hostile corpus: {} messages ({} samples: {by_source:?}, each mutated 4 ways); {parsed} handled, {} set aside for a person; slowest {:?} ({})",
        corpus.len(),
        by_source.values().sum::<usize>(),
        aside.values().sum::<usize>(),
        slowest.0,
        slowest.1
    );
    for (reason, n) in &aside {
        println!("  set aside {n:>4}: {reason}");
    }
    assert!(too_slow.is_empty(), "over {PER_MESSAGE:?}: {too_slow:?}");

    // What mailcart would send to anyone but the sellers. Only our own fixtures are mail to
    // this shop (orders, a card number mailed in), and other mail into which a mutation wrote
    // an order line: the rest is other people's mail, and an answer to any of it is an email
    // no person at the shop would send.
    println!(
        "hostile sent: {} emails to others than the sellers ({} answering mail to the shop or an order line written in)",
        sent.len(),
        sent.iter().filter(|s| s.0).count()
    );
    for (to_the_shop, name, kind, template, to) in &sent {
        println!(
            "  {template} to {to} for {name} ({}){}",
            kind.map_or("?", |k| k.as_str()),
            if *to_the_shop {
                ""
            } else {
                " NOT FOR THE SHOP"
            }
        );
    }
    let unwanted: Vec<_> = sent
        .iter()
        .filter(|(to_the_shop, ..)| !to_the_shop)
        .map(|(_, name, _, template, to)| format!("{template} to {to} for {name}"))
        .collect();
    assert!(
        unwanted.is_empty(),
        "answers to mail that is not for the shop: {unwanted:#?}"
    );

    // The card numbers cut, each listed with the digits it took; every one is a number from
    // our card samples (tests/cards/numbers.txt), none is other digits.
    println!(
        "hostile cuts: {} messages with card numbers cut, {} numbers",
        cuts.len(),
        cuts.iter().map(|c| c.1).sum::<usize>()
    );
    let mut not_cards = Vec::new();
    for (name, count, places, numbers) in &cuts {
        println!(
            "  {count} cut in {places} of {name}: {}",
            numbers.join(", ")
        );
        for n in numbers {
            let digits: String = n.chars().filter(char::is_ascii_digit).collect();
            if !known_cards.contains(&digits) {
                not_cards.push(format!("{n} in {name}"));
            }
        }
    }
    assert!(not_cards.is_empty(), "cut but not a card: {not_cards:#?}");
}

/// The card numbers our card samples hold, as digits.
fn known_cards() -> std::collections::HashSet<String> {
    let list = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cards/numbers.txt");
    std::fs::read_to_string(list)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| {
            l.split('\t')
                .skip(1)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .map(|n| n.chars().filter(char::is_ascii_digit).collect())
        .collect()
}

/// The numbers the redactor takes for cards in what a reader of the message sees: subject,
/// text and HTML parts, also inside attached messages.
fn numbers_in(raw: &[u8]) -> Vec<String> {
    let Some(msg) = mail_parser::MessageParser::default().parse(raw) else {
        return Vec::new();
    };
    let mut texts: Vec<String> = vec![msg.subject().unwrap_or("").to_string()];
    for part in &msg.parts {
        if let Some(name) = mail_parser::MimeHeaders::attachment_name(part) {
            texts.push(name.to_string());
        }
        match &part.body {
            mail_parser::PartType::Text(t) | mail_parser::PartType::Html(t) => {
                texts.push(t.to_string())
            }
            mail_parser::PartType::Message(m) => texts.push(numbers_in(m.raw_message()).join(" ")),
            _ => {}
        }
    }
    let found = |texts: &[String]| -> Vec<String> {
        let mut out: Vec<String> = texts
            .iter()
            .flat_map(|t| {
                mailcart::core::redact::find_cards(t)
                    .into_iter()
                    .map(|r| t[r].to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        out.sort();
        out.dedup();
        out
    };
    let out = found(&texts);
    if !out.is_empty() {
        return out;
    }
    // A part whose charset is wrong shows its digits only in the raw body.
    let body = find(raw, b"\n\r\n")
        .into_iter()
        .chain(find(raw, b"\n\n"))
        .min()
        .map_or(&raw[..0], |i| &raw[i..]);
    found(&[String::from_utf8_lossy(body).into_owned()])
}

/// Run `mailcart` and sample its own high-water mark (VmHWM) every few milliseconds until it
/// exits: getrusage would count this test process's size too (exec keeps the parent's mark).
fn run_measured(config: &Path, args: &[&str]) -> (String, i64) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mailcart"))
        .arg("--config")
        .arg(config)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
        out
    });
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Some(hwm) = std::fs::read_to_string(&status).ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        }) {
            peak = peak.max(hwm);
        }
        if let Some(exit) = child.try_wait().unwrap() {
            assert!(exit.success(), "mailcart {args:?} failed");
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    (reader.join().unwrap(), peak)
}

#[test]
fn mailcart_process_over_the_corpus_stays_within_memory() {
    let (corpus, _) = corpus();
    let shop = common::shop::Shop::new();
    let dir = shop.dir.path().join("corpus");
    std::fs::create_dir(&dir).unwrap();
    let mut files = Vec::new();
    for (i, s) in corpus.iter().enumerate() {
        let path = dir.join(format!("{i:05}.eml"));
        std::fs::write(&path, &s.raw).unwrap();
        files.push(path.to_str().unwrap().to_string());
    }
    let total: usize = corpus.iter().map(|s| s.raw.len()).sum();
    let mut args = vec!["process"];
    args.extend(files.iter().map(String::as_str));
    let start = Instant::now();
    let (out, peak) = run_measured(&shop.dir.path().join("config.toml"), &args);
    let took = start.elapsed();
    assert_eq!(out.lines().count(), corpus.len(), "one line per message");
    println!(
        "hostile process: `mailcart process` over {} messages ({} KiB) in {took:?}, peak RSS {} MiB",
        corpus.len(),
        total / 1024,
        peak / 1024
    );
    assert!(
        peak < PEAK_RSS_BOUND_KB,
        "peak RSS {peak} KiB over {PEAK_RSS_BOUND_KB} KiB"
    );
}

// ------------------------------------------------------------------------------------------
// Crafted monsters

const HEAD: &str =
    "From: Pat Okafor <pat@example.test>\r\nTo: orders@lindenclay.test\r\nSubject: order\r\n";

fn order_text() -> &'static str {
    "Hello,\r\n\r\n2 x Blue Glazed Mug\r\n\r\nShip to:\r\nPat Okafor\r\n41 Linden Avenue\r\nPortland, OR 97205\r\nUSA\r\n"
}

fn with_attachment(id: &str, bytes: usize) -> Vec<u8> {
    let mut m = format!(
        "{HEAD}Message-ID: <{id}@crafted.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"att\"\r\n\r\n--att\r\nContent-Type: text/plain\r\n\r\n{}\r\n--att\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=big.bin\r\n\r\n",
        order_text()
    )
    .into_bytes();
    let line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n";
    while m.len() + line.len() + 9 < bytes {
        m.extend_from_slice(line);
    }
    m.extend_from_slice(b"--att--\r\n");
    m
}

#[test]
fn crafted_monsters_through_the_pipeline() {
    let mut store = Store::new();
    let limit = store.config.limits.max_message_bytes;
    let mut deep = format!("{HEAD}Message-ID: <deep@crafted.test>\r\n");
    for _ in 0..10_000 {
        deep.push_str("Content-Type: message/rfc822\r\n\r\n");
    }
    let mut deep_multipart = format!("{HEAD}Message-ID: <deep-multi@crafted.test>\r\n");
    for i in 0..10_000 {
        deep_multipart.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n"
        ));
    }
    let mut parts = format!(
        "{HEAD}Message-ID: <parts@crafted.test>\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n"
    );
    for i in 0..100_000 {
        parts.push_str(&format!("--p\r\nContent-Type: text/plain\r\n\r\n{i}\r\n"));
    }
    // (name, message, Some(the limit its reason names), or None: within the limits, parsed)
    let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        ("10,000-deep message/rfc822", deep.into_bytes(), Some("max_mime_depth")),
        ("10,000-deep multipart", deep_multipart.into_bytes(), Some("max_mime_depth")),
        ("100,000 parts", parts.into_bytes(), Some("max_mime_parts")),
        ("50 MB attachment", with_attachment("big", 50 << 20), Some("max_message_bytes")),
        ("attachment just under the limit", with_attachment("under", limit - 1024), None),
        (
            "missing boundary",
            format!("{HEAD}Message-ID: <nob@crafted.test>\r\nContent-Type: multipart/mixed\r\n\r\n--\r\n{}--\r\n", order_text()).into_bytes(),
            None,
        ),
        (
            "NUL bytes",
            format!("{HEAD}Message-ID: <nul@crafted.test>\r\nX-A: \0\0\r\n\r\n\0{}\0", order_text()).into_bytes(),
            None,
        ),
        (
            "Received:\\n\\t",
            format!("Received:\n\t\n{HEAD}Message-ID: <recv@crafted.test>\r\n\r\n{}", order_text()).into_bytes(),
            None,
        ),
        (
            "unknown charsets",
            format!(
                "{HEAD}Message-ID: <charset@crafted.test>\r\nSubject: =?x-klingon-9?B?cWFwbGE=?=\r\nContent-Type: text/plain; charset=x-unknown-42\r\n\r\n{}",
                order_text()
            )
            .into_bytes(),
            None,
        ),
        ("empty", Vec::new(), None),
        ("no header", b"2 x Blue Mug\r\n".to_vec(), None),
    ];
    for (name, raw, expect) in &cases {
        let start = Instant::now();
        redact_and_read(raw, &store.config.limits.message());
        let read = start.elapsed();
        let start = Instant::now();
        let o = store.take(std::slice::from_ref(raw)).remove(0);
        let took = start.elapsed();
        println!(
            "hostile monster: {name} ({} bytes): read {read:?}, pipeline {took:?}, {:?}, {}",
            raw.len(),
            o.kind.map(|k| k.as_str()),
            o.attention.as_deref().unwrap_or("not set aside")
        );
        assert_handled(name, &o);
        assert!(stored_raw(&store, raw), "{name}: not stored raw");
        assert!(read < PER_MESSAGE, "{name}: read in {read:?}");
        // Beyond reading, a large message costs its storing (WAL, fsync, checkpoint) at the
        // disk's pace (~40 MB/s here, unloaded): 1 s per 5 MB is allowed on top.
        let budget = PER_MESSAGE + Duration::from_secs_f64(raw.len() as f64 / 5e6);
        assert!(took < budget, "{name}: took {took:?}");
        match expect {
            Some(key) => {
                let reason = o.attention.as_deref().unwrap_or("");
                assert!(
                    reason.starts_with("not read: ") && reason.contains(key),
                    "{name}: set aside for {reason:?}, not {key}"
                );
            }
            None => assert!(
                !o.attention
                    .as_deref()
                    .is_some_and(|a| a.contains("[limits]")),
                "{name}: refused: {:?}",
                o.attention
            ),
        }
    }
    // The one just under the limit was read: the order in its text part was taken.
    let under = &cases[4];
    let o = store.take(std::slice::from_ref(&under.1)).remove(0);
    assert!(o.duplicate, "the same message again is a copy");
    let kind: String = store
        .conn
        .query_row(
            "SELECT kind FROM messages WHERE message_id = 'under@crafted.test'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kind, "order");
    // The refused ones keep who sent them and what about, for the person who looks.
    let (from, subject): (String, String) = store
        .conn
        .query_row(
            "SELECT from_addr, subject FROM messages WHERE message_id = 'big@crafted.test'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (from.as_str(), subject.as_str()),
        ("pat@example.test", "order")
    );
}

/// `mailcart parse` refuses what the pipeline refuses, before parsing, and says why.
#[test]
fn parse_enforces_the_configured_limits() {
    let shop = common::shop::Shop::new();
    let config = shop.dir.path().join("config.toml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("max_mime_depth = 100", "max_mime_depth = 3");
    std::fs::write(&config, text).unwrap();
    let mut nested = format!("{HEAD}Message-ID: <n@crafted.test>\r\n");
    for _ in 0..4 {
        nested.push_str("Content-Type: message/rfc822\r\n\r\n");
    }
    let file = shop.dir.path().join("nested.eml");
    std::fs::write(&file, nested).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mailcart"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "parse",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not read") && stderr.contains("max_mime_depth"),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["kind"], "unknown");
    // And `process` under the same config sets it aside with the reason.
    let line = shop.run(&["process", file.to_str().unwrap()]);
    assert!(line.contains("max_mime_depth"), "{line}");
    let held = shop.run(&["review"]);
    assert!(held.contains("max_mime_depth"), "{held}");
}
