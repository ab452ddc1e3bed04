//! One path for every inbound message, whoever fetched it (`process`, the demo, later IMAP):
//! read it, store it raw, gather what the core needs, decide, and write the decision, all in
//! one transaction per message (grouped into one commit per batch for throughput).

use rusqlite::{Connection, TransactionBehavior};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::config::Config;
use crate::core::catalog::Catalog;
use crate::core::classify::Kind;
use crate::core::decide::decide;
use crate::core::decision::{Decision, Input, Template};
use crate::core::echo::{self, Echo};
use crate::core::extract::{ReadContext, read as read_parts};
use crate::core::order::Order;
use crate::core::redact::{Redacted, blot_cards, redact_message};
use crate::core::reference;
use crate::mail::compose::{Attachment, compose_with};
use crate::mail::limits::{self, MessageLimits};
use crate::mail::read::{read_within, redact_and_read, sha256_hex};
use crate::store::{self, StoreError, StoredMessage};

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("internal error: {0}")]
    Bug(String),
    #[error("composing a reply: {0}")]
    Compose(#[from] crate::mail::compose::ComposeError),
}

/// What happened to one message, for the CLI and the tests.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub message_id: String,
    /// `None` for a message we had already taken.
    pub kind: Option<Kind>,
    pub duplicate: bool,
    pub order: Option<String>,
    pub state: Option<&'static str>,
    /// (template, recipients) of each email queued.
    pub emails: Vec<(String, String)>,
    pub attention: Option<String>,
}

impl Outcome {
    /// What a timer did, before it is applied.
    fn of_timer(name: &str) -> Outcome {
        Outcome {
            message_id: format!("timer:{name}"),
            kind: None,
            duplicate: false,
            order: None,
            state: None,
            emails: Vec::new(),
            attention: None,
        }
    }
}

/// A source of fresh order references; random in production, fixed in tests.
pub trait References {
    fn next(&mut self, prefix: &str) -> String;
}

/// 40 random bits in Crockford base32, and a check symbol (`core::reference`).
pub struct RandomReferences;

impl References for RandomReferences {
    fn next(&mut self, prefix: &str) -> String {
        // A reference with no digit among its eight symbols is read without its hyphen only
        // when a digit is there (`core::reference`): one in twenty is drawn again.
        loop {
            let r = reference::issue(prefix, random_bits());
            if r[r.len() - 9..r.len() - 1]
                .bytes()
                .any(|b| b.is_ascii_digit())
            {
                return r;
            }
        }
    }
}

/// 40 random bits.
fn random_bits() -> u64 {
    let mut bytes = [0u8; 5];
    // Without the OS's randomness nothing else here is safe either; fall back to the clock only
    // so that an order is never lost for want of a name.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes.copy_from_slice(&nanos.to_le_bytes()[..5]);
    }
    bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

/// Take `messages` in order, in one database commit. Each message is its own savepoint, so
/// one that fails is rolled back alone and kept for a person.
pub fn process_batch(
    conn: &mut Connection,
    config: &Config,
    messages: &[Vec<u8>],
    now: OffsetDateTime,
    refs: &mut dyn References,
) -> Result<Vec<Outcome>, PipelineError> {
    process_batch_from(conn, config, messages, now, refs, None)
}

/// Where a batch came from in a mailbox: the checkpoint moves in the batch's own transaction,
/// so a crash either keeps both the messages and the new checkpoint, or neither.
pub struct MailboxPosition<'a> {
    pub mailbox: &'a str,
    pub checkpoint: store::Checkpoint,
}

pub fn process_batch_from(
    conn: &mut Connection,
    config: &Config,
    messages: &[Vec<u8>],
    now: OffsetDateTime,
    refs: &mut dyn References,
    position: Option<MailboxPosition>,
) -> Result<Vec<Outcome>, PipelineError> {
    let catalog = store::cached_catalog(conn)?;
    let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(messages.len());
    // Counted once a batch and carried along: a count per message would read an hour of a
    // busy shop's outbox every time.
    let to_all = store::count_all_recent_replies(
        &tx,
        now - Duration::hours(1),
        config.limits.replies_per_hour.saturating_add(1),
    )?;
    // The sellers' alerts about held messages, counted the same way (`core::held`).
    let alerts = store::count_recent_template(
        &tx,
        "held",
        now - Duration::hours(1),
        crate::core::held::alert_cap(config).saturating_add(1),
    )?;
    let mut hour = LastHour {
        replies_to_all: to_all,
        alerts,
    };
    for raw in messages {
        let mut sp = tx.savepoint()?;
        // A bug must cost one message a person's look, never the batch or the process.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            handle(&sp, config, &catalog, raw, now, refs, &mut hour)
        }))
        .unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(PipelineError::Bug(what))
        });
        match result {
            Ok(outcome) => {
                sp.commit()?;
                crate::crashpoint::pass(crate::crashpoint::Point::MidTransaction);
                tracing::info!(
                    message_id = %outcome.message_id,
                    order = outcome.order.as_deref().unwrap_or(""),
                    kind = outcome.kind.map(Kind::as_str).unwrap_or("duplicate"),
                    emails = outcome.emails.len(),
                    held = outcome.attention.is_some(),
                    "message processed"
                );
                outcomes.push(outcome);
            }
            Err(e) => {
                tracing::error!(error = %e, "message could not be processed; kept for a person");
                sp.rollback()?;
                drop(sp);
                outcomes.push(keep_failed(
                    &tx,
                    raw,
                    now,
                    &format!("could not be processed: {e}"),
                    &config.limits.message(),
                )?);
            }
        }
    }
    if let Some(p) = position {
        store::save_checkpoint(&tx, p.mailbox, p.checkpoint, now)?;
    }
    tx.commit()?;
    Ok(outcomes)
}

/// What was queued in the last hour, counted once a batch and carried along.
struct LastHour {
    /// Automatic replies to customers (the global loop cap).
    replies_to_all: u32,
    /// Sellers' alerts about held messages (`core::held::alert_cap`).
    alerts: u32,
}

fn handle(
    tx: &Connection,
    config: &Config,
    catalog: &Catalog,
    raw: &[u8],
    now: OffsetDateTime,
    refs: &mut dyn References,
    hour: &mut LastHour,
) -> Result<Outcome, PipelineError> {
    // Card numbers go before anything reads, hashes or keeps the message: from here on the
    // redacted copy is the message (the same mail twice redacts the same way, so dedup holds).
    // A message over the limits is neither redacted by parsing nor read: it is set aside.
    let (redacted, msg) = redact_and_read(raw, &config.limits.message());
    let raw = redacted.as_ref().map_or(raw, |r| r.raw.as_slice());
    let hash = sha256_hex(raw);
    let mut outcome = Outcome {
        message_id: msg.message_id.clone(),
        kind: None,
        duplicate: true,
        order: None,
        state: None,
        emails: Vec::new(),
        attention: None,
    };
    if store::message_exists_by_hash(tx, &hash)? {
        return Ok(outcome);
    }
    let earlier = store::message_id_seen(tx, &msg.message_id)?;
    // A copy fetched again after its customer was erased (or its raw copy purged) is not
    // kept: that would undo it. Any other copy is kept, and never acted on twice.
    let gone = match earlier {
        Some(first) => store::message_gone(tx, first)?,
        None => false,
    };
    let row = if gone {
        None
    } else {
        Some(store::insert_message(
            tx,
            &stored(&msg, &hash, raw),
            now,
            earlier,
        )?)
    };
    if let (Some(r), Some(row)) = (&redacted, row) {
        record_redaction(tx, now, &msg.message_id, row, r)?;
    }
    if let Some(first) = earlier {
        let detail = serde_json::json!({ "duplicate_of": first, "sha256": hash, "kept": !gone });
        if let Some(row) = row {
            return reused_message_id(tx, config, catalog, &msg, row, first, detail, now);
        }
        store::insert_event(
            tx,
            now,
            None,
            Some(&msg.message_id),
            "duplicate_ignored",
            &detail,
        )?;
        return Ok(outcome);
    }
    let row = row.ok_or_else(|| PipelineError::Bug("a new message was not stored".into()))?;
    outcome.duplicate = false;

    let mut parsed = read_parts(&msg, read_context(config, catalog));
    let token = store::find_command_token(tx, msg.thread_ids())?;
    parsed.kind = crate::core::answer::kind_of_answer(
        parsed.kind,
        config.is_seller(&msg.sender()),
        token.is_some(),
    );
    let (order, clashing) =
        related_order(tx, &msg, &msg.thread_ids().collect::<Vec<_>>(), &parsed)?;
    // A notice that names no order of ours may still fit one by its amount and payer.
    let open_orders = match (&order, &parsed.payment) {
        (None, Some(p)) if p.amount.is_some() && clashing.is_empty() => {
            store::open_orders_with_deadlines(tx)?
        }
        _ => Vec::new(),
    };
    let correspondent = parsed
        .customer
        .as_ref()
        .map(|c| c.email.clone())
        .unwrap_or_default();
    let skus = parsed.requested.items.iter().map(|i| i.sku.as_str());
    let wanted = order
        .iter()
        .flat_map(|o| o.wanted.iter().map(|w| w.sku.as_str()));
    // A change to the order may name products the message's own item lines do not.
    let named = match &order {
        Some(_) => crate::core::changes::named_skus(&msg.text, catalog),
        None => Vec::new(),
    };
    let available = store::available_map(
        tx,
        skus.chain(wanted).chain(named.iter().map(String::as_str)),
    )?;
    let thread = match &order {
        Some(o) => store::order_thread(tx, &o.reference)?,
        None => Vec::new(),
    };
    let transaction_seen = match (
        msg.from.as_ref(),
        parsed
            .payment
            .as_ref()
            .and_then(|p| p.transaction_id.as_deref()),
    ) {
        (Some(from), Some(id)) => store::transaction_seen(tx, &from.email, id)?,
        _ => false,
    };
    // A seller's `paid` may confirm a notice we proposed: its payer and transaction go with it.
    let proposed_payment = match (&order, parsed.kind) {
        (Some(o), Kind::SellerCommand) => store::payments::proposed_payment(tx, &o.reference)?,
        _ => None,
    };
    let held = match token.as_ref().and_then(|t| t.held.as_deref()) {
        Some(id) => held_message(tx, config, id, now)?,
        None => None,
    };
    let text_hash = echo::fingerprint(&msg.text);
    let answers_feedback_request =
        order.is_some() && store::feedback::answers_feedback_request(tx, msg.thread_ids())?;
    let exchanges = match &order {
        Some(o) => exchanges_of(tx, o)?,
        None => Vec::new(),
    };
    let earlier_orders = store::count_customer_orders(
        tx,
        &correspondent,
        order.as_ref().map(|o| o.reference.as_str()),
    )?;
    let decision = decide(Input {
        now,
        msg: &msg,
        parsed: &parsed,
        config,
        catalog,
        order,
        available: &available,
        recent: store::recent_replies(
            tx,
            &store::Asking {
                to_addr: &correspondent,
                sender: &msg.sender(),
                text_hash: text_hash.as_deref(),
                row,
            },
            now,
            hour.replies_to_all,
        )?,
        pauses: store::pauses_for(tx, &correspondent)?,
        new_reference: fresh_reference(tx, config, refs)?,
        thread,
        transaction_seen,
        clashing,
        open_orders,
        token,
        earlier_orders,
        cards_removed: redacted.as_ref().map_or(0, |r| r.count),
        proposed_payment,
        held,
        alerts_last_hour: hour.alerts,
        answers_feedback_request,
        exchanges,
    });
    outcome.kind = Some(parsed.kind);
    hour.replies_to_all += decision.emails.iter().filter(|e| e.to_customer).count() as u32;
    hour.alerts += decision
        .emails
        .iter()
        .filter(|e| e.template.name() == "held")
        .count() as u32;
    apply(
        tx,
        config,
        Some(Source {
            row,
            message_id: &msg.message_id,
            kind: parsed.kind,
            party: party(config, msg.from.as_ref().map(|m| m.email.as_str())),
            raw,
            text_hash: text_hash.as_deref(),
        }),
        &hash[..16],
        decision,
        now,
        &mut outcome,
    )?;
    Ok(outcome)
}

fn read_context<'a>(config: &'a Config, catalog: &'a Catalog) -> ReadContext<'a> {
    ReadContext {
        catalog,
        shop_address: &config.shop.address,
        max_quantity: config.limits.max_quantity,
        reference_prefix: &config.shop.reference_prefix,
        spam_threshold: config.security.spam_score_threshold,
    }
}

/// A message with the Message-ID of an earlier one but other bytes (identical bytes never get
/// here). It may be a second delivery with other trace headers, a corrected resend, or a forgery
/// meant to be dropped as a copy: acting on it could take an order twice, and dropping it could
/// lose one. It is kept (stored above, as a copy of the first) and put to a person, filed under
/// the first copy's order.
#[allow(clippy::too_many_arguments)]
fn reused_message_id(
    tx: &Connection,
    config: &Config,
    catalog: &Catalog,
    msg: &crate::core::inbound::Inbound,
    row: i64,
    first: i64,
    detail: serde_json::Value,
    now: OffsetDateTime,
) -> Result<Outcome, PipelineError> {
    let kind = read_parts(msg, read_context(config, catalog)).kind;
    let order = store::message_order_ref(tx, first)?;
    let reason = format!(
        "the Message-ID of message {first} again, with other bytes: not acted on; a person \
         should compare the two (`mailcart review`)"
    );
    store::update_message(
        tx,
        row,
        kind.as_str(),
        order.as_deref(),
        Some(&reason),
        None,
        None,
    )?;
    store::insert_event(
        tx,
        now,
        order.as_deref(),
        Some(&msg.message_id),
        "message_id_reused",
        &detail,
    )?;
    Ok(Outcome {
        message_id: msg.message_id.clone(),
        kind: Some(kind),
        duplicate: false,
        order,
        state: None,
        emails: Vec::new(),
        attention: Some(reason),
    })
}

/// Where and how many, never what: the numbers themselves are gone.
fn record_redaction(
    tx: &Connection,
    now: OffsetDateTime,
    message_id: &str,
    row: i64,
    r: &Redacted,
) -> Result<(), StoreError> {
    let detail = serde_json::json!({ "row": row, "count": r.count, "places": r.places });
    tracing::warn!(
        message_id,
        count = r.count,
        "card number removed from a message"
    );
    store::insert_event(
        tx,
        now,
        None,
        Some(message_id),
        "card_number_redacted",
        &detail,
    )
}

fn stored<'a>(
    msg: &'a crate::core::inbound::Inbound,
    hash: &'a str,
    raw: &'a [u8],
) -> StoredMessage<'a> {
    StoredMessage {
        message_id: &msg.message_id,
        sha256: hash,
        from_addr: msg.from.as_ref().map(|m| m.email.as_str()),
        subject: &msg.subject,
        raw,
    }
}

/// The order a message is about: its thread first, then a reference it names, then (for a
/// question or a cancellation that names none) the sender's latest order. A reference that
/// may be read as several orders' names none of them: those are returned beside, for a person.
fn related_order(
    tx: &Connection,
    msg: &crate::core::inbound::Inbound,
    thread: &[&str],
    parsed: &crate::core::extract::Parsed,
) -> Result<(Option<Order>, Vec<String>), StoreError> {
    if let Some(order) = store::find_thread_order(tx, thread.iter().copied())? {
        return Ok((Some(order), Vec::new()));
    }
    let mut named: Vec<Order> = Vec::new();
    for reading in &parsed.readings {
        if let Some(order) = store::find_order_by_reference(tx, reading)?
            && !named.iter().any(|o| o.reference == order.reference)
        {
            named.push(order);
        }
    }
    if named.len() > 1 {
        return Ok((None, named.into_iter().map(|o| o.reference).collect()));
    }
    if let Some(order) = named.pop() {
        return Ok((Some(order), Vec::new()));
    }
    if matches!(
        parsed.kind,
        Kind::StatusInquiry | Kind::Cancellation | Kind::PaymentNotice
    ) && let Some(c) = &parsed.customer
    {
        return Ok((store::customer_order(tx, &c.email)?, Vec::new()));
    }
    // "I'd like to return the teapot" naming no order: their one live order, if it has
    // shipped (an order that is not yet shipped is not what they send back). A new order
    // with its address that says "I may return it" is a new order.
    if let Some(c) = &parsed.customer
        && !(parsed.kind == Kind::Order && parsed.shipping_address.is_some())
        && crate::core::returns::asks(&msg.subject, &msg.text).is_some()
    {
        let order = store::customer_order(tx, &c.email)?
            .filter(|o| o.state == crate::core::order::OrderState::Shipped);
        return Ok((order, Vec::new()));
    }
    Ok((None, Vec::new()))
}

/// The new orders of an order's exchanges.
fn exchanges_of(tx: &Connection, order: &Order) -> Result<Vec<Order>, StoreError> {
    let mut out = Vec::new();
    for r in order.returns.iter().filter_map(|r| r.exchange.as_deref()) {
        out.extend(store::load_order(tx, r)?);
    }
    Ok(out)
}

/// A reference not yet used, whose first eight symbols are no older reference either: a
/// reference written without its check symbol then names only the order it was issued to.
fn fresh_reference(
    tx: &Connection,
    config: &Config,
    refs: &mut dyn References,
) -> Result<String, StoreError> {
    loop {
        let candidate = refs.next(&config.shop.reference_prefix);
        let older = match reference::without_check(&candidate) {
            Some(old) => store::load_order(tx, &old)?.is_some(),
            None => false,
        };
        if !older && store::load_order(tx, &candidate)?.is_none() {
            return Ok(candidate);
        }
    }
}

/// The inbound message a decision answers.
struct Source<'a> {
    /// Its row in `messages`.
    row: i64,
    message_id: &'a str,
    kind: Kind,
    /// Whose side of the conversation the message is on (see `store::insert_thread_ids`).
    party: &'static str,
    /// As stored (card numbers removed): what an alert about it attaches.
    raw: &'a [u8],
    /// What the sender wrote, fingerprinted for the loop caps (`core::echo`).
    text_hash: Option<&'a str>,
}

/// The held message an alert was about, as a seller's answer to it needs it.
fn held_message(
    tx: &Connection,
    config: &Config,
    message_id: &str,
    now: OffsetDateTime,
) -> Result<Option<crate::core::held::HeldMessage>, StoreError> {
    let Some(store::HeldRow {
        from_addr: from,
        subject,
        raw,
    }) = store::held_message(tx, message_id)?
    else {
        return Ok(None);
    };
    // Its raw copy may have been purged: then the columns kept beside it answer.
    let msg = read_within(&raw, &config.limits.message());
    let correspondent = msg
        .correspondent()
        .cloned()
        .or_else(|| from.map(|email| crate::core::inbound::Mailbox { name: None, email }));
    let paused = match &correspondent {
        Some(c) => {
            let email = c.email.to_ascii_lowercase();
            store::pauses_for(tx, &email)?
                .into_iter()
                .any(|p| p.scope == email && p.active(now, config.limits.pause_hours))
                .then_some(email)
        }
        None => None,
    };
    Ok(Some(crate::core::held::HeldMessage {
        message_id: message_id.to_string(),
        correspondent,
        subject: if msg.subject.is_empty() {
            subject
        } else {
            msg.subject
        },
        references: msg.references,
        paused,
    }))
}

fn party(config: &Config, from: Option<&str>) -> &'static str {
    match from {
        Some(f) if config.is_seller(f) => "shop",
        Some(f) if config.is_trusted_payer_service(f) => "other",
        _ => "customer",
    }
}

/// A held message larger than this is not attached to the sellers' alert (one copy a seller,
/// and their mail server may refuse it): it stays in the database, listed by `review`.
const MAX_ATTACHED: usize = 5_000_000;

/// 128 random bits, hex: the token in the Message-ID of a request a seller may answer.
fn random_token() -> String {
    let mut bytes = [0u8; 16];
    // Without the OS's randomness a token could be guessed: better no request than that.
    getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The PDF a customer's email carries, with its file name: the invoice with the payment's
/// confirmation, the credit note with a paid order's cancellation. Rendered again from the
/// record when the email goes out later than the document was issued (a held reply).
fn invoice_for(
    tx: &Connection,
    config: &Config,
    email: &crate::core::decision::Email,
    issued: Option<&store::invoices::Issued>,
) -> Result<Option<(String, Vec<u8>)>, PipelineError> {
    use crate::core::invoice::InvoiceKind;
    if !config.invoices.enabled || !email.to_customer {
        return Ok(None);
    }
    let (order, kind) = match &email.template {
        Template::PaymentConfirmed { order } => (order, InvoiceKind::Invoice),
        Template::Cancelled { order } | Template::CancelledByShop { order, .. } => {
            (order, InvoiceKind::CreditNote)
        }
        _ => return Ok(None),
    };
    if let Some(i) = issued.filter(|i| i.order_ref == order.reference && i.kind == kind) {
        return Ok(Some((crate::invoice::file_name(&i.number), i.pdf.clone())));
    }
    let Some(row) = store::invoices::find(tx, &order.reference, kind)? else {
        return Ok(None);
    };
    Ok(Some((
        crate::invoice::file_name(&row.number),
        store::invoices::pdf(&row)?,
    )))
}

/// Write a decision: the order, the ledger, the events, the payment record and the outbox.
/// Outgoing Message-IDs are `{order}.{seed}.{n}@{shop domain}`; the seed comes from what caused
/// the decision (the inbound message's hash, a timer's name), so that deciding the same thing
/// again yields the same IDs.
fn apply(
    tx: &Connection,
    config: &Config,
    source: Option<Source>,
    seed: &str,
    decision: Decision,
    now: OffsetDateTime,
    outcome: &mut Outcome,
) -> Result<(), PipelineError> {
    let order_ref = decision
        .order
        .as_ref()
        .map(|o| o.reference.clone())
        .or_else(|| decision.about.clone());
    let r = order_ref.as_deref();
    let message_id = source.as_ref().map(|s| s.message_id);
    if let Some(order) = &decision.order {
        store::save_order(tx, order, now)?;
        if let Some(s) = &source {
            store::insert_thread_ids(tx, &order.reference, s.party, [s.message_id])?;
        }
        outcome.state = Some(order.state.as_str());
    }
    if let (Some((order, purpose)), Some(id)) = (&decision.retire_tokens, message_id) {
        store::retire_command_tokens(tx, order, *purpose, id, now)?;
    }
    for mv in &decision.stock_moves {
        store::apply_move(tx, mv, r, now)?;
        let detail = serde_json::json!({ "sku": mv.sku, "kind": mv.kind.as_str(), "quantity": mv.quantity, "reason": mv.reason });
        store::insert_event(tx, now, r, message_id, "stock_moved", &detail)?;
    }
    for event in &decision.events {
        store::insert_event(tx, now, r, message_id, event.kind, &event.detail)?;
    }
    if let Some(change) = &decision.pause {
        store::apply_pause(tx, change, now)?;
    }
    if let (Some(payment), Some(id)) = (&decision.payment, message_id) {
        store::insert_payment(tx, payment, id, now)?;
    }
    if let (Some(feedback), Some(id)) = (&decision.feedback, message_id) {
        store::feedback::insert_feedback(tx, feedback, id, now)?;
    }
    // Numbered here, in the transaction that records the payment (or the cancellation), in
    // the language the customer is answered in.
    let issued = match &decision.order {
        Some(order) => {
            let language = order.language.as_deref().unwrap_or(&config.shop.language);
            store::invoices::issue_for(tx, config, order, now, language)?
        }
        None => None,
    };
    for (i, email) in decision.emails.iter().enumerate() {
        let prefix = r.unwrap_or("mc").to_ascii_lowercase();
        let out_id = match (&email.once, &email.command) {
            // A once-only request a seller may answer: the key finds it, the token stays secret.
            (Some(key), Some(_)) => {
                if store::outbox_has_prefix(tx, &format!("once.{}", safe_id(key)))? {
                    continue;
                }
                format!(
                    "once.{}.{}@{}",
                    safe_id(key),
                    random_token(),
                    config.shop_domain()
                )
            }
            // The same key again is the same message: already queued once, never twice.
            (Some(key), None) => format!("once.{}@{}", safe_id(key), config.shop_domain()),
            // A request a seller may answer: the token is the Message-ID's secret part.
            (None, Some(_)) => format!("{prefix}.{}@{}", random_token(), config.shop_domain()),
            (None, None) => format!("{prefix}.{seed}.{i}@{}", config.shop_domain()),
        };
        if email.once.is_some() && store::outbox_has(tx, &out_id)? {
            continue;
        }
        if let Some(request) = &email.command {
            let seller = email.to.first().map(|m| m.email.as_str()).unwrap_or("");
            // A request made while the message is held answers for it too (`core::held`).
            let held_message = message_id.filter(|_| decision.attention.is_some());
            if r.is_some() || held_message.is_some() {
                let request = store::Request {
                    order_ref: r,
                    held_message,
                    purpose: request.purpose,
                    seller,
                    expires_at: request.expires_at,
                };
                store::insert_command_token(tx, &out_id, &request, now)?;
            }
        }
        let mut attachments: Vec<Attachment> = source
            .as_ref()
            .map(|s| s.raw)
            .filter(|raw| email.attach_inbound && raw.len() <= MAX_ATTACHED)
            .map(Attachment::Message)
            .into_iter()
            .collect();
        let invoice = invoice_for(tx, config, email, issued.as_ref())?;
        if let Some((name, pdf)) = &invoice {
            attachments.push(Attachment::File {
                name,
                content_type: "application/pdf",
                bytes: pdf,
            });
        }
        let raw = compose_with(email, &out_id, now, config, &attachments)?;
        let to: Vec<&str> = email.to.iter().map(|m| m.email.as_str()).collect();
        let to = to.join(", ");
        store::insert_outbox(
            tx,
            &out_id,
            r,
            &to,
            email.to_customer,
            &email.subject,
            email.template.name(),
            &raw,
            now,
        )?;
        if let Some(reference) = r {
            let party = if email.to_customer {
                "customer"
            } else {
                "shop"
            };
            store::insert_thread_ids(tx, reference, party, [out_id.as_str()])?;
        }
        outcome.emails.push((email.template.name().to_string(), to));
    }
    if let Some(s) = &source {
        store::update_message(
            tx,
            s.row,
            s.kind.as_str(),
            r,
            decision.attention.as_deref(),
            s.text_hash,
            decision.echo.map(Echo::as_str),
        )?;
    }
    if let (Some((held, note)), Some(id)) = (&decision.resolve_held, message_id) {
        store::resolve_held(tx, held, id, note, now)?;
    }
    if let Some((scope, by)) = &decision.resume {
        // A seller lifted the pause by email, as `mailcart resume` does.
        store::resume(tx, scope, now)?;
        let released: Vec<String> = release_held_replies(tx, config, scope, by, now)?
            .into_iter()
            .flat_map(|o| {
                outcome.emails.extend(o.emails);
                o.order
            })
            .collect();
        store::insert_event(
            tx,
            now,
            None,
            message_id,
            "replies_resumed",
            &serde_json::json!({ "scope": scope, "by": by, "released": released }),
        )?;
    }
    // Other orders the decision changed (an exchange), each under its own reference.
    for linked in decision.linked {
        let mut also = Outcome::of_timer(seed);
        apply(tx, config, None, seed, linked, now, &mut also)?;
        outcome.emails.extend(also.emails);
    }
    outcome.order = order_ref;
    outcome.attention = decision.attention;
    Ok(())
}

/// A key as the local part of a Message-ID.
fn safe_id(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// Run the timers at `now`: payment reminders, and expiry of orders unpaid past their deadline
/// or unapproved past their reservation, in one transaction. Returns what changed.
pub fn run_timers(
    conn: &mut Connection,
    config: &Config,
    now: OffsetDateTime,
) -> Result<Vec<Outcome>, PipelineError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::new();
    let open = store::open_orders_with_deadlines(&tx)?;
    if config.alerts.digest_hour.is_some() {
        run_digest(&tx, config, &open, now, &mut outcomes)?;
    }
    for order in open {
        let thread = store::order_thread(&tx, &order.reference)?;
        let Some(decision) = crate::core::timers::tick(&order, &thread, now, config) else {
            continue;
        };
        let seed = match decision.order.as_ref().map(|o| o.state) {
            Some(crate::core::order::OrderState::Expired) => "expired",
            _ => "reminder",
        };
        let mut outcome = Outcome::of_timer(seed);
        apply(&tx, config, None, seed, decision, now, &mut outcome)?;
        tracing::info!(
            order = outcome.order.as_deref().unwrap_or(""),
            timer = seed,
            emails = outcome.emails.len(),
            "timer fired"
        );
        outcomes.push(outcome);
    }
    run_feedback_requests(&tx, config, now, &mut outcomes)?;
    tx.commit()?;
    Ok(outcomes)
}

/// A person lifted the pause on `scope`: each order that waited for its answer gets it now,
/// with its deadlines starting now. Returns what was sent, an outcome an order. Call inside
/// the transaction that lifts the pause.
pub fn release_held_replies(
    tx: &Connection,
    config: &Config,
    scope: &str,
    by: &str,
    now: OffsetDateTime,
) -> Result<Vec<Outcome>, PipelineError> {
    let catalog = store::cached_catalog(tx)?;
    let mut released = Vec::new();
    for order in store::orders_with_held_replies(tx, scope)? {
        let thread = store::order_thread(tx, &order.reference)?;
        let Some(decision) =
            crate::core::release::release(&order, &thread, now, config, &catalog, by)
        else {
            continue;
        };
        let mut outcome = Outcome::of_timer("released");
        let seed = format!("released.{}", now.unix_timestamp());
        apply(tx, config, None, &seed, decision, now, &mut outcome)?;
        released.push(outcome);
    }
    Ok(released)
}

/// `[feedback] after_days`: ask how it went, once an order, that many days after shipping.
fn run_feedback_requests(
    tx: &Connection,
    config: &Config,
    now: OffsetDateTime,
    outcomes: &mut Vec<Outcome>,
) -> Result<(), PipelineError> {
    let Some(days) = config.feedback.after_days else {
        return Ok(());
    };
    let since = now
        - Duration::days(i64::from(days) + crate::core::timers::FEEDBACK_WINDOW_DAYS)
        - Duration::days(1);
    for (order, returned) in store::feedback::awaiting_feedback_request(tx, since)? {
        let thread = store::order_thread(tx, &order.reference)?;
        let Some(decision) =
            crate::core::timers::ask_feedback(&order, &thread, returned, now, config)
        else {
            continue;
        };
        let mut outcome = Outcome::of_timer("feedback");
        apply(tx, config, None, "feedback", decision, now, &mut outcome)?;
        tracing::info!(
            order = outcome.order.as_deref().unwrap_or(""),
            timer = "feedback",
            "feedback requested"
        );
        outcomes.push(outcome);
    }
    Ok(())
}

/// `[alerts] digest_hour`: the sellers' digest of what still waits, once a day.
fn run_digest(
    tx: &Connection,
    config: &Config,
    open: &[Order],
    now: OffsetDateTime,
    outcomes: &mut Vec<Outcome>,
) -> Result<(), PipelineError> {
    use crate::core::digest::{Waiting, digest};
    use time::format_description::well_known::Rfc3339;
    let held: Vec<Waiting> = store::held_messages(tx)?
        .into_iter()
        .map(|h| Waiting {
            since: OffsetDateTime::parse(&h.received_at, &Rfc3339).unwrap_or(now),
            from: h.from,
            subject: h.subject,
            order_ref: h.order_ref,
            reason: h.reason,
        })
        .collect();
    let approvals: Vec<(String, OffsetDateTime)> = open
        .iter()
        .filter(|o| o.state == crate::core::order::OrderState::AwaitingApproval)
        .map(|o| (o.reference.clone(), o.created_at))
        .collect();
    let spam = store::count_kind_since(tx, "spam", now - Duration::days(1))?;
    let answers_held: Vec<(String, String)> =
        store::orders_with_held_replies(tx, crate::core::reply_cap::ALL)?
            .into_iter()
            .map(|o| (o.reference, o.customer.email))
            .collect();
    let Some(decision) = digest(config, now, &held, &approvals, &answers_held, spam) else {
        return Ok(());
    };
    let mut outcome = Outcome::of_timer("digest");
    apply(tx, config, None, "digest", decision, now, &mut outcome)?;
    // Every tick after the hour decides the same digest; only the first queues it.
    if !outcome.emails.is_empty() {
        tracing::info!(emails = outcome.emails.len(), "digest queued");
        outcomes.push(outcome);
    }
    Ok(())
}

/// `[retention] raw_messages_days`: empty the raw copies past it (a bounded number per run).
pub fn run_retention(
    conn: &mut Connection,
    config: &Config,
    now: OffsetDateTime,
) -> Result<store::Purged, PipelineError> {
    let Some(days) = config.retention.raw_messages_days else {
        return Ok(store::Purged::default());
    };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let purged = store::purge_raw(&tx, now - Duration::days(i64::from(days)), now)?;
    tx.commit()?;
    Ok(purged)
}

/// Keep a message for a person without reading it (say, over the size limit, where only its
/// header was fetched): stored, listed by `review`, never answered.
pub fn set_aside(
    conn: &mut Connection,
    config: &Config,
    raw: &[u8],
    reason: &str,
    now: OffsetDateTime,
) -> Result<Outcome, PipelineError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let outcome = keep_failed(&tx, raw, now, reason, &config.limits.message())?;
    tx.commit()?;
    Ok(outcome)
}

/// A message whose handling failed is still kept, raw, and put to a person.
fn keep_failed(
    tx: &Connection,
    raw: &[u8],
    now: OffsetDateTime,
    reason: &str,
    limits: &MessageLimits,
) -> Result<Outcome, PipelineError> {
    // The message that broke `handle` may be the one that breaks the redactor: then its digits
    // are blotted byte by byte rather than stored as they came (so is one over the limits).
    let redacted = match limits::check(raw, limits) {
        Ok(()) => {
            std::panic::catch_unwind(|| redact_message(raw)).unwrap_or_else(|_| blot_cards(raw))
        }
        Err(_) => blot_cards(raw),
    };
    let raw = redacted.as_ref().map_or(raw, |r| r.raw.as_slice());
    let hash = sha256_hex(raw);
    let msg = std::panic::catch_unwind(|| read_within(raw, limits)).unwrap_or_else(|_| {
        crate::core::inbound::Inbound {
            message_id: format!("{}@unreadable.mailcart", &hash[..32]),
            ..Default::default()
        }
    });
    if !store::message_exists_by_hash(tx, &hash)? {
        let row = store::insert_message(tx, &stored(&msg, &hash, raw), now, None)?;
        if let Some(r) = &redacted {
            record_redaction(tx, now, &msg.message_id, row, r)?;
        }
        store::update_message(tx, row, "unknown", None, Some(reason), None, None)?;
        store::insert_event(
            tx,
            now,
            None,
            Some(&msg.message_id),
            "processing_failed",
            &serde_json::json!({ "error": reason }),
        )?;
    }
    Ok(Outcome {
        message_id: msg.message_id,
        kind: Some(Kind::Unknown),
        duplicate: false,
        order: None,
        state: None,
        emails: Vec::new(),
        attention: Some(reason.to_string()),
    })
}
