//! The decision for one inbound message: what happens to the order, the stock, and who is told.
//! Pure: the store gathers the inputs (the order the message threads to, stock, recent replies,
//! a fresh reference, the time) and applies the output in one transaction.

use serde_json::json;

use super::changes::{Change, apply_changes, read_changes};
use super::classify::Kind;
use super::decision::{Decision, Input, Template, human_state};
use super::emails::{belongs_to_sender, customer, reply, seller_alert};
use super::extract::Parsed;
use super::flags::flag_rules;
use super::items::{ItemLine, Problem};
use super::lifecycle::{self, Step};
use super::order::{Order, OrderState};
use super::pricing::price_order;
use super::reply_cap;
use super::supply::supply;

pub fn decide(input: Input) -> Decision {
    let mut decision = decide_kind(&input);
    warn_about_cards(&input, &mut decision);
    reply_cap::apply(&input, &mut decision);
    super::held::alert_sellers(&input, &mut decision);
    super::language::apply(&input, &mut decision);
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
    if let Some(d) = super::feedback::answer(input) {
        return d;
    }
    let kind = input.parsed.kind;
    // Goods to send back from a shipped order of the sender's, however the message reads
    // otherwise (an order naming the teapot, a cancellation, a reply).
    if matches!(
        kind,
        Kind::Order
            | Kind::CustomerReply
            | Kind::Cancellation
            | Kind::StatusInquiry
            | Kind::Unknown
    ) && let Some(order) = input
        .order
        .as_ref()
        .filter(|o| o.state == OrderState::Shipped && belongs_to_sender(o, input))
        && let Some(ask) = super::returns::asks(&input.msg.subject, &input.msg.text)
    {
        return super::returns::request(input, d, order.clone(), ask);
    }
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
        Kind::Cancellation => super::aftersale::cancel(input, d),
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

fn order_message(input: &Input, mut d: Decision) -> Decision {
    let parsed = input.parsed;
    let existing = input
        .order
        .clone()
        .filter(|o| o.state.is_open() || parsed.kind == Kind::CustomerReply);
    // What the customer asks to change in an order of theirs ("add 2 bud vases"), in its
    // thread even once it is paid or shipped: not a new order.
    let changes = input
        .order
        .as_ref()
        .filter(|o| belongs_to_sender(o, input))
        .filter(|_| !(parsed.kind == Kind::CustomerReply && is_courtesy(&input.msg.text)))
        .map(|o| {
            read_changes(
                &input.msg.text,
                o,
                input.catalog,
                input.config.limits.max_quantity,
            )
        })
        .unwrap_or_default();
    if let Some(order) = input.order.clone().filter(|o| {
        !changes.is_empty()
            && matches!(
                o.state,
                OrderState::AwaitingApproval
                    | OrderState::AwaitingPayment
                    | OrderState::Paid
                    | OrderState::Shipped
            )
    }) {
        return super::revise::revise(input, d, order, changes);
    }
    let mut order = match existing {
        Some(mut order) if order.state == OrderState::AwaitingDetails => {
            if !belongs_to_sender(&order, input) {
                return d.hold(format!(
                    "reply in the thread of {} from someone other than its customer",
                    order.reference
                ));
            }
            d.event("details_received", json!({ "order": order.reference }));
            // Items left out or traded away; what is named with a count refines the order as
            // before (`merge_into`).
            let dropped: Vec<Change> = changes
                .changes
                .into_iter()
                .filter_map(|c| match c {
                    Change::Remove { sku } | Change::Swap { from: sku, .. } => {
                        Some(Change::Remove { sku })
                    }
                    _ => None,
                })
                .collect();
            order.wanted = apply_changes(&order.wanted, &dropped, input.catalog).0;
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
    if let Err(why) = evaluate(input, &mut order, &mut d) {
        return d.hold(why);
    }
    d.order = Some(order);
    d
}

fn new_order(input: &Input) -> Order {
    let parsed = input.parsed;
    let mut order = Order::new(
        input.new_reference.clone(),
        customer(input),
        &input.config.shop.currency,
        input.now,
    );
    order.customer_message = first_chars(input.msg.text.trim(), 2000);
    order = merge_into(order, parsed);
    order
}

pub(super) fn first_chars(s: &str, n: usize) -> String {
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
fn evaluate(input: &Input, order: &mut Order, d: &mut Decision) -> Result<(), String> {
    let config = input.config;
    let country = order
        .country_code
        .clone()
        .unwrap_or_else(|| config.shop.home_country.clone());
    let unserved = order.shipping_address.is_some()
        && !config.shipping.only_countries.is_empty()
        && !config.shipping.only_countries.contains(&country);

    let (lines, shortages) = supply(&order.wanted, input.catalog, &order.currency, |sku| {
        input.available.get(sku).copied().unwrap_or(0)
    });

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
        lifecycle::take(input, order, Step::AskDetails, json!("mailcart"), d)?;
        d.emails.push(reply(input, subject, template));
        return Ok(());
    }

    let priced: Vec<(u32, rust_decimal::Decimal)> =
        lines.iter().map(|l| (l.quantity, l.unit_price)).collect();
    order.totals = price_order(&priced, &country, config);
    order.lines = lines;
    let rules = flag_rules(order, config, input.earlier_orders);
    let next = if rules.is_empty() {
        Step::Quote
    } else {
        Step::SendForApproval {
            rules: rules.clone(),
        }
    };
    lifecycle::take(input, order, next, json!("mailcart"), d)?;
    if !shortages.is_empty() {
        d.event(
            "stock_short",
            json!({ "order": order.reference, "shortages": shortages }),
        );
    }

    super::offer::send(input, order, shortages, d);
    Ok(())
}

/// A short thank-you or OK with nothing else in it.
pub(super) fn is_courtesy(text: &str) -> bool {
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
pub(crate) mod tests {
    use super::*;
    use crate::config::Config;
    use crate::core::address::ShippingAddress;
    use crate::core::catalog::tests::sample;
    use crate::core::decision::{Email, MoveKind, StockMove};
    use crate::core::extract::{ReadContext, read};
    use crate::core::inbound::{Inbound, Mailbox};
    use crate::core::reply_cap::{Pause, PauseChange, RecentReplies};
    use std::collections::HashMap;
    use std::path::Path;
    use time::Duration;
    use time::OffsetDateTime;

    fn config() -> Config {
        Config::from_toml(include_str!("../../config.example.toml"), Path::new("x")).unwrap()
    }

    pub(crate) fn msg(text: &str) -> Inbound {
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

    pub(crate) fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap()
    }

    pub(crate) fn run(m: &Inbound, order: Option<Order>, available: i64, replies: u32) -> Decision {
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
        run_full(m, order, available, recent, pauses, false)
    }

    /// A reply in the thread of our feedback request about `order`.
    pub(crate) fn run_feedback(m: &Inbound, order: Order) -> Decision {
        run_full(
            m,
            Some(order),
            10,
            RecentReplies::default(),
            Vec::new(),
            true,
        )
    }

    fn run_full(
        m: &Inbound,
        order: Option<Order>,
        available: i64,
        recent: RecentReplies,
        pauses: Vec<Pause>,
        answers_feedback_request: bool,
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
            held: None,
            alerts_last_hour: 0,
            answers_feedback_request,
            exchanges: Vec::new(),
        })
    }

    pub(crate) const ADDRESS: &str =
        "Ship to:\nPat Okafor\n41 Linden Avenue\nPortland, OR 97205\nUSA";

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
        // Unknown mail is not answered: it is held, and the sellers are alerted (`core::held`).
        let d = run(&msg("Do you ship to Australia?"), None, 10, 0);
        assert!(d.order.is_none() && d.attention.is_some());
        assert!(!d.emails.is_empty());
        assert!(
            d.emails
                .iter()
                .all(|e| !e.to_customer && e.template.name() == "held" && e.attach_inbound)
        );
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

        // Shipped: a return of everything, with its number; nothing moves until it is back.
        order.state = OrderState::Shipped;
        let d = run(&msg("Please cancel my order"), Some(order), 10, 0);
        let shipped = d.order.unwrap();
        assert_eq!(shipped.state, OrderState::Shipped);
        assert_eq!(shipped.returns[0].rma, "MC-TEST0001-R1");
        assert!(d.attention.is_none() && d.stock_moves.is_empty());
        assert_eq!(d.emails[0].template.name(), "returns");
        assert!(d.emails[1..].iter().all(|e| e.command.is_some()));
    }

    fn shipped(text: &str) -> Order {
        let mut order = run(&msg(&format!("{text}\n\n{ADDRESS}")), None, 10, 0)
            .order
            .unwrap();
        order.state = OrderState::Shipped;
        order.reserved_until = None;
        order
    }

    #[test]
    fn a_return_names_what_goes_back_and_an_exchange_makes_a_linked_order() {
        let order = shipped("2 x Blue Mug\n1 x Cast Iron Teapot");
        let d = run(
            &msg("I'd like to return the teapot"),
            Some(order.clone()),
            10,
            0,
        );
        let o = d.order.unwrap();
        let r = &o.returns[0];
        assert_eq!(r.lines.len(), 1);
        assert_eq!(
            (r.lines[0].sku.as_str(), r.lines[0].quantity),
            ("TEAPOT-CI", 1)
        );
        // 64.00 and 8% tax.
        assert_eq!(r.credit.to_string(), "69.12");
        assert!(d.linked.is_empty());
        assert!(
            d.events
                .iter()
                .any(|e| e.detail["step"] == "authorise_return")
        );

        let d = run(
            &msg("Can I exchange the blue mug for the green one?"),
            Some(order.clone()),
            10,
            0,
        );
        let o = d.order.unwrap();
        let r = &o.returns[0];
        assert_eq!(
            (r.lines[0].sku.as_str(), r.lines[0].quantity),
            ("MUG-BLU", 2)
        );
        assert_eq!(r.credit.to_string(), "38.88");
        let x = d.linked[0].order.clone().unwrap();
        assert_eq!(r.exchange.as_deref(), Some(x.reference.as_str()));
        assert_eq!(x.exchange_for.as_deref(), Some("MC-TEST0001-R1"));
        assert_eq!(x.state, OrderState::AwaitingPayment);
        // 2 x 19.50 = 39.00, no shipping, 8% tax 3.12: 42.12, less 38.88 of credit.
        assert_eq!(x.totals.total.to_string(), "42.12");
        assert_eq!(x.outstanding().to_string(), "3.24");
        assert_eq!(d.linked[0].stock_moves.len(), 1);
        assert_eq!(d.linked[0].stock_moves[0].kind, MoveKind::Reserve);
        assert_eq!(d.emails[0].template.name(), "exchange");

        for text in [
            "Je voudrais retourner la commande, s'il vous plaît",
            "Hola, quiero devolver el pedido",
            "Rückgabe bitte",
            "Vorrei fare un reso",
        ] {
            let d = run(&msg(text), Some(order.clone()), 10, 0);
            let o = d
                .order
                .unwrap_or_else(|| panic!("{text}: {:?}", d.attention));
            assert_eq!(o.returns.len(), 1, "{text}");
            assert_eq!(o.returns[0].lines.len(), 2, "{text}: everything");
        }

        // Not shipped yet: no return; today's paths answer.
        let mut paid = order.clone();
        paid.state = OrderState::Paid;
        let d = run(&msg("I'd like to return the teapot"), Some(paid), 10, 0);
        assert!(d.order.is_none_or(|o| o.returns.is_empty()));
    }
}
