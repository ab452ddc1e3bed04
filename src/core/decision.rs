//! What a decision is made of: the inputs the store gathers for one message, and the output
//! it applies in one transaction (the order, stock moves, emails, events, a hold). Shared by
//! `decide` and the handlers it calls; they import from here, never from `decide`.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;

use super::catalog::Catalog;
use super::extract::Parsed;
use super::inbound::{Inbound, Mailbox};
use super::items::Unmatched;
use super::order::{Order, OrderState};
use super::payment::{PaymentNotice, ProposedPayment};
use super::reply_cap::{Pause, PauseChange, RecentReplies};
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
    /// The held message the alert this message answers is about (`token.held`), if any.
    pub held: Option<super::held::HeldMessage>,
    /// Alerts about held messages queued in the last hour (one a seller each), for the cap.
    pub alerts_last_hour: u32,
    /// This message answers our feedback request (its thread names it): `core::feedback`.
    pub answers_feedback_request: bool,
    /// The new orders of `order`'s exchanges (`core::returned` settles one when the goods
    /// it was swapped for are back).
    pub exchanges: Vec<Order>,
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
    /// To the customer: their return authorisation number (`rma`, one of `order.returns`)
    /// and how returns work.
    Returns {
        order: Order,
        rma: String,
    },
    /// To the customer: an exchange. The return authorisation for what goes back, and the new
    /// order quoted at the difference.
    Exchange {
        order: Order,
        rma: String,
        new_order: Order,
    },
    /// To the customer: the goods of `rma` are back; the refund (or the exchange) follows.
    ReturnReceived {
        order: Order,
        rma: String,
        /// The exchange's new order, when the goods paid for it.
        exchange: Option<Order>,
    },
    /// To the customer: what in their change we could not read, and how to write it.
    ChangeQuestion {
        order: Order,
        /// Each sentence not understood, with the catalog names it may mean.
        unclear: Vec<(String, Vec<String>)>,
        /// The change would leave nothing in the order.
        empties: bool,
        /// What was understood, and waits with the rest for the answer.
        understood: Vec<String>,
    },
    /// To the customer: shipped already; the order cannot change, but returns are possible.
    ChangeAfterShipping {
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
    /// To the customer, some days after shipping: how did it go?
    FeedbackRequest {
        order: Order,
    },
    /// To the customer: thank you for your feedback (once an order).
    FeedbackThanks {
        order: Order,
    },
    /// To the sellers: something about the shop's mail they should know.
    Alert {
        text: String,
    },
    /// To the sellers: a message waits for a person; the message itself is attached.
    Held {
        reason: String,
        order: Option<Order>,
        /// Who wrote it, and its subject.
        from: String,
        subject: String,
    },
    /// To a customer: a seller's own words, sent with `reply`.
    SellerReply {
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
            Template::FeedbackRequest { .. } => "feedback_request",
            Template::FeedbackThanks { .. } => "feedback_thanks",
            Template::Rejected { .. } => "rejected",
            Template::Shipped { .. } => "shipped",
            Template::CancelledByShop { .. } => "cancelled_by_shop",
            Template::Returns { .. } => "returns",
            Template::Exchange { .. } => "exchange",
            Template::ReturnReceived { .. } => "return_received",
            Template::AddressChanged { .. } => "address_changed",
            Template::ChangeQuestion { .. } => "change_question",
            Template::ChangeAfterShipping { .. } => "change_after_shipping",
            Template::TooLateToChange { .. } => "too_late_to_change",
            Template::Alert { .. } => "alert",
            Template::Held { .. } => "held",
            Template::SellerReply { .. } => "seller_reply",
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
    /// Attach the inbound message this decision answers (message/rfc822), as stored.
    pub attach_inbound: bool,
    /// The customer's language to write in (ISO 639-1), set by `core::language`; `None` for
    /// sellers' mail and wherever the order's own language or the shop's applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
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
    /// A message held for a person: `reply <text>`, `resolved [note]`, and the order's commands.
    Hold,
    /// A return authorised: `returned [SKU QTY ...]` when the goods are back.
    Return,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Approval => "approval",
            Purpose::Fulfilment => "fulfilment",
            Purpose::Payment => "payment",
            Purpose::Hold => "hold",
            Purpose::Return => "return",
        }
    }

    pub fn parse(s: &str) -> Option<Purpose> {
        [
            Purpose::Approval,
            Purpose::Fulfilment,
            Purpose::Payment,
            Purpose::Hold,
            Purpose::Return,
        ]
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
    /// The order the request is about; an alert about a held message may be about none.
    pub order_ref: Option<String>,
    /// The Message-ID of the held message an alert is about.
    pub held: Option<String>,
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
    /// A held message a seller dealt with by email: (its Message-ID, what they did).
    pub resolve_held: Option<(String, String)>,
    /// This message echoed an earlier one and was answered: the loop caps count it.
    pub echo: Option<super::echo::Echo>,
    /// What this decision does to other orders (an exchange's new order): written in the same
    /// transaction, each filed under its own order.
    pub linked: Vec<Decision>,
    /// A seller's `resolved` lifts the pause on this correspondent: (scope, who).
    pub resume: Option<(String, String)>,
    /// What a customer wrote back about their order, kept as its feedback.
    pub feedback: Option<FeedbackEntry>,
}

/// A customer's feedback on an order, as the books keep it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedbackEntry {
    pub order_ref: String,
    /// Their own words (quotes and signature removed), at most 2,000 characters.
    pub text: String,
    /// A rating they gave out of 5 ("4/5", "5 stars"), if any.
    pub rating: Option<u8>,
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

pub fn human_state(state: OrderState) -> &'static str {
    match state {
        OrderState::AwaitingDetails => "waiting for details from you",
        OrderState::AwaitingApproval => "being reviewed by the shop",
        OrderState::AwaitingPayment => "waiting for payment",
        OrderState::Paid => "paid, being prepared",
        OrderState::Shipped => "shipped",
        OrderState::Returned => "returned",
        OrderState::Cancelled => "cancelled",
        OrderState::Rejected => "declined",
        OrderState::Expired => "expired",
    }
}
