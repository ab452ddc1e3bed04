//! A seller says goods came back: `returned REF [SKU QTY ...]`, by reply to the return's
//! request or fresh, checked like every command (`core::seller`). With no SKUs, what the open
//! authorisation lists comes back (without one, everything still with the customer);
//! `returned REF-R2 ...` names the authorisation. The goods go on the shelf again, the refund
//! for them is due (`refunded REF` confirms it), and the customer is told. An exchange's
//! credit went to its new order: only what is left of it is refunded, and a new order that
//! the credit pays in full is settled now and goes to be packed.

use rust_decimal::Decimal;
use serde_json::Value;

use super::decision::{Decision, Input, Purpose, Template};
use super::emails::in_thread;
use super::lifecycle::{self, Step};
use super::money;
use super::order::{Order, OrderState, Payment, Return, ReturnLine, ReturnState};
use super::returns::{credit_of, left_with_customer};
use super::seller::not_applicable;

/// What `returned` says after the reference: an authorisation (`R2`), and SKU-quantity pairs
/// ("MUG-BLU 1 TEAPOT-CI 1", "MUG-BLU x1, TEAPOT-CI").
#[derive(Debug, PartialEq, Eq)]
pub struct Arrived {
    pub rma: Option<u32>,
    pub lines: Vec<(String, u32)>,
}

/// `None` when the words after `returned` are not that.
pub fn read_rest(rest: &str) -> Option<Arrived> {
    let mut words = rest
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|w| !w.is_empty())
        .peekable();
    let rma = match words.peek() {
        Some(w)
            if w.len() > 1
                && w[..1].eq_ignore_ascii_case("r")
                && w[1..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            let n = w[1..].parse().ok();
            words.next();
            n
        }
        _ => None,
    };
    let mut lines: Vec<(String, u32)> = Vec::new();
    while let Some(w) = words.next() {
        let w = w.trim_end_matches(['.', ':']);
        if w.is_empty() {
            continue;
        }
        if !w
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            || w.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let quantity = match words.peek().map(|q| q.trim_start_matches(['x', 'X'])) {
            Some(q) if !q.is_empty() && q.bytes().all(|b| b.is_ascii_digit()) => {
                words.next();
                q.parse().ok()?
            }
            _ => 1,
        };
        lines.push((w.to_ascii_uppercase(), quantity));
    }
    Some(Arrived { rma, lines })
}

/// What came back, under which authorisation; or why nothing changes (for the seller).
fn what_came_back(order: &Order, rest: &str) -> Result<(Option<Return>, Vec<ReturnLine>), String> {
    if order.state != OrderState::Shipped {
        return Err("is not shipped, so nothing can come back".into());
    }
    let arrived = read_rest(rest)
        .ok_or("was not changed: write `returned REF` or `returned REF SKU QUANTITY ...`")?;
    let authorisation = match arrived.rma {
        Some(n) => {
            let rma = format!("{}-R{n}", order.reference);
            match order.returns.iter().find(|r| r.rma == rma) {
                Some(r) if r.state == ReturnState::Authorised => Some(r.clone()),
                Some(_) => return Err(format!("has its return {rma} back already")),
                None => return Err(format!("has no return {rma}")),
            }
        }
        None => order.open_return().cloned(),
    };
    let lines: Vec<ReturnLine> = if arrived.lines.is_empty() {
        match &authorisation {
            Some(a) => a.lines.clone(),
            None => left_with_customer(order),
        }
    } else {
        let mut lines = Vec::new();
        for (sku, quantity) in arrived.lines {
            let Some(l) = order
                .lines
                .iter()
                .find(|l| l.sku.eq_ignore_ascii_case(&sku))
            else {
                return Err(format!("has no {sku} to return"));
            };
            lines.push(ReturnLine {
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity,
                unit_price: l.unit_price,
            });
        }
        lines
    };
    lifecycle::returnable(order, &lines).map_err(|why| format!("was not changed: {why}"))?;
    Ok((authorisation, lines))
}

/// The `returned` command, for a seller vouched for.
pub fn returned(
    input: &Input,
    mut d: Decision,
    mut order: Order,
    rest: &str,
    sender: &str,
    by: Value,
) -> Decision {
    let (authorisation, lines) = match what_came_back(&order, rest) {
        Ok(found) => found,
        Err(why) => return not_applicable(input, d, &order, sender, &why),
    };
    let rma = authorisation
        .as_ref()
        .map_or_else(|| order.next_rma(), |a| a.rma.clone());
    let credit = credit_of(&lines, order.totals.tax_rate, &order.currency);
    let exchange = authorisation
        .as_ref()
        .and_then(|a| a.exchange.as_deref())
        .and_then(|r| input.exchanges.iter().find(|o| o.reference == r))
        .cloned();
    // What the exchange took of the credit, unless it came to nothing.
    let used = exchange
        .as_ref()
        .filter(|x| {
            !matches!(
                x.state,
                OrderState::Cancelled | OrderState::Rejected | OrderState::Expired
            )
        })
        .map_or(Decimal::ZERO, |x| x.credit);
    let refund = (credit - used).max(Decimal::ZERO);
    let step = Step::Return {
        rma: rma.clone(),
        lines,
        refund,
    };
    if let Err(why) = lifecycle::take(input, &mut order, step, by.clone(), &mut d) {
        return not_applicable(input, d, &order, sender, &format!("was not changed: {why}"));
    }
    let settled = exchange
        .filter(|x| x.state == OrderState::AwaitingPayment && x.outstanding() <= Decimal::ZERO)
        .and_then(|x| settle_exchange(input, x, &rma, by).ok());
    d.emails.push(in_thread(
        &order,
        &input.thread,
        format!("Order {}: your return {rma} has arrived", order.reference),
        Template::ReturnReceived {
            order: order.clone(),
            rma: rma.clone(),
            exchange: settled.as_ref().and_then(|x| x.order.clone()),
        },
    ));
    if refund > Decimal::ZERO {
        d.emails.extend(super::emails::seller_alert(
            input.config,
            &format!("Refund due: return {rma} of order {}", order.reference),
            &format!(
                "The goods of return {rma} (order {}) are back in stock. Please refund {} to {}, then write `refunded {}`.",
                order.reference,
                money::format(refund, &order.currency),
                order.customer.email,
                order.reference
            ),
        ));
    }
    d.linked.extend(settled);
    d.retire_tokens = Some((order.reference.clone(), Purpose::Return));
    d.order = Some(order);
    d
}

/// An exchange the credit pays in full is settled when the goods are back: paid by the
/// credit (a payment of nothing that says so), sold, and its packing slip sent.
fn settle_exchange(input: &Input, mut x: Order, rma: &str, by: Value) -> Result<Decision, String> {
    let mut d = Decision::default();
    let payment = Payment {
        amount: money::round(Decimal::ZERO, &x.currency),
        currency: x.currency.clone(),
        transaction_id: None,
        provider: format!("credit of return {rma}"),
        payer: None,
        at: input.now,
    };
    lifecycle::take(input, &mut x, Step::Pay { payment }, by, &mut d)?;
    d.emails.extend(super::settle::packing_slip(input, &x));
    d.order = Some(x);
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_came_back_is_read() {
        let arrived = |rma, lines: &[(&str, u32)]| {
            Some(Arrived {
                rma,
                lines: lines.iter().map(|(s, q)| (s.to_string(), *q)).collect(),
            })
        };
        assert_eq!(read_rest(""), arrived(None, &[]));
        assert_eq!(
            read_rest("MUG-BLU 1 teapot-ci 2"),
            arrived(None, &[("MUG-BLU", 1), ("TEAPOT-CI", 2)])
        );
        assert_eq!(
            read_rest("R2 MUG-BLU x1, VASE-BUD"),
            arrived(Some(2), &[("MUG-BLU", 1), ("VASE-BUD", 1)])
        );
        assert_eq!(read_rest("it's all back, thanks!"), None);
        assert_eq!(read_rest("2 MUG-BLU"), None);
    }
}
