//! One email of every template a customer receives, built from the core's own types, for the
//! HTML tests and for `scripts/render-html` (which renders them to PNG).

use std::str::FromStr;

use mailcart::core::address::ShippingAddress;
use mailcart::core::decision::{Email, Shortage, Template};
use mailcart::core::inbound::Mailbox;
use mailcart::core::items::{Problem, Unmatched};
use mailcart::core::order::{
    Order, OrderLine, OrderState, Payment, Return, ReturnLine, ReturnState, Shipment,
};
use mailcart::core::pricing::Totals;
use rust_decimal::Decimal;
use time::OffsetDateTime;
use time::macros::datetime;

pub const REFERENCE: &str = "MC-7K2QXD9F";
pub const NEW_REFERENCE: &str = "MC-4TNV8RWA";
pub const RMA: &str = "MC-7K2QXD9F-R1";
const AT: OffsetDateTime = datetime!(2026-11-22 09:00 UTC);

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("a sample amount")
}

fn line(sku: &str, name: &str, quantity: u32, price: &str) -> OrderLine {
    OrderLine {
        sku: sku.into(),
        name: name.into(),
        quantity,
        requested: quantity,
        unit_price: d(price),
        line_total: d(price) * Decimal::from(quantity),
    }
}

fn customer() -> Mailbox {
    Mailbox {
        name: Some("Pat Doe".into()),
        email: "pat@example.test".into(),
    }
}

/// `lines` priced with 6.00 shipping and 8% tax on the goods.
pub fn order_with(reference: &str, lines: Vec<OrderLine>, state: OrderState) -> Order {
    let mut o = Order::new(reference.into(), customer(), "USD", AT);
    let subtotal: Decimal = lines.iter().map(|l| l.line_total).sum();
    let shipping = d("6.00");
    let tax = (subtotal * d("0.08")).round_dp(2);
    o.totals = Totals {
        subtotal,
        shipping,
        tax,
        total: subtotal + shipping + tax,
        tax_rate: d("0.08"),
    };
    o.lines = lines;
    o.state = state;
    o.shipping_address = Some(ShippingAddress {
        text: "Pat Doe\n12 Alder Street\nPortland, OR 97205\nUSA".into(),
        postal_code: Some("97205".into()),
        country: Some("USA".into()),
        country_code: Some("US".into()),
    });
    o.country_code = Some("US".into());
    o.payment_due = Some(AT + time::Duration::days(3));
    o.reserved_until = o.payment_due;
    o.delivery = Some(("Standard".into(), "2026-12-08".into()));
    o.customer_message = "Please gift-wrap the mugs.".into();
    o
}

/// 2 x Blue Glazed Mug and 1 x Linen Tea Towel to Portland: 56.76 USD.
pub fn order(state: OrderState) -> Order {
    order_with(
        REFERENCE,
        vec![
            line("MUG-BLU", "Blue Glazed Mug", 2, "18.00"),
            line("TOWEL-LIN", "Linen Tea Towel", 1, "11.00"),
        ],
        state,
    )
}

fn payment(amount: &str) -> Payment {
    Payment {
        amount: d(amount),
        currency: "USD".into(),
        transaction_id: Some("7TX40213".into()),
        provider: "service@paypal.example".into(),
        payer: None,
        at: AT + time::Duration::days(1),
    }
}

fn paid() -> Order {
    let mut o = order(OrderState::Paid);
    o.payments = vec![payment("56.76")];
    o.paid_at = Some(AT + time::Duration::days(1));
    o
}

fn shipped() -> Order {
    let mut o = paid();
    o.state = OrderState::Shipped;
    o.shipment = Some(Shipment {
        carrier: "UPS".into(),
        tracking: "1Z999AA10123456784".into(),
        url: Some("https://www.ups.com/track?tracknum=1Z999AA10123456784".into()),
        at: AT + time::Duration::days(2),
    });
    o
}

fn with_return(exchange: Option<&str>, state: ReturnState) -> Order {
    let mut o = shipped();
    o.returns.push(Return {
        rma: RMA.into(),
        state,
        lines: vec![ReturnLine {
            sku: "MUG-BLU".into(),
            name: "Blue Glazed Mug".into(),
            quantity: 1,
            unit_price: d("18.00"),
        }],
        credit: d("19.44"),
        refund: if exchange.is_some() {
            d("0")
        } else {
            d("19.44")
        },
        exchange: exchange.map(String::from),
        authorised_at: AT + time::Duration::days(5),
        received_at: None,
    });
    o
}

fn exchange_order() -> Order {
    let mut o = order_with(
        NEW_REFERENCE,
        vec![line("MUG-GRN", "Green Speckled Mug", 1, "19.50")],
        OrderState::AwaitingPayment,
    );
    // The exchange goes out at the shop's cost.
    o.totals.total -= o.totals.shipping;
    o.totals.shipping = Decimal::ZERO;
    o.exchange_for = Some(RMA.into());
    o.credit = d("19.44");
    o
}

fn email(template: Template) -> Email {
    Email {
        to: vec![customer()],
        in_reply_to: Some("order-1@example.test".into()),
        references: vec!["order-1@example.test".into()],
        subject: format!("Re: your order {REFERENCE}"),
        template,
        to_customer: true,
        command: None,
        once: None,
        attach_inbound: false,
        language: None,
    }
}

/// Every template a customer receives, once each.
pub fn customer_emails() -> Vec<Email> {
    let awaiting = || order(OrderState::AwaitingPayment);
    let shortage = || Shortage {
        name: "Cast Iron Teapot".into(),
        requested: 2,
        available: 1,
    };
    let mut revised = awaiting();
    revised.revision = 1;
    revised.revision_changes = vec!["Linen Tea Towel: added 1".into()];
    let mut partial = awaiting();
    partial.payments = vec![payment("20.00")];
    let mut cancelled_paid = paid();
    cancelled_paid.state = OrderState::Cancelled;
    cancelled_paid.refund_due = true;
    [
        Template::AskDetails {
            order: order(OrderState::AwaitingDetails),
            problems: vec![Unmatched {
                line: "3 x purple vase".into(),
                problem: Problem::Unknown,
                suggestions: vec!["Bud Vase".into()],
            }],
            shortages: vec![shortage()],
            need_address: true,
            need_items: false,
            have: vec![("Blue Glazed Mug".into(), 2)],
            unserved_country: None,
            in_stock: Vec::new(),
        },
        Template::Quote {
            order: awaiting(),
            shortages: Vec::new(),
        },
        Template::Quote {
            order: revised,
            shortages: vec![shortage()],
        },
        Template::UnderReview {
            order: order(OrderState::AwaitingApproval),
            shortages: Vec::new(),
        },
        Template::Status { order: awaiting() },
        Template::StatusUnknown,
        Template::CardWarning,
        Template::Cancelled {
            order: order(OrderState::Cancelled),
        },
        Template::PaymentConfirmed { order: paid() },
        Template::PaymentPartial {
            order: partial,
            received: d("20.00"),
        },
        Template::PaymentClaimed { order: awaiting() },
        Template::PaymentReminder { order: awaiting() },
        Template::Expired {
            order: order(OrderState::Expired),
        },
        Template::Rejected {
            order: order(OrderState::Rejected),
            reason: "we cannot ship ceramics to this address.".into(),
        },
        Template::Shipped { order: shipped() },
        Template::CancelledByShop {
            order: cancelled_paid,
            reason: "the kiln broke and we cannot make the mugs this month.".into(),
        },
        Template::Returns {
            order: with_return(None, ReturnState::Authorised),
            rma: RMA.into(),
        },
        Template::Exchange {
            order: with_return(Some(NEW_REFERENCE), ReturnState::Authorised),
            rma: RMA.into(),
            new_order: exchange_order(),
        },
        Template::ReturnReceived {
            order: with_return(None, ReturnState::Received),
            rma: RMA.into(),
            exchange: None,
        },
        Template::AddressChanged { order: awaiting() },
        Template::TooLateToChange { order: shipped() },
        Template::ChangeQuestion {
            order: awaiting(),
            unclear: vec![("swap the mug for the big one".into(), vec!["Large Rice Bowl".into()])],
            empties: false,
            understood: vec!["Linen Tea Towel: added 1".into()],
        },
        Template::ChangeAfterShipping { order: shipped() },
        Template::FeedbackRequest { order: shipped() },
        Template::FeedbackThanks { order: shipped() },
        Template::SellerReply {
            text: "Hi Pat, yes: the mugs are dishwasher safe. See https://lindenclay.test/care for more.".into(),
        },
    ]
    .into_iter()
    .map(email)
    .collect()
}
