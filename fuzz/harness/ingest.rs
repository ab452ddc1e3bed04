//! What `pipeline::handle` does to a message before it stores anything, as a pure function of
//! the bytes: redact -> read -> classify/extract -> decide -> compose, against a fixed shop
//! (the example config with authentication on, the fixture catalog, a fixed clock) and each of
//! the order states a real message can meet, with the invariants that must hold for any mail.
//!
//! Shared by the fuzz target (fuzz/fuzz_targets/ingest.rs) and the regression test over its
//! findings (tests/fuzz_findings.rs), so a finding replays exactly what found it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::LazyLock;

use mailcart::config::Config;
use mailcart::core::catalog::Catalog;
use mailcart::core::classify::Kind;
use mailcart::core::decide::decide;
use mailcart::core::decision::{CommandToken, Decision, Input, Purpose};
use mailcart::core::extract::{Parsed, ReadContext, read as read_parts};
use mailcart::core::inbound::Inbound;
use mailcart::core::order::{Order, OrderState};
use mailcart::core::redact::{find_cards, redact_message};
use mailcart::mail::compose::compose;
use mailcart::mail::read::read;
use rust_decimal::Decimal;
use time::{Duration, OffsetDateTime};

/// The reference the fixtures' payment notices, seller commands and questions name.
pub const REFERENCE: &str = "MC-7K2QXD9F";
/// Requests of ours that fixture replies (or the fuzzer, from the dictionary) thread under.
pub const APPROVAL_REQUEST: &str = "mc.20261130.approval.7k2qxd9f@lindenclay.test";
pub const PACKING_SLIP: &str = "mc.20261201.packing.7k2qxd9f@lindenclay.test";
pub const QUOTE: &str = "mc.20261130.quote.yd.7k2qxd9f@lindenclay.test";

const CUSTOMER: &str = "Pat Okafor <pat@example.test>";
const ADDRESS: &str = "Ship to:\nPat Okafor\n41 Linden Avenue\nPortland, OR 97205\nUSA\n";
/// A message that reaches every reader (items, address, payment words, a card number).
pub const WARM_UP: &[u8] = b"From: Pat Okafor <pat@example.test>\r\nSubject: Order MC-7K2QXD9F\r\nMessage-ID: <w@example.test>\r\n\r\n2 x Blue Mug\r\nI have paid with 4111 1111 1111 1111\r\n\r\nShip to:\r\nPat Okafor\r\n41 Linden Avenue\r\nPortland, OR 97205\r\nUSA\r\n\r\nThanks,\r\nPat\r\n";
const OUR_SERVER_PASSED: &str = "Authentication-Results: mx.lindenclay.test; dkim=pass header.d=";

pub struct World {
    pub config: Config,
    pub catalog: Catalog,
    pub available: HashMap<String, i64>,
    pub now: OffsetDateTime,
    /// The same order in each state it can be met in: None (a new conversation), then open
    /// and settled orders, all under `REFERENCE`.
    pub orders: Vec<Option<Order>>,
}

pub static WORLD: LazyLock<World> = LazyLock::new(World::new);

/// The example config, with our server's DKIM verdicts trusted so that payment notices and
/// fresh seller commands can count.
pub fn config_text() -> String {
    let text = mailcart::EXAMPLE_CONFIG.replace(
        "# authserv_id = \"mx.lindenclay.test\"",
        "authserv_id = \"mx.lindenclay.test\"",
    );
    assert_ne!(text, mailcart::EXAMPLE_CONFIG, "the example config changed");
    text
}

impl World {
    fn new() -> World {
        let text = config_text();
        let config = Config::from_toml(&text, Path::new("fuzz.toml")).expect("example config");
        let rows = mailcart::store::parse_catalog_csv(
            &include_bytes!("../../mailbox-fixtures/catalog.csv")[..],
        )
        .expect("fixture catalog");
        let available = rows.iter().map(|(i, n)| (i.sku.clone(), *n)).collect();
        let catalog = Catalog::new(rows.into_iter().map(|(i, _)| i).collect());
        let now = OffsetDateTime::from_unix_timestamp(1_796_112_000).expect("a fixed time"); // 2026-12-01
        let mut world = World {
            config,
            catalog,
            available,
            now,
            orders: vec![None],
        };
        // Each state is reached the way real mail reaches it, so its fields are real too.
        let details = world.step(None, &customer_mail("2 x Blue Mug\n"));
        let approval = world.step(None, &customer_mail(&format!("30 x Blue Mug\n\n{ADDRESS}")));
        let quoted = world.step(None, &customer_mail(&format!("2 x Blue Mug\n\n{ADDRESS}")));
        let total = quoted.totals.total;
        let paid = world.step(Some(&quoted), &payment_notice(total));
        let shipped = world.step(
            Some(&paid),
            &seller_mail(&format!("Shipped {REFERENCE} UPS 1Z999AA10123456784\n",)),
        );
        let states: Vec<OrderState> = [&details, &approval, &quoted, &paid, &shipped]
            .iter()
            .map(|o| o.state)
            .collect();
        assert_eq!(
            states,
            [
                OrderState::AwaitingDetails,
                OrderState::AwaitingApproval,
                OrderState::AwaitingPayment,
                OrderState::Paid,
                OrderState::Shipped
            ],
            "the world's orders"
        );
        world
            .orders
            .extend([details, approval, quoted, paid, shipped].map(Some));
        world
    }

    /// One message against `order`; the order it leaves.
    fn step(&self, order: Option<&Order>, raw: &str) -> Order {
        let msg = read(raw.as_bytes());
        let parsed = self.parse(&msg);
        self.decide(&msg, &parsed, order.cloned(), 0)
            .order
            .unwrap_or_else(|| panic!("no order from {raw}"))
    }

    fn parse(&self, msg: &Inbound) -> Parsed {
        read_parts(
            msg,
            ReadContext {
                catalog: &self.catalog,
                shop_address: &self.config.shop.address,
                max_quantity: self.config.limits.max_quantity,
                reference_prefix: &self.config.shop.reference_prefix,
                spam_threshold: self.config.security.spam_score_threshold,
            },
        )
    }

    fn decide(
        &self,
        msg: &Inbound,
        parsed: &Parsed,
        order: Option<Order>,
        cards_removed: usize,
    ) -> Decision {
        // The store finds a token only under the request's own Message-ID.
        let token = order.as_ref().and_then(|o| {
            let (id, purpose) = match o.state {
                OrderState::AwaitingApproval => (APPROVAL_REQUEST, Purpose::Approval),
                OrderState::Paid => (PACKING_SLIP, Purpose::Fulfilment),
                _ => return None,
            };
            msg.thread_ids().any(|t| t == id).then(|| CommandToken {
                message_id: id.to_string(),
                order_ref: Some(o.reference.clone()),
                held: None,
                purpose,
                seller: "mara@lindenclay.test".into(),
                expires_at: self.now + Duration::days(2),
                used: false,
            })
        });
        let thread = match &order {
            Some(_) => vec!["order-1@example.test".to_string(), QUOTE.to_string()],
            None => Vec::new(),
        };
        decide(Input {
            now: self.now,
            msg,
            parsed,
            config: &self.config,
            catalog: &self.catalog,
            earlier_orders: u32::from(order.is_some()),
            order,
            available: &self.available,
            recent: Default::default(),
            pauses: Vec::new(),
            new_reference: REFERENCE.into(),
            thread,
            transaction_seen: false,
            clashing: Vec::new(),
            open_orders: Vec::new(),
            token,
            cards_removed,
            proposed_payment: None,
            held: None,
            alerts_last_hour: 0,
            answers_feedback_request: false,
            exchanges: Vec::new(),
        })
    }
}

fn customer_mail(body: &str) -> String {
    format!(
        "From: {CUSTOMER}\r\nTo: orders@lindenclay.test\r\nSubject: Order\r\nMessage-ID: <order-1@example.test>\r\n\r\n{}",
        body.replace('\n', "\r\n")
    )
}

fn payment_notice(total: Decimal) -> String {
    format!(
        "{OUR_SERVER_PASSED}paypal.example; dmarc=pass header.from=paypal.example\r\nFrom: PayPal <service@paypal.example>\r\nTo: orders@lindenclay.test\r\nSubject: You've received a payment\r\nMessage-ID: <n1@paypal.example>\r\n\r\nPat Okafor sent you ${total} USD\r\n\r\nNote from Pat Okafor:\r\n{REFERENCE}\r\n\r\nTransaction ID: 4RT12345AB678901C\r\nAmount received: ${total} USD\r\n"
    )
}

fn seller_mail(body: &str) -> String {
    format!(
        "{OUR_SERVER_PASSED}lindenclay.test\r\nFrom: Mara Lind <mara@lindenclay.test>\r\nTo: orders@lindenclay.test\r\nSubject: shipped\r\nMessage-ID: <s1@lindenclay.test>\r\n\r\n{body}"
    )
}

/// Run one message through everything before the store, against every state of the order;
/// panics when an invariant breaks.
pub fn check(data: &[u8]) {
    let w = &*WORLD;
    let redacted = redact_message(data);
    let raw = redacted.as_ref().map_or(data, |r| r.raw.as_slice());
    let msg = read(raw);
    // Nothing after redaction may see a card number (the stored copy is what is read).
    for (place, text) in [("subject", &msg.subject), ("text", &msg.text)] {
        assert!(
            find_cards(text).is_empty(),
            "a card number survived redaction in the {place}"
        );
    }
    let parsed = w.parse(&msg);
    serde_json::to_string(&parsed.report()).expect("the parse report serialises");
    let cards = redacted.as_ref().map_or(0, |r| r.count);
    for order in &w.orders {
        let before = order.as_ref().map(|o| o.state);
        let d = w.decide(&msg, &parsed, order.clone(), cards);
        invariants(w, &msg, &parsed, before, &d);
    }
}

fn invariants(w: &World, msg: &Inbound, parsed: &Parsed, before: Option<OrderState>, d: &Decision) {
    let never_answered = msg.set_aside.is_some()
        || matches!(parsed.kind, Kind::AutoReply | Kind::Bulk | Kind::Bounce);
    if never_answered {
        assert!(
            d.emails.iter().all(|e| !e.to_customer),
            "a {} message was answered",
            parsed.kind.as_str()
        );
    }
    for mv in &d.stock_moves {
        assert!(mv.quantity > 0, "stock move of {} {}", mv.quantity, mv.sku);
    }
    if let Some(o) = &d.order {
        match before {
            Some(from) if !d.order_is_new => assert!(
                from == o.state || from.can_become(o.state),
                "{} -> {}",
                from.as_str(),
                o.state.as_str()
            ),
            _ => assert!(d.order_is_new, "an order changed that was not there"),
        }
        money(o);
    }
    for (i, email) in d.emails.iter().enumerate() {
        let id = format!("fuzz.{i}@lindenclay.test");
        // A reply lettre cannot build fails the message, which the pipeline keeps for a
        // person: not a crash. What it does build must say only what we meant.
        if let Ok(bytes) = compose(email, &id, w.now, &w.config) {
            composed(&bytes, email);
        }
    }
    serde_json::to_string(d).expect("the decision serialises");
}

fn money(o: &Order) {
    let t = &o.totals;
    for (what, v) in [
        ("subtotal", t.subtotal),
        ("shipping", t.shipping),
        ("tax", t.tax),
        ("total", t.total),
    ] {
        assert!(v >= Decimal::ZERO, "{what} {v} of {}", o.reference);
    }
    assert_eq!(
        t.total,
        t.subtotal + t.shipping + t.tax,
        "total of {}",
        o.reference
    );
    for l in &o.lines {
        assert!(l.quantity <= l.requested, "{} supplied over asked", l.sku);
        assert_eq!(
            l.line_total,
            l.unit_price * Decimal::from(l.quantity),
            "{}",
            l.sku
        );
    }
    for p in &o.payments {
        assert!(
            p.amount > Decimal::ZERO,
            "a payment of {} recorded",
            p.amount
        );
    }
}

/// The composed message carries exactly our headers, to exactly the intended recipients: no
/// name, subject or Message-ID from the inbound mail can add a header or a recipient.
fn composed(bytes: &[u8], email: &mailcart::core::decision::Email) {
    const OURS: &[&str] = &[
        "from",
        "to",
        "subject",
        "message-id",
        "date",
        "in-reply-to",
        "references",
        "content-type",
        "content-transfer-encoding",
        "mime-version",
        "auto-submitted",
        "x-auto-response-suppress",
    ];
    let loop_header = mailcart::mail::compose::LOOP_HEADER.to_ascii_lowercase();
    let parsed = mail_parser::MessageParser::default()
        .parse(bytes)
        .expect("our own mail parses");
    let mut names = Vec::new();
    for (name, _) in parsed.headers_raw() {
        let name = name.to_ascii_lowercase();
        assert!(
            OURS.contains(&name.as_str()) || name == loop_header,
            "composed mail has a header {name:?}"
        );
        names.push(name);
    }
    for one in ["from", "to", "subject", "message-id"] {
        let n = names.iter().filter(|n| *n == one).count();
        assert_eq!(n, 1, "composed mail has {n} {one} headers");
    }
    let to: Vec<String> = parsed
        .to()
        .map(|a| {
            a.iter()
                .filter_map(|m| m.address())
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default();
    let want: Vec<String> = email
        .to
        .iter()
        .map(|m| m.email.to_ascii_lowercase())
        .collect();
    assert_eq!(to, want, "composed mail goes elsewhere");
}
