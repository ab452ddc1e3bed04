//! What `check` and `status` say about OAuth2.

use std::sync::Arc;

use super::{OAuthError, TokenSource};
use crate::config::OAuthSetup;

/// `check`'s oauth2 step: the provider, whether a refresh token is stored, and whether it
/// gets a fresh access token now (which the IMAP and SMTP steps after it then use).
pub async fn check(setup: &Arc<OAuthSetup>) -> (String, Result<String, String>) {
    let provider = setup.settings.provider.name();
    let tokens = TokenSource::shared(setup);
    let stored = match tokens.store().load() {
        Ok(Some(s)) => s,
        Ok(None) => {
            return (
                "token".into(),
                Err(format!(
                    "provider {provider}: no refresh token stored ({}): run `mailcart login`",
                    tokens.store().path().display()
                )),
            );
        }
        Err(e) => return ("token".into(), Err(format!("provider {provider}: {e}"))),
    };
    let step = match tokens.refresh_now().await {
        Ok(lifetime) => Ok(format!(
            "provider {provider}: refresh token stored (since {}); fresh access token obtained{}",
            stored.saved_at,
            lifetime
                .map(|d| format!(", valid for {} s", d.as_secs()))
                .unwrap_or_default()
        )),
        Err(e) => Err(format!(
            "provider {provider}: refresh token stored (since {}), but no access token: {e}",
            stored.saved_at
        )),
    };
    ("token".into(), step)
}

/// One line for `status`, from the store alone (no network).
pub fn status_line(setup: &OAuthSetup) -> String {
    let provider = setup.settings.provider.name();
    let store = super::TokenStore::new(setup.token_file.clone());
    match store.load() {
        Ok(Some(t)) => match &t.refused_at {
            Some(at) => format!(
                "oauth2 {provider}: {} (at {at})",
                OAuthError::GrantRefused {
                    detail: String::new()
                }
            ),
            None => format!(
                "oauth2 {provider}: refresh token stored (since {})",
                t.saved_at
            ),
        },
        Ok(None) => format!("oauth2 {provider}: no refresh token stored: run `mailcart login`"),
        Err(e) => format!("oauth2 {provider}: {e}"),
    }
}
