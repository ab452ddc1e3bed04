//! The decision for one inbound message: what happens to the order, the stock, and who is told.
//! Pure: the store gathers the inputs (the order the message threads to, stock, recent replies,
//! a fresh reference, the time) and applies the output in one transaction.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::catalog::Catalog;
use super::classify::Kind;
use super::extract::Parsed;
use super::inbound::{Inbound, Mailbox};
use super::items::{ItemLine, Problem, Unmatched};
use super::order::{Order, OrderLine, OrderState};
use super::payment::{PaymentNotice, ProposedPayment};
use super::pricing::{Totals, price_order};
use super::reply_cap::{self, Pause, PauseChange, RecentReplies};
use crate::config::Config;

pub struct Input<'a> {
    pub now: OffsetDateTime,
    pub msg: &'a Inbound,
    pub parsed: &'a Parsed,
    pub config: &'a Config,
    pub catalog: &'a Catalog,
    /// The order this message belongs to: by thread, else by a reference it names.
    pub order: Option<Order>,
    /// Stock available to promise (on hand minus other orders' reservations), by SKU.
    pub available: &'a HashMap<String, i64>,
    /// Automatic replies already sent, for the loop caps (`core::reply_cap`).
    pub recent: RecentReplies,
    /// Pauses that may hold this message: the correspondent's and the one of all customers.
    pub pauses: Vec<Pause>,
    /// A reference not yet used, should this message start an order.
    pub new_reference: String,
    /// The Message-IDs of `order`'s conversation, oldest first (to thread mail that answers
    /// no message of the customer's, such as a payment confirmation).
    pub thread: Vec<String>,
    /// The transaction id of this payment notice is already recorded.
    pub transaction_seen: bool,
    /// Orders the reference this message names may be read as, when it is more than one
    /// (then `order` is none of them).
    pub clashing: Vec<String>,
    /// Orders awaiting payment or approval, for a payment notice that names no order of ours:
    /// one may fit it by amount and payer. Empty otherwise.
    pub open_orders: Vec<Order>,
    /// The command token this message's thread carries back, if any.
    pub token: Option<CommandToken>,
    /// Orders this customer placed before (any state), for the first-order rule.
    pub earlier_orders: u32,
    /// Card numbers removed from this message before it was stored (see `core::redact`).
    pub cards_removed: usize,
    /// The payment notice the sellers were last asked to confirm for `order`, if any.
    pub proposed_payment: Option<ProposedPayment>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MoveKind {
    Receipt,
    Adjustment,
    Reserve,
    Release,
    Sale,
    Return,
}

impl MoveKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MoveKind::Receipt => "receipt",
            MoveKind::Adjustment => "adjustment",
            MoveKind::Reserve => "reserve",
            MoveKind::Release => "release",
            MoveKind::Sale => "sale",
            MoveKind::Return => "return",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StockMove {
    pub sku: String,
    pub kind: MoveKind,
    /// Always positive; the kind says which way it goes.
    pub quantity: i64,
    pub reason: String,
}

/// A line we could not supply in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shortage {
    pub name: String,
    pub requested: u32,
    pub available: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "template", rename_all = "snake_case")]
pub enum Template {
    /// What we still need before we can quote.
    AskDetails {
        order: Order,
        problems: Vec<Unmatched>,
        shortages: Vec<Shortage>,
        need_address: bool,
        need_items: bool,
        /// What is settled so far: (catalog name, quantity).
        have: Vec<(String, u32)>,
        /// The destination is one we do not ship to.
        unserved_country: Option<String>,
        /// Items in stock, offered when nothing asked for is.
        in_stock: Vec<String>,
    },
    Quote {
        order: Order,
        shortages: Vec<Shortage>,
    },
    UnderReview {
        order: Order,
        shortages: Vec<Shortage>,
    },
    ApprovalRequest {
        order: Order,
        rules: Vec<String>,
    },
    Status {
        order: Order,
    },
    StatusUnknown,
    /// To the sender: their message held a card number, which we removed; never send one.
    CardWarning,
    Cancelled {
        order: Order,
    },
    /// To the customer: the money arrived; the order is confirmed.
    PaymentConfirmed {
        order: Order,
    },
    /// To the sellers: what to pack and where it goes.
    PackingSlip {
        order: Order,
    },
    /// To the customer: part of the money arrived.
    PaymentPartial {
        order: Order,
        #[serde(with = "rust_decimal::serde::str")]
        received: rust_decimal::Decimal,
    },
    /// To the customer: "I've paid" noted; the order waits for the payment itself.
    PaymentClaimed {
        order: Order,
    },
    /// To the customer: the shop declined the order.
    Rejected {
        order: Order,
        reason: String,
    },
    /// To the customer: on its way, with the tracking link.
    Shipped {
        order: Order,
    },
    /// To the customer: the shop cancelled the order (and refunds it when it was paid).
    CancelledByShop {
        order: Order,
        reason: String,
    },
    /// To the customer: how to return a shipped order.
    Returns {
        order: Order,
    },
    /// To the customer: the new shipping address is noted.
    AddressChanged {
        order: Order,
    },
    /// To the customer: shipped already; the address cannot change.
    TooLateToChange {
        order: Order,
    },
    /// To the customer: the deadline is near.
    PaymentReminder {
        order: Order,
    },
    /// To the customer: unpaid past the deadline; the items are released.
    Expired {
        order: Order,
    },
    /// To the sellers: something about the shop's mail they should know.
    Alert {
        text: String,
    },
    /// To the sellers: an email we sent was refused for good.
    DeliveryFailed {
        order_ref: Option<String>,
        recipients: String,
        subject: String,
        error: String,
    },
}

impl Template {
    pub fn name(&self) -> &'static str {
        match self {
            Template::AskDetails { .. } => "ask_details",
            Template::Quote { .. } => "quote",
            Template::UnderReview { .. } => "under_review",
            Template::ApprovalRequest { .. } => "approval_request",
            Template::Status { .. } => "status",
            Template::StatusUnknown => "status_unknown",
            Template::CardWarning => "card_warning",
            Template::Cancelled { .. } => "cancelled",
            Template::DeliveryFailed { .. } => "delivery_failed",
            Template::PaymentConfirmed { .. } => "payment_confirmed",
            Template::PackingSlip { .. } => "packing_slip",
            Template::PaymentPartial { .. } => "payment_partial",
            Template::PaymentClaimed { .. } => "payment_claimed",
            Template::PaymentReminder { .. } => "payment_reminder",
            Template::Expired { .. } => "expired",
            Template::Rejected { .. } => "rejected",
            Template::Shipped { .. } => "shipped",
            Template::CancelledByShop { .. } => "cancelled_by_shop",
            Template::Returns { .. } => "returns",
            Template::AddressChanged { .. } => "address_changed",
            Template::TooLateToChange { .. } => "too_late_to_change",
            Template::Alert { .. } => "alert",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Email {
    pub to: Vec<Mailbox>,
    /// Threads under the inbound message (customer replies) or starts its own thread (seller mail).
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub subject: String,
    pub template: Template,
    /// Customer replies count against the per-correspondent cap; seller mail does not.
    pub to_customer: bool,
    /// This email asks its (seller) recipient for a command by reply: its Message-ID carries
    /// a fresh single-use token.
    pub command: Option<CommandRequest>,
    /// Sent at most once ever per key (a notice that must not repeat itself).
    pub once: Option<String>,
}

/// What a reply to a request may do, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// An approval request: `approve` or `reject <reason>`.
    Approval,
    /// A packing slip: `shipped <carrier> <tracking>`.
    Fulfilment,
    /// A payment that names no order but fits one: `paid` confirms it.
    Payment,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Approval => "approval",
            Purpose::Fulfilment => "fulfilment",
            Purpose::Payment => "payment",
        }
    }

    pub fn parse(s: &str) -> Option<Purpose> {
        [Purpose::Approval, Purpose::Fulfilment, Purpose::Payment]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CommandRequest {
    pub purpose: Purpose,
    pub expires_at: OffsetDateTime,
}

/// The token a seller's reply carries back (found by its thread), as we issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandToken {
    /// The Message-ID of our request, which carries the token.
    pub message_id: String,
    pub order_ref: String,
    pub purpose: Purpose,
    /// The seller it was sent to.
    pub seller: String,
    pub expires_at: OffsetDateTime,
    pub used: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub kind: &'static str,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Decision {
    /// The order to save (new or changed); `None` leaves orders as they are.
    pub order: Option<Order>,
    /// Whether `order` is new (to insert) rather than changed.
    pub order_is_new: bool,
    pub stock_moves: Vec<StockMove>,
    pub emails: Vec<Email>,
    pub events: Vec<Event>,
    /// Set when a person must look at the message; nothing is answered for it.
    pub attention: Option<String>,
    /// A payment notice, recorded whatever became of it.
    pub payment: Option<PaymentEntry>,
    /// The order this decision concerns when it does not change it (`order` is `None`): its
    /// events and emails are filed under it.
    pub about: Option<String>,
    /// Command tokens of this order and purpose to retire (a command was carried out).
    pub retire_tokens: Option<(String, Purpose)>,
    /// A loop cap opened a pause, or an open one held this message.
    pub pause: Option<PauseChange>,
    /// This message echoed an earlier one and was answered: the loop caps count it.
    pub echo: Option<super::echo::Echo>,
}

/// A payment notice as the books keep it: what it said, and what we made of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PaymentEntry {
    pub notice: PaymentNotice,
    /// The address the notice came from.
    pub provider: String,
    /// `matched`, `partial`, or why it was put to a seller (`overpaid`, `duplicate`, ...).
    pub outcome: &'static str,
    pub order_ref: Option<String>,
}

impl Decision {
    pub(super) fn event(&mut self, kind: &'static str, detail: serde_json::Value) {
        self.events.push(Event { kind, detail });
    }
    pub(super) fn hold(mut self, reason: impl Into<String>) -> Decision {
        let reason = reason.into();
        self.event("held_for_person", json!({ "reason": reason }));
        self.attention = Some(reason);
        self
    }
}

pub fn decide(input: Input) -> Decision {
    let mut decision = decide_kind(&input);
    warn_about_cards(&input, &mut decision);
    reply_cap::apply(&input, &mut decision);
    decision
}

fn decide_kind(input: &Input) -> Decision {
    let d = Decision::default();
    if let Some(reason) = &input.msg.set_aside {
        return d.hold(format!("not read: {reason}"));
    }
    if !input.clashing.is_empty() {
        return d.hold(format!(
            "the reference it names may be read as any of {}: matched to none",
            input.clashing.join(", ")
        ));
    }
    let kind = input.parsed.kind;
    match kind {
        Kind::AutoReply | Kind::Bulk => {
            let mut d = d;
            let why = super::not_for_us::bulk(input.msg)
                .unwrap_or_else(|| "automatic or bulk mail is never answered".into());
            d.event("ignored", json!({ "kind": kind.as_str(), "reason": why }));
            d
        }
        Kind::Spam => {
            let mut d = d;
            let why =
                super::not_for_us::spam(input.msg, input.config.security.spam_score_threshold)
                    .unwrap_or_else(|| "spam".into());
            d.event("ignored", json!({ "kind": kind.as_str(), "reason": why }));
            d
        }
        Kind::SpamComplaint => spam_complaint(input, d),
        Kind::Bounce => d.hold("delivery failure report: an email we sent may not have arrived"),
        Kind::Unknown => match &input.msg.sender_problem {
            Some(problem) => d.hold(problem.clone()),
            None => d.hold("could not tell what this message asks"),
        },
        Kind::PaymentNotice => super::settle::payment(input, d),
        Kind::SellerCommand => super::seller::command(input, d),
        Kind::StatusInquiry => status(input, d),
        Kind::Cancellation => cancel(input, d),
        Kind::Order | Kind::CustomerReply => order_message(input, d),
    }
}

/// Someone marked the shop's mail as spam: the sellers hear of it, since providers count such
/// complaints against the shop's address. Nothing goes back to the reporter.
fn spam_complaint(input: &Input, mut d: Decision) -> Decision {
    let msg = input.msg;
    let reporter = msg.sender();
    let reporter = if reporter.is_empty() {
        "a mail provider"
    } else {
        reporter.as_str()
    };
    d.event(
        "spam_complaint",
        json!({ "from": reporter, "message_id": msg.message_id }),
    );
    d.emails.extend(seller_alert(
        input.config,
        "A spam complaint about the shop's mail",
        &format!(
            "{reporter} sent a spam complaint (an abuse feedback report, subject \"{}\", \
             Message-ID {}): someone who received an email from the shop marked it as spam. Mail \
             providers count such complaints against the shop's address, and after a few the \
             shop's mail lands in spam folders or is refused. The report is kept with the \
             other messages; it says which email was reported.",
            msg.subject, msg.message_id
        ),
    ));
    d
}

fn status(input: &Input, mut d: Decision) -> Decision {
    let Some(order) = input.order.clone() else {
        d.event("status_inquiry", json!({ "found": false }));
        d.emails.push(reply(
            input,
            "We could not find your order".into(),
            Template::StatusUnknown,
        ));
        return d;
    };
    if !belongs_to_sender(&order, input) {
        return d.hold(format!(
            "status inquiry about {} from someone other than its customer",
            order.reference
        ));
    }
    d.event(
        "status_inquiry",
        json!({ "order": order.reference, "state": order.state.as_str() }),
    );
    d.about = Some(order.reference.clone());
    let subject = format!(
        "Your order {}: {}",
        order.reference,
        human_state(order.state)
    );
    d.emails
        .push(reply(input, subject, Template::Status { order }));
    d
}

pub(super) fn cancel(input: &Input, mut d: Decision) -> Decision {
    let Some(mut order) = input.order.clone() else {
        return d.hold("cancellation that names no order we know");
    };
    if !belongs_to_sender(&order, input) {
        return d.hold(format!(
            "cancellation of {} from someone other than its customer",
            order.reference
        ));
    }
    match order.state {
        OrderState::Paid => return super::aftersale::cancel_paid(input, d, order),
        OrderState::Shipped => return super::aftersale::returns(input, d, order),
        _ => {}
    }
    if !order.state.customer_may_cancel() {
        return d.hold(format!(
            "cancellation of {} which is already {}",
            order.reference,
            order.state.as_str()
        ));
    }
    release_all(&order, "cancelled by the customer", &mut d);
    if let Err(e) = order.transition(OrderState::Cancelled) {
        return d.hold(e.to_string());
    }
    order.reserved_until = None;
    d.event(
        "state_changed",
        json!({ "to": "cancelled", "by": "customer" }),
    );
    let subject = format!("Order {} cancelled", order.reference);
    d.emails.push(reply(
        input,
        subject,
        Template::Cancelled {
            order: order.clone(),
        },
    ));
    d.order = Some(order);
    d
}

fn order_message(input: &Input, mut d: Decision) -> Decision {
    let parsed = input.parsed;
    let existing = input
        .order
        .clone()
        .filter(|o| o.state.is_open() || parsed.kind == Kind::CustomerReply);
    let mut order = match existing {
        Some(order) if order.state == OrderState::AwaitingDetails => {
            if !belongs_to_sender(&order, input) {
                return d.hold(format!(
                    "reply in the thread of {} from someone other than its customer",
                    order.reference
                ));
            }
            d.event("details_received", json!({ "order": order.reference }));
            merge_into(order, parsed)
        }
        Some(order) if parsed.kind == Kind::CustomerReply && is_courtesy(&input.msg.text) => {
            // "Thanks!" needs neither an answer nor a person.
            d.event("acknowledged", json!({ "order": order.reference }));
            return d;
        }
        Some(order)
            if parsed.kind == Kind::CustomerReply
                && parsed.shipping_address.is_some()
                && parsed.requested.is_empty()
                && belongs_to_sender(&order, input) =>
        {
            return super::aftersale::address_change(input, d, order);
        }
        Some(order) => {
            return d.hold(format!(
                "{} about order {} which is {}: a person should answer",
                parsed.kind.as_str().replace('_', " "),
                order.reference,
                order.state.as_str()
            ));
        }
        None if parsed.kind == Kind::CustomerReply => {
            return d.hold("a reply that matches no order we know");
        }
        None => {
            d.order_is_new = true;
            let order = new_order(input);
            d.event(
                "order_created",
                json!({ "order": order.reference, "customer": order.customer.email }),
            );
            order
        }
    };
    evaluate(input, &mut order, &mut d);
    d.order = Some(order);
    d
}

fn new_order(input: &Input) -> Order {
    let parsed = input.parsed;
    let mut order = Order {
        reference: input.new_reference.clone(),
        state: OrderState::AwaitingDetails,
        customer: customer(input),
        currency: input.config.shop.currency.clone(),
        wanted: Vec::new(),
        open_problems: Vec::new(),
        lines: Vec::new(),
        totals: Totals::zero(&input.config.shop.currency),
        shipping_address: None,
        country_code: None,
        created_at: input.now,
        reserved_until: None,
        payment_due: None,
        flags: Vec::new(),
        payments: Vec::new(),
        paid_at: None,
        reminder_sent: false,
        delivery: None,
        shipment: None,
        refund_due: false,
        refunded: false,
        customer_message: first_chars(input.msg.text.trim(), 2000),
        notes: Vec::new(),
    };
    order = merge_into(order, parsed);
    order
}

fn first_chars(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// A later message refines the order: a SKU named again takes the new quantity, new SKUs are
/// added, its unresolved lines replace the old ones, and a new address replaces the old one.
fn merge_into(mut order: Order, parsed: &Parsed) -> Order {
    for item in merge_same_sku(&parsed.requested.items) {
        match order.wanted.iter_mut().find(|w| w.sku == item.sku) {
            Some(w) => *w = item,
            None => order.wanted.push(item),
        }
    }
    if !parsed.requested.items.is_empty() || !parsed.requested.unmatched.is_empty() {
        order.open_problems = parsed.requested.unmatched.clone();
    }
    if let Some(address) = &parsed.shipping_address {
        order.shipping_address = Some(address.clone());
        order.country_code = address.country_code.clone();
    }
    if order.customer.name.is_none() {
        order.customer.name = parsed.customer.as_ref().and_then(|c| c.name.clone());
    }
    order
}

/// Decide whether the order can be quoted now, and do it; otherwise ask for what is missing.
fn evaluate(input: &Input, order: &mut Order, d: &mut Decision) {
    let config = input.config;
    let country = order
        .country_code
        .clone()
        .unwrap_or_else(|| config.shop.home_country.clone());
    let unserved = order.shipping_address.is_some()
        && !config.shipping.only_countries.is_empty()
        && !config.shipping.only_countries.contains(&country);

    let mut lines = Vec::new();
    let mut shortages = Vec::new();
    for want in &order.wanted {
        let Some(item) = input.catalog.get(&want.sku) else {
            continue;
        };
        let available = input.available.get(&want.sku).copied().unwrap_or(0).max(0);
        let supply = i64::from(want.quantity).min(available) as u32;
        if supply < want.quantity {
            shortages.push(Shortage {
                name: item.name.clone(),
                requested: want.quantity,
                available: supply,
            });
        }
        if supply > 0 {
            lines.push(OrderLine {
                sku: item.sku.clone(),
                name: item.name.clone(),
                quantity: supply,
                requested: want.quantity,
                unit_price: item.unit_price,
                line_total: crate::core::money::round(
                    item.unit_price * rust_decimal::Decimal::from(supply),
                    &order.currency,
                ),
            });
        }
    }

    let need_address = order.shipping_address.is_none();
    let need_items = order.wanted.is_empty() && order.open_problems.is_empty();
    let nothing_supplied = lines.is_empty() && !order.wanted.is_empty();
    if need_address || need_items || !order.open_problems.is_empty() || unserved || nothing_supplied
    {
        let in_stock = if nothing_supplied {
            input
                .catalog
                .items
                .iter()
                .filter(|i| input.available.get(&i.sku).copied().unwrap_or(0) > 0)
                .take(5)
                .map(|i| i.name.clone())
                .collect()
        } else {
            Vec::new()
        };
        let mut missing: Vec<&str> = Vec::new();
        if need_items {
            missing.push("items");
        }
        if order
            .open_problems
            .iter()
            .any(|p| p.problem == Problem::Quantity)
        {
            missing.push("quantity");
        }
        if order
            .open_problems
            .iter()
            .any(|p| p.problem != Problem::Quantity)
        {
            missing.push("products");
        }
        if need_address {
            missing.push("shipping_address");
        }
        if unserved {
            missing.push("served_destination");
        }
        if nothing_supplied {
            missing.push("stock");
        }
        d.event(
            "details_requested",
            json!({ "order": order.reference, "missing": missing }),
        );
        let subject = format!("Your order {}: a few details needed", order.reference);
        let template = Template::AskDetails {
            order: order.clone(),
            problems: order.open_problems.clone(),
            shortages,
            need_address,
            need_items,
            have: order
                .wanted
                .iter()
                .filter_map(|w| {
                    input
                        .catalog
                        .get(&w.sku)
                        .map(|i| (i.name.clone(), w.quantity))
                })
                .collect(),
            unserved_country: unserved.then_some(country),
            in_stock,
        };
        d.emails.push(reply(input, subject, template));
        let _ = order.transition(OrderState::AwaitingDetails);
        return;
    }

    let priced: Vec<(u32, rust_decimal::Decimal)> =
        lines.iter().map(|l| (l.quantity, l.unit_price)).collect();
    order.totals = price_order(&priced, &country, config);
    order.lines = lines;
    order.reserved_until =
        Some(input.now + Duration::hours(i64::from(config.stock.reservation_hours)));
    order.payment_due = Some(input.now + Duration::days(i64::from(config.payments.due_days)));
    move_lines(
        order,
        MoveKind::Reserve,
        format!("quote {}", order.reference),
        d,
    );
    if !shortages.is_empty() {
        d.event(
            "stock_short",
            json!({ "order": order.reference, "shortages": shortages }),
        );
    }

    let rules = flag_rules(order, config, input.earlier_orders);
    if rules.is_empty() {
        if order.transition(OrderState::AwaitingPayment).is_err() {
            return;
        }
        d.event(
            "quote_sent",
            json!({ "order": order.reference, "total": order.totals.total.to_string() }),
        );
        let subject = format!("Your order {}: quote and payment details", order.reference);
        d.emails.push(reply(
            input,
            subject,
            Template::Quote {
                order: order.clone(),
                shortages,
            },
        ));
    } else {
        if order.transition(OrderState::AwaitingApproval).is_err() {
            return;
        }
        order.flags = rules.clone();
        d.event(
            "flag_raised",
            json!({ "order": order.reference, "rules": rules }),
        );
        let subject = format!("Your order {} is being reviewed", order.reference);
        d.emails.push(reply(
            input,
            subject,
            Template::UnderReview {
                order: order.clone(),
                shortages,
            },
        ));
        let subject = format!(
            "Approve order {}? {} from {}",
            order.reference,
            crate::core::money::format(order.totals.total, &order.currency),
            order.customer.email
        );
        let request = Template::ApprovalRequest {
            order: order.clone(),
            rules,
        };
        let until = order.reserved_until.unwrap_or(input.now);
        d.emails
            .extend(requests(config, subject, request, Purpose::Approval, until));
    }
}

/// One email per seller (so that one bad seller address cannot keep the others from hearing);
/// none when the shop has no sellers.
pub(super) fn to_sellers(config: &Config, subject: String, template: Template) -> Vec<Email> {
    config
        .shop
        .sellers
        .iter()
        .map(|s| Email {
            to: vec![Mailbox {
                name: None,
                email: s.clone(),
            }],
            in_reply_to: None,
            references: Vec::new(),
            subject: subject.clone(),
            template: template.clone(),
            to_customer: false,
            command: None,
            once: None,
        })
        .collect()
}

/// To each seller, asking for a command by reply: each email carries its own token.
pub(super) fn requests(
    config: &Config,
    subject: String,
    template: Template,
    purpose: Purpose,
    expires_at: OffsetDateTime,
) -> Vec<Email> {
    let mut emails = to_sellers(config, subject, template);
    for e in &mut emails {
        e.command = Some(CommandRequest {
            purpose,
            expires_at,
        });
    }
    emails
}

/// A notice to the sellers.
pub fn seller_alert(config: &Config, subject: &str, text: &str) -> Vec<Email> {
    to_sellers(
        config,
        subject.to_string(),
        Template::Alert {
            text: text.to_string(),
        },
    )
}

/// The sellers' notice that an email could not be delivered; none when the failed email was
/// itself to a seller (telling them again would fail too).
pub fn delivery_failed(
    config: &Config,
    order_ref: Option<&str>,
    recipients: &str,
    subject: &str,
    error: &str,
) -> Vec<Email> {
    if recipients.split(',').any(|r| config.is_seller(r.trim())) {
        return Vec::new();
    }
    let title = match order_ref {
        Some(r) => format!("Undeliverable: email to {recipients} about {r}"),
        None => format!("Undeliverable: email to {recipients}"),
    };
    let template = Template::DeliveryFailed {
        order_ref: order_ref.map(str::to_string),
        recipients: recipients.to_string(),
        subject: subject.to_string(),
        error: error.to_string(),
    };
    to_sellers(config, title, template)
}

/// Which of the shop's flag rules this order meets; each is named for the seller.
fn flag_rules(order: &Order, config: &Config, earlier_orders: u32) -> Vec<String> {
    let a = &config.approval;
    let money = |d| crate::core::money::format(d, &order.currency);
    let mut rules = Vec::new();
    if let Some(limit) = a.total_over
        && order.totals.total > limit
    {
        rules.push(format!(
            "total_over: total {} is above {}",
            money(order.totals.total),
            money(limit)
        ));
    }
    if let Some(limit) = a.quantity_over
        && let Some(line) = order.lines.iter().find(|l| l.quantity > limit)
    {
        rules.push(format!(
            "quantity_over: {} x {} is more than {limit} of one item",
            line.quantity, line.name
        ));
    }
    if let Some(limit) = a.first_order_over
        && earlier_orders == 0
        && order.totals.total > limit
    {
        rules.push(format!(
            "first_order_over: a first order from {} of {}, above {}",
            order.customer.email,
            money(order.totals.total),
            money(limit)
        ));
    }
    if let Some(country) = &order.country_code
        && a.countries.iter().any(|c| c.eq_ignore_ascii_case(country))
    {
        rules.push(format!(
            "countries: ships to {country}, a destination on the review list"
        ));
    }
    rules
}

pub(super) fn release_all(order: &Order, reason: &str, d: &mut Decision) {
    if order.reserved_until.is_none() {
        return;
    }
    move_lines(
        order,
        MoveKind::Release,
        format!("{reason} ({})", order.reference),
        d,
    );
}

/// One stock move of `kind` for each of the order's lines.
pub(super) fn move_lines(order: &Order, kind: MoveKind, reason: String, d: &mut Decision) {
    for line in &order.lines {
        d.stock_moves.push(StockMove {
            sku: line.sku.clone(),
            kind,
            quantity: i64::from(line.quantity),
            reason: reason.clone(),
        });
    }
}

/// Only an order's own customer may ask about it, change it or cancel it by email.
pub(super) fn belongs_to_sender(order: &Order, input: &Input) -> bool {
    order
        .customer
        .email
        .eq_ignore_ascii_case(&customer(input).email)
}

/// A short thank-you or OK with nothing else in it.
fn is_courtesy(text: &str) -> bool {
    const WORDS: &[&str] = &[
        "thanks",
        "thank",
        "you",
        "so",
        "much",
        "many",
        "a",
        "lot",
        "great",
        "perfect",
        "ok",
        "okay",
        "got",
        "it",
        "cheers",
        "will",
        "do",
        "sounds",
        "good",
        "wonderful",
        "lovely",
        "awesome",
        "merci",
        "danke",
        "gracias",
        "received",
        "noted",
        "cool",
        "brilliant",
        "excellent",
        "the",
        "quote",
    ];
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let meaningful: Vec<&String> = words
        .iter()
        .filter(|w| !WORDS.contains(&w.as_str()))
        .collect();
    // A name signing off ("Thanks! Sofia") is allowed; anything more is a message for a person.
    !words.is_empty() && words.len() <= 12 && meaningful.len() <= 2 && !text.contains('?')
}

pub(super) fn customer(input: &Input) -> Mailbox {
    input.parsed.customer.clone().unwrap_or_else(|| Mailbox {
        name: None,
        email: String::new(),
    })
}

/// Mail to the order's customer in the order's conversation, though it answers no message of
/// theirs (a payment arrived, a deadline nears).
pub(super) fn in_thread(
    order: &Order,
    thread: &[String],
    subject: String,
    template: Template,
) -> Email {
    let mut references: Vec<String> = thread.to_vec();
    if references.len() > 10 {
        let tail = references.split_off(references.len() - 9);
        references.truncate(1);
        references.extend(tail);
    }
    Email {
        to: vec![order.customer.clone()],
        in_reply_to: thread.last().cloned(),
        references,
        subject,
        template,
        to_customer: true,
        command: None,
        once: None,
    }
}

/// A reply to the sender, threaded under their message.
pub(super) fn reply(input: &Input, subject: String, template: Template) -> Email {
    let msg = input.msg;
    let mut references: Vec<String> = msg.references.clone();
    references.push(msg.message_id.clone());
    // Long threads: keep the first and the newest, as RFC 5322 suggests.
    if references.len() > 10 {
        let tail = references.split_off(references.len() - 9);
        references.truncate(1);
        references.extend(tail);
    }
    Email {
        to: vec![customer(input)],
        in_reply_to: Some(msg.message_id.clone()),
        references,
        subject: format!("Re: {}", strip_reply_prefix(&msg.subject, &subject)),
        template,
        to_customer: true,
        command: None,
        once: None,
    }
}

/// Keep the customer's subject (so their client threads it) but make sure it carries the
/// reference; a message without a subject gets ours.
fn strip_reply_prefix(theirs: &str, ours: &str) -> String {
    let mut s = theirs.trim();
    loop {
        let lower = s.to_ascii_lowercase();
        match ["re:", "aw:", "sv:", "fwd:", "fw:"]
            .iter()
            .find(|p| lower.starts_with(*p))
        {
            Some(p) => s = s[p.len()..].trim_start(),
            None => break,
        }
    }
    if s.is_empty() {
        return ours.to_string();
    }
    let reference = ours
        .split_whitespace()
        .find(|w| super::reference::any_prefix(w).is_some());
    match reference {
        Some(r) if !s.contains(r.trim_end_matches(':')) => {
            format!("{s} [{}]", r.trim_end_matches(':'))
        }
        _ => s.to_string(),
    }
}

/// Someone who mails a card number once will do it again unless told; the warning goes to the
/// sender of any message a person wrote, whatever else it asked, and never quotes the number.
fn warn_about_cards(input: &Input, d: &mut Decision) {
    let written_by_a_person = !matches!(
        input.parsed.kind,
        Kind::AutoReply
            | Kind::Bulk
            | Kind::Bounce
            | Kind::SellerCommand
            | Kind::Spam
            | Kind::SpamComplaint
    );
    if input.cards_removed == 0 || input.msg.set_aside.is_some() || !written_by_a_person {
        return;
    }
    let mut email = reply(
        input,
        "Please never send card numbers by email".into(),
        Template::CardWarning,
    );
    if email.to.iter().all(|m| m.email.is_empty()) {
        return;
    }
    email.subject = "Please never send card numbers by email".into();
    email.once = Some(format!("card-warning.{}", input.msg.message_id));
    d.emails.push(email);
}

pub fn human_state(state: OrderState) -> &'static str {
    match state {
        OrderState::AwaitingDetails => "waiting for details from you",
        OrderState::AwaitingApproval => "being reviewed by the shop",
        OrderState::AwaitingPayment => "waiting for payment",
        OrderState::Paid => "paid, being prepared",
        OrderState::Shipped => "shipped",
        OrderState::Cancelled => "cancelled",
        OrderState::Rejected => "declined",
        OrderState::Expired => "expired",
    }
}

/// Same SKU asked for on two lines of one message: one order line with the sum.
pub fn merge_same_sku(items: &[ItemLine]) -> Vec<ItemLine> {
    let mut out: Vec<ItemLine> = Vec::new();
    for item in items {
        match out.iter_mut().find(|o| o.sku == item.sku) {
            Some(o) => o.quantity = o.quantity.saturating_add(item.quantity),
            None => out.push(item.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::address::ShippingAddress;
    use crate::core::catalog::tests::sample;
    use crate::core::extract::{ReadContext, read};
    use std::path::Path;

    fn config() -> Config {
        Config::from_toml(include_str!("../../config.example.toml"), Path::new("x")).unwrap()
    }

    fn msg(text: &str) -> Inbound {
        Inbound {
            message_id: "m1@example.test".into(),
            subject: "Order".into(),
            from: Some(Mailbox {
                name: Some("Pat Okafor".into()),
                email: "pat@example.test".into(),
            }),
            text: text.into(),
            ..Default::default()
        }
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap()
    }

    fn run(m: &Inbound, order: Option<Order>, available: i64, replies: u32) -> Decision {
        let recent = RecentReplies {
            to_them_hour: replies,
            to_them_day: replies,
            to_all_hour: replies,
            ..Default::default()
        };
        run_capped(m, order, available, recent, Vec::new())
    }

    fn run_capped(
        m: &Inbound,
        order: Option<Order>,
        available: i64,
        recent: RecentReplies,
        pauses: Vec<Pause>,
    ) -> Decision {
        let catalog = sample();
        let config = config();
        let parsed = read(
            m,
            ReadContext {
                catalog: &catalog,
                shop_address: &config.shop.address,
                max_quantity: 999,
                reference_prefix: "MC",
                spam_threshold: crate::core::not_for_us::DEFAULT_SPAM_THRESHOLD,
            },
        );
        let available: HashMap<String, i64> = catalog
            .items
            .iter()
            .map(|i| (i.sku.clone(), available))
            .collect();
        decide(Input {
            now: now(),
            msg: m,
            parsed: &parsed,
            config: &config,
            catalog: &catalog,
            order,
            available: &available,
            recent,
            pauses,
            new_reference: "MC-TEST0001".into(),
            thread: Vec::new(),
            transaction_seen: false,
            clashing: Vec::new(),
            open_orders: Vec::new(),
            token: None,
            earlier_orders: 1,
            cards_removed: 0,
            proposed_payment: None,
        })
    }

    const ADDRESS: &str = "Ship to:\nPat Okafor\n41 Linden Avenue\nPortland, OR 97205\nUSA";

    #[test]
    fn complete_order_is_quoted_and_reserved() {
        let d = run(&msg(&format!("2 x Blue Mug\n\n{ADDRESS}")), None, 10, 0);
        let order = d.order.unwrap();
        assert!(d.order_is_new);
        assert_eq!(order.state, OrderState::AwaitingPayment);
        assert_eq!(order.totals.total.to_string(), "46.88");
        assert_eq!(
            d.stock_moves,
            vec![StockMove {
                sku: "MUG-BLU".into(),
                kind: MoveKind::Reserve,
                quantity: 2,
                reason: "quote MC-TEST0001".into()
            }]
        );
        assert_eq!(d.emails.len(), 1);
        assert_eq!(d.emails[0].template.name(), "quote");
        assert!(d.emails[0].subject.contains("MC-TEST0001"));
        assert_eq!(d.emails[0].in_reply_to.as_deref(), Some("m1@example.test"));
        assert_eq!(order.reserved_until, Some(now() + Duration::hours(72)));
    }

    #[test]
    fn missing_address_asks_and_reserves_nothing() {
        let d = run(&msg("2 x Blue Mug"), None, 10, 0);
        assert_eq!(d.order.unwrap().state, OrderState::AwaitingDetails);
        assert!(d.stock_moves.is_empty());
        match &d.emails[0].template {
            Template::AskDetails {
                need_address,
                need_items,
                ..
            } => assert!(*need_address && !*need_items),
            t => panic!("{t:?}"),
        }
    }

    #[test]
    fn short_stock_quotes_what_there_is_and_nothing_becomes_a_question() {
        let d = run(&msg(&format!("5 x Blue Mug\n\n{ADDRESS}")), None, 3, 0);
        let order = d.order.unwrap();
        assert_eq!(order.lines[0].quantity, 3);
        assert_eq!(order.lines[0].requested, 5);
        assert_eq!(d.stock_moves[0].quantity, 3);
        let d = run(&msg(&format!("5 x Blue Mug\n\n{ADDRESS}")), None, 0, 0);
        assert_eq!(d.order.unwrap().state, OrderState::AwaitingDetails);
        assert!(d.stock_moves.is_empty());
    }

    #[test]
    fn each_flag_rule_is_named() {
        let d = run(
            &msg(&format!("8 x Cast Iron Teapot\n\n{ADDRESS}")),
            None,
            30,
            0,
        );
        let order = d.order.unwrap();
        assert_eq!(order.flags.len(), 1, "{:?}", order.flags);
        assert!(
            order.flags[0].starts_with("total_over: total 552.96 USD is above 500.00 USD"),
            "{:?}",
            order.flags
        );
        let mut config = config();
        config.approval.total_over = None;
        config.approval.quantity_over = Some(5);
        config.approval.first_order_over = Some("100.00".parse().unwrap());
        config.approval.countries = vec!["US".into()];
        let rules = flag_rules(&order, &config, 0);
        let names: Vec<&str> = rules.iter().map(|r| r.split(':').next().unwrap()).collect();
        assert_eq!(names, ["quantity_over", "first_order_over", "countries"]);
        assert!(
            rules[0].contains("8 x Cast Iron Teapot is more than 5"),
            "{rules:?}"
        );
        assert_eq!(
            flag_rules(&order, &config, 3).len(),
            2,
            "a returning customer"
        );
    }

    #[test]
    fn flagged_order_waits_for_a_seller() {
        let d = run(
            &msg(&format!("8 x Cast Iron Teapot\n\n{ADDRESS}")),
            None,
            10,
            0,
        );
        assert_eq!(d.order.unwrap().state, OrderState::AwaitingApproval);
        let names: Vec<&str> = d.emails.iter().map(|e| e.template.name()).collect();
        assert_eq!(
            names,
            vec!["under_review", "approval_request", "approval_request"],
            "one per seller"
        );
        assert!(!d.emails[1].to_customer && d.emails[1].to.len() == 1);
    }

    #[test]
    fn reply_cap_holds_the_reply() {
        let d = run(&msg(&format!("2 x Blue Mug\n\n{ADDRESS}")), None, 10, 30);
        assert!(d.emails.iter().all(|e| !e.to_customer));
        assert!(d.attention.unwrap().contains("reply cap"));
        assert!(d.order.is_some(), "the order is still recorded");
    }

    fn order_mail() -> Inbound {
        msg(&format!("2 x Blue Mug\n\n{ADDRESS}"))
    }

    fn recent(hour: u32, day: u32, all: u32) -> RecentReplies {
        RecentReplies {
            to_them_hour: hour,
            to_them_day: day,
            to_all_hour: all,
            ..Default::default()
        }
    }

    fn alerts(d: &Decision) -> Vec<&Email> {
        d.emails.iter().filter(|e| !e.to_customer).collect()
    }

    #[test]
    fn each_cap_opens_its_pause_with_one_alert_per_seller() {
        // config(): 30 an hour and 100 a day to one address, 1000 an hour to all.
        let cases = [
            (recent(29, 99, 999), None),
            (recent(30, 30, 30), Some("pat@example.test")),
            (recent(1, 100, 100), Some("pat@example.test")),
            (recent(0, 0, 1000), Some(reply_cap::ALL)),
        ];
        for (r, want) in cases {
            let d = run_capped(&order_mail(), None, 10, r, Vec::new());
            match want {
                None => {
                    assert!(d.pause.is_none() && d.attention.is_none(), "{r:?}");
                    assert_eq!(d.emails.len(), 1);
                }
                Some(scope) => {
                    let Some(PauseChange::Open { scope: got, reason }) = &d.pause else {
                        panic!("{r:?}: {:?}", d.pause);
                    };
                    assert_eq!(got, scope, "{reason}");
                    assert!(d.emails.iter().all(|e| !e.to_customer), "{r:?}");
                    let a = alerts(&d);
                    assert_eq!(a.len(), 2, "one per seller");
                    assert!(
                        a.iter()
                            .all(|e| e.once.as_ref().unwrap().starts_with("pause."))
                    );
                    assert!(d.events.iter().any(|e| e.kind == "replies_paused"));
                }
            }
        }
    }

    #[test]
    fn an_open_pause_holds_without_a_new_alert_and_lifts_when_quiet() {
        let pause = |scope: &str, hours_ago: i64| Pause {
            scope: scope.into(),
            opened_at: now() - Duration::hours(48),
            last_held_at: now() - Duration::hours(hours_ago),
            reason: "a loop".into(),
        };
        for scope in ["pat@example.test", reply_cap::ALL] {
            let d = run_capped(
                &order_mail(),
                None,
                10,
                recent(0, 0, 0),
                vec![pause(scope, 1)],
            );
            assert_eq!(
                d.pause,
                Some(PauseChange::Held {
                    scope: scope.into()
                })
            );
            assert!(d.emails.is_empty(), "held, and no second alert");
            assert!(d.attention.unwrap().contains("paused"));
            // 24 quiet hours later it has lifted.
            let d = run_capped(
                &order_mail(),
                None,
                10,
                recent(0, 0, 0),
                vec![pause(scope, 24)],
            );
            assert!(d.pause.is_none() && d.emails.len() == 1);
        }
        // Someone else's pause holds nobody else.
        let d = run_capped(
            &order_mail(),
            None,
            10,
            recent(0, 0, 0),
            vec![pause("lee@example.org", 1)],
        );
        assert!(d.pause.is_none() && d.emails.len() == 1);
    }

    #[test]
    fn machine_mail_and_unknown_mail_get_no_reply() {
        let mut m = msg("2 x Blue Mug");
        m.auto_submitted = Some("auto-replied".into());
        let d = run(&m, None, 10, 0);
        assert!(d.emails.is_empty() && d.order.is_none() && d.attention.is_none());
        let d = run(&msg("Do you ship to Australia?"), None, 10, 0);
        assert!(d.emails.is_empty() && d.order.is_none() && d.attention.is_some());
    }

    #[test]
    fn reply_completes_the_waiting_order() {
        let first = run(&msg("2 x Blue Mug"), None, 10, 0).order.unwrap();
        let mut answer = msg(ADDRESS);
        answer.message_id = "m2@example.test".into();
        answer.in_reply_to = vec!["m1@example.test".into()];
        let d = run(&answer, Some(first), 10, 0);
        let order = d.order.unwrap();
        assert!(!d.order_is_new);
        assert_eq!(order.reference, "MC-TEST0001");
        assert_eq!(order.state, OrderState::AwaitingPayment);
        assert_eq!(
            order
                .shipping_address
                .as_ref()
                .map(|a: &ShippingAddress| a.postal_code.clone()),
            Some(Some("97205".into()))
        );
    }

    #[test]
    fn courtesy_is_not_a_question() {
        assert!(is_courtesy("Thanks!\n\nSofia"));
        assert!(is_courtesy("Perfect, thank you so much."));
        assert!(!is_courtesy("Thanks, can I change the address?"));
        assert!(!is_courtesy(
            "Thanks. Actually I need it delivered to my office at 12 Main Street"
        ));
        assert!(!is_courtesy(""));
    }

    #[test]
    fn cancelling_a_paid_order_returns_the_goods_and_owes_a_refund() {
        let mut order = run(&msg(&format!("2 x Blue Mug\n\n{ADDRESS}")), None, 10, 0)
            .order
            .unwrap();
        order.state = OrderState::Paid;
        order.reserved_until = None;
        let d = run(&msg("Please cancel my order"), Some(order.clone()), 10, 0);
        let cancelled = d.order.unwrap();
        assert_eq!(cancelled.state, OrderState::Cancelled);
        assert!(cancelled.refund_due);
        assert_eq!(d.stock_moves.len(), 1);
        assert_eq!(d.stock_moves[0].kind, MoveKind::Return);
        let names: Vec<&str> = d.emails.iter().map(|e| e.template.name()).collect();
        assert_eq!(names, ["cancelled", "alert", "alert"]);

        order.state = OrderState::Shipped;
        let d = run(&msg("Please cancel my order"), Some(order), 10, 0);
        assert!(d.order.is_none(), "a shipped order stays shipped");
        assert!(d.attention.unwrap().contains("shipped"));
        assert_eq!(d.emails[0].template.name(), "returns");
    }
}
