//! Folder names as the server spells them. The config names folders with `/` between levels
//! (`mailcart/processed`); servers differ in the separator (`/` on Gmail and most Dovecots,
//! `.` on a stock Maildir Dovecot, Courier and Cyrus), in a prefix every personal folder
//! carries (`INBOX.` on Courier and Cyrus), and they want names outside ASCII in modified
//! UTF-7 (RFC 3501 5.1.3). The layout is learned at login (`super::namespace`).

use base64::Engine;
use base64::alphabet::Alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// How the server lays out the user's own folders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// What every personal folder's name starts with, e.g. "INBOX." (often empty).
    pub prefix: String,
    /// The hierarchy separator; None on a server that keeps folders flat.
    pub delimiter: Option<char>,
    /// Where the layout was learned.
    pub source: LayoutSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutSource {
    /// The personal namespace the server announced (RFC 2342).
    Namespace,
    /// `LIST "" ""` (the server has no NAMESPACE, or announced no personal namespace).
    List,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            prefix: String::new(),
            delimiter: Some('/'),
            source: LayoutSource::List,
        }
    }
}

impl Layout {
    /// The server's name for a folder the config names `logical` (levels separated by `/`,
    /// or by the server's own separator). INBOX is INBOX everywhere. The prefix is added
    /// unless the name already starts with it. Fails, in words, for a name the server
    /// cannot hold.
    pub fn server_name(&self, logical: &str) -> Result<String, String> {
        let name = logical.trim();
        if name.is_empty() {
            return Err("the name is empty".into());
        }
        if name.eq_ignore_ascii_case("INBOX") {
            return Ok("INBOX".into());
        }
        let levels: Vec<&str> = name
            .split(|c| c == '/' || Some(c) == self.delimiter)
            .collect();
        if levels.iter().any(|l| l.is_empty()) {
            return Err(format!(
                "{name:?} has an empty level (a leading, trailing or doubled separator)"
            ));
        }
        let Some(delim) = self.delimiter else {
            if levels.len() > 1 {
                return Err(format!(
                    "the server keeps folders flat (it has no hierarchy separator): name the folder without '/' (e.g. {:?})",
                    levels.join("-")
                ));
            }
            return Ok(format!("{}{}", self.prefix, encode(name)));
        };
        let mut levels: Vec<String> = levels.iter().map(|l| encode(l)).collect();
        // INBOX as the first level is always spelled INBOX, whatever case the config used.
        if levels[0].eq_ignore_ascii_case("INBOX") {
            levels[0] = "INBOX".into();
        }
        let joined = levels.join(&delim.to_string());
        let prefix_levels: Vec<&str> = self
            .prefix
            .strip_suffix(delim)
            .unwrap_or(&self.prefix)
            .split(delim)
            .filter(|l| !l.is_empty())
            .collect();
        let has_prefix = levels.len() > prefix_levels.len()
            && prefix_levels
                .iter()
                .zip(&levels)
                .all(|(p, l)| p == l || (p.eq_ignore_ascii_case("INBOX") && l == "INBOX"));
        if has_prefix || self.prefix.is_empty() {
            Ok(joined)
        } else {
            Ok(format!("{}{joined}", self.prefix))
        }
    }

    /// The layout in words, e.g. `prefix "INBOX.", separator "."`.
    pub fn describe(&self) -> String {
        let sep = match self.delimiter {
            Some(d) => format!("separator {:?}", d.to_string()),
            None => "no hierarchy".to_string(),
        };
        let how = match self.source {
            LayoutSource::Namespace => "from NAMESPACE",
            LayoutSource::List => "from LIST",
        };
        if self.prefix.is_empty() {
            format!("no prefix, {sep} ({how})")
        } else {
            format!("prefix {:?}, {sep} ({how})", self.prefix)
        }
    }
}

/// A server name as a person reads it: modified UTF-7 decoded, or as it stands where it is
/// not valid modified UTF-7.
pub fn display(server_name: &str) -> String {
    decode(server_name).unwrap_or_else(|_| server_name.to_string())
}

/// A folder named in the config, and its name on the server where that differs, decoded as a
/// mail client shows it.
pub fn shown(logical: &str, server_name: &str) -> String {
    let server = display(server_name);
    if logical == server {
        format!("{logical:?}")
    } else {
        format!("{logical:?} (on the server {server:?})")
    }
}

/// RFC 3501's modified BASE64: `,` for `/`, no padding.
const MUTF7: GeneralPurpose = GeneralPurpose::new(
    &match Alphabet::new("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,") {
        Ok(a) => a,
        Err(_) => panic!("the modified BASE64 alphabet is valid"),
    },
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

fn printable(c: char) -> bool {
    (' '..='~').contains(&c)
}

/// Modified UTF-7 (RFC 3501 5.1.3): printable ASCII stands for itself (`&` as `&-`), every
/// other run of characters is UTF-16BE in modified BASE64 between `&` and `-`.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run: Vec<u16> = Vec::new();
    let flush = |run: &mut Vec<u16>, out: &mut String| {
        if run.is_empty() {
            return;
        }
        let bytes: Vec<u8> = run.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        out.push_str(&MUTF7.encode(bytes));
        out.push('-');
        run.clear();
    };
    for c in text.chars() {
        if printable(c) {
            flush(&mut run, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut units = [0u16; 2];
            run.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Decode modified UTF-7, strictly: what RFC 3501 forbids (raw non-ASCII, an unterminated or
/// badly padded shift, a shift that spells printable ASCII, two shifts in a row) is an error.
pub fn decode(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut last_was_shift = false;
    while let Some(c) = rest.chars().next() {
        if c != '&' {
            if !printable(c) {
                return Err(format!("{c:?} is not allowed unencoded"));
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
            last_was_shift = false;
            continue;
        }
        let Some(end) = rest.find('-') else {
            return Err("a '&' shift is never closed with '-'".into());
        };
        let inner = &rest[1..end];
        rest = &rest[end + 1..];
        if inner.is_empty() {
            out.push('&');
            last_was_shift = false;
            continue;
        }
        if last_was_shift {
            return Err("two encoded runs in a row must be one".into());
        }
        let bytes = MUTF7
            .decode(inner)
            .map_err(|e| format!("bad modified BASE64 {inner:?}: {e}"))?;
        if bytes.len() % 2 != 0 {
            return Err(format!("{inner:?} is not whole UTF-16 units"));
        }
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .collect();
        let decoded =
            String::from_utf16(&units).map_err(|_| format!("{inner:?} is not valid UTF-16"))?;
        if decoded.chars().any(printable) {
            return Err(format!("{inner:?} encodes printable ASCII"));
        }
        out.push_str(&decoded);
        last_was_shift = true;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(prefix: &str, delimiter: Option<char>) -> Layout {
        Layout {
            prefix: prefix.into(),
            delimiter,
            source: LayoutSource::Namespace,
        }
    }

    #[test]
    fn rfc_3501_example_round_trips() {
        // RFC 3501 5.1.3: "~peter/mail/台北/日本語".
        let text = "~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}";
        let wire = "~peter/mail/&U,BTFw-/&ZeVnLIqe-";
        assert_eq!(encode(text), wire);
        assert_eq!(decode(wire).unwrap(), text);
    }

    #[test]
    fn rfc_3501_forbidden_forms_are_refused() {
        // "&Jjo!" (no closing '-') and "&U,BTF2XlZyyKng-" (two runs that must be one) are the
        // RFC's own examples of what is not valid.
        assert!(decode("&Jjo!").is_err());
        assert!(decode("&U,BTFw-&ZeVnLIqe-").is_err());
        assert_eq!(decode("&Jjo-!").unwrap(), "\u{263a}!");
        // Raw 8-bit, padding, and a shift spelling printable ASCII.
        assert!(decode("gepr\u{fc}ft").is_err());
        assert!(decode("&AGE=-").is_err());
        assert!(decode("&AGE-").is_err());
    }

    #[test]
    fn ampersands_and_german_and_astral_characters() {
        for (text, wire) in [
            ("Tom & Jerry", "Tom &- Jerry"),
            ("geprüft", "gepr&APw-ft"),
            ("Bestellungen/geprüft", "Bestellungen/gepr&APw-ft"),
            ("Отправленные", "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"),
            ("orders 📦", "orders &2D3c5g-"),
        ] {
            assert_eq!(encode(text), wire, "{text}");
            assert_eq!(decode(wire).unwrap(), text, "{wire}");
        }
    }

    #[test]
    fn names_fit_each_layout() {
        let slash = layout("", Some('/'));
        let dot = layout("", Some('.'));
        let courier = layout("INBOX.", Some('.'));
        let flat = layout("", None);
        let n = |l: &Layout, s: &str| l.server_name(s).unwrap();
        assert_eq!(n(&slash, "mailcart/processed"), "mailcart/processed");
        assert_eq!(n(&dot, "mailcart/processed"), "mailcart.processed");
        assert_eq!(
            n(&courier, "mailcart/processed"),
            "INBOX.mailcart.processed"
        );
        // Written with the server's own separator, or with the prefix already: the same.
        assert_eq!(
            n(&courier, "INBOX.mailcart.processed"),
            "INBOX.mailcart.processed"
        );
        assert_eq!(
            n(&courier, "inbox/mailcart/processed"),
            "INBOX.mailcart.processed"
        );
        assert_eq!(n(&dot, "mailcart.processed"), "mailcart.processed");
        // INBOX is INBOX, never prefixed.
        for l in [&slash, &dot, &courier, &flat] {
            assert_eq!(n(l, "inbox"), "INBOX");
        }
        assert_eq!(n(&courier, "Sent"), "INBOX.Sent");
        assert_eq!(n(&dot, "Bestellungen/geprüft"), "Bestellungen.gepr&APw-ft");
        assert_eq!(n(&flat, "processed"), "processed");
        let e = flat.server_name("mailcart/processed").unwrap_err();
        assert!(
            e.contains("flat") && e.contains("mailcart-processed"),
            "{e}"
        );
        assert!(slash.server_name("mailcart//x").is_err());
        assert!(slash.server_name("/x").is_err());
        assert!(slash.server_name(" ").is_err());
    }

    #[test]
    fn names_read_back_are_shown_decoded() {
        assert_eq!(
            display("INBOX.Bestellungen.gepr&APw-ft"),
            "INBOX.Bestellungen.geprüft"
        );
        assert_eq!(display("odd&name"), "odd&name");
        assert_eq!(
            shown("Bestellungen/geprüft", "Bestellungen.gepr&APw-ft"),
            "\"Bestellungen/geprüft\" (on the server \"Bestellungen.geprüft\")"
        );
        assert_eq!(
            shown("Bestellungen/geprüft", "Bestellungen/gepr&APw-ft"),
            "\"Bestellungen/geprüft\""
        );
        assert_eq!(shown("a/b", "a/b"), "\"a/b\"");
    }
}
