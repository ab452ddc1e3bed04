//! Failures only a person can mend are not retried in silence: `mailcart run` against the
//! loopback lab's real Dovecot and Postfix with a wrong IMAP password, a processed folder the
//! server will not create, and a wrong SMTP password. Each time: `status` shows the problem in
//! words with the config key, since when and how many tries (and `check` says the same); the
//! sellers get one email for it however many tries and restarts follow (none through the SMTP
//! server that refuses us, which `status` says) and one when it is mended; then orders flow.
//! IMAP retries are 1 s apart at most (`[imap] retry_max_seconds`), SMTP ones 10 s.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Mutex;
use std::time::Instant;

use common::lab::{Lab, lab, mailtool};
use serde_json::Value;

/// The tests share the shop's INBOX and the sellers' mailboxes: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const SHOP: &str = "orders@lindenclay.test";
const SELLERS: [&str; 2] = ["mara@lindenclay.test", "sam@lindenclay.test"];
const ALERT: &str = "mailcart needs you";
const CLEARED: &str = "mailcart works again";

/// The subjects holding `text` in `user`'s INBOX.
fn subjects(user: &str, text: &str) -> Vec<String> {
    mailtool(&["subjects", user, text])
        .lines()
        .map(str::to_string)
        .collect()
}

struct Shop {
    dir: tempfile::TempDir,
    daemon: Option<Child>,
    runs: usize,
}

impl Shop {
    /// A shop on the lab; `imap` and `smtp` are the lines of each section after host and port.
    fn new(lab: &Lab, imap: &str, smtp: &str) -> Shop {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        common::mailcart(&config, &["init", dir.path().to_str().unwrap()]);
        let shop = Shop {
            dir,
            daemon: None,
            runs: 0,
        };
        shop.write(&format!(
            "[imap]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"tls\"\nca_file = \"{}\"\nusername = \"{SHOP}\"\ntimeout_seconds = 10\nretry_max_seconds = 1\n{imap}\n\n[smtp]\nhost = \"127.0.0.1\"\ntimeout_seconds = 10\nretry_max_seconds = 10\n{smtp}\n",
            lab.imaps_port,
            lab.ca_file.display(),
        ));
        let catalog = common::fixtures_dir().join("catalog.csv");
        shop.cli(&["inventory", "import", catalog.to_str().unwrap()]);
        shop
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    /// The config from `init` with `live` (the [imap] and [smtp] sections) after it.
    fn write(&self, live: &str) {
        let text = mailcart::EXAMPLE_CONFIG.to_string() + "\n" + live;
        std::fs::write(self.config(), text).unwrap();
    }

    fn cli(&self, args: &[&str]) -> String {
        common::mailcart(&self.config(), args)
    }

    fn start(&mut self) {
        self.runs += 1;
        self.daemon = Some(common::spawn_daemon(&self.config(), &self.log_path()));
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join(format!("run{}.log", self.runs))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn stop(&mut self) {
        if let Some(child) = self.daemon.take() {
            common::terminate(child, || self.log());
        }
    }

    fn status(&self) -> Value {
        serde_json::from_str(&self.cli(&["status", "--json"])).unwrap()
    }

    /// The open problem with `server`, once its tries reach `tries`.
    fn problem_after(&self, server: &str, tries: i64) -> Value {
        common::wait_until(
            40,
            || {
                self.status()["problems"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|p| p["server"] == server && p["tries"].as_i64() >= Some(tries))
                    .cloned()
            },
            || {
                format!(
                    "no {server} problem with {tries} tries: {:#}\n{}",
                    self.status(),
                    self.log()
                )
            },
        )
    }

    fn no_problems(&self) -> bool {
        self.status()["problems"]
            .as_array()
            .is_some_and(|p| p.is_empty())
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        if let Some(mut child) = self.daemon.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Each seller's INBOX holds exactly `n` messages whose subject holds `text`, within `secs`.
fn each_seller_has(text: &str, n: usize, secs: u64, shop: &Shop) {
    let counts = || -> Vec<usize> { SELLERS.iter().map(|s| subjects(s, text).len()).collect() };
    common::wait_until(
        secs,
        || {
            let c = counts();
            assert!(
                c.iter().all(|c| *c <= n),
                "more than {n} {text:?} emails: {c:?}\n{}",
                shop.log()
            );
            c.iter().all(|c| *c == n).then_some(())
        },
        || {
            format!(
                "{text:?} emails {:?}, want {n} each\n{}",
                counts(),
                shop.log()
            )
        },
    );
}

fn fresh_mailboxes() {
    mailtool(&["clear", SHOP]);
    for s in SELLERS {
        mailtool(&["clear", s]);
    }
}

/// An order from a customer of its own, through the MTA; its Message-ID.
fn send_order(dir: &Path, customer: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let id = format!("problems-{nanos}@example.test");
    let raw = format!(
        "From: Pat Okafor <{customer}>\r\nTo: {SHOP}\r\nSubject: Order\r\nMessage-ID: <{id}>\r\nDate: Sun, 22 Nov 2026 09:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n2 x Blue Mug\r\n\r\nShip to:\r\nPat Okafor\r\n41 Linden Avenue\r\nPortland, OR 97205\r\nUSA\r\n"
    );
    let path = dir.join("order.eml");
    std::fs::write(&path, raw).unwrap();
    mailtool(&["send", customer, SHOP, path.to_str().unwrap()]);
    id
}

fn wait_for_answer(customer: &str, id: &str, shop: &Shop) {
    common::wait_until(
        30,
        || (mailtool(&["replies", customer, id]).trim() != "0").then_some(()),
        || format!("no answer to {id}\n{}", shop.log()),
    );
}

#[test]
fn a_refused_imap_login_is_shown_emailed_once_and_its_end_once() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let lab = lab();
    fresh_mailboxes();
    let smtp = format!("port = {}\ntls = \"none\"", lab.smtp_port);
    let mut shop = Shop::new(&lab, "password = \"not-the-password\"", &smtp);
    let started = Instant::now();
    shop.start();
    let p = shop.problem_after("imap", 3);
    let noticed = started.elapsed();
    assert_eq!(p["kind"], "login", "{p:#}");
    assert_eq!(p["fix"], "[imap] username and password", "{p:#}");
    let words = p["problem"].as_str().unwrap();
    assert!(
        words.contains(&format!("refused the login for {SHOP}"))
            && words.contains("check [imap] username and password"),
        "{words}"
    );
    assert!(
        p["sellers"]
            .as_str()
            .unwrap()
            .contains("queued in the outbox"),
        "{p:#}"
    );
    let text = shop.cli(&["status"]);
    assert!(
        text.contains("imap PROBLEM since") && text.contains(words),
        "{text}"
    );
    // `check` takes the same steps and says the same.
    let check = Command::new(env!("CARGO_BIN_EXE_mailcart"))
        .arg("--config")
        .arg(shop.config())
        .arg("check")
        .output()
        .unwrap();
    let check = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.contains("imap login") && check.contains(p["error"].as_str().unwrap()),
        "{check}"
    );

    each_seller_has(ALERT, 1, 20, &shop);
    let subject = subjects(SELLERS[0], ALERT).remove(0);
    assert!(
        subject.contains("[imap] username and password"),
        "{subject}"
    );
    // More tries, and a restart: still one email each.
    let tries = p["tries"].as_i64().unwrap();
    shop.problem_after("imap", tries + 3);
    shop.stop();
    shop.start();
    let p = shop.problem_after("imap", tries + 6);
    shop.stop();
    let since = p["since"].clone();
    each_seller_has(ALERT, 1, 0, &shop);

    // Mended: an order waiting meanwhile is answered, and the sellers hear it once.
    let customer = "pat@example.test";
    let id = send_order(shop.dir.path(), customer);
    shop.write(&format!(
        "[imap]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"tls\"\nca_file = \"{}\"\nusername = \"{SHOP}\"\npassword = \"{}\"\ntimeout_seconds = 10\nretry_max_seconds = 1\n\n[smtp]\nhost = \"127.0.0.1\"\n{smtp}\n",
        lab.imaps_port,
        lab.ca_file.display(),
        lab.password
    ));
    shop.start();
    wait_for_answer(customer, &id, &shop);
    each_seller_has(CLEARED, 1, 20, &shop);
    assert!(shop.no_problems(), "{:#}", shop.status());
    shop.stop();
    each_seller_has(ALERT, 1, 0, &shop);
    eprintln!(
        "imap login refused: problem with 3 tries in status after {noticed:?}; open since {since}; one alert and one all-clear per seller over {} tries and a restart",
        p["tries"]
    );
}

#[test]
fn a_folder_the_server_will_not_create_names_the_folder_and_the_key() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let lab = lab();
    fresh_mailboxes();
    let smtp = format!("port = {}\ntls = \"none\"", lab.smtp_port);
    // Dovecot refuses a name that begins with '~'.
    let imap = format!(
        "password = \"{}\"\nprocessed_folder = \"~processed\"",
        lab.password
    );
    let mut shop = Shop::new(&lab, &imap, &smtp);
    shop.start();
    let p = shop.problem_after("imap", 3);
    assert_eq!(p["kind"], "create-folder", "{p:#}");
    let words = p["problem"].as_str().unwrap();
    assert!(
        words.contains("refused to create the folder \"~processed\"")
            && words.contains("[imap] processed_folder"),
        "{words}"
    );
    each_seller_has(ALERT, 1, 20, &shop);
    shop.stop();

    // The folder name mended.
    let customer = "lee@example.org";
    let id = send_order(shop.dir.path(), customer);
    let imap = format!(
        "[imap]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"tls\"\nca_file = \"{}\"\nusername = \"{SHOP}\"\npassword = \"{}\"\nprocessed_folder = \"mailcart/processed\"\nretry_max_seconds = 1\n\n[smtp]\nhost = \"127.0.0.1\"\n{smtp}\n",
        lab.imaps_port,
        lab.ca_file.display(),
        lab.password
    );
    shop.write(&imap);
    shop.start();
    wait_for_answer(customer, &id, &shop);
    each_seller_has(CLEARED, 1, 20, &shop);
    assert!(shop.no_problems());
    shop.stop();
}

#[test]
fn a_refused_smtp_login_is_shown_but_not_emailed_through_that_server() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let lab = lab();
    let Some(smtps) = lab.smtps_port else {
        eprintln!("the lab offers no SMTPS: skipped");
        return;
    };
    fresh_mailboxes();
    let imap = format!("password = \"{}\"", lab.password);
    let smtp = |password: &str| {
        format!(
            "port = {smtps}\ntls = \"tls\"\nca_file = \"{}\"\nusername = \"{SHOP}\"\npassword = \"{password}\"",
            lab.ca_file.display()
        )
    };
    let mut shop = Shop::new(&lab, &imap, &smtp("not-the-password"));
    shop.start();
    let customer = "kim@example.net";
    let id = send_order(shop.dir.path(), customer);
    let p = shop.problem_after("smtp", 2);
    assert_eq!(p["kind"], "login", "{p:#}");
    assert_eq!(p["fix"], "[smtp] username and password", "{p:#}");
    assert!(
        p["sellers"].as_str().unwrap().contains("not emailed"),
        "{p:#}"
    );
    let text = shop.cli(&["status"]);
    assert!(
        text.contains("smtp PROBLEM since") && text.contains("the sellers were not emailed"),
        "{text}"
    );
    assert!(shop.status()["outbox"]["pending"].as_i64().unwrap() >= 1);
    shop.stop();
    assert_eq!(mailtool(&["replies", customer, &id]).trim(), "0");

    shop.write(&format!(
        "[imap]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"tls\"\nca_file = \"{}\"\nusername = \"{SHOP}\"\n{imap}\nretry_max_seconds = 1\n\n[smtp]\nhost = \"127.0.0.1\"\n{}\nretry_max_seconds = 10\n",
        lab.imaps_port,
        lab.ca_file.display(),
        smtp(&lab.password)
    ));
    shop.start();
    wait_for_answer(customer, &id, &shop);
    each_seller_has(CLEARED, 1, 20, &shop);
    let body = mailtool(&["subjects", SELLERS[0], CLEARED]);
    assert!(body.contains("outgoing mail server"), "{body}");
    each_seller_has(ALERT, 0, 0, &shop);
    assert!(shop.no_problems());
    shop.stop();
}
