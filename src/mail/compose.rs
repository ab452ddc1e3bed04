//! The core's emails -> complete RFC 5322 messages: askama templates for the text, lettre for
//! the headers and encoding. Every message is marked as automatic so that no well-behaved
//! system answers it, and carries our loop header so that we never answer ourselves.

use std::time::SystemTime;

use lettre::message::header::{
    ContentDisposition, ContentTransferEncoding, ContentType, HeaderName, HeaderValue,
};
use lettre::message::{Body, Mailbox as LettreMailbox, MultiPart, SinglePart};
use time::OffsetDateTime;

use crate::config::Config;
use crate::core::decision::{Email, Shortage, Template};
use crate::core::inbound::Mailbox;
use crate::core::money;
use crate::core::order::{Order, OrderLine};
use crate::mail::html;
use crate::mail::labels::{Labels, labels};
use crate::mail::locale::{Locale, locale};
use crate::mail::localized::{self, Renderer};

pub const LOOP_HEADER: &str = "X-Mailcart-Loop";

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("rendering template {template}: {source}")]
    Render {
        template: &'static str,
        source: askama::Error,
    },
    #[error("bad address {address:?}: {source}")]
    Address {
        address: String,
        source: lettre::address::AddressError,
    },
    #[error("rendering the HTML of {template}: {source}")]
    Html {
        template: &'static str,
        source: askama::Error,
    },
    #[error("building message: {0}")]
    Build(#[from] lettre::error::Error),
}

/// Everything a template may show; each template uses what it needs.
pub struct View {
    pub shop_name: String,
    pub shop_address: String,
    pub greeting: String,
    /// "Hello Anna," as the email's language greets.
    pub salutation: String,
    pub customer: String,
    pub reference: String,
    pub reference_example: String,
    pub state: &'static str,
    pub state_code: &'static str,
    pub currency: String,
    pub lines: Vec<LineView>,
    pub subtotal: String,
    pub shipping: String,
    pub tax: String,
    pub tax_rate: String,
    pub total: String,
    pub address: String,
    pub methods: Vec<MethodView>,
    pub payment_due: String,
    pub reserved_until: String,
    pub problems: Vec<ProblemView>,
    pub shortages: Vec<Shortage>,
    pub need_address: bool,
    pub need_items: bool,
    pub unserved_country: Option<String>,
    pub in_stock: Vec<String>,
    pub example_product: String,
    pub rules: Vec<String>,
    pub failed: Option<FailedView>,
    pub alert: String,
    /// Received so far, and still to pay.
    pub paid: String,
    pub outstanding: String,
    /// This payment (a part payment's email).
    pub received: String,
    pub delivery_method: String,
    pub delivery_date: String,
    /// The shop's reason (a rejection, a cancellation).
    pub reason: String,
    pub carrier: String,
    pub tracking: String,
    pub tracking_url: String,
    pub refund_due: bool,
    pub returns: String,
    pub customer_message: String,
    pub notes: Vec<String>,
    /// The quote's revision (1 for the first) and what the latest one changed.
    pub revision: u32,
    pub changes: Vec<String>,
    /// A change not understood: what was written, and what it may mean.
    pub unclear: Vec<ProblemView>,
    pub empties: bool,
    /// A held message's sender and subject.
    pub held_from: String,
    pub held_subject: String,
    /// A return or exchange.
    pub ret: ReturnView,
    /// The words beside the figures, in the email's language.
    pub labels: &'static Labels,
    /// Rendering the HTML part: the shared partials leave markers for the items table and the
    /// payment box (`mail::html`) instead of writing them out.
    pub html: bool,
}

/// A return authorisation, and the exchange's new order when there is one.
#[derive(Default)]
pub struct ReturnView {
    pub rma: String,
    pub lines: Vec<LineView>,
    pub credit: String,
    pub refund: String,
    pub new_reference: String,
    pub new_lines: Vec<LineView>,
    pub new_total: String,
    /// The part of the credit the new order takes, and what is left to pay for it.
    pub credit_used: String,
    pub difference: String,
    pub pay: bool,
    /// Credit beyond the new order's total: refunded once the goods are back.
    pub extra: String,
    pub has_extra: bool,
    /// Money goes back for the return.
    pub refunds: bool,
    pub new_methods: Vec<MethodView>,
}

pub struct FailedView {
    pub recipients: String,
    pub subject: String,
    pub error: String,
}

pub struct LineView {
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price: String,
    pub line_total: String,
}

pub struct MethodView {
    pub name: String,
    pub instructions: String,
}

pub struct ProblemView {
    pub line: String,
    pub reason: String,
    pub suggestions: Vec<String>,
}

/// Render the text of an email: a customer's in their language, a seller's in the shop's.
pub fn render_text(email: &Email, config: &Config) -> Result<String, ComposeError> {
    let (v, render) = prepare(email, config)?;
    render_with(email, &v, render)
}

/// Render the HTML part of an email: its text template again, laid out by `mail::html`.
pub fn render_html(email: &Email, config: &Config) -> Result<String, ComposeError> {
    let (mut v, render) = prepare(email, config)?;
    html_of(email, &mut v, render, config)
}

fn html_of(
    email: &Email,
    v: &mut View,
    render: Renderer,
    config: &Config,
) -> Result<String, ComposeError> {
    v.html = true;
    let text = render_with(email, v, render)?;
    html::page(&text, v, &email.subject, config).map_err(|source| ComposeError::Html {
        template: email.template.name(),
        source,
    })
}

fn render_error(email: &Email, source: askama::Error) -> ComposeError {
    ComposeError::Render {
        template: email.template.name(),
        source,
    }
}

/// The email's view and template, in the language it is written in.
fn prepare(email: &Email, config: &Config) -> Result<(View, Renderer), ComposeError> {
    // English has every template, so this fails only for a template added to the enum and
    // not to tools/localized.py.
    let (language, render) = renderer(email, config).ok_or_else(|| {
        render_error(
            email,
            askama::Error::Custom(format!("no template for {}", email.template.name()).into()),
        )
    })?;
    Ok((view(email, config, language), render))
}

fn render_with(email: &Email, v: &View, render: Renderer) -> Result<String, ComposeError> {
    let text = render(v).map_err(|e| render_error(email, e))?;
    Ok(tidy(&text))
}

/// The template and the language it is written in. A customer's: the email's language (this
/// message's, or its order's), else the order's, when the shop answers in it. Then, and for
/// the sellers, the shop's language; English when a template is missing in that too.
fn renderer(email: &Email, config: &Config) -> Option<(&'static str, Renderer)> {
    let shop = &config.shop;
    let allowed = |l: &&str| shop.languages.iter().any(|a| a == l);
    let wanted = email
        .language
        .as_deref()
        .or_else(|| order_of(&email.template).and_then(|o| o.language.as_deref()))
        .filter(|_| email.to_customer)
        .filter(allowed);
    wanted
        .into_iter()
        .chain([shop.language.as_str(), "en"])
        .find_map(|l| {
            let code = crate::mail::locale::locale(l).code;
            localized::renderer(&email.template, code).map(|r| (code, r))
        })
}

/// The complete message, ready for the outbox.
pub fn compose(
    email: &Email,
    message_id: &str,
    now: OffsetDateTime,
    config: &Config,
) -> Result<Vec<u8>, ComposeError> {
    compose_with(email, message_id, now, config, &[])
}

/// A file that goes with a message.
pub enum Attachment<'a> {
    /// A message as it arrived, attached as message/rfc822 (`message.eml`).
    Message(&'a [u8]),
    /// A generated file (an invoice), base64.
    File {
        name: &'a str,
        content_type: &'static str,
        bytes: &'a [u8],
    },
}

/// The complete message, with `attachments` after the text (multipart/mixed) when any.
pub fn compose_with(
    email: &Email,
    message_id: &str,
    now: OffsetDateTime,
    config: &Config,
    attachments: &[Attachment],
) -> Result<Vec<u8>, ComposeError> {
    let (mut v, render) = prepare(email, config)?;
    let text = render_with(email, &v, render)?;
    // Customers get the HTML twin; sellers read the text, which their commands answer.
    let html = if email.to_customer {
        Some(html_of(email, &mut v, render, config)?)
    } else {
        None
    };
    let from = mailbox(&Mailbox {
        name: Some(config.shop.name.clone()),
        email: config.shop.address.clone(),
    })?;
    let mut builder = lettre::Message::builder()
        .from(from)
        .subject(email.subject.clone())
        .message_id(Some(format!("<{message_id}>")))
        .date(SystemTime::from(now));
    for to in &email.to {
        builder = builder.to(mailbox(to)?);
    }
    if let Some(parent) = &email.in_reply_to {
        builder = builder.in_reply_to(format!("<{parent}>"));
    }
    if !email.references.is_empty() {
        let refs: Vec<String> = email.references.iter().map(|r| format!("<{r}>")).collect();
        builder = builder.references(refs.join(" "));
    }
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(text);
    let attachments: Vec<SinglePart> = attachments
        .iter()
        .map(|a| match a {
            Attachment::Message(raw) => attached(raw),
            Attachment::File {
                name,
                content_type,
                bytes,
            } => file(name, content_type, bytes),
        })
        .collect();
    let mut message = match (html, attachments.is_empty()) {
        (None, true) => builder.singlepart(text)?,
        (Some(html), true) => builder.multipart(alternative(text, html))?,
        (html, false) => {
            let mixed = match html {
                None => MultiPart::mixed().singlepart(text),
                Some(html) => MultiPart::mixed().multipart(alternative(text, html)),
            };
            builder.multipart(
                attachments
                    .into_iter()
                    .fold(mixed, |mixed, part| mixed.singlepart(part)),
            )?
        }
    };
    let headers = message.headers_mut();
    for (name, value) in [
        ("Auto-Submitted", "auto-replied"),
        (LOOP_HEADER, config.shop.address.as_str()),
        ("X-Auto-Response-Suppress", "All"),
    ] {
        headers.insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str(name),
            value.to_string(),
        ));
    }
    Ok(message.formatted())
}

fn alternative(text: SinglePart, html: String) -> MultiPart {
    MultiPart::alternative().singlepart(text).singlepart(
        SinglePart::builder()
            .header(ContentType::TEXT_HTML)
            .body(html),
    )
}

/// A message as it arrived, as an attachment. RFC 2046 allows message/rfc822 only in 7bit or
/// 8bit; a message that fits neither (lines over 998 bytes, bare CRs) goes as a base64 .eml
/// file, which mail clients open all the same.
fn attached(raw: &[u8]) -> SinglePart {
    let disposition = ContentDisposition::attachment("message.eml");
    match Body::new_with_encoding(raw.to_vec(), ContentTransferEncoding::EightBit) {
        Ok(body) => SinglePart::builder()
            .header(ContentType::parse("message/rfc822").unwrap_or(ContentType::TEXT_PLAIN))
            .header(disposition)
            .body(body),
        Err(raw) => SinglePart::builder()
            .header(
                ContentType::parse("application/octet-stream").unwrap_or(ContentType::TEXT_PLAIN),
            )
            .header(disposition)
            .body(
                Body::new_with_encoding(raw, ContentTransferEncoding::Base64)
                    .unwrap_or_else(Body::new),
            ),
    }
}

fn file(name: &str, content_type: &str, bytes: &[u8]) -> SinglePart {
    SinglePart::builder()
        .header(ContentType::parse(content_type).unwrap_or(ContentType::TEXT_PLAIN))
        .header(ContentDisposition::attachment(name))
        .body(
            Body::new_with_encoding(bytes.to_vec(), ContentTransferEncoding::Base64)
                .unwrap_or_else(Body::new),
        )
}

fn mailbox(m: &Mailbox) -> Result<LettreMailbox, ComposeError> {
    let address = m.email.parse().map_err(|source| ComposeError::Address {
        address: m.email.clone(),
        source,
    })?;
    Ok(LettreMailbox::new(m.name.clone(), address))
}

/// The order an email is about, if any.
fn order_of(template: &Template) -> Option<&Order> {
    match template {
        Template::Quote { order, .. }
        | Template::AskDetails { order, .. }
        | Template::UnderReview { order, .. }
        | Template::ApprovalRequest { order, .. }
        | Template::Status { order }
        | Template::Cancelled { order }
        | Template::PaymentConfirmed { order }
        | Template::PackingSlip { order }
        | Template::PaymentPartial { order, .. }
        | Template::PaymentClaimed { order }
        | Template::PaymentReminder { order }
        | Template::Expired { order }
        | Template::FeedbackRequest { order }
        | Template::FeedbackThanks { order }
        | Template::Rejected { order, .. }
        | Template::Shipped { order }
        | Template::CancelledByShop { order, .. }
        | Template::Returns { order, .. }
        | Template::Exchange { order, .. }
        | Template::ReturnReceived { order, .. }
        | Template::AddressChanged { order }
        | Template::TooLateToChange { order }
        | Template::ChangeQuestion { order, .. }
        | Template::ChangeAfterShipping { order } => Some(order),
        Template::Held { order, .. } => order.as_ref(),
        Template::StatusUnknown
        | Template::SellerReply { .. }
        | Template::CardWarning
        | Template::DeliveryFailed { .. }
        | Template::Alert { .. } => None,
    }
}

fn view(email: &Email, config: &Config, language: &str) -> View {
    let order = order_of(&email.template);
    let loc = locale(language);
    let zone = config.shop.zone();
    let currency = loc.currency(&config.shop.currency);
    let amount = |d| loc.amount(&money::round(d, &config.shop.currency).to_string());
    let first_name = email
        .to
        .first()
        .and_then(|m| m.name.as_deref())
        .and_then(|n| n.split_whitespace().next());
    let greeting = first_name.unwrap_or("there").to_string();
    let reference = order.map(|o| o.reference.clone()).unwrap_or_default();
    let total = order.map(|o| amount(o.totals.total)).unwrap_or_default();
    let shipment = order.and_then(|o| o.shipment.as_ref());
    // What the payment instructions ask for: the rest, once part has been paid.
    let outstanding = order.map(|o| amount(o.outstanding())).unwrap_or_default();
    let mut v = View {
        shop_name: config.shop.name.clone(),
        shop_address: config.shop.address.clone(),
        greeting,
        salutation: loc.salutation(first_name),
        customer: order
            .map(|o| match &o.customer.name {
                Some(n) => format!("{n} <{}>", o.customer.email),
                None => o.customer.email.clone(),
            })
            .unwrap_or_default(),
        reference: reference.clone(),
        reference_example: format!("{}-7K2QXD9FP", config.shop.reference_prefix),
        state: order.map(|o| loc.state(o.state)).unwrap_or(""),
        state_code: order.map(|o| o.state.as_str()).unwrap_or(""),
        currency: currency.clone(),
        lines: order
            .map(|o| {
                let lines: Vec<LineView> =
                    o.lines.iter().map(|l| line_view(l, config, loc)).collect();
                lines
            })
            .unwrap_or_default(),
        subtotal: order.map(|o| amount(o.totals.subtotal)).unwrap_or_default(),
        shipping: order.map(|o| amount(o.totals.shipping)).unwrap_or_default(),
        tax: order.map(|o| amount(o.totals.tax)).unwrap_or_default(),
        tax_rate: order
            .map(|o| loc.percent(o.totals.tax_rate))
            .unwrap_or_default(),
        total: total.clone(),
        address: order
            .and_then(|o| o.shipping_address.as_ref())
            .map(|a| a.text.clone())
            .unwrap_or_default(),
        methods: methods(config, &reference, &format!("{outstanding} {currency}")),
        payment_due: order
            .and_then(|o| o.payment_due)
            .map(|t| loc.time(t, zone))
            .unwrap_or_default(),
        reserved_until: order
            .and_then(|o| o.reserved_until)
            .map(|t| loc.time(t, zone))
            .unwrap_or_default(),
        problems: Vec::new(),
        shortages: Vec::new(),
        need_address: false,
        need_items: false,
        unserved_country: None,
        in_stock: Vec::new(),
        example_product: "Blue Glazed Mug".into(),
        rules: Vec::new(),
        failed: None,
        alert: String::new(),
        paid: order.map(|o| amount(o.paid())).unwrap_or_default(),
        outstanding: outstanding.clone(),
        received: String::new(),
        delivery_method: order
            .and_then(|o| o.delivery.as_ref())
            .map(|(m, _)| m.clone())
            .unwrap_or_default(),
        delivery_date: order
            .and_then(|o| o.delivery.as_ref())
            .and_then(|(_, d)| loc.date(d))
            .unwrap_or_default(),
        reason: String::new(),
        carrier: shipment.map(|s| s.carrier.clone()).unwrap_or_default(),
        tracking: shipment.map(|s| s.tracking.clone()).unwrap_or_default(),
        tracking_url: shipment.and_then(|s| s.url.clone()).unwrap_or_default(),
        refund_due: order.is_some_and(|o| o.refund_due),
        returns: config.shop.returns.clone(),
        customer_message: order
            .map(|o| o.customer_message.clone())
            .unwrap_or_default(),
        notes: order.map(|o| o.notes.clone()).unwrap_or_default(),
        revision: order.map_or(1, |o| o.revision + 1),
        changes: order
            .map(|o| o.revision_changes.clone())
            .unwrap_or_default(),
        unclear: Vec::new(),
        empties: false,
        held_from: String::new(),
        held_subject: String::new(),
        ret: ReturnView::default(),
        labels: labels(loc.code),
        html: false,
    };
    match &email.template {
        Template::AskDetails {
            problems,
            shortages,
            need_address,
            need_items,
            have,
            unserved_country,
            in_stock,
            ..
        } => {
            v.problems = problems
                .iter()
                .map(|p| ProblemView {
                    line: p.line.clone(),
                    reason: loc.problem(&p.problem, config.limits.max_quantity),
                    suggestions: p.suggestions.clone(),
                })
                .collect();
            v.shortages = shortages.clone();
            v.need_address = *need_address;
            v.need_items = *need_items;
            v.unserved_country = unserved_country.clone();
            v.in_stock = in_stock.clone();
            // Lines are only priced once quoted; before that show what was asked.
            v.lines = have
                .iter()
                .map(|(name, quantity)| LineView {
                    sku: String::new(),
                    name: name.clone(),
                    quantity: *quantity,
                    unit_price: String::new(),
                    line_total: String::new(),
                })
                .collect();
        }
        Template::Quote { shortages, .. } | Template::UnderReview { shortages, .. } => {
            v.shortages = shortages.clone();
        }
        Template::ApprovalRequest { rules, .. } => v.rules = rules.clone(),
        Template::ChangeQuestion {
            unclear,
            empties,
            understood,
            ..
        } => {
            v.changes = understood.clone();
            v.unclear = unclear
                .iter()
                .map(|(line, names)| ProblemView {
                    line: line.clone(),
                    reason: String::new(),
                    suggestions: names.clone(),
                })
                .collect();
            v.empties = *empties;
        }
        Template::Alert { text } | Template::SellerReply { text } => v.alert = text.clone(),
        Template::Held {
            reason,
            from,
            subject,
            ..
        } => {
            v.alert = reason.clone();
            v.held_from = from.clone();
            v.held_subject = subject.clone();
        }
        Template::PaymentPartial { received, .. } => v.received = amount(*received),
        Template::Returns { order, rma } => v.ret = return_view(order, rma, None, config, loc),
        Template::Exchange {
            order,
            rma,
            new_order,
        } => v.ret = return_view(order, rma, Some(new_order), config, loc),
        Template::ReturnReceived {
            order,
            rma,
            exchange,
        } => v.ret = return_view(order, rma, exchange.as_ref(), config, loc),
        Template::Rejected { reason, .. } | Template::CancelledByShop { reason, .. } => {
            v.reason = reason.clone()
        }
        Template::DeliveryFailed {
            order_ref,
            recipients,
            subject,
            error,
        } => {
            v.reference = order_ref.clone().unwrap_or_default();
            v.failed = Some(FailedView {
                recipients: recipients.clone(),
                subject: subject.clone(),
                error: error.clone(),
            });
        }
        _ => {}
    }
    v
}

/// The payment methods, asking for `total` under `reference`.
fn methods(config: &Config, reference: &str, total: &str) -> Vec<MethodView> {
    config
        .payments
        .methods
        .iter()
        .map(|m| MethodView {
            name: m.name.clone(),
            instructions: m
                .instructions
                .replace("{reference}", reference)
                .replace("{total}", total),
        })
        .collect()
}

fn line_view(l: &OrderLine, config: &Config, loc: &Locale) -> LineView {
    let amount = |d| loc.amount(&money::round(d, &config.shop.currency).to_string());
    LineView {
        sku: l.sku.clone(),
        name: l.name.clone(),
        quantity: l.quantity,
        unit_price: amount(l.unit_price),
        line_total: amount(l.line_total),
    }
}

/// Return `rma` of `order`, and the exchange's new order.
fn return_view(
    order: &Order,
    rma: &str,
    new_order: Option<&Order>,
    config: &Config,
    loc: &Locale,
) -> ReturnView {
    let currency = loc.currency(&order.currency);
    let amount = |d| loc.amount(&money::round(d, &order.currency).to_string());
    let Some(r) = order.returns.iter().find(|r| r.rma == rma) else {
        return ReturnView {
            rma: rma.to_string(),
            ..ReturnView::default()
        };
    };
    let mut v = ReturnView {
        rma: r.rma.clone(),
        lines: r
            .lines
            .iter()
            .map(|l| LineView {
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity: l.quantity,
                unit_price: amount(l.unit_price),
                line_total: String::new(),
            })
            .collect(),
        credit: amount(r.credit),
        refund: amount(r.refund),
        refunds: r.refund > rust_decimal::Decimal::ZERO,
        ..ReturnView::default()
    };
    if let Some(x) = new_order {
        let difference = x.outstanding();
        v.new_reference = x.reference.clone();
        v.new_lines = x.lines.iter().map(|l| line_view(l, config, loc)).collect();
        v.new_total = amount(x.totals.total);
        v.credit_used = amount(x.credit);
        v.difference = amount(difference);
        v.pay = difference > rust_decimal::Decimal::ZERO;
        v.extra = amount((r.credit - x.credit).max(rust_decimal::Decimal::ZERO));
        v.has_extra = r.credit > x.credit;
        v.new_methods = methods(
            config,
            &x.reference,
            &format!("{} {currency}", v.difference),
        );
    }
    v
}

/// Templates leave blank runs where optional blocks were skipped.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_start_matches('\n').to_string()
}
