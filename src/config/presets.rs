//! Mail providers' documented server settings, so that `[imap] provider = "gmail"` is enough.
//! Every value a config sets itself wins over the preset.

use serde::Deserialize;

use super::{AuthMethod, TlsMode};

/// A mail provider whose servers mailcart knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailProvider {
    /// Gmail and Google Workspace.
    Gmail,
    /// Outlook.com and Microsoft 365 (Exchange Online).
    Outlook,
    Fastmail,
    Icloud,
    Yahoo,
}

/// One server's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    pub host: &'static str,
    pub port: u16,
    pub tls: TlsMode,
    pub auth: AuthMethod,
}

impl MailProvider {
    /// The incoming server, as each provider documents it for IMAP clients.
    pub fn imap(self) -> Preset {
        let (host, auth) = match self {
            MailProvider::Gmail => ("imap.gmail.com", AuthMethod::OAuth2),
            MailProvider::Outlook => ("outlook.office365.com", AuthMethod::OAuth2),
            // These three take an app password (their web settings make one); OAuth2 client
            // registration is not open to small apps there.
            MailProvider::Fastmail => ("imap.fastmail.com", AuthMethod::Password),
            MailProvider::Icloud => ("imap.mail.me.com", AuthMethod::Password),
            MailProvider::Yahoo => ("imap.mail.yahoo.com", AuthMethod::Password),
        };
        Preset {
            host,
            port: 993,
            tls: TlsMode::Tls,
            auth,
        }
    }

    /// The outgoing server. Microsoft and Apple document only submission with STARTTLS on 587.
    pub fn smtp(self) -> Preset {
        let (host, port, tls, auth) = match self {
            MailProvider::Gmail => ("smtp.gmail.com", 465, TlsMode::Tls, AuthMethod::OAuth2),
            MailProvider::Outlook => (
                "smtp.office365.com",
                587,
                TlsMode::Starttls,
                AuthMethod::OAuth2,
            ),
            MailProvider::Fastmail => {
                ("smtp.fastmail.com", 465, TlsMode::Tls, AuthMethod::Password)
            }
            MailProvider::Icloud => (
                "smtp.mail.me.com",
                587,
                TlsMode::Starttls,
                AuthMethod::Password,
            ),
            MailProvider::Yahoo => (
                "smtp.mail.yahoo.com",
                465,
                TlsMode::Tls,
                AuthMethod::Password,
            ),
        };
        Preset {
            host,
            port,
            tls,
            auth,
        }
    }

    /// The OAuth2 provider whose tokens this mail provider takes, when there is one.
    pub fn oauth2(self) -> Option<super::oauth2::OAuthProvider> {
        match self {
            MailProvider::Gmail => Some(super::oauth2::OAuthProvider::Google),
            MailProvider::Outlook => Some(super::oauth2::OAuthProvider::Microsoft),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{AuthMethod, Config};

    const EXAMPLE: &str = include_str!("../../config.example.toml");
    const GOOGLE: &str = "\n[oauth2]\nprovider = \"google\"\nclient_id = \"id.apps.googleusercontent.com\"\nclient_secret_env = \"MC_SECRET\"\n";

    fn load(extra: &str) -> Result<Config, String> {
        Config::from_toml(&format!("{EXAMPLE}{extra}"), Path::new("c.toml"))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_provider_fills_in_the_servers() {
        let c = load(&format!(
            "\n[imap]\nprovider = \"gmail\"\nusername = \"shop@gmail.com\"\n[smtp]\nprovider = \"gmail\"\nusername = \"shop@gmail.com\"\n{GOOGLE}"
        ))
        .unwrap();
        let imap = c.imap.as_ref().unwrap();
        assert_eq!(
            (imap.host.as_str(), imap.port, imap.tls),
            ("imap.gmail.com", 993, TlsMode::Tls)
        );
        assert_eq!(imap.auth, AuthMethod::OAuth2);
        let smtp = c.smtp.as_ref().unwrap();
        assert_eq!(
            (smtp.host.as_str(), smtp.port, smtp.tls),
            ("smtp.gmail.com", 465, TlsMode::Tls)
        );
        assert!(imap.oauth.is_some() && smtp.oauth.is_some());
        let setup = c.oauth().unwrap();
        assert!(
            setup
                .token_file
                .to_string_lossy()
                .ends_with(".oauth2-token")
        );

        let c = load(
            "\n[imap]\nprovider = \"outlook\"\nusername = \"shop@contoso.com\"\n[smtp]\nprovider = \"outlook\"\nusername = \"shop@contoso.com\"\n[oauth2]\nprovider = \"microsoft\"\nclient_id = \"00000000-0000-0000-0000-000000000000\"\ntenant = \"contoso.onmicrosoft.com\"\n",
        )
        .unwrap();
        let smtp = c.smtp.as_ref().unwrap();
        assert_eq!(
            (smtp.host.as_str(), smtp.port, smtp.tls),
            ("smtp.office365.com", 587, TlsMode::Starttls)
        );
        assert_eq!(c.imap.as_ref().unwrap().host, "outlook.office365.com");
        let e = c.oauth2.as_ref().unwrap().endpoints();
        assert_eq!(
            e.device_url.as_deref(),
            Some(
                "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/devicecode"
            )
        );
        assert!(e.scopes.iter().any(|s| s == "offline_access"));
    }

    #[test]
    fn keys_set_in_the_file_win_over_the_preset() {
        let c = load(
            "\n[imap]\nprovider = \"fastmail\"\nport = 1993\nusername = \"u@fastmail.com\"\npassword = \"app\"\n[smtp]\nprovider = \"yahoo\"\nhost = \"smtp.example.org\"\ntls = \"starttls\"\nport = 587\n",
        )
        .unwrap();
        let imap = c.imap.unwrap();
        assert_eq!((imap.host.as_str(), imap.port), ("imap.fastmail.com", 1993));
        assert_eq!(imap.auth, AuthMethod::Password);
        let smtp = c.smtp.unwrap();
        assert_eq!(
            (smtp.host.as_str(), smtp.port, smtp.tls),
            ("smtp.example.org", 587, TlsMode::Starttls)
        );
        // Gmail with a password (an app password) is allowed when said so.
        let c = load(
            "\n[imap]\nprovider = \"gmail\"\nauth = \"password\"\nusername = \"u@gmail.com\"\npassword_env = \"X\"\n",
        )
        .unwrap();
        assert_eq!(c.imap.unwrap().auth, AuthMethod::Password);
    }

    #[test]
    fn every_provider_has_documented_ports() {
        for p in [
            MailProvider::Gmail,
            MailProvider::Outlook,
            MailProvider::Fastmail,
            MailProvider::Icloud,
            MailProvider::Yahoo,
        ] {
            assert_eq!(p.imap().port, 993, "{p:?}");
            assert_eq!(p.imap().tls, TlsMode::Tls);
            let s = p.smtp();
            assert!(
                (s.port, s.tls) == (465, TlsMode::Tls)
                    || (s.port, s.tls) == (587, TlsMode::Starttls),
                "{p:?}"
            );
        }
    }

    #[test]
    fn mistakes_are_named() {
        for (extra, key) in [
            (
                "\n[imap]\nusername = \"u\"\npassword = \"p\"\n",
                "imap.host",
            ),
            (
                "\n[imap]\nhost = \"h.example\"\nusername = \"u\"\npassword = \"p\"\n",
                "imap.port",
            ),
            (
                "\n[imap]\nprovider = \"gmail\"\nusername = \"u\"\n",
                "oauth2",
            ),
            (
                &format!(
                    "\n[imap]\nprovider = \"gmail\"\nusername = \"u\"\npassword = \"p\"\n{GOOGLE}"
                ),
                "imap.password",
            ),
            (
                &format!("\n[smtp]\nprovider = \"gmail\"\n{GOOGLE}"),
                "smtp.username",
            ),
            (
                "\n[imap]\nprovider = \"hotmale\"\nusername = \"u\"\n",
                "hotmale",
            ),
            (
                "\n[imap]\nprovider = \"gmail\"\nusername = \"u\"\n[oauth2]\nprovider = \"microsoft\"\nclient_id = \"x\"\n",
                "oauth2.provider",
            ),
        ] {
            let err = load(extra).unwrap_err();
            assert!(err.contains(key), "{extra}: {err}");
        }
    }
}
