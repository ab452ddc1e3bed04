//! Mail loops with auto-responders that send no loop headers at all (no Auto-Submitted, no
//! Precedence, no X-Autoreply): a simulated day of them against the real binary, on a simulated
//! clock (`--at`). Each responder answers every mail we send it, after its delay: most with the
//! same text, the order it first sent, which reads as a new order each time (the worst case:
//! every answer of ours provokes another); a ticket desk with a new ticket number each time, in
//! our thread. What stops them is that they echo (`core::echo`); a busy customer, whose every
//! message is different, is answered every time.

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
    /// Answers in our thread with a new ticket number each time, instead of the same text.
    ticket_desk: bool,
    /// The Message-ID of the last mail from us it received.
    last_from_us: Option<String>,
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
            ticket_desk: false,
            last_from_us: None,
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
            let raw = match (&r.last_from_us, r.ticket_desk) {
                (Some(ours), true) => eml(
                    &r.addr,
                    "Re: your message",
                    &id,
                    Some(ours),
                    &format!(
                        "We have received your message. Your ticket number is {}.\n",
                        1000 + r.sent
                    ),
                ),
                _ => eml(&r.addr, "Re: your message", &id, None, BODY),
            };
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
                    r.last_from_us = msg.message_id().map(str::to_string);
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
fn an_auto_responder_that_echoes_is_paused_at_the_cap_and_the_sellers_told_once() {
    let mut day = Day::new(Shop::new());
    let t0 = start();
    // The cap counts echoes answered (3 in any 24 hours), not replies: whatever its pace, a
    // responder repeating itself gets the answer to its first message and to 3 repeats, and its
    // 4th repeat pauses it. (Before issue 16 the cap counted replies, 5 an hour and 20 a day, so
    // a responder slower than 3 hours looped all day under it, and a customer with 6 distinct
    // orders was paused.)
    day.responder("fast@example.net", Duration::minutes(1), t0);
    day.responder("slow@example.net", Duration::minutes(20), t0);
    day.responder("slower@example.net", Duration::hours(3), t0);
    // A ticket desk never repeats itself, but answers our mail with nothing we can act on.
    day.responder("desk@example.net", Duration::minutes(2), t0);
    day.responders[3].ticket_desk = true;
    day.run(t0 + Duration::hours(24));

    for addr in [
        "fast@example.net",
        "slow@example.net",
        "slower@example.net",
        "desk@example.net",
    ] {
        assert_eq!(day.got(addr), 4, "{addr}: the first answer and 3 echoes");
        // Once paused, a responder hears nothing more and so says nothing more: the loop is over.
        assert_eq!(day.sent(addr), 5, "{addr}");
        // One alert (to each of the two sellers) per paused correspondent.
        assert_eq!(day.alerts(addr), 2, "{addr}: {:?}", day.to_sellers);
    }

    // The held messages wait for a person, with the reason.
    let review = day.shop.run(&["review"]);
    assert!(
        review.contains("fast@example.net") && review.contains("reply cap reached"),
        "{review}"
    );
    assert!(review.contains("the same text again"), "{review}");
    assert!(
        review.contains("an answer with nothing to act on"),
        "{review}"
    );
    let end = at(t0 + Duration::hours(24));
    let status = day.shop.run(&["--at", &end, "status"]);
    assert!(status.contains("paused for fast@example.net"), "{status}");
    assert!(status.contains("paused for slow@example.net"), "{status}");
    assert!(status.contains("paused for desk@example.net"), "{status}");

    // More mail from a paused correspondent is held too, without a second alert.
    let more = eml("fast@example.net", "again", "more@example.net", None, BODY);
    let out = day.shop.deliver("more.eml", &more, &end);
    assert!(out.contains("paused"), "{out}");
    day.collect(t0 + Duration::hours(24));
    assert_eq!(day.alerts("fast@example.net"), 2);
    assert_eq!(day.got("fast@example.net"), 4);

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

fn count(shop: &Shop, sql: &str) -> i64 {
    let db = rusqlite::Connection::open(shop.dir.path().join("mailcart.db")).unwrap();
    db.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn ten_distinct_orders_from_one_address_in_ten_minutes_are_all_quoted() {
    let shop = Shop::new();
    let t0 = start();
    let branches = [
        "Alder", "Birch", "Cedar", "Elm", "Hazel", "Larch", "Maple", "Oak", "Rowan", "Willow",
    ];
    for (i, branch) in branches.iter().enumerate() {
        let body = format!(
            "{} x Blue Mug\n\nShip to:\nCafé Linde {branch}\n{} Linden Avenue\nPortland, OR 97205\nUSA\n",
            i % 3 + 1,
            10 + i
        );
        let id = format!("branch-{i}@cafe-linde.test");
        let raw = eml(
            "Café Linde <buy@cafe-linde.test>",
            "Order",
            &id,
            None,
            &body,
        );
        let when = t0 + Duration::minutes(i as i64);
        let out = shop.deliver(&format!("branch-{i}.eml"), &raw, &at(when));
        assert!(
            out.contains("sent quote to buy@cafe-linde.test"),
            "{branch}: {out}"
        );
    }
    assert_eq!(shop.orders().len(), 10);
    let to_cafe = shop
        .outbox()
        .into_iter()
        .filter(|(_, t)| common::shop::header(t, "To").contains("buy@cafe-linde.test"))
        .count();
    assert_eq!(to_cafe, 10);
    assert!(shop.mail_with("paused").is_empty(), "no seller was alerted");
    let status = shop.run(&["--at", &at(t0 + Duration::minutes(10)), "status"]);
    assert!(!status.contains("paused for"), "{status}");
    // None of them echoed another: nothing for the repeat cap to count.
    assert_eq!(
        count(
            &shop,
            "SELECT count(*) FROM messages WHERE echo IS NOT NULL"
        ),
        0
    );
}

#[test]
fn the_same_order_again_is_answered_until_its_echoes_pass_the_cap() {
    // The rule: a repeat is answered like any message (the same order twice is two quotes: a
    // customer may want it twice, and an unpaid one expires), once each; the 4th repeat in 24
    // hours pauses the address for a person.
    let shop = Shop::new();
    let body = format!("2 x Blue Mug\n\n{}", common::shop::ADDRESS);
    let send = |n: usize, text: &str, minute: i64| {
        let id = format!("same-{n}@example.test");
        let raw = eml(common::shop::PAT, "Order", &id, None, text);
        shop.deliver(
            &format!("same-{n}.eml"),
            &raw,
            &at(start() + Duration::minutes(minute)),
        )
    };
    let out = send(1, &body, 0);
    assert_eq!(out.matches("sent quote").count(), 1, "{out}");
    // The same order again, in other case and spacing and signed: a repeat, answered once.
    let again = "2 X BLUE  MUG\n\nship to:\n  Pat Okafor\n41 linden avenue\nPortland, OR 97205\nUSA\n\n-- \nPat Okafor\nSent from my phone\n";
    let out = send(2, again, 5);
    assert_eq!(out.matches("sent quote").count(), 1, "{out}");
    assert_eq!(
        out.matches("sent ").count(),
        1,
        "one answer to the repeat: {out}"
    );
    assert_eq!(
        count(
            &shop,
            "SELECT count(*) FROM messages WHERE message_id = 'same-2@example.test' AND echo = 'repeat'"
        ),
        1
    );
    for (n, minute) in [(3, 10), (4, 15)] {
        let out = send(n, &body, minute);
        assert!(out.contains("sent quote"), "repeat {n}: {out}");
    }
    // The 4th repeat: paused, held for a person, the sellers told once.
    let out = send(5, &body, 20);
    assert!(!out.contains("sent quote"), "{out}");
    assert!(out.contains("reply cap reached"), "{out}");
    assert!(out.contains("the same text again"), "{out}");
    assert_eq!(out.matches("sent alert").count(), 2, "{out}");
    let out = send(6, &body, 25);
    assert!(out.contains("paused") && !out.contains("sent "), "{out}");
    // A person resumes: the counts start again, and the same text is answered again.
    shop.run(&[
        "--at",
        &at(start() + Duration::minutes(30)),
        "resume",
        "pat@example.test",
    ]);
    let out = send(7, &body, 35);
    assert!(out.contains("sent quote"), "{out}");
    let verify = shop.run(&["verify"]);
    assert!(verify.contains("verified: the record is whole"), "{verify}");
}

/// Three replies an hour to Pat: the 4th of five orders trips the cap, the 5th meets the
/// pause. Checks that both wait for their quote, with no deadline running and no
/// `quote_sent`, and that no timer touches them; returns the held orders' references.
fn two_held_quotes(shop: &Shop) -> Vec<String> {
    shop.edit_config(
        "replies_per_correspondent_per_hour = 30",
        "replies_per_correspondent_per_hour = 3",
    );
    let t0 = start();
    let mut refs = Vec::new();
    for i in 0..5 {
        let body = format!("{} x Blue Mug\n\n{}", i + 1, common::shop::ADDRESS);
        let id = format!("busy-{i}@example.test");
        let raw = eml(common::shop::PAT, "Order", &id, None, &body);
        let out = shop.deliver(
            &format!("busy-{i}.eml"),
            &raw,
            &at(t0 + Duration::minutes(i)),
        );
        assert_eq!(out.contains("sent quote"), i < 3, "order {i}: {out}");
        let db = rusqlite::Connection::open(shop.dir.path().join("mailcart.db")).unwrap();
        let r: String = db
            .query_row(
                "SELECT order_ref FROM messages WHERE message_id = ?1",
                [&id],
                |r| r.get(0),
            )
            .unwrap();
        refs.push(r);
    }
    assert_eq!(
        quotes(shop, &refs[0]).len(),
        1,
        "the quotes that went out are found"
    );
    shop.assert_every_claim_happened();
    let held = refs.split_off(3);
    for r in &held {
        let o = shop.order(r);
        assert_eq!(o["state"], "awaiting_payment", "{o}");
        assert!(o["reply_held"].is_string(), "{o}");
        assert!(o["payment_due"].is_null(), "no deadline runs: {o}");
        let kinds: Vec<&str> = o["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert!(!kinds.contains(&"quote_sent"), "{r}: {kinds:?}");
        assert!(kinds.contains(&"reply_suppressed"), "{r}: {kinds:?}");
        assert_eq!(quotes(shop, r).len(), 0, "{r}: no quote went out");
    }
    // Days later the timers have not expired or reminded them: no deadline was running.
    let later = t0 + Duration::days(10);
    shop.run(&["--at", &at(later), "tick"]);
    let status = shop.run(&["--at", &at(later), "status"]);
    assert!(status.contains("answers held back: 2"), "{status}");
    for r in &held {
        assert_eq!(shop.order(r)["state"], "awaiting_payment");
    }
    held
}

/// The quotes in the outbox for order `r`.
fn quotes(shop: &Shop, r: &str) -> Vec<String> {
    shop.mail_with(r)
        .into_iter()
        .filter(|t| t.contains("How to pay"))
        .collect()
}

/// Each held order got its quote once, threaded, with a deadline from `when`.
fn released(shop: &Shop, held: &[String], when: &str) {
    for r in held {
        let o = shop.order(r);
        assert!(o["reply_held"].is_null(), "{o}");
        let due = o["payment_due"].as_str().expect("a deadline from now");
        assert!(due.starts_with(when), "{due}");
        let quote = quotes(shop, r);
        assert_eq!(quote.len(), 1, "{r}: one quote, threaded under the order");
        assert!(
            common::shop::header(&quote[0], "In-Reply-To").contains("busy-"),
            "{}",
            quote[0]
        );
    }
    shop.assert_every_claim_happened();
    let status = shop.run(&["--at", "2026-12-03T08:00:00Z", "status"]);
    assert!(!status.contains("answers held back"), "{status}");
}

#[test]
fn an_answer_held_by_the_cap_leaves_no_false_record_and_goes_out_on_resume() {
    let shop = Shop::new();
    let held = two_held_quotes(&shop);
    let later = "2026-12-03T08:00:00Z";
    let out = shop.run(&["--at", later, "resume", "pat@example.test"]);
    for r in &held {
        assert!(out.contains(r.as_str()), "{out}");
    }
    released(&shop, &held, "2026-12-");
}

#[test]
fn a_sellers_resolved_to_the_pause_alert_lifts_it_and_sends_what_it_held() {
    let shop = Shop::new();
    let held = two_held_quotes(&shop);
    let alert = common::shop::request_id(&shop, "mara@lindenclay.test", "are paused");
    let answer = |n: &str, from: &str| {
        let raw = eml(
            from,
            "Re: paused",
            &format!("{n}@lindenclay.test"),
            Some(&alert),
            "resolved, it's a real customer",
        );
        shop.deliver(&format!("{n}.eml"), &raw, "2026-11-23T09:00:00Z")
    };
    // Not from a seller: nothing lifted, nothing sent.
    let out = answer("forged", "Mallory <mallory@example.net>");
    assert!(!out.contains("sent quote"), "{out}");
    assert!(held.iter().all(|r| shop.order(r)["reply_held"].is_string()));
    let out = answer("mara-1", "Mara <mara@lindenclay.test>");
    assert!(out.contains("sent quote"), "{out}");
    released(&shop, &held, "2026-11-");
    let status = shop.run(&["--at", "2026-11-23T09:00:00Z", "status"]);
    assert!(!status.contains("paused for pat@example.test"), "{status}");
}
