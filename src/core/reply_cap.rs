//! Loop protection. An auto-responder that sends no loop headers looks like a customer, and a
//! flood of forged orders looks like many. What gives a loop away is that it echoes: the same
//! text comes back, or an answer to our mail with nothing in it (`core::echo`). So the tight
//! cap counts the echoes we answered from one address, not the replies we sent: ten distinct
//! orders are ten answers. Far higher caps on all replies to one address (a loop whose text
//! changes every time) and on replies to everyone (the circuit breaker) stay behind it.
//! Past a cap the correspondent (or, past the global cap, every customer) is paused: nothing
//! more goes to them automatically, their mail is kept for a person, and the sellers are told
//! once. A pause is a circuit breaker, not a rate limit: a rate limit lets a slow loop run all
//! day, a pause stops it until it has been quiet for `pause_hours` or a person resumes it.

use serde::Serialize;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::classify::Kind;
use super::decision::{CommandRequest, Decision, Input, Purpose};
use super::echo::{self, Echo};
use super::emails::seller_alert;
use super::lifecycle::{self, Step};
use crate::config::Limits;

/// The scope of the breaker that holds every customer.
pub const ALL: &str = "*";

/// Automatic replies already sent (or queued), and echoes already answered, as the caps count
/// them. The counts for one correspondent start again when a person resumes them.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecentReplies {
    /// To this correspondent in the last hour.
    pub to_them_hour: u32,
    /// To this correspondent in the last 24 hours.
    pub to_them_day: u32,
    /// To all customers in the last hour.
    pub to_all_hour: u32,
    /// Earlier messages from this sender in the last 24 hours with this message's text
    /// (`echo::fingerprint`).
    pub same_text: u32,
    /// Echoes from this sender answered automatically in the last 24 hours.
    pub echoes_day: u32,
}

/// The window the echo counts look back over.
pub const ECHO_WINDOW_HOURS: i64 = 24;

/// A pause as stored: `scope` is a lower-case address, or `ALL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pause {
    pub scope: String,
    pub opened_at: OffsetDateTime,
    pub last_held_at: OffsetDateTime,
    pub reason: String,
}

impl Pause {
    /// Still holding mail at `now`: it lifts `hours` after the last message it held.
    pub fn active(&self, now: OffsetDateTime, hours: u32) -> bool {
        now < self.last_held_at + Duration::hours(hours.into())
    }
}

/// What the store does with the pauses after a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum PauseChange {
    Open {
        scope: String,
        reason: String,
    },
    /// An open pause held one more message: it lasts `pause_hours` from now.
    Held {
        scope: String,
    },
}

pub fn apply(input: &Input, d: &mut Decision) {
    let wanted = d.emails.iter().filter(|e| e.to_customer).count() as u32;
    // A seller's command is a person acting (and a forged one sends nothing to customers).
    if wanted == 0 || input.parsed.kind == Kind::SellerCommand {
        return;
    }
    let limits = &input.config.limits;
    let who = input
        .parsed
        .customer
        .as_ref()
        .map(|c| c.email.to_ascii_lowercase())
        .unwrap_or_default();
    let holding = input.pauses.iter().find(|p| {
        (p.scope == ALL || (!who.is_empty() && p.scope == who))
            && p.active(input.now, limits.pause_hours)
    });
    if let Some(p) = holding {
        let reason = format!(
            "automatic replies {} paused since {}: {}",
            if p.scope == ALL {
                "to all customers".to_string()
            } else {
                format!("to {}", p.scope)
            },
            p.opened_at.date(),
            p.reason
        );
        suppress(input, d, &p.scope, reason);
        d.pause = Some(PauseChange::Held {
            scope: p.scope.clone(),
        });
        return;
    }
    // Only an answer to the sender can feed a loop with them (a payment provider's notice is
    // answered to the customer).
    let answers_sender = d
        .emails
        .iter()
        .any(|e| e.to_customer && e.to.iter().any(|m| m.email.eq_ignore_ascii_case(&who)));
    let echo = answers_sender
        .then(|| {
            echo::classify(
                input.msg,
                input.parsed,
                input.config.shop_domain(),
                input.recent.same_text,
            )
        })
        .flatten();
    let Some((scope, reason)) = trip(limits, &who, &input.recent, wanted, echo) else {
        // Answered: an echo is counted from now on.
        d.echo = echo;
        return;
    };
    suppress(input, d, &scope, format!("reply cap reached: {reason}"));
    d.event(
        "replies_paused",
        json!({ "scope": scope, "reason": reason }),
    );
    let mut alerts = alert(input, &scope, &reason);
    for a in &mut alerts {
        // A seller answers it by email as any alert about a held message: `resolved` lifts
        // the pause and sends what it held back, `reply <text>` answers this message.
        a.command = Some(CommandRequest {
            purpose: Purpose::Hold,
            expires_at: input.now + Duration::days(super::held::ANSWER_DAYS),
        });
        a.attach_inbound = true;
        // One alert per pause, even if this decision is replayed.
        let seller = a.to.first().map(|m| m.email.as_str()).unwrap_or_default();
        a.once = Some(format!(
            "pause.{}.{}.{seller}",
            if scope == ALL { "all" } else { &scope },
            input.now.unix_timestamp()
        ));
    }
    d.emails.extend(alerts);
    d.pause = Some(PauseChange::Open { scope, reason });
}

/// The cap this reply would pass, if any: (the scope to pause, why).
fn trip(
    limits: &Limits,
    who: &str,
    r: &RecentReplies,
    wanted: u32,
    echo: Option<Echo>,
) -> Option<(String, String)> {
    let mine = |reason: String| Some((who.to_string(), reason));
    if who.is_empty() {
        // Nobody to pause but everybody.
    } else if let Some(e) = echo
        && r.echoes_day + 1 > limits.repeats_per_correspondent_per_day
    {
        let what = match e {
            Echo::Repeat => "the same text again",
            Echo::EmptyAnswer => "an answer with nothing to act on",
        };
        return mine(format!(
            "{what} from {who}, after {} such messages answered in the last 24 hours (cap {})",
            r.echoes_day, limits.repeats_per_correspondent_per_day
        ));
    } else if r.to_them_hour + wanted > limits.replies_per_correspondent_per_hour {
        return mine(format!(
            "{} automatic replies to {who} in the last hour (cap {})",
            r.to_them_hour, limits.replies_per_correspondent_per_hour
        ));
    } else if r.to_them_day + wanted > limits.replies_per_correspondent_per_day {
        return mine(format!(
            "{} automatic replies to {who} in the last 24 hours (cap {})",
            r.to_them_day, limits.replies_per_correspondent_per_day
        ));
    }
    (r.to_all_hour + wanted > limits.replies_per_hour).then(|| {
        (
            ALL.to_string(),
            format!(
                "{} automatic replies to customers in the last hour (cap {})",
                r.to_all_hour, limits.replies_per_hour
            ),
        )
    })
}

/// Hold back every email to the customer. The record must not claim what did not happen: the
/// events that say a quote or a question went out are dropped (the release writes them), and
/// an order waiting on this answer says so, with no payment deadline running meanwhile.
fn suppress(input: &Input, d: &mut Decision, scope: &str, reason: String) {
    d.emails.retain(|e| !e.to_customer);
    d.events.retain(|e| !CLAIMS_SENT.contains(&e.kind));
    d.event(
        "reply_suppressed",
        json!({ "scope": scope, "reason": reason }),
    );
    if let Some(mut order) = d.order.take() {
        // Only a waiting order can wait for its answer; any other keeps its state, and the
        // held message waits for a person like every other.
        let _ = lifecycle::apply(
            &mut order,
            Step::HoldReply {
                reason: reason.clone(),
            },
            json!("reply cap"),
            input.now,
            input.config,
            d,
        );
        d.order = Some(order);
    }
    d.attention = Some(reason);
}

/// Events that say an email reached the customer.
const CLAIMS_SENT: [&str; 2] = ["quote_sent", "details_requested"];

fn alert(input: &Input, scope: &str, reason: &str) -> Vec<super::decision::Email> {
    let hours = input.config.limits.pause_hours;
    if scope == ALL {
        seller_alert(
            input.config,
            "Automatic replies to customers are paused",
            &format!(
                "mailcart has stopped sending automatic replies to customers: {reason}. This \
                 looks like a mail loop, or a flood of forged orders. Nothing is lost: every \
                 message is kept for you (`mailcart review`), and orders wait for their answers \
                 with no deadline running. Automatic replies resume {hours} hours after the \
                 last message held back; at once, with what was held back sent, with \
                 `mailcart resume --all`."
            ),
        )
    } else {
        seller_alert(
            input.config,
            &format!("Automatic replies to {scope} are paused"),
            &format!(
                "mailcart has stopped answering {scope} automatically: {reason}. This looks \
                 like a mail loop with an auto-responder, or someone writing very often. Their \
                 messages are kept for you (`mailcart review`), and so are the answers to \
                 their orders, which wait with no deadline running. Automatic replies to them \
                 resume {hours} hours after their last message; at once, with what was held \
                 back sent, when you reply `resolved` to this email or run \
                 `mailcart resume {scope}`."
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(to_them_hour: u32, to_them_day: u32, echoes_day: u32) -> RecentReplies {
        RecentReplies {
            to_them_hour,
            to_them_day,
            echoes_day,
            ..Default::default()
        }
    }

    #[test]
    fn echoes_meet_the_tight_cap_and_distinct_mail_the_far_higher_one() {
        let limits = Limits::default();
        let pat = "pat@example.test";
        let scope = |r: RecentReplies, echo| trip(&limits, pat, &r, 1, echo).map(|(s, _)| s);
        // Three echoes answered: the fourth pauses; the same counts without an echo do not.
        assert_eq!(
            scope(counts(3, 3, 3), Some(Echo::Repeat)).as_deref(),
            Some(pat)
        );
        assert_eq!(
            scope(counts(3, 3, 3), Some(Echo::EmptyAnswer)).as_deref(),
            Some(pat)
        );
        assert_eq!(scope(counts(2, 2, 2), Some(Echo::Repeat)), None);
        assert_eq!(scope(counts(3, 3, 3), None), None);
        // Distinct mail: 29 replies in the hour pass, the 30th reply is the last one.
        assert_eq!(scope(counts(29, 29, 0), None), None);
        assert_eq!(scope(counts(30, 30, 0), None).as_deref(), Some(pat));
        assert_eq!(scope(counts(0, 100, 0), None).as_deref(), Some(pat));
        // No address to pause: only the breaker.
        let r = RecentReplies {
            to_all_hour: 1000,
            ..counts(0, 0, 9)
        };
        assert_eq!(
            trip(&limits, "", &r, 1, Some(Echo::Repeat))
                .map(|(s, _)| s)
                .as_deref(),
            Some(ALL)
        );
        assert_eq!(
            trip(&limits, "", &counts(0, 0, 9), 1, Some(Echo::Repeat)),
            None
        );
    }
}
