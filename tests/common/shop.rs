//! A shop in a temporary folder, driven through the real `mailcart` binary with `process`
//! (SQLite on disk, file outbox), as the conversation tests use it.

use std::path::{Path, PathBuf};

use serde_json::Value;

pub struct Shop {
    pub dir: tempfile::TempDir,
}

impl Shop {
    pub fn new() -> Shop {
        let shop = Shop {
            dir: tempfile::tempdir().unwrap(),
        };
        let out = shop.run(&["init", shop.dir.path().to_str().unwrap()]);
        assert!(out.contains("config.toml"), "{out}");
        let catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("mailbox-fixtures/catalog.csv");
        shop.run(&["inventory", "import", catalog.to_str().unwrap()]);
        shop
    }

    pub fn run(&self, args: &[&str]) -> String {
        super::mailcart(&self.dir.path().join("config.toml"), args)
    }

    pub fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.run(args)).unwrap()
    }

    /// Deliver one message at a given time; returns the one-line outcome.
    pub fn deliver(&self, name: &str, eml: &str, at: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, eml).unwrap();
        self.run(&["--at", at, "process", path.to_str().unwrap()])
    }

    pub fn orders(&self) -> Vec<Value> {
        self.json(&["orders", "--json"]).as_array().unwrap().clone()
    }

    pub fn order(&self, reference: &str) -> Value {
        self.json(&["order", reference, "--json"])
    }

    pub fn outbox(&self) -> Vec<(PathBuf, String)> {
        let dir = self.dir.path().join("outbox");
        let mut files: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
            .map(|d| {
                d.map(|e| {
                    let p = e.unwrap().path();
                    let text = decoded(&std::fs::read(&p).unwrap());
                    (p, text)
                })
                .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }

    pub fn stock(&self, sku: &str) -> (i64, i64, i64) {
        let inv = self.json(&["inventory", "--json"]);
        let row = inv
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["sku"] == sku)
            .unwrap()
            .clone();
        (
            row["on_hand"].as_i64().unwrap(),
            row["reserved"].as_i64().unwrap(),
            row["available"].as_i64().unwrap(),
        )
    }
}

/// Headers plus decoded body, so tests can search the text a customer reads.
pub fn decoded(raw: &[u8]) -> String {
    let msg = mail_parser::MessageParser::default().parse(raw).unwrap();
    let headers: String = msg.headers_raw().map(|(k, v)| format!("{k}:{v}")).collect();
    format!("{headers}\n{}", msg.body_text(0).unwrap_or_default())
}

pub fn eml(from: &str, subject: &str, id: &str, reply_to: Option<&str>, body: &str) -> String {
    let mut s = format!(
        "From: {from}\r\nTo: Linden Clay Studio <orders@lindenclay.test>\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nDate: Sun, 22 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
    );
    if let Some(parent) = reply_to {
        s.push_str(&format!(
            "In-Reply-To: <{parent}>\r\nReferences: <{parent}>\r\n"
        ));
    }
    s.push_str("\r\n");
    s.push_str(&body.replace('\n', "\r\n"));
    s
}

pub const PAT: &str = "Pat Okafor <pat@example.test>";
pub const ADDRESS: &str = "Ship to:\nPat Okafor\n41 Linden Avenue\nPortland, OR 97205\nUSA\n";

impl Shop {
    /// Replace `from` with `to` in the shop's config.toml (which must contain it).
    pub fn edit_config(&self, from: &str, to: &str) {
        let path = self.dir.path().join("config.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "config has no {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }

    /// The outbox files whose name or text contains `needle`.
    /// No order's history says an email went out that the outbox does not hold: every
    /// `quote_sent` has its quote, every `details_requested` its question, and the other way
    /// round, order by order.
    #[allow(dead_code)]
    pub fn assert_every_claim_happened(&self) {
        let db = rusqlite::Connection::open(self.dir.path().join("mailcart.db")).unwrap();
        for (event, template) in [
            ("quote_sent", "quote"),
            ("details_requested", "ask_details"),
        ] {
            let mut stmt = db
                .prepare(
                    "SELECT r, SUM(e), SUM(o) FROM (
                       SELECT order_ref AS r, 1 AS e, 0 AS o FROM events WHERE kind = ?1
                       UNION ALL
                       SELECT order_ref, 0, 1 FROM outbox WHERE template = ?2)
                     GROUP BY r HAVING SUM(e) != SUM(o)",
                )
                .unwrap();
            let wrong: Vec<(Option<String>, i64, i64)> = stmt
                .query_map([event, template], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert!(
                wrong.is_empty(),
                "(order, {event} events, {template} emails) that disagree: {wrong:?}"
            );
        }
    }

    pub fn mail_with(&self, needle: &str) -> Vec<String> {
        self.outbox()
            .into_iter()
            .filter(|(p, t)| p.to_string_lossy().contains(needle) || t.contains(needle))
            .map(|(_, t)| t)
            .collect()
    }

    /// Order 2 x Blue Mug to Portland (46.88 USD) as Pat; returns the reference.
    pub fn quoted_order(&self, id: &str, at: &str) -> String {
        let out = self.deliver(
            &format!("{id}.eml"),
            &eml(
                PAT,
                "Order",
                id,
                None,
                &format!("2 x Blue Mug\n\n{ADDRESS}"),
            ),
            at,
        );
        assert!(out.contains("awaiting_payment"), "{out}");
        let start = out.find("-> order ").unwrap() + 9;
        out[start..].split_whitespace().next().unwrap().to_string()
    }
}

impl Shop {
    /// Trust the lab's mail server's DKIM verdicts (`[security] authserv_id`).
    pub fn require_authentication(&self) {
        self.edit_config(
            "# authserv_id = \"mx.lindenclay.test\"",
            "authserv_id = \"mx.lindenclay.test\"",
        );
    }

    /// A fresh command from Mara, DKIM-signed as our server saw it.
    pub fn seller_says(&self, body: &str, at: &str) -> String {
        let n = self.outbox().len() + self.orders().len() * 1000;
        let id = format!("seller-{n}-{}@lindenclay.test", body.len());
        let raw = eml("mara@lindenclay.test", "command", &id, None, body);
        let raw = format!(
            "Authentication-Results: mx.lindenclay.test; dkim=pass header.d=lindenclay.test\r\n{raw}"
        );
        self.deliver(&format!("{}.eml", id.replace('@', "_")), &raw, at)
    }
}

impl Shop {
    /// A quoted, paid order of 2 Blue Mugs (1 December), and shipped (2 December, 10:00) if
    /// `ship`; returns the reference.
    pub fn paid_order(&self, ship: bool) -> String {
        self.require_authentication();
        let r = self.quoted_order("o1@example.test", "2026-12-01T09:00:00Z");
        let out = self.seller_says(&format!("paid {r}"), "2026-12-01T10:00:00Z");
        assert!(out.contains("[paid]"), "{out}");
        if ship {
            let out = self.seller_says(
                &format!("shipped {r} Royal Mail AB123456789GB"),
                "2026-12-02T10:00:00Z",
            );
            assert!(out.contains("[shipped]"), "{out}");
        }
        r
    }
}

/// The value of header `name` in an outbox file's text.
pub fn header<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .trim()
}

/// The Message-ID (without brackets) of the one request containing `needle` sent to `seller`.
pub fn request_id(shop: &Shop, seller: &str, needle: &str) -> String {
    let found: Vec<String> = shop
        .mail_with(needle)
        .into_iter()
        .filter(|t| header(t, "To").contains(seller))
        .collect();
    assert_eq!(found.len(), 1, "one {needle:?} to {seller}");
    header(&found[0], "Message-ID")
        .trim_matches(['<', '>'])
        .to_string()
}
