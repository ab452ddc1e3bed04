//! A customer's answer to our feedback request (`[feedback] after_days`): kept as the order's
//! feedback and thanked for once. Never a question back. What asks for something (a return,
//! a refund, something broken or missing, a question) is kept too, and goes to a person; a
//! cancellation or a status question is not feedback at all and takes its usual route.

use std::sync::LazyLock;

use regex::Regex;

use super::classify::Kind;
use super::decide::{first_chars, is_courtesy};
use super::decision::{Decision, FeedbackEntry, Input, Template};
use super::emails::{belongs_to_sender, reply};
use super::lifecycle::{self, Step};
use super::order::OrderState;

/// The most of a customer's words kept as one piece of feedback.
const MAX_CHARS: usize = 2000;

/// "4/5", "4 out of 5", "5 stars", "5 Sterne", "5 étoiles", "4,5/5" (read as 4).
static RATING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|[^\d.,])([1-5])(?:[.,]\d)?\s*(?:/|out of|of|von|sur|de|su|van|op)\s*5(?:$|[^\d])|(?:^|[^\d.,])([1-5])\s*(?:stars?|sterne?|étoiles?|estrellas?|stelle|sterren)(?:$|\W)")
        .unwrap()
});

/// What a person should answer: something to put right, or a question.
static ASKS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|\W)(?:return(?:ing|ed)?|refund(?:ed)?|exchange|replace(?:ment)?|broken|broke|damaged|cracked|chipped|smashed|missing|wrong (?:item|size|colou?r|one|thing|product|address)|sent the wrong|faulty|defective|complain(?:t)?|never (?:arrived|came|got)|not (?:arrived|received)|didn'?t (?:arrive|come|get)|contact me|call me|rücksendung|erstattung|kaputt|beschädigt|remboursement|cassée?|abîmée?|reembolso|roto|rota|dañado)(?:$|\W)")
        .unwrap()
});

/// The decision for a reply in our feedback request's thread, or `None` when it is not
/// feedback (machine mail, someone else, a new order, a cancellation ...): then the message
/// takes its usual route.
pub fn answer(input: &Input) -> Option<Decision> {
    if !input.answers_feedback_request {
        return None;
    }
    let parsed = input.parsed;
    // A reply naming products with quantities may be a new order, and takes that route;
    // unless it is about putting something right ("2 mugs arrived broken").
    let person = match parsed.kind {
        Kind::CustomerReply => true,
        Kind::Order => parsed.requested.items.is_empty() || ASKS.is_match(&input.msg.text),
        _ => false,
    };
    let mut order = input
        .order
        .clone()
        .filter(|o| person && o.state == OrderState::Shipped && o.feedback_requested)
        .filter(|o| belongs_to_sender(o, input))?;
    let text = input.msg.text.trim();
    // "Thanks!" to our thank-you is no more feedback than an empty reply.
    if text.is_empty() || (order.feedback_thanked && is_courtesy(text)) {
        return None;
    }
    let mut d = Decision {
        about: Some(order.reference.clone()),
        feedback: Some(FeedbackEntry {
            order_ref: order.reference.clone(),
            text: first_chars(text, MAX_CHARS),
            rating: rating(text),
        }),
        ..Decision::default()
    };
    if let Some(what) = asks_for_something(input) {
        return Some(d.hold(format!(
            "feedback on {} that {what}: a person should answer",
            order.reference
        )));
    }
    if order.feedback_thanked {
        return Some(d);
    }
    if let Err(why) = lifecycle::take(
        input,
        &mut order,
        Step::ThankForFeedback,
        serde_json::json!("customer"),
        &mut d,
    ) {
        return Some(d.hold(why));
    }
    d.emails.push(reply(
        input,
        format!("Thank you: order {}", order.reference),
        Template::FeedbackThanks {
            order: order.clone(),
        },
    ));
    d.order = Some(order);
    Some(d)
}

/// A rating out of 5 the customer wrote, if they wrote one.
pub fn rating(text: &str) -> Option<u8> {
    if let Some(c) = RATING.captures(text) {
        let n = c.get(1).or_else(|| c.get(2))?;
        return n.as_str().parse().ok();
    }
    let stars = text.chars().filter(|c| *c == '★').count();
    (1..=5).contains(&stars).then_some(stars as u8)
}

/// Why the feedback needs a person's answer, if it does.
fn asks_for_something(input: &Input) -> Option<&'static str> {
    let text = &input.msg.text;
    if ASKS.is_match(text) {
        Some("asks for something to be put right")
    } else if text.contains('?') {
        Some("asks a question")
    } else if input.parsed.shipping_address.is_some() {
        Some("gives an address")
    } else {
        None
    }
}

#[cfg(test)]
#[path = "feedback_tests.rs"]
mod tests;
