//! Sellers' commands by email, and who may give them.
//!
//! A command counts only if every check holds: the sender (From, not Reply-To) is one of
//! `[shop] sellers`; it replies to a request we sent that seller (the request's Message-ID
//! carries a single-use token that expires) or, as a fresh command, names the reference; and
//! with `[security] authserv_id` set, our server authenticated the sender's domain. Fresh
//! commands carry no token, so they need that authentication and are refused without it. A
//! command that fails a check changes nothing, is logged with the reason, held for `review`,
//! and the seller is told once that an unverified command was ignored.

use serde_json::json;

use super::aftersale::cancel;
use super::answer::{Reading, read as read_answer, what_to_write};
use super::auth::{AuthVerdict, domain_of, verify};
use super::command::{Command, Verb, carrier_and_tracking, parse_command};
use super::decision::{Decision, Email, Input, Purpose, Template};
use super::emails::in_thread;
use super::inbound::Mailbox;
use super::lifecycle::{self, Step};
use super::order::{Order, OrderState, Payment, Shipment};

pub fn command(input: &Input, d: Decision) -> Decision {
    let sender = input.msg.sender();
    // A seller answering one of our requests may say it in plain words; a fresh command must
    // be written as one.
    let answering = input
        .token
        .as_ref()
        .filter(|_| input.config.is_seller(&sender));
    let (cmd, read_as) = match answering {
        Some(t) => match read_answer(&input.msg.text, t.purpose) {
            Reading::Command { command, read_as } => (command, read_as),
            Reading::Unclear(why) => return not_understood(input, d, t.purpose, &sender, why),
        },
        None => match parse_command(&input.msg.text) {
            Some(c) => (c, None),
            None => return d.hold("a seller command that could not be read"),
        },
    };
    if !input.config.is_seller(&sender) {
        // A customer writing "cancel MC-..." means their own order; anything else is no
        // business of theirs.
        return match cmd.verb {
            Verb::Cancel => cancel(input, d),
            // "Paid" from a customer is their word that they paid: a claim.
            Verb::Paid => super::settle::claim(input, d, &sender),
            _ => d.hold(format!(
                "a seller command ({}) from {sender}, who is not one of [shop] sellers",
                cmd.verb.as_str()
            )),
        };
    }
    if matches!(cmd.verb, Verb::Reply | Verb::Resolved) {
        return match check(input, &cmd, &sender) {
            Ok(check) => super::held::answer(input, d, &cmd, &sender, &check),
            Err(why) => refuse(input, d, &cmd, &sender, why),
        };
    }
    let (order, check) = match vouch(input, &cmd, &sender) {
        Ok(v) => v,
        Err(why) => return refuse(input, d, &cmd, &sender, why),
    };
    let d = order_command(input, d, cmd, order, &sender, check, read_as);
    // An order's command in answer to an alert about a held message deals with it.
    match (&input.token, &d.attention) {
        (Some(t), None) if t.held.is_some() => {
            let mut d = d;
            d.resolve_held = t
                .held
                .clone()
                .map(|h| (h, format!("{sender} wrote a command")));
            d
        }
        _ => d,
    }
}

fn order_command(
    input: &Input,
    d: Decision,
    cmd: Command,
    order: Order,
    sender: &str,
    check: String,
    read_as: Option<String>,
) -> Decision {
    let sender = sender.to_string();
    let mut d = d;
    d.about = Some(order.reference.clone());
    let mut by = json!({ "seller": sender, "check": check, "command": cmd.verb.as_str() });
    if let Some(words) = &read_as {
        by["read_from"] = json!(words);
    }
    match cmd.verb {
        Verb::Approve => approve(input, d, order, &sender, by),
        Verb::Reject => reject(input, d, order, &cmd.rest, &sender, by),
        Verb::Shipped => shipped(input, d, order, &cmd.rest, &sender, by),
        Verb::Cancel => cancel_by_shop(input, d, order, &cmd.rest, &sender, by),
        Verb::Paid => {
            if order.state != OrderState::AwaitingPayment {
                return not_applicable(input, d, &order, &sender, "is not awaiting payment");
            }
            // Confirming the notice we proposed: the bank's transaction and payer are kept.
            let proposed = input
                .proposed_payment
                .as_ref()
                .filter(|p| p.amount == Some(order.outstanding()));
            let payment = Payment {
                amount: order.outstanding(),
                currency: order.currency.clone(),
                transaction_id: proposed.and_then(|p| p.transaction_id.clone()),
                provider: match proposed {
                    Some(p) => format!("{} (confirmed by seller {sender})", p.provider),
                    None => format!("seller {sender}"),
                },
                payer: proposed.and_then(|p| p.payer.clone()),
                at: input.now,
            };
            let mut d = super::settle::paid_by_seller(input, d, order, payment, by);
            // Every seller was asked whether a payment was this order's; one answer settles it.
            if let Some(order) = &d.order {
                d.retire_tokens = Some((order.reference.clone(), Purpose::Payment));
            }
            d
        }
        Verb::Returned => super::returned::returned(input, d, order, &cmd.rest, &sender, by),
        Verb::Refunded => {
            let mut order = order;
            if lifecycle::take(input, &mut order, Step::Refund, by, &mut d).is_err() {
                return not_applicable(input, d, &order, &sender, "has no refund due");
            }
            d.order = Some(order);
            d
        }
        // Answered before the order is looked up (`command`).
        Verb::Reply | Verb::Resolved => d.hold("`reply` and `resolved` answer a held message"),
        Verb::Note => {
            let mut order = order;
            order.notes.push(format!("{sender}: {}", cmd.rest));
            d.event(
                "note",
                json!({ "by": sender, "text": cmd.rest, "check": check }),
            );
            d.order = Some(order);
            d
        }
    }
}

/// Which order the command is about, and what vouched for it; or why nothing does.
fn vouch(input: &Input, cmd: &Command, sender: &str) -> Result<(Order, String), String> {
    let check = check(input, cmd, sender)?;
    let order = input
        .order
        .clone()
        .filter(|o| match (&input.token, &cmd.reference) {
            (Some(t), _) => t.order_ref.as_deref() == Some(o.reference.as_str()),
            (None, Some(r)) => o.reference.eq_ignore_ascii_case(r),
            (None, None) => false,
        })
        .ok_or_else(|| match &cmd.reference {
            Some(r) => format!("there is no order {r}"),
            None => "the order it is about could not be found".to_string(),
        })?;
    Ok((order, check))
}

/// What vouches for the command (the token it carries back, the server's authentication); or
/// why nothing does.
fn check(input: &Input, cmd: &Command, sender: &str) -> Result<String, String> {
    let mut check = match &input.token {
        Some(t) => {
            if !t.seller.eq_ignore_ascii_case(sender) {
                return Err(format!(
                    "it replies to a request sent to {}, not to {sender}",
                    t.seller
                ));
            }
            if t.used {
                return Err(format!(
                    "the request it replies to ({}) was already answered",
                    t.order_ref.as_deref().or(t.held.as_deref()).unwrap_or("")
                ));
            }
            if input.now > t.expires_at {
                return Err(format!(
                    "the request it replies to expired at {}",
                    t.expires_at
                ));
            }
            if let Some(r) = &cmd.reference
                && t.order_ref
                    .as_deref()
                    .is_none_or(|o| !r.eq_ignore_ascii_case(o))
            {
                return Err(format!(
                    "it names {r} but replies to the request about {}",
                    t.order_ref.as_deref().unwrap_or("no order")
                ));
            }
            // An alert about a held message takes every command that fits its order.
            let hold = t.purpose == Purpose::Hold;
            let fits = match cmd.verb {
                Verb::Approve | Verb::Reject => hold || t.purpose == Purpose::Approval,
                Verb::Shipped => hold || t.purpose == Purpose::Fulfilment,
                // A bare `paid` answers only the question whether a payment was this order's.
                Verb::Paid if cmd.reference.is_none() => hold || t.purpose == Purpose::Payment,
                Verb::Reply | Verb::Resolved => t.held.is_some(),
                _ => true,
            };
            if !fits {
                return Err(format!(
                    "`{}` does not answer a {} request",
                    cmd.verb.as_str(),
                    t.purpose.as_str()
                ));
            }
            format!("token of {} request", t.purpose.as_str())
        }
        None if matches!(cmd.verb, Verb::Reply | Verb::Resolved) => {
            return Err(format!(
                "`{}` answers an alert about a held message: reply to that email",
                cmd.verb.as_str()
            ));
        }
        None => {
            let Some(r) = &cmd.reference else {
                return Err(
                    "it neither replies to a request of ours nor names an order reference".into(),
                );
            };
            if input.config.security.authserv_id.is_none() {
                return Err(format!(
                    "a fresh command naming {r} needs [security] authserv_id, so that mailcart can tell a seller's mail from a forgery"
                ));
            }
            "fresh command".to_string()
        }
    };
    if let Some(authserv_id) = &input.config.security.authserv_id {
        match verify(
            &input.msg.authentication_results,
            authserv_id,
            domain_of(sender),
        ) {
            AuthVerdict::Pass(how) => check.push_str(&format!(", {how}")),
            AuthVerdict::Fail(why) => return Err(format!("it failed authentication: {why}")),
        }
    }
    Ok(check)
}

/// Nothing changes; the reason is logged, the message held, the seller told once.
fn refuse(input: &Input, d: Decision, cmd: &Command, sender: &str, why: String) -> Decision {
    let mut d = d;
    d.event(
        "command_refused",
        json!({ "from": sender, "command": cmd.verb.as_str(), "reference": cmd.reference, "reason": why }),
    );
    let about = cmd
        .reference
        .clone()
        .or_else(|| input.token.as_ref().and_then(|t| t.order_ref.clone()));
    d.about = input
        .order
        .as_ref()
        .map(|o| o.reference.clone())
        .filter(|r| about.as_deref() == Some(r));
    let mut notice = to_seller(
        input,
        sender,
        "An unverified command was ignored".into(),
        format!(
            "mailcart received `{}{}` from {sender} and did nothing, because {why}.\n\nIf you sent it, reply to the request email mailcart sent you (approval requests and packing slips), with the command on the first line. If you did not send it, someone may be writing in your name.",
            cmd.verb.as_str(),
            cmd.reference
                .as_ref()
                .map(|r| format!(" {r}"))
                .unwrap_or_default()
        ),
    );
    notice.once = Some(format!(
        "refused.{sender}.{}",
        about.as_deref().unwrap_or("none")
    ));
    d.emails.push(notice);
    d.hold(format!(
        "seller command `{}` from {sender} ignored: {why}",
        cmd.verb.as_str()
    ))
}

/// A seller's answer to a request that is neither a command nor a plain yes or no: nothing
/// changes, and the seller is told at once what was not understood and what to write. An
/// answer that fails the checks of a command (another seller's request, a stale token, failed
/// authentication) is refused as a command would be.
fn not_understood(
    input: &Input,
    d: Decision,
    purpose: Purpose,
    sender: &str,
    why: String,
) -> Decision {
    let probe = Command {
        verb: Verb::Note,
        reference: None,
        rest: String::new(),
    };
    if let Err(refused) = check(input, &probe, sender) {
        return d.hold(format!(
            "an answer from {sender} that was not understood ({why}), and not accepted: {refused}"
        ));
    }
    let order = input.order.as_ref().filter(|o| {
        input.token.as_ref().and_then(|t| t.order_ref.as_deref()) == Some(o.reference.as_str())
    });
    let about = match order {
        Some(o) => format!("order {} (still {})", o.reference, o.state.as_str()),
        None => "the held message".to_string(),
    };
    let mut d = d;
    d.about = order.map(|o| o.reference.clone());
    d.event(
        "answer_not_understood",
        json!({ "from": sender, "purpose": purpose.as_str(), "reason": why }),
    );
    let commands: Vec<String> = what_to_write(purpose)
        .iter()
        .map(|c| format!("    {c}"))
        .collect();
    d.emails.push(to_seller(
        input,
        sender,
        format!(
            "Not understood: your answer about {}",
            order.map_or("a held message".to_string(), |o| format!("order {}", o.reference))
        ),
        format!(
            "mailcart did not act on your answer to its {} request about {about}, because {why}. Nothing has changed.\n\nPlease reply to this email, or to the request, with one of these on the first line:\n\n{}",
            purpose.as_str(),
            commands.join("\n")
        ),
    ));
    d
}

pub(super) fn not_applicable(
    input: &Input,
    mut d: Decision,
    order: &Order,
    sender: &str,
    what: &str,
) -> Decision {
    d.event(
        "command_not_applicable",
        json!({ "from": sender, "order": order.reference, "state": order.state.as_str(), "reason": what }),
    );
    d.emails.push(to_seller(
        input,
        sender,
        format!("Nothing done: order {} {what}", order.reference),
        format!(
            "Order {} is {}, so the command changed nothing. `mailcart order {}` shows its history.",
            order.reference,
            order.state.as_str(),
            order.reference
        ),
    ));
    d
}

fn approve(
    input: &Input,
    mut d: Decision,
    mut order: Order,
    sender: &str,
    by: serde_json::Value,
) -> Decision {
    if lifecycle::take(input, &mut order, Step::Approve, by, &mut d).is_err() {
        return not_applicable(input, d, &order, sender, "is not awaiting approval");
    }
    d.event(
        "quote_sent",
        json!({ "order": order.reference, "total": order.totals.total.to_string() }),
    );
    d.emails.push(in_thread(
        &order,
        &input.thread,
        format!("Your order {}: quote and payment details", order.reference),
        Template::Quote {
            order: order.clone(),
            shortages: Vec::new(),
        },
    ));
    d.emails.push(to_seller(
        input,
        sender,
        format!("Approved: order {}", order.reference),
        format!(
            "Order {} is approved and the quote went to {}.",
            order.reference, order.customer.email
        ),
    ));
    answered(d, order, Purpose::Approval)
}

fn reject(
    input: &Input,
    mut d: Decision,
    mut order: Order,
    reason: &str,
    sender: &str,
    by: serde_json::Value,
) -> Decision {
    let step = Step::Reject {
        reason: reason.to_string(),
    };
    if lifecycle::take(input, &mut order, step, by, &mut d).is_err() {
        return not_applicable(input, d, &order, sender, "is not awaiting approval");
    }
    d.emails.push(in_thread(
        &order,
        &input.thread,
        format!("Your order {}", order.reference),
        Template::Rejected {
            order: order.clone(),
            reason: reason.to_string(),
        },
    ));
    d.emails.push(to_seller(
        input,
        sender,
        format!("Rejected: order {}", order.reference),
        format!(
            "Order {} is rejected, its stock released, and {} was told{}.",
            order.reference,
            order.customer.email,
            if reason.is_empty() {
                String::new()
            } else {
                format!(": \"{reason}\"")
            }
        ),
    ));
    answered(d, order, Purpose::Approval)
}

fn shipped(
    input: &Input,
    mut d: Decision,
    mut order: Order,
    rest: &str,
    sender: &str,
    by: serde_json::Value,
) -> Decision {
    if order.state != OrderState::Paid {
        return not_applicable(input, d, &order, sender, "is not paid and waiting to ship");
    }
    let names = input.config.carrier_names();
    let Some((carrier, tracking)) = carrier_and_tracking(rest, &names) else {
        return not_applicable(
            input,
            d,
            &order,
            sender,
            "was not marked shipped: write `shipped CARRIER TRACKING-NUMBER`",
        );
    };
    let shipment = Shipment {
        url: input.config.tracking_url(&carrier, &tracking),
        carrier,
        tracking,
        at: input.now,
    };
    if let Err(why) = lifecycle::take(input, &mut order, Step::Ship { shipment }, by, &mut d) {
        return d.hold(why);
    }
    d.emails.push(in_thread(
        &order,
        &input.thread,
        format!("Order {} has shipped", order.reference),
        Template::Shipped {
            order: order.clone(),
        },
    ));
    answered(d, order, Purpose::Fulfilment)
}

fn cancel_by_shop(
    input: &Input,
    mut d: Decision,
    mut order: Order,
    reason: &str,
    sender: &str,
    by: serde_json::Value,
) -> Decision {
    let step = Step::Cancel {
        reason: if reason.is_empty() {
            "cancelled by the shop".to_string()
        } else {
            format!("cancelled by the shop: {reason}")
        },
    };
    if lifecycle::take(input, &mut order, step, by, &mut d).is_err() {
        return not_applicable(input, d, &order, sender, "cannot be cancelled any more");
    }
    d.emails.push(in_thread(
        &order,
        &input.thread,
        format!("Order {} cancelled", order.reference),
        Template::CancelledByShop {
            order: order.clone(),
            reason: reason.to_string(),
        },
    ));
    if order.refund_due {
        d.emails.push(to_seller(
        input,
            sender,
            format!("Refund due: order {}", order.reference),
            format!(
                "Order {} was paid ({} {}) and is now cancelled; its items are back in stock. Please refund {}, then write `refunded {}`.",
                order.reference,
                order.paid(),
                order.currency,
                order.customer.email,
                order.reference
            ),
        ));
    }
    d.order = Some(order);
    d
}

/// The command was carried out: the order is saved and every request of `purpose` about it is
/// answered (its tokens retired).
fn answered(mut d: Decision, order: Order, purpose: Purpose) -> Decision {
    d.retire_tokens = Some((order.reference.clone(), purpose));
    d.order = Some(order);
    d
}

/// A short notice to the seller who wrote, threaded under their message.
pub(super) fn to_seller(input: &Input, seller: &str, subject: String, text: String) -> Email {
    let msg = input.msg;
    let mut references = msg.references.clone();
    references.push(msg.message_id.clone());
    Email {
        to: vec![Mailbox {
            name: None,
            email: seller.to_string(),
        }],
        in_reply_to: Some(msg.message_id.clone()),
        references,
        subject,
        template: Template::Alert { text },
        to_customer: false,
        command: None,
        once: None,
        attach_inbound: false,
        language: None,
    }
}
