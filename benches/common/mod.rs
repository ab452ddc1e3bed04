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
