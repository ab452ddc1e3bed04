//! NAMESPACE (RFC 2342): the personal namespace's prefix and separator, which decide how
//! folder names are spelled on the server (`super::folders`).

use std::time::Duration;

use super::ImapError;
use super::net::MailStream;

/// NAMESPACE, read by hand: async-imap's parser has no NAMESPACE response and would take
/// it for a broken stream. Sent through async-imap (which writes and flushes it), answered
/// straight from the socket a byte at a time, so nothing after the tagged completion is
/// read from under async-imap's own buffer (which is empty between commands: the session
/// has no mailbox selected yet, so the server has nothing unsolicited to say).
pub(super) async fn ask(
    inner: &mut async_imap::Session<MailStream>,
    limit: Duration,
) -> Result<Option<(String, Option<char>)>, ImapError> {
    use tokio::io::AsyncReadExt;
    const TAG: &str = "MCNS1";
    const MAX: usize = 64 * 1024;
    let run = async {
        inner
            .run_command_untagged(&format!("{TAG} NAMESPACE"))
            .await?;
        let stream = inner.get_mut();
        let mut found = None;
        let mut total = 0usize;
        loop {
            let mut line = Vec::new();
            // A line, with any literal's bytes taken into it.
            loop {
                let b = stream.read_u8().await?;
                line.push(b);
                total += 1;
                if total > MAX {
                    return Err(ImapError::Protocol(
                        "the answer to NAMESPACE is too long".into(),
                    ));
                }
                if line.ends_with(b"}\r\n")
                    && let Some(open) = line.iter().rposition(|&c| c == b'{')
                    && let Ok(n) = std::str::from_utf8(&line[open + 1..line.len() - 3])
                        .unwrap_or("")
                        .trim_end_matches('+')
                        .parse::<usize>()
                {
                    if total + n > MAX {
                        return Err(ImapError::Protocol(
                            "the answer to NAMESPACE is too long".into(),
                        ));
                    }
                    let mut body = vec![0; n];
                    stream.read_exact(&mut body).await?;
                    total += n;
                    line.extend_from_slice(&body);
                    continue;
                }
                if line.ends_with(b"\r\n") {
                    break;
                }
            }
            let text = &line[..line.len() - 2];
            if let Some(data) = strip_prefix_ci(text, b"* NAMESPACE ") {
                found = Some(personal_namespace(data).map_err(|e| {
                    ImapError::Protocol(format!("cannot read the NAMESPACE answer: {e}"))
                })?);
            } else if let Some(status) = strip_prefix_ci(text, format!("{TAG} ").as_bytes()) {
                if status.len() >= 2 && status[..2].eq_ignore_ascii_case(b"OK") {
                    return Ok(found.flatten());
                }
                // NO or BAD: the server has no usable NAMESPACE after all.
                return Ok(None);
            } else if strip_prefix_ci(text, b"* BYE").is_some() {
                return Err(ImapError::Closed(format!(
                    ": {}",
                    String::from_utf8_lossy(text)
                )));
            }
        }
    };
    match tokio::time::timeout(limit, run).await {
        Ok(r) => r,
        Err(_) => Err(ImapError::Timeout {
            what: "before NAMESPACE was answered".into(),
            secs: limit.as_secs(),
        }),
    }
}

/// The first personal namespace (prefix, separator) of an untagged NAMESPACE response's
/// data (what follows `* NAMESPACE `): None where the server announced none (NIL).
pub fn personal_namespace(data: &[u8]) -> Result<Option<(String, Option<char>)>, String> {
    let mut t = Tokens { s: data, at: 0 };
    match t.next()? {
        Token::Nil => return Ok(None),
        Token::Open => {}
        other => return Err(format!("expected ( or NIL, found {other:?}")),
    }
    // The first namespace of the personal list: ( prefix delimiter *extension )
    match t.next()? {
        Token::Open => {}
        other => return Err(format!("expected (, found {other:?}")),
    }
    let prefix = match t.next()? {
        Token::Str(s) => s,
        other => return Err(format!("expected the prefix, found {other:?}")),
    };
    let delimiter = match t.next()? {
        Token::Nil => None,
        Token::Str(s) => {
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Some(c),
                _ => return Err(format!("the separator {s:?} is not one character")),
            }
        }
        other => return Err(format!("expected the separator, found {other:?}")),
    };
    Ok(Some((prefix, delimiter)))
}

#[derive(Debug)]
enum Token {
    Open,
    Close,
    Nil,
    Str(String),
}

/// Just enough of IMAP's lexical rules for NAMESPACE: parentheses, NIL, quoted strings and
/// literals (`{n}` CRLF and n bytes).
struct Tokens<'a> {
    s: &'a [u8],
    at: usize,
}

impl Tokens<'_> {
    fn next(&mut self) -> Result<Token, String> {
        while self.s.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
        let Some(&b) = self.s.get(self.at) else {
            return Err("the response ended early".into());
        };
        self.at += 1;
        match b {
            b'(' => Ok(Token::Open),
            b')' => Ok(Token::Close),
            b'"' => {
                let mut out = Vec::new();
                loop {
                    match self.s.get(self.at) {
                        None => return Err("a quoted string is never closed".into()),
                        Some(b'"') => {
                            self.at += 1;
                            break;
                        }
                        Some(b'\\') => {
                            let Some(&c) = self.s.get(self.at + 1) else {
                                return Err("a quoted string is never closed".into());
                            };
                            out.push(c);
                            self.at += 2;
                        }
                        Some(&c) => {
                            out.push(c);
                            self.at += 1;
                        }
                    }
                }
                Ok(Token::Str(String::from_utf8_lossy(&out).into_owned()))
            }
            b'{' => {
                let close = self.s[self.at..]
                    .iter()
                    .position(|&c| c == b'}')
                    .ok_or("a literal's length is never closed")?;
                let len: usize = std::str::from_utf8(&self.s[self.at..self.at + close])
                    .ok()
                    .and_then(|n| n.trim_end_matches('+').parse().ok())
                    .ok_or("a literal's length is not a number")?;
                let start = self.at + close + 1;
                let start = if self.s[start..].starts_with(b"\r\n") {
                    start + 2
                } else {
                    return Err("a literal's length is not followed by CRLF".into());
                };
                let body = self
                    .s
                    .get(start..start + len)
                    .ok_or("a literal is cut short")?;
                self.at = start + len;
                Ok(Token::Str(String::from_utf8_lossy(body).into_owned()))
            }
            _ => {
                let start = self.at - 1;
                while self
                    .s
                    .get(self.at)
                    .is_some_and(|c| !matches!(c, b' ' | b'(' | b')' | b'\r' | b'\n'))
                {
                    self.at += 1;
                }
                let word = String::from_utf8_lossy(&self.s[start..self.at]);
                if word.eq_ignore_ascii_case("NIL") {
                    Ok(Token::Nil)
                } else {
                    Err(format!("unexpected {word:?}"))
                }
            }
        }
    }
}

fn strip_prefix_ci<'a>(text: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    (text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_responses_of_real_servers() {
        let p = |s: &str| personal_namespace(s.as_bytes()).unwrap();
        // Dovecot (separator /), Gmail, Exchange Online.
        assert_eq!(p(r#"(("" "/")) NIL NIL"#), Some((String::new(), Some('/'))));
        // Stock Debian Dovecot with Maildir.
        assert_eq!(
            p(r##"(("" ".")) NIL (("#shared." "."))"##),
            Some((String::new(), Some('.')))
        );
        // Courier, Cyrus.
        assert_eq!(
            p(r##"(("INBOX." ".")) NIL (("#shared." "."))"##),
            Some(("INBOX.".into(), Some('.')))
        );
        // An extension after the separator; a NIL separator (Yahoo Japan); a literal prefix.
        assert_eq!(
            p(r#"(("" "/" "X-PARAM" ("FLAG1" "FLAG2"))) NIL NIL"#),
            Some((String::new(), Some('/')))
        );
        assert_eq!(p(r#"(("" NIL)) NIL NIL"#), Some((String::new(), None)));
        assert_eq!(
            p("(({6}\r\nINBOX. \".\")) NIL NIL"),
            Some(("INBOX.".into(), Some('.')))
        );
        assert_eq!(p("NIL NIL NIL"), None);
        assert_eq!(
            p(r#"(("a\"b" "/")) NIL NIL"#),
            Some(("a\"b".into(), Some('/')))
        );
        for bad in [
            "",
            "(",
            r#"(("" "//")) NIL NIL"#,
            "((\"x",
            "(({99}\r\nab",
            "FOO",
        ] {
            assert!(personal_namespace(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
