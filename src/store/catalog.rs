//! Catalog items and importing them (with stock) from CSV.

use std::collections::HashMap;
use std::io::Read;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, params};
use rust_decimal::Decimal;
use time::OffsetDateTime;

use super::{Result, StoreError, apply_move, ts};
use crate::core::catalog::{Catalog, CatalogItem};
use crate::core::decision::{MoveKind, StockMove};

/// The catalog with its matching index, built again only when the catalog has changed since
/// this process last built it (`catalog_mark`, schema v12): the daemon reads one per batch,
/// and a 100,000-SKU index takes about a second to build.
pub fn cached_catalog(conn: &rusqlite::Connection) -> Result<Arc<Catalog>> {
    static CACHE: Mutex<Option<(String, i64, Arc<Catalog>)>> = Mutex::new(None);
    let mark: i64 = conn.query_row("SELECT mark FROM catalog_mark WHERE id = 1", [], |r| {
        r.get(0)
    })?;
    let path = conn.path().unwrap_or("").to_string();
    // An in-memory database has no path to tell it from another: never cached.
    let cacheable = !path.is_empty();
    if cacheable {
        let cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((p, m, catalog)) = cache.as_ref()
            && *p == path
            && *m == mark
        {
            return Ok(Arc::clone(catalog));
        }
    }
    let catalog = Arc::new(load_catalog(conn)?);
    if cacheable {
        *CACHE.lock().unwrap_or_else(|p| p.into_inner()) = Some((path, mark, Arc::clone(&catalog)));
    }
    Ok(catalog)
}

pub fn load_catalog(conn: &rusqlite::Connection) -> Result<Catalog> {
    let mut stmt =
        conn.prepare_cached("SELECT sku, name, unit_price, aliases FROM catalog ORDER BY sku")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut items = Vec::new();
    for row in rows {
        let (sku, name, price, aliases) = row?;
        let unit_price = Decimal::from_str(&price)
            .map_err(|e| StoreError::Corrupt(format!("price of {sku}: {e}")))?;
        let aliases: Vec<String> = serde_json::from_str(&aliases)
            .map_err(|e| StoreError::Corrupt(format!("aliases of {sku}: {e}")))?;
        items.push(CatalogItem {
            sku,
            name,
            unit_price,
            aliases,
        });
    }
    Ok(Catalog::new(items))
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    /// SKUs whose new stock is below what open orders hold.
    pub oversold: Vec<String>,
}

#[derive(Debug, serde::Deserialize)]
struct CsvRow {
    sku: String,
    name: String,
    unit_price: String,
    stock: String,
    #[serde(default)]
    aliases: String,
}

/// Parse a catalog CSV (`sku,name,unit_price,stock,aliases`) into items and stock levels.
/// Every problem names its line and column.
pub fn parse_catalog_csv(input: impl Read) -> Result<Vec<(CatalogItem, i64)>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| StoreError::Input(format!("catalog CSV: {e}")))?
        .clone();
    for column in ["sku", "name", "unit_price", "stock"] {
        if !headers.iter().any(|h| h == column) {
            return Err(StoreError::Input(format!(
                "catalog CSV: missing column `{column}` (need sku,name,unit_price,stock,aliases)"
            )));
        }
    }
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    for (i, row) in reader.deserialize::<CsvRow>().enumerate() {
        let line = i + 2;
        let bad = |column: &str, message: String| {
            StoreError::Input(format!(
                "catalog CSV line {line}, column `{column}`: {message}"
            ))
        };
        let row = row.map_err(|e| StoreError::Input(format!("catalog CSV line {line}: {e}")))?;
        if row.sku.is_empty() || row.sku.chars().any(char::is_whitespace) {
            return Err(bad(
                "sku",
                format!("{:?} is not a SKU (non-empty, no spaces)", row.sku),
            ));
        }
        if let Some(first) = seen.insert(row.sku.clone(), line) {
            return Err(bad(
                "sku",
                format!("{} already appears on line {first}", row.sku),
            ));
        }
        if row.name.is_empty() {
            return Err(bad("name", "is empty".into()));
        }
        let price = row.unit_price.trim_start_matches(['$', '€', '£']);
        let unit_price = Decimal::from_str(price).map_err(|_| {
            bad(
                "unit_price",
                format!("{:?} is not a decimal amount", row.unit_price),
            )
        })?;
        if unit_price < Decimal::ZERO {
            return Err(bad("unit_price", "is negative".into()));
        }
        let stock: i64 = row
            .stock
            .parse()
            .map_err(|_| bad("stock", format!("{:?} is not a whole number", row.stock)))?;
        if stock < 0 {
            return Err(bad("stock", "is negative".into()));
        }
        let aliases = row
            .aliases
            .split('|')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect();
        out.push((
            CatalogItem {
                sku: row.sku,
                name: row.name,
                unit_price,
                aliases,
            },
            stock,
        ));
    }
    Ok(out)
}

/// Create or update items and set each one's stock on hand, through the ledger.
pub fn import_catalog_csv(
    tx: &Connection,
    input: impl Read,
    now: OffsetDateTime,
) -> Result<ImportReport> {
    let rows = parse_catalog_csv(input)?;
    let mut report = ImportReport::default();
    let at = ts(now);
    for (item, stock) in rows {
        let aliases =
            serde_json::to_string(&item.aliases).map_err(|e| StoreError::Input(e.to_string()))?;
        let existed: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM catalog WHERE sku = ?1)",
            [&item.sku],
            |r| r.get(0),
        )?;
        tx.execute(
            "INSERT INTO catalog (sku, name, unit_price, aliases, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(sku) DO UPDATE SET name = excluded.name, unit_price = excluded.unit_price,
             aliases = excluded.aliases, updated_at = excluded.updated_at",
            params![item.sku, item.name, item.unit_price.to_string(), aliases, at],
        )?;
        tx.execute("INSERT OR IGNORE INTO stock (sku) VALUES (?1)", [&item.sku])?;
        let (on_hand, reserved): (i64, i64) = tx.query_row(
            "SELECT on_hand, reserved FROM stock WHERE sku = ?1",
            [&item.sku],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let delta = stock - on_hand;
        if delta != 0 {
            let kind = if existed {
                MoveKind::Adjustment
            } else {
                MoveKind::Receipt
            };
            let mv = StockMove {
                sku: item.sku.clone(),
                kind,
                quantity: delta,
                reason: "inventory import".into(),
            };
            apply_move(tx, &mv, None, now)?;
        }
        if stock < reserved {
            report.oversold.push(item.sku.clone());
        }
        if existed {
            report.updated += 1;
        } else {
            report.created += 1;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cached_catalog_follows_every_change() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::open(&dir.path().join("shop.db")).unwrap();
        let now = OffsetDateTime::UNIX_EPOCH;
        let csv = "sku,name,unit_price,stock,aliases\nMUG-BLU,Blue Mug,18.00,5,\n";
        import_catalog_csv(&conn, csv.as_bytes(), now).unwrap();
        let first = cached_catalog(&conn).unwrap();
        assert!(Arc::ptr_eq(&first, &cached_catalog(&conn).unwrap()));
        // A price change keeps the row count and the SKUs: the mark still moves.
        let csv = "sku,name,unit_price,stock,aliases\nMUG-BLU,Blue Mug,19.00,5,\n";
        import_catalog_csv(&conn, csv.as_bytes(), now).unwrap();
        let second = cached_catalog(&conn).unwrap();
        assert!(!Arc::ptr_eq(&first, &second));
        assert_eq!(second.items[0].unit_price.to_string(), "19.00");
        conn.execute("UPDATE catalog SET aliases = '[\"cobalt mug\"]'", [])
            .unwrap();
        let third = cached_catalog(&conn).unwrap();
        assert_eq!(third.items[0].aliases, ["cobalt mug"]);
    }
}
