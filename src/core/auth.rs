//! Whether a message really comes from the domain in its From, by the verdict our own mail
//! server wrote into `Authentication-Results` (RFC 8601).
//!
//! Only the topmost header carrying our authserv-id counts: our server adds its header above
//! everything the sender wrote, so any header further down that claims our authserv-id was
//! written by someone else and is a forgery. A pass is `dkim=pass` with `header.d` the sender's
//! domain (or a parent of it: relaxed alignment) or `dmarc=pass` with `header.from` the
//! sender's domain. SPF alone is not enough: it vouches for the envelope, not the From line a
//! person reads.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", content = "why", rename_all = "snake_case")]
pub enum AuthVerdict {
    /// Our server checked the sender's domain and it passed (the method that passed).
    Pass(String),
    /// Why not.
    Fail(String),
}

impl AuthVerdict {
    pub fn passed(&self) -> bool {
        matches!(self, AuthVerdict::Pass(_))
    }
}

/// The verdict on `from_domain`, given the message's `Authentication-Results` values topmost
/// first and the authserv-id our server writes.
pub fn verify(headers: &[String], authserv_id: &str, from_domain: &str) -> AuthVerdict {
    let from_domain = from_domain.trim().to_ascii_lowercase();
    if from_domain.is_empty() {
        return AuthVerdict::Fail("the message has no sender domain".into());
    }
    let Some(ours) = headers
        .iter()
        .map(|h| parse(h))
        .find(|r| r.authserv_id.eq_ignore_ascii_case(authserv_id))
    else {
        return AuthVerdict::Fail(format!(
            "no Authentication-Results header from our server ({authserv_id})"
        ));
    };
    let aligned = |d: &str| {
        let d = d.trim_start_matches('@').to_ascii_lowercase();
        !d.is_empty() && (from_domain == d || from_domain.ends_with(&format!(".{d}")))
    };
    for m in &ours.methods {
        let pass = m.result.eq_ignore_ascii_case("pass");
        match m.method.as_str() {
            "dmarc"
                if pass
                    && m.prop("header.from")
                        .is_some_and(|d| d.eq_ignore_ascii_case(&from_domain)) =>
            {
                return AuthVerdict::Pass(format!("dmarc=pass header.from={from_domain}"));
            }
            "dkim" if pass && m.prop("header.d").is_some_and(aligned) => {
                return AuthVerdict::Pass(format!(
                    "dkim=pass header.d={}",
                    m.prop("header.d").unwrap_or_default()
                ));
            }
            _ => {}
        }
    }
    let seen: Vec<String> = ours
        .methods
        .iter()
        .map(|m| format!("{}={}", m.method, m.result))
        .collect();
    AuthVerdict::Fail(format!(
        "our server ({authserv_id}) found no DKIM or DMARC pass for {from_domain} (it says: {})",
        if seen.is_empty() {
            "nothing".to_string()
        } else {
            seen.join(", ")
        }
    ))
}

struct Results {
    authserv_id: String,
    methods: Vec<MethodResult>,
}

struct MethodResult {
    method: String,
    result: String,
    props: Vec<(String, String)>,
}

impl MethodResult {
    fn prop(&self, name: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `authserv-id [version]; method=result [reason=..] ptype.prop=value ...; ...`, comments
/// and quoting removed. Lenient: what cannot be read is left out, never guessed.
fn parse(value: &str) -> Results {
    let clean = strip_comments(value);
    let mut parts = clean.split(';');
    let authserv_id = parts
        .next()
        .and_then(|p| p.split_whitespace().next())
        .unwrap_or("")
        .to_string();
    let methods = parts
        .filter_map(|p| {
            let mut tokens = p.split_whitespace();
            let (method, result) = tokens.next()?.split_once('=')?;
            let method = method.split('/').next().unwrap_or(method);
            let props = tokens
                .filter_map(|t| t.split_once('='))
                .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
                .collect();
            Some(MethodResult {
                method: method.to_ascii_lowercase(),
                result: result.to_ascii_lowercase(),
                props,
            })
        })
        .collect();
    Results {
        authserv_id,
        methods,
    }
}

/// RFC 5322 comments (nested parentheses) out; quoted strings kept as they are.
fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0u32;
    let mut quoted = false;
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => {
                depth -= 1;
                out.push(' ');
            }
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The domain of an address, lowercased.
pub fn domain_of(email: &str) -> &str {
    email.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    const OURS: &str = "mx.lindenclay.test";

    #[test]
    fn a_real_pass_counts() {
        let real = h(&[
            "mx.lindenclay.test; dkim=pass (2048-bit key) header.d=paypal.example header.s=pp1 header.b=abc; spf=pass smtp.mailfrom=paypal.example; dmarc=pass (p=REJECT) header.from=paypal.example",
        ]);
        assert!(verify(&real, OURS, "paypal.example").passed());
        let dmarc_only = h(&["mx.lindenclay.test 1; dmarc=pass header.from=stripe.example"]);
        assert!(verify(&dmarc_only, OURS, "stripe.example").passed());
        // Relaxed alignment: a subdomain sender signed by its organisation's domain.
        let sub = h(&["mx.lindenclay.test; dkim=pass header.d=bank.example"]);
        assert!(verify(&sub, OURS, "alerts.bank.example").passed());
    }

    #[test]
    fn forgeries_and_failures_do_not() {
        // No header from our server at all.
        assert!(!verify(&h(&[]), OURS, "paypal.example").passed());
        let other_server = h(&["mx.evil.example; dkim=pass header.d=paypal.example"]);
        assert!(!verify(&other_server, OURS, "paypal.example").passed());
        // Ours on top says fail; a forged "pass" under our name further down is ignored.
        let forged_below = h(&[
            "mx.lindenclay.test; dkim=fail header.d=paypal.example; dmarc=fail header.from=paypal.example",
            "mx.lindenclay.test; dkim=pass header.d=paypal.example; dmarc=pass header.from=paypal.example",
        ]);
        let v = verify(&forged_below, OURS, "paypal.example");
        assert!(!v.passed(), "{v:?}");
        // Signed, but by someone else's domain.
        let wrong_domain = h(&["mx.lindenclay.test; dkim=pass header.d=paypa1.example"]);
        assert!(!verify(&wrong_domain, OURS, "paypal.example").passed());
        // A look-alike domain that merely ends in the real one's name.
        let suffix = h(&["mx.lindenclay.test; dkim=pass header.d=paypal.example"]);
        assert!(!verify(&suffix, OURS, "evilpaypal.example").passed());
        // SPF alone vouches for the envelope, not the From line.
        let spf = h(&["mx.lindenclay.test; spf=pass smtp.mailfrom=paypal.example"]);
        assert!(!verify(&spf, OURS, "paypal.example").passed());
        // A pass hidden in a comment is no pass.
        let comment = h(&["mx.lindenclay.test; dkim=none (dkim=pass header.d=paypal.example)"]);
        assert!(!verify(&comment, OURS, "paypal.example").passed());
        assert!(!verify(&suffix, OURS, "").passed());
    }
}
