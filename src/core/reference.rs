//! Order references: how we write them, and how customers and banks write them back.
//!
//! We issue `PREFIX-` and nine symbols of Crockford's base32 alphabet: eight carry 40 random
//! bits, the ninth is a check symbol. References issued before the check symbol have only the
//! eight; they stay valid and are matched exactly, never loosely.
//!
//! People and banks copy a reference with its hyphen dropped or turned into a space, in groups
//! (`MC 7K2Q XD9F`), in lower case, with O for 0 and I or L for 1, and bank statements wrap
//! remittance lines anywhere (MT940 even puts a `?21` subfield mark at the wrap). The reader
//! takes all of that. Folding can never make one order's reference read as another's: every
//! reference we store is upper case and in the alphabet, which has no I, L, O or U, so a folded
//! reading names at most the one reference it was copied from.
//!
//! # The check symbol
//!
//! Crockford's own check symbol is the value mod 37, written with five extra symbols
//! (`*~$=U`); the first four are not in the SEPA remittance character set, so a bank may drop
//! or replace them. Ours is one of the 32 symbols of the alphabet itself, computed with Damm's
//! scheme over the quasigroup `x ∘ y = 2·x + y` in GF(32) (polynomial x⁵ + x² + 1, in which 2
//! generates all 31 non-zero elements):
//!
//! - every row `y ↦ x ∘ y` and every column `x ↦ x ∘ y` is a permutation, so changing any
//!   one symbol changes the final state: every single substitution is caught;
//! - `(c ∘ x) ∘ y = (c ∘ y) ∘ x` gives `(2 + 1)·(x + y) = 0`, so `x = y`: the quasigroup is
//!   totally anti-symmetric and every adjacent transposition is caught, the check symbol's
//!   own included.
//!
//! Luhn mod 32 would miss the transposition of the symbols worth 0 and 31 (`0Z` for `Z0`);
//! Damm's scheme misses none. The tests check both properties over every state and pair.

/// Crockford's base32 symbols, by value.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Symbols carrying the random part of a reference.
pub const BODY_LEN: usize = 8;

/// A reference as it stands in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    /// As written (line breaks as spaces), for telling a person what was read.
    pub written: String,
    /// The references it may be, best first: one as a rule; two when a ninth symbol stands
    /// apart from the eight (`MC-7K2QXD9F A`) and may be the start of the next word.
    pub readings: Vec<String>,
    /// Nine symbols written together whose check symbol does not hold: a typo, matched to
    /// nothing (`readings` is empty).
    pub check_failed: bool,
}

/// The value of a symbol as people write it: any case, O for 0, I and L for 1.
pub fn value(c: char) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        c => c,
    };
    ALPHABET
        .iter()
        .position(|&a| a as char == c)
        .map(|v| v as u8)
}

fn times_two(x: u8) -> u8 {
    let y = x << 1;
    if y & 0x20 != 0 { y ^ 0x25 } else { y }
}

/// One step of Damm's scheme: `state ∘ symbol`.
fn step(state: u8, v: u8) -> u8 {
    times_two(state) ^ v
}

/// The check symbol's value for these symbol values: the one that brings the state to 0.
pub fn check_value(body: &[u8]) -> u8 {
    times_two(body.iter().fold(0, |s, &v| step(s, v)))
}

/// Whether symbol values ending in their check symbol hold.
pub fn holds(values: &[u8]) -> bool {
    values.iter().fold(0, |s, &v| step(s, v)) == 0
}

/// A new reference from 40 random bits: `PREFIX-` eight symbols and the check symbol.
pub fn issue(prefix: &str, bits: u64) -> String {
    let mut values = [0u8; BODY_LEN + 1];
    for (i, v) in values[..BODY_LEN].iter_mut().enumerate() {
        *v = ((bits >> (5 * (BODY_LEN - 1 - i))) & 31) as u8;
    }
    values[BODY_LEN] = check_value(&values[..BODY_LEN]);
    canonical(prefix, &values)
}

/// The reference a newer one's first eight symbols would be, had it been issued before check
/// symbols: issuing never reuses one, so an eight-symbol reading names only an old order.
pub fn without_check(reference: &str) -> Option<String> {
    let (prefix, body) = reference.rsplit_once('-')?;
    (body.len() == BODY_LEN + 1).then(|| format!("{prefix}-{}", &body[..BODY_LEN]))
}

fn canonical(prefix: &str, values: &[u8]) -> String {
    let body: String = values
        .iter()
        .map(|&v| ALPHABET[v as usize] as char)
        .collect();
    format!("{}-{body}", prefix.to_ascii_uppercase())
}

/// How a symbol is set off from the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gap {
    /// Right after it, or after a hyphen: part of the same code.
    Joined,
    /// After a space, a dot or a line break: maybe the next word.
    Apart,
}

/// The shop's references in `text`, in order. `prefix` is the shop's: other codes of the same
/// shape (a bank's `TRX-20261201`) are not ours.
pub fn find(text: &str, prefix: &str) -> Vec<Mention> {
    let mut found = Vec::new();
    if prefix.is_empty() {
        return found;
    }
    let mut from = 0;
    while let Some(at) = find_prefix(text, prefix, from) {
        let start = at + prefix.len();
        match read_at(text, at, start, prefix) {
            Some((mention, end)) => {
                found.push(mention);
                from = end;
            }
            None => from = start,
        }
    }
    found
}

/// The first of the shop's references in `text`.
pub fn first(text: &str, prefix: &str) -> Option<Mention> {
    find(text, prefix).into_iter().next()
}

/// The reference a message names, looking in `texts` in order (subject, then body): the first
/// that can name an order, else the first whose check symbol failed (so a person hears why).
pub fn named(texts: &[&str], prefix: &str) -> Option<Mention> {
    let all: Vec<Mention> = texts.iter().flat_map(|t| find(t, prefix)).collect();
    let failed = all.iter().find(|m| m.check_failed).cloned();
    all.into_iter().find(|m| !m.readings.is_empty()).or(failed)
}

/// The next place at or after `from` where `prefix` starts a word (any case); an MT940 subfield
/// mark (`?20`) right before it counts as a word break.
fn find_prefix(text: &str, prefix: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let p = prefix.as_bytes();
    let mut i = from;
    while i + p.len() <= bytes.len() {
        if bytes[i..i + p.len()].eq_ignore_ascii_case(p) && starts_word(text, i) {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn starts_word(text: &str, i: usize) -> bool {
    let before = &text.as_bytes()[..i];
    let subfield = |b: &[u8]| b.len() >= 3 && b[0] == b'?' && b[1..].iter().all(u8::is_ascii_digit);
    text[..i]
        .chars()
        .next_back()
        .is_none_or(|c| !c.is_alphanumeric())
        || subfield(&before[i.saturating_sub(3)..])
}

/// What separates two symbols (or the prefix from the first): up to three of ` -–—._/` (and
/// `:#` after the prefix), or one line break with the indentation and MT940 subfield mark
/// after it. Returns where the next symbol would start and how it is set off.
fn gap(text: &str, from: usize, after_prefix: bool) -> (usize, Gap) {
    let mut pos = from;
    let mut kind = Gap::Joined;
    let mut taken = 0;
    let mut broke = false;
    while let Some(c) = text[pos..].chars().next() {
        match c {
            '-' | '–' | '—' => {}
            ' ' | '\t' | '.' | '_' | '/' => kind = Gap::Apart,
            ':' | '#' if after_prefix => {}
            '\r' | '\n' if !broke => {
                broke = true;
                kind = Gap::Apart;
                pos += c.len_utf8();
                if c == '\r' && text[pos..].starts_with('\n') {
                    pos += 1;
                }
                pos += text[pos..].len() - text[pos..].trim_start_matches([' ', '\t']).len();
                let b = &text.as_bytes()[pos..];
                if b.len() >= 3 && b[0] == b'?' && b[1].is_ascii_digit() && b[2].is_ascii_digit() {
                    pos += 3;
                }
                continue;
            }
            _ => break,
        }
        taken += 1;
        if taken > 3 {
            return (from, Gap::Joined);
        }
        pos += c.len_utf8();
    }
    (pos, if pos == from { Gap::Joined } else { kind })
}

/// A reference whose prefix starts at `at` and whose symbols follow from `start`; and where
/// reading may go on.
fn read_at(text: &str, at: usize, start: usize, prefix: &str) -> Option<(Mention, usize)> {
    // (value, start, end, how it is set off from the one before)
    let mut symbols: Vec<(u8, usize, usize, Gap)> = Vec::with_capacity(BODY_LEN + 1);
    let mut pos = start;
    while symbols.len() <= BODY_LEN {
        let (next, set_off) = gap(text, pos, symbols.is_empty());
        let Some(c) = text[next..].chars().next() else {
            break;
        };
        let Some(v) = value(c) else {
            break;
        };
        symbols.push((v, next, next + c.len_utf8(), set_off));
        pos = next + c.len_utf8();
    }
    // Words are not references: without the hyphen after the prefix a digit must be written
    // ("a big teapot" is no `A-B1GTEAP0T`). One in twenty references has no digit; those are
    // read only with their hyphen.
    let hyphenated = symbols
        .first()
        .is_some_and(|s| text[start..s.1].contains(['-', '–', '—']));
    if !hyphenated
        && !symbols
            .iter()
            .any(|s| text.as_bytes()[s.1].is_ascii_digit())
    {
        return None;
    }
    // A reading ends where a word ends: "MCDONALDSBURGER" is no reference.
    let ends_word = |n: usize| {
        symbols.len() >= n
            && text[symbols[n - 1].2..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric())
    };
    let values: Vec<u8> = symbols.iter().map(|s| s.0).collect();
    let written = |n: usize| text[at..symbols[n - 1].2].replace(['\r', '\n'], " ");
    let eight = |n: usize| canonical(prefix, &values[..n]);
    if ends_word(BODY_LEN + 1) {
        let apart = symbols[BODY_LEN].3 == Gap::Apart;
        let end = symbols[BODY_LEN].2;
        if holds(&values) {
            let mut readings = vec![canonical(prefix, &values)];
            if apart {
                readings.push(eight(BODY_LEN));
            }
            let mention = Mention {
                written: written(BODY_LEN + 1),
                readings,
                check_failed: false,
            };
            return Some((mention, end));
        }
        if !apart {
            let mention = Mention {
                written: written(BODY_LEN + 1),
                readings: Vec::new(),
                check_failed: true,
            };
            return Some((mention, end));
        }
    }
    ends_word(BODY_LEN).then(|| {
        let mention = Mention {
            written: written(BODY_LEN),
            readings: vec![eight(BODY_LEN)],
            check_failed: false,
        };
        (mention, symbols[BODY_LEN - 1].2)
    })
}

/// A reference right at the start of `text` with any prefix, as sellers write one after a
/// command (`paid mc-7k2qxd9fc`): the prefix, a hyphen, eight or nine symbols, folded. Returns
/// the reference and the length of text it took. A wrong check symbol is kept as written so
/// that it names no order and the seller is told so.
pub fn at_start(text: &str) -> Option<(String, usize)> {
    in_full(text, true)
}

/// `XY-` and eight or nine symbols; with `fold`, O, I and L read as digits (else they end it,
/// as they are in no reference).
fn in_full(text: &str, fold: bool) -> Option<(String, usize)> {
    let (prefix, rest) = text.split_once('-')?;
    if prefix.is_empty() || prefix.len() > 8 || !prefix.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let n = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    if n != BODY_LEN && n != BODY_LEN + 1 {
        return None;
    }
    let strict = |c: char| ALPHABET.contains(&(c.to_ascii_uppercase() as u8));
    let values: Option<Vec<u8>> = rest[..n]
        .chars()
        .map(|c| if fold || strict(c) { value(c) } else { None })
        .collect();
    Some((canonical(prefix, &values?), prefix.len() + 1 + n))
}

/// Whether `text` names a reference of the shop's (with `prefix`) or, written in full with its
/// hyphen, of any prefix.
pub fn is_named(text: &str, prefix: &str) -> bool {
    !find(text, prefix).is_empty() || any_prefix(text).is_some()
}

/// The first reference written in full, `XY-` and eight or nine symbols of the alphabet, of any
/// prefix and unfolded: how mail named references before the shop's prefix was known to the
/// reader (a prefix changed in the config still finds its old orders).
pub fn any_prefix(text: &str) -> Option<String> {
    let mut from = 0;
    while let Some(dash) = text[from..].find('-').map(|i| i + from) {
        from = dash + 1;
        let start = text[..dash]
            .rfind(|c: char| !c.is_ascii_alphanumeric())
            .map_or(0, |i| {
                i + text[i..].chars().next().map_or(1, char::len_utf8)
            });
        if start == dash || !starts_word(text, start) {
            continue;
        }
        if let Some((r, len)) = in_full(&text[start..], false)
            && text[start + len..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric())
        {
            return Some(r);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "MC-7K2QXD9F";

    fn new_ref() -> String {
        // 7K2QXD9F's 40 bits, issued with a check symbol.
        let bits = "7K2QXD9F"
            .chars()
            .fold(0u64, |n, c| (n << 5) | u64::from(value(c).unwrap()));
        issue("MC", bits)
    }

    fn read(text: &str) -> Vec<String> {
        first(text, "MC").map(|m| m.readings).unwrap_or_default()
    }

    #[test]
    fn two_generates_the_field() {
        let mut x = 1u8;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..31 {
            assert!(seen.insert(x), "2 has an order below 31");
            x = times_two(x);
        }
        assert_eq!(x, 1);
        assert_eq!(seen.len(), 31);
    }

    #[test]
    fn every_single_substitution_changes_the_state() {
        for state in 0..32u8 {
            for a in 0..32u8 {
                for b in 0..32u8 {
                    if a != b {
                        assert_ne!(step(state, a), step(state, b), "row {state}");
                        assert_ne!(step(a, state), step(b, state), "column {state}");
                    }
                }
            }
        }
    }

    #[test]
    fn every_adjacent_transposition_changes_the_state() {
        for state in 0..32u8 {
            for a in 0..32u8 {
                for b in 0..32u8 {
                    if a != b {
                        assert_ne!(step(step(state, a), b), step(step(state, b), a));
                    }
                }
            }
        }
    }

    /// The properties above, on whole references: every one-symbol change and every swap of
    /// two different neighbours, at every position (the check symbol's too), is caught.
    #[test]
    fn typos_in_issued_references_never_hold() {
        let mut bits = 0x009E_3779_B97F_u64;
        for _ in 0..300 {
            bits = bits
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = issue("MC", bits >> 24);
            let values: Vec<u8> = r[3..].chars().map(|c| value(c).unwrap()).collect();
            assert!(holds(&values), "{r}");
            for i in 0..values.len() {
                for v in 0..32u8 {
                    if v != values[i] {
                        let mut typo = values.clone();
                        typo[i] = v;
                        assert!(!holds(&typo), "{r} with {v} at {i}");
                    }
                }
                if i + 1 < values.len() && values[i] != values[i + 1] {
                    let mut swapped = values.clone();
                    swapped.swap(i, i + 1);
                    assert!(!holds(&swapped), "{r} swapped at {i}");
                }
            }
        }
    }

    #[test]
    fn issued_references_look_as_promised() {
        let r = new_ref();
        assert_eq!(r.len(), "MC-".len() + 9);
        assert_eq!(r, "MC-7K2QXD9FP", "the README's and the templates' example");
        assert!(r[3..].bytes().all(|b| ALPHABET.contains(&b)));
        assert_eq!(without_check(&r).as_deref(), Some(OLD));
        assert_eq!(without_check(OLD), None);
        assert_eq!(issue("mc", 0), "MC-000000000");
        assert_eq!(issue("MC", (1 << 40) - 1)[..11], *"MC-ZZZZZZZZ");
    }

    #[test]
    fn bank_statement_spellings_of_an_old_reference() {
        for written in [
            "MC-7K2QXD9F",
            "MC7K2QXD9F",
            "MC 7K2Q XD9F",
            "mc-7k2q-xd9f",
            "Mc7k2qxd9f",
            "MC - 7K2QXD9F",
            "MC.7K2Q.XD9F",
            "MC#7K2QXD9F",
            "SVWZ+MC7K2QXD9F",
            "EREF+mc 7k2q xd9f",
            "order MC-7K2QXD9F.",
            "(MC-7K2QXD9F)",
            "MC–7K2QXD9F",
            "Verwendungszweck: Bestellung MC 7K2QX\n D9F Danke",
            "?20Bestellung MC-7K2QX\n?21D9F Danke",
            "MC-7K2Q\r\nXD9F",
            "MC-7K2QXD9F A lovely mug",
        ] {
            assert_eq!(read(written), vec![OLD], "{written:?}");
        }
    }

    #[test]
    fn confusable_letters_are_folded() {
        assert_eq!(value('o'), Some(0));
        assert_eq!(value('O'), Some(0));
        assert_eq!(value('I'), Some(1));
        assert_eq!(value('l'), Some(1));
        assert_eq!(value('U'), None);
        assert_eq!(read("MC-OOOOIlL1"), vec!["MC-00001111"]);
        assert_eq!(read("mc-7k2qxd9f"), vec![OLD]);
    }

    #[test]
    fn new_references_with_their_check_symbol() {
        let r = new_ref();
        let check = &r[11..];
        for written in [
            r.clone(),
            r.replace('-', ""),
            r.to_ascii_lowercase(),
            format!("MC 7K2Q XD9F{check}"),
            format!("MC-7K2Q-XD9F-{check}"),
            format!("Ref: MC7K2QXD\n9F{check} thanks"),
        ] {
            assert_eq!(read(&written), vec![r.clone()], "{written:?}");
        }
        // A ninth symbol set apart may be the next word: both readings, the full one first.
        assert_eq!(
            read(&format!("MC 7K2QXD9F {check}")),
            vec![r.clone(), OLD.into()]
        );
    }

    #[test]
    fn a_typo_is_caught_not_matched() {
        let r = new_ref();
        let mut typo: Vec<char> = r.chars().collect();
        typo[5] = if typo[5] == 'A' { 'B' } else { 'A' };
        let typo: String = typo.into_iter().collect();
        let m = first(&typo, "MC").unwrap();
        assert!(m.check_failed);
        assert!(m.readings.is_empty());
        assert_eq!(m.written, typo);
        let swapped = format!("MC-K72QXD9F{}", &r[11..]);
        assert!(first(&swapped, "MC").unwrap().check_failed);
    }

    #[test]
    fn what_is_no_reference() {
        for text in [
            "McDonaldsburger",
            "MCDONALDSBURGER",
            "MC-7K2QXD9",
            "MC-7K2QXD9FAB",
            "XMC-7K2QXD9F",
            "MC-7K2QXD9Fü",
            "TRX-20261201",
            "MC-7K2UXD9F",
            "MC",
            "",
            "MC-",
            "MC-7K2Q\n\nXD9F",
        ] {
            assert_eq!(first(text, "MC"), None, "{text:?}");
        }
    }

    #[test]
    fn words_after_a_short_prefix_are_no_reference() {
        for text in ["A big teapot, please", "a lovely Teapot", "A Bag of Tea"] {
            assert_eq!(first(text, "A"), None, "{text:?}");
        }
        assert_eq!(
            first("A-BAGGAGES", "A").map(|m| m.readings),
            Some(vec!["A-BAGGAGES".to_string()]),
            "with the hyphen, even without a digit"
        );
        assert!(first("a bag 0f tea", "A").is_some(), "a digit as written");
    }

    #[test]
    fn several_in_one_text() {
        let found = find("MC-7K2QXD9F and mc 0000 0000, not MC-1", "MC");
        let readings: Vec<_> = found.iter().map(|m| m.readings[0].as_str()).collect();
        assert_eq!(readings, ["MC-7K2QXD9F", "MC-00000000"]);
    }

    #[test]
    fn any_prefix_in_full() {
        assert_eq!(any_prefix("see XY-7k2qxd9f"), Some("XY-7K2QXD9F".into()));
        assert_eq!(any_prefix("Re: Order MC-7K2QXD9F"), Some(OLD.into()));
        assert_eq!(any_prefix("a-b long-winded MC-7K2QXD9FAB"), None);
        assert_eq!(any_prefix("check-INTERNAL"), None, "unfolded");
        assert_eq!(at_start("mc-7k2qxd9f rest"), Some((OLD.into(), 11)));
        assert_eq!(at_start("7k2qxd9f"), None);
        assert!(is_named("about mc 7k2q xd9f", "MC"));
        assert!(!is_named("about my order", "MC"));
    }
}
