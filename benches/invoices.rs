//! `cargo bench --bench invoices`: render 1,000 invoices (varied names in Latin, Greek,
//! Cyrillic and CJK script, one to twelve lines) to PDF, as the pipeline does when an order is
//! paid. Prints invoices per second (goal: at least 200/s) and the mean and largest PDF
//! (goal: under 60 KB, the fonts' subsets embedded). MAILCART_BENCH_N sets how many.

use std::path::Path;
use std::time::Instant;

use mailcart::config::Config;
use mailcart::core::inbound::Mailbox;
use mailcart::core::invoice::invoice;
use mailcart::core::order::{Order, OrderLine, OrderState, Payment};
use mailcart::core::pricing::price_order;
use rust_decimal::Decimal;

const NAMES: &[&str] = &[
    "Pat Okafor",
    "Zoë Müller-Lüdenscheidt",
    "Γιώργος Παπαδόπουλος",
    "Анна Кузнецова",
    "山田 太郎",
    "김민준",
    "Ana García Núñez",
    "陳大文 (Chan Tai Man)",
];
const ITEMS: &[(&str, &str, &str)] = &[
    ("MUG-BLU", "Blue Glazed Mug", "18.00"),
    ("MUG-GRN", "Green Speckled Mug", "19.50"),
    ("BWL-SML", "Small Rice Bowl", "12.00"),
    (
        "TPT-IRN",
        "Cast Iron Teapot with a very long name that wraps onto a second line",
        "64.00",
    ),
    ("VAS-BUD", "Bud Vase", "22.00"),
    ("CUP-SAK", "Sake Cups (set of 4)", "28.00"),
];

fn order(i: usize, config: &Config, now: time::OffsetDateTime) -> Order {
    let name = NAMES[i % NAMES.len()];
    let mut o = Order::new(
        format!("MC-B{i:07}"),
        Mailbox {
            name: Some(name.to_string()),
            email: format!("customer{i}@example.test"),
        },
        "USD",
        now,
    );
    o.state = OrderState::Paid;
    let lines = 1 + i % 12;
    for n in 0..lines {
        let (sku, item, price) = ITEMS[(i + n) % ITEMS.len()];
        let unit: Decimal = price.parse().unwrap();
        let quantity = 1 + ((i + n) % 3) as u32;
        o.lines.push(OrderLine {
            sku: format!("{sku}-{n}"),
            name: item.to_string(),
            quantity,
            requested: quantity,
            unit_price: unit,
            line_total: unit * Decimal::from(quantity),
        });
    }
    let priced: Vec<(u32, Decimal)> = o.lines.iter().map(|l| (l.quantity, l.unit_price)).collect();
    o.totals = price_order(&priced, "US", config);
    o.shipping_address = Some(mailcart::core::address::ShippingAddress {
        text: format!("{name}\n41 Linden Avenue\nPortland, OR 97205\nUSA"),
        postal_code: Some("97205".into()),
        country: Some("USA".into()),
        country_code: Some("US".into()),
    });
    o.payments.push(Payment {
        amount: o.totals.total,
        currency: "USD".into(),
        transaction_id: Some(format!("TX{i:010}")),
        provider: "alerts@bank.example".into(),
        payer: Some(name.to_string()),
        at: now,
    });
    o
}

fn main() {
    let n: usize = std::env::var("MAILCART_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000);
    let config = Config::from_toml(mailcart::EXAMPLE_CONFIG, Path::new("bench")).unwrap();
    let now = time::OffsetDateTime::from_unix_timestamp(1_796_000_000).unwrap();
    let docs: Vec<_> = (0..n)
        .map(|i| invoice(&order(i, &config, now), &config, i as i64 + 1, now, "en"))
        .collect();
    // The fonts are parsed once a process; not part of any one invoice's cost.
    let _ = mailcart::invoice::render(&docs[0]).unwrap();
    let start = Instant::now();
    let mut sizes = Vec::with_capacity(n);
    for d in &docs {
        sizes.push(mailcart::invoice::render(d).unwrap().len());
    }
    let secs = start.elapsed().as_secs_f64();
    let max = sizes.iter().copied().max().unwrap_or(0);
    let mean = sizes.iter().sum::<usize>() as f64 / n as f64;
    println!(
        "{n} invoices in {secs:.2} s: {:.0} invoices/s (goal: at least 200)",
        n as f64 / secs
    );
    println!(
        "PDF size: mean {:.1} KB, largest {:.1} KB (goal: under 60 KB)",
        mean / 1024.0,
        max as f64 / 1024.0
    );
    if let Ok(dir) = std::env::var("MAILCART_BENCH_KEEP") {
        for (i, d) in docs.iter().enumerate().take(8) {
            let pdf = mailcart::invoice::render(d).unwrap();
            std::fs::write(Path::new(&dir).join(format!("bench-{i}.pdf")), pdf).unwrap();
        }
    }
}
