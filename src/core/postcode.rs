//! What each country's postcodes look like, read from Google's address metadata
//! (`postcode_formats.tsv`, written by `scripts/postcode-formats.py`; data CC-BY 4.0 by Google,
//! libaddressinput's Address Data Service). The address reader finds candidate codes by their
//! shape in a line; this table says which countries a code can belong to, so a country is
//! inferred only when exactly one fits, and a named country's own format can be looked for.

use std::ops::Range;
use std::sync::{LazyLock, OnceLock};

use regex::{Regex, RegexSet};

const TABLE: &str = include_str!("postcode_formats.tsv");

/// Eircode, tighter than the metadata's `[\dA-Z]{3} ?[\dA-Z]{4}` (any seven capitals and digits,
/// which in mail are mostly model numbers): a routing key (a letter and two digits, or D6W) and
/// four characters, letters from the alphabet An Post publishes (no B G I J L M O Q S U Z).
const EIRCODE: &str = r"(?:[AC-FHKNPRTV-Y][0-9]{2}|D6W) ?[0-9AC-FHKNPRTV-Y]{4}";

pub struct Format {
    /// ISO 3166-1 alpha-2.
    pub country: &'static str,
    /// What the format writes before the code: "CH-", "SE-", "SINGAPORE".
    pub prefix: Option<&'static str>,
    /// Examples the metadata gives.
    pub examples: Vec<&'static str>,
    pattern: String,
    exact: OnceLock<Option<Regex>>,
    within: OnceLock<Option<Regex>>,
}

impl Format {
    /// The whole of `code` is one of this country's postcodes.
    pub fn fits(&self, code: &str) -> bool {
        self.exact
            .get_or_init(|| Regex::new(&format!("^(?:{})$", self.pattern)).ok())
            .as_ref()
            .is_some_and(|r| r.is_match(code))
    }

    /// The last of this country's postcodes standing on its own in `text` (not inside a longer
    /// run of letters or digits), its optional prefix left out of the range.
    pub fn find_in(&self, text: &str) -> Option<Range<usize>> {
        let within = self.within.get_or_init(|| {
            let prefix = self
                .prefix
                .map(|p| format!("(?:{}\\s?)?", regex::escape(p)))
                .unwrap_or_default();
            Regex::new(&format!(
                r"(?:^|[^\p{{L}}\p{{N}}]){prefix}(?P<code>{})(?:$|[^\p{{L}}\p{{N}}])",
                self.pattern
            ))
            .ok()
        });
        let within = within.as_ref()?;
        // Each match consumes the character after the code, so the next search starts at the
        // code's end; a code inside another ("3054" in "2038 3054") is never taken for it.
        let mut at = 0;
        let mut last = None;
        while at <= text.len() {
            let Some(code) = within.captures_at(text, at).and_then(|c| c.name("code")) else {
                break;
            };
            if code.is_empty() {
                // A format whose code is optional matched nothing: step over one character.
                let from = code.start();
                at = text[from..]
                    .chars()
                    .next()
                    .map_or(text.len() + 1, |c| from + c.len_utf8());
                continue;
            }
            last = Some(code.range());
            at = code.end();
        }
        last
    }
}

static FORMATS: LazyLock<Vec<Format>> = LazyLock::new(|| {
    TABLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|line| {
            let mut cols = line.split('\t');
            let country = cols.next()?;
            let _name = cols.next()?;
            let pattern = cols.next()?;
            let prefix = cols.next().map(str::trim).filter(|p| !p.is_empty());
            let examples = cols
                .next()
                .unwrap_or("")
                .split(',')
                .filter(|e| !e.is_empty())
                .collect();
            let pattern = if country == "IE" {
                EIRCODE.to_string()
            } else {
                // The metadata's \d is ASCII; Rust's is Unicode-wide.
                pattern.replace(r"\d", "[0-9]")
            };
            Some(Format {
                country,
                prefix,
                examples,
                pattern,
                exact: OnceLock::new(),
                within: OnceLock::new(),
            })
        })
        .collect()
});

pub fn formats() -> &'static [Format] {
    &FORMATS
}

/// The country's postcode format, if it has postcodes.
pub fn format(country: &str) -> Option<&'static Format> {
    FORMATS.iter().find(|f| f.country == country)
}

/// The country whose postcodes `code` fits, when exactly one does: "1012 AB" (NL), "00-950"
/// (PL), "D02 X285" (IE); a bare 5-digit code fits dozens and names none.
pub fn sole_country(code: &str) -> Option<&'static str> {
    let code = code.trim().to_uppercase();
    // One pass over every format at once: this runs on every short line of every message.
    let set = ALL_EXACT.as_ref()?;
    let mut fitting = set.matches(&code).into_iter();
    let first = fitting.next()?;
    if fitting.next().is_some() {
        return None;
    }
    FORMATS.get(first).map(|f| f.country)
}

/// Every format, anchored, in one set whose indexes are those of `FORMATS`.
static ALL_EXACT: LazyLock<Option<RegexSet>> =
    LazyLock::new(|| RegexSet::new(FORMATS.iter().map(|f| format!("^(?:{})$", f.pattern))).ok());

/// The country a prefix before a code names: the metadata's own ("CH-", "FL-", "LT-",
/// "SINGAPORE"), an ISO code, or the old European vehicle letters ("D-", "A-", "F-").
pub fn prefix_country(prefix: &str) -> Option<&'static str> {
    let prefix = prefix.trim().trim_end_matches(['-', '–']).trim();
    if prefix.is_empty() {
        return None;
    }
    if let Some(f) = FORMATS.iter().find(|f| {
        f.prefix
            .is_some_and(|p| p.trim_end_matches(['-', ' ']).eq_ignore_ascii_case(prefix))
    }) {
        return Some(f.country);
    }
    let vehicle = match prefix {
        "D" => "DE",
        "F" => "FR",
        "E" => "ES",
        "A" => "AT",
        "I" => "IT",
        "B" => "BE",
        "L" => "LU",
        "S" => "SE",
        "N" => "NO",
        "P" => "PT",
        "FIN" => "FI",
        "IRL" => "IE",
        "GR" => "GR",
        "CZ" => "CZ",
        "SK" => "SK",
        "H" => "HU",
        "DK" => "DK",
        "NL" => "NL",
        "PL" => "PL",
        "RO" => "RO",
        "BG" => "BG",
        "EST" => "EE",
        _ => "",
    };
    if !vehicle.is_empty() {
        return Some(vehicle);
    }
    (prefix.len() == 2 && prefix.bytes().all(|b| b.is_ascii_uppercase()))
        .then(|| FORMATS.iter().find(|f| f.country == prefix))
        .flatten()
        .map(|f| f.country)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_compiles_and_takes_its_own_examples() {
        assert!(ALL_EXACT.is_some(), "the formats do not compile as one set");
        assert!(formats().len() > 150, "{} formats", formats().len());
        for f in formats() {
            for example in &f.examples {
                let written = example.trim();
                assert!(f.fits(written), "{}: {written:?}", f.country);
                let line = format!("Somewhere {written}");
                assert!(
                    f.find_in(&line).is_some_and(|r| &line[r] == written),
                    "{}: {line:?}",
                    f.country
                );
            }
        }
    }

    #[test]
    fn distinctive_shapes_name_their_country_and_shared_ones_do_not() {
        for (code, want) in [
            ("D02 X285", Some("IE")),
            ("A65 F4E2", Some("IE")),
            ("D6W 1234", Some("IE")),
            ("1012 AB", Some("NL")),
            ("00-950", Some("PL")),
            ("1000-001", Some("PT")),
            ("01310-100", Some("BR")),
            ("LV-1050", Some("LV")),
            ("97205-1234", Some("US")),
            ("SW1A 1AA", Some("GB")),
            ("M5V 2T6", Some("CA")),
            ("VLT 1117", Some("MT")),
            ("AD500", Some("AD")),
            ("10115", None),
            ("1010", None),
            ("400001", None),
            ("114 55", None),
            ("150-0001", None),
        ] {
            assert_eq!(sole_country(code), want, "{code}");
        }
    }

    #[test]
    fn prefixes() {
        for (prefix, want) in [
            ("CH-", Some("CH")),
            ("FL", Some("LI")),
            ("LT-", Some("LT")),
            ("SE", Some("SE")),
            ("Singapore", Some("SG")),
            ("D", Some("DE")),
            ("A-", Some("AT")),
            ("NL", Some("NL")),
            ("XX", None),
            ("", None),
        ] {
            assert_eq!(prefix_country(prefix), want, "{prefix}");
        }
    }

    #[test]
    fn a_named_country_finds_its_code_and_not_a_house_number() {
        for (country, line, want) in [
            (
                "MT",
                "Triq il-Merkanti 12, Valletta VLT 1117",
                Some("VLT 1117"),
            ),
            ("IS", "Laugavegur 126, 101 Reykjavík", Some("101")),
            (
                "US",
                "12345 Main Street, Springfield, IL 62701",
                Some("62701"),
            ),
            (
                "KR",
                "Sejong-daero 110, Jung-gu, Seoul 04524",
                Some("04524"),
            ),
            ("CH", "Bahnhofstrasse 1, CH-8001 Zürich", Some("8001")),
            ("IN", "12 MG Road, Bengaluru 560001", Some("560001")),
            ("DE", "Hauptstraße 5", None),
            ("MT", "Model ABC 12345X", None),
        ] {
            let Some(f) = format(country) else {
                panic!("{country} has no format")
            };
            assert_eq!(f.find_in(line).map(|r| &line[r]), want, "{country} {line}");
        }
    }
}
