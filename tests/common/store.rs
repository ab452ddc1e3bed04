//! The pipeline in-process over a real SQLite file: the example config, the fixture catalog.

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
        let (config, conn) = super::stocked_store(
            dir.path(),
            mailcart::EXAMPLE_CONFIG,
            time::OffsetDateTime::now_utc(),
        );
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
