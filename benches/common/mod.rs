//! Shared by the benches.

use std::path::Path;

/// The fixture catalog with `stock` of every item, so every generated order can be reserved.
pub fn stocked_catalog_csv(stock: &str) -> String {
    let csv = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("mailbox-fixtures/catalog.csv"),
    )
    .unwrap();
    csv.lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                return format!("{l}\n");
            }
            let mut f: Vec<&str> = l.split(',').collect();
            f[3] = stock;
            format!("{}\n", f.join(","))
        })
        .collect()
}

/// A config text without the global cap on automatic replies (`[limits] replies_per_hour`):
/// a bench answers thousands of customers within the hour, which a shop's loop breaker would
/// rightly stop.
pub fn without_global_reply_cap(config: &str) -> String {
    let capped = "replies_per_hour = 1000\n";
    assert!(
        config.contains(capped),
        "the example config's global reply cap moved"
    );
    config.replace(capped, "replies_per_hour = 4000000000\n")
}
