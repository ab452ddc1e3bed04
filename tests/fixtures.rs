//! Every fixture in mailbox-fixtures/ parses to the JSON beside it. On a mismatch the actual
//! output is written next to the fixture as NN-name.actual.json, so the difference is one
//! `diff` away.

use std::path::Path;

use mailcart::config::Config;
use mailcart::core::catalog::Catalog;
use mailcart::core::extract::{ReadContext, read};
use serde_json::Value;

mod common;
use common::{catalog, fixture_files};

pub fn parse_json(path: &Path, catalog: &Catalog, config: &Config) -> Value {
    let raw = std::fs::read(path).unwrap();
    let msg = mailcart::mail::read::read(&raw);
    let parsed = read(
        &msg,
        ReadContext {
            catalog,
            shop_address: &config.shop.address,
            max_quantity: config.limits.max_quantity,
            reference_prefix: &config.shop.reference_prefix,
            spam_threshold: config.security.spam_score_threshold,
        },
    );
    serde_json::to_value(parsed.report()).unwrap()
}

#[test]
fn every_fixture_parses_as_expected() {
    let config = Config::from_toml(mailcart::EXAMPLE_CONFIG, Path::new("example")).unwrap();
    let catalog = catalog();
    let files = fixture_files();
    assert!(files.len() >= 40, "only {} fixtures", files.len());
    let mut failures = Vec::new();
    for eml in &files {
        let expected_path = eml.with_extension("json");
        let actual_path = eml.with_extension("actual.json");
        let actual = parse_json(eml, &catalog, &config);
        let expected: Value = match std::fs::read_to_string(&expected_path) {
            Ok(text) => serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display())),
            Err(_) => Value::Null,
        };
        if actual == expected {
            let _ = std::fs::remove_file(&actual_path);
        } else {
            std::fs::write(
                &actual_path,
                serde_json::to_string_pretty(&actual).unwrap() + "\n",
            )
            .unwrap();
            failures.push(format!(
                "diff {} {}",
                expected_path.display(),
                actual_path.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures differ:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
