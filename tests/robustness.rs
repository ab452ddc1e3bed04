//! Nothing a mailbox holds may panic the reader: arbitrary bytes, and the fixtures mutated
//! (truncated, bytes flipped, headers duplicated, boundaries broken), through read ->
//! classify -> extract, and a sample of them through the whole pipeline into SQLite.

use mailcart::core::catalog::Catalog;
use mailcart::core::extract::{ReadContext, read};
use proptest::prelude::*;

mod common;
use common::{catalog, fixture_files};

fn fixtures() -> Vec<Vec<u8>> {
    fixture_files()
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

fn read_all(raw: &[u8], catalog: &Catalog) {
    let msg = mailcart::mail::read::read(raw);
    let parsed = read(
        &msg,
        ReadContext {
            catalog,
            shop_address: "orders@lindenclay.test",
            max_quantity: 999,
            reference_prefix: "MC",
            spam_threshold: mailcart::core::not_for_us::DEFAULT_SPAM_THRESHOLD,
        },
    );
    // The report must always serialise: it is what `parse` prints.
    serde_json::to_string(&parsed.report()).unwrap();
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    DuplicateLine(usize),
    DropLine(usize),
}

fn mutate(raw: &[u8], m: &Mutation) -> Vec<u8> {
    let mut v = raw.to_vec();
    if v.is_empty() {
        return v;
    }
    match m {
        Mutation::Truncate(at) => v.truncate(at % v.len()),
        Mutation::Flip(at, b) => {
            let i = at % v.len();
            v[i] ^= b | 1;
        }
        Mutation::Insert(at, bytes) => {
            let i = at % v.len();
            v.splice(i..i, bytes.iter().copied());
        }
        Mutation::DuplicateLine(n) | Mutation::DropLine(n) => {
            let mut lines: Vec<Vec<u8>> = v.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
            let i = n % lines.len();
            if matches!(m, Mutation::DuplicateLine(_)) {
                let line = lines[i].clone();
                lines.insert(i, line);
            } else {
                lines.remove(i);
            }
            v = lines.join(&b'\n');
        }
    }
    v
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Mutation::Flip(a, b)),
        (
            any::<usize>(),
            prop_oneof![
                Just(b"\r\n--".to_vec()),
                Just(b"\r\nContent-Type: multipart/mixed; boundary=\"x\"\r\n".to_vec()),
                Just(b"=?UTF-8?B?////?=".to_vec()),
                Just(b"\0\0\0".to_vec()),
                Just(b"Content-Transfer-Encoding: base64\r\n".to_vec()),
                Just(b"charset=x-unknown-8".to_vec()),
                Just(b"<blockquote><blockquote><div>".to_vec()),
                proptest::collection::vec(any::<u8>(), 0..64),
            ]
        )
            .prop_map(|(a, b)| Mutation::Insert(a, b)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        any::<usize>().prop_map(Mutation::DropLine),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..4096)) {
        read_all(&raw, &catalog());
    }

    #[test]
    fn mutated_fixtures_never_panic(pick in any::<usize>(), muts in proptest::collection::vec(mutation(), 1..6)) {
        let all = fixtures();
        prop_assume!(!all.is_empty());
        let mut raw = all[pick % all.len()].clone();
        for m in &muts {
            raw = mutate(&raw, m);
        }
        read_all(&raw, &catalog());
    }

    #[test]
    fn arbitrary_text_lines_never_panic(text in "\\PC{0,400}") {
        let raw = format!("From: a@b.test\r\nSubject: x\r\n\r\n{text}");
        read_all(raw.as_bytes(), &catalog());
    }
}

#[test]
fn crafted_monsters_never_panic() {
    let c = catalog();
    let mut deep = String::from("From: a@b.test\r\nContent-Type: message/rfc822\r\n\r\n");
    for _ in 0..10_000 {
        deep.push_str("Content-Type: message/rfc822\r\n\r\n");
    }
    read_all(deep.as_bytes(), &c);
    let html = format!(
        "From: a@b.test\r\nContent-Type: text/html\r\n\r\n{}2 x Blue Mug{}",
        "<div><blockquote>".repeat(50_000),
        "</blockquote>".repeat(10)
    );
    read_all(html.as_bytes(), &c);
    let mut parts =
        String::from("From: a@b.test\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n");
    for i in 0..20_000 {
        parts.push_str(&format!(
            "--b\r\nContent-Type: text/plain\r\n\r\n{i} x Blue Mug\r\n"
        ));
    }
    read_all(parts.as_bytes(), &c);
    read_all(
        b"From: a@b.test\r\nContent-Type: multipart/mixed\r\n\r\n--\r\n--\r\n",
        &c,
    );
    read_all(b"Received:\n\t\nFrom: \0\0\r\n\r\n\0", &c);
    read_all(&vec![b'2'; 1 << 20], &c);
}

#[test]
fn the_pipeline_stores_every_mutant_and_never_panics() {
    let mut store = common::store::Store::new();
    let mut batch = Vec::new();
    let all = fixtures();
    let mut seed = 0x2545F4914F6CDD1Du64;
    for (i, raw) in all.iter().enumerate() {
        batch.push(raw.clone());
        for _ in 0..4 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let m = match seed % 3 {
                0 => Mutation::Truncate(seed as usize),
                1 => Mutation::Flip(seed as usize, (seed >> 8) as u8),
                _ => Mutation::DropLine((seed >> 3) as usize + i),
            };
            batch.push(mutate(raw, &m));
        }
    }
    let outcomes = store.take(&batch);
    assert_eq!(outcomes.len(), batch.len());
    let stored = store.count("SELECT COUNT(*) FROM messages");
    let distinct: std::collections::HashSet<&Vec<u8>> = batch.iter().collect();
    assert_eq!(
        stored as usize,
        distinct.len(),
        "every distinct message is stored raw"
    );
}
