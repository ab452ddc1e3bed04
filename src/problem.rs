//! Connection problems a person has to mend: a login refused, a certificate not trusted, a
//! mailbox that does not exist, a folder the server will not create, a host name that does not
//! resolve (and, with OAuth2, a refresh token refused). Retrying never mends these, though
//! `mailcart run` keeps trying at its capped backoff, because someone may mend the server side
//! meanwhile.
//!
//! What happens instead of silence: the problem is recorded (what, the config key or command
//! to look at, since when, how many tries) for `mailcart status`; the sellers get one email
//! when a problem begins and one when it clears, however many tries and restarts lie between
//! (the open problem is a database row, so a restart finds it). A problem with the outgoing
//! server cannot be emailed through it: it is recorded, `status` says the sellers were not
//! told, and the email that it cleared says what happened.
//!
//! Anything that fails to connect hands its failure in as a `Problem` (a server, a kind that
//! stays the same across tries, the words, the fix): `ImapError::problem` and
//! `SendError::Setup` make them today; any other source (an OAuth2 refresh) makes its own.

use std::sync::Arc;

use rusqlite::Connection;
use time::OffsetDateTime;

use crate::config::Config;
use crate::db::{Db, DbClosed};
use crate::outbox::{self, OutboxError};
use crate::store;

/// A failure to connect that only a person can mend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The connection it stops: "imap" or "smtp". One problem is open per server at a time.
    pub server: String,
    /// What kind of failure, the same on every try ("login", "create-folder", "tls",
    /// "oauth2-invalid-grant" ...): another kind is another problem, and another email.
    pub kind: String,
    /// The failure as last seen, in words.
    pub words: String,
    /// What to change: a config key ("[imap] username and password") or a command ("run
    /// `mailcart login` again").
    pub fix: String,
}

impl Problem {
    pub fn new(
        server: &str,
        kind: &str,
        words: impl Into<String>,
        fix: impl Into<String>,
    ) -> Problem {
        Problem {
            server: server.into(),
            kind: kind.into(),
            words: words.into(),
            fix: fix.into(),
        }
    }

    /// The words with the fix, for `status`, `check` and the sellers.
    pub fn sentence(&self) -> String {
        sentence(&self.words, &self.fix)
    }
}

/// `words`, then what to look at unless the words say so already.
pub fn sentence(words: &str, fix: &str) -> String {
    if words.contains(fix) {
        words.to_string()
    } else if fix.starts_with('[') {
        format!("{words} (check {fix})")
    } else {
        format!("{words} ({fix})")
    }
}

/// The server in the sellers' words.
fn what(server: &str) -> &str {
    match server {
        "imap" => "the checkout mailbox (IMAP)",
        "smtp" => "the outgoing mail server (SMTP)",
        other => other,
    }
}

/// Why the sellers cannot be told of a problem of this `kind` with `server` by email, if they
/// cannot: the email would go out through the same server, or log in to the outgoing server
/// with the same OAuth2 grant that fails (a refused grant or client, no login at all).
fn untold(server: &str, kind: &str, config: &Config) -> Option<&'static str> {
    let smtp = config.smtp.as_ref()?;
    if server == "smtp" {
        return Some(
            "the sellers were not emailed: the email would have to go out through this same server",
        );
    }
    (smtp.oauth.is_some() && kind.starts_with("oauth2-") && kind != "oauth2-login").then_some(
        "the sellers were not emailed: the outgoing server logs in with the same OAuth2 grant",
    )
}

/// A try to reach `server` failed with `error`; `problem` when it is one a person has to mend.
/// Records the contact and the problem (new, or one more try of the open one), and for a new
/// problem queues the sellers' email, all in the caller's transaction. Returns whether mail
/// was queued (wake the outbox).
pub fn note_failure(
    tx: &Connection,
    config: &Config,
    server: &str,
    error: &str,
    problem: Option<&Problem>,
    now: OffsetDateTime,
) -> Result<bool, OutboxError> {
    store::record_contact(tx, server, Some(error), now)?;
    let open = store::open_problem(tx, server)?;
    let Some(p) = problem else {
        // Not one a person must mend (a timeout, a reset): the open problem, if any, is
        // neither mended nor seen again; the try still counts.
        if let Some(o) = open {
            store::problem_again(tx, o.id, None, now)?;
        }
        return Ok(false);
    };
    let mut replaced = None;
    if let Some(o) = open {
        if o.kind == p.kind {
            store::problem_again(tx, o.id, Some(&p.words), now)?;
            return Ok(false);
        }
        // Something else stops us now: the first is mended, and the new email says so.
        store::clear_problem(tx, o.id, now)?;
        event(tx, "connection_problem_cleared", &o, now)?;
        replaced = Some(o);
    }
    let told = untold(&p.server, &p.kind, config)
        .unwrap_or("an email to the sellers was queued in the outbox");
    let id = store::insert_problem(tx, &p.server, &p.kind, &p.words, &p.fix, told, now)?;
    let row = store::open_problem(tx, &p.server)?
        .ok_or_else(|| store::StoreError::Corrupt(format!("problem {id} not found")))?;
    event(tx, "connection_problem", &row, now)?;
    if untold(&p.server, &p.kind, config).is_some() {
        return Ok(false);
    }
    let mut text = format!(
        "mailcart cannot use {} since {}: {}\n\nUntil this is mended, {}. mailcart keeps trying and will write again when it works. `mailcart check` shows each step of connecting; `mailcart status` shows the tries.",
        what(&p.server),
        row.since,
        p.sentence(),
        match p.server.as_str() {
            "imap" => "orders that arrive wait in the mailbox unanswered",
            "smtp" => "replies wait in the outbox",
            _ => "mail may wait",
        }
    );
    if let Some(o) = replaced {
        text.push_str(&format!(
            "\n\nThe earlier problem (since {}, {} tries) is gone: {}",
            o.since,
            o.tries,
            sentence(&o.words, &o.fix)
        ));
    }
    let subject = format!("mailcart needs you: {}", p.fix);
    outbox::alert_sellers_in(tx, config, &format!("problem.{id}"), &subject, &text, now)
}

/// `server` was reached and worked: records the contact and, when a problem was open, clears
/// it and queues the sellers' email that it did, in the caller's transaction. Returns whether
/// mail was queued.
pub fn note_success(
    tx: &Connection,
    config: &Config,
    server: &str,
    now: OffsetDateTime,
) -> Result<bool, OutboxError> {
    store::record_contact(tx, server, None, now)?;
    let Some(o) = store::open_problem(tx, server)? else {
        return Ok(false);
    };
    store::clear_problem(tx, o.id, now)?;
    event(tx, "connection_problem_cleared", &o, now)?;
    let mut text = format!(
        "mailcart uses {} again. The problem seen since {} ({} {}) is gone: {}",
        what(&o.server),
        o.since,
        o.tries,
        if o.tries == 1 { "try" } else { "tries" },
        sentence(&o.words, &o.fix)
    );
    if let Some(why) = untold(&o.server, &o.kind, config) {
        let why = why.trim_start_matches("the sellers were not emailed: ");
        text.push_str(&format!("\n\nYou were not emailed when it began: {why}. Replies that waited meanwhile are being sent now."));
    }
    let subject = format!("mailcart works again: {}", what(&o.server));
    outbox::alert_sellers_in(
        tx,
        config,
        &format!("problem.{}.cleared", o.id),
        &subject,
        &text,
        now,
    )
}

/// `note_failure` in a transaction of its own on the database thread, for a task of `run`.
pub async fn failed(
    db: &Db,
    config: &Arc<Config>,
    server: &'static str,
    error: String,
    problem: Option<Problem>,
) -> Result<Result<bool, OutboxError>, DbClosed> {
    in_transaction(db, config, move |tx, config, now| {
        note_failure(tx, config, server, &error, problem.as_ref(), now)
    })
    .await
}

/// `note_success` in a transaction of its own on the database thread.
pub async fn mended(
    db: &Db,
    config: &Arc<Config>,
    server: &'static str,
) -> Result<Result<bool, OutboxError>, DbClosed> {
    in_transaction(db, config, move |tx, config, now| {
        note_success(tx, config, server, now)
    })
    .await
}

async fn in_transaction(
    db: &Db,
    config: &Arc<Config>,
    f: impl FnOnce(&Connection, &Config, OffsetDateTime) -> Result<bool, OutboxError> + Send + 'static,
) -> Result<Result<bool, OutboxError>, DbClosed> {
    let config = Arc::clone(config);
    db.call(move |conn| {
        let tx = conn.transaction()?;
        let queued = f(&tx, &config, OffsetDateTime::now_utc())?;
        tx.commit()?;
        Ok(queued)
    })
    .await
}

fn event(
    tx: &Connection,
    kind: &str,
    p: &store::ProblemRow,
    now: OffsetDateTime,
) -> Result<(), OutboxError> {
    let detail = serde_json::json!({
        "server": p.server, "kind": p.kind, "words": p.words, "fix": p.fix,
        "since": p.since, "tries": p.tries,
    });
    store::insert_event(tx, now, None, None, kind, &detail)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(extra: &str) -> (tempfile::TempDir, Config, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let text = crate::EXAMPLE_CONFIG.replace(
            "database = \"mailcart.db\"",
            &format!("database = {:?}", dir.path().join("m.db").to_str().unwrap()),
        ) + extra;
        let config = Config::from_toml(&text, std::path::Path::new("x")).unwrap();
        let conn = store::open(&config.storage.database).unwrap();
        (dir, config, conn)
    }

    fn alerts(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT subject FROM outbox WHERE template = 'alert' ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn login() -> Problem {
        Problem::new(
            "imap",
            "login",
            "127.0.0.1:143 refused the login for orders@shop: [AUTHENTICATIONFAILED] Authentication failed.",
            "[imap] username and password",
        )
    }

    #[test]
    fn one_email_per_problem_and_one_when_it_clears() {
        let (_d, config, conn) = setup("");
        let t = OffsetDateTime::now_utc();
        let sellers = config.shop.sellers.len();
        assert!(sellers > 0);
        assert!(note_failure(&conn, &config, "imap", "e", Some(&login()), t).unwrap());
        for i in 1..5 {
            let again = t + time::Duration::seconds(i);
            assert!(!note_failure(&conn, &config, "imap", "e", Some(&login()), again).unwrap());
        }
        // A timeout between: not a problem, but a try.
        assert!(!note_failure(&conn, &config, "imap", "timed out", None, t).unwrap());
        let open = store::open_problem(&conn, "imap").unwrap().unwrap();
        assert_eq!(open.tries, 6);
        assert_eq!(alerts(&conn).len(), sellers);
        assert!(alerts(&conn)[0].contains("[imap] username and password"));

        assert!(note_success(&conn, &config, "imap", t).unwrap());
        assert!(!note_success(&conn, &config, "imap", t).unwrap(), "once");
        assert_eq!(alerts(&conn).len(), 2 * sellers);
        assert!(store::open_problem(&conn, "imap").unwrap().is_none());

        // The same kind again later is a new problem: a new email.
        assert!(note_failure(&conn, &config, "imap", "e", Some(&login()), t).unwrap());
        assert_eq!(alerts(&conn).len(), 3 * sellers);
    }

    #[test]
    fn another_kind_replaces_the_open_problem_in_one_email() {
        let (_d, config, conn) = setup("");
        let t = OffsetDateTime::now_utc();
        note_failure(&conn, &config, "imap", "e", Some(&login()), t).unwrap();
        let folder = Problem::new(
            "imap",
            "create-folder",
            "the server answered CREATE with NO: [CANNOT] Invalid mailbox name",
            "[imap] processed_folder",
        );
        assert!(note_failure(&conn, &config, "imap", "e", Some(&folder), t).unwrap());
        let sellers = config.shop.sellers.len();
        assert_eq!(alerts(&conn).len(), 2 * sellers);
        let open = store::open_problems(&conn).unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].kind, "create-folder");
        let text: String = conn
            .query_row(
                "SELECT CAST(raw AS TEXT) FROM outbox ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(text.contains("The earlier problem"), "{text}");
    }

    #[test]
    fn a_problem_with_the_outgoing_server_is_recorded_not_emailed_through_it() {
        let (_d, config, conn) = setup(
            "\n[smtp]\nhost = \"127.0.0.1\"\nport = 25\ntls = \"none\"\nusername = \"u\"\npassword_env = \"X\"\n",
        );
        let t = OffsetDateTime::now_utc();
        let p = Problem::new(
            "smtp",
            "login",
            "the server refused the username or password",
            "[smtp] username and password",
        );
        assert!(!note_failure(&conn, &config, "smtp", "e", Some(&p), t).unwrap());
        assert!(alerts(&conn).is_empty());
        let open = store::open_problem(&conn, "smtp").unwrap().unwrap();
        assert!(open.told.contains("not emailed"), "{}", open.told);
        // When it works again, the sellers hear of it all.
        assert!(note_success(&conn, &config, "smtp", t).unwrap());
        assert_eq!(alerts(&conn).len(), config.shop.sellers.len());
    }

    #[test]
    fn a_refused_grant_is_not_emailed_through_an_outgoing_server_on_the_same_grant() {
        let grant = Problem::new(
            "imap",
            "oauth2-invalid-grant",
            "OAuth2: the refresh token was refused (invalid_grant): run `mailcart login` again",
            "run `mailcart login` again",
        );
        let t = OffsetDateTime::now_utc();
        let oauth = "\n[smtp]\nhost = \"127.0.0.1\"\nport = 25\ntls = \"none\"\nauth = \"oauth2\"\nusername = \"u\"\n\n[oauth2]\nprovider = \"google\"\nclient_id = \"c\"\nclient_secret = \"s\"\n";
        let (_d, config, conn) = setup(oauth);
        assert!(!note_failure(&conn, &config, "imap", "e", Some(&grant), t).unwrap());
        assert!(alerts(&conn).is_empty());
        let open = store::open_problem(&conn, "imap").unwrap().unwrap();
        assert!(open.told.contains("same OAuth2 grant"), "{}", open.told);
        assert!(note_success(&conn, &config, "imap", t).unwrap());
        let raw: Vec<u8> = conn
            .query_row(
                "SELECT raw FROM outbox WHERE template = 'alert' LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let body = crate::mail::read::read(&raw).text;
        assert!(
            body.contains("You were not emailed when it began: the outgoing server logs in with the same OAuth2 grant."),
            "{body}"
        );

        // The token itself refused by the IMAP server: the grant (and SMTP) may be fine.
        let (_d, config, conn) = setup(oauth);
        let login = Problem::new("imap", "oauth2-login", "refused", "[imap] username");
        assert!(note_failure(&conn, &config, "imap", "e", Some(&login), t).unwrap());
        // A password for the outgoing server: the sellers hear of the refused grant at once.
        let (_d, config, conn) = setup(
            "\n[smtp]\nhost = \"127.0.0.1\"\nport = 25\ntls = \"none\"\nusername = \"u\"\npassword_env = \"X\"\n",
        );
        assert!(note_failure(&conn, &config, "imap", "e", Some(&grant), t).unwrap());
    }

    #[test]
    fn the_fix_is_named_once() {
        assert_eq!(
            sentence(
                "refused (check [imap] username and password)",
                "[imap] username and password"
            ),
            "refused (check [imap] username and password)"
        );
        assert_eq!(
            sentence("refused", "[imap] mailbox"),
            "refused (check [imap] mailbox)"
        );
        assert_eq!(
            sentence("invalid_grant", "run `mailcart login` again"),
            "invalid_grant (run `mailcart login` again)"
        );
    }
}
