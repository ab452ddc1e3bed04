//! A logged-in session and the commands mailcart sends on it. Every command is read to its
//! tagged completion (async-imap leaves the rest in the socket otherwise, where it turns up as
//! the answer to the next command), its status is checked, each read has a time limit, and so
//! has the whole command: a server that drips its answer a few bytes at a time sends every
//! response within the read limit and would otherwise hold a command for ever.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use async_imap::imap_proto::{
    AttributeValue, MailboxDatum, NameAttribute, Response, ResponseCode, Status,
};
use async_imap::types::UnsolicitedResponse;
use tokio::sync::watch;
use tokio::time::Instant;

use super::ImapError;
use super::folders::{self, Layout, LayoutSource};
use super::namespace;
use super::net::{MailStream, capability_set, clean, within};

/// The slowest transfer a command's deadline allows for on top of the time limit: a 25 MB
/// message may take 13 min, a 64 MB batch 35 min.
const MIN_BYTES_PER_SECOND: u64 = 32 * 1024;
/// What one message's line of a listing (UID and size) is allowed, in bytes.
const LISTING_BYTES_PER_MESSAGE: u64 = 64;
/// What one message's header is allowed, in bytes, when only headers are fetched.
const HEADER_BYTES: u64 = 16 * 1024;

/// A logged-in IMAP session (TLS or not). After any error the session is in an unknown state
/// (a command may be half read): drop it and connect again.
pub struct Session {
    inner: async_imap::Session<MailStream>,
    caps: BTreeSet<String>,
    limit: Duration,
    server: String,
    description: String,
    /// Set when the server reports new messages (EXISTS or RECENT) during a command.
    changed: bool,
    /// Messages in the selected mailbox, as last reported: what a listing may have to carry.
    exists: u32,
    /// How the server names folders, learned after login.
    layout: Layout,
}

/// What SELECT or EXAMINE found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxState {
    pub uidvalidity: u32,
    pub exists: u32,
    pub uid_next: Option<u32>,
}

/// Which part of a message to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The whole message, `BODY.PEEK[]`.
    Whole,
    /// The header only, `BODY.PEEK[HEADER]`.
    Header,
    /// The Message-ID header field alone.
    MessageId,
}

/// Why an IDLE ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// The server sent something about the mailbox.
    Changed,
    /// Nothing at all (not even a keepalive) for the silence period.
    Quiet,
    /// Time to re-issue IDLE.
    Renew,
    /// Shutdown was asked for.
    Shutdown,
}

impl Session {
    pub(crate) fn new(
        inner: async_imap::Session<MailStream>,
        limit: Duration,
        server: String,
        description: String,
    ) -> Session {
        Session {
            inner,
            caps: BTreeSet::new(),
            limit,
            server,
            description,
            changed: false,
            exists: 0,
            layout: Layout::default(),
        }
    }

    /// `host:port` of the server.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// How the connection is made, e.g. "127.0.0.1:993, TLS 1.3".
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Whether the server advertised `name` (e.g. "IDLE", "MOVE", "UIDPLUS") after login.
    pub fn has(&self, name: &str) -> bool {
        self.caps.contains(&name.to_ascii_uppercase())
    }

    /// The capabilities the server advertised after login, upper-cased.
    pub fn capabilities(&self) -> impl Iterator<Item = &str> {
        self.caps.iter().map(String::as_str)
    }

    /// Act as if the server had not advertised `name` (to exercise the fallbacks).
    #[doc(hidden)]
    pub fn forget_capability(&mut self, name: &str) {
        self.caps.remove(&name.to_ascii_uppercase());
    }

    /// How the server names folders (personal namespace prefix and separator).
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The server's name for the folder the config calls `logical` under `[imap] key`.
    pub fn folder(&self, key: &str, logical: &str) -> Result<String, ImapError> {
        self.layout
            .server_name(logical)
            .map_err(|message| ImapError::FolderName {
                key: key.to_string(),
                name: logical.to_string(),
                message,
            })
    }

    /// Learn the folder layout: the first personal namespace (RFC 2342) where the server has
    /// NAMESPACE and announces one, else the separator `LIST "" ""` gives, with no prefix.
    #[doc(hidden)]
    pub async fn learn_layout(&mut self) -> Result<(), ImapError> {
        if self.has("NAMESPACE")
            && let Some((prefix, delimiter)) = namespace::ask(&mut self.inner, self.limit).await?
        {
            self.layout = Layout {
                prefix,
                delimiter,
                source: LayoutSource::Namespace,
            };
            return Ok(());
        }
        let mut delimiter = None;
        self.command_with("LIST \"\" \"\"", |r| {
            if let Response::MailboxData(MailboxDatum::List { delimiter: d, .. }) = r {
                delimiter = d.as_deref().and_then(|d| d.chars().next());
            }
        })
        .await?;
        self.layout = Layout {
            prefix: String::new(),
            delimiter,
            source: LayoutSource::List,
        };
        Ok(())
    }

    pub(crate) fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    pub(crate) async fn refresh_capabilities(&mut self) -> Result<(), ImapError> {
        let mut caps = BTreeSet::new();
        self.command_with("CAPABILITY", |r| {
            if let Response::Capabilities(c) = r {
                caps.extend(capability_set(c));
            }
        })
        .await?;
        self.caps = caps;
        Ok(())
    }

    /// Send `command` and read every response up to its tagged completion, which must be OK.
    pub async fn command(&mut self, command: &str) -> Result<(), ImapError> {
        self.command_with(command, |_| {}).await
    }

    /// Send `command` and read every response up to its tagged completion, which must be OK;
    /// `each` sees every untagged response but EXISTS and RECENT (which set `changed`). The
    /// whole command has the time limit.
    pub async fn command_with(
        &mut self,
        command: &str,
        each: impl FnMut(&Response<'_>),
    ) -> Result<(), ImapError> {
        self.command_within(command, self.budget(0), each).await
    }

    /// The deadline for a command whose answer carries about `bytes`: the time limit, plus
    /// the time to move them at `MIN_BYTES_PER_SECOND`.
    fn budget(&self, bytes: u64) -> Duration {
        self.limit + Duration::from_secs(bytes / MIN_BYTES_PER_SECOND)
    }

    /// `command_with`, the whole command (every read besides having the time limit) within
    /// `total`.
    async fn command_within(
        &mut self,
        command: &str,
        total: Duration,
        mut each: impl FnMut(&Response<'_>),
    ) -> Result<(), ImapError> {
        let verb = verb(command);
        let run = async {
            let id = within(self.limit, &format!("sending {verb}"), async {
                self.inner.run_command(command).await
            })
            .await?;
            loop {
                let what = format!("waiting for the answer to {verb}");
                let response = within(self.limit, &what, self.inner.read_response()).await?;
                let Some(response) = response else {
                    return Err(ImapError::Closed(format!(" while we waited for {verb}")));
                };
                match response.parsed() {
                    Response::Done {
                        tag,
                        status,
                        information,
                        ..
                    } if *tag == id => {
                        return match status {
                            Status::Ok => Ok(()),
                            other => Err(ImapError::Refused {
                                command: verb.clone(),
                                status: format!("{other:?}").to_ascii_uppercase(),
                                text: information.as_deref().unwrap_or("").to_string(),
                            }),
                        };
                    }
                    Response::Done { tag, .. } => {
                        // An answer to an earlier command that was never read to its end.
                        tracing::warn!(tag = %tag.0, "stray imap completion ignored");
                    }
                    Response::Data {
                        status: Status::Bye,
                        information,
                        ..
                    } => {
                        return Err(ImapError::Closed(format!(
                            ": {}",
                            information.as_deref().unwrap_or("BYE")
                        )));
                    }
                    Response::MailboxData(MailboxDatum::Exists(n)) => {
                        self.exists = *n;
                        self.changed = true;
                    }
                    Response::MailboxData(MailboxDatum::Recent(_)) => self.changed = true,
                    other => each(other),
                }
            }
        };
        match tokio::time::timeout(total, run).await {
            Ok(result) => result,
            Err(_) => Err(ImapError::Timeout {
                what: format!("before {verb} was answered in full"),
                secs: total.as_secs(),
            }),
        }
    }

    /// SELECT (read-write) `mailbox`.
    pub async fn select(&mut self, mailbox: &str) -> Result<MailboxState, ImapError> {
        self.open("SELECT", mailbox).await
    }

    /// EXAMINE (read-only) `mailbox`.
    pub async fn examine(&mut self, mailbox: &str) -> Result<MailboxState, ImapError> {
        self.open("EXAMINE", mailbox).await
    }

    async fn open(&mut self, verb: &str, mailbox: &str) -> Result<MailboxState, ImapError> {
        let mut validity = None;
        let mut uid_next = None;
        // The server must report EXISTS for the mailbox; what was known of another is gone.
        self.exists = 0;
        let command = format!("{verb} {}", quote(mailbox));
        let opened = self
            .command_within(&command, self.budget(0), |r| {
                if let Response::Data {
                    status: Status::Ok,
                    code: Some(code),
                    ..
                } = r
                {
                    match code {
                        ResponseCode::UidValidity(v) => validity = Some(*v),
                        ResponseCode::UidNext(n) => uid_next = Some(*n),
                        _ => {}
                    }
                }
            })
            .await;
        if let Err(ImapError::Refused {
            command,
            status,
            text,
        }) = opened
        {
            return Err(ImapError::Refused {
                command,
                status,
                text: format!("cannot open mailbox {mailbox:?}: {text}"),
            });
        }
        opened?;
        let uidvalidity = validity.ok_or_else(|| {
            ImapError::Protocol(format!(
                "the server gave no UIDVALIDITY for {mailbox:?}, so messages cannot be told apart"
            ))
        })?;
        Ok(MailboxState {
            uidvalidity,
            exists: self.exists,
            uid_next,
        })
    }

    /// Whether a selectable folder of this name exists.
    pub async fn folder_exists(&mut self, name: &str) -> Result<bool, ImapError> {
        let mut found = false;
        self.command_with(&format!("LIST \"\" {}", quote(name)), |r| {
            if let Response::MailboxData(MailboxDatum::List {
                name: n,
                name_attributes,
                ..
            }) = r
            {
                let same = n.as_ref() == name
                    || (name.eq_ignore_ascii_case("INBOX") && n.eq_ignore_ascii_case("INBOX"));
                let selectable = !name_attributes
                    .iter()
                    .any(|a| matches!(a, NameAttribute::NoSelect));
                found |= same && selectable;
            }
        })
        .await?;
        Ok(found)
    }

    /// Create (and subscribe to) the folder the server calls `name` unless it exists; `key`
    /// names the config key it comes from, for the error. Returns whether it was created.
    pub async fn ensure_folder(&mut self, key: &str, name: &str) -> Result<bool, ImapError> {
        if self.folder_exists(name).await? {
            return Ok(false);
        }
        if let Err(e) = self.command(&format!("CREATE {}", quote(name))).await {
            // Someone else may have made it meanwhile.
            if self.folder_exists(name).await? {
                return Ok(false);
            }
            return Err(match e {
                ImapError::Refused { status, text, .. } => ImapError::FolderCreate {
                    key: key.to_string(),
                    name: folders::display(name),
                    text: format!("{status} {text}"),
                },
                other => other,
            });
        }
        if let Err(e) = self.command(&format!("SUBSCRIBE {}", quote(name))).await {
            tracing::debug!(folder = name, error = %e, "subscribing to the folder failed");
        }
        Ok(true)
    }

    /// UIDs and sizes of the messages above `after` in the selected mailbox, in UID order.
    pub async fn list_after(&mut self, after: u32) -> Result<Vec<(u32, u64)>, ImapError> {
        let Some(first) = after.checked_add(1) else {
            return Ok(Vec::new());
        };
        let mut found = BTreeMap::new();
        let total = self.budget(u64::from(self.exists) * LISTING_BYTES_PER_MESSAGE);
        let command = format!("UID FETCH {first}:* (UID RFC822.SIZE)");
        self.command_within(&command, total, |r| {
            if let Response::Fetch(_, attrs) = r {
                let mut uid = None;
                let mut size = None;
                for a in attrs {
                    match a {
                        AttributeValue::Uid(u) => uid = Some(*u),
                        AttributeValue::Rfc822Size(s) => size = Some(u64::from(*s)),
                        _ => {}
                    }
                }
                // "n:*" also names the last message when it is below n; unsolicited FETCH
                // responses (flag changes) carry no size.
                if let (Some(uid), Some(size)) = (uid, size)
                    && uid > after
                {
                    found.insert(uid, size);
                }
            }
        })
        .await?;
        Ok(found.into_iter().collect())
    }

    /// The UID of message number `seq` in the selected mailbox; None where it has none (the
    /// mailbox holds fewer messages now).
    pub async fn uid_of(&mut self, seq: u32) -> Result<Option<u32>, ImapError> {
        let mut found = None;
        self.command_with(&format!("FETCH {seq} (UID)"), |r| {
            if let Response::Fetch(n, attrs) = r
                && *n == seq
            {
                for a in attrs {
                    if let AttributeValue::Uid(u) = a {
                        found = Some(*u);
                    }
                }
            }
        })
        .await?;
        Ok(found)
    }

    /// UIDs of the messages in `range` (e.g. "1:40") of the selected mailbox, ascending.
    pub async fn uids_in(&mut self, range: &str) -> Result<Vec<u32>, ImapError> {
        let mut uids = BTreeSet::new();
        self.command_with(&format!("UID SEARCH UID {range}"), |r| {
            if let Response::MailboxData(MailboxDatum::Search(found)) = r {
                uids.extend(found.iter().copied());
            }
        })
        .await?;
        Ok(uids.into_iter().collect())
    }

    /// The raw bytes of these messages, by UID, without setting \Seen. Messages that are gone
    /// (expunged meanwhile) are missing from the answer. The whole command has the time limit
    /// (and `HEADER_BYTES` a message when only headers are fetched).
    pub async fn fetch(
        &mut self,
        uids: &[u32],
        part: Part,
    ) -> Result<BTreeMap<u32, Vec<u8>>, ImapError> {
        self.fetch_expecting(uids, part, 0).await
    }

    /// `fetch`, with the deadline stretched for `bytes` of whole messages (their RFC822.SIZE).
    pub async fn fetch_expecting(
        &mut self,
        uids: &[u32],
        part: Part,
        bytes: u64,
    ) -> Result<BTreeMap<u32, Vec<u8>>, ImapError> {
        let mut out = BTreeMap::new();
        if uids.is_empty() {
            return Ok(out);
        }
        let section = match part {
            Part::Whole => "BODY.PEEK[]",
            Part::Header => "BODY.PEEK[HEADER]",
            Part::MessageId => "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]",
        };
        let wanted: BTreeSet<u32> = uids.iter().copied().collect();
        let expected = match part {
            Part::Whole => bytes,
            Part::Header | Part::MessageId => wanted.len() as u64 * HEADER_BYTES,
        };
        let total = self.budget(expected);
        let command = format!("UID FETCH {} (UID {section})", uid_set(uids));
        self.command_within(&command, total, |r| {
            if let Response::Fetch(_, attrs) = r {
                let mut uid = None;
                let mut data = None;
                for a in attrs {
                    match a {
                        AttributeValue::Uid(u) => uid = Some(*u),
                        AttributeValue::BodySection {
                            data: Some(d),
                            index: None,
                            ..
                        }
                        | AttributeValue::Rfc822(Some(d))
                        | AttributeValue::Rfc822Header(Some(d)) => data = Some(d.to_vec()),
                        _ => {}
                    }
                }
                if let (Some(uid), Some(data)) = (uid, data)
                    && wanted.contains(&uid)
                {
                    out.insert(uid, data);
                }
            }
        })
        .await?;
        Ok(out)
    }

    /// `UID STORE uids +FLAGS.SILENT (flags)`.
    pub async fn add_flags(&mut self, uids: &[u32], flags: &str) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        self.command(&format!(
            "UID STORE {} +FLAGS.SILENT ({flags})",
            uid_set(uids)
        ))
        .await
    }

    /// Move messages to `folder`: UID MOVE when the server has MOVE, else UID COPY, \Deleted and
    /// UID EXPUNGE (UIDPLUS) or, failing that, EXPUNGE.
    pub async fn move_to(&mut self, uids: &[u32], folder: &str) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uid_set(uids);
        if self.has("MOVE") {
            self.command(&format!("UID MOVE {set} {}", quote(folder)))
                .await?;
            return Ok(());
        }
        self.command(&format!("UID COPY {set} {}", quote(folder)))
            .await?;
        self.add_flags(uids, "\\Deleted").await?;
        if self.has("UIDPLUS") {
            self.command(&format!("UID EXPUNGE {set}")).await?;
        } else {
            // Without UIDPLUS this also removes whatever else is marked \Deleted.
            self.command("EXPUNGE").await?;
        }
        Ok(())
    }

    /// APPEND `raw` to `folder` with these flags, e.g. `\Seen`.
    pub async fn append(&mut self, folder: &str, raw: &[u8], flags: &str) -> Result<(), ImapError> {
        let flags = format!("({flags})");
        within(
            self.budget(raw.len() as u64),
            "appending a message",
            async { self.inner.append(folder, Some(&flags), None, raw).await },
        )
        .await
    }

    pub async fn noop(&mut self) -> Result<(), ImapError> {
        self.command("NOOP").await
    }

    /// LOGOUT and close; errors are of no interest any more.
    pub async fn logout(mut self) {
        let _ = tokio::time::timeout(self.limit, self.inner.logout()).await;
    }

    /// IDLE until the server says something, `renew` passes, `silence` passes without a word
    /// from the server, or shutdown is asked for; then DONE.
    pub(crate) async fn idle(
        self,
        renew: Duration,
        silence: Duration,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(Session, Wake), ImapError> {
        let Session {
            inner,
            caps,
            limit,
            server,
            description,
            changed,
            exists,
            layout,
        } = self;
        let unsolicited = inner.unsolicited_responses.clone();
        while unsolicited.try_recv().is_ok() {}
        let mut handle = inner.idle();
        within(limit, "starting IDLE", handle.init()).await?;
        // Whatever came before the server's "+ idling" is in the channel.
        let mut wake = None;
        while let Ok(r) = unsolicited.try_recv() {
            if matches!(
                r,
                UnsolicitedResponse::Exists(_)
                    | UnsolicitedResponse::Recent(_)
                    | UnsolicitedResponse::Expunge(_)
            ) {
                wake = Some(Wake::Changed);
            }
        }
        if wake.is_none() && *shutdown.borrow() {
            wake = Some(Wake::Shutdown);
        }
        let wake = match wake {
            Some(w) => w,
            None => {
                let deadline = Instant::now() + renew;
                let (wait, stop) = handle.wait_with_timeout(silence);
                let result = tokio::select! {
                    r = wait => match r {
                        Ok(IdleResponse::NewData(data)) => {
                            tracing::debug!(response = ?data.parsed(), "imap server spoke during idle");
                            Ok(Wake::Changed)
                        }
                        Ok(IdleResponse::Timeout) => Ok(Wake::Quiet),
                        // The stop source is never used while waiting: this is the end of the stream.
                        Ok(IdleResponse::ManualInterrupt) => Err(ImapError::Closed(" during IDLE".into())),
                        Err(e) => Err(ImapError::from(e)),
                    },
                    _ = tokio::time::sleep_until(deadline) => Ok(Wake::Renew),
                    _ = super::source::stop_requested(shutdown) => Ok(Wake::Shutdown),
                };
                drop(stop);
                result?
            }
        };
        let inner = within(limit, "ending IDLE (DONE)", handle.done()).await?;
        let mut session = Session {
            inner,
            caps,
            limit,
            server,
            description,
            changed,
            exists,
            layout,
        };
        while let Ok(r) = session.inner.unsolicited_responses.try_recv() {
            match r {
                UnsolicitedResponse::Exists(n) => {
                    session.exists = n;
                    session.changed = true;
                }
                UnsolicitedResponse::Recent(_) => session.changed = true,
                _ => {}
            }
        }
        Ok((session, wake))
    }
}

/// The first word(s) of a command, to name it in errors (never its arguments).
fn verb(command: &str) -> String {
    let mut words = command.split_ascii_whitespace();
    match words.next() {
        Some(w) if w.eq_ignore_ascii_case("UID") => {
            format!("UID {}", words.next().unwrap_or(""))
        }
        Some(w) => w.to_string(),
        None => String::new(),
    }
}

/// A quoted IMAP string.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        if c != '\r' && c != '\n' {
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// UIDs as a compact IMAP sequence set: 1:3,7,9:10.
pub(crate) fn uid_set(uids: &[u32]) -> String {
    let mut sorted: Vec<u32> = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        });
        i += 1;
    }
    parts.join(",")
}

impl From<async_imap::error::Error> for ImapError {
    fn from(e: async_imap::error::Error) -> Self {
        use async_imap::error::Error;
        match e {
            Error::No(text) => ImapError::Refused {
                command: "a command".into(),
                status: "NO".into(),
                text: clean(&text),
            },
            Error::Bad(text) => ImapError::Refused {
                command: "a command".into(),
                status: "BAD".into(),
                text: clean(&text),
            },
            Error::ConnectionLost => ImapError::Closed(String::new()),
            other => ImapError::Protocol(other.to_string()),
        }
    }
}

impl From<std::io::Error> for ImapError {
    fn from(e: std::io::Error) -> Self {
        ImapError::Protocol(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_are_compact() {
        assert_eq!(uid_set(&[]), "");
        assert_eq!(uid_set(&[5]), "5");
        assert_eq!(uid_set(&[3, 1, 2, 7, 9, 10, 10]), "1:3,7,9:10");
    }

    #[test]
    fn names_are_quoted() {
        assert_eq!(quote("mailcart/processed"), "\"mailcart/processed\"");
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quote("x\r\ny"), "\"xy\"");
    }

    #[test]
    fn verbs_never_carry_arguments() {
        assert_eq!(verb("UID FETCH 1:* (UID)"), "UID FETCH");
        assert_eq!(verb("SELECT \"INBOX\""), "SELECT");
    }
}
