//! Getting to a logged-in IMAP session: DNS, TCP, TLS (implicit or STARTTLS) and LOGIN, each
//! step on its own so that `check` can report them one by one.

use std::collections::BTreeSet;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_imap::imap_proto::{Capability, Response, ResponseCode, Status};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::ImapError;
use super::session::Session;
use crate::config::{self, TlsMode};
pub use crate::tls::MailStream;
use crate::tls::TrustError;

pub(crate) type Client = async_imap::Client<MailStream>;

/// Run `fut` within the configured limit; `what` names the step for the error.
pub(crate) async fn within<T, E>(
    limit: Duration,
    what: &str,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, ImapError>
where
    ImapError: From<E>,
{
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r.map_err(ImapError::from),
        Err(_) => Err(ImapError::Timeout {
            what: what.to_string(),
            secs: limit.as_secs(),
        }),
    }
}

pub(crate) fn limit(cfg: &config::Imap) -> Duration {
    Duration::from_secs(cfg.timeout_seconds.max(1))
}

pub(crate) fn server(cfg: &config::Imap) -> String {
    if cfg.host.contains(':') {
        format!("[{}]:{}", cfg.host, cfg.port)
    } else {
        format!("{}:{}", cfg.host, cfg.port)
    }
}

pub(crate) fn mode_name(mode: TlsMode) -> &'static str {
    match mode {
        TlsMode::Tls => "tls",
        TlsMode::Starttls => "starttls",
        TlsMode::None => "none",
    }
}

/// Where the certificates we trust come from, in words.
pub(crate) fn trust_words(cfg: &config::Imap) -> String {
    match &cfg.ca_file {
        Some(f) => format!("the system's CAs and {}", f.display()),
        None => "the system's CAs".to_string(),
    }
}

pub(crate) async fn resolve(cfg: &config::Imap) -> Result<Vec<SocketAddr>, ImapError> {
    let t = limit(cfg);
    let lookup = tokio::net::lookup_host((cfg.host.as_str(), cfg.port));
    let addrs: Vec<SocketAddr> = match tokio::time::timeout(t, lookup).await {
        Ok(Ok(addrs)) => addrs.collect(),
        Ok(Err(e)) => {
            return Err(ImapError::Resolve {
                host: cfg.host.clone(),
                message: e.to_string(),
            });
        }
        Err(_) => {
            return Err(ImapError::Resolve {
                host: cfg.host.clone(),
                message: format!("no answer from the resolver within {} s", t.as_secs()),
            });
        }
    };
    if addrs.is_empty() {
        return Err(ImapError::Resolve {
            host: cfg.host.clone(),
            message: "the name has no addresses".into(),
        });
    }
    Ok(addrs)
}

/// The first address that takes the connection.
pub(crate) async fn tcp(
    cfg: &config::Imap,
    addrs: &[SocketAddr],
) -> Result<(TcpStream, SocketAddr), ImapError> {
    let t = limit(cfg);
    let mut failures = Vec::new();
    for addr in addrs {
        match tokio::time::timeout(t, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                return Ok((stream, *addr));
            }
            Ok(Err(e)) => failures.push(format!("{addr}: {e}")),
            Err(_) => failures.push(format!(
                "{addr}: no answer within {} s (a firewall may drop the connection, or the host or port is wrong)",
                t.as_secs()
            )),
        }
    }
    Err(ImapError::Connect {
        target: server(cfg),
        message: failures.join("; "),
    })
}

/// The TLS client configuration: the system's roots plus the PEM certificates of `ca_file`.
pub(crate) fn tls_config(cfg: &config::Imap) -> Result<Arc<rustls::ClientConfig>, ImapError> {
    crate::tls::client_config(cfg.ca_file.as_deref(), "imap").map_err(|e| match e {
        TrustError::CaFile { path, message } => ImapError::CaFile { path, message },
        TrustError::Other(message) => ImapError::Tls {
            target: server(cfg),
            message,
            permanent: true,
        },
    })
}

/// TLS over `tcp`, the certificate checked against `host`. Returns the stream and the protocol
/// version in words.
pub(crate) async fn tls_handshake(
    cfg: &config::Imap,
    tls: Arc<rustls::ClientConfig>,
    tcp: TcpStream,
) -> Result<(TlsStream<TcpStream>, String), ImapError> {
    let name = ServerName::try_from(cfg.host.clone()).map_err(|e| ImapError::Tls {
        target: server(cfg),
        message: format!("{:?} is not a host name TLS can check: {e}", cfg.host),
        permanent: true,
    })?;
    let t = limit(cfg);
    let connector = TlsConnector::from(tls);
    match tokio::time::timeout(t, connector.connect(name, tcp)).await {
        Ok(Ok(stream)) => {
            let version = stream
                .get_ref()
                .1
                .protocol_version()
                .map(|v| match v {
                    rustls::ProtocolVersion::TLSv1_3 => "TLS 1.3".to_string(),
                    rustls::ProtocolVersion::TLSv1_2 => "TLS 1.2".to_string(),
                    other => format!("{other:?}"),
                })
                .unwrap_or_else(|| "TLS".into());
            Ok((stream, version))
        }
        Ok(Err(e)) => Err(ImapError::Tls {
            target: server(cfg),
            message: explain_tls(cfg, &e),
            // rustls refused (the certificate, the protocol), not a reset under it.
            permanent: e
                .get_ref()
                .is_some_and(|i| i.downcast_ref::<rustls::Error>().is_some()),
        }),
        Err(_) => Err(ImapError::Tls {
            target: server(cfg),
            message: format!(
                "the handshake took over {} s (is tls = {:?} right for port {}?)",
                t.as_secs(),
                mode_name(cfg.tls),
                cfg.port
            ),
            permanent: false,
        }),
    }
}

/// A TLS failure in words a person setting mailcart up can act on.
fn explain_tls(cfg: &config::Imap, e: &io::Error) -> String {
    use rustls::{CertificateError, Error as TlsError};
    let trust = trust_words(cfg);
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<TlsError>());
    let hint = match inner {
        Some(TlsError::InvalidCertificate(c)) => match c {
            CertificateError::UnknownIssuer => format!(
                "the server's certificate is not signed by a CA we trust ({trust}); for a self-signed server or a private CA give its certificate in [imap] ca_file"
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!(
                    "the server's certificate does not name {:?}; use the host name the certificate was made for",
                    cfg.host
                )
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "the server's certificate has expired".to_string()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "the server's certificate is not valid yet (is this machine's clock right?)"
                    .to_string()
            }
            other => {
                let text = format!("{other:?}");
                if text.contains("CaUsedAsEndEntity") {
                    "the server presents a CA certificate as its own, which TLS clients refuse: sign a server certificate with the CA and install that".to_string()
                } else {
                    "the server's certificate was refused".to_string()
                }
            }
        },
        Some(TlsError::InvalidMessage(_)) => match cfg.tls {
            TlsMode::Tls => format!(
                "the server did not answer in TLS: port {} may want tls = \"starttls\" (or \"none\" on loopback)",
                cfg.port
            ),
            _ => "the server broke off the TLS handshake".to_string(),
        },
        Some(TlsError::AlertReceived(alert)) => {
            format!("the server refused the handshake (alert {alert:?})")
        }
        Some(_) => "the TLS handshake failed".to_string(),
        None if e.kind() == io::ErrorKind::UnexpectedEof => format!(
            "the server closed the connection during the handshake (is tls = {:?} right for port {}?)",
            mode_name(cfg.tls),
            cfg.port
        ),
        None => "the TLS handshake failed".to_string(),
    };
    format!("{hint} ({e})")
}

/// What the server said first.
pub(crate) struct Greeting {
    /// Its capabilities, when it listed them in the greeting.
    pub caps: Option<BTreeSet<String>>,
    pub text: String,
}

/// Read the server's greeting.
pub(crate) async fn greeting(
    cfg: &config::Imap,
    client: &mut Client,
) -> Result<Greeting, ImapError> {
    let t = limit(cfg);
    let first = match tokio::time::timeout(t, client.read_response()).await {
        Ok(Ok(Some(r))) => r,
        Ok(Ok(None)) => {
            return Err(ImapError::Closed(
                " before greeting us (is this an IMAP port?)".into(),
            ));
        }
        Ok(Err(e)) => return Err(ImapError::Protocol(format!("reading the greeting: {e}"))),
        Err(_) => {
            return Err(ImapError::Timeout {
                what: format!(
                    "waiting for the server's greeting (is port {} an IMAP port, and tls = {:?} right for it?)",
                    cfg.port,
                    mode_name(cfg.tls)
                ),
                secs: t.as_secs(),
            });
        }
    };
    match first.parsed() {
        Response::Data {
            status: Status::Ok,
            code,
            information,
        } => Ok(Greeting {
            caps: match code {
                Some(ResponseCode::Capabilities(caps)) => Some(capability_set(caps)),
                _ => None,
            },
            text: information.as_deref().unwrap_or("").trim().to_string(),
        }),
        Response::Data {
            status: Status::Bye,
            information,
            ..
        } => Err(ImapError::Closed(format!(
            " at once: {}",
            information.as_deref().unwrap_or("no reason given")
        ))),
        Response::Data {
            status: Status::PreAuth,
            ..
        } => Err(ImapError::Protocol(
            "the server greeted us as already logged in (PREAUTH), which mailcart does not support"
                .into(),
        )),
        other => Err(ImapError::Protocol(format!(
            "unexpected greeting (is this an IMAP server?): {other:?}"
        ))),
    }
}

pub(crate) fn capability_set(caps: &[Capability<'_>]) -> BTreeSet<String> {
    caps.iter()
        .map(|c| match c {
            Capability::Imap4rev1 => "IMAP4REV1".to_string(),
            Capability::Auth(a) => format!("AUTH={}", a.to_ascii_uppercase()),
            Capability::Atom(a) => a.to_ascii_uppercase(),
        })
        .collect()
}

/// STARTTLS on a plain connection whose greeting has been read; returns the TCP stream,
/// ready for the handshake. Whatever the server sent after its OK is dropped unread.
pub(crate) async fn starttls(
    cfg: &config::Imap,
    mut client: Client,
    greeting_caps: Option<&BTreeSet<String>>,
) -> Result<TcpStream, ImapError> {
    if greeting_caps.is_some_and(|c| !c.contains("STARTTLS")) {
        return Err(ImapError::Tls {
            target: server(cfg),
            message: format!(
                "the server does not offer STARTTLS on port {}, and tls = \"starttls\" never logs in without it (port 993 usually wants tls = \"tls\")",
                cfg.port
            ),
            permanent: true,
        });
    }
    let t = limit(cfg);
    match tokio::time::timeout(t, client.run_command_and_check_ok("STARTTLS", None)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            let permanent = matches!(
                e,
                async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_)
            );
            return Err(ImapError::Tls {
                target: server(cfg),
                message: format!("the server refused STARTTLS: {e}"),
                permanent,
            });
        }
        Err(_) => {
            return Err(ImapError::Timeout {
                what: "waiting for the answer to STARTTLS".into(),
                secs: t.as_secs(),
            });
        }
    }
    match client.into_inner() {
        MailStream::Plain(tcp) => Ok(tcp),
        MailStream::Tls(_) => Err(ImapError::Protocol("STARTTLS inside TLS".into())),
    }
}

/// LOGIN (or with `auth = "oauth2"` AUTHENTICATE), then CAPABILITY and the folder layout.
/// The password is sent and forgotten; no error carries it.
pub(crate) async fn login(
    cfg: &config::Imap,
    client: Client,
    description: String,
) -> Result<Session, ImapError> {
    let mut session = match &cfg.oauth {
        Some(setup) => login_oauth(cfg, setup, client, description).await?,
        None => login_password(cfg, client, description).await?,
    };
    session.refresh_capabilities().await?;
    session.learn_layout().await?;
    Ok(session)
}

/// LOGIN with the password.
async fn login_password(
    cfg: &config::Imap,
    client: Client,
    description: String,
) -> Result<Session, ImapError> {
    let password = cfg
        .login
        .password()
        .map_err(|e| ImapError::Config(format!("password: {e}")))?;
    let t = limit(cfg);
    let user = cfg.login.username.as_str();
    let session = match tokio::time::timeout(t, client.login(user, &password)).await {
        Ok(Ok(s)) => s,
        Ok(Err((e, _))) => {
            let message = match e {
                async_imap::error::Error::No(text) | async_imap::error::Error::Bad(text) => {
                    format!("{} (check [imap] username and password)", clean(&text))
                }
                async_imap::error::Error::Validate(_) => {
                    "the username or password holds a line break, which IMAP cannot send".into()
                }
                other => other.to_string(),
            };
            return Err(refused(cfg, message));
        }
        Err(_) => {
            return Err(ImapError::Timeout {
                what: "waiting for the answer to LOGIN".into(),
                secs: t.as_secs(),
            });
        }
    };
    drop(password);
    Ok(Session::new(session, t, server(cfg), description))
}

/// The capabilities before login: the greeting's do not always list the AUTH= mechanisms
/// (Gmail's greeting lists none), so ask.
async fn capabilities_before_login(
    cfg: &config::Imap,
    client: &mut Client,
) -> Result<BTreeSet<String>, ImapError> {
    let (tx, rx) = async_channel::unbounded();
    within(
        limit(cfg),
        "waiting for the answer to CAPABILITY",
        client.run_command_and_check_ok("CAPABILITY", Some(tx)),
    )
    .await?;
    let mut caps = BTreeSet::new();
    while let Ok(r) = rx.try_recv() {
        if let async_imap::types::UnsolicitedResponse::Other(data) = r
            && let Response::Capabilities(list) = data.parsed()
        {
            caps.extend(capability_set(list));
        }
    }
    Ok(caps)
}

/// AUTHENTICATE with an OAuth2 access token: XOAUTH2 where offered, else OAUTHBEARER. A
/// refused token is replaced once with a fresh one (it may have been revoked or expired
/// early); a second refusal is the answer.
async fn login_oauth(
    cfg: &config::Imap,
    setup: &std::sync::Arc<config::OAuthSetup>,
    mut client: Client,
    description: String,
) -> Result<Session, ImapError> {
    use crate::oauth::{Mechanism, OAuthBearer, TokenSource, XOAuth2};
    let caps = capabilities_before_login(cfg, &mut client).await?;
    let mechanism = crate::oauth::choose_mechanism(&caps).map_err(|m| refused(cfg, m))?;
    let tokens = TokenSource::shared(setup);
    let mut token = tokens.token().await?;
    let t = limit(cfg);
    let user = cfg.login.username.as_str();
    let mut retried = false;
    loop {
        let attempt = match mechanism {
            Mechanism::XOAuth2 => {
                tokio::time::timeout(
                    t,
                    client.authenticate("XOAUTH2", XOAuth2::new(user, &token)),
                )
                .await
            }
            Mechanism::OAuthBearer => {
                let bearer = OAuthBearer::new(user, &cfg.host, cfg.port, &token);
                tokio::time::timeout(t, client.authenticate("OAUTHBEARER", bearer)).await
            }
        };
        match attempt {
            Ok(Ok(session)) => {
                tracing::debug!(
                    mechanism = mechanism.name(),
                    "authenticated with an oauth2 token"
                );
                return Ok(Session::new(session, t, server(cfg), description));
            }
            Ok(Err((async_imap::error::Error::No(text), back))) if !retried => {
                tracing::info!(
                    mechanism = mechanism.name(),
                    answer = %clean(&text),
                    "the server refused the oauth2 token; refreshing it and trying once more"
                );
                client = back;
                token = tokens.replace(&token).await?;
                retried = true;
            }
            Ok(Err((e, _))) => {
                let message = match e {
                    async_imap::error::Error::No(text) | async_imap::error::Error::Bad(text) => {
                        format!(
                            "{} ({} with a fresh OAuth2 access token; is [imap] username the mailbox that ran `mailcart login`, and may it use IMAP?)",
                            clean(&text),
                            mechanism.name()
                        )
                    }
                    other => other.to_string(),
                };
                return Err(refused(cfg, message));
            }
            Err(_) => {
                return Err(ImapError::Timeout {
                    what: format!(
                        "waiting for the answer to AUTHENTICATE {}",
                        mechanism.name()
                    ),
                    secs: t.as_secs(),
                });
            }
        }
    }
}

fn refused(cfg: &config::Imap, message: String) -> ImapError {
    ImapError::Login {
        server: server(cfg),
        user: cfg.login.username.clone(),
        message,
    }
}

/// Server text from async-imap's error strings ("code: Some(..), info: Some(\"..\")").
pub(crate) fn clean(text: &str) -> String {
    if let Some(start) = text.find("info: Some(\"") {
        let rest = &text[start + 12..];
        if let Some(end) = rest.rfind("\")") {
            return rest[..end].to_string();
        }
    }
    text.to_string()
}

/// Connect, secure and log in as the config says.
pub async fn connect(cfg: &config::Imap) -> Result<Session, ImapError> {
    let addrs = resolve(cfg).await?;
    let (tcp, addr) = tcp(cfg, &addrs).await?;
    match cfg.tls {
        TlsMode::None => {
            let mut client = Client::new(MailStream::Plain(tcp));
            greeting(cfg, &mut client).await?;
            login(cfg, client, format!("{addr}, no TLS")).await
        }
        TlsMode::Tls => {
            let (tls, version) = tls_handshake(cfg, tls_config(cfg)?, tcp).await?;
            let mut client = Client::new(MailStream::Tls(Box::new(tls)));
            greeting(cfg, &mut client).await?;
            login(cfg, client, format!("{addr}, {version}")).await
        }
        TlsMode::Starttls => {
            let tls_cfg = tls_config(cfg)?;
            let mut client = Client::new(MailStream::Plain(tcp));
            let hello = greeting(cfg, &mut client).await?;
            let tcp = starttls(cfg, client, hello.caps.as_ref()).await?;
            let (tls, version) = tls_handshake(cfg, tls_cfg, tcp).await?;
            let client = Client::new(MailStream::Tls(Box::new(tls)));
            login(cfg, client, format!("{addr}, STARTTLS, {version}")).await
        }
    }
}
