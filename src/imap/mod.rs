//! The checkout mailbox over IMAP: connecting (TLS, STARTTLS or plain on loopback), the
//! source loop that takes new mail into the pipeline, `mailcart check`, and appending sent
//! copies.
//!
//! The rules the source keeps:
//! - a message is stored and decided on, and the mailbox checkpoint moved past it, in one
//!   database transaction; only after that commit is it flagged or moved on the server, so a
//!   crash at any point loses nothing (a rescan is deduplicated by the pipeline);
//! - messages are only ever fetched with `BODY.PEEK`, so reading never marks them \Seen;
//! - every command is read to its tagged completion and every network step has a time limit.

mod check;
mod folders;
mod namespace;
mod net;
mod session;
mod source;

pub use check::check;
pub use folders::{
    Layout, LayoutSource, decode as decode_folder_name, encode as encode_folder_name,
};
pub use net::{MailStream, connect};
pub use session::{MailboxState, Part, Session};
pub use source::run;

use crate::config;

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("[imap] {0}")]
    Config(String),
    #[error("[imap] ca_file {path}: {message}")]
    CaFile { path: String, message: String },
    #[error("cannot resolve {host}: {message}")]
    Resolve { host: String, message: String },
    #[error("cannot connect to {target}: {message}")]
    Connect { target: String, message: String },
    /// `permanent`: the TLS itself failed (a certificate not trusted, no STARTTLS offered),
    /// not the connection under it.
    #[error("TLS with {target}: {message}")]
    Tls {
        target: String,
        message: String,
        permanent: bool,
    },
    #[error("{server} refused the login for {user}: {message}")]
    Login {
        server: String,
        user: String,
        message: String,
    },
    #[error("[imap] {key} = {name:?}: {message}")]
    FolderName {
        key: String,
        name: String,
        message: String,
    },
    #[error(
        "the server refused to create the folder {name:?}: {text} (create it by hand, or name another in [imap] {key})"
    )]
    FolderCreate {
        key: String,
        name: String,
        text: String,
    },
    #[error("timed out after {secs} s {what}")]
    Timeout { what: String, secs: u64 },
    #[error("the server answered {command} with {status}: {text}")]
    Refused {
        command: String,
        status: String,
        text: String,
    },
    #[error("the server closed the connection{0}")]
    Closed(String),
    #[error("IMAP: {0}")]
    Protocol(String),
    #[error("database: {0}")]
    Database(String),
    #[error("the database thread has stopped")]
    DbClosed,
    /// No access token for `auth = "oauth2"`; permanent when a person must act
    /// (`OAuthError::is_permanent`).
    #[error("OAuth2: {0}")]
    OAuth(#[from] crate::oauth::OAuthError),
}

impl ImapError {
    /// Whether only a person can mend this (a login refused, a certificate not trusted, a
    /// mailbox that does not exist, a folder the server will not create, a host name that does
    /// not resolve): retrying as it is will fail alike. The rest (timeouts, refused or reset
    /// connections, BYE) may pass by themselves.
    pub fn is_permanent(&self) -> bool {
        self.kind().is_some()
    }

    /// The kind of permanent problem, and what in the config to look at.
    fn kind(&self) -> Option<(&'static str, &'static str)> {
        // RFC 5530: the server says a NO is for the moment (its user database is down, the
        // mailbox is in use), not for what we asked.
        let for_now = |text: &str| {
            ["[UNAVAILABLE]", "[INUSE]", "[SERVERBUG]", "[LIMIT]"]
                .iter()
                .any(|code| text.contains(code))
        };
        match self {
            ImapError::Config(_) => {
                Some(("config", "[imap] password, password_env or password_file"))
            }
            ImapError::CaFile { .. } => Some(("ca-file", "[imap] ca_file")),
            ImapError::Resolve { message, .. } => {
                // The resolver's "try again" and our own time limit say nothing of the name.
                let lower = message.to_ascii_lowercase();
                (!lower.contains("temporary") && !lower.contains("no answer"))
                    .then_some(("dns", "[imap] host"))
            }
            ImapError::Tls {
                permanent: true, ..
            } => Some(("tls", "[imap] host, port, tls and ca_file")),
            // A NO or BAD to our credentials; not a connection lost in the middle of LOGIN.
            ImapError::Login { message, .. } => {
                let oauth = message.contains("OAuth2") || message.contains("XOAUTH2");
                (!for_now(message) && message != "connection lost" && !message.starts_with("io: "))
                    .then_some(if oauth {
                        ("oauth2-login", "[imap] username, and `mailcart login`")
                    } else {
                        ("login", "[imap] username and password")
                    })
            }
            ImapError::FolderCreate { key, text, .. } if !for_now(text) => {
                Some(("create-folder", folder_key(key)))
            }
            ImapError::FolderName { key, .. } => Some(("folder-name", folder_key(key))),
            ImapError::OAuth(e) => e.kind(),
            ImapError::Refused { command, text, .. } if !for_now(text) => match command.as_str() {
                "CREATE" => Some((
                    "create-folder",
                    "[imap] processed_folder and needs_human_folder",
                )),
                "SELECT" | "EXAMINE" => Some(("mailbox", "[imap] mailbox")),
                _ => None,
            },
            _ => None,
        }
    }

    /// This failure as a problem for a person (`crate::problem`), when it is one.
    pub fn problem(&self) -> Option<crate::problem::Problem> {
        let (kind, fix) = self.kind()?;
        Some(crate::problem::Problem::new(
            "imap",
            kind,
            self.to_string(),
            fix,
        ))
    }
}

/// The config key of a folder, as a person looks it up.
fn folder_key(key: &str) -> &'static str {
    match key {
        "processed_folder" => "[imap] processed_folder",
        "needs_human_folder" => "[imap] needs_human_folder",
        "sent_folder" => "[imap] sent_folder",
        _ => "[imap] mailbox",
    }
}

/// Append copies of sent messages to `[imap] sent_folder` (flagged \Seen), over one connection.
/// Does nothing when no sent folder is configured. The folder must exist (`check` says so).
pub async fn append_sent(cfg: &config::Imap, messages: &[Vec<u8>]) -> Result<usize, ImapError> {
    let Some(folder) = cfg.sent_folder.as_deref() else {
        return Ok(0);
    };
    if messages.is_empty() {
        return Ok(0);
    }
    let mut session = connect(cfg).await?;
    let folder = match session.folder("sent_folder", folder) {
        Ok(f) => f,
        Err(e) => {
            session.logout().await;
            return Err(e);
        }
    };
    let mut done = 0;
    for raw in messages {
        if let Err(e) = session.append(&folder, raw, "\\Seen").await {
            session.logout().await;
            return Err(e);
        }
        done += 1;
    }
    session.logout().await;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_a_person_must_mend_are_told_from_those_that_pass() {
        let refused = |command: &str, text: &str| ImapError::Refused {
            command: command.into(),
            status: "NO".into(),
            text: text.into(),
        };
        let login = |message: &str| ImapError::Login {
            server: "s:993".into(),
            user: "orders@shop".into(),
            message: message.into(),
        };
        let tls = |permanent| ImapError::Tls {
            target: "s:993".into(),
            message: "m".into(),
            permanent,
        };
        let resolve = |message: &str| ImapError::Resolve {
            host: "imap.shop".into(),
            message: message.into(),
        };
        let cases: Vec<(ImapError, Option<(&str, &str)>)> = vec![
            (
                login(
                    "[AUTHENTICATIONFAILED] Authentication failed. (check [imap] username and password)",
                ),
                Some(("login", "[imap] username and password")),
            ),
            (
                login("[UNAVAILABLE] Temporary authentication failure."),
                None,
            ),
            (login("connection lost"), None),
            (login("io: Connection reset by peer"), None),
            (
                ImapError::FolderCreate {
                    key: "needs_human_folder".into(),
                    name: "mailcart/needs-human".into(),
                    text: "NO [CANNOT] Invalid mailbox name: Name must not have '/' characters"
                        .into(),
                },
                Some(("create-folder", "[imap] needs_human_folder")),
            ),
            (
                ImapError::FolderCreate {
                    key: "processed_folder".into(),
                    name: "x".into(),
                    text: "NO [UNAVAILABLE] try later".into(),
                },
                None,
            ),
            (
                ImapError::FolderName {
                    key: "processed_folder".into(),
                    name: "a/b".into(),
                    message: "the server keeps folders flat".into(),
                },
                Some(("folder-name", "[imap] processed_folder")),
            ),
            (
                refused(
                    "SELECT",
                    "cannot open mailbox \"Orders\": [NONEXISTENT] Mailbox doesn't exist: Orders",
                ),
                Some(("mailbox", "[imap] mailbox")),
            ),
            (refused("SELECT", "[INUSE] Mailbox is locked"), None),
            (
                refused("UID MOVE", "[TRYCREATE] Mailbox doesn't exist"),
                None,
            ),
            (
                tls(true),
                Some(("tls", "[imap] host, port, tls and ca_file")),
            ),
            (tls(false), None),
            (
                resolve("failed to lookup address information: Name or service not known"),
                Some(("dns", "[imap] host")),
            ),
            (
                resolve(
                    "failed to lookup address information: Temporary failure in name resolution",
                ),
                None,
            ),
            (resolve("no answer from the resolver within 10 s"), None),
            (
                ImapError::CaFile {
                    path: "ca.pem".into(),
                    message: "holds no certificate".into(),
                },
                Some(("ca-file", "[imap] ca_file")),
            ),
            (
                ImapError::Timeout {
                    what: "waiting for LOGIN".into(),
                    secs: 10,
                },
                None,
            ),
            (
                ImapError::Connect {
                    target: "s:993".into(),
                    message: "refused".into(),
                },
                None,
            ),
            (ImapError::Closed(": BYE shutting down".into()), None),
        ];
        for (error, want) in cases {
            let got = error.problem();
            assert_eq!(
                got.as_ref().map(|p| (p.kind.as_str(), p.fix.as_str())),
                want,
                "{error}"
            );
            assert_eq!(error.is_permanent(), want.is_some(), "{error}");
            if let Some(p) = got {
                assert_eq!(p.server, "imap");
                assert_eq!(p.words, error.to_string());
            }
        }
    }
}
