//! `cargo bench --bench throughput`: 10,000 varied order emails through `process` into a fresh
//! on-disk database with durable (synchronous=FULL, WAL) commits, against the parse-only rate
//! of the same messages. Prints messages per second and peak memory. The parse-only rate is
//! also measured with a generated catalog of 100,000 SKUs (the shop's 15 among them), which
//! must read at least half as fast as the 15-SKU one.
//!
//! Then every order left awaiting payment is paid by a bank's notice, and the rate of those
//! messages is printed: each one numbers, renders and attaches an invoice. With
//! MAILCART_BENCH_INVOICES=0 the config has `[invoices] enabled = false`, for the A/B.
//!
//! Options (env): MAILCART_BENCH_N (default 10000), MAILCART_BENCH_BATCH (default 256,
//! messages per commit; 1 gives one fsync'd commit per message), MAILCART_BENCH_SKUS (default
//! 100000, the big catalog's size).

mod common;

use std::path::Path;
use std::time::Instant;

use mailcart::config::Config;
use mailcart::core::catalog::{Catalog, CatalogItem};
use mailcart::core::extract::{ReadContext, read};
use mailcart::pipeline::{RandomReferences, process_batch};

const NAMES: &[&str] = &[
    "Pat Okafor",
    "Lee Chen",
    "Zoë Müller",
    "Ana García",
    "Sam Taylor",
    "Yuki Tanaka",
    "Jean Dupont",
    "Ola Nordmann",
];
const ITEMS: &[&str] = &[
    "Blue Mug",
    "blue mugs",
    "Green Speckled Mug",
    "Small Rice Bowl",
    "large bowl",
    "Cast Iron Teapot",
    "Bud Vase",
    "Dinner Plate",
    "sake cups",
    "Soy Candle",
    "tea towels",
    "MUG-BLU",
    "Ramen Bowl",
];
const ADDRESSES: &[&str] = &[
    "Ship to:\n{name}\n41 Linden Avenue\nPortland, OR 97205\nUSA",
    "Deliver to: {name}, 12 Rue Oberkampf, 75011 Paris, France",
    "Lieferadresse:\n{name}\nInvalidenstraße 117\n10115 Berlin\nDeutschland",
    "{name}\n221B Baker Street\nLondon NW1 6XE\nUnited Kingdom",
    "Address:\n{name}\n350 King St W\nToronto ON M5V 3X5\nCanada",
    "",
];

fn generate(i: usize) -> Vec<u8> {
    let mut x = (i as u64).wrapping_mul(0x9E3779B97F4A7C15) ^ 0xD1B54A32D192ED03;
    let mut next = |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    let name = NAMES[next(NAMES.len())];
    let mut body = String::from("Hello,\n\n");
    let lines = 1 + next(4);
    for _ in 0..lines {
        let item = ITEMS[next(ITEMS.len())];
        let q = 1 + next(4);
        let line = match next(6) {
            0 => format!("{q} x {item}"),
            1 => format!("{item} x{q}"),
            2 => format!("- {q} {item}"),
            3 => format!("{item} - qty: {q}"),
            4 => format!("Qty {q} - {item}"),
            _ => format!("could I get {q} {item} please"),
        };
        body.push_str(&line);
        body.push('\n');
    }
    body.push('\n');
    body.push_str(&ADDRESSES[next(ADDRESSES.len())].replace("{name}", name));
    body.push_str("\n\nThanks,\n");
    body.push_str(name);
    body.push_str("\n\n-- \nSent from my phone\n");
    let html = next(4) == 0;
    let content = if html {
        let htmlbody = body
            .lines()
            .map(|l| format!("<div>{l}</div>"))
            .collect::<String>();
        format!(
            "Content-Type: text/html; charset=utf-8\r\n\r\n<html><body>{htmlbody}</body></html>"
        )
    } else {
        format!(
            "Content-Type: text/plain; charset=utf-8\r\n\r\n{}",
            body.replace('\n', "\r\n")
        )
    };
    format!(
        "From: {name} <customer{i}@example.test>\r\nTo: orders@lindenclay.test\r\nSubject: Order {i}\r\nMessage-ID: <bench-{i}@example.test>\r\nDate: Sun, 22 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n{content}"
    )
    .into_bytes()
}

/// A big shop's catalog: names of varied words with sizes and model numbers, as a stationery
/// or kitchen wholesaler writes them ("Matte Steel Water Bottle 750 ml", "Gel Pen XR-2040").
fn big_catalog(n: usize, shop: &Catalog) -> Vec<CatalogItem> {
    const LOOK: &[&str] = &[
        "matte",
        "glossy",
        "brushed",
        "recycled",
        "bamboo",
        "walnut",
        "oak",
        "slate",
        "amber",
        "ivory",
        "charcoal",
        "sage",
        "coral",
        "navy",
        "ochre",
        "frosted",
        "hammered",
        "woven",
        "enamel",
        "copper",
        "brass",
        "linen",
        "cotton",
        "felt",
        "cork",
        "marble",
        "terracotta",
        "porcelain",
        "stoneware",
        "birch",
        "smoked",
        "speckled",
        "rustic",
        "nordic",
        "alpine",
    ];
    const WHAT: &[&str] = &[
        "water bottle",
        "notebook",
        "gel pen",
        "fountain pen",
        "pencil set",
        "knife set",
        "cutting board",
        "serving tray",
        "carafe",
        "tumbler",
        "espresso cup",
        "pitcher",
        "planner",
        "desk lamp",
        "storage jar",
        "spice rack",
        "salad bowl",
        "pasta plate",
        "napkin",
        "place mat",
        "coaster",
        "candle holder",
        "picture frame",
        "wall clock",
        "eraser",
        "stapler",
        "ruler",
        "sketchbook",
        "envelope",
        "sticky notes",
        "binder",
        "file folder",
        "cable tidy",
        "plant pot",
        "watering can",
        "bread bin",
        "oil bottle",
    ];
    const SIZE: &[&str] = &[
        "250 ml",
        "500 ml",
        "750 ml",
        "1 l",
        "a4",
        "a5",
        "a6",
        "12-piece",
        "6-piece",
        "no. 5",
        "no. 7",
        "30 cm",
        "15 cm",
        "xl",
        "small",
        "large",
        "set of 4",
        "pack of 10",
        "",
    ];
    let mut x: u64 = 0x2545F4914F6CDD1D;
    let mut next = |m: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % m as u64) as usize
    };
    let mut items = shop.items.clone();
    while items.len() < n {
        let i = items.len();
        let look = LOOK[next(LOOK.len())];
        let what = WHAT[next(WHAT.len())];
        let size = SIZE[next(SIZE.len())];
        let model = format!(
            "{}{}-{}",
            (b'A' + next(26) as u8) as char,
            (b'A' + next(26) as u8) as char,
            100 + next(9900)
        );
        let name = format!("{look} {what} {size} {model}");
        items.push(CatalogItem {
            sku: format!("SKU-{i:06}"),
            name,
            unit_price: rust_decimal::Decimal::new(100 + next(9900) as i64, 2),
            aliases: if next(4) == 0 {
                vec![format!("{what} {model}")]
            } else {
                Vec::new()
            },
        });
    }
    items
}

/// Messages per second of `read` alone over `messages`, and how many had items.
fn read_all(messages: &[Vec<u8>], catalog: &Catalog, shop_address: &str) -> (f64, usize) {
    let start = Instant::now();
    let mut orders = 0;
    for raw in messages {
        let msg = mailcart::mail::read::read(raw);
        let parsed = read(
            &msg,
            ReadContext {
                catalog,
                shop_address,
                max_quantity: 999,
                reference_prefix: "MC",
                spam_threshold: mailcart::core::not_for_us::DEFAULT_SPAM_THRESHOLD,
            },
        );
        orders += usize::from(!parsed.requested.items.is_empty());
    }
    (
        messages.len() as f64 / start.elapsed().as_secs_f64(),
        orders,
    )
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let n: usize = std::env::var("MAILCART_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let batch: usize = std::env::var("MAILCART_BENCH_BATCH")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256)
        .max(1);
    let messages: Vec<Vec<u8>> = (0..n).map(generate).collect();
    let bytes: usize = messages.iter().map(Vec::len).sum();
    println!("{n} messages, {:.1} MB", bytes as f64 / 1e6);

    let dir = tempfile::tempdir().unwrap();
    let text = common::without_global_reply_cap(mailcart::EXAMPLE_CONFIG).replace(
        "database = \"mailcart.db\"",
        &format!(
            "database = {:?}",
            dir.path().join("bench.db").to_str().unwrap()
        ),
    );
    let invoices = std::env::var("MAILCART_BENCH_INVOICES").map_or(true, |v| v != "0");
    let text = if invoices {
        text
    } else {
        let on = "[invoices]\n# Each paid order's confirmation";
        assert!(text.contains(on), "the example config's [invoices] moved");
        text.replacen(
            "enabled = true\n# Put before the six",
            "enabled = false\n# Put before the six",
            1,
        )
    };
    let config = Config::from_toml(&text, Path::new("bench")).unwrap();
    assert_eq!(config.invoices.enabled, invoices);
    let mut conn = mailcart::store::open(&config.storage.database).unwrap();
    let csv = common::stocked_catalog_csv("1000000");
    let now = time::OffsetDateTime::now_utc();
    let tx = conn.transaction().unwrap();
    mailcart::store::import_catalog_csv(&tx, csv.as_bytes(), now).unwrap();
    tx.commit().unwrap();
    let catalog: Catalog = mailcart::store::load_catalog(&conn).unwrap();

    let (parse_rate, orders) = read_all(&messages, &catalog, &config.shop.address);
    println!(
        "parse only:  {parse_rate:>9.0} msg/s ({orders} with items; {} SKUs)",
        catalog.items.len()
    );

    let skus: usize = std::env::var("MAILCART_BENCH_SKUS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let items = big_catalog(skus, &catalog);
    let start = Instant::now();
    let big = Catalog::new(items);
    let built = start.elapsed().as_secs_f64();
    let (big_rate, big_orders) = read_all(&messages, &big, &config.shop.address);
    println!(
        "parse only:  {big_rate:>9.0} msg/s ({big_orders} with items; {} SKUs, index built once in {built:.2} s)",
        big.items.len()
    );
    println!(
        "ratio {}-SKU / {}-SKU parse-only: {:.2} (goal: at least 0.50)",
        big.items.len(),
        catalog.items.len(),
        big_rate / parse_rate
    );
    drop(big);

    let start = Instant::now();
    let mut quoted = 0;
    for chunk in messages.chunks(batch) {
        let outcomes =
            process_batch(&mut conn, &config, chunk, now, &mut RandomReferences).unwrap();
        quoted += outcomes
            .iter()
            .filter(|o| {
                o.emails
                    .iter()
                    .any(|(t, _)| t == "quote" || t == "under_review")
            })
            .count();
    }
    let e2e_secs = start.elapsed().as_secs_f64();
    let e2e_rate = n as f64 / e2e_secs;
    println!(
        "end to end:  {e2e_rate:>9.0} msg/s ({quoted} quoted, {batch} messages per durable commit)"
    );
    println!(
        "ratio end-to-end / parse-only: {:.2}",
        e2e_rate / parse_rate
    );
    let stored: i64 = conn
        .query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))
        .unwrap();
    let outbox: i64 = conn
        .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored as usize, n, "every message stored");
    println!(
        "stored {stored} messages, {outbox} outbox rows; peak RSS {} MB",
        peak_rss_kb() / 1024
    );

    let notices = payment_notices(&conn);
    let start = Instant::now();
    let mut paid = 0;
    for chunk in notices.chunks(batch) {
        let outcomes =
            process_batch(&mut conn, &config, chunk, now, &mut RandomReferences).unwrap();
        paid += outcomes.iter().filter(|o| o.state == Some("paid")).count();
    }
    let pay_rate = notices.len() as f64 / start.elapsed().as_secs_f64();
    let issued: i64 = conn
        .query_row("SELECT COUNT(*) FROM invoices", [], |r| r.get(0))
        .unwrap();
    println!(
        "payments:    {pay_rate:>9.0} msg/s ({paid} of {} paid, {issued} invoices; [invoices] enabled = {invoices})",
        notices.len()
    );
    assert_eq!(paid, notices.len(), "every notice pays its order");
}

/// A bank's notice (mailbox-fixtures/55) for every order awaiting payment, for its total.
fn payment_notices(conn: &rusqlite::Connection) -> Vec<Vec<u8>> {
    let template = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("mailbox-fixtures/55-bank-transfer.eml"),
    )
    .unwrap();
    let mut stmt = conn
        .prepare("SELECT reference, total FROM orders WHERE state = 'awaiting_payment' ORDER BY reference")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
        .map(|r| {
            let (reference, total) = r.unwrap();
            template
                .replace("MC-7K2QXD9F", &reference)
                .replace("116.00", &total)
                .replace(
                    "alert.20261201071501.88231@",
                    &format!("alert.{reference}@"),
                )
                .into_bytes()
        })
        .collect()
}
