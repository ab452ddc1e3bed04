//! The two SASL mechanisms that carry an OAuth2 bearer token: Google's XOAUTH2 (which Gmail,
//! Microsoft 365 and Dovecot take) and OAUTHBEARER (RFC 7628, the standard one).

use std::collections::BTreeSet;

use super::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    XOAuth2,
    OAuthBearer,
}

impl Mechanism {
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }
}

/// XOAUTH2 where the server offers it (the more widely deployed), else OAUTHBEARER.
pub fn choose_mechanism(caps: &BTreeSet<String>) -> Result<Mechanism, String> {
    if caps.contains("AUTH=XOAUTH2") {
        Ok(Mechanism::XOAuth2)
    } else if caps.contains("AUTH=OAUTHBEARER") {
        Ok(Mechanism::OAuthBearer)
    } else {
        let offered: Vec<&str> = caps
            .iter()
            .filter_map(|c| c.strip_prefix("AUTH="))
            .collect();
        Err(format!(
            "the server offers no XOAUTH2 or OAUTHBEARER (it offers {}): it does not take OAuth2 tokens; use auth = \"password\" or another server",
            if offered.is_empty() {
                "no AUTH mechanism at all".to_string()
            } else {
                offered.join(", ")
            }
        ))
    }
}

/// XOAUTH2's one message: `user=U ^A auth=Bearer T ^A ^A`. After a refusal the server sends
/// an error (JSON) as a challenge, which is answered with an empty line to end the exchange.
pub struct XOAuth2 {
    user: String,
    token: Secret,
    sent: bool,
}

impl XOAuth2 {
    pub fn new(user: &str, token: &Secret) -> XOAuth2 {
        XOAuth2 {
            user: user.to_string(),
            token: token.clone(),
            sent: false,
        }
    }

    pub fn initial(&self) -> String {
        format!(
            "user={}\x01auth=Bearer {}\x01\x01",
            self.user,
            self.token.expose()
        )
    }
}

impl async_imap::Authenticator for XOAuth2 {
    type Response = String;
    fn process(&mut self, _challenge: &[u8]) -> String {
        if std::mem::replace(&mut self.sent, true) {
            String::new()
        } else {
            self.initial()
        }
    }
}

/// OAUTHBEARER (RFC 7628 section 3.1): a GS2 header naming the user, then host, port and the
/// token. After a refusal the server sends its error as a challenge; the answer is a lone ^A.
pub struct OAuthBearer {
    user: String,
    host: String,
    port: u16,
    token: Secret,
    sent: bool,
}

impl OAuthBearer {
    pub fn new(user: &str, host: &str, port: u16, token: &Secret) -> OAuthBearer {
        OAuthBearer {
            user: user.to_string(),
            host: host.to_string(),
            port,
            token: token.clone(),
            sent: false,
        }
    }

    pub fn initial(&self) -> String {
        // RFC 5801: ',' and '=' in the authorisation identity are escaped.
        let user = self.user.replace('=', "=3D").replace(',', "=2C");
        format!(
            "n,a={user},\x01host={}\x01port={}\x01auth=Bearer {}\x01\x01",
            self.host,
            self.port,
            self.token.expose()
        )
    }
}

impl async_imap::Authenticator for OAuthBearer {
    type Response = String;
    fn process(&mut self, _challenge: &[u8]) -> String {
        if std::mem::replace(&mut self.sent, true) {
            "\x01".to_string()
        } else {
            self.initial()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_imap::Authenticator;

    fn caps(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_mechanism_follows_what_the_server_offers() {
        let both = caps(&[
            "IMAP4REV1",
            "AUTH=PLAIN",
            "AUTH=XOAUTH2",
            "AUTH=OAUTHBEARER",
        ]);
        assert_eq!(choose_mechanism(&both), Ok(Mechanism::XOAuth2));
        let bearer = caps(&["AUTH=OAUTHBEARER"]);
        assert_eq!(choose_mechanism(&bearer), Ok(Mechanism::OAuthBearer));
        let err = choose_mechanism(&caps(&["AUTH=PLAIN", "AUTH=LOGIN"])).unwrap_err();
        assert!(
            err.starts_with("the server offers no XOAUTH2 or OAUTHBEARER"),
            "{err}"
        );
        assert!(err.contains("LOGIN, PLAIN"), "{err}");
    }

    #[test]
    fn the_messages_are_as_the_specifications_write_them() {
        let t = Secret::new("vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg==".into());
        let mut x = XOAuth2::new("someuser@example.com", &t);
        assert_eq!(
            x.process(b""),
            "user=someuser@example.com\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg==\x01\x01"
        );
        assert_eq!(x.process(b"{\"status\":\"401\"}"), "");
        // RFC 7628 section 4.1's example, with a user in the GS2 header.
        let mut b = OAuthBearer::new("user@example.com", "server.example.com", 143, &t);
        assert_eq!(
            b.process(b""),
            "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg==\x01\x01"
        );
        assert_eq!(b.process(b"{\"status\":\"invalid_token\"}"), "\x01");
        assert!(
            OAuthBearer::new("a,b=c", "h", 1, &t)
                .initial()
                .starts_with("n,a=a=2Cb=3Dc,")
        );
    }
}
