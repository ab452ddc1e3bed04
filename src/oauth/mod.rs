//! OAuth2 at the edge: the refresh token `mailcart login` stores, the access tokens the IMAP
//! and SMTP logins use (cached, refreshed before they expire and after a refused login), the
//! SASL strings (XOAUTH2, OAUTHBEARER) and the one-time authorisation flows.
//!
//! Secrets never reach a log line or an error: tokens travel in [`Secret`], whose Debug is
//! redacted, and errors carry only the endpoint and the provider's error code.

mod login;
pub mod report;
mod sasl;
mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, ClientId, ClientSecret, DeviceAuthorizationUrl, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, HttpClientError, RefreshToken, RequestTokenError, StandardErrorResponse,
    TokenResponse, TokenUrl,
};

pub use login::{LoginFlow, login};
pub use sasl::{Mechanism, OAuthBearer, XOAuth2, choose_mechanism};
pub use store::{StoredToken, TokenStore};

use crate::config::OAuthSetup;

/// Every HTTP call to the provider: connecting, and the whole request with its answer.
pub const HTTP_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// An access token is renewed this long before it runs out (at most half its life), so that
/// a login never starts with a token about to die.
const EARLY: Duration = Duration::from_secs(60);
/// A provider that does not say how long a token lives: assume a short life.
const UNKNOWN_LIFETIME: Duration = Duration::from_secs(300);
/// A failed refresh is the answer for this long: IMAP and SMTP asking at the same moment (or
/// `check`'s steps one after the other) wait once for a provider that hangs, not once each.
const FAILURE_HOLDS: Duration = Duration::from_secs(10);

/// A token or secret: shown to nobody.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    #[error("no OAuth2 refresh token is stored ({path}): run `mailcart login` first")]
    NotLoggedIn { path: String },
    /// The refresh token is revoked, expired, or was issued to another client. Only a person
    /// can mend it, by authorising again.
    #[error("the refresh token was refused (invalid_grant): run `mailcart login` again")]
    GrantRefused {
        /// The provider's error_description, for the log (never a token).
        detail: String,
    },
    #[error(
        "the provider refused the client (invalid_client): check [oauth2] client_id and client_secret"
    )]
    ClientRefused,
    #[error(
        "the token endpoint {url} answered with {what}, not JSON: check [oauth2] token_url, or the provider is having trouble"
    )]
    NotJson { url: String, what: String },
    #[error("the token endpoint {url} did not answer within {secs} s")]
    Timeout { url: String, secs: u64 },
    #[error("cannot reach the token endpoint {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("the token endpoint {url} refused the request: {code}{description}")]
    Provider {
        url: String,
        code: String,
        description: String,
    },
    #[error("the token endpoint {url} gave an answer that is not a token: {message}")]
    BadAnswer { url: String, message: String },
    #[error("[oauth2] {0}")]
    Config(String),
    #[error("token store {path}: {message}")]
    Store { path: String, message: String },
}

impl OAuthError {
    /// Whether trying again later can help without a person changing something. A refused
    /// grant, a refused client, a missing login and a broken config cannot mend themselves.
    pub fn is_permanent(&self) -> bool {
        self.kind().is_some()
    }

    /// The kind of problem a person has to mend, and what to do (`crate::problem`).
    pub fn kind(&self) -> Option<(&'static str, &'static str)> {
        match self {
            OAuthError::NotLoggedIn { .. } => {
                Some(("oauth2-not-logged-in", "run `mailcart login`"))
            }
            OAuthError::GrantRefused { .. } => {
                Some(("oauth2-invalid-grant", "run `mailcart login` again"))
            }
            OAuthError::ClientRefused => {
                Some(("oauth2-client", "[oauth2] client_id and client_secret"))
            }
            OAuthError::Config(_) => Some(("oauth2-config", "[oauth2]")),
            _ => None,
        }
    }

    /// This failure as a problem for a person on `server` ("imap" or "smtp"), when it is one.
    pub fn problem(&self, server: &str, words: String) -> Option<crate::problem::Problem> {
        let (kind, fix) = self.kind()?;
        Some(crate::problem::Problem::new(server, kind, words, fix))
    }
}

/// The token endpoint's client: no redirects followed (a redirected token request would carry
/// the secret elsewhere), and time limits on everything.
fn http_client() -> Result<reqwest::Client, OAuthError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(HTTP_CONNECT_TIMEOUT)
        .timeout(HTTP_TIMEOUT)
        .build()
        .map_err(|e| OAuthError::Config(format!("cannot set up the HTTP client: {e}")))
}

type Client =
    BasicClient<EndpointMaybeSet, EndpointMaybeSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The oauth2 crate's client for the configured provider.
fn oauth_client(setup: &OAuthSetup) -> Result<Client, OAuthError> {
    let s = &setup.settings;
    let e = s.endpoints();
    let url_error = |key: &str, err: oauth2::url::ParseError| {
        OAuthError::Config(format!("{key} is not a URL: {err}"))
    };
    let mut client = BasicClient::new(ClientId::new(s.client_id.clone()))
        .set_token_uri(
            TokenUrl::new(e.token_url.clone()).map_err(|err| url_error("token_url", err))?,
        )
        .set_auth_uri_option(
            e.auth_url
                .map(AuthUrl::new)
                .transpose()
                .map_err(|err| url_error("auth_url", err))?,
        )
        .set_device_authorization_url_option(
            e.device_url
                .map(DeviceAuthorizationUrl::new)
                .transpose()
                .map_err(|err| url_error("device_url", err))?,
        );
    if let Some(secret) = s
        .client_secret()
        .map_err(|m| OAuthError::Config(format!("client_secret: {m}")))?
    {
        client = client.set_client_secret(ClientSecret::new(secret));
    }
    Ok(client)
}

/// An oauth2 crate error in our words. `url` names the endpoint asked.
fn explain<T: oauth2::ErrorResponseType + AsRef<str> + std::fmt::Display + 'static>(
    url: &str,
    e: RequestTokenError<HttpClientError<reqwest::Error>, StandardErrorResponse<T>>,
) -> OAuthError {
    match e {
        RequestTokenError::ServerResponse(r) => {
            let code = r.error().as_ref().to_string();
            let description = r.error_description().cloned();
            match code.as_str() {
                "invalid_grant" => OAuthError::GrantRefused {
                    detail: description.unwrap_or_default(),
                },
                "invalid_client" | "unauthorized_client" => OAuthError::ClientRefused,
                _ => OAuthError::Provider {
                    url: url.to_string(),
                    code,
                    description: description.map(|d| format!(" ({d})")).unwrap_or_default(),
                },
            }
        }
        RequestTokenError::Request(HttpClientError::Reqwest(r)) => {
            if r.is_timeout() {
                OAuthError::Timeout {
                    url: url.to_string(),
                    secs: HTTP_TIMEOUT.as_secs(),
                }
            } else {
                OAuthError::Unreachable {
                    url: url.to_string(),
                    message: crate::smtp::with_causes(&r),
                }
            }
        }
        RequestTokenError::Request(other) => OAuthError::Unreachable {
            url: url.to_string(),
            message: other.to_string(),
        },
        // The body is never shown: a half-readable answer may still hold a token.
        RequestTokenError::Parse(_, body) => {
            let start = String::from_utf8_lossy(&body[..body.len().min(64)]).to_ascii_lowercase();
            if start.trim_start().starts_with('<') {
                OAuthError::NotJson {
                    url: url.to_string(),
                    what: "an HTML page".into(),
                }
            } else {
                OAuthError::BadAnswer {
                    url: url.to_string(),
                    message: format!("{} bytes that do not parse", body.len()),
                }
            }
        }
        RequestTokenError::Other(m) if m.contains("Content-Type") => OAuthError::NotJson {
            url: url.to_string(),
            what: m
                .split('"')
                .nth(1)
                .map(|ct| format!("Content-Type {ct}"))
                .unwrap_or_else(|| "another Content-Type".into()),
        },
        RequestTokenError::Other(m) => OAuthError::BadAnswer {
            url: url.to_string(),
            message: m,
        },
    }
}

/// An access token with the moment it should no longer be used.
#[derive(Clone)]
struct Cached {
    token: Secret,
    renew_at: Instant,
}

/// The access tokens for one token store: shared by every IMAP and SMTP connection of the
/// process, refreshed by one of them at a time.
pub struct TokenSource {
    setup: Arc<OAuthSetup>,
    store: TokenStore,
    cache: tokio::sync::Mutex<Option<Cached>>,
    failed: std::sync::Mutex<Option<(Instant, OAuthError)>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("provider", &self.setup.settings.provider)
            .field("store", &self.setup.token_file)
            .finish_non_exhaustive()
    }
}

/// What `check` reports about the tokens.
#[derive(Debug)]
pub struct Fresh {
    pub token: Secret,
    pub lifetime: Option<Duration>,
}

impl TokenSource {
    /// The process's source for this set-up (one per token store, so that IMAP and SMTP share
    /// one cached token and never refresh twice at once).
    pub fn shared(setup: &Arc<OAuthSetup>) -> Arc<TokenSource> {
        static SOURCES: OnceLock<Mutex<HashMap<std::path::PathBuf, Arc<TokenSource>>>> =
            OnceLock::new();
        let mut map = SOURCES
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        map.entry(setup.token_file.clone())
            .or_insert_with(|| Arc::new(TokenSource::new(Arc::clone(setup))))
            .clone()
    }

    pub fn new(setup: Arc<OAuthSetup>) -> TokenSource {
        TokenSource {
            store: TokenStore::new(setup.token_file.clone()),
            setup,
            cache: tokio::sync::Mutex::new(None),
            failed: std::sync::Mutex::new(None),
        }
    }

    pub fn store(&self) -> &TokenStore {
        &self.store
    }

    /// A usable access token: the cached one while it has time left, else a new one.
    pub async fn token(&self) -> Result<Secret, OAuthError> {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.as_ref()
            && Instant::now() < c.renew_at
        {
            return Ok(c.token.clone());
        }
        let fresh = self.refresh().await?;
        let token = fresh.token.clone();
        *cache = Some(cache_entry(fresh));
        Ok(token)
    }

    /// A new access token after the server refused `rejected`; when another connection has
    /// already replaced it meanwhile, that one.
    pub async fn replace(&self, rejected: &Secret) -> Result<Secret, OAuthError> {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.as_ref()
            && &c.token != rejected
            && Instant::now() < c.renew_at
        {
            return Ok(c.token.clone());
        }
        tracing::info!("the server refused the access token; asking for a new one");
        let fresh = self.refresh().await?;
        let token = fresh.token.clone();
        *cache = Some(cache_entry(fresh));
        Ok(token)
    }

    /// A new access token now, kept for the logins that follow; its lifetime when the
    /// provider says it.
    pub async fn refresh_now(&self) -> Result<Option<Duration>, OAuthError> {
        let mut cache = self.cache.lock().await;
        let fresh = self.refresh().await?;
        let lifetime = fresh.lifetime;
        *cache = Some(cache_entry(fresh));
        Ok(lifetime)
    }

    /// Ask the token endpoint for a new access token with the stored refresh token. The
    /// store is read each time, so a `mailcart login` takes effect in a running daemon.
    pub async fn refresh(&self) -> Result<Fresh, OAuthError> {
        let recent = self
            .failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .filter(|(at, _)| at.elapsed() < FAILURE_HOLDS);
        if let Some((_, e)) = recent {
            return Err(e);
        }
        let result = self.ask().await;
        *self.failed.lock().unwrap_or_else(|p| p.into_inner()) =
            result.as_ref().err().map(|e| (Instant::now(), e.clone()));
        result
    }

    async fn ask(&self) -> Result<Fresh, OAuthError> {
        let Some(stored) = self.store.load()? else {
            return Err(OAuthError::NotLoggedIn {
                path: self.store.path().display().to_string(),
            });
        };
        let s = &self.setup.settings;
        if stored.client_id != s.client_id || stored.provider != s.provider.name() {
            return Err(OAuthError::Config(format!(
                "the stored refresh token was issued to another client ({} {}); run `mailcart login` for this one",
                stored.provider, stored.client_id
            )));
        }
        let client = oauth_client(&self.setup)?;
        let http = http_client()?;
        let url = self.setup.settings.endpoints().token_url;
        let refresh = RefreshToken::new(stored.refresh_token.expose().to_string());
        let answer = client
            .exchange_refresh_token(&refresh)
            .request_async(&http)
            .await
            .map_err(|e| explain(&url, e));
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                if let OAuthError::GrantRefused { detail } = &e {
                    tracing::error!(provider = s.provider.name(), detail = %detail, "the refresh token was refused (invalid_grant): run `mailcart login` again");
                    self.store.mark_refused()?;
                }
                return Err(e);
            }
        };
        // A provider that rotates refresh tokens (Microsoft may) sends a new one: keep it,
        // or the next refresh fails once the old one is retired.
        if let Some(new) = answer.refresh_token()
            && new.secret() != stored.refresh_token.expose()
        {
            self.store.save(&StoredToken {
                refresh_token: Secret::new(new.secret().clone()),
                ..stored
            })?;
            tracing::info!("the provider sent a new refresh token; stored");
        } else if stored.refused_at.is_some() {
            self.store.save(&StoredToken {
                refused_at: None,
                ..stored
            })?;
        }
        let lifetime = answer.expires_in();
        tracing::debug!(
            lifetime_s = lifetime.map(|d| d.as_secs()),
            "new access token"
        );
        Ok(Fresh {
            token: Secret::new(answer.access_token().secret().clone()),
            lifetime,
        })
    }
}

fn cache_entry(fresh: Fresh) -> Cached {
    let life = fresh.lifetime.unwrap_or(UNKNOWN_LIFETIME);
    let early = EARLY.min(life / 2);
    Cached {
        token: fresh.token,
        renew_at: Instant::now() + (life - early),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wording_of_a_refused_grant_is_stable_and_permanent() {
        let e = OAuthError::GrantRefused {
            detail: "Token has been expired or revoked.".into(),
        };
        assert_eq!(
            e.to_string(),
            "the refresh token was refused (invalid_grant): run `mailcart login` again"
        );
        assert!(e.is_permanent());
        assert!(OAuthError::ClientRefused.is_permanent());
        let t = OAuthError::Timeout {
            url: "https://x/token".into(),
            secs: 30,
        };
        assert!(!t.is_permanent());
        assert_eq!(
            t.to_string(),
            "the token endpoint https://x/token did not answer within 30 s"
        );
    }

    #[test]
    fn a_secret_is_never_shown() {
        let s = Secret::new("ya29.very-secret".into());
        assert_eq!(format!("{s:?}"), "<redacted>");
        let f = Fresh {
            token: s,
            lifetime: None,
        };
        assert!(!format!("{f:?}").contains("very-secret"));
    }

    #[test]
    fn tokens_are_renewed_early_but_not_at_once() {
        let at = |secs: u64| {
            let c = cache_entry(Fresh {
                token: Secret::new("t".into()),
                lifetime: Some(Duration::from_secs(secs)),
            });
            c.renew_at
                .saturating_duration_since(Instant::now())
                .as_secs_f64()
        };
        assert!((3539.0..=3540.0).contains(&at(3600)));
        // A short-lived token is kept for half its life, not thrown away at once.
        assert!((4.0..=5.0).contains(&at(10)));
    }
}
