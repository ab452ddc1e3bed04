//! The `mailcart` command line.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use mailcart::config::Config;
use mailcart::core::catalog::Catalog;
use mailcart::core::extract::{ReadContext, read};
use mailcart::core::not_for_us::DEFAULT_SPAM_THRESHOLD;
use mailcart::pipeline::{Outcome, RandomReferences, process_batch};
use mailcart::{cli_view, outbox, store};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

#[derive(Parser)]
#[command(
    name = "mailcart",
    version,
    about = "Email order-processing bot for small shops"
)]
struct Cli {
    /// The configuration file.
    #[arg(
        long,
        global = true,
        env = "MAILCART_CONFIG",
        default_value = "config.toml"
    )]
    config: PathBuf,
    /// Act as if it were this moment (RFC 3339), instead of now.
    #[arg(long, global = true, value_parser = parse_time)]
    at: Option<OffsetDateTime>,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write config.toml from the example and create the database.
    Init { dir: Option<PathBuf> },
    /// Run the fixtures through the whole flow in a fresh temporary workspace.
    Demo {
        /// Where the fixture .eml files and catalog.csv are.
        #[arg(long)]
        fixtures: Option<PathBuf>,
        /// Keep the workspace instead of deleting it.
        #[arg(long)]
        keep: bool,
    },
    /// Classify and extract one message; JSON on stdout. The catalog is the CSV given, else
    /// the shop's (read from the configured database, never written), as `process` reads it.
    Parse {
        #[arg(long)]
        catalog: Option<PathBuf>,
        /// Print, for each line of the order text, what matched and why instead of JSON.
        #[arg(long)]
        explain: bool,
        file: PathBuf,
    },
    /// Take messages as if they had just arrived, in the given order.
    Process {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run the timers for this moment (or `--at`): payment reminders, and expiry of orders
    /// unpaid past their deadline (their stock is released). `mailcart run` does this itself.
    Tick,
    /// List orders.
    Orders {
        #[arg(long)]
        json: bool,
    },
    /// One order: lines, amounts, state, history.
    Order {
        reference: String,
        #[arg(long)]
        json: bool,
    },
    /// Stock per SKU; `inventory import CSV` creates/updates items and sets stock.
    Inventory {
        #[command(subcommand)]
        action: Option<InventoryAction>,
        #[arg(long)]
        json: bool,
    },
    /// Watch the mailbox (IMAP IDLE) and answer through SMTP (or the outbox folder) until
    /// SIGINT/SIGTERM.
    Run,
    /// Connect to the IMAP and SMTP servers in the config and report what works.
    Check,
    /// Authorise mailcart at the [oauth2] provider once (device code, or a browser with the
    /// redirect to this machine or pasted back); stores the refresh token beside the database.
    Login {
        /// The device-code flow even where the provider's usual flow is the browser's.
        #[arg(long, conflicts_with = "browser")]
        device: bool,
        /// The browser flow even where the provider offers the device flow.
        #[arg(long)]
        browser: bool,
    },
    /// The mailbox checkpoint, last contact with each server, what waits, orders by state.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Lift a pause of automatic replies (the loop caps): one correspondent's, or with `--all`
    /// the breaker that holds every customer. Mail held meanwhile stays in `mailcart review`.
    Resume {
        /// The correspondent's address.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        email: Option<String>,
        #[arg(long)]
        all: bool,
    },
    /// Messages set aside for a person, with the reason; `--resolve ID` marks one dealt with.
    Review {
        #[arg(long)]
        json: bool,
        /// Mark this held message as dealt with (recorded as an event).
        #[arg(long, value_name = "ID")]
        resolve: Option<i64>,
        /// What was done about it, for the record.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Check the record: the event and stock chains, every raw message against its hash, and
    /// stock against the ledger. Exits 1 at the first break, naming it.
    Verify {
        #[arg(long)]
        json: bool,
        /// A chain head written down earlier (by `verify` or an export's MANIFEST): it must
        /// still be in the chain, which a rewrite of the history since then cannot fake.
        #[arg(long, value_name = "HASH")]
        head: Vec<String>,
    },
    /// Write the record of a period (or one order's dossier) for an auditor: CSV or JSON
    /// lines, the raw messages, and a MANIFEST that `sha256sum -c MANIFEST` checks.
    Export {
        /// A new (or empty) folder.
        #[arg(long)]
        out: PathBuf,
        /// First day (YYYY-MM-DD, UTC) or moment (RFC 3339) of the period.
        #[arg(long, value_parser = parse_from)]
        from: Option<OffsetDateTime>,
        /// Last day of the period, whole (YYYY-MM-DD, UTC), or the moment it ends (RFC 3339).
        #[arg(long, value_parser = parse_to)]
        to: Option<OffsetDateTime>,
        #[arg(long, value_enum, default_value = "csv")]
        format: mailcart::export::Format,
        /// Only this order, with everything that belongs to it.
        #[arg(long, value_name = "REF", conflicts_with_all = ["from", "to"])]
        order: Option<String>,
    },
    /// Write an order's invoice PDF again from the record, byte for byte the one sent; with
    /// `--credit-note` its credit note. REF may also be an invoice or credit note number.
    Invoice {
        #[arg(value_name = "REF")]
        reference: String,
        /// Where to write it (default: invoice-<number>.pdf in the current folder).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        credit_note: bool,
    },
    /// Customers' feedback on their orders (`[feedback] after_days`): order, customer, date,
    /// rating and what they wrote, oldest first.
    Feedback {
        #[arg(long)]
        json: bool,
    },
    /// One customer's data: `customer export EMAIL` prints it as JSON (GDPR art. 15);
    /// `customer erase EMAIL` pseudonymises it everywhere but the books (art. 17).
    Customer {
        #[command(subcommand)]
        action: CustomerAction,
    },
}

#[derive(Subcommand)]
enum CustomerAction {
    /// Everything held about EMAIL as one JSON document: orders, lines, payments, the messages
    /// received and sent, and the events.
    Export {
        email: String,
        /// Write it to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Replace EMAIL's name, address, email and messages by a pseudonym everywhere; keeps
    /// references, dates, items and amounts. Refused while one of their orders is unfinished.
    Erase {
        email: String,
        /// Do it (without this, only say what would be erased).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
enum InventoryAction {
    /// Create/update catalog items and set stock from CSV (sku,name,unit_price,stock,aliases).
    Import { csv: PathBuf },
}

/// A day means its start; a moment is taken as given.
fn parse_from(s: &str) -> Result<OffsetDateTime, String> {
    let day = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(s, &day) {
        Ok(d) => Ok(d.midnight().assume_utc()),
        Err(_) => parse_time(s),
    }
}

/// A day means the whole of it: the period ends when the next day begins.
fn parse_to(s: &str) -> Result<OffsetDateTime, String> {
    let day = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(s, &day) {
        Ok(d) => Ok(d.midnight().assume_utc() + time::Duration::days(1)),
        Err(_) => parse_time(s),
    }
}

fn parse_time(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| format!("{s:?} is not an RFC 3339 time: {e}"))
}

fn main() {
    // Before any file is made: every one holds customers' data or the shop's secrets.
    mailcart::fsutil::restrict_umask();
    let cli = Cli::parse();
    // The daemon's story is its log: info by default there, warnings only for one-shot commands.
    let level = match (cli.verbose, matches!(cli.command, Command::Run)) {
        (0, false) => "warn",
        (0, true) | (1, _) => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MAILCART_LOG")
        .unwrap_or_else(|_| level.into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    // async-imap traces every command and response as sent: the LOGIN password, and whole
    // messages (card numbers, addresses). No log level, whatever MAILCART_LOG says, shows them.
    let wire = tracing_subscriber::filter::filter_fn(|meta| {
        !(meta.target().starts_with("async_imap") && *meta.level() == tracing::Level::TRACE)
    });
    if cli.log_json {
        logs.json().finish().with(wire).init();
    } else {
        logs.finish().with(wire).init();
    }
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let now = cli.at.unwrap_or_else(OffsetDateTime::now_utc);
    match cli.command {
        Command::Init { dir } => init(&cli.config, dir.as_deref()),
        Command::Demo { fixtures, keep } => demo(fixtures, keep, now),
        Command::Parse {
            catalog,
            explain,
            file,
        } => parse(&cli.config, catalog.as_deref(), explain, &file),
        Command::Process { files } => {
            let config = load_config(&cli.config)?;
            let mut conn = store::open(&config.storage.database)?;
            let mut raws = Vec::with_capacity(files.len());
            for f in &files {
                raws.push(std::fs::read(f).with_context(|| format!("reading {}", f.display()))?);
            }
            let outcomes = process_batch(&mut conn, &config, &raws, now, &mut RandomReferences)?;
            let mut out = std::io::stdout().lock();
            for (file, outcome) in files.iter().zip(&outcomes) {
                writeln!(out, "{}: {}", file.display(), cli_view::describe(outcome))?;
            }
            drop(conn);
            deliver(&config, now)
        }
        Command::Tick => {
            let config = load_config(&cli.config)?;
            let mut conn = store::open(&config.storage.database)?;
            let outcomes = mailcart::pipeline::run_timers(&mut conn, &config, now)?;
            let purged = mailcart::pipeline::run_retention(&mut conn, &config, now)?;
            let mut out = std::io::stdout().lock();
            if outcomes.is_empty() && purged == store::Purged::default() {
                writeln!(out, "nothing due")?;
            }
            if purged != store::Purged::default() {
                writeln!(
                    out,
                    "retention: raw copies of {} received and {} sent messages purged",
                    purged.messages.len(),
                    purged.outbox.len()
                )?;
            }
            for outcome in &outcomes {
                writeln!(
                    out,
                    "{}: {}",
                    outcome.message_id,
                    cli_view::describe(outcome)
                )?;
            }
            drop(conn);
            deliver(&config, now)
        }
        Command::Orders { json } => {
            let config = load_config(&cli.config)?;
            let conn = store::open(&config.storage.database)?;
            let orders = store::list_orders(&conn)?;
            if json {
                let list: Vec<_> = orders
                    .iter()
                    .map(|(_, o)| cli_view::order_json(o))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                print!("{}", cli_view::orders_table(&orders));
            }
            Ok(())
        }
        Command::Invoice {
            reference,
            out,
            credit_note,
        } => {
            let config = load_config(&cli.config)?;
            let conn = store::open(&config.storage.database)?;
            let row = match store::invoices::by_number(&conn, &reference)? {
                Some(row) => row,
                None => {
                    let Some(order) = store::find_order_by_reference(&conn, &reference)? else {
                        bail!("no order or invoice {reference}");
                    };
                    let kind = if credit_note {
                        mailcart::core::invoice::InvoiceKind::CreditNote
                    } else {
                        mailcart::core::invoice::InvoiceKind::Invoice
                    };
                    let Some(row) = store::invoices::find(&conn, &order.reference, kind)? else {
                        bail!(
                            "order {} has no {}",
                            order.reference,
                            kind.as_str().replace('_', " ")
                        );
                    };
                    row
                }
            };
            let pdf = store::invoices::pdf(&row)?;
            if mailcart::mail::read::sha256_hex(&pdf) != row.pdf_sha256 {
                bail!(
                    "{} rendered again differs from the PDF sent (its recorded hash); `mailcart verify` says more",
                    row.number
                );
            }
            let path =
                out.unwrap_or_else(|| PathBuf::from(mailcart::invoice::file_name(&row.number)));
            mailcart::fsutil::write_private(&path, &pdf)?;
            println!(
                "{} {} -> {}",
                row.kind.replace('_', " "),
                row.number,
                path.display()
            );
            Ok(())
        }
        Command::Feedback { json } => {
            let config = load_config(&cli.config)?;
            let conn = store::open(&config.storage.database)?;
            let list = store::feedback::list_feedback(&conn)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                print!("{}", cli_view::feedback_table(&list));
            }
            Ok(())
        }
        Command::Order { reference, json } => {
            let config = load_config(&cli.config)?;
            let conn = store::open(&config.storage.database)?;
            let Some(order) = store::find_order_by_reference(&conn, &reference)? else {
                bail!("no order {reference}");
            };
            let events = store::order_events(&conn, &order.reference)?;
            if json {
                let mut v = cli_view::order_json(&order);
                v["history"] = serde_json::to_value(&events)?;
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print!("{}", cli_view::order_text(&order, &events));
            }
            Ok(())
        }
        Command::Inventory { action, json } => {
            let config = load_config(&cli.config)?;
            let mut conn = store::open(&config.storage.database)?;
            if let Some(InventoryAction::Import { csv }) = action {
                let file = std::fs::File::open(&csv)
                    .with_context(|| format!("opening {}", csv.display()))?;
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let report = store::import_catalog_csv(&tx, file, now)?;
                tx.commit()?;
                println!(
                    "{} items created, {} updated",
                    report.created, report.updated
                );
                for sku in report.oversold {
                    println!("warning: {sku}: stock is now below what open orders have reserved");
                }
                return Ok(());
            }
            let rows = store::inventory(&conn)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                print!("{}", cli_view::inventory_table(&rows));
            }
            Ok(())
        }
        Command::Run => {
            let config = load_config(&cli.config)?;
            for e in mailcart::fsutil::exposures(&cli.config, &config) {
                tracing::warn!(path = %e.path.display(), fix = %e.fix, "{e}");
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            runtime.block_on(mailcart::daemon::run(config))?;
            Ok(())
        }
        Command::Check => {
            let config = load_config(&cli.config)?;
            for e in mailcart::fsutil::exposures(&cli.config, &config) {
                println!("warning: {e}");
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let ok = runtime.block_on(check(&config))?;
            if !ok {
                std::process::exit(2);
            }
            Ok(())
        }
        Command::Login { device, browser } => {
            let config = load_config(&cli.config)?;
            let Some(setup) = config.oauth() else {
                bail!(
                    "nothing to log in to: no [imap] or [smtp] section has auth = \"oauth2\" (with provider = \"gmail\" or \"outlook\" it is the default)"
                );
            };
            let flow = match (device, browser) {
                (true, _) => Some(mailcart::oauth::LoginFlow::Device),
                (_, true) => Some(mailcart::oauth::LoginFlow::Browser),
                _ => None,
            };
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(mailcart::oauth::login(&setup, flow))?;
            Ok(())
        }
        Command::Status { json } => {
            let config = load_config(&cli.config)?;
            let conn = store::open(&config.storage.database)?;
            let mut v = cli_view::status_json(&conn, config.limits.pause_hours, now)?;
            let oauth = config
                .oauth()
                .map(|setup| mailcart::oauth::report::status_line(&setup));
            if json {
                if let (Some(line), Some(map)) = (&oauth, v.as_object_mut()) {
                    map.insert("oauth2".into(), serde_json::Value::String(line.clone()));
                }
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print!("{}", cli_view::status_text(&v));
                if let Some(line) = oauth {
                    println!("{line}");
                }
            }
            Ok(())
        }
        Command::Resume { email, .. } => {
            let config = load_config(&cli.config)?;
            let mut conn = store::open(&config.storage.database)?;
            let scope = match &email {
                Some(e) => e.trim().to_ascii_lowercase(),
                None => mailcart::core::reply_cap::ALL.to_string(),
            };
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let who = email.as_deref().unwrap_or("all customers");
            let was_paused = store::resume(&tx, &scope, now)?;
            // A pause that lapsed by itself leaves its orders waiting: resuming sends them too.
            let released: Vec<String> =
                mailcart::pipeline::release_held_replies(&tx, &config, &scope, "person", now)?
                    .into_iter()
                    .filter_map(|o| o.order)
                    .collect();
            if !was_paused && released.is_empty() {
                bail!("automatic replies to {who} are not paused (see `mailcart status`)");
            }
            store::insert_event(
                &tx,
                now,
                None,
                None,
                "replies_resumed",
                &serde_json::json!({ "scope": scope, "released": released }),
            )?;
            tx.commit()?;
            println!("automatic replies to {who} resume");
            if !released.is_empty() {
                println!(
                    "the answers held back for {} are queued now, their deadlines starting today",
                    released.join(", ")
                );
            }
            println!("mail held meanwhile is still in `mailcart review`");
            drop(conn);
            deliver(&config, now)
        }
        Command::Review {
            json,
            resolve,
            note,
        } => {
            let config = load_config(&cli.config)?;
            let mut conn = store::open(&config.storage.database)?;
            if let Some(id) = resolve {
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                if !store::resolve_message(&tx, id, now, &note)? {
                    bail!("no held message #{id} (see `mailcart review`)");
                }
                tx.commit()?;
                println!("#{id} resolved");
                return Ok(());
            }
            let held = store::held_messages(&conn)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&held)?);
            } else if held.is_empty() {
                println!("nothing waits for a person");
            } else {
                for h in held {
                    println!(
                        "#{} {} from {} {:?}: {}",
                        h.id,
                        h.received_at,
                        h.from.as_deref().unwrap_or("?"),
                        h.subject.as_deref().unwrap_or(""),
                        h.reason
                    );
                }
            }
            Ok(())
        }
        Command::Verify { json, head } => {
            let config = load_config(&cli.config)?;
            let conn = store::open(&config.storage.database)?;
            let mut report = store::verify(&conn)?;
            for h in head {
                if !store::chain_has(&conn, &h)? {
                    report.breaks.push(format!(
                        "the head {h} written down earlier is not in the chain: the history was rewritten or cut"
                    ));
                }
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", cli_view::verify_text(&report));
            }
            if !report.ok() {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Export {
            out,
            from,
            to,
            format,
            order,
        } => {
            let config = load_config(&cli.config)?;
            let mut conn = store::open(&config.storage.database)?;
            let selection = mailcart::export::Selection { from, to, order };
            let summary = mailcart::export::export(&mut conn, &out, format, &selection, now)?;
            for (file, rows) in &summary.files {
                println!("{file}: {rows} rows");
            }
            println!("messages/: {} raw messages", summary.messages);
            println!("MANIFEST: chain head {}", summary.chain_head);
            if !summary.verified {
                eprintln!(
                    "warning: `mailcart verify` finds the record broken; the MANIFEST says where"
                );
            }
            println!("check with: cd {} && sha256sum -c MANIFEST", out.display());
            Ok(())
        }
        Command::Customer { action } => customer(&cli.config, action, now),
    }
}

/// Send what the messages queued: to the outbox folder, or over SMTP when configured (unless a
/// running daemon will, which owns sending for this database).
fn customer(config_path: &Path, action: CustomerAction, now: OffsetDateTime) -> Result<()> {
    let config = load_config(config_path)?;
    let mut conn = store::open(&config.storage.database)?;
    match action {
        CustomerAction::Export { email, out } => {
            let data = mailcart::customer::export_customer(&mut conn, &email, now)?;
            let text = serde_json::to_string_pretty(&data)? + "\n";
            match out {
                Some(path) => mailcart::fsutil::write_private(&path, text.as_bytes())
                    .with_context(|| format!("writing {}", path.display()))?,
                None => print!("{text}"),
            }
        }
        CustomerAction::Erase { email, yes: false } => {
            let f = store::customer::footprint(&conn, &email)?;
            println!(
                "would erase {}: {} orders, {} messages received, {} sent, {} payments, {} feedback, {} events",
                f.email,
                f.orders.len(),
                f.messages.len(),
                f.outbox.len(),
                f.payments.len(),
                f.feedback.len(),
                f.events.len()
            );
            let open = store::customer::unfinished(&f);
            if !open.is_empty() {
                println!("refused while unfinished: {}", open.join(", "));
            }
            println!("run again with --yes to erase");
        }
        CustomerAction::Erase { email, yes: true } => {
            let done = mailcart::customer::erase_customer(&mut conn, &config, &email, now)?;
            let e = &done.erasure;
            println!(
                "erased: now {}; {} orders kept for the books ({}), {} messages received, {} sent, {} payments, {} feedback, {} events rewritten; {} outbox files",
                e.pseudonym,
                e.orders.len(),
                e.orders.join(", "),
                e.messages,
                e.outbox,
                e.payments,
                e.feedback,
                e.events,
                done.files_rewritten
            );
            if !done.wal_emptied {
                eprintln!(
                    "warning: another process is reading the database; the old pages leave the WAL file at its next checkpoint"
                );
            }
            println!(
                "not reached by mailcart: the shop's IMAP mailbox, mail already sent, and exports made before"
            );
        }
    }
    Ok(())
}

fn deliver(config: &Config, now: OffsetDateTime) -> Result<()> {
    let Some(smtp) = &config.smtp else {
        let conn = store::open(&config.storage.database)?;
        outbox::deliver_to_dir(&conn, &config.outbox.dir, now)?;
        return Ok(());
    };
    if mailcart::lock::DaemonLock::is_held(&config.storage.database) {
        println!("replies queued; the running `mailcart run` sends them");
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let config = std::sync::Arc::new(config.clone());
        let db = mailcart::db::Db::open(&config.storage.database)?;
        let sink = mailcart::smtp::SmtpSink::new(smtp, &config.shop.address)?;
        let sent = mailcart::dispatch::drain(&db, &config, &sink).await?;
        println!("{sent} emails sent through {}:{}", smtp.host, smtp.port);
        anyhow::Ok(())
    })
}

/// Print each step of reaching the servers; false when any failed.
async fn check(config: &Config) -> Result<bool> {
    let mut all_ok = true;
    let mut print = |server: &str, steps: Vec<(String, Result<String, String>)>| {
        for (step, result) in steps {
            match result {
                Ok(msg) => println!("{server} {step:<10} ok    {msg}"),
                Err(msg) => {
                    all_ok = false;
                    println!("{server} {step:<10} FAIL  {msg}");
                }
            }
        }
    };
    if let Some(setup) = config.oauth() {
        print("oauth2", vec![mailcart::oauth::report::check(&setup).await]);
    }
    match &config.imap {
        Some(imap) => print("imap", mailcart::imap::check(imap).await),
        None => println!(
            "imap            -     no [imap] section: mail is taken only by `mailcart process`"
        ),
    }
    match &config.smtp {
        Some(smtp) => {
            let sink = mailcart::smtp::SmtpSink::new(smtp, &config.shop.address)?;
            print("smtp", sink.check().await);
        }
        None => println!(
            "smtp            -     no [smtp] section: replies are written to {}",
            config.outbox.dir.display()
        ),
    }
    Ok(all_ok)
}

fn load_config(path: &Path) -> Result<Config> {
    Config::load(path).map_err(|e| match &e {
        mailcart::config::ConfigError::Read { .. } => {
            anyhow::anyhow!("{e}\n(run `mailcart init` to create one, or pass --config PATH)")
        }
        _ => anyhow::anyhow!(e),
    })
}

fn init(config_path: &Path, dir: Option<&Path>) -> Result<()> {
    let path = match dir {
        Some(d) => {
            mailcart::fsutil::create_private_dir(d)
                .with_context(|| format!("creating {}", d.display()))?;
            d.join("config.toml")
        }
        None => config_path.to_owned(),
    };
    if path.exists() {
        println!("{} exists; keeping it", path.display());
    } else {
        mailcart::fsutil::write_private(&path, mailcart::EXAMPLE_CONFIG.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    let config = load_config(&path)?;
    store::open(&config.storage.database)?;
    mailcart::fsutil::create_private_dir(&config.outbox.dir)
        .with_context(|| format!("creating {}", config.outbox.dir.display()))?;
    println!("database {}", config.storage.database.display());
    println!("outbox {}", config.outbox.dir.display());
    println!(
        "next: edit {}, then `mailcart --config {} inventory import catalog.csv`",
        path.display(),
        path.display()
    );
    Ok(())
}

fn parse(config_path: &Path, catalog_csv: Option<&Path>, explain: bool, file: &Path) -> Result<()> {
    let raw = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    // The shop's own address tells our mail from a customer's; without a config, nothing is ours.
    let config = Config::load(config_path).ok();
    let (catalog, catalog_from) = match (catalog_csv, &config) {
        (Some(p), _) => {
            let f = std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?;
            let items: Vec<_> = store::parse_catalog_csv(f)?
                .into_iter()
                .map(|(item, _)| item)
                .collect();
            (Catalog::new(items), format!("{}", p.display()))
        }
        // What `process` would match against: the shop's catalog, read without writing.
        (None, Some(c)) if c.storage.database.exists() => {
            let db = &c.storage.database;
            let conn = rusqlite::Connection::open_with_flags(
                db,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .with_context(|| format!("opening {}", db.display()))?;
            let catalog = store::load_catalog(&conn)
                .with_context(|| format!("reading the catalog from {}", db.display()))?;
            (catalog, format!("the shop's database {}", db.display()))
        }
        _ => (
            Catalog::default(),
            "none (no --catalog, no database)".into(),
        ),
    };
    let shop_address = config
        .as_ref()
        .map(|c| c.shop.address.clone())
        .unwrap_or_default();
    let max_quantity = config
        .as_ref()
        .map(|c| c.limits.max_quantity)
        .unwrap_or(999);
    let prefix = config
        .as_ref()
        .map(|c| c.shop.reference_prefix.clone())
        .unwrap_or_else(|| "MC".into());
    // What mailcart would keep is what it shows: a card number never reaches the terminal,
    // and a message over the limits is not parsed.
    let limits = config
        .as_ref()
        .map(|c| c.limits.message())
        .unwrap_or_default();
    let (_, msg) = mailcart::mail::read::redact_and_read(&raw, &limits);
    if let Some(reason) = &msg.set_aside {
        eprintln!("not read: {reason}");
    }
    let parsed = read(
        &msg,
        ReadContext {
            catalog: &catalog,
            shop_address: &shop_address,
            max_quantity,
            reference_prefix: &prefix,
            spam_threshold: config
                .as_ref()
                .map_or(DEFAULT_SPAM_THRESHOLD, |c| c.security.spam_score_threshold),
        },
    );
    if explain {
        print!(
            "{}",
            mailcart::explain::explain(&parsed, &catalog_from, catalog.items.len())
        );
    } else {
        println!("{}", serde_json::to_string_pretty(&parsed.report())?);
    }
    Ok(())
}

fn demo(fixtures: Option<PathBuf>, keep: bool, now: OffsetDateTime) -> Result<()> {
    let fixtures = fixtures.unwrap_or_else(|| {
        let here = PathBuf::from("mailbox-fixtures");
        if here.is_dir() {
            here
        } else {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("mailbox-fixtures")
        }
    });
    let workspace = tempfile::Builder::new()
        .prefix("mailcart-demo-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(
            mailcart::fsutil::DIR_MODE,
        ))
        .tempdir()?;
    let dir = workspace.path().to_owned();
    mailcart::fsutil::write_private(
        &dir.join("config.toml"),
        mailcart::EXAMPLE_CONFIG.as_bytes(),
    )?;
    let config = Config::load(&dir.join("config.toml"))?;
    let mut conn = store::open(&config.storage.database)?;
    let catalog = std::fs::File::open(fixtures.join("catalog.csv"))
        .with_context(|| format!("opening {}/catalog.csv", fixtures.display()))?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let report = store::import_catalog_csv(&tx, catalog, now)?;
    tx.commit()?;
    println!("mailcart demo: workspace {}", dir.display());
    println!(
        "catalog: {} items imported from {}/catalog.csv\n",
        report.created,
        fixtures.display()
    );

    let mut files: Vec<PathBuf> = std::fs::read_dir(&fixtures)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    let mut step = now;
    let mut outcomes: Vec<Outcome> = Vec::new();
    for file in &files {
        let raw = std::fs::read(file)?;
        // A minute between messages, as if they arrived one by one.
        step += time::Duration::minutes(1);
        let outcome =
            process_batch(&mut conn, &config, &[raw], step, &mut RandomReferences)?.remove(0);
        println!(
            "{:<40} {}",
            file.file_name().unwrap_or_default().to_string_lossy(),
            cli_view::describe(&outcome)
        );
        outcomes.push(outcome);
    }
    // Deliver everything once more: the duplicate must change nothing.
    if let Some(first) = files.first() {
        let raw = std::fs::read(first)?;
        let again =
            process_batch(&mut conn, &config, &[raw], step, &mut RandomReferences)?.remove(0);
        println!(
            "{:<40} {}",
            "(the first message again)",
            cli_view::describe(&again)
        );
    }
    // The first quoted customer pays through PayPal (fixture 53, with this run's reference).
    let first_quote = outcomes
        .iter()
        .find(|o| o.emails.iter().any(|(t, _)| t == "quote"))
        .and_then(|o| o.order.clone());
    let notice = fixtures.join("53-paypal-payment.eml");
    if let (Some(reference), true) = (&first_quote, notice.is_file())
        && let Some(order) = store::load_order(&conn, reference)?
    {
        let raw = std::fs::read_to_string(&notice)?
            .replace("MC-7K2QXD9F", reference)
            .replace("116.00", &order.totals.total.to_string())
            .replace("4RT12345AB678901C", "9DEMO000000000001");
        step += time::Duration::minutes(1);
        let paid = process_batch(
            &mut conn,
            &config,
            &[raw.into_bytes()],
            step,
            &mut RandomReferences,
        )?
        .remove(0);
        println!(
            "{:<40} {}",
            format!("(PayPal: {reference} paid)"),
            cli_view::describe(&paid)
        );
    }
    // Half a day before the payment deadline, the timers remind the others.
    let reminders_at = step + time::Duration::days(i64::from(config.payments.due_days))
        - time::Duration::hours(12);
    let reminded = mailcart::pipeline::run_timers(&mut conn, &config, reminders_at)?;
    println!(
        "{:<40} {} payment reminders sent",
        "(timers, 12 h before the deadline)",
        reminded.len()
    );
    let written = outbox::deliver_to_dir(&conn, &config.outbox.dir, step)?;
    println!(
        "\n{} emails written to {}",
        written.len(),
        config.outbox.dir.display()
    );
    println!(
        "\nOrders:\n{}",
        cli_view::orders_table(&store::list_orders(&conn)?)
    );
    println!(
        "Inventory:\n{}",
        cli_view::inventory_table(&store::inventory(&conn)?)
    );
    let held = store::held_messages(&conn)?;
    println!(
        "{} messages wait for a person (`mailcart review`).",
        held.len()
    );
    if let Some(reference) = first_quote.filter(|_| !written.is_empty()) {
        for (template, what) in [("quote", "quote"), ("payment_confirmed", "confirmation")] {
            // The store keeps bytes; reading them as mail is the mail edge's job.
            let raw = store::first_email(&conn, &reference, template)?;
            let text = raw.and_then(|r| {
                let msg = mail_parser::MessageParser::default().parse(&r)?;
                msg.body_text(0).map(|t| t.into_owned())
            });
            if let Some(text) = text {
                println!("\nThe {what} sent for {reference}:\n----\n{text}----");
            }
        }
    }
    if keep {
        let kept = workspace.keep();
        println!("\nworkspace kept at {}", kept.display());
    }
    Ok(())
}
