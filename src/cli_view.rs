//! How the CLI shows things: tables for people, JSON for programs.

use std::fmt::Write;

use serde_json::{Value, json};

use crate::core::order::Order;
use crate::pipeline::Outcome;
use crate::store::{EventRow, OrderRow, StockRow};

/// One line for what happened to a message.
pub fn describe(o: &Outcome) -> String {
    if o.duplicate {
        return format!(
            "duplicate of a message already taken ({}): ignored",
            o.message_id
        );
    }
    let mut s = o.kind.map(|k| k.as_str()).unwrap_or("timer").to_string();
    if let Some(r) = &o.order {
        let _ = write!(s, " -> order {r}");
        if let Some(st) = o.state {
            let _ = write!(s, " [{st}]");
        }
    }
    for (template, to) in &o.emails {
        let _ = write!(s, "; sent {template} to {to}");
    }
    if let Some(a) = &o.attention {
        let _ = write!(s, "; held for a person: {a}");
    }
    if o.emails.is_empty() && o.attention.is_none() {
        s.push_str("; not answered");
    }
    s
}

pub fn order_json(o: &Order) -> Value {
    json!({
        "reference": o.reference,
        "state": o.state.as_str(),
        "customer_email": o.customer.email,
        "customer_name": o.customer.name,
        "currency": o.currency,
        "subtotal": o.totals.subtotal.to_string(),
        "shipping": o.totals.shipping.to_string(),
        "tax": o.totals.tax.to_string(),
        "total": o.totals.total.to_string(),
        "lines": o.lines.iter().map(|l| json!({
            "sku": l.sku,
            "name": l.name,
            "quantity": l.quantity,
            "requested": l.requested,
            "unit_price": l.unit_price.to_string(),
            "line_total": l.line_total.to_string(),
        })).collect::<Vec<_>>(),
        "wanted": o.wanted,
        "open_problems": o.open_problems,
        "shipping_address": o.shipping_address,
        "created_at": o.created_at.to_string(),
        "reserved_until": o.reserved_until.map(|t| t.to_string()),
        "payment_due": o.payment_due.map(|t| t.to_string()),
        "reply_held": o.reply_held,
        "flags": o.flags,
        "paid": crate::core::money::round(o.paid(), &o.currency).to_string(),
        "outstanding": crate::core::money::round(o.outstanding(), &o.currency).to_string(),
        "payments": o.payments,
        "paid_at": o.paid_at.map(|t| t.to_string()),
        "delivery": o.delivery.as_ref().map(|(method, date)| json!({ "method": method, "expected": date })),
        "refund_due": o.refund_due,
        "refunded": o.refunded,
        "returns": o.returns,
        "exchange_for": o.exchange_for,
        "credit": o.credit.to_string(),
    })
}

pub fn orders_table(orders: &[(OrderRow, Order)]) -> String {
    let mut s = String::new();
    if orders.is_empty() {
        return "no orders\n".into();
    }
    let _ = writeln!(
        s,
        "{:<12} {:<18} {:<32} {:>10} {:<4}",
        "REFERENCE", "STATE", "CUSTOMER", "TOTAL", ""
    );
    for (row, _) in orders {
        let _ = writeln!(
            s,
            "{:<12} {:<18} {:<32} {:>10} {:<4}",
            row.reference, row.state, row.customer_email, row.total, row.currency
        );
    }
    s
}

/// `mailcart feedback`: one entry a paragraph, its words indented beneath.
pub fn feedback_table(list: &[crate::store::feedback::Listed]) -> String {
    if list.is_empty() {
        return "no feedback\n".into();
    }
    let mut s = String::new();
    for f in list {
        let rating = f.rating.map(|r| format!("  {r}/5")).unwrap_or_default();
        let _ = writeln!(
            s,
            "{} {} {}{rating}",
            f.order,
            &f.at[..f.at.len().min(10)],
            f.customer
        );
        for line in f.text.lines() {
            let _ = writeln!(s, "    {line}");
        }
    }
    s
}

pub fn order_text(o: &Order, events: &[EventRow]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Order {} [{}]", o.reference, o.state.as_str());
    let name = o.customer.name.as_deref().unwrap_or("");
    let _ = writeln!(s, "Customer: {name} <{}>", o.customer.email);
    for l in &o.lines {
        let _ = writeln!(
            s,
            "  {:>3} x {:<28} {:<12} @ {:>8} = {:>9}",
            l.quantity, l.name, l.sku, l.unit_price, l.line_total
        );
    }
    if !o.lines.is_empty() {
        let t = &o.totals;
        let _ = writeln!(
            s,
            "  subtotal {}  shipping {}  tax {}  total {} {}",
            t.subtotal, t.shipping, t.tax, t.total, o.currency
        );
    }
    if let Some(why) = &o.reply_held {
        let _ = writeln!(
            s,
            "  answer held back ({why}): the order waits, no deadline running, until `mailcart resume {}`",
            o.customer.email
        );
    }
    for p in &o.open_problems {
        let _ = writeln!(s, "  unresolved: {:?} ({:?})", p.line, p.problem);
    }
    for p in &o.payments {
        let _ = writeln!(
            s,
            "  paid {} {} via {} (transaction {}) at {}",
            p.amount,
            p.currency,
            p.provider,
            p.transaction_id.as_deref().unwrap_or("-"),
            p.at
        );
    }
    if let Some((method, date)) = &o.delivery {
        let _ = writeln!(s, "  delivery: {method}, expected {date}");
    }
    if let Some(rma) = &o.exchange_for {
        let _ = writeln!(
            s,
            "  exchange for return {rma}: credit {} {}",
            o.credit, o.currency
        );
    }
    for r in &o.returns {
        let lines: Vec<String> = r
            .lines
            .iter()
            .map(|l| format!("{} x {}", l.quantity, l.sku))
            .collect();
        let _ = writeln!(
            s,
            "  return {} [{}]: {}; credit {}, refund {} {}{}",
            r.rma,
            r.state.as_str(),
            lines.join(", "),
            r.credit,
            r.refund,
            o.currency,
            r.exchange
                .as_ref()
                .map(|x| format!("; exchange {x}"))
                .unwrap_or_default()
        );
    }
    if o.refund_due {
        let _ = writeln!(s, "  refund due (confirm with `refunded {}`)", o.reference);
    }
    if let Some(a) = &o.shipping_address {
        let _ = writeln!(s, "Ship to:\n  {}", a.text.replace('\n', "\n  "));
    }
    let _ = writeln!(s, "History:");
    for e in events {
        let _ = writeln!(s, "  {} {} {}", e.at, e.kind, e.detail);
    }
    s
}

pub fn inventory_table(rows: &[StockRow]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<12} {:<24} {:>8} {:>8} {:>9} {:>10}",
        "SKU", "NAME", "PRICE", "ON HAND", "RESERVED", "AVAILABLE"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "{:<12} {:<24} {:>8} {:>8} {:>9} {:>10}",
            r.sku, r.name, r.unit_price, r.on_hand, r.reserved, r.available
        );
    }
    s
}

/// `mailcart status`: where the mailbox stands, the servers, what waits, the orders.
pub fn status_json(
    conn: &rusqlite::Connection,
    pause_hours: u32,
    now: time::OffsetDateTime,
) -> Result<Value, crate::store::StoreError> {
    let (pending, sending, sent, failed) = crate::store::outbox_counts(conn)?;
    let paused: Vec<Value> = crate::store::all_pauses(conn)?
        .into_iter()
        .filter(|p| p.active(now, pause_hours))
        .map(|p| {
            json!({
                "scope": p.scope,
                "opened_at": crate::store::ts(p.opened_at),
                "last_held_at": crate::store::ts(p.last_held_at),
                "lifts_at": crate::store::ts(p.last_held_at + time::Duration::hours(pause_hours.into())),
                "reason": p.reason,
            })
        })
        .collect();
    let held = crate::store::held_messages(conn)?.len();
    let answers_held: Vec<Value> =
        crate::store::orders_with_held_replies(conn, crate::core::reply_cap::ALL)?
            .into_iter()
            .map(|o| {
                json!({
                    "order": o.reference,
                    "customer": o.customer.email,
                    "state": o.state.as_str(),
                    "reason": o.reply_held,
                })
            })
            .collect();
    Ok(json!({
        "answers_held_back": answers_held,
        "mailboxes": crate::store::checkpoints(conn)?.into_iter().map(|(m, c, at)| json!({
            "mailbox": m, "uidvalidity": c.uidvalidity, "last_uid": c.last_uid, "updated_at": at,
        })).collect::<Vec<_>>(),
        "servers": crate::store::server_contacts(conn)?,
        "problems": crate::store::open_problems(conn)?.into_iter().map(|p| json!({
            "server": p.server, "kind": p.kind, "error": p.words, "fix": p.fix,
            "problem": crate::problem::sentence(&p.words, &p.fix),
            "since": p.since, "last_try_at": p.last_at, "tries": p.tries, "sellers": p.told,
        })).collect::<Vec<_>>(),
        "held_for_a_person": held,
        "not_answered": crate::store::unanswered_by_kind(conn)?.into_iter().map(|(k, n)| (k, json!(n))).collect::<serde_json::Map<String, Value>>(),
        "paused": paused,
        "outbox": { "pending": pending, "sending": sending, "sent": sent, "failed": failed },
        "orders": crate::store::orders_by_state(conn)?.into_iter().map(|(k, n)| (k, json!(n))).collect::<serde_json::Map<String, Value>>(),
    }))
}

pub fn status_text(v: &Value) -> String {
    let mut s = String::new();
    let mailboxes = v["mailboxes"].as_array().cloned().unwrap_or_default();
    if mailboxes.is_empty() {
        let _ = writeln!(s, "mailbox: not read yet");
    }
    for m in mailboxes {
        let _ = writeln!(
            s,
            "mailbox {}: read up to UID {} (UIDVALIDITY {}), at {}",
            m["mailbox"].as_str().unwrap_or(""),
            m["last_uid"],
            m["uidvalidity"],
            m["updated_at"].as_str().unwrap_or("")
        );
    }
    for server in v["servers"].as_array().cloned().unwrap_or_default() {
        let name = server["server"].as_str().unwrap_or("");
        let ok = server["last_ok_at"].as_str().unwrap_or("never");
        let _ = write!(s, "{name}: last contact {ok}");
        if let (Some(e), Some(at)) = (
            server["last_error"].as_str(),
            server["last_error_at"].as_str(),
        ) {
            let _ = write!(s, "; last error at {at}: {e}");
        }
        s.push('\n');
    }
    for p in v["problems"].as_array().cloned().unwrap_or_default() {
        let _ = writeln!(
            s,
            "{} PROBLEM since {} ({} tries, the last at {}): {}; {}",
            p["server"].as_str().unwrap_or(""),
            p["since"].as_str().unwrap_or(""),
            p["tries"],
            p["last_try_at"].as_str().unwrap_or(""),
            p["problem"].as_str().unwrap_or(""),
            p["sellers"].as_str().unwrap_or(""),
        );
    }
    let o = &v["outbox"];
    let _ = writeln!(
        s,
        "outbox: {} pending, {} being sent, {} sent, {} failed",
        o["pending"], o["sending"], o["sent"], o["failed"]
    );
    let _ = writeln!(
        s,
        "held for a person: {} (`mailcart review`)",
        v["held_for_a_person"]
    );
    if let Some(kinds) = v["not_answered"].as_object().filter(|k| !k.is_empty()) {
        let counts: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let _ = writeln!(
            s,
            "not answered (mail that is not for the shop): {}",
            counts.join(", ")
        );
    }
    for p in v["paused"].as_array().cloned().unwrap_or_default() {
        let scope = p["scope"].as_str().unwrap_or("");
        let who = if scope == crate::core::reply_cap::ALL {
            "all customers (the breaker)".to_string()
        } else {
            scope.to_string()
        };
        let _ = writeln!(
            s,
            "automatic replies paused for {who} since {}: {}; lifts at {} unless more mail is held (`mailcart resume {}`)",
            p["opened_at"].as_str().unwrap_or(""),
            p["reason"].as_str().unwrap_or(""),
            p["lifts_at"].as_str().unwrap_or(""),
            if scope == crate::core::reply_cap::ALL {
                "--all"
            } else {
                scope
            },
        );
    }
    let waiting = v["answers_held_back"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !waiting.is_empty() {
        let mut customers: Vec<&str> = waiting
            .iter()
            .filter_map(|w| w["customer"].as_str())
            .collect();
        customers.sort_unstable();
        customers.dedup();
        let orders: Vec<&str> = waiting.iter().filter_map(|w| w["order"].as_str()).collect();
        let _ = writeln!(
            s,
            "answers held back: {} ({}), waiting with no deadline running; `mailcart resume {}` sends them",
            waiting.len(),
            orders.join(", "),
            if customers.len() == 1 {
                customers[0]
            } else {
                "--all"
            }
        );
    }
    let orders = v["orders"].as_object().cloned().unwrap_or_default();
    if orders.is_empty() {
        let _ = writeln!(s, "orders: none");
    } else {
        let parts: Vec<String> = orders.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = writeln!(s, "orders: {}", parts.join(", "));
    }
    s
}

pub fn verify_text(r: &crate::store::VerifyReport) -> String {
    let mut out = format!(
        "events:      {} in the chain, head {}\n\
         stock moves: {} in the chain, head {}\n\
         messages:    {} received, {} sent, each matching its hash ({} raw copies purged)\n\
         orders:      {}, {} payments and {} feedback, each as the record last saved it\n\
         returns:     {}, each as its order holds it, its goods in the ledger\n\
         invoices:    {}, numbered without a gap, each PDF rendered again matching its hash\n\
         stock:       {} SKUs, each equal to the sum of its ledger\n",
        r.events,
        r.events_head,
        r.stock_moves,
        r.stock_head,
        r.messages_in,
        r.messages_out,
        r.purged,
        r.orders,
        r.payments,
        r.feedback,
        r.returns,
        r.invoices,
        r.skus
    );
    if r.ok() {
        out.push_str("verified: the record is whole\n");
    } else {
        for b in &r.breaks {
            out.push_str(&format!("BROKEN: {b}\n"));
        }
    }
    out
}
