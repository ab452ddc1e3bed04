//! The address of every wild order (`mailbox-fixtures/wild/`), read by the address finder
//! alone from the message text and held to its golden `postal_code` and `country_code`, so
//! the addresses are measured apart from whether the items around them were read; and the
//! addresses it reads in mail that is no order.
//!
//! `cargo test --test wild_addresses -- --nocapture` prints every miss and the totals.

use std::path::PathBuf;

use mailcart::core::address::find_address;
use serde_json::Value;

mod common;
use common::{files_under, fixtures_dir};

/// Read right at the last count (see the report of the address work); it may only rise.
const RIGHT_AT_LEAST: usize = 74;

fn goldens() -> Vec<(PathBuf, Value)> {
    files_under(&fixtures_dir().join("wild"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| {
            let golden = serde_json::from_slice(&std::fs::read(&p).ok()?).ok()?;
            Some((p.with_extension("eml"), golden))
        })
        .filter(|(eml, _)| eml.is_file())
        .collect()
}

fn code_and_country(v: &Value) -> Option<(Option<String>, Option<String>)> {
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    (!v.is_null()).then(|| (text("postal_code"), text("country_code")))
}

#[test]
fn wild_order_addresses() {
    let (mut orders, mut right, mut misses, mut in_non_orders) = (0, 0, Vec::new(), Vec::new());
    for (eml, golden) in goldens() {
        let raw = std::fs::read(&eml).unwrap();
        let msg = mailcart::mail::read::read(&raw);
        let lines: Vec<&str> = msg.text.lines().collect();
        let found = find_address(&lines);
        let name = eml
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        if golden.get("kind").and_then(Value::as_str) != Some("order") {
            if let Some(f) = found {
                in_non_orders.push(format!("{name}: {:?}", f.address.text));
            }
            continue;
        }
        orders += 1;
        let want = code_and_country(&golden["shipping_address"]);
        let got = found.map(|f| (f.address.postal_code, f.address.country_code));
        if want == got {
            right += 1;
        } else {
            misses.push(format!("{name}: want {want:?} got {got:?}"));
        }
    }
    for m in &misses {
        eprintln!("address miss: {m}");
    }
    for m in &in_non_orders {
        eprintln!("address in a non-order: {m}");
    }
    eprintln!(
        "wild addresses: {right} of {orders} orders read right; {} addresses in non-orders",
        in_non_orders.len()
    );
    // A sender's own footer ("Hearth & Home, 10 Market Street, Leeds LS1 6DT") is an address;
    // nothing in spam or a technical mail is.
    let false_reads: Vec<&String> = in_non_orders
        .iter()
        .filter(|m| m.contains("spam") || m.contains("technical"))
        .collect();
    assert!(false_reads.is_empty(), "{false_reads:?}");
    assert!(orders > 0, "no wild orders found");
    assert!(
        right >= RIGHT_AT_LEAST,
        "{right} of {orders} read right, fewer than {RIGHT_AT_LEAST}"
    );
}
