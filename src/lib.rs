//! mailcart: an email-driven order bot for small shops.

pub mod cli_view;
pub mod config;
pub mod core;
pub mod crashpoint;
pub mod customer;
pub mod daemon;
pub mod db;
pub mod dispatch;
pub mod explain;
pub mod export;
pub mod fsutil;
pub mod imap;
pub mod invoice;
pub mod lock;
pub mod mail;
pub mod oauth;
pub mod outbox;
pub mod pipeline;
pub mod problem;
pub mod smtp;
pub mod store;
pub mod tls;

/// The documented example configuration, written by `mailcart init`.
pub const EXAMPLE_CONFIG: &str = include_str!("../config.example.toml");
