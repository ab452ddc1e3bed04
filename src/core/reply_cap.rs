//! Loop protection. An auto-responder that sends no loop headers looks like a customer, and a
//! flood of forged orders looks like many; what gives them away is how often we would answer.
//! Past a cap the correspondent (or, past the global cap, every customer) is paused: nothing
//! more goes to them automatically, their mail is kept for a person, and the sellers are told
//! once. A pause is a circuit breaker, not a rate limit: a rate limit lets a slow loop run all
//! day, a pause stops it until it has been quiet for `pause_hours` or a person resumes it.

use serde::Serialize;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::classify::Kind;
use super::decision::{Decision, Input};
use super::emails::seller_alert;

/// The scope of the breaker that holds every customer.
pub const ALL: &str = "*";

/// Automatic replies already sent (or queued), as the caps count them.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecentReplies {
    /// To this correspondent in the last hour.
    pub to_them_hour: u32,
    /// To this correspondent in the last 24 hours.
    pub to_them_day: u32,
    /// To all customers in the last hour.
    pub to_all_hour: u32,
}

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
        suppress(d, &p.scope, reason);
        d.pause = Some(PauseChange::Held {
            scope: p.scope.clone(),
        });
        return;
    }
    let r = input.recent;
    let trip = if !who.is_empty()
        && r.to_them_hour + wanted > limits.replies_per_correspondent_per_hour
    {
        Some((
            who.clone(),
            format!(
                "{} automatic replies to {who} in the last hour (cap {})",
                r.to_them_hour, limits.replies_per_correspondent_per_hour
            ),
        ))
    } else if !who.is_empty() && r.to_them_day + wanted > limits.replies_per_correspondent_per_day {
        Some((
            who.clone(),
            format!(
                "{} automatic replies to {who} in the last 24 hours (cap {})",
                r.to_them_day, limits.replies_per_correspondent_per_day
            ),
        ))
    } else if r.to_all_hour + wanted > limits.replies_per_hour {
        Some((
            ALL.to_string(),
            format!(
                "{} automatic replies to customers in the last hour (cap {})",
                r.to_all_hour, limits.replies_per_hour
            ),
        ))
    } else {
        None
    };
    let Some((scope, reason)) = trip else {
        return;
    };
    suppress(d, &scope, format!("reply cap reached: {reason}"));
    d.event(
        "replies_paused",
        json!({ "scope": scope, "reason": reason }),
    );
    let mut alerts = alert(input, &scope, &reason);
    for a in &mut alerts {
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

fn suppress(d: &mut Decision, scope: &str, reason: String) {
    d.emails.retain(|e| !e.to_customer);
    d.event(
        "reply_suppressed",
        json!({ "scope": scope, "reason": reason }),
    );
    d.attention = Some(reason);
}

fn alert(input: &Input, scope: &str, reason: &str) -> Vec<super::decision::Email> {
    let hours = input.config.limits.pause_hours;
    if scope == ALL {
        seller_alert(
            input.config,
            "Automatic replies to customers are paused",
            &format!(
                "mailcart has stopped sending automatic replies to customers: {reason}. This \
                 looks like a mail loop, or a flood of forged orders. Nothing is lost: every \
                 message is kept for you (`mailcart review`). Automatic replies resume {hours} \
                 hours after the last message held back, or at once with `mailcart resume --all`."
            ),
        )
    } else {
        seller_alert(
            input.config,
            &format!("Automatic replies to {scope} are paused"),
            &format!(
                "mailcart has stopped answering {scope} automatically: {reason}. This looks \
                 like a mail loop with an auto-responder, or someone writing very often. Their \
                 messages are kept for you (`mailcart review`). Automatic replies to them \
                 resume {hours} hours after their last message, or at once with \
                 `mailcart resume {scope}`."
            ),
        )
    }
}
