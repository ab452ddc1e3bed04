//! `mailcart login`: the one-time authorisation that leaves a refresh token in the store.
//!
//! - Device flow (RFC 8628), for Microsoft and a custom provider with a device endpoint: show
//!   the address and the code, poll at the interval the provider asks for.
//! - Authorisation code with PKCE (RFC 7636) and a loopback redirect (RFC 8252), for Google
//!   (whose device flow does not allow the Gmail scope) and a custom provider without one: we
//!   listen on 127.0.0.1 on a port the system picks, and at the same time read stdin, where a
//!   person on a machine without a browser pastes the address the browser ended on.

use std::sync::Arc;
use std::time::Duration;

use oauth2::url::Url;
use oauth2::{
    AuthorizationCode, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope,
    StandardDeviceAuthorizationResponse, TokenResponse,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::{OAuthError, Secret, StoredToken, TokenStore, explain, http_client, oauth_client};
use crate::config::{OAuthProvider, OAuthSetup};

/// How long a person has to approve, in the browser flow (the device flow has the provider's
/// own limit).
const APPROVAL_WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFlow {
    Device,
    Browser,
}

/// Authorise, store the refresh token, and say where. `flow` overrides the provider's usual
/// flow. Everything a person must do is printed on stdout; no token ever is.
pub async fn login(setup: &Arc<OAuthSetup>, flow: Option<LoginFlow>) -> Result<(), OAuthError> {
    let endpoints = setup.settings.endpoints();
    let flow = match flow {
        Some(f) => f,
        None if endpoints.device_url.is_some() => LoginFlow::Device,
        None => LoginFlow::Browser,
    };
    let refresh = match flow {
        LoginFlow::Device => {
            if endpoints.device_url.is_none() {
                return Err(OAuthError::Config(format!(
                    "provider {:?} has no device flow here (give device_url with provider = \"custom\")",
                    setup.settings.provider.name()
                )));
            }
            device(setup).await?
        }
        LoginFlow::Browser => {
            if endpoints.auth_url.is_none() {
                return Err(OAuthError::Config(
                    "no auth_url: this provider is set up for the device flow only".into(),
                ));
            }
            browser(setup).await?
        }
    };
    let store = TokenStore::new(setup.token_file.clone());
    store.save(&StoredToken {
        provider: setup.settings.provider.name().to_string(),
        client_id: setup.settings.client_id.clone(),
        refresh_token: refresh,
        saved_at: crate::store::ts(time::OffsetDateTime::now_utc()),
        refused_at: None,
    })?;
    println!(
        "authorised: the refresh token is stored in {} (readable by this user only)",
        store.path().display()
    );
    tracing::info!(store = %store.path().display(), "oauth2 refresh token stored");
    Ok(())
}

fn scopes(setup: &OAuthSetup) -> Vec<Scope> {
    setup
        .settings
        .endpoints()
        .scopes
        .into_iter()
        .map(Scope::new)
        .collect()
}

fn no_refresh_token(provider: OAuthProvider) -> OAuthError {
    OAuthError::Config(format!(
        "the provider gave no refresh token, so mailcart could not log in again later ({})",
        match provider {
            OAuthProvider::Microsoft => "the offline_access scope must be allowed",
            OAuthProvider::Google => "the consent screen must grant offline access",
            OAuthProvider::Custom => "the scopes must allow offline access",
        }
    ))
}

async fn device(setup: &Arc<OAuthSetup>) -> Result<Secret, OAuthError> {
    let client = oauth_client(setup)?;
    let http = http_client()?;
    let e = setup.settings.endpoints();
    let device_url = e.device_url.unwrap_or_default();
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .map_err(|err| OAuthError::Config(err.to_string()))?
        .add_scopes(scopes(setup))
        .request_async(&http)
        .await
        .map_err(|err| explain(&device_url, err))?;
    println!(
        "To let mailcart read and send the shop's mail, open\n\n    {}\n\nsign in as the shop's mailbox and enter the code\n\n    {}\n",
        details.verification_uri().as_str(),
        details.user_code().secret()
    );
    println!(
        "waiting for the approval (the code is valid for {} min)...",
        details.expires_in().as_secs().div_ceil(60)
    );
    let token = client
        .exchange_device_access_token(&details)
        .request_async(&http, tokio::time::sleep, None)
        .await
        .map_err(|err| match explain(&e.token_url, err) {
            OAuthError::Provider { code, .. } if code == "expired_token" => OAuthError::Config(
                "the code expired before it was approved: run `mailcart login` again".into(),
            ),
            OAuthError::Provider { code, .. } if code == "access_denied" => {
                OAuthError::Config("the approval was declined".into())
            }
            other => other,
        })?;
    token
        .refresh_token()
        .map(|r| Secret::new(r.secret().clone()))
        .ok_or_else(|| no_refresh_token(setup.settings.provider))
}

async fn browser(setup: &Arc<OAuthSetup>) -> Result<Secret, OAuthError> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| {
        OAuthError::Config(format!("cannot listen on 127.0.0.1 for the redirect: {e}"))
    })?;
    let port = listener
        .local_addr()
        .map_err(|e| OAuthError::Config(format!("the redirect listener: {e}")))?
        .port();
    let redirect = format!("http://127.0.0.1:{port}/");
    let client = oauth_client(setup)?.set_redirect_uri(
        RedirectUrl::new(redirect.clone())
            .map_err(|e| OAuthError::Config(format!("redirect URL: {e}")))?,
    );
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .map_err(|e| OAuthError::Config(e.to_string()))?
        .add_scopes(scopes(setup))
        .set_pkce_challenge(challenge);
    if setup.settings.provider == OAuthProvider::Google {
        // Without these Google gives no refresh token (or none on a second login).
        request = request
            .add_extra_param("access_type", "offline")
            .add_extra_param("prompt", "consent");
    }
    let (url, state) = request.url();
    println!(
        "To let mailcart read and send the shop's mail, open this address in a browser and sign in as the shop's mailbox:\n\n    {url}\n"
    );
    println!(
        "waiting for the browser to come back to {redirect} ...\nOn a machine without a browser: open the address on any computer, approve, then paste here the address the browser ends on (it starts with {redirect}; the page itself will not load there) and press Enter:"
    );
    let answer = tokio::select! {
        a = from_redirect(&listener) => a,
        a = from_stdin() => a,
        _ = tokio::time::sleep(APPROVAL_WINDOW) => Err(OAuthError::Config(format!(
            "no approval within {} min: run `mailcart login` again", APPROVAL_WINDOW.as_secs() / 60
        ))),
    }?;
    let code = check_answer(&answer, &redirect, state.secret())?;
    let http = http_client()?;
    let token_url = setup.settings.endpoints().token_url;
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .map_err(|e| explain(&token_url, e))?;
    token
        .refresh_token()
        .map(|r| Secret::new(r.secret().clone()))
        .ok_or_else(|| no_refresh_token(setup.settings.provider))
}

/// The code from the redirect's query, once its `state` is ours (anything else may be a page
/// that tricked the browser into calling us).
fn check_answer(answer: &Url, redirect: &str, state: &str) -> Result<String, OAuthError> {
    let bad = |m: String| OAuthError::Config(m);
    if !answer.as_str().starts_with(redirect) {
        return Err(bad(format!(
            "that address does not start with {redirect}: paste the address the browser ended on after approving"
        )));
    }
    let param = |name: &str| {
        answer
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if let Some(error) = param("error") {
        let description = param("error_description")
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        return Err(bad(format!(
            "the provider did not authorise mailcart: {error}{description}"
        )));
    }
    if param("state").as_deref() != Some(state) {
        return Err(bad(
            "the answer's state does not match this login (an old or forged redirect): run `mailcart login` again".into(),
        ));
    }
    param("code").ok_or_else(|| bad("the answer carries no code".into()))
}

/// The first request to the listener that carries `code` or `error`; others get a 404.
async fn from_redirect(listener: &TcpListener) -> Result<Url, OAuthError> {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            // Out of file descriptors, say: try again, but do not spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), async {
            let mut chunk = [0u8; 2048];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
        })
        .await;
        if read.is_err() {
            continue;
        }
        let head = String::from_utf8_lossy(&buf);
        let target = head
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("GET "))
            .and_then(|l| l.split(' ').next())
            .unwrap_or("");
        let url = Url::parse(&format!("http://127.0.0.1{target}")).ok();
        let answers = url
            .as_ref()
            .is_some_and(|u| u.query_pairs().any(|(k, _)| k == "code" || k == "error"));
        let (status, body) = if answers {
            (
                "200 OK",
                "mailcart: received. You can close this page and go back to the terminal.\n",
            )
        } else {
            ("404 Not Found", "not here\n")
        };
        let reply = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(reply.as_bytes()).await;
        let _ = stream.shutdown().await;
        if answers && let (Some(mut u), Ok(addr)) = (url, listener.local_addr()) {
            let _ = u.set_port(Some(addr.port()));
            return Ok(u);
        }
    }
}

/// The first line on stdin that is an address with `code` or `error` in it. A thread of its
/// own: a blocked read of stdin must not keep the runtime from shutting down.
async fn from_stdin() -> Result<Url, OAuthError> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        loop {
            line.clear();
            match std::io::stdin().read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    if tx.send(line.trim().to_string()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    while let Some(line) = rx.recv().await {
        if line.is_empty() {
            continue;
        }
        match Url::parse(&line) {
            Ok(u) if u.query_pairs().any(|(k, _)| k == "code" || k == "error") => return Ok(u),
            _ => println!(
                "that is not the address the browser ended on (it has ?code=... in it); paste it again:"
            ),
        }
    }
    // stdin closed (no terminal): the redirect may still come.
    std::future::pending().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_taken_only_with_our_state() {
        let r = "http://127.0.0.1:5000/";
        let ok = Url::parse("http://127.0.0.1:5000/?code=abc&state=s1").unwrap();
        assert_eq!(check_answer(&ok, r, "s1").unwrap(), "abc");
        let forged = Url::parse("http://127.0.0.1:5000/?code=abc&state=s2").unwrap();
        assert!(
            check_answer(&forged, r, "s1")
                .unwrap_err()
                .to_string()
                .contains("state")
        );
        let denied = Url::parse("http://127.0.0.1:5000/?error=access_denied&state=s1").unwrap();
        assert!(
            check_answer(&denied, r, "s1")
                .unwrap_err()
                .to_string()
                .contains("access_denied")
        );
        let elsewhere = Url::parse("http://evil.example/?code=abc&state=s1").unwrap();
        assert!(check_answer(&elsewhere, r, "s1").is_err());
    }
}
