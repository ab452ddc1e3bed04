//! What a message may be before it is parsed: its size, how many multipart/ and message/
//! parts it nests, how many parts it has. Checked by a linear scan of the raw bytes, because
//! mail-parser builds a nested message per message/rfc822 level (100,000 levels overflow the
//! stack: an abort, not a panic) and its time grows with the parts.
//!
//! mail-parser reads far more leniently than the standards ask (comments and quotes in a
//! Content-Type, `--boundary` in the middle of a line, headers starting right after one), so
//! every count here is an upper bound of what it will see, never a guess at the structure.

use aho_corasick::{AhoCorasick, MatchKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageLimits {
    pub max_bytes: usize,
    /// Content-Type fields naming a multipart or message type, anywhere in the message: the
    /// depth mail-parser can reach is at most twice this (a digest's parts are messages
    /// without saying so).
    pub max_depth: usize,
    pub max_parts: usize,
}

impl Default for MessageLimits {
    fn default() -> Self {
        MessageLimits {
            max_bytes: 25 * 1024 * 1024,
            max_depth: 100,
            max_parts: 1_000,
        }
    }
}

/// `Err(reason)` when the message must not be parsed; the reason is for the person who
/// looks at it and names the configuration key.
pub fn check(raw: &[u8], limits: &MessageLimits) -> Result<(), String> {
    if raw.len() > limits.max_bytes {
        return Err(format!(
            "message of {} bytes is over the limit of {} bytes ([limits] max_message_bytes)",
            raw.len(),
            limits.max_bytes
        ));
    }
    let mut containers = 0usize;
    let mut boundaries: Vec<Vec<u8>> = Vec::new();
    for value in content_type_values(raw) {
        if !CONTAINER.is_match(value) {
            continue;
        }
        containers += 1;
        if containers > limits.max_depth {
            return Err(format!(
                "more than {} nested multipart/ or message/ parts ([limits] max_mime_depth)",
                limits.max_depth
            ));
        }
        if let Some(b) = boundary_prefix(value)
            && !boundaries.contains(&b)
        {
            boundaries.push(b);
        }
    }
    // Every part mail-parser makes starts at a `--boundary` of a declared boundary (matched
    // anywhere, as a prefix) or is a message/ part's nested message.
    let too_many = || {
        Err(format!(
            "more than {} MIME parts ([limits] max_mime_parts)",
            limits.max_parts
        ))
    };
    let mut parts = 1 + containers;
    if parts > limits.max_parts {
        return too_many();
    }
    if !boundaries.is_empty() {
        let delimiters: Vec<Vec<u8>> = boundaries
            .iter()
            .map(|b| [b"--".as_slice(), b].concat())
            .collect();
        let finder = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&delimiters)
            .map_err(|e| format!("boundaries could not be searched: {e}"))?;
        for _ in finder.find_iter(raw) {
            parts += 1;
            if parts > limits.max_parts {
                return too_many();
            }
        }
    }
    Ok(())
}

static CONTENT_TYPE: std::sync::LazyLock<AhoCorasick> = std::sync::LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(["content-type"])
        .expect("a fixed pattern")
});

static CONTAINER: std::sync::LazyLock<AhoCorasick> = std::sync::LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(["multipart", "message"])
        .expect("fixed patterns")
});

/// The value of every `Content-Type` field, wherever it stands (mail-parser starts a part's
/// headers right after a boundary, mid-line), unfolded as far as the field goes. Values do not
/// overlap, so the whole scan is linear.
fn content_type_values(raw: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut resume = 0;
    CONTENT_TYPE.find_iter(raw).filter_map(move |m| {
        if m.start() < resume {
            return None;
        }
        let mut i = m.end();
        while raw.get(i).is_some_and(|b| matches!(b, b' ' | b'\t')) {
            i += 1;
        }
        if raw.get(i) != Some(&b':') {
            return None;
        }
        let start = i + 1;
        let mut end = start;
        loop {
            match memchr::memchr(b'\n', &raw[end..]) {
                Some(n) => {
                    end += n + 1;
                    if !raw.get(end).is_some_and(|b| matches!(b, b' ' | b'\t')) {
                        break;
                    }
                }
                None => {
                    end = raw.len();
                    break;
                }
            }
        }
        resume = end;
        Some(&raw[start..end])
    })
}

/// The boundary a Content-Type value declares, or a prefix of it: a prefix finds every
/// delimiter the whole boundary would, so the part count stays an upper bound. Quoted strings
/// stop at an escape, RFC 2231 forms (`boundary*0=`, `boundary*=utf-8''...`) at their first
/// segment or percent sign.
fn boundary_prefix(value: &[u8]) -> Option<Vec<u8>> {
    let lower = value.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = memchr::memmem::find(&lower[from..], b"boundary") {
        let mut i = from + at + b"boundary".len();
        from = i;
        let mut extended = false;
        while let Some(b) = value.get(i) {
            match b {
                b'*' => extended = true,
                b'0'..=b'9' | b' ' | b'\t' | b'\r' | b'\n' => {}
                _ => break,
            }
            i += 1;
        }
        if value.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        while value
            .get(i)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        {
            i += 1;
        }
        let rest = &value[i..];
        let token: &[u8] = if let Some(quoted) = rest.strip_prefix(b"\"") {
            let end = quoted
                .iter()
                .position(|b| matches!(b, b'"' | b'\\' | b'\r' | b'\n'))
                .unwrap_or(quoted.len());
            &quoted[..end]
        } else {
            let end = rest
                .iter()
                .position(|b| matches!(b, b';' | b' ' | b'\t' | b'\r' | b'\n' | b'(' | b'"'))
                .unwrap_or(rest.len());
            &rest[..end]
        };
        let token = if extended {
            let after = memchr::memmem::find(token, b"''").map_or(token, |n| &token[n + 2..]);
            let end = memchr::memchr(b'%', after).unwrap_or(after.len());
            &after[..end]
        } else {
            token
        };
        if !token.is_empty() {
            return Some(token.to_vec());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(depth: usize, parts: usize) -> MessageLimits {
        MessageLimits {
            max_bytes: 1 << 20,
            max_depth: depth,
            max_parts: parts,
        }
    }

    #[test]
    fn size_is_checked_first() {
        let err = check(
            &[b'x'; 11],
            &MessageLimits {
                max_bytes: 10,
                ..limits(5, 5)
            },
        )
        .unwrap_err();
        assert!(
            err.contains("11 bytes") && err.contains("max_message_bytes"),
            "{err}"
        );
        assert!(
            check(
                &[b'x'; 10],
                &MessageLimits {
                    max_bytes: 10,
                    ..limits(5, 5)
                }
            )
            .is_ok()
        );
    }

    #[test]
    fn nesting_counts_the_lenient_spellings_mail_parser_reads() {
        // Each of these nests a message in mail-parser (checked by hand against 0.11).
        for field in [
            "Content-Type: message/rfc822",
            "content-type:message/RFC822",
            "Content-Type :message/rfc822",
            "Content-Type: (c) message/rfc822",
            "Content-Type: \"message/rfc822\"",
            "Content-Type:\r\n message/rfc822",
        ] {
            let raw = format!("From: a@b.test\r\n{}", format!("{field}\r\n\r\n").repeat(4));
            assert!(check(raw.as_bytes(), &limits(4, 100)).is_ok(), "{field}");
            let raw = format!("From: a@b.test\r\n{}", format!("{field}\r\n\r\n").repeat(5));
            let err = check(raw.as_bytes(), &limits(4, 100)).unwrap_err();
            assert!(err.contains("max_mime_depth"), "{field}: {err}");
        }
        // A header right after a boundary in the middle of a line is still seen.
        let raw = "Content-Type: multipart/mixed; boundary=b\r\n\r\nx--b Content-Type: message/rfc822\r\n\r\n";
        assert!(check(raw.as_bytes(), &limits(1, 100)).is_err());
        assert!(check(raw.as_bytes(), &limits(2, 100)).is_ok());
    }

    #[test]
    fn parts_are_counted_by_their_delimiters() {
        let message = |body: &str| {
            let mut raw =
                String::from("Content-Type: multipart/mixed;\r\n boundary=\"=_b\"\r\n\r\n");
            for _ in 0..10 {
                raw.push_str(&format!(
                    "--=_b\r\nContent-Type: text/plain\r\n\r\n{body}\r\n"
                ));
            }
            raw + "--=_b--\r\n"
        };
        // 1 message + 1 container + 11 delimiters.
        let raw = message("2 x Blue Mug");
        assert!(check(raw.as_bytes(), &limits(5, 13)).is_ok());
        let err = check(raw.as_bytes(), &limits(5, 12)).unwrap_err();
        assert!(err.contains("max_mime_parts"), "{err}");
        // Dashes that are no delimiter of a declared boundary do not count.
        let dashes = message("-- \r\n-----------\r\n--=_");
        assert!(check(dashes.as_bytes(), &limits(5, 13)).is_ok());
    }

    #[test]
    fn boundary_prefixes() {
        let b = |v: &str| boundary_prefix(v.as_bytes()).map(|b| String::from_utf8(b).unwrap());
        assert_eq!(b(" multipart/mixed; boundary=abc"), Some("abc".into()));
        assert_eq!(
            b(" multipart/mixed; BOUNDARY = \"a b\"; x=y"),
            Some("a b".into())
        );
        assert_eq!(b(" multipart/mixed; boundary=\"a\\\"b\""), Some("a".into()));
        assert_eq!(
            b(" multipart/mixed; boundary*0=\"ab\"; boundary*1=cd"),
            Some("ab".into())
        );
        assert_eq!(
            b(" multipart/mixed; boundary*=utf-8''x%20y"),
            Some("x".into())
        );
        assert_eq!(b(" multipart/mixed; boundary="), None);
        assert_eq!(b(" multipart/mixed"), None);
    }
}
