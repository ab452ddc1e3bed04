//! The shop's configuration: plain serde data, read once at start.
//!
//! Every key is documented in `config.example.toml`; unknown keys are refused so that a typo
//! never silently falls back to a default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config {path}: key `{key}`: {message}")]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub shop: Shop,
    pub storage: Storage,
    pub outbox: Outbox,
    #[serde(default)]
    pub approval: Approval,
    #[serde(default)]
    pub payments: Payments,
    #[serde(default)]
    pub tax: Tax,
    #[serde(default)]
    pub shipping: Shipping,
    #[serde(default)]
    pub stock: Stock,
    #[serde(default)]
    pub limits: Limits,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shop {
    pub name: String,
    pub address: String,
    pub currency: String,
    #[serde(default)]
    pub sellers: Vec<String>,
    #[serde(default = "default_prefix")]
    pub reference_prefix: String,
    /// Used when a shipping address names no country we can recognise.
    #[serde(default = "default_home_country")]
    pub home_country: String,
}

fn default_prefix() -> String {
    "MC".into()
}
fn default_home_country() -> String {
    "US".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    pub database: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outbox {
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    #[serde(default, with = "rust_decimal::serde::str_option")]
    pub total_over: Option<Decimal>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payments {
    #[serde(default)]
    pub trusted_senders: Vec<String>,
    #[serde(default = "default_due_days")]
    pub due_days: u32,
    #[serde(default)]
    pub methods: Vec<PaymentMethod>,
}

impl Default for Payments {
    fn default() -> Self {
        Payments {
            trusted_senders: Vec::new(),
            due_days: default_due_days(),
            methods: Vec::new(),
        }
    }
}

fn default_due_days() -> u32 {
    3
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentMethod {
    pub name: String,
    /// Shown to the customer; `{reference}` and `{total}` are filled in.
    pub instructions: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tax {
    /// Rate applied when the destination has no rate of its own, e.g. "0.08" for 8 %.
    #[serde(default, with = "rust_decimal::serde::str")]
    pub default_rate: Decimal,
    /// Per destination country (ISO 3166 alpha-2), e.g. `GB = "0.20"`.
    #[serde(default)]
    pub by_country: BTreeMap<String, DecimalStr>,
    /// Whether shipping is taxed like goods.
    #[serde(default)]
    pub shipping_taxable: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shipping {
    /// Charged when the destination has no rate of its own.
    #[serde(default, with = "rust_decimal::serde::str")]
    pub flat_rate: Decimal,
    /// Subtotal at or above which shipping is free (to every destination).
    #[serde(default, with = "rust_decimal::serde::str_option")]
    pub free_over: Option<Decimal>,
    /// Per destination country (ISO 3166 alpha-2), e.g. `CA = "15.00"`.
    #[serde(default)]
    pub by_country: BTreeMap<String, DecimalStr>,
    /// Countries we do not ship to at all; empty means everywhere.
    #[serde(default)]
    pub only_countries: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stock {
    /// How long a quoted order holds its stock.
    #[serde(default = "default_reservation_hours")]
    pub reservation_hours: u32,
}

impl Default for Stock {
    fn default() -> Self {
        Stock {
            reservation_hours: default_reservation_hours(),
        }
    }
}

fn default_reservation_hours() -> u32 {
    72
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Automatic replies to one correspondent in any hour; more are held, never sent.
    #[serde(default = "default_replies_per_hour")]
    pub replies_per_correspondent_per_hour: u32,
    /// Largest quantity of one item a customer may order in one line.
    #[serde(default = "default_max_quantity")]
    pub max_quantity: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            replies_per_correspondent_per_hour: default_replies_per_hour(),
            max_quantity: default_max_quantity(),
        }
    }
}

fn default_replies_per_hour() -> u32 {
    5
}
fn default_max_quantity() -> u32 {
    999
}

/// A decimal written as a TOML string, so that "0.1" is exactly one tenth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct DecimalStr(#[serde(with = "rust_decimal::serde::str")] pub Decimal);

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Config::from_toml(&text, path)?;
        config.resolve_paths(path.parent().unwrap_or(Path::new(".")));
        Ok(config)
    }

    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        config
            .validate()
            .map_err(|(key, message)| ConfigError::Invalid {
                path: path.to_owned(),
                key,
                message,
            })?;
        Ok(config)
    }

    /// Relative paths in the file are relative to the file, not to wherever the command ran.
    fn resolve_paths(&mut self, base: &Path) {
        if self.storage.database.is_relative() {
            self.storage.database = base.join(&self.storage.database);
        }
        if self.outbox.dir.is_relative() {
            self.outbox.dir = base.join(&self.outbox.dir);
        }
    }

    fn validate(&self) -> Result<(), (String, String)> {
        let bad = |key: &str, message: &str| Err((key.to_string(), message.to_string()));
        let c = &self.shop.currency;
        if c.len() != 3 || !c.chars().all(|ch| ch.is_ascii_uppercase()) {
            return bad("shop.currency", "must be an ISO 4217 code such as \"USD\"");
        }
        if !is_address(&self.shop.address) {
            return bad("shop.address", "must be an email address");
        }
        for (i, s) in self.shop.sellers.iter().enumerate() {
            if !is_address(s) {
                return bad(&format!("shop.sellers[{i}]"), "must be an email address");
            }
        }
        for (i, s) in self.payments.trusted_senders.iter().enumerate() {
            if !is_address(s) {
                return bad(
                    &format!("payments.trusted_senders[{i}]"),
                    "must be an email address",
                );
            }
        }
        let p = &self.shop.reference_prefix;
        if p.is_empty() || p.len() > 8 || !p.chars().all(|ch| ch.is_ascii_alphanumeric()) {
            return bad("shop.reference_prefix", "must be 1 to 8 letters or digits");
        }
        if !is_country(&self.shop.home_country) {
            return bad(
                "shop.home_country",
                "must be an ISO 3166 alpha-2 code such as \"US\"",
            );
        }
        let rate_ok = |d: &Decimal| *d >= Decimal::ZERO && *d < Decimal::ONE;
        if !rate_ok(&self.tax.default_rate) {
            return bad(
                "tax.default_rate",
                "must be a fraction from 0 to below 1, e.g. \"0.08\"",
            );
        }
        for (country, rate) in &self.tax.by_country {
            if !is_country(country) {
                return bad(
                    &format!("tax.by_country.{country}"),
                    "must be an ISO alpha-2 code",
                );
            }
            if !rate_ok(&rate.0) {
                return bad(
                    &format!("tax.by_country.{country}"),
                    "must be a fraction from 0 to below 1",
                );
            }
        }
        if self.shipping.flat_rate < Decimal::ZERO {
            return bad("shipping.flat_rate", "must not be negative");
        }
        if self.shipping.free_over.is_some_and(|d| d < Decimal::ZERO) {
            return bad("shipping.free_over", "must not be negative");
        }
        for (country, rate) in &self.shipping.by_country {
            if !is_country(country) {
                return bad(
                    &format!("shipping.by_country.{country}"),
                    "must be an ISO alpha-2 code",
                );
            }
            if rate.0 < Decimal::ZERO {
                return bad(
                    &format!("shipping.by_country.{country}"),
                    "must not be negative",
                );
            }
        }
        for (i, c) in self.shipping.only_countries.iter().enumerate() {
            if !is_country(c) {
                return bad(
                    &format!("shipping.only_countries[{i}]"),
                    "must be an ISO alpha-2 code",
                );
            }
        }
        if self.approval.total_over.is_some_and(|d| d < Decimal::ZERO) {
            return bad("approval.total_over", "must not be negative");
        }
        if self.stock.reservation_hours == 0 {
            return bad("stock.reservation_hours", "must be at least 1");
        }
        if self.payments.due_days == 0 {
            return bad("payments.due_days", "must be at least 1");
        }
        if self.limits.max_quantity == 0 {
            return bad("limits.max_quantity", "must be at least 1");
        }
        Ok(())
    }

    pub fn is_seller(&self, email: &str) -> bool {
        self.shop
            .sellers
            .iter()
            .any(|s| s.eq_ignore_ascii_case(email))
    }

    /// The domain our Message-IDs live in.
    pub fn shop_domain(&self) -> &str {
        self.shop
            .address
            .rsplit_once('@')
            .map(|(_, d)| d)
            .unwrap_or("localhost")
    }
}

fn is_address(s: &str) -> bool {
    matches!(s.split_once('@'), Some((l, d)) if !l.is_empty() && d.contains('.') && !s.contains(char::is_whitespace))
}

fn is_country(s: &str) -> bool {
    s.len() == 2 && s.chars().all(|c| c.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../config.example.toml");

    #[test]
    fn example_config_is_valid() {
        let c = Config::from_toml(EXAMPLE, Path::new("config.example.toml")).unwrap();
        assert_eq!(c.shop.currency, "USD");
        assert!(!c.payments.methods.is_empty());
    }

    #[test]
    fn unknown_key_is_named() {
        let text = EXAMPLE.replace("[storage]", "[storage]\ndatabse = \"x.db\"");
        let err = Config::from_toml(&text, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("databse"), "{err}");
    }

    #[test]
    fn bad_value_is_named() {
        let text = EXAMPLE.replace("currency = \"USD\"", "currency = \"dollars\"");
        let err = Config::from_toml(&text, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("shop.currency"), "{err}");
        let text = EXAMPLE.replace("total_over = \"500.00\"", "total_over = \"lots\"");
        let err = Config::from_toml(&text, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("total_over"), "{err}");
    }
}
