//! An order and its states, with the only transitions between them (`can_become`); the
//! steps that take it from one to the next are `core::lifecycle`.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::address::ShippingAddress;
use super::inbound::Mailbox;
use super::items::{ItemLine, Unmatched};
use super::pricing::Totals;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    AwaitingDetails,
    AwaitingApproval,
    AwaitingPayment,
    Paid,
    Shipped,
    /// Everything shipped has come back (`returned`). A partial return leaves the order
    /// `shipped`: part of it is still with the customer, and its `returns` say which part.
    Returned,
    Cancelled,
    Rejected,
    Expired,
}

impl OrderState {
    pub const ALL: [OrderState; 9] = [
        OrderState::AwaitingDetails,
        OrderState::AwaitingApproval,
        OrderState::AwaitingPayment,
        OrderState::Paid,
        OrderState::Shipped,
        OrderState::Returned,
        OrderState::Cancelled,
        OrderState::Rejected,
        OrderState::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::AwaitingDetails => "awaiting_details",
            OrderState::AwaitingApproval => "awaiting_approval",
            OrderState::AwaitingPayment => "awaiting_payment",
            OrderState::Paid => "paid",
            OrderState::Shipped => "shipped",
            OrderState::Returned => "returned",
            OrderState::Cancelled => "cancelled",
            OrderState::Rejected => "rejected",
            OrderState::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<OrderState> {
        OrderState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The whole state machine. Anything not listed here cannot happen.
    pub fn can_become(self, next: OrderState) -> bool {
        use OrderState::*;
        matches!(
            (self, next),
            (
                AwaitingDetails,
                AwaitingDetails | AwaitingApproval | AwaitingPayment | Cancelled
            ) | (
                AwaitingApproval,
                AwaitingPayment | Rejected | Cancelled | Expired
            ) | (
                AwaitingPayment,
                Paid | Cancelled | Expired | AwaitingApproval
            ) | (Paid, Shipped | Cancelled)
                | (Shipped, Returned)
        )
    }

    /// Whether the order still holds stock or may still be changed by the customer.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            OrderState::AwaitingDetails
                | OrderState::AwaitingApproval
                | OrderState::AwaitingPayment
        )
    }

    /// A customer may still cancel by email without a person looking at it.
    pub fn customer_may_cancel(self) -> bool {
        self.is_open()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub sku: String,
    pub name: String,
    /// What we supply (and reserve).
    pub quantity: u32,
    /// What the customer asked for; more than `quantity` when stock was short.
    pub requested: u32,
    #[serde(with = "rust_decimal::serde::str")]
    pub unit_price: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub line_total: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub reference: String,
    pub state: OrderState,
    pub customer: Mailbox,
    pub currency: String,
    /// Items the customer asked for so far (resolved to SKUs).
    pub wanted: Vec<ItemLine>,
    /// Requests we could not resolve yet; asked about in the last reply.
    pub open_problems: Vec<Unmatched>,
    pub lines: Vec<OrderLine>,
    pub totals: Totals,
    pub shipping_address: Option<ShippingAddress>,
    pub country_code: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub reserved_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub payment_due: Option<OffsetDateTime>,
    /// The flag rules that sent the order to a seller.
    pub flags: Vec<String>,
    /// Money received for this order (exact matches and part payments; never a payment that
    /// was put to a seller instead).
    #[serde(default)]
    pub payments: Vec<Payment>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub paid_at: Option<OffsetDateTime>,
    /// The payment reminder has gone out.
    #[serde(default)]
    pub reminder_sent: bool,
    /// Promised in the confirmation: (shipping method, expected delivery date `YYYY-MM-DD`).
    #[serde(default)]
    pub delivery: Option<(String, String)>,
    #[serde(default)]
    pub shipment: Option<Shipment>,
    /// Cancelled after payment: the money is to go back (`refund_due`) until a seller says
    /// `refunded`.
    #[serde(default)]
    pub refund_due: bool,
    #[serde(default)]
    pub refunded: bool,
    /// What the customer wrote when ordering (their own words, quotes removed), for the
    /// packing slip: wishes such as gift wrapping live there.
    #[serde(default)]
    pub customer_message: String,
    /// Sellers' `note REF ...` lines, oldest first.
    #[serde(default)]
    pub notes: Vec<String>,
    /// How many times the customer changed the order after its first quote; the quote they
    /// hold is revision `revision + 1`.
    #[serde(default)]
    pub revision: u32,
    /// What the latest revision changed, as the revised quote says it.
    #[serde(default)]
    pub revision_changes: Vec<String>,
    /// The language the customer writes in (ISO 639-1), fixed at the first message whatlang
    /// reads reliably (`core::language`); `None` until then, and the shop's language answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The loop caps held back what the customer should have heard about this order (why):
    /// until a person lifts the pause, the order waits and no payment deadline runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_held: Option<String>,
    /// The customer was asked how it went (`[feedback] after_days`).
    #[serde(default)]
    pub feedback_requested: bool,
    /// Their feedback was thanked for: once an order, however often they write.
    #[serde(default)]
    pub feedback_thanked: bool,
    /// Returns authorised and received, oldest first (`core::returns`).
    #[serde(default)]
    pub returns: Vec<Return>,
    /// This order is the new half of an exchange: the return authorisation it replaces.
    #[serde(default)]
    pub exchange_for: Option<String>,
    /// What the goods coming back in that exchange are worth; it counts as paid, so the
    /// customer is asked only for the difference.
    #[serde(default, with = "rust_decimal::serde::str")]
    pub credit: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnState {
    /// The customer was given the number and the instructions; nothing has arrived yet.
    Authorised,
    /// A seller said the goods are back (`returned`); they are on the shelf again.
    Received,
    /// The money owed for them went back (`refunded`).
    Refunded,
}

impl ReturnState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnState::Authorised => "authorised",
            ReturnState::Received => "received",
            ReturnState::Refunded => "refunded",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLine {
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    /// As the customer paid it.
    #[serde(with = "rust_decimal::serde::str")]
    pub unit_price: Decimal,
}

/// One return authorisation (RMA) and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Return {
    /// `<order reference>-R<n>`: unique, since references are.
    pub rma: String,
    pub state: ReturnState,
    /// What the customer said they would send back; once received, what arrived.
    pub lines: Vec<ReturnLine>,
    /// The lines' price with their tax: what the customer gets back, in money or as the
    /// exchange's credit. Shipping is not refunded.
    #[serde(with = "rust_decimal::serde::str")]
    pub credit: Decimal,
    /// Of the credit, what goes back as money (set when the goods arrive).
    #[serde(with = "rust_decimal::serde::str")]
    pub refund: Decimal,
    /// The new order of an exchange.
    pub exchange: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub authorised_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub received_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    pub carrier: String,
    pub tracking: String,
    /// The carrier's tracking page, when we know the carrier.
    pub url: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Money that arrived for an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub currency: String,
    pub transaction_id: Option<String>,
    /// Who sent the notice (the provider's address).
    pub provider: String,
    pub payer: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl Order {
    /// A new order, waiting for its details, with nothing in it yet.
    pub fn new(
        reference: String,
        customer: Mailbox,
        currency: &str,
        created_at: OffsetDateTime,
    ) -> Order {
        Order {
            reference,
            state: OrderState::AwaitingDetails,
            customer,
            currency: currency.to_string(),
            wanted: Vec::new(),
            open_problems: Vec::new(),
            lines: Vec::new(),
            totals: Totals::zero(currency),
            shipping_address: None,
            country_code: None,
            created_at,
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
            customer_message: String::new(),
            notes: Vec::new(),
            revision: 0,
            revision_changes: Vec::new(),
            language: None,
            reply_held: None,
            feedback_requested: false,
            feedback_thanked: false,
            returns: Vec::new(),
            exchange_for: None,
            credit: Decimal::ZERO,
        }
    }

    /// What has been paid so far.
    pub fn paid(&self) -> Decimal {
        self.payments.iter().map(|p| p.amount).sum()
    }

    /// What is still to pay (an exchange's credit counts as paid).
    pub fn outstanding(&self) -> Decimal {
        self.totals.total - self.credit - self.paid()
    }

    /// How many of `sku` have come back so far.
    pub fn returned(&self, sku: &str) -> u32 {
        self.returns
            .iter()
            .filter(|r| r.state != ReturnState::Authorised)
            .flat_map(|r| &r.lines)
            .filter(|l| l.sku == sku)
            .map(|l| l.quantity)
            .sum()
    }

    /// The authorisation still waiting for its goods, if any.
    pub fn open_return(&self) -> Option<&Return> {
        self.returns
            .iter()
            .rev()
            .find(|r| r.state == ReturnState::Authorised)
    }

    /// The number the next return authorisation gets.
    pub fn next_rma(&self) -> String {
        format!("{}-R{}", self.reference, self.returns.len() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::OrderState::*;
    use super::*;

    #[test]
    fn ends_are_final() {
        assert!(Shipped.can_become(Returned));
        for end in [Returned, Cancelled, Rejected, Expired] {
            for next in OrderState::ALL {
                assert!(!end.can_become(next), "{end:?} -> {next:?}");
            }
        }
        assert!(AwaitingDetails.can_become(AwaitingPayment));
        assert!(!AwaitingPayment.can_become(AwaitingDetails));
        assert!(!AwaitingDetails.can_become(Paid));
        for s in OrderState::ALL {
            assert_eq!(OrderState::parse(s.as_str()), Some(s));
        }
    }
}
