//! The sellers' daily digest of what still waits for a person (`[alerts] digest_hour`): held
//! messages with why and since when, orders still waiting for an approval, and how much spam
//! came in the last day (spam is never held, only counted). None on a day when nothing waits.
//! Run by the timers every minute; each seller's digest has a key a day, so it goes out once,
//! at the hour or at the first tick after it.

use time::OffsetDateTime;

use super::decision::Decision;
use super::emails::seller_alert;
use crate::config::Config;

/// A message held for a person, not yet dealt with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub since: OffsetDateTime,
    pub from: Option<String>,
    pub subject: Option<String>,
    pub order_ref: Option<String>,
    pub reason: String,
}

/// The digest due at `now`, if one is: the hour has come and something waits.
pub fn digest(
    config: &Config,
    now: OffsetDateTime,
    held: &[Waiting],
    approvals: &[(String, OffsetDateTime)],
    answers_held: &[(String, String)],
    spam_last_day: u64,
) -> Option<Decision> {
    let hour = config.alerts.digest_hour?;
    let now = now.to_offset(time::UtcOffset::UTC);
    if now.hour() < hour || (held.is_empty() && approvals.is_empty() && answers_held.is_empty()) {
        return None;
    }
    let mut text = String::new();
    if !held.is_empty() {
        text.push_str(&format!(
            "{} held for a person, oldest first (answer each by replying to its alert, or see `mailcart review`):\n\n",
            count(held.len(), "message", "messages")
        ));
        let mut held: Vec<&Waiting> = held.iter().collect();
        held.sort_by_key(|w| w.since);
        for w in held {
            text.push_str(&format!(
                "- since {} ({}): {}, \"{}\"{}\n  {}\n",
                when(w.since),
                age(now, w.since),
                w.from.as_deref().unwrap_or("no sender"),
                w.subject.as_deref().unwrap_or(""),
                w.order_ref
                    .as_ref()
                    .map(|r| format!(", order {r}"))
                    .unwrap_or_default(),
                w.reason
            ));
        }
        text.push('\n');
    }
    if !approvals.is_empty() {
        text.push_str(&format!(
            "{} waiting for approval (reply `approve` or `reject <reason>` to its request):\n\n",
            count(approvals.len(), "order", "orders")
        ));
        for (r, since) in approvals {
            text.push_str(&format!(
                "- {r}, since {} ({})\n",
                when(*since),
                age(now, *since)
            ));
        }
        text.push('\n');
    }
    if !answers_held.is_empty() {
        text.push_str(&format!(
            "{} waiting for an answer the loop caps held back, with no deadline running (`mailcart resume <address>` sends them):\n\n",
            count(answers_held.len(), "order", "orders")
        ));
        for (r, customer) in answers_held {
            text.push_str(&format!("- {r}, to {customer}\n"));
        }
        text.push('\n');
    }
    if spam_last_day > 0 {
        text.push_str(&format!(
            "Spam in the last 24 hours, stored and not answered: {spam_last_day}.\n"
        ));
    }
    let subject = format!(
        "Waiting for you: {} held, {} to approve",
        held.len(),
        approvals.len()
    );
    let mut d = Decision {
        emails: seller_alert(config, &subject, text.trim_end()),
        ..Decision::default()
    };
    for e in &mut d.emails {
        let seller = e.to.first().map(|m| m.email.as_str()).unwrap_or_default();
        e.once = Some(format!("digest.{}.{seller}", now.date()));
    }
    Some(d)
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn when(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{} {:02}:{:02} UTC", t.date(), t.hour(), t.minute())
}

/// "3 days", "5 hours", "under an hour".
fn age(now: OffsetDateTime, since: OffsetDateTime) -> String {
    let d = now - since;
    match (d.whole_days(), d.whole_hours()) {
        (days, _) if days >= 2 => format!("{days} days"),
        (1, _) => "1 day".into(),
        (_, hours) if hours >= 2 => format!("{hours} hours"),
        (_, 1) => "1 hour".into(),
        _ => "under an hour".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn config(hour: Option<u8>) -> Config {
        let mut c = Config::from_toml(crate::EXAMPLE_CONFIG, std::path::Path::new("x")).unwrap();
        c.alerts.digest_hour = hour;
        c
    }

    fn question() -> Waiting {
        Waiting {
            since: datetime!(2026-12-01 09:30 UTC),
            from: Some("pat@example.test".into()),
            subject: Some("Re: Your order".into()),
            order_ref: Some("MC-7K2QXD9FP".into()),
            reason: "customer reply about order MC-7K2QXD9FP: a person should answer".into(),
        }
    }

    #[test]
    fn a_digest_at_the_hour_when_something_waits() {
        let at_eight = datetime!(2026-12-03 08:00 UTC);
        let d = digest(&config(Some(8)), at_eight, &[question()], &[], &[], 3).unwrap();
        assert_eq!(d.emails.len(), config(None).shop.sellers.len());
        let e = &d.emails[0];
        assert!(!e.to_customer && e.command.is_none());
        assert_eq!(
            e.once.as_deref(),
            Some(format!("digest.2026-12-03.{}", e.to[0].email).as_str()),
            "one a day for each seller"
        );
        let super::super::decision::Template::Alert { text } = &e.template else {
            panic!("{:?}", e.template)
        };
        for what in [
            "1 message held for a person",
            "since 2026-12-01 09:30 UTC (1 day)",
            "pat@example.test, \"Re: Your order\", order MC-7K2QXD9FP",
            "a person should answer",
            "Spam in the last 24 hours, stored and not answered: 3.",
        ] {
            assert!(text.contains(what), "{what:?} in {text}");
        }
        let approvals = [("MC-AAAA1111B".to_string(), datetime!(2026-12-03 05:00 UTC))];
        let d = digest(&config(Some(8)), at_eight, &[], &approvals, &[], 0).unwrap();
        let super::super::decision::Template::Alert { text } = &d.emails[0].template else {
            panic!()
        };
        assert!(
            text.contains("- MC-AAAA1111B, since 2026-12-03 05:00 UTC (3 hours)"),
            "{text}"
        );
        assert!(!text.contains("Spam"), "{text}");
    }

    #[test]
    fn no_digest_before_the_hour_when_nothing_waits_or_when_off() {
        let w = [question()];
        assert!(
            digest(
                &config(Some(8)),
                datetime!(2026-12-03 07:59 UTC),
                &w,
                &[],
                &[],
                0
            )
            .is_none()
        );
        assert!(
            digest(
                &config(Some(8)),
                datetime!(2026-12-03 08:00 UTC),
                &[],
                &[],
                &[],
                9
            )
            .is_none()
        );
        assert!(
            digest(
                &config(None),
                datetime!(2026-12-03 12:00 UTC),
                &w,
                &[],
                &[],
                0
            )
            .is_none()
        );
        // Later the same day it is the same digest (the key keeps it to one).
        let late = digest(
            &config(Some(8)),
            datetime!(2026-12-03 23:00 +02:00),
            &w,
            &[],
            &[],
            0,
        );
        assert_eq!(
            late.unwrap().emails[0]
                .once
                .as_deref()
                .map(|k| k.starts_with("digest.2026-12-03.")),
            Some(true)
        );
    }

    #[test]
    fn orders_whose_answer_the_caps_held_are_listed() {
        let at_eight = datetime!(2026-12-03 08:00 UTC);
        let held = [("MC-ABC".to_string(), "pat@example.test".to_string())];
        let d = digest(&config(Some(8)), at_eight, &[], &[], &held, 0).expect("a digest");
        let crate::core::decision::Template::Alert { text } = &d.emails[0].template else {
            panic!("an alert");
        };
        assert!(
            text.contains("1 order waiting for an answer the loop caps held back")
                && text.contains("- MC-ABC, to pat@example.test")
                && text.contains("mailcart resume"),
            "{text}"
        );
    }
}
