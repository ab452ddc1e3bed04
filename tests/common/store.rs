//! The pipeline in-process over a real SQLite file: the example config, the fixture catalog.

use std::path::Path;

use mailcart::config::Config;
use mailcart::pipeline::{Outcome, RandomReferences, process_batch};

pub struct Store {
    pub conn: rusqlite::Connection,
    pub config: Config,
    pub dir: tempfile::TempDir,
}

impl Store {
    pub fn new() -> Store {
        let dir = tempfile::tempdir().unwrap();
        let text = mailcart::EXAMPLE_CONFIG.replace(
            "database = \"mailcart.db\"",
            &format!("database = {:?}", dir.path().join("m.db").to_str().unwrap()),
        );
        let config = Config::from_toml(&text, Path::new("x")).unwrap();
        let mut conn = mailcart::store::open(&config.storage.database).unwrap();
        let csv = std::fs::File::open(super::fixtures_dir().join("catalog.csv")).unwrap();
        let tx = conn.transaction().unwrap();
        mailcart::store::import_catalog_csv(&tx, csv, time::OffsetDateTime::now_utc()).unwrap();
        tx.commit().unwrap();
        Store { conn, config, dir }
    }

    pub fn take(&mut self, batch: &[Vec<u8>]) -> Vec<Outcome> {
        let now = time::OffsetDateTime::now_utc();
        process_batch(
            &mut self.conn,
            &self.config,
            batch,
            now,
            &mut RandomReferences,
        )
        .unwrap()
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }
}
