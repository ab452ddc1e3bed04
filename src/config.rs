//! The shop's configuration: plain serde data, read once at start.
//!
//! Every key is documented in `config.example.toml`; unknown keys are refused so that a typo
//! never silently falls back to a default.

mod oauth2;
mod presets;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::mail::limits::MessageLimits;

pub use oauth2::{Endpoints, OAuth2, OAuthProvider};
pub use presets::{MailProvider, Preset};

const MAX_STORED_BYTES: usize = 500_000_000;

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
    #[serde(default)]
    pub security: Security,
    #[serde(default)]
    pub delivery: Delivery,
    #[serde(default)]
    pub retention: Retention,
    #[serde(default)]
    pub alerts: Alerts,
    #[serde(default)]
    pub feedback: Feedback,
    #[serde(default)]
    pub invoices: Invoices,
    /// Tracking-page URL templates by carrier name; `{tracking}` is filled in. Added to (and
    /// overriding) the built-in ones for UPS, USPS, FedEx, DHL, Royal Mail, La Poste and
    /// Deutsche Post.
    #[serde(default)]
    pub carriers: BTreeMap<String, String>,
    /// The checkout mailbox; without it mailcart only takes messages given by `process`.
    pub imap: Option<Imap>,
    /// Outgoing mail server; without it the outbox is written to `[outbox] dir`.
    pub smtp: Option<Smtp>,
    /// The identity provider for `auth = "oauth2"`.
    pub oauth2: Option<OAuth2>,
}

/// How mailcart logs in to a mail server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    /// LOGIN / AUTH PLAIN with `password` (or `password_env`, `password_file`).
    #[default]
    Password,
    /// XOAUTH2 or OAUTHBEARER with an access token from `[oauth2]`.
    OAuth2,
}

/// What a server section needs to log in with OAuth2: the provider, and where `mailcart login`
/// keeps the refresh token. Filled in from `[oauth2]` and `[storage]` when the config is read.
#[derive(Debug, Clone)]
pub struct OAuthSetup {
    pub settings: OAuth2,
    /// Beside the database, owner-only; never in config.toml.
    pub token_file: PathBuf,
}

impl OAuthSetup {
    pub fn token_file_for(database: &Path) -> PathBuf {
        let mut name = database.as_os_str().to_owned();
        name.push(".oauth2-token");
        PathBuf::from(name)
    }
}

/// How a connection is secured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    #[default]
    Tls,
    /// Plain, then STARTTLS before logging in (IMAP 143, submission 587).
    Starttls,
    /// No encryption at all: refused unless the host is loopback.
    None,
}

/// A password given inline, through an environment variable, or in a file. Never printed.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub username: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    password_env: Option<String>,
    #[serde(default)]
    password_file: Option<PathBuf>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    /// The password, read now from wherever it is kept. The error names the place, never the
    /// secret.
    pub fn password(&self) -> Result<String, String> {
        if let Some(p) = &self.password {
            return Ok(p.clone());
        }
        if let Some(var) = &self.password_env {
            return std::env::var(var)
                .map_err(|_| format!("environment variable {var} is not set"));
        }
        if let Some(path) = &self.password_file {
            return std::fs::read_to_string(path)
                .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
                .map_err(|e| format!("cannot read password file {}: {e}", path.display()));
        }
        Err("no password, password_env or password_file given".into())
    }

    fn sources(&self) -> usize {
        usize::from(self.password.is_some())
            + usize::from(self.password_env.is_some())
            + usize::from(self.password_file.is_some())
    }
}

/// Where reading starts the first time a mailbox is watched (afterwards: the checkpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartAt {
    /// Every message in the mailbox, old ones too.
    Beginning,
    /// Only messages that arrive after the first start.
    New,
}

/// What happens to a message in the mailbox once it is stored and decided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AfterHandling {
    /// Flag it \Seen and leave it where it is.
    Seen,
    /// Move it to `processed_folder` (set-aside mail to `needs_human_folder`).
    Move,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Imap {
    /// Fills in host, port, tls and auth with the provider's values; keys set here win.
    #[serde(default)]
    pub provider: Option<MailProvider>,
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub port: u16,
    /// As written in the file; `tls` is what is used (filled from the provider when unset).
    #[serde(default, rename = "tls")]
    tls_key: Option<TlsMode>,
    #[serde(skip)]
    pub tls: TlsMode,
    #[serde(default, rename = "auth")]
    auth_key: Option<AuthMethod>,
    #[serde(skip)]
    pub auth: AuthMethod,
    /// With `auth = "oauth2"`: the provider and the token store.
    #[serde(skip)]
    pub oauth: Option<Arc<OAuthSetup>>,
    /// A PEM file of certificates to trust besides the system's (a self-signed test server).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(flatten)]
    pub login: Credentials,
    #[serde(default = "default_mailbox")]
    pub mailbox: String,
    #[serde(default = "default_after")]
    pub after: AfterHandling,
    #[serde(default = "default_start_at")]
    pub start_at: StartAt,
    #[serde(default = "default_processed")]
    pub processed_folder: String,
    #[serde(default = "default_needs_human")]
    pub needs_human_folder: String,
    /// Poll interval when the server has no IDLE (or `idle = false`).
    #[serde(default = "default_poll")]
    pub poll_seconds: u64,
    /// Wait with IDLE where the server offers it; false polls every `poll_seconds` instead,
    /// for a server (or a proxy in front of it) whose IDLE never tells of new mail.
    #[serde(default = "default_true")]
    pub idle: bool,
    /// IDLE is re-issued at least this often (RFC 2177 asks for under 29 minutes).
    #[serde(default = "default_idle_minutes")]
    pub idle_minutes: u64,
    /// After taking new mail, look for more every few milliseconds for this long before going
    /// back to IDLE (0: straight back). Dovecot tells an IDLE client of new mail 0.5 s after it
    /// arrives; mail that comes in a stream is taken as it lands instead.
    #[serde(default = "default_follow_ms")]
    pub follow_ms: u64,
    /// Limit for every network call.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Messages fetched (and committed) together.
    #[serde(default = "default_batch")]
    pub batch_size: u32,
    /// Larger messages are kept but not read.
    #[serde(default = "default_max_bytes")]
    pub max_message_bytes: u64,
    /// Append a copy of every sent message to this folder (e.g. "Sent"); leave out for none.
    #[serde(default)]
    pub sent_folder: Option<String>,
    /// The longest wait between two tries to connect (they start 1 s apart and double).
    #[serde(default = "default_imap_retry_max")]
    pub retry_max_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    #[serde(default)]
    pub provider: Option<MailProvider>,
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub port: u16,
    #[serde(default, rename = "tls")]
    tls_key: Option<TlsMode>,
    #[serde(skip)]
    pub tls: TlsMode,
    #[serde(default, rename = "auth")]
    auth_key: Option<AuthMethod>,
    #[serde(skip)]
    pub auth: AuthMethod,
    #[serde(skip)]
    pub oauth: Option<Arc<OAuthSetup>>,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Leave out username and password for a server that takes mail without login.
    #[serde(flatten, default)]
    pub login: Option<Credentials>,
    /// The envelope sender (MAIL FROM); bounces come back here. Defaults to `[shop] address`.
    #[serde(default)]
    pub envelope_from: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Connections kept open to the server.
    #[serde(default = "default_smtp_connections")]
    pub connections: u32,
    /// The longest wait between two tries of a message that failed for the moment.
    #[serde(default = "default_retry_max")]
    pub retry_max_seconds: u64,
}

fn default_mailbox() -> String {
    "INBOX".into()
}
fn default_start_at() -> StartAt {
    StartAt::Beginning
}
fn default_after() -> AfterHandling {
    AfterHandling::Move
}
fn default_processed() -> String {
    "mailcart/processed".into()
}
fn default_needs_human() -> String {
    "mailcart/needs-human".into()
}
fn default_poll() -> u64 {
    30
}
fn default_idle_minutes() -> u64 {
    25
}
fn default_true() -> bool {
    true
}
fn default_follow_ms() -> u64 {
    1000
}
fn default_timeout() -> u64 {
    60
}
fn default_batch() -> u32 {
    200
}
fn default_max_bytes() -> u64 {
    25 * 1024 * 1024
}
fn default_smtp_connections() -> u32 {
    2
}
fn default_imap_retry_max() -> u64 {
    5 * 60
}
fn default_retry_max() -> u64 {
    30 * 60
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
    /// How returns work, told to a customer who wants to cancel a shipped order.
    #[serde(default = "default_returns")]
    pub returns: String,
    /// An https URL of the shop's logo, shown at the top of customers' HTML mail (about 40
    /// pixels high); without it the shop's name is shown there.
    #[serde(default)]
    pub logo_url: Option<String>,
    /// The HTML mail's accent, `#rgb` or `#rrggbb`; a dark blue without it.
    #[serde(default)]
    pub accent_colour: Option<String>,
    /// The language (ISO 639-1) of the sellers' mail, and the customer's when we cannot tell
    /// what they write in or have no templates for it.
    #[serde(default = "default_language")]
    pub language: String,
    /// The languages customers may be answered in; the others get `language`.
    #[serde(default = "default_languages")]
    pub languages: Vec<String>,
    /// The IANA time zone the deadlines and dates in emails are told in (`Europe/Berlin`).
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// The seller's postal address as invoices print it (lines separated by newlines).
    #[serde(default)]
    pub legal_address: Option<String>,
    /// The seller's tax (VAT) number, printed on invoices and credit notes.
    #[serde(default)]
    pub tax_id: Option<String>,
}

impl Shop {
    /// The shop's time zone; `validate` has checked the name.
    pub fn zone(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::UTC)
    }
}

fn default_language() -> String {
    "en".into()
}
fn default_languages() -> Vec<String> {
    crate::core::language::SUPPORTED
        .iter()
        .map(|l| l.to_string())
        .collect()
}
fn default_timezone() -> String {
    "UTC".into()
}

/// An absolute https URL with a host, written out (no spaces or quotes to escape): mail
/// clients block plain http images, and anything else in `src` is not a logo.
fn is_logo_url(s: &str) -> bool {
    s.len() <= 2048
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"'<>\\".contains(c))
        // Browsers read "https:///x" as "https://x/": a host must follow the two slashes.
        && s.strip_prefix("https://").is_some_and(|rest| !rest.starts_with('/'))
        && url::Url::parse(s).is_ok_and(|u| u.host_str().is_some_and(|h| !h.is_empty()))
}

fn default_returns() -> String {
    "You can return unused items within 30 days of delivery: reply to this email and we will send you the return address. Once the items are back with us in their original condition, we refund the price of the items.".into()
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
    /// Orders whose total is above this.
    #[serde(default, with = "rust_decimal::serde::str_option")]
    pub total_over: Option<Decimal>,
    /// Orders with more than this many of any one item.
    #[serde(default)]
    pub quantity_over: Option<u32>,
    /// A customer's first order, when its total is above this.
    #[serde(default, with = "rust_decimal::serde::str_option")]
    pub first_order_over: Option<Decimal>,
    /// Orders shipping to these countries (ISO 3166 alpha-2).
    #[serde(default)]
    pub countries: Vec<String>,
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
    /// Hours before the deadline at which an unpaid order gets its one reminder.
    #[serde(default = "default_reminder_hours")]
    pub reminder_hours: u32,
}

impl Default for Payments {
    fn default() -> Self {
        Payments {
            trusted_senders: Vec::new(),
            due_days: default_due_days(),
            methods: Vec::new(),
            reminder_hours: default_reminder_hours(),
        }
    }
}

fn default_reminder_hours() -> u32 {
    24
}

/// The carriers whose tracking pages we link without any configuration.
const BUILTIN_CARRIERS: &[(&str, &str)] = &[
    ("UPS", "https://www.ups.com/track?tracknum={tracking}"),
    (
        "USPS",
        "https://tools.usps.com/go/TrackConfirmAction?tLabels={tracking}",
    ),
    (
        "FedEx",
        "https://www.fedex.com/fedextrack/?trknbr={tracking}",
    ),
    (
        "DHL",
        "https://www.dhl.com/global-en/home/tracking/tracking-express.html?tracking-id={tracking}",
    ),
    (
        "Royal Mail",
        "https://www.royalmail.com/track-your-item#/tracking-results/{tracking}",
    ),
    (
        "La Poste",
        "https://www.laposte.fr/outils/suivre-vos-envois?code={tracking}",
    ),
    (
        "Deutsche Post",
        "https://www.deutschepost.de/de/s/sendungsverfolgung.html?piececode={tracking}",
    ),
];

/// Who may be believed about where a message comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Security {
    /// The authserv-id our own mail server writes into `Authentication-Results`. When set,
    /// payment notices and seller commands count only with a DKIM or DMARC pass from it.
    #[serde(default)]
    pub authserv_id: Option<String>,
    /// A spam score (X-Spam-Score, or score= in X-Spam-Status) at or over this makes a
    /// message spam: stored, counted, never answered nor forwarded to a seller.
    #[serde(default = "default_spam_score_threshold")]
    pub spam_score_threshold: f64,
}

impl Default for Security {
    fn default() -> Self {
        Security {
            authserv_id: None,
            spam_score_threshold: default_spam_score_threshold(),
        }
    }
}

fn default_spam_score_threshold() -> f64 {
    crate::core::not_for_us::DEFAULT_SPAM_THRESHOLD
}

/// How long raw copies of messages are kept.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Raw messages (received and sent) older than this many days are emptied; orders,
    /// events and each message's hash stay. Unset: kept for ever.
    pub raw_messages_days: Option<u32>,
}

/// What the sellers are told of, besides each held message as it comes (`core::held`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alerts {
    /// The hour (0-23, UTC) of the daily digest of what still waits for a person; none is sent
    /// on a day when nothing waits. Unset: no digest.
    pub digest_hour: Option<u8>,
}

/// Asking customers how it went, after shipping.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feedback {
    /// This many days after an order shipped, one short email asks the customer how it went;
    /// their replies are kept as the order's feedback and thanked for once. Unset: never asked.
    pub after_days: Option<u32>,
}

/// PDF invoices for paid orders and credit notes for cancelled paid ones (`src/invoice`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invoices {
    /// Off: no numbers are assigned and no PDF is attached.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Put before the six-digit sequence number: "2026-" gives `2026-000123`. The sequence
    /// is the shop's and never restarts, so a new prefix does not reuse a number.
    #[serde(default = "default_invoice_prefix")]
    pub prefix: String,
}

impl Default for Invoices {
    fn default() -> Self {
        Invoices {
            enabled: true,
            prefix: default_invoice_prefix(),
        }
    }
}

fn default_invoice_prefix() -> String {
    "INV-".into()
}

/// What the confirmation promises about delivery.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    /// The shipping method named in the confirmation.
    #[serde(default = "default_method")]
    pub method: String,
    /// Business days (Monday to Friday) from payment to delivery.
    #[serde(default = "default_business_days")]
    pub business_days: u32,
    /// Per destination country (ISO 3166 alpha-2).
    #[serde(default)]
    pub by_country: BTreeMap<String, u32>,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            method: default_method(),
            business_days: default_business_days(),
            by_country: BTreeMap::new(),
        }
    }
}

fn default_method() -> String {
    "Standard shipping".into()
}
fn default_business_days() -> u32 {
    5
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
    /// Echoes (the same text again, or an answer to our mail with nothing to act on) from one
    /// address answered in any 24 hours; the next one pauses the address (`core::echo`).
    #[serde(default = "default_repeats_per_day")]
    pub repeats_per_correspondent_per_day: u32,
    /// Automatic replies to one correspondent in any hour, whatever they wrote: far above what
    /// a busy customer needs, for a loop whose text changes every time.
    #[serde(default = "default_replies_per_hour")]
    pub replies_per_correspondent_per_hour: u32,
    /// The same over any 24 hours.
    #[serde(default = "default_replies_per_day")]
    pub replies_per_correspondent_per_day: u32,
    /// Automatic replies to all customers together in any hour: past it every automatic reply
    /// pauses (the circuit breaker) and the sellers are told once.
    #[serde(default = "default_replies_all_per_hour")]
    pub replies_per_hour: u32,
    /// A pause (of one correspondent, or of all) lifts this long after the last message it
    /// held, or when a person runs `mailcart resume`.
    #[serde(default = "default_pause_hours")]
    pub pause_hours: u32,
    /// Largest quantity of one item a customer may order in one line.
    #[serde(default = "default_max_quantity")]
    pub max_quantity: u32,
    /// Larger messages are stored and set aside unread (checked before parsing, as are the next).
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    /// multipart/ and message/ parts in one message (each counts: an upper bound on nesting).
    #[serde(default = "default_max_mime_depth")]
    pub max_mime_depth: usize,
    #[serde(default = "default_max_mime_parts")]
    pub max_mime_parts: usize,
}

impl Default for Limits {
    fn default() -> Self {
        let m = MessageLimits::default();
        Limits {
            repeats_per_correspondent_per_day: default_repeats_per_day(),
            replies_per_correspondent_per_hour: default_replies_per_hour(),
            replies_per_correspondent_per_day: default_replies_per_day(),
            replies_per_hour: default_replies_all_per_hour(),
            pause_hours: default_pause_hours(),
            max_quantity: default_max_quantity(),
            max_message_bytes: m.max_bytes,
            max_mime_depth: m.max_depth,
            max_mime_parts: m.max_parts,
        }
    }
}

impl Limits {
    pub fn message(&self) -> MessageLimits {
        MessageLimits {
            max_bytes: self.max_message_bytes,
            max_depth: self.max_mime_depth,
            max_parts: self.max_mime_parts,
        }
    }
}

fn default_max_message_bytes() -> usize {
    MessageLimits::default().max_bytes
}
fn default_max_mime_depth() -> usize {
    MessageLimits::default().max_depth
}
fn default_max_mime_parts() -> usize {
    MessageLimits::default().max_parts
}

fn default_repeats_per_day() -> u32 {
    3
}
fn default_replies_per_hour() -> u32 {
    30
}
fn default_replies_per_day() -> u32 {
    100
}
fn default_replies_all_per_hour() -> u32 {
    1000
}
fn default_pause_hours() -> u32 {
    24
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
        config.link_oauth();
        Ok(config)
    }

    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let invalid = |(key, message)| ConfigError::Invalid {
            path: path.to_owned(),
            key,
            message,
        };
        config.fill_presets().map_err(invalid)?;
        config.validate().map_err(invalid)?;
        config.link_oauth();
        Ok(config)
    }

    /// Host, port, tls and auth from `provider` where the file leaves them out.
    fn fill_presets(&mut self) -> Result<(), (String, String)> {
        fn fill(
            section: &str,
            preset: Option<Preset>,
            host: &mut String,
            port: &mut u16,
            tls: Option<TlsMode>,
            auth: Option<AuthMethod>,
        ) -> Result<(TlsMode, AuthMethod), (String, String)> {
            let missing = |key: &str| {
                Err((
                    format!("{section}.{key}"),
                    "is required (or give a provider: \"gmail\", \"outlook\", \"fastmail\", \"icloud\", \"yahoo\")".to_string(),
                ))
            };
            if host.is_empty() {
                match preset {
                    Some(p) => *host = p.host.to_string(),
                    None => return missing("host"),
                }
            }
            if *port == 0 {
                match preset {
                    Some(p) => *port = p.port,
                    None => return missing("port"),
                }
            }
            let tls = match (tls, preset) {
                (Some(t), _) => t,
                (None, Some(p)) => p.tls,
                (None, None) => return missing("tls"),
            };
            let auth = auth.or(preset.map(|p| p.auth)).unwrap_or_default();
            Ok((tls, auth))
        }
        if let Some(imap) = &mut self.imap {
            let (tls, auth) = fill(
                "imap",
                imap.provider.map(MailProvider::imap),
                &mut imap.host,
                &mut imap.port,
                imap.tls_key,
                imap.auth_key,
            )?;
            imap.tls = tls;
            imap.auth = auth;
        }
        if let Some(smtp) = &mut self.smtp {
            let (tls, auth) = fill(
                "smtp",
                smtp.provider.map(MailProvider::smtp),
                &mut smtp.host,
                &mut smtp.port,
                smtp.tls_key,
                smtp.auth_key,
            )?;
            smtp.tls = tls;
            smtp.auth = auth;
        }
        Ok(())
    }

    /// Hand `[oauth2]` and the token store's place to the sections that log in with it.
    fn link_oauth(&mut self) {
        let setup = self.oauth2.clone().map(|settings| {
            Arc::new(OAuthSetup {
                settings,
                token_file: OAuthSetup::token_file_for(&self.storage.database),
            })
        });
        if let Some(imap) = &mut self.imap {
            imap.oauth = setup.clone().filter(|_| imap.auth == AuthMethod::OAuth2);
        }
        if let Some(smtp) = &mut self.smtp {
            smtp.oauth = setup.clone().filter(|_| smtp.auth == AuthMethod::OAuth2);
        }
    }

    /// The OAuth2 set-up, when a server logs in with it.
    pub fn oauth(&self) -> Option<Arc<OAuthSetup>> {
        self.imap
            .as_ref()
            .and_then(|i| i.oauth.clone())
            .or_else(|| self.smtp.as_ref().and_then(|s| s.oauth.clone()))
    }

    /// Relative paths in the file are relative to the file, not to wherever the command ran.
    fn resolve_paths(&mut self, base: &Path) {
        if self.storage.database.is_relative() {
            self.storage.database = base.join(&self.storage.database);
        }
        if self.outbox.dir.is_relative() {
            self.outbox.dir = base.join(&self.outbox.dir);
        }
        let resolve = |p: &mut Option<PathBuf>| {
            if let Some(path) = p.as_mut()
                && path.is_relative()
            {
                *path = base.join(&*path);
            }
        };
        if let Some(imap) = &mut self.imap {
            resolve(&mut imap.ca_file);
            resolve(&mut imap.login.password_file);
        }
        if let Some(oauth2) = &mut self.oauth2 {
            oauth2.resolve_paths(base);
        }
        if let Some(smtp) = &mut self.smtp {
            resolve(&mut smtp.ca_file);
            if let Some(login) = &mut smtp.login {
                resolve(&mut login.password_file);
            }
        }
    }

    fn validate(&self) -> Result<(), (String, String)> {
        let bad = |key: &str, message: &str| Err((key.to_string(), message.to_string()));
        let c = &self.shop.currency;
        if c.len() != 3 || !c.chars().all(|ch| ch.is_ascii_uppercase()) {
            return bad("shop.currency", "must be an ISO 4217 code such as \"USD\"");
        }
        let known = crate::core::language::SUPPORTED.join(", ");
        if !crate::core::language::SUPPORTED.contains(&self.shop.language.as_str()) {
            return bad(
                "shop.language",
                &format!("must be one of the languages with templates: {known}"),
            );
        }
        for (i, l) in self.shop.languages.iter().enumerate() {
            if !crate::core::language::SUPPORTED.contains(&l.as_str()) {
                return bad(
                    &format!("shop.languages[{i}]"),
                    &format!("must be one of the languages with templates: {known}"),
                );
            }
        }
        if self.shop.timezone.parse::<chrono_tz::Tz>().is_err() {
            return bad(
                "shop.timezone",
                &format!(
                    "{:?} is not an IANA time zone name such as \"Europe/Berlin\" or \"UTC\"",
                    self.shop.timezone
                ),
            );
        }
        for (name, url) in &self.carriers {
            if !(url.starts_with("https://") || url.starts_with("http://"))
                || !url.contains("{tracking}")
            {
                return bad(
                    &format!("carriers.{name}"),
                    "must be an http(s) URL containing {tracking}",
                );
            }
        }
        if !is_address(&self.shop.address) {
            return bad("shop.address", "must be an email address");
        }
        if let Some(c) = &self.shop.accent_colour
            && !crate::mail::html::is_hex_colour(c)
        {
            return bad(
                "shop.accent_colour",
                "must be a colour written #rgb or #rrggbb, e.g. \"#1f4e79\"",
            );
        }
        if let Some(u) = &self.shop.logo_url
            && !is_logo_url(u)
        {
            return bad(
                "shop.logo_url",
                "must be an https URL of an image, e.g. \"https://lindenclay.test/logo.png\"",
            );
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
        let p = &self.invoices.prefix;
        if p.len() > 16
            || !p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            // The number names the attached file: nothing a file name or a header must escape.
            return bad(
                "invoices.prefix",
                "must be at most 16 letters, digits, dashes, underscores or dots",
            );
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
        if self.alerts.digest_hour.is_some_and(|h| h > 23) {
            return bad("alerts.digest_hour", "must be an hour from 0 to 23 (UTC)");
        }
        if self.retention.raw_messages_days == Some(0) {
            return bad(
                "retention.raw_messages_days",
                "must be at least 1 (leave it out to keep raw messages for ever)",
            );
        }
        let l = &self.limits;
        for (key, v) in [
            (
                "limits.repeats_per_correspondent_per_day",
                l.repeats_per_correspondent_per_day,
            ),
            (
                "limits.replies_per_correspondent_per_hour",
                l.replies_per_correspondent_per_hour,
            ),
            (
                "limits.replies_per_correspondent_per_day",
                l.replies_per_correspondent_per_day,
            ),
            ("limits.replies_per_hour", l.replies_per_hour),
            ("limits.pause_hours", l.pause_hours),
        ] {
            if v == 0 {
                return bad(key, "must be at least 1");
            }
        }
        if l.replies_per_correspondent_per_day < l.replies_per_correspondent_per_hour {
            return bad(
                "limits.replies_per_correspondent_per_day",
                "must be at least limits.replies_per_correspondent_per_hour",
            );
        }
        if self.limits.max_quantity == 0 {
            return bad("limits.max_quantity", "must be at least 1");
        }
        if !(1024..=MAX_STORED_BYTES).contains(&self.limits.max_message_bytes) {
            return bad(
                "limits.max_message_bytes",
                "must be from 1024 to 500000000 (SQLite keeps at most 1 GB in a row)",
            );
        }
        // Each level of nesting is a level of recursion when the parsed message is dropped.
        if !(1..=500).contains(&self.limits.max_mime_depth) {
            return bad("limits.max_mime_depth", "must be from 1 to 500");
        }
        if self.limits.max_mime_parts < self.limits.max_mime_depth {
            return bad(
                "limits.max_mime_parts",
                "must be at least limits.max_mime_depth",
            );
        }
        if let Some(imap) = &self.imap {
            check_server("imap", &imap.host, imap.port, imap.tls)?;
            if imap.login.username.is_empty() {
                return bad("imap.username", "is required");
            }
            match imap.auth {
                AuthMethod::Password if imap.login.sources() != 1 => {
                    return bad(
                        "imap.password",
                        "give exactly one of password, password_env, password_file",
                    );
                }
                AuthMethod::OAuth2 if imap.login.sources() != 0 => {
                    return bad(
                        "imap.password",
                        "is not used with auth = \"oauth2\" (the access token is the password): remove it",
                    );
                }
                _ => {}
            }
            for (key, folder) in [
                ("imap.processed_folder", &imap.processed_folder),
                ("imap.needs_human_folder", &imap.needs_human_folder),
            ] {
                if imap.after == AfterHandling::Move && folder.eq_ignore_ascii_case(&imap.mailbox) {
                    return bad(
                        key,
                        "must differ from imap.mailbox, or handled mail would be read again",
                    );
                }
            }
            if imap.poll_seconds == 0 {
                return bad("imap.poll_seconds", "must be at least 1");
            }
            if imap.retry_max_seconds == 0 {
                return bad("imap.retry_max_seconds", "must be at least 1");
            }
            if imap.idle_minutes == 0 || imap.idle_minutes > 29 {
                return bad("imap.idle_minutes", "must be from 1 to 29 (RFC 2177)");
            }
            if imap.follow_ms > 60_000 {
                return bad(
                    "imap.follow_ms",
                    "must be at most 60000 (a minute of looking every 10 ms; IDLE is for waiting)",
                );
            }
            if imap.timeout_seconds == 0 {
                return bad("imap.timeout_seconds", "must be at least 1");
            }
            if imap.batch_size == 0 {
                return bad("imap.batch_size", "must be at least 1");
            }
        }
        if let Some(smtp) = &self.smtp {
            check_server("smtp", &smtp.host, smtp.port, smtp.tls)?;
            match (smtp.auth, &smtp.login) {
                (AuthMethod::Password, Some(login)) if login.sources() != 1 => {
                    return bad(
                        "smtp.password",
                        "give exactly one of password, password_env, password_file",
                    );
                }
                (AuthMethod::OAuth2, None) => {
                    return bad(
                        "smtp.username",
                        "is required with auth = \"oauth2\" (the mailbox the token is for)",
                    );
                }
                (AuthMethod::OAuth2, Some(login)) if login.sources() != 0 => {
                    return bad(
                        "smtp.password",
                        "is not used with auth = \"oauth2\" (the access token is the password): remove it",
                    );
                }
                _ => {}
            }
            if smtp
                .envelope_from
                .as_deref()
                .is_some_and(|a| !is_address(a))
            {
                return bad("smtp.envelope_from", "must be an email address");
            }
            if smtp.timeout_seconds == 0 {
                return bad("smtp.timeout_seconds", "must be at least 1");
            }
            if smtp.retry_max_seconds < 10 {
                return bad(
                    "smtp.retry_max_seconds",
                    "must be at least 10 (the first retry waits 10 s)",
                );
            }
            if smtp.connections == 0 {
                return bad("smtp.connections", "must be at least 1");
            }
        }
        self.validate_oauth()
    }

    fn validate_oauth(&self) -> Result<(), (String, String)> {
        let users = [
            ("imap", self.imap.as_ref().map(|i| (i.auth, i.provider))),
            ("smtp", self.smtp.as_ref().map(|s| (s.auth, s.provider))),
        ];
        for (section, server) in users {
            let Some((auth, mail_provider)) = server else {
                continue;
            };
            if auth != AuthMethod::OAuth2 {
                continue;
            }
            let Some(oauth2) = &self.oauth2 else {
                return Err((
                    "oauth2".into(),
                    format!(
                        "[{section}] logs in with auth = \"oauth2\": add an [oauth2] section with provider and client_id"
                    ),
                ));
            };
            if let Some(wanted) = mail_provider.and_then(MailProvider::oauth2)
                && oauth2.provider != wanted
                && oauth2.provider != OAuthProvider::Custom
            {
                return Err((
                    "oauth2.provider".into(),
                    format!(
                        "[{section}] provider takes tokens from {:?}, not {:?}",
                        wanted.name(),
                        oauth2.provider.name()
                    ),
                ));
            }
        }
        if let Some(oauth2) = &self.oauth2 {
            oauth2.validate()?;
        }
        Ok(())
    }

    pub fn is_seller(&self, email: &str) -> bool {
        self.shop
            .sellers
            .iter()
            .any(|s| s.eq_ignore_ascii_case(email))
    }

    /// The tracking link for a parcel, when the carrier is known (any case).
    pub fn tracking_url(&self, carrier: &str, tracking: &str) -> Option<String> {
        let template = self
            .carriers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(BUILTIN_CARRIERS.iter().copied())
            .find(|(name, _)| name.eq_ignore_ascii_case(carrier.trim()))
            .map(|(_, url)| url)?;
        Some(template.replace("{tracking}", tracking))
    }

    /// Every carrier name we know, for reading "shipped Royal Mail AB123...".
    pub fn carrier_names(&self) -> Vec<&str> {
        self.carriers
            .keys()
            .map(String::as_str)
            .chain(BUILTIN_CARRIERS.iter().map(|(n, _)| *n))
            .collect()
    }

    /// Whether payment notices from `email` count at all.
    pub fn is_trusted_payer_service(&self, email: &str) -> bool {
        self.payments
            .trusted_senders
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

fn check_server(
    section: &str,
    host: &str,
    port: u16,
    tls: TlsMode,
) -> Result<(), (String, String)> {
    if host.trim().is_empty() {
        return Err((format!("{section}.host"), "is required".into()));
    }
    if port == 0 {
        return Err((format!("{section}.port"), "must be a port number".into()));
    }
    if tls == TlsMode::None && !is_loopback(host) {
        return Err((
            format!("{section}.tls"),
            format!(
                "\"none\" sends the password in clear text; it is allowed only for a loopback host, not {host:?}"
            ),
        ));
    }
    Ok(())
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
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
    fn html_look_is_checked_at_load() {
        let with = |key: &str, value: &str| {
            let text = EXAMPLE.replacen(
                "[storage]",
                &format!("{key} = {}\n\n[storage]", toml::Value::from(value)),
                1,
            );
            Config::from_toml(&text, Path::new("c.toml")).map(|c| c.shop)
        };
        let shop = with("accent_colour", "#7A2E8C").unwrap();
        assert_eq!(shop.accent_colour.as_deref(), Some("#7A2E8C"));
        assert!(with("accent_colour", "#abc").is_ok());
        for bad in [
            "purple",
            "#abcd",
            "#12345z",
            "#fff;background:url(https://x.test/t)",
            "#fff\"",
        ] {
            let err = with("accent_colour", bad).unwrap_err().to_string();
            assert!(err.contains("shop.accent_colour"), "{bad}: {err}");
        }
        let shop = with("logo_url", "https://lindenclay.test/logo.png?v=2").unwrap();
        assert_eq!(
            shop.logo_url.as_deref(),
            Some("https://lindenclay.test/logo.png?v=2")
        );
        for bad in [
            "http://lindenclay.test/logo.png",
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "https:///logo.png",
            "https://x.test/a\" onerror=\"alert(1)",
            "https://x.test/a b.png",
            "/logo.png",
        ] {
            let err = with("logo_url", bad).unwrap_err().to_string();
            assert!(err.contains("shop.logo_url"), "{bad}: {err}");
        }
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
    fn servers_and_secrets() {
        let base = format!(
            "{EXAMPLE}\n[imap]\nhost = \"imap.example.org\"\nport = 993\ntls = \"tls\"\nusername = \"orders@x.test\"\npassword_env = \"MAILCART_TEST_PW\"\n"
        );
        let c = Config::from_toml(&base, Path::new("c.toml")).unwrap();
        let imap = c.imap.unwrap();
        assert_eq!(imap.mailbox, "INBOX");
        assert_eq!(imap.after, AfterHandling::Move);
        assert!(imap.idle);
        assert_eq!(imap.follow_ms, 1000);
        assert!(!format!("{imap:?}").contains("MAILCART_TEST_PW"));
        let err = Config::from_toml(&format!("{base}follow_ms = 60001\n"), Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("imap.follow_ms"), "{err}");
        let c = Config::from_toml(
            &format!("{base}follow_ms = 0\nidle = false\n"),
            Path::new("c.toml"),
        )
        .unwrap();
        let imap = c.imap.unwrap();
        assert!(!imap.idle);
        assert_eq!(imap.follow_ms, 0);
        let clear = base.replace("tls = \"tls\"", "tls = \"none\"");
        let err = Config::from_toml(&clear, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("imap.tls") && err.contains("loopback"),
            "{err}"
        );
        let local = clear.replace("imap.example.org", "127.0.0.1");
        assert!(Config::from_toml(&local, Path::new("c.toml")).is_ok());
        let looping = base.replace(
            "password_env = \"MAILCART_TEST_PW\"",
            "password_env = \"X\"\nprocessed_folder = \"inbox\"",
        );
        let err = Config::from_toml(&looping, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("imap.processed_folder"), "{err}");
        let two = base.replace(
            "password_env = \"MAILCART_TEST_PW\"",
            "password = \"x\"\npassword_env = \"MAILCART_TEST_PW\"",
        );
        let err = Config::from_toml(&two, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("exactly one"), "{err}");
    }

    #[test]
    fn unknown_server_keys_are_named() {
        let imap = format!(
            "{EXAMPLE}\n[imap]\nhost = \"127.0.0.1\"\nport = 1\ntls = \"none\"\nusername = \"u\"\npassword = \"p\"\nmailbx = \"x\"\n"
        );
        let err = Config::from_toml(&imap, Path::new("c"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("mailbx"), "{err}");
        let smtp = format!(
            "{EXAMPLE}\n[smtp]\nhost = \"127.0.0.1\"\nport = 25\ntls = \"none\"\nconections = 3\n"
        );
        let err = Config::from_toml(&smtp, Path::new("c"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("conections"), "{err}");
        let ok = format!("{EXAMPLE}\n[smtp]\nhost = \"127.0.0.1\"\nport = 25\ntls = \"none\"\n");
        let c = Config::from_toml(&ok, Path::new("c")).unwrap();
        assert!(c.smtp.unwrap().login.is_none());
    }

    #[test]
    fn secret_from_a_file_is_read_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "s3cret\n").unwrap();
        let creds = Credentials {
            username: "u".into(),
            password_file: Some(dir.path().join("pw")),
            ..Default::default()
        };
        assert_eq!(creds.password().unwrap(), "s3cret");
        assert!(!format!("{creds:?}").contains("s3cret"));
    }

    #[test]
    fn loop_caps_are_checked() {
        for (from, to, key) in [
            (
                "replies_per_hour = 1000",
                "replies_per_hour = 0",
                "limits.replies_per_hour",
            ),
            ("pause_hours = 24", "pause_hours = 0", "limits.pause_hours"),
            (
                "replies_per_correspondent_per_day = 100",
                "replies_per_correspondent_per_day = 3",
                "limits.replies_per_correspondent_per_day",
            ),
            (
                "repeats_per_correspondent_per_day = 3",
                "repeats_per_correspondent_per_day = 0",
                "limits.repeats_per_correspondent_per_day",
            ),
        ] {
            let text = EXAMPLE.replace(from, to);
            assert_ne!(text, EXAMPLE);
            let err = Config::from_toml(&text, Path::new("c.toml"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{err}");
        }
    }

    #[test]
    fn message_limits_are_read_and_checked() {
        let c = Config::from_toml(EXAMPLE, Path::new("c")).unwrap();
        assert_eq!(c.limits.message(), MessageLimits::default());
        let text = EXAMPLE.replace("max_mime_depth = 100", "max_mime_depth = 7");
        let c = Config::from_toml(&text, Path::new("c")).unwrap();
        assert_eq!(c.limits.message().max_depth, 7);
        for (from, to, key) in [
            (
                "max_mime_depth = 100",
                "max_mime_depth = 0",
                "limits.max_mime_depth",
            ),
            (
                "max_mime_depth = 100",
                "max_mime_depth = 100000",
                "limits.max_mime_depth",
            ),
            (
                "max_mime_parts = 1000",
                "max_mime_parts = 50",
                "limits.max_mime_parts",
            ),
            (
                "max_message_bytes = 26214400",
                "max_message_bytes = 10",
                "limits.max_message_bytes",
            ),
        ] {
            let err = Config::from_toml(&EXAMPLE.replace(from, to), Path::new("c"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{to}: {err}");
        }
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
