//! OAuth2 end to end through real servers: `mailcart login` against the lab's identity
//! provider (tests/lab/idp) by the device flow and by the browser flow with the redirect
//! pasted back or followed, then `mailcart run` logging in to Dovecot (IMAP AUTHENTICATE
//! XOAUTH2, checked by Dovecot's oauth2 passdb against the provider) and to Postfix (AUTH
//! XOAUTH2 through Dovecot SASL), access tokens that expire mid-run, a revoked refresh token,
//! bad input for `check`, and no token anywhere it should not be.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

mod common;
use common::lab::{Lab, lab_dir, start as lab};
use common::live::{Daemon, mailtool, unique};

/// The provider's settings (lifetimes, failure modes) and the shop's INBOX are shared.
static SERIAL: Mutex<()> = Mutex::new(());

const SHOP: &str = "orders@lindenclay.test";
const BODY: &str =
    "2 x Blue Mug\n\nShip to:\nPat Okafor\n41 Linden Avenue\nPortland, OR 97205\nUSA\n";

const SELLERS: [&str; 2] = ["mara@lindenclay.test", "sam@lindenclay.test"];

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn idp_port() -> u16 {
    let env = std::fs::read_to_string(lab_dir().join("env")).unwrap();
    env.lines()
        .find_map(|l| l.strip_prefix("LAB_IDP_PORT="))
        .and_then(|p| p.trim().parse().ok())
        .expect("the lab has no identity provider (LAB_IDP_PORT): restart it with tests/lab/start")
}

/// One HTTP/1.1 request to the provider; (status, headers, body). No redirect is followed.
fn http(method: &str, port: u16, path: &str, form: &str) -> (u16, String, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
        form.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

fn idp(path: &str, form: &str) -> serde_json::Value {
    let method = if path.ends_with("stats") || path.ends_with("tokens") {
        "GET"
    } else {
        "POST"
    };
    let (status, _, body) = http(method, idp_port(), path, form);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn reset_idp() {
    idp(
        "/admin/config",
        "lifetime=3600&interval=1&rotate=0&mode=normal",
    );
}

/// Close every IMAP session of the shop, so that the daemon must log in again.
fn kick_imap() {
    let out = Command::new("doveadm")
        .arg("-c")
        .arg(lab_dir().join("dovecot.conf"))
        .args(["kick", SHOP])
        .output()
        .unwrap();
    assert!(
        out.status.success() || String::from_utf8_lossy(&out.stderr).contains("no users"),
        "doveadm kick: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Shop {
    dir: tempfile::TempDir,
    daemon: Option<Daemon>,
    /// Everything the CLI printed, for the search for tokens.
    said: Mutex<String>,
}

impl Shop {
    fn new(lab: &Lab, oauth2_extra: &str) -> Shop {
        let dir = tempfile::tempdir().unwrap();
        let shop = Shop {
            dir,
            daemon: None,
            said: Mutex::new(String::new()),
        };
        shop.cli(&["init", shop.dir.path().to_str().unwrap()]);
        let config = shop.config();
        let mut text = std::fs::read_to_string(&config).unwrap();
        let idp = format!("http://127.0.0.1:{}", idp_port());
        text.push_str(&format!(
            "\n[imap]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"tls\"\nca_file = \"{}\"\nauth = \"oauth2\"\nusername = \"{SHOP}\"\ntimeout_seconds = 10\n\n[smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nauth = \"oauth2\"\nusername = \"{SHOP}\"\ntimeout_seconds = 10\n\n[oauth2]\nprovider = \"custom\"\nclient_id = \"mailcart-lab\"\nclient_secret = \"lab-secret\"\nauth_url = \"{idp}/authorize\"\ntoken_url = \"{idp}/token\"\nscopes = [\"mail\", \"offline_access\"]\n{oauth2_extra}",
            lab.imaps_port,
            lab.ca_file.display(),
            lab.smtp_port,
        ));
        std::fs::write(&config, text).unwrap();
        shop.cli(&[
            "inventory",
            "import",
            repo()
                .join("mailbox-fixtures/catalog.csv")
                .to_str()
                .unwrap(),
        ]);
        mailtool(&["clear", SHOP]);
        shop
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    fn token_file(&self) -> PathBuf {
        self.dir.path().join("mailcart.db.oauth2-token")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailcart"));
        cmd.arg("--config")
            .arg(self.config())
            .args(args)
            .env("MAILCART_LOG", "trace");
        cmd
    }

    /// Run the CLI at trace level; (success, stdout + stderr).
    fn try_cli(&self, args: &[&str]) -> (bool, String) {
        let out = self.command(args).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        self.said.lock().unwrap().push_str(&text);
        (out.status.success(), text)
    }

    fn cli(&self, args: &[&str]) -> String {
        let (ok, text) = self.try_cli(args);
        assert!(ok, "mailcart {args:?} failed: {text}");
        text
    }

    /// `mailcart login` by the device flow, approving the code at the provider as a person
    /// would in the browser.
    fn login_device(&self) -> Duration {
        let started = Instant::now();
        let mut child = self
            .command(&["login", "--device"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = String::new();
        let mut code = None;
        let mut after_enter = false;
        for line in lines.by_ref() {
            let line = line.unwrap();
            seen.push_str(&line);
            seen.push('\n');
            if after_enter && !line.trim().is_empty() {
                code = Some(line.trim().to_string());
                break;
            }
            after_enter |= line.contains("enter the code");
        }
        let code = code.unwrap_or_else(|| panic!("no user code in: {seen}"));
        assert!(seen.contains("/device-login"), "{seen}");
        let approved = idp("/admin/approve", &format!("user_code={code}&user={SHOP}"));
        assert_eq!(approved["approved"], true);
        for line in lines {
            seen.push_str(&line.unwrap());
            seen.push('\n');
        }
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = child.wait().unwrap();
        seen.push_str(&err);
        self.said.lock().unwrap().push_str(&seen);
        assert!(status.success(), "login failed: {seen}");
        assert!(seen.contains("authorised"), "{seen}");
        started.elapsed()
    }

    fn start(&mut self) {
        let log = self.dir.path().join("run.log");
        self.daemon = Some(Daemon::start(self.command(&["run"]), &log));
    }

    fn stop(&mut self) {
        if let Some(d) = self.daemon.as_mut() {
            d.stop();
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("run.log")).unwrap_or_default()
    }
}

fn send_order(shop: &Shop, id: &str) {
    let raw = format!(
        "From: Pat <pat@example.test>\r\nTo: {SHOP}\r\nSubject: Order\r\nMessage-ID: <{id}>\r\nDate: Sun, 22 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}",
        BODY.replace('\n', "\r\n")
    );
    let path = shop
        .dir
        .path()
        .join(format!("{}.eml", id.replace('@', "_")));
    std::fs::write(&path, raw).unwrap();
    mailtool(&["send", "pat@example.test", SHOP, path.to_str().unwrap()]);
}

fn replies(id: &str) -> usize {
    mailtool(&["replies", "pat@example.test", id])
        .trim()
        .parse()
        .unwrap()
}

fn wait_for_reply(id: &str, secs: u64, shop: &Shop) -> Duration {
    let start = Instant::now();
    while replies(id) < 1 {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "no answer to {id} after {secs} s; daemon log:\n{}",
            shop.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    start.elapsed()
}

fn wait_until(what: &str, secs: u64, shop: &Shop, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "{what} after {secs} s; daemon log:\n{}",
            shop.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn dovecot_logins(method: &str) -> usize {
    std::fs::read_to_string(lab_dir().join("dovecot.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| {
            l.contains("imap-login: Info: Login:")
                && l.contains(&format!("user=<{SHOP}>"))
                && l.contains(&format!("method={method}"))
        })
        .count()
}

/// Every token the provider ever issued, searched for in every file of the shop but the token
/// store (database, WAL, logs, outbox) and in everything the CLI printed.
fn assert_no_token_leaked(shop: &Shop) {
    let tokens = idp("/admin/tokens", "");
    let all: Vec<String> = tokens["access"]
        .as_array()
        .unwrap()
        .iter()
        .chain(tokens["refresh"].as_array().unwrap())
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    assert!(!all.is_empty());
    let said = shop.said.lock().unwrap().clone() + &shop.log();
    let files = common::files_under(shop.dir.path());
    let store = shop.token_file();
    let mut stored_somewhere = false;
    for token in &all {
        assert!(
            !said.contains(token.as_str()),
            "a token in the output or log"
        );
        for f in &files {
            let bytes = std::fs::read(f).unwrap_or_default();
            let found = bytes.windows(token.len()).any(|w| w == token.as_bytes());
            if *f == store {
                stored_somewhere |= found;
            } else {
                assert!(!found, "a token in {}", f.display());
            }
        }
    }
    assert!(stored_somewhere, "the refresh token is in its store");
    assert!(
        files
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "db")),
        "the database was searched"
    );
}

#[test]
fn device_login_then_run_over_xoauth2_through_expiry_and_revocation() {
    let _one = serial();
    let lab = lab();
    reset_idp();
    idp("/admin/config", "lifetime=600");
    let mut shop = Shop::new(
        &lab,
        "device_url = \"http://127.0.0.1:PORT/device\"\n"
            .replace("PORT", &idp_port().to_string())
            .as_str(),
    );

    let (ok, text) = shop.try_cli(&["check"]);
    assert!(!ok, "{text}");
    assert!(text.contains("run `mailcart login`"), "{text}");

    let took = shop.login_device();
    eprintln!("device login took {took:?}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(shop.token_file())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the token store is owner-only");
    let config = std::fs::read_to_string(shop.config()).unwrap();
    assert!(!config.contains("lab-rt-"), "no token in config.toml");

    let check = shop.cli(&["check"]);
    for want in [
        "oauth2 token      ok    provider custom: refresh token stored",
        "fresh access token obtained, valid for 600 s",
        "imap login      ok",
        "smtp login      ok",
    ] {
        assert!(check.contains(want), "{want:?} in {check}");
    }

    let xoauth2_before = dovecot_logins("XOAUTH2");
    let refreshes_before = idp("/admin/stats", "")["refresh_token"].as_u64().unwrap();
    shop.start();
    let first = unique("oauth-1");
    send_order(&shop, &first);
    let t = wait_for_reply(&first, 30, &shop);
    eprintln!("first quote {t:?} after the MTA took the order");
    assert!(
        dovecot_logins("XOAUTH2") > xoauth2_before,
        "the daemon logged in with XOAUTH2"
    );

    // The provider refuses the token the daemon holds before its time (as after a password
    // change): the login is refused once, a fresh token is fetched, the login tried again.
    const RETRIED: &str = "refreshing it and trying once more";
    idp("/admin/config", "lifetime=6");
    idp("/admin/expire", "");
    kick_imap();
    wait_until("no retry with a fresh token", 30, &shop, || {
        shop.log().contains(RETRIED)
    });
    let second = unique("oauth-2");
    send_order(&shop, &second);
    let t = wait_for_reply(&second, 30, &shop);
    eprintln!("second quote {t:?} after the order, across a refused token");

    // Tokens now live 6 s, and are renewed after 3 s: after 7 s the next login takes a new
    // one before using it, with no refused login first.
    let retries = shop.log().matches(RETRIED).count();
    let refreshes_mid = idp("/admin/stats", "")["refresh_token"].as_u64().unwrap();
    std::thread::sleep(Duration::from_secs(7));
    kick_imap();
    let fourth = unique("oauth-expired");
    send_order(&shop, &fourth);
    let t = wait_for_reply(&fourth, 30, &shop);
    eprintln!("quote {t:?} after the order, across an expired token");
    let refreshes = idp("/admin/stats", "")["refresh_token"].as_u64().unwrap();
    assert!(
        refreshes > refreshes_mid,
        "refreshed before expiry ({refreshes_mid} -> {refreshes})"
    );
    assert!(refreshes > refreshes_before + 1);
    assert_eq!(
        shop.log().matches(RETRIED).count(),
        retries,
        "no refused login first"
    );

    // The refresh token is revoked: the daemon says so and keeps the mail.
    for seller in SELLERS {
        mailtool(&["clear", seller]);
    }
    idp("/admin/revoke", &format!("user={SHOP}"));
    kick_imap();
    let third = unique("oauth-3");
    send_order(&shop, &third);
    wait_until("no invalid_grant in status", 30, &shop, || {
        shop.cli(&["status"])
            .contains("the refresh token was refused (invalid_grant): run `mailcart login` again")
    });
    let status = shop.cli(&["status"]);
    assert!(
        status.contains("oauth2 custom: the refresh token was refused"),
        "{status}"
    );
    // A problem a person has to mend, which the sellers cannot be emailed about: the outgoing
    // server logs in with the same grant.
    wait_until("the problem in status", 30, &shop, || {
        shop.cli(&["status"]).contains("imap PROBLEM since")
    });
    let status = shop.cli(&["status"]);
    assert!(
        status.contains("run `mailcart login` again")
            && status.contains("the sellers were not emailed: the outgoing server logs in with the same OAuth2 grant"),
        "{status}"
    );
    assert_eq!(replies(&third), 0, "no answer without a login");
    let (ok, check) = shop.try_cli(&["check"]);
    assert!(!ok);
    assert!(
        check.contains("no access token: the refresh token was refused (invalid_grant): run `mailcart login` again"),
        "{check}"
    );

    // A new login while the daemon runs: work resumes with the order that waited.
    shop.login_device();
    let t = wait_for_reply(&third, 120, &shop);
    eprintln!("third quote {t:?} after the new login");
    let status = shop.cli(&["status"]);
    assert!(
        status.contains("oauth2 custom: refresh token stored"),
        "{status}"
    );
    // Mended: each seller hears of it once, and of what was not emailed.
    for seller in SELLERS {
        wait_until("the all-clear", 30, &shop, || {
            !mailtool(&["find", seller, "mailcart works again"])
                .trim()
                .is_empty()
        });
        assert!(
            mailtool(&["find", seller, "mailcart needs you"])
                .trim()
                .is_empty(),
            "no alert went out through the refused grant"
        );
    }
    assert!(!shop.cli(&["status"]).contains("PROBLEM"));
    shop.stop();

    for id in [&first, &second, &third, &fourth] {
        assert_eq!(replies(id), 1, "exactly one quote for {id}");
    }
    let orders: serde_json::Value =
        serde_json::from_str(&common::mailcart(&shop.config(), &["status", "--json"])).unwrap();
    assert_eq!(orders["orders"]["awaiting_payment"], 4, "{orders}");
    assert_no_token_leaked(&shop);
    reset_idp();
}

#[test]
fn browser_login_with_the_redirect_pasted_or_followed() {
    let _one = serial();
    let lab = lab();
    reset_idp();
    let shop = Shop::new(&lab, "");
    for how in ["paste", "follow", "forged"] {
        let mut child = shop
            .command(&["login"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = lines
            .by_ref()
            .map(|l| l.unwrap())
            .find_map(|l| {
                l.trim()
                    .strip_prefix(&format!("http://127.0.0.1:{}/authorize?", idp_port()))
                    .map(|q| format!("/authorize?{q}"))
            })
            .expect("the authorisation address");
        // The browser: the provider approves and redirects to the loopback address.
        let (status, head, _) = http("GET", idp_port(), &url, "");
        assert_eq!(status, 302, "{head}");
        let location = head
            .lines()
            .find_map(|l| l.strip_prefix("Location: "))
            .unwrap()
            .trim()
            .to_string();
        assert!(
            location.starts_with("http://127.0.0.1:") && location.contains("code="),
            "{location}"
        );
        let mut stdin = child.stdin.take().unwrap();
        match how {
            "paste" => writeln!(stdin, "{location}").unwrap(),
            "forged" => writeln!(stdin, "{}", location.replace("state=", "state=x")).unwrap(),
            _ => {
                let rest = location.strip_prefix("http://127.0.0.1:").unwrap();
                let (port, path) = rest.split_once('/').unwrap();
                let (status, _, body) = http("GET", port.parse().unwrap(), &format!("/{path}"), "");
                assert_eq!(status, 200, "{body}");
                assert!(body.contains("You can close this page"), "{body}");
            }
        }
        drop(stdin);
        let mut out = String::new();
        for l in lines {
            out.push_str(&l.unwrap());
            out.push('\n');
        }
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let status = child.wait().unwrap();
        shop.said.lock().unwrap().push_str(&out);
        if how == "forged" {
            assert!(!status.success(), "{out}");
            assert!(out.contains("state does not match"), "{out}");
        } else {
            assert!(status.success(), "{how}: {out}");
            let check = shop.cli(&["check"]);
            assert!(check.contains("fresh access token obtained"), "{check}");
            assert!(check.contains("imap login      ok"), "{check}");
        }
    }
    assert_no_token_leaked(&shop);
}

/// A fake IMAP server that offers only password logins, as a server without OAuth2 does.
fn no_xoauth2_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let _ = s.write_all(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n");
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            while r.read_line(&mut line).is_ok_and(|n| n > 0) {
                let tag = line.split(' ').next().unwrap_or("*").to_string();
                let reply = if line.to_ascii_uppercase().contains("CAPABILITY") {
                    format!("* CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=LOGIN\r\n{tag} OK done\r\n")
                } else {
                    format!("{tag} BAD not here\r\n")
                };
                let _ = s.write_all(reply.as_bytes());
                line.clear();
            }
        }
    });
    port
}

#[test]
fn bad_input_gets_a_clear_line_from_check() {
    let _one = serial();
    let lab = lab();
    reset_idp();
    let idp_url = format!("http://127.0.0.1:{}", idp_port());
    let shop = Shop::new(&lab, &format!("device_url = \"{idp_url}/device\"\n"));
    shop.login_device();
    let line = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("oauth2 token"))
            .unwrap_or("")
            .to_string()
    };

    // A wrong client secret.
    let config = std::fs::read_to_string(shop.config()).unwrap();
    std::fs::write(shop.config(), config.replace("lab-secret", "wrong-secret")).unwrap();
    let (ok, text) = shop.try_cli(&["check"]);
    assert!(!ok);
    assert!(
        line(&text).contains("the provider refused the client (invalid_client): check [oauth2] client_id and client_secret"),
        "{text}"
    );
    std::fs::write(shop.config(), &config).unwrap();

    // A token endpoint answering with a web page.
    idp("/admin/config", "mode=html");
    let (ok, text) = shop.try_cli(&["check"]);
    assert!(!ok);
    assert!(
        line(&text).contains("answered with Content-Type text/html"),
        "{text}"
    );
    assert!(line(&text).contains("not JSON"), "{text}");

    // A token endpoint that never answers: the limit, not a hang.
    idp("/admin/config", "mode=hang");
    let started = Instant::now();
    let (ok, text) = shop.try_cli(&["check"]);
    let waited = started.elapsed();
    reset_idp();
    assert!(!ok);
    assert!(line(&text).contains("did not answer within 30 s"), "{text}");
    assert!(waited < Duration::from_secs(45), "check took {waited:?}");
    eprintln!("check gave up on a hanging token endpoint after {waited:?}");

    // A server that takes no OAuth2 tokens.
    let port = no_xoauth2_server();
    let odd = config.replace(
        &format!("port = {}\ntls = \"tls\"", lab.imaps_port),
        &format!("port = {port}\ntls = \"none\""),
    );
    assert_ne!(odd, config);
    std::fs::write(shop.config(), odd).unwrap();
    let (ok, text) = shop.try_cli(&["check"]);
    assert!(!ok);
    assert!(
        text.contains("imap login      FAIL  127.0.0.1")
            && text
                .contains("the server offers no XOAUTH2 or OAUTHBEARER (it offers LOGIN, PLAIN)"),
        "{text}"
    );
    assert!(!text.contains("panicked"), "{text}");
    std::fs::write(shop.config(), &config).unwrap();
    assert_no_token_leaked(&shop);
}

/// A refresh and an access token for the shop, by the device flow spoken over HTTP directly.
fn tokens_by_hand() -> (String, String) {
    let creds = "client_id=mailcart-lab&client_secret=lab-secret";
    let d = idp("/device", &format!("{creds}&scope=mail"));
    let code = d["user_code"].as_str().unwrap();
    idp("/admin/approve", &format!("user_code={code}&user={SHOP}"));
    let t = idp(
        "/token",
        &format!(
            "{creds}&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code={}",
            d["device_code"].as_str().unwrap()
        ),
    );
    (
        t["refresh_token"].as_str().unwrap().to_string(),
        t["access_token"].as_str().unwrap().to_string(),
    )
}

/// OAUTHBEARER (RFC 7628), which mailcart uses where a server offers no XOAUTH2, as Dovecot
/// takes it and refuses it; and XOAUTH2's refusal, answered so that the connection stays usable.
#[test]
fn dovecot_takes_oauthbearer_and_xoauth2_as_we_write_them() {
    let _one = serial();
    let lab = lab();
    reset_idp();
    let (_, access) = tokens_by_hand();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use mailcart::oauth::{OAuthBearer, Secret, XOAuth2};
        let connect = || async {
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", lab.imap_port))
                .await
                .unwrap();
            let mut client = async_imap::Client::new(tcp);
            client.read_response().await.unwrap().unwrap();
            client
        };
        let good = Secret::new(access.clone());
        let bad = Secret::new("lab-at-not-issued".into());
        let bearer = |t: &Secret| OAuthBearer::new(SHOP, "127.0.0.1", lab.imap_port, t);

        let client = connect().await;
        let (e, client) = client
            .authenticate("OAUTHBEARER", bearer(&bad))
            .await
            .map(|_| ())
            .unwrap_err();
        assert!(e.to_string().contains("AUTHENTICATIONFAILED"), "{e}");
        // The refused exchange was ended properly: the same connection logs in.
        let mut s = client
            .authenticate("OAUTHBEARER", bearer(&good))
            .await
            .map_err(|(e, _)| e)
            .unwrap();
        s.logout().await.unwrap();

        let client = connect().await;
        let (_, client) = client
            .authenticate("XOAUTH2", XOAuth2::new(SHOP, &bad))
            .await
            .map(|_| ())
            .unwrap_err();
        let mut s = client
            .authenticate("XOAUTH2", XOAuth2::new(SHOP, &good))
            .await
            .map_err(|(e, _)| e)
            .unwrap();
        s.logout().await.unwrap();
    });
    assert!(dovecot_logins("OAUTHBEARER") > 0);
}

/// SMTP AUTH XOAUTH2 through Postfix and Dovecot SASL: a token the server refuses (the
/// provider withdrew it) is replaced once, and the message goes.
#[test]
fn smtp_replaces_a_refused_token_once_and_sends() {
    let _one = serial();
    let lab = lab();
    reset_idp();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let idp_url = format!("http://127.0.0.1:{}", idp_port());
    let example = std::fs::read_to_string(repo().join("config.example.toml")).unwrap();
    let text = format!(
        "{}\n[smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nauth = \"oauth2\"\nusername = \"{SHOP}\"\ntimeout_seconds = 10\n[oauth2]\nprovider = \"custom\"\nclient_id = \"mailcart-lab\"\nclient_secret = \"lab-secret\"\ntoken_url = \"{idp_url}/token\"\ndevice_url = \"{idp_url}/device\"\nscopes = [\"mail\"]\n",
        example.replace(
            "database = \"mailcart.db\"",
            &format!("database = {:?}", db.display().to_string())
        ),
        lab.smtp_port
    );
    let config = mailcart::config::Config::from_toml(&text, Path::new("c.toml")).unwrap();
    let smtp = config.smtp.clone().unwrap();
    let setup = config.oauth().unwrap();
    assert!(setup.token_file.starts_with(dir.path()));
    let (refresh, _) = tokens_by_hand();
    mailcart::oauth::TokenStore::new(setup.token_file.clone())
        .save(&mailcart::oauth::StoredToken {
            provider: "custom".into(),
            client_id: "mailcart-lab".into(),
            refresh_token: mailcart::oauth::Secret::new(refresh),
            saved_at: "now".into(),
            refused_at: None,
        })
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let refreshes = || idp("/admin/stats", "")["refresh_token"].as_u64().unwrap();
    rt.block_on(async {
        let message = |id: &str| {
            format!("From: {SHOP}\r\nTo: pat@example.test\r\nSubject: t\r\nMessage-ID: <{id}>\r\n\r\nhello\r\n")
        };
        let first = unique("smtp-oauth");
        let sink = mailcart::smtp::SmtpSink::new(&smtp, SHOP).unwrap();
        let before = refreshes();
        sink.send(&["pat@example.test"], message(&first).as_bytes())
            .await
            .unwrap();
        assert_eq!(refreshes(), before + 1, "one token for the first login");
        idp("/admin/expire", "");
        // A new sink opens a new connection with the token still cached in the process.
        let second = unique("smtp-oauth");
        let sink = mailcart::smtp::SmtpSink::new(&smtp, SHOP).unwrap();
        sink.send(&["pat@example.test"], message(&second).as_bytes())
            .await
            .unwrap();
        assert_eq!(refreshes(), before + 2, "refused once, replaced once");
        // Revoked: the message waits (transient), with the words to act on.
        idp("/admin/revoke", &format!("user={SHOP}"));
        idp("/admin/expire", "");
        let third = unique("smtp-oauth");
        let sink = mailcart::smtp::SmtpSink::new(&smtp, SHOP).unwrap();
        let e = sink
            .send(&["pat@example.test"], message(&third).as_bytes())
            .await
            .unwrap_err();
        assert!(e.is_transient(), "{e:?}");
        assert!(
            e.message().ends_with("OAuth2: the refresh token was refused (invalid_grant): run `mailcart login` again"),
            "{e:?}"
        );
    });
    let stored = mailcart::oauth::TokenStore::new(setup.token_file.clone())
        .load()
        .unwrap()
        .unwrap();
    assert!(
        stored.refused_at.is_some(),
        "the refusal is noted for status"
    );
    reset_idp();
}

/// A provider that hands out a new refresh token with every refresh and retires the old one
/// (Microsoft may): the new one is stored, or the second refresh would be refused.
#[test]
fn a_rotated_refresh_token_is_stored() {
    let _one = serial();
    lab();
    reset_idp();
    let dir = tempfile::tempdir().unwrap();
    let idp_url = format!("http://127.0.0.1:{}", idp_port());
    let example = std::fs::read_to_string(repo().join("config.example.toml")).unwrap();
    let text = format!(
        "{}\n[imap]\nhost = \"127.0.0.1\"\nport = 1\ntls = \"none\"\nauth = \"oauth2\"\nusername = \"{SHOP}\"\n[oauth2]\nprovider = \"custom\"\nclient_id = \"mailcart-lab\"\nclient_secret = \"lab-secret\"\ntoken_url = \"{idp_url}/token\"\ndevice_url = \"{idp_url}/device\"\nscopes = [\"mail\"]\n",
        example.replace(
            "database = \"mailcart.db\"",
            &format!(
                "database = {:?}",
                dir.path().join("shop.db").display().to_string()
            )
        ),
    );
    let config = mailcart::config::Config::from_toml(&text, Path::new("c.toml")).unwrap();
    let setup = config.oauth().unwrap();
    let store = mailcart::oauth::TokenStore::new(setup.token_file.clone());
    let (refresh, _) = tokens_by_hand();
    store
        .save(&mailcart::oauth::StoredToken {
            provider: "custom".into(),
            client_id: "mailcart-lab".into(),
            refresh_token: mailcart::oauth::Secret::new(refresh.clone()),
            saved_at: "now".into(),
            refused_at: None,
        })
        .unwrap();
    idp("/admin/config", "rotate=1");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let source = mailcart::oauth::TokenSource::new(setup.clone());
    rt.block_on(async {
        source.refresh_now().await.unwrap();
        let second = store.load().unwrap().unwrap();
        assert_ne!(
            second.refresh_token.expose(),
            refresh,
            "the new one is kept"
        );
        source.refresh_now().await.unwrap();
        assert_ne!(
            store.load().unwrap().unwrap().refresh_token.expose(),
            second.refresh_token.expose()
        );
    });
    reset_idp();
}
