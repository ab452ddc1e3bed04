//! `[oauth2]`: which identity provider issues the tokens for IMAP and SMTP, and the client
//! mailcart is registered as there. The tokens themselves are never in the config: `mailcart
//! login` stores the refresh token beside the database.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Who issues the tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OAuthProvider {
    Google,
    Microsoft,
    /// Any other: the endpoints and scopes are given in the config.
    Custom,
}

impl OAuthProvider {
    pub fn name(self) -> &'static str {
        match self {
            OAuthProvider::Google => "google",
            OAuthProvider::Microsoft => "microsoft",
            OAuthProvider::Custom => "custom",
        }
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2 {
    pub provider: OAuthProvider,
    pub client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    client_secret_env: Option<String>,
    #[serde(default)]
    pub(crate) client_secret_file: Option<PathBuf>,
    /// Microsoft: the directory (tenant) ID or domain; "common" takes work and personal
    /// accounts, "organizations" only work ones, "consumers" only Outlook.com.
    #[serde(default = "default_tenant")]
    pub tenant: String,
    /// Custom only (a preset's own endpoints are not overridden).
    #[serde(default)]
    pub auth_url: Option<String>,
    #[serde(default)]
    pub token_url: Option<String>,
    #[serde(default)]
    pub device_url: Option<String>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

fn default_tenant() -> String {
    "common".into()
}

impl std::fmt::Debug for OAuth2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth2")
            .field("provider", &self.provider)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

/// Where to ask for tokens, and for what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The authorisation-code flow's page; None: device flow only.
    pub auth_url: Option<String>,
    pub token_url: String,
    /// RFC 8628 device authorisation; None: the authorisation-code flow with PKCE.
    pub device_url: Option<String>,
    pub scopes: Vec<String>,
}

impl OAuth2 {
    /// The client secret, read now from wherever it is kept; None when none is configured
    /// (a public client, as Microsoft's device flow allows). The error names the place only.
    pub fn client_secret(&self) -> Result<Option<String>, String> {
        if let Some(s) = &self.client_secret {
            return Ok(Some(s.clone()));
        }
        if let Some(var) = &self.client_secret_env {
            return std::env::var(var)
                .map(Some)
                .map_err(|_| format!("environment variable {var} is not set"));
        }
        if let Some(path) = &self.client_secret_file {
            return std::fs::read_to_string(path)
                .map(|s| Some(s.trim_end_matches(['\r', '\n']).to_string()))
                .map_err(|e| format!("cannot read client secret file {}: {e}", path.display()));
        }
        Ok(None)
    }

    pub(crate) fn resolve_paths(&mut self, base: &Path) {
        if let Some(p) = self.client_secret_file.as_mut()
            && p.is_relative()
        {
            *p = base.join(&*p);
        }
    }

    pub fn endpoints(&self) -> Endpoints {
        match self.provider {
            OAuthProvider::Google => Endpoints {
                auth_url: Some("https://accounts.google.com/o/oauth2/v2/auth".into()),
                token_url: "https://oauth2.googleapis.com/token".into(),
                // Google's device flow does not allow the Gmail scope.
                device_url: None,
                scopes: vec!["https://mail.google.com/".into()],
            },
            OAuthProvider::Microsoft => {
                let base = format!(
                    "https://login.microsoftonline.com/{}/oauth2/v2.0",
                    self.tenant
                );
                Endpoints {
                    auth_url: Some(format!("{base}/authorize")),
                    token_url: format!("{base}/token"),
                    device_url: Some(format!("{base}/devicecode")),
                    scopes: vec![
                        "https://outlook.office.com/IMAP.AccessAsUser.All".into(),
                        "https://outlook.office.com/SMTP.Send".into(),
                        "offline_access".into(),
                    ],
                }
            }
            OAuthProvider::Custom => Endpoints {
                auth_url: self.auth_url.clone(),
                token_url: self.token_url.clone().unwrap_or_default(),
                device_url: self.device_url.clone(),
                scopes: self.scopes.clone().unwrap_or_default(),
            },
        }
    }

    /// Problems as (key, message), the config's way.
    pub(crate) fn validate(&self) -> Result<(), (String, String)> {
        let bad = |key: &str, message: String| Err((format!("oauth2.{key}"), message));
        if self.client_id.trim().is_empty() {
            return bad(
                "client_id",
                "is required (from the app registration)".into(),
            );
        }
        let sources = usize::from(self.client_secret.is_some())
            + usize::from(self.client_secret_env.is_some())
            + usize::from(self.client_secret_file.is_some());
        if sources > 1 {
            return bad(
                "client_secret",
                "give at most one of client_secret, client_secret_env, client_secret_file".into(),
            );
        }
        if self.provider == OAuthProvider::Google && sources == 0 {
            return bad(
                "client_secret",
                "Google's desktop-app clients come with a client secret: give client_secret, client_secret_env or client_secret_file".into(),
            );
        }
        let custom_only = [
            ("auth_url", self.auth_url.is_some()),
            ("token_url", self.token_url.is_some()),
            ("device_url", self.device_url.is_some()),
            ("scopes", self.scopes.is_some()),
        ];
        match self.provider {
            OAuthProvider::Custom => {
                if self.token_url.is_none() {
                    return bad("token_url", "is required with provider = \"custom\"".into());
                }
                if self.auth_url.is_none() && self.device_url.is_none() {
                    return bad(
                        "auth_url",
                        "provider = \"custom\" needs auth_url (authorisation-code flow) or device_url (device flow)".into(),
                    );
                }
                for (key, url) in [
                    ("auth_url", &self.auth_url),
                    ("token_url", &self.token_url),
                    ("device_url", &self.device_url),
                ] {
                    if let Some(url) = url
                        && let Err(m) = check_url(url)
                    {
                        return bad(key, m);
                    }
                }
                if self.scopes.as_ref().is_none_or(|s| s.is_empty()) {
                    return bad(
                        "scopes",
                        "provider = \"custom\" needs the scopes that allow IMAP and SMTP".into(),
                    );
                }
            }
            preset => {
                if let Some((key, _)) = custom_only.iter().find(|(_, set)| *set) {
                    return bad(
                        key,
                        format!(
                            "is set by provider = {:?}; use provider = \"custom\" to give your own",
                            preset.name()
                        ),
                    );
                }
            }
        }
        if self.provider == OAuthProvider::Microsoft
            && (self.tenant.is_empty()
                || !self
                    .tenant
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.')))
        {
            return bad(
                "tenant",
                "must be \"common\", \"organizations\", \"consumers\", a tenant ID or a domain"
                    .into(),
            );
        }
        Ok(())
    }
}

/// https anywhere; plain http only to this machine (a token sent in clear over a network is a
/// mailbox given away).
fn check_url(url: &str) -> Result<(), String> {
    let rest = if let Some(r) = url.strip_prefix("https://") {
        r
    } else if let Some(r) = url.strip_prefix("http://") {
        let host = r.split(['/', '?']).next().unwrap_or("");
        let host = match host.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => host,
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if !super::is_loopback(host) {
            return Err(format!(
                "{url:?}: plain http is allowed only to loopback; use https"
            ));
        }
        r
    } else {
        return Err(format!("{url:?} is not an http(s) URL"));
    };
    if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
        return Err(format!("{url:?} is not a usable URL"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Config;

    const EXAMPLE: &str = include_str!("../../config.example.toml");
    const IMAP: &str = "\n[imap]\nhost = \"127.0.0.1\"\nport = 143\ntls = \"none\"\nauth = \"oauth2\"\nusername = \"u@x.test\"\n";

    fn load(oauth2: &str) -> Result<Config, String> {
        Config::from_toml(
            &format!("{EXAMPLE}{IMAP}[oauth2]\n{oauth2}"),
            Path::new("c.toml"),
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn the_provider_section_is_checked_key_by_key() {
        let custom = "provider = \"custom\"\nclient_id = \"mailcart\"\ntoken_url = \"http://127.0.0.1:9/token\"\ndevice_url = \"http://127.0.0.1:9/device\"\nscopes = [\"mail\"]\n";
        let c = load(custom).unwrap();
        let e = c.oauth2.unwrap().endpoints();
        assert_eq!(e.token_url, "http://127.0.0.1:9/token");
        assert_eq!(e.auth_url, None);
        for (from, to, key) in [
            (
                "token_url = \"http://127.0.0.1:9/token\"\n",
                "",
                "oauth2.token_url",
            ),
            (
                "http://127.0.0.1:9/token",
                "http://idp.example.com/token",
                "oauth2.token_url",
            ),
            (
                "http://127.0.0.1:9/token",
                "ftp://127.0.0.1/token",
                "oauth2.token_url",
            ),
            (
                "device_url = \"http://127.0.0.1:9/device\"\n",
                "",
                "oauth2.auth_url",
            ),
            ("scopes = [\"mail\"]\n", "scopes = []\n", "oauth2.scopes"),
            (
                "client_id = \"mailcart\"",
                "client_id = \"\"",
                "oauth2.client_id",
            ),
            (
                "client_id = \"mailcart\"",
                "client_id = \"m\"\nclient_secret = \"a\"\nclient_secret_env = \"B\"",
                "oauth2.client_secret",
            ),
            (
                "client_id = \"mailcart\"",
                "client_id = \"m\"\nclient_secrte = \"a\"",
                "client_secrte",
            ),
        ] {
            let text = custom.replace(from, to);
            assert_ne!(text, custom);
            let err = load(&text).unwrap_err();
            assert!(err.contains(key), "{to}: {err}");
        }
        let err = load("provider = \"google\"\nclient_id = \"x\"\n").unwrap_err();
        assert!(err.contains("oauth2.client_secret"), "{err}");
        let err = load("provider = \"google\"\nclient_id = \"x\"\nclient_secret = \"s\"\ntoken_url = \"https://x.example/t\"\n").unwrap_err();
        assert!(
            err.contains("oauth2.token_url") && err.contains("custom"),
            "{err}"
        );
        let err =
            load("provider = \"microsoft\"\nclient_id = \"x\"\ntenant = \"a/b\"\n").unwrap_err();
        assert!(err.contains("oauth2.tenant"), "{err}");
    }

    #[test]
    fn the_client_secret_is_read_from_its_place_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), "GOCSPX-s3cret\n").unwrap();
        std::fs::write(
            dir.path().join("c.toml"),
            format!(
                "{EXAMPLE}{IMAP}[oauth2]\nprovider = \"google\"\nclient_id = \"x\"\nclient_secret_file = \"secret\"\n"
            ),
        )
        .unwrap();
        let c = Config::load(&dir.path().join("c.toml")).unwrap();
        let o = c.oauth2.as_ref().unwrap();
        assert_eq!(o.client_secret().unwrap().as_deref(), Some("GOCSPX-s3cret"));
        assert!(!format!("{c:?}").contains("s3cret"));
        // The token store sits beside the database, wherever the command runs.
        let setup = c.oauth().unwrap();
        assert!(
            setup.token_file.starts_with(dir.path()),
            "{:?}",
            setup.token_file
        );
    }
}
