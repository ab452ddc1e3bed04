//! Sending over SMTP: the outbox's raw bytes, unchanged, through a small pool of connections.
//!
//! Every failure is sorted into one of two kinds, because the dispatcher does different things
//! with them: a *transient* one (4xx, a timeout, a refused or reset connection, a TLS or login
//! problem: the server or our set-up, not this message) is tried again later; a *permanent* one
//! (5xx to this message, an address that cannot be written) never is, and the sellers are told.
//! The password is handed to lettre and never appears in an error or a log line.
//!
//! The pool is ours, not lettre's: lettre's pooled transport opens its own sockets and leaves
//! Nagle's algorithm on, which costs every message a ~40 ms wait for the server's delayed ACK
//! (lettre writes the body and the closing "." in two writes). We open the socket, set
//! TCP_NODELAY and hand it to lettre's connection, which does the SMTP conversation.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lettre::Address;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{
    Credentials as SmtpCredentials, DEFAULT_MECHANISMS, Mechanism,
};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Severity;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};

use crate::config::{self, TlsMode};
use crate::problem::Problem;
use crate::tls::{MailStream, TrustError};

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Try again later: the server is busy or unreachable, or our set-up needs fixing.
    #[error("{0}")]
    Transient(String),
    /// The server refused this message for good.
    #[error("{0}")]
    Permanent(String),
    /// Not sent because our set-up with the server needs a person (a login refused, a
    /// certificate not trusted, a host name that does not resolve): every message would fail
    /// alike. Each is tried again later, as after a transient failure, and the problem is
    /// recorded (`crate::problem`).
    #[error("{}", .0.words)]
    Setup(Problem),
}

impl SendError {
    /// Whether the message may go through on a later try (`Setup` too: once it is mended).
    pub fn is_transient(&self) -> bool {
        matches!(self, SendError::Transient(_) | SendError::Setup(_))
    }

    /// A problem with the connection that only a person can mend, not with this message.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            SendError::Setup(p) => Some(p),
            _ => None,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            SendError::Transient(m) | SendError::Permanent(m) => m,
            SendError::Setup(p) => &p.words,
        }
    }
}

/// The `[smtp]` section cannot be put to use.
#[derive(Debug, thiserror::Error)]
pub enum SmtpSetupError {
    #[error("[smtp] password: {0}")]
    Password(String),
    #[error("[smtp] ca_file {path}: {message}")]
    CaFile { path: String, message: String },
    #[error("[smtp] envelope sender {address:?} is not a usable address: {message}")]
    Sender { address: String, message: String },
    #[error("[smtp] TLS set-up: {0}")]
    Tls(String),
}

/// The outgoing mail server, ready to send. Build it once and keep it: connections are kept
/// open and reused from one message to the next. Use (and drop) it inside the tokio runtime.
pub struct SmtpSink {
    host: String,
    port: u16,
    mode: TlsMode,
    ca_file: Option<String>,
    username: Option<String>,
    timeout: Duration,
    connections: usize,
    envelope_from: Address,
    /// For STARTTLS, which lettre performs on the connection.
    tls: Option<TlsParameters>,
    /// For implicit TLS, which we perform before lettre sees the stream.
    rustls: Option<Arc<rustls::ClientConfig>>,
    credentials: Option<SmtpCredentials>,
    /// With `auth = "oauth2"`: where the access tokens come from (XOAUTH2).
    oauth: Option<Arc<crate::oauth::TokenSource>>,
    hello: ClientId,
    /// Logged-in connections waiting for the next message, with the moment each went idle.
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
}

/// A connection idle this long is checked with NOOP before it carries a message: the server
/// may have closed it, and a message sent into a dead connection waits for its retry.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);
/// A connection idle this long is closed rather than reused (servers time out idle clients).
const MAX_IDLE: Duration = Duration::from_secs(50);

/// Why a connection could not be opened: before SMTP (TCP, TLS) or in it (greeting, EHLO, login),
/// or for a reason only a person can mend.
enum OpenError {
    Network(String),
    Smtp(lettre::transport::smtp::Error),
    Setup(Problem),
    /// No access token to log in with.
    OAuth(crate::oauth::OAuthError),
}

impl std::fmt::Debug for SmtpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSink")
            .field("server", &self.server())
            .field("tls", &self.mode)
            .field("username", &self.username)
            .field("envelope_from", &self.envelope_from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpSink {
    /// `shop_address` is the envelope sender unless `[smtp] envelope_from` names another.
    pub fn new(smtp: &config::Smtp, shop_address: &str) -> Result<SmtpSink, SmtpSetupError> {
        let from = smtp.envelope_from.as_deref().unwrap_or(shop_address);
        let envelope_from: Address = from.parse().map_err(|e| SmtpSetupError::Sender {
            address: from.to_string(),
            message: format!("{e}"),
        })?;
        let (tls, rustls) = match smtp.tls {
            TlsMode::None => (None, None),
            TlsMode::Starttls => (Some(tls_parameters(smtp)?), None),
            TlsMode::Tls => {
                let config = crate::tls::client_config(smtp.ca_file.as_deref(), "smtp").map_err(
                    |e| match e {
                        TrustError::CaFile { path, message } => {
                            SmtpSetupError::CaFile { path, message }
                        }
                        TrustError::Other(m) => SmtpSetupError::Tls(m),
                    },
                )?;
                // lettre's parameters too: `check` reports the handshake through them.
                (Some(tls_parameters(smtp)?), Some(config))
            }
        };
        let oauth = smtp.oauth.as_ref().map(crate::oauth::TokenSource::shared);
        let credentials = match &smtp.login {
            Some(_) if oauth.is_some() => None,
            Some(login) => {
                let password = login.password().map_err(SmtpSetupError::Password)?;
                Some(SmtpCredentials::new(login.username.clone(), password))
            }
            None => None,
        };
        Ok(SmtpSink {
            host: smtp.host.clone(),
            port: smtp.port,
            mode: smtp.tls,
            ca_file: smtp.ca_file.as_ref().map(|p| p.display().to_string()),
            username: smtp.login.as_ref().map(|l| l.username.clone()),
            timeout: Duration::from_secs(smtp.timeout_seconds.max(1)),
            connections: smtp.connections.max(1) as usize,
            envelope_from,
            tls,
            rustls,
            credentials,
            oauth,
            hello: ClientId::default(),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// How many messages may be sent at once (the pool's size).
    pub fn connections(&self) -> usize {
        self.connections
    }

    /// The limit for one whole send.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `host:port`, for messages.
    pub fn server(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// A new connection: TCP (no Nagle), TLS as configured, greeting, EHLO, login. With OAuth2,
    /// a refused access token is replaced once by a fresh one, on a new connection (lettre
    /// leaves the refused exchange unfinished).
    async fn open(&self) -> Result<AsyncSmtpConnection, OpenError> {
        let Some(tokens) = &self.oauth else {
            return self.open_with(None).await;
        };
        let token = tokens.token().await.map_err(OpenError::OAuth)?;
        match self.open_with(Some(&token)).await {
            Err(OpenError::Smtp(e)) if token_refused(&e) => {
                tracing::info!(
                    server = %self.server(),
                    "the smtp server refused the oauth2 token; refreshing it and trying once more"
                );
                let fresh = tokens.replace(&token).await.map_err(OpenError::OAuth)?;
                self.open_with(Some(&fresh)).await
            }
            other => other,
        }
    }

    async fn open_with(
        &self,
        token: Option<&crate::oauth::Secret>,
    ) -> Result<AsyncSmtpConnection, OpenError> {
        let server = self.server();
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| {
                let text = format!("{server}: cannot connect: {e}");
                // The resolver's "no such name", not its "try again".
                let lookup = e.to_string();
                if lookup.contains("failed to lookup address") && !lookup.contains("Temporary") {
                    OpenError::Setup(Problem::new("smtp", "dns", text, "[smtp] host"))
                } else {
                    OpenError::Network(text)
                }
            })?;
        let _ = tcp.set_nodelay(true);
        let stream = match &self.rustls {
            Some(config) => {
                let name = ServerName::try_from(self.host.clone()).map_err(|e| {
                    OpenError::Network(format!(
                        "{:?} is not a host name TLS can check: {e}",
                        self.host
                    ))
                })?;
                let tls = tokio_rustls::TlsConnector::from(Arc::clone(config))
                    .connect(name, tcp)
                    .await
                    .map_err(|e| {
                        let text = format!("{server}: TLS: {e}");
                        // rustls refused (the certificate, the protocol), not a reset under it.
                        if e.get_ref().is_some_and(|i| i.is::<rustls::Error>()) {
                            OpenError::Setup(Problem::new(
                                "smtp",
                                "tls",
                                self.explain_tls(&text, &self.trust()),
                                "[smtp] host, port, tls and ca_file",
                            ))
                        } else {
                            OpenError::Network(text)
                        }
                    })?;
                MailStream::Tls(Box::new(tls))
            }
            None => MailStream::Plain(tcp),
        };
        let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello)
            .await
            .map_err(OpenError::Smtp)?;
        if let (TlsMode::Starttls, Some(params)) = (self.mode, &self.tls) {
            conn.starttls(params.clone(), &self.hello)
                .await
                .map_err(OpenError::Smtp)?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials)
                .await
                .map_err(OpenError::Smtp)?;
        }
        if let (Some(token), Some(user)) = (token, &self.username) {
            let credentials = SmtpCredentials::new(user.clone(), token.expose().to_string());
            conn.auth(&[Mechanism::Xoauth2], &credentials)
                .await
                .map_err(OpenError::Smtp)?;
        }
        Ok(conn)
    }

    /// An idle connection that still answers, if there is one.
    async fn reuse(&self) -> Option<AsyncSmtpConnection> {
        loop {
            let (mut conn, since) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()?;
            let idle = since.elapsed();
            if idle >= MAX_IDLE || conn.has_broken() {
                continue;
            }
            if idle < CHECK_AFTER_IDLE || conn.test_connected().await {
                return Some(conn);
            }
        }
    }

    fn put_back(&self, conn: AsyncSmtpConnection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.connections {
            idle.push((conn, Instant::now()));
        }
    }

    /// Send `raw` exactly as it is to `recipients`, from the envelope sender. The whole send,
    /// connecting included, is bounded by `timeout_seconds`; a connection cut off by that limit
    /// is dropped (its state is unknown), never reused.
    pub async fn send(&self, recipients: &[&str], raw: &[u8]) -> Result<(), SendError> {
        let envelope = self.envelope(recipients)?;
        // lettre always ends the data with CRLF "." CRLF; the message's own last line break is
        // that first CRLF, or the receiver would get one blank line more than we stored.
        let data = raw
            .strip_suffix(b"\r\n")
            .or_else(|| raw.strip_suffix(b"\n"))
            .unwrap_or(raw);
        let server = self.server();
        let attempt = async {
            let mut conn = match self.reuse().await {
                Some(c) => c,
                None => match self.open().await {
                    Ok(c) => c,
                    Err(OpenError::Network(text)) => return Err(SendError::Transient(text)),
                    Err(OpenError::Setup(p)) => return Err(SendError::Setup(p)),
                    Err(OpenError::Smtp(e)) => return Err(self.open_failure(&e)),
                    // The message waits in the outbox (Setup is retried too) until a person
                    // has run `mailcart login` again, and is sent then.
                    Err(OpenError::OAuth(e)) => {
                        let words = format!("{server}: OAuth2: {e}");
                        return Err(match e.problem("smtp", words.clone()) {
                            Some(p) => SendError::Setup(p),
                            None => SendError::Transient(words),
                        });
                    }
                },
            };
            match conn.send(&envelope, data).await {
                Ok(_) => {
                    self.put_back(conn);
                    Ok(())
                }
                Err(e) => {
                    // The server answered (a refused recipient, say): end the conversation
                    // politely. Otherwise the connection broke and is just dropped.
                    if e.status().is_some() {
                        let _ = conn.quit().await;
                    }
                    Err(classify(&e, &server))
                }
            }
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Transient(format!(
                "{server}: no answer within {} s (timed out)",
                self.timeout.as_secs()
            ))),
        }
    }

    fn envelope(&self, recipients: &[&str]) -> Result<Envelope, SendError> {
        let to = recipients
            .iter()
            .map(|r| {
                bare_address(r).parse::<Address>().map_err(|e| {
                    SendError::Permanent(format!("recipient {r:?} is not a valid address: {e}"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Envelope::new(Some(self.envelope_from.clone()), to)
            .map_err(|e| SendError::Permanent(format!("cannot address the message: {e}")))
    }

    /// Each step of reaching the server, in order, with what worked or why it failed; stops at
    /// the first failure. For `mailcart check`.
    pub async fn check(&self) -> Vec<(String, Result<String, String>)> {
        let mut steps = Vec::new();
        let secs = self.timeout.as_secs();

        // 1. DNS
        let lookup = tokio::time::timeout(
            self.timeout,
            tokio::net::lookup_host((self.host.as_str(), self.port)),
        )
        .await;
        let addrs: Vec<std::net::SocketAddr> = match lookup {
            Ok(Ok(a)) => a.collect(),
            Ok(Err(e)) => {
                steps.push((
                    "dns".into(),
                    Err(format!(
                        "cannot resolve {}: {e} (is [smtp] host spelled right?)",
                        self.host
                    )),
                ));
                return steps;
            }
            Err(_) => {
                steps.push((
                    "dns".into(),
                    Err(format!("resolving {} took over {secs} s", self.host)),
                ));
                return steps;
            }
        };
        if addrs.is_empty() {
            steps.push((
                "dns".into(),
                Err(format!("{} resolves to no address", self.host)),
            ));
            return steps;
        }
        let list: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
        steps.push((
            "dns".into(),
            Ok(format!("{} resolves to {}", self.host, list.join(", "))),
        ));

        // 2. TCP
        match tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect(&addrs[..])).await {
            Ok(Ok(stream)) => {
                let peer = stream
                    .peer_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_else(|_| self.server());
                steps.push(("connect".into(), Ok(format!("connected to {peer}"))));
            }
            Ok(Err(e)) => {
                let why = match e.kind() {
                    std::io::ErrorKind::ConnectionRefused => format!(
                        "connection to {} refused: nothing listens on port {} (is [smtp] port right? 465 is usual for tls, 587 for starttls)",
                        self.server(),
                        self.port
                    ),
                    _ => format!("cannot connect to {}: {e}", self.server()),
                };
                steps.push(("connect".into(), Err(why)));
                return steps;
            }
            Err(_) => {
                steps.push((
                    "connect".into(),
                    Err(format!(
                        "no answer from {} within {secs} s: a firewall may drop the connection, or the host or port is wrong",
                        self.server()
                    )),
                ));
                return steps;
            }
        }

        // 3. TLS
        if let Some(params) = &self.tls {
            let trust = self.trust();
            let result = tokio::time::timeout(self.timeout, self.tls_handshake(params)).await;
            let step = match result {
                Ok(Ok(how)) => Ok(format!(
                    "{how} with {}: certificate trusted ({trust})",
                    self.host
                )),
                Ok(Err(e)) => Err(self.explain_tls(&e, &trust)),
                Err(_) => Err(format!(
                    "TLS handshake with {} took over {secs} s (is tls = {:?} right for port {}?)",
                    self.server(),
                    mode_name(self.mode),
                    self.port
                )),
            };
            let failed = step.is_err();
            steps.push(("tls".into(), step));
            if failed {
                return steps;
            }
        }

        // 4. EHLO and login, exactly as a send does it.
        let step = match tokio::time::timeout(self.timeout, self.open()).await {
            Ok(Ok(mut conn)) => {
                // QUIT too has the limit: a server may stop answering after the login.
                let _ = tokio::time::timeout(self.timeout, conn.quit()).await;
                Ok(match &self.username {
                    Some(u) => format!("EHLO accepted, logged in as {u}"),
                    None => "EHLO accepted (no login configured)".to_string(),
                })
            }
            Ok(Err(OpenError::Network(text))) => Err(text),
            Ok(Err(OpenError::Setup(p))) => Err(p.sentence()),
            Ok(Err(OpenError::Smtp(e))) => Err(match self.open_failure(&e) {
                SendError::Setup(p) => p.sentence(),
                _ => self.explain_login(&e),
            }),
            Ok(Err(OpenError::OAuth(e))) => Err(format!("OAuth2: {e}")),
            Err(_) => Err(format!(
                "EHLO/login with {} took over {secs} s",
                self.server()
            )),
        };
        steps.push(("login".into(), step));
        steps
    }

    async fn tls_handshake(&self, params: &TlsParameters) -> Result<&'static str, String> {
        let hello = ClientId::default();
        let target = (self.host.as_str(), self.port);
        match self.mode {
            TlsMode::Tls => {
                let mut conn = AsyncSmtpConnection::connect_tokio1(
                    target,
                    Some(self.timeout),
                    &hello,
                    Some(params.clone()),
                    None,
                )
                .await
                .map_err(|e| describe(&e))?;
                let _ = conn.quit().await;
                Ok("implicit TLS handshake succeeded")
            }
            _ => {
                let mut conn = AsyncSmtpConnection::connect_tokio1(
                    target,
                    Some(self.timeout),
                    &hello,
                    None,
                    None,
                )
                .await
                .map_err(|e| describe(&e))?;
                if !conn.can_starttls() {
                    let _ = conn.quit().await;
                    return Err(format!(
                        "{} does not offer STARTTLS, and tls = \"starttls\" never sends in clear text (port 465 wants tls = \"tls\")",
                        self.server()
                    ));
                }
                conn.starttls(params.clone(), &hello)
                    .await
                    .map_err(|e| describe(&e))?;
                let _ = conn.quit().await;
                Ok("STARTTLS handshake succeeded")
            }
        }
    }

    fn explain_tls(&self, error: &str, trust: &str) -> String {
        let lower = error.to_ascii_lowercase();
        let hint = if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
            format!(
                "the server's certificate is not signed by a CA we trust ({trust}); for a self-signed server give its CA in [smtp] ca_file"
            )
        } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
            format!(
                "the server's certificate does not name {:?}; use the host name the certificate was made for",
                self.host
            )
        } else if lower.contains("causedasendentity") {
            "the server presents a CA certificate as its own; TLS clients such as ours refuse that: sign a server certificate with the CA and install that instead".to_string()
        } else if lower.contains("expired") {
            "the server's certificate has expired".to_string()
        } else if lower.contains("corrupt message") || lower.contains("invalidcontenttype") {
            match self.mode {
                TlsMode::Tls => format!(
                    "the server did not answer in TLS: port {} may want tls = \"starttls\"",
                    self.port
                ),
                _ => "the server broke off the TLS handshake".to_string(),
            }
        } else if lower.contains("starttls") {
            String::new()
        } else {
            "the TLS handshake failed".to_string()
        };
        if hint.is_empty() {
            error.to_string()
        } else {
            format!("{hint} ({error})")
        }
    }

    /// Where the certificates we trust come from, in words.
    fn trust(&self) -> String {
        match &self.ca_file {
            Some(f) => format!("the system's CAs and {f}"),
            None => "the system's CAs".to_string(),
        }
    }

    /// A connection that failed in SMTP: a refused login is ours to mend (in the words
    /// `check` uses); the rest is sorted as any send's failure.
    fn open_failure(&self, e: &lettre::transport::smtp::Error) -> SendError {
        if self.oauth.is_some()
            && (token_refused(e) || describe(e).contains("No compatible authentication mechanism"))
        {
            // A fresh token refused (replaced once already) or no XOAUTH2 on offer: the
            // mailbox, its SMTP AUTH switch or the provider's grant needs a person.
            return SendError::Setup(Problem::new(
                "smtp",
                "oauth2-login",
                format!("{}: {}", self.server(), self.explain_login(e)),
                "[smtp] username, the mailbox's SMTP AUTH setting, and `mailcart login`",
            ));
        }
        match e.status().map(code_number) {
            Some(530 | 534 | 535 | 538) => SendError::Setup(Problem::new(
                "smtp",
                "login",
                self.explain_login(e),
                "[smtp] username and password",
            )),
            _ => classify(e, &self.server()),
        }
    }

    fn explain_login(&self, e: &lettre::transport::smtp::Error) -> String {
        let text = describe(e);
        let who = self.username.as_deref().unwrap_or("");
        if self.oauth.is_some() {
            if text.contains("No compatible authentication mechanism") {
                return format!(
                    "the server offers no XOAUTH2 (on this connection; is AUTH only offered after TLS?): it does not take OAuth2 tokens here ({text})"
                );
            }
            if token_refused(e) {
                return format!(
                    "the server refused a fresh OAuth2 access token for {who}: is [smtp] username the mailbox that ran `mailcart login`, and may it send with SMTP AUTH? ({text})"
                );
            }
        }
        match e.status().map(code_number) {
            Some(535) => format!("the server refused the username or password for {who}: {text}"),
            Some(530) if self.username.is_none() => {
                format!("the server wants a login: give [smtp] username and password ({text})")
            }
            Some(534 | 538) => {
                format!("the server refuses this login method on this connection: {text}")
            }
            _ if text.contains("No compatible authentication mechanism") => format!(
                "the server offers no login method we can use here (is AUTH only offered after TLS or on another port?): {text}"
            ),
            _ => format!("{}: {text}", self.server()),
        }
    }
}

/// Whether the server refused the token itself: a 5xx to AUTH, or (XOAUTH2) the error challenge
/// lettre does not answer.
fn token_refused(e: &lettre::transport::smtp::Error) -> bool {
    matches!(e.status().map(code_number), Some(530 | 534 | 535))
        || (e.is_client() && e.to_string().contains("does not expect a challenge"))
}

fn mode_name(mode: TlsMode) -> &'static str {
    match mode {
        TlsMode::Tls => "tls",
        TlsMode::Starttls => "starttls",
        TlsMode::None => "none",
    }
}

/// `Name <a@b>` → `a@b`; a bare address is returned as it is.
fn bare_address(s: &str) -> &str {
    let s = s.trim();
    match (s.rfind('<'), s.strip_suffix('>')) {
        (Some(i), Some(inner)) => &inner[i + 1..],
        _ => s,
    }
}

fn tls_parameters(smtp: &config::Smtp) -> Result<TlsParameters, SmtpSetupError> {
    let mut builder = TlsParameters::builder(smtp.host.clone());
    if let Some(path) = &smtp.ca_file {
        let bad = |message: String| SmtpSetupError::CaFile {
            path: path.display().to_string(),
            message,
        };
        let pem = std::fs::read(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(format!("not a PEM certificate file: {e}")))?;
        if certs.is_empty() {
            return Err(bad("holds no PEM certificate".into()));
        }
        for cert in certs {
            let cert = Certificate::from_der(cert.to_vec())
                .map_err(|e| bad(format!("unusable certificate: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .build()
        .map_err(|e| SmtpSetupError::Tls(describe(&e)))
}

/// The error and every cause beneath it that it does not already quote.
pub(crate) fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

fn describe(e: &lettre::transport::smtp::Error) -> String {
    let text = with_causes(e);
    // lettre wraps some errors in errors of the same kind: "Connection error: Connection
    // error: refused" reads better once.
    let mut parts: Vec<&str> = text.split(": ").collect();
    parts.dedup();
    parts.join(": ")
}

fn code_number(code: lettre::transport::smtp::response::Code) -> u16 {
    code.severity as u16 * 100 + code.category as u16 * 10 + code.detail as u16
}

/// Sort a lettre error into transient or permanent.
fn classify(e: &lettre::transport::smtp::Error, server: &str) -> SendError {
    let code = e.status().map(|c| {
        debug_assert!(matches!(
            c.severity,
            Severity::TransientNegativeCompletion | Severity::PermanentNegativeCompletion
        ));
        code_number(c)
    });
    classify_parts(code, e.is_client(), &format!("{server}: {}", describe(e)))
}

/// The rule, apart from lettre's types so that it can be tested on its own:
/// - a 4xx reply is transient (greylisting, a full queue, "try again later");
/// - a 5xx reply is permanent, except those about our login (530, 534, 535, 538): a wrong
///   password is our set-up, not the message, and every queued message would fail alike;
/// - no reply code at all means the conversation broke (refused, reset, timed out, TLS, DNS):
///   transient, except the client's own refusals to send this message (non-ASCII content or
///   addresses the server cannot take), which will never succeed.
fn classify_parts(code: Option<u16>, client_error: bool, text: &str) -> SendError {
    let text = text.to_string();
    match code {
        Some(400..=499) => SendError::Transient(text),
        Some(530 | 534 | 535 | 538) => {
            SendError::Transient(format!("the server refused our login: {text}"))
        }
        Some(500..=599) => SendError::Permanent(text),
        Some(_) => SendError::Transient(text),
        None if client_error && text.to_ascii_lowercase().contains("non-ascii") => {
            SendError::Permanent(text)
        }
        None => SendError::Transient(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    #[test]
    fn reply_codes_sort_into_transient_and_permanent() {
        let t = |code, client, text| classify_parts(code, client, text).is_transient();
        assert!(t(Some(421), false, "service not available"));
        assert!(t(Some(450), false, "mailbox busy"));
        assert!(t(Some(451), false, "greylisted"));
        assert!(t(Some(452), false, "insufficient storage"));
        assert!(!t(Some(550), false, "user unknown"));
        assert!(!t(Some(553), false, "mailbox name not allowed"));
        assert!(!t(Some(554), false, "rejected"));
        assert!(!t(Some(552), false, "too big"));
        // Our login, not the message: keep the mail and try again once the set-up is fixed.
        assert!(t(Some(535), false, "authentication failed"));
        assert!(t(Some(530), false, "authentication required"));
        assert!(t(Some(538), false, "encryption required"));
    }

    #[test]
    fn broken_conversations_are_transient() {
        let t = |client, text| classify_parts(None, client, text).is_transient();
        assert!(t(
            false,
            "Connection error: Connection refused (os error 111)"
        ));
        assert!(t(
            false,
            "network error: Connection reset by peer (os error 104)"
        ));
        assert!(t(false, "tls error: received corrupt message"));
        assert!(t(
            false,
            "Connection error: failed to lookup address information"
        ));
        assert!(t(
            true,
            "internal client error: STARTTLS is not supported on this server"
        ));
        assert!(t(
            true,
            "internal client error: No compatible authentication mechanism was found"
        ));
        assert!(!t(
            true,
            "internal client error: Message contains non-ascii chars but server does not support 8BITMIME"
        ));
    }

    #[test]
    fn names_in_angle_brackets_are_dropped() {
        assert_eq!(bare_address("pat@example.test"), "pat@example.test");
        assert_eq!(bare_address(" Pat <pat@example.test> "), "pat@example.test");
        assert_eq!(bare_address("<pat@example.test>"), "pat@example.test");
    }

    fn smtp_config(port: u16, extra: &str) -> config::Smtp {
        let text = format!(
            "{}\n[smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\ntimeout_seconds = 2\n{extra}",
            crate::EXAMPLE_CONFIG
        );
        config::Config::from_toml(&text, std::path::Path::new("t.toml"))
            .unwrap()
            .smtp
            .unwrap()
    }

    fn sink(port: u16, extra: &str) -> SmtpSink {
        SmtpSink::new(&smtp_config(port, extra), "orders@lindenclay.test").unwrap()
    }

    /// A scripted SMTP server on loopback: `reply(command)` answers each command line.
    async fn fake_server(
        reply: impl Fn(&str) -> Option<&'static str> + Send + Sync + 'static,
    ) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let reply = std::sync::Arc::new(reply);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let reply = reply.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read);
                    let greeting = reply("CONNECT").unwrap_or("220 fake ESMTP");
                    if write
                        .write_all(format!("{greeting}\r\n").as_bytes())
                        .await
                        .is_err()
                        || !greeting.starts_with("220")
                    {
                        return;
                    }
                    let mut in_data = false;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let cmd = line.trim_end();
                        let answer = if in_data {
                            if cmd != "." {
                                continue;
                            }
                            in_data = false;
                            reply("END").unwrap_or("250 2.0.0 queued")
                        } else {
                            let verb = cmd.split([' ', ':']).next().unwrap_or("").to_uppercase();
                            match reply(&verb) {
                                Some(a) => a,
                                None => match verb.as_str() {
                                    "EHLO" => "250-fake\r\n250-8BITMIME\r\n250 AUTH PLAIN LOGIN",
                                    "DATA" => {
                                        in_data = true;
                                        "354 go ahead"
                                    }
                                    "QUIT" => "221 bye",
                                    _ => "250 ok",
                                },
                            }
                        };
                        if answer == "SILENCE" {
                            // Never answer: the client's own timeout must end the send.
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                            return;
                        }
                        if write
                            .write_all(format!("{answer}\r\n").as_bytes())
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        port
    }

    const RAW: &[u8] = b"From: orders@lindenclay.test\r\nTo: pat@example.test\r\nSubject: t\r\nMessage-ID: <t@lindenclay.test>\r\n\r\nhello\r\n";

    #[tokio::test]
    async fn a_real_conversation_is_classified() {
        let ok = fake_server(|_| None).await;
        sink(ok, "").send(&["pat@example.test"], RAW).await.unwrap();

        let rejected = fake_server(|v| (v == "RCPT").then_some("550 5.1.1 user unknown")).await;
        let err = sink(rejected, "")
            .send(&["nobody@example.test"], RAW)
            .await
            .unwrap_err();
        assert!(!err.is_transient(), "{err}");
        assert!(err.message().contains("550"), "{err}");

        let greylisted = fake_server(|v| (v == "RCPT").then_some("451 4.7.1 greylisted")).await;
        let err = sink(greylisted, "")
            .send(&["pat@example.test"], RAW)
            .await
            .unwrap_err();
        assert!(err.is_transient(), "{err}");

        let busy = fake_server(|v| (v == "CONNECT").then_some("421 too busy")).await;
        let err = sink(busy, "")
            .send(&["pat@example.test"], RAW)
            .await
            .unwrap_err();
        assert!(err.is_transient(), "{err}");

        let refused_body = fake_server(|v| (v == "END").then_some("554 5.7.1 spam")).await;
        let err = sink(refused_body, "")
            .send(&["pat@example.test"], RAW)
            .await
            .unwrap_err();
        assert!(!err.is_transient(), "{err}");
    }

    #[tokio::test]
    async fn a_wrong_password_is_transient_and_never_shown() {
        let port =
            fake_server(|v| (v == "AUTH").then_some("535 5.7.8 authentication failed")).await;
        let s = sink(
            port,
            "username = \"orders@lindenclay.test\"\npassword = \"hunter2-secret\"\n",
        );
        let err = s.send(&["pat@example.test"], RAW).await.unwrap_err();
        assert!(err.is_transient(), "{err}");
        assert!(!err.message().contains("hunter2"), "{err}");
        assert!(!format!("{s:?}").contains("hunter2"));
        // Retrying will not mend it: a problem for a person, in the words `check` uses.
        let problem = err
            .problem()
            .expect("a refused login is a problem for a person");
        assert_eq!(
            (problem.kind.as_str(), problem.fix.as_str()),
            ("login", "[smtp] username and password")
        );
        let steps = s.check().await;
        let (name, last) = steps.last().unwrap();
        assert_eq!(name, "login");
        let msg = last.clone().unwrap_err();
        assert!(msg.contains("refused the username or password"), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
        assert_eq!(msg, problem.sentence());
    }

    #[tokio::test]
    async fn refused_and_silent_servers_are_transient() {
        // A port nobody listens on: bind, learn the number, close.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let s = sink(port, "");
        let err = s.send(&["pat@example.test"], RAW).await.unwrap_err();
        assert!(err.is_transient(), "{err}");
        assert!(err.problem().is_none(), "nothing listens: it may come back");
        assert!(
            err.message().contains(&format!("127.0.0.1:{port}")),
            "{err}"
        );
        let steps = s.check().await;
        assert!(steps[0].1.is_ok(), "{steps:?}");
        let connect = steps[1].1.clone().unwrap_err();
        assert!(connect.contains("refused"), "{connect}");

        // Silent after the first message's body; answers normally afterwards.
        let first = std::sync::atomic::AtomicBool::new(true);
        let silent = fake_server(move |v| {
            (v == "END" && first.swap(false, std::sync::atomic::Ordering::SeqCst))
                .then_some("SILENCE")
        })
        .await;
        let s = sink(silent, "");
        let started = std::time::Instant::now();
        let err = s.send(&["pat@example.test"], RAW).await.unwrap_err();
        assert!(err.is_transient(), "{err}");
        assert!(err.message().contains("timed out"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
        // The pool with the cut-off connection was let go; the next send is unharmed.
        s.send(&["pat@example.test"], RAW).await.unwrap();
    }

    #[tokio::test]
    async fn connections_are_kept_and_reused() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let opened = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&opened);
        let port = fake_server(move |v| {
            if v == "CONNECT" {
                count.fetch_add(1, Ordering::SeqCst);
            }
            None
        })
        .await;
        let s = sink(port, "");
        for _ in 0..5 {
            s.send(&["pat@example.test"], RAW).await.unwrap();
        }
        assert_eq!(
            opened.load(Ordering::SeqCst),
            1,
            "one connection for five sends"
        );
        // A connection that saw a refusal is closed; the next send opens a fresh one.
        assert!(s.send(&["not an address"], RAW).await.is_err());
        s.send(&["pat@example.test"], RAW).await.unwrap();
        assert_eq!(
            opened.load(Ordering::SeqCst),
            1,
            "an unwritable address never reaches the server"
        );
    }

    #[tokio::test]
    async fn bad_recipients_are_permanent() {
        let s = sink(fake_server(|_| None).await, "");
        assert!(
            !s.send(&["not an address"], RAW)
                .await
                .unwrap_err()
                .is_transient()
        );
        assert!(!s.send(&[], RAW).await.unwrap_err().is_transient());
    }

    #[tokio::test]
    async fn check_walks_the_steps() {
        let s = sink(fake_server(|_| None).await, "");
        let steps = s.check().await;
        let names: Vec<&str> = steps.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["dns", "connect", "login"], "{steps:?}");
        assert!(steps.iter().all(|(_, r)| r.is_ok()), "{steps:?}");

        let plain = fake_server(|_| None).await;
        let mut cfg = smtp_config(plain, "");
        cfg.tls = TlsMode::Starttls;
        let s = SmtpSink::new(&cfg, "orders@lindenclay.test").unwrap();
        let steps = s.check().await;
        let tls = steps.last().unwrap();
        assert_eq!(tls.0, "tls");
        let msg = tls.1.clone().unwrap_err();
        assert!(msg.contains("does not offer STARTTLS"), "{msg}");
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "not a certificate\n").unwrap();
        let mut cfg = smtp_config(25, "");
        cfg.tls = TlsMode::Tls;
        cfg.ca_file = Some(ca);
        let err = SmtpSink::new(&cfg, "orders@lindenclay.test").unwrap_err();
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
        cfg.ca_file = Some(dir.path().join("missing.pem"));
        let err = SmtpSink::new(&cfg, "orders@lindenclay.test").unwrap_err();
        assert!(err.to_string().contains("cannot read"), "{err}");
    }
}
