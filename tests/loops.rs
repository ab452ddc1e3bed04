//! Mail loops with auto-responders that send no loop headers at all (no Auto-Submitted, no
//! Precedence, no X-Autoreply, no In-Reply-To): a simulated day of them against the real
//! binary, on a simulated clock (`--at`). Each responder answers every mail we send it, after
//! its delay, with the same text: the order it first sent, which reads as a new order each time
//! (the worst case: every answer of ours provokes another).

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use mail_parser::MessageParser;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

mod common;
use common::shop::{Shop, eml};

const BODY: &str = "Thank you for your message, we have received it:\n\n1 x Blue Mug\n";

struct Responder {
    addr: String,
    delay: Duration,
    /// Mail from us it received.
    received: usize,
    sent: usize,
}

struct Day {
    shop: Shop,
    responders: Vec<Responder>,
    /// (when, sequence) -> responder index
    queue: BTreeMap<(OffsetDateTime, usize), usize>,
    seq: usize,
    seen: HashSet<PathBuf>,
    /// Subjects of what the sellers got.
    to_sellers: Vec<String>,
    /// When each automatic reply to a customer was sent.
    customer_mail_at: Vec<OffsetDateTime>,
}

fn start() -> OffsetDateTime {
    OffsetDateTime::parse("2026-11-23T08:00:00Z", &Rfc3339).unwrap()
}

fn at(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

impl Day {
    fn new(shop: Shop) -> Day {
        Day {
            shop,
            responders: Vec::new(),
            queue: BTreeMap::new(),
            seq: 0,
            seen: HashSet::new(),
            to_sellers: Vec::new(),
            customer_mail_at: Vec::new(),
        }
    }

    /// A responder whose first message (the order that starts it all) arrives at `first`.
    fn responder(&mut self, addr: &str, delay: Duration, first: OffsetDateTime) {
        self.responders.push(Responder {
            addr: addr.into(),
            delay,
            received: 0,
            sent: 0,
        });
        self.schedule(first, self.responders.len() - 1);
    }

    fn schedule(&mut self, when: OffsetDateTime, who: usize) {
        self.seq += 1;
        self.queue.insert((when, self.seq), who);
    }

    /// Run until `end` or until nobody has anything left to say.
    fn run(&mut self, end: OffsetDateTime) {
        while let Some(((when, _), who)) = self.queue.pop_first() {
            if when > end {
                break;
            }
            let r = &mut self.responders[who];
            r.sent += 1;
            let id = format!("auto-{}-{}@example.net", who, r.sent);
            let raw = eml(&r.addr, "Re: your message", &id, None, BODY);
            let name = format!("{}.eml", id.replace('@', "_"));
            self.shop.deliver(&name, &raw, &at(when));
            self.collect(when);
        }
    }

    /// What mailcart sent since the last look: to a responder, it answers after its delay.
    fn collect(&mut self, now: OffsetDateTime) {
        let dir = self.shop.dir.path().join("outbox");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.sort();
        for f in files {
            if !self.seen.insert(f.clone()) {
                continue;
            }
            let raw = std::fs::read(&f).unwrap();
            let msg = MessageParser::default().parse(&raw).unwrap();
            let to: Vec<String> = msg
                .to()
                .map(|a| {
                    a.iter()
                        .filter_map(|m| m.address())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            let subject = msg.subject().unwrap_or_default().to_string();
            if to.iter().any(|t| t.ends_with("@lindenclay.test")) {
                self.to_sellers.push(subject);
                continue;
            }
            self.customer_mail_at.push(now);
            for (i, r) in self.responders.iter_mut().enumerate() {
                if to.contains(&r.addr) {
                    r.received += 1;
                    let when = now + r.delay;
                    self.seq += 1;
                    self.queue.insert((when, self.seq), i);
                }
            }
        }
    }

    fn responder_by(&self, addr: &str) -> &Responder {
        self.responders.iter().find(|r| r.addr == addr).unwrap()
    }

    /// Mail `addr` got from us.
    fn got(&self, addr: &str) -> usize {
        self.responder_by(addr).received
    }

    /// Mail `addr` sent us.
    fn sent(&self, addr: &str) -> usize {
        self.responder_by(addr).sent
    }

    fn alerts(&self, about: &str) -> usize {
        self.to_sellers
            .iter()
            .filter(|s| s.contains("paused") && s.contains(about))
            .count()
    }
}

#[test]
fn an_auto_responder_gets_at_most_the_cap_in_a_day_and_the_sellers_one_alert() {
    let mut day = Day::new(Shop::new());
    let t0 = start();
    // Fast: trips the hourly cap (5). Slow: under it all day, trips the daily one (20).
    // Slower still: 8 a day, under both caps, never paused.
    day.responder("fast@example.net", Duration::minutes(1), t0);
    day.responder("slow@example.net", Duration::minutes(20), t0);
    day.responder("slower@example.net", Duration::hours(3), t0);
    day.run(t0 + Duration::hours(24));

    assert_eq!(day.got("fast@example.net"), 5, "the hourly cap");
    assert_eq!(day.got("slow@example.net"), 20, "the daily cap");
    assert_eq!(
        day.got("slower@example.net"),
        9,
        "every 3 hours for 24 hours, under both caps"
    );
    // Once paused, a responder hears nothing more and so says nothing more: the loop is over.
    assert_eq!(day.sent("fast@example.net"), 6);
    assert_eq!(day.sent("slow@example.net"), 21);
    // One alert (to each of the two sellers) per paused correspondent, none for the other.
    assert_eq!(day.alerts("fast@example.net"), 2, "{:?}", day.to_sellers);
    assert_eq!(day.alerts("slow@example.net"), 2, "{:?}", day.to_sellers);
    assert_eq!(day.alerts("slower@example.net"), 0, "{:?}", day.to_sellers);

    // The held messages wait for a person, with the reason.
    let review = day.shop.run(&["review"]);
    assert!(
        review.contains("fast@example.net") && review.contains("reply cap reached"),
        "{review}"
    );
    let end = at(t0 + Duration::hours(24));
    let status = day.shop.run(&["--at", &end, "status"]);
    assert!(status.contains("paused for fast@example.net"), "{status}");
    assert!(status.contains("paused for slow@example.net"), "{status}");

    // More mail from a paused correspondent is held too, without a second alert.
    let more = eml("fast@example.net", "again", "more@example.net", None, BODY);
    let out = day.shop.deliver("more.eml", &more, &end);
    assert!(out.contains("paused"), "{out}");
    day.collect(t0 + Duration::hours(24));
    assert_eq!(day.alerts("fast@example.net"), 2);
    assert_eq!(day.got("fast@example.net"), 5);

    // A person lifts the pause: the next message is answered again.
    let out = day.shop.run(&["--at", &end, "resume", "Fast@Example.net"]);
    assert!(out.contains("resume"), "{out}");
    let again = eml("fast@example.net", "again", "again@example.net", None, BODY);
    let out = day.shop.deliver("again.eml", &again, &end);
    assert!(out.contains("sent ask_details"), "{out}");
    let err = std::process::Command::new(env!("CARGO_BIN_EXE_mailcart"))
        .args([
            "--config",
            day.shop.dir.path().join("config.toml").to_str().unwrap(),
        ])
        .args(["resume", "nobody@example.net"])
        .output()
        .unwrap();
    assert!(!err.status.success());
    assert!(String::from_utf8_lossy(&err.stderr).contains("not paused"));
}

#[test]
fn many_responders_at_once_trip_the_breaker_once_and_it_lifts_when_quiet() {
    let shop = Shop::new();
    shop.edit_config("replies_per_hour = 1000", "replies_per_hour = 20");
    let mut day = Day::new(shop);
    let t0 = start();
    for i in 0..30 {
        day.responder(
            &format!("desk{i}@example.net"),
            Duration::minutes(2),
            t0 + Duration::seconds(20 * i),
        );
    }
    day.run(t0 + Duration::hours(24));

    // In no hour more than the global cap of automatic replies went out.
    let times = &day.customer_mail_at;
    for (i, t) in times.iter().enumerate() {
        let in_hour = times[i..]
            .iter()
            .take_while(|u| **u < *t + Duration::hours(1))
            .count();
        assert!(in_hour <= 20, "{in_hour} replies in the hour from {t}");
    }
    assert_eq!(times.len(), 20, "the breaker stopped every loop at the cap");
    assert_eq!(
        day.alerts("customers"),
        2,
        "one breaker alert to each seller: {:?}",
        day.to_sellers
    );
    let quiet = t0 + Duration::hours(3);
    let status = day.shop.run(&["--at", &at(quiet), "status"]);
    assert!(status.contains("paused for all customers"), "{status}");

    // Held mail keeps the breaker shut; a day without any lifts it, and a new order is answered.
    let later = at(day.customer_mail_at[19] + Duration::hours(26));
    let status = day.shop.run(&["--at", &later, "status"]);
    assert!(!status.contains("paused for all"), "{status}");
    let order = eml(
        "Pat Okafor <pat@example.test>",
        "Order",
        "fresh@example.test",
        None,
        &format!("2 x Blue Mug\n\n{}", common::shop::ADDRESS),
    );
    let out = day.shop.deliver("fresh.eml", &order, &later);
    assert!(out.contains("sent quote"), "{out}");
    let verify = day.shop.run(&["verify"]);
    assert!(verify.contains("verified: the record is whole"), "{verify}");
}

#[test]
fn the_global_cap_holds_inside_one_batch_too() {
    let shop = Shop::new();
    shop.edit_config("replies_per_hour = 1000", "replies_per_hour = 20");
    let files: Vec<String> = (0..30)
        .map(|i| {
            let id = format!("flood-{i}@example.net");
            let raw = eml(&format!("f{i}@example.net"), "Order", &id, None, BODY);
            let path = shop.dir.path().join(format!("flood-{i}.eml"));
            std::fs::write(&path, raw).unwrap();
            path.to_str().unwrap().to_string()
        })
        .collect();
    let mut args = vec!["--at", "2026-11-23T08:00:00Z", "process"];
    args.extend(files.iter().map(String::as_str));
    let out = shop.run(&args);
    assert_eq!(out.matches("sent ask_details").count(), 20, "{out}");
    assert_eq!(out.matches("held for a person").count(), 10, "{out}");
    assert_eq!(
        out.matches("sent alert").count(),
        2,
        "one alert to each seller: {out}"
    );
}
