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
mod net;
mod session;
mod source;

pub use check::check;
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
    #[error("TLS with {target}: {message}")]
    Tls { target: String, message: String },
    #[error("{server} refused the login for {user}: {message}")]
    Login {
        server: String,
        user: String,
        message: String,
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
    let mut done = 0;
    for raw in messages {
        if let Err(e) = session.append(folder, raw, "\\Seen").await {
            session.logout().await;
            return Err(e);
        }
        done += 1;
    }
    session.logout().await;
    Ok(done)
}
