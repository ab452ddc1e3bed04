//! Whether a run of digits can be a payment card number, judged by what issuers print and what
//! people type: a Luhn check alone cuts one run in ten of any digits (a row of log numbers, a
//! UUID's digits in a link, sixteen zeros), and each cut changes the copy of the mail we keep.
//!
//! A run is a card when it passes Luhn, its prefix and length belong to a card scheme, it is
//! written the way cards are written (no separators, groups of four, or Amex/Diners' 4-6-5 and
//! 4-6-4), it is not one digit repeated, and it does not stand inside a link, an address or a
//! Message-ID, or a hex string (hashes, UUIDs).

use std::ops::Range;

/// Prefix ranges (as numbers of the prefix's own length) and the lengths each scheme issues.
/// From the schemes' published IIN ranges; broad where a scheme is (Maestro, UnionPay).
const SCHEMES: &[(u32, u32, &[usize])] = &[
    // Visa
    (4, 4, &[13, 16, 19]),
    // Mastercard, old and 2-series
    (51, 55, &[16]),
    (2221, 2720, &[16]),
    // American Express
    (34, 34, &[15]),
    (37, 37, &[15]),
    // Diners Club
    (300, 305, &[14, 16, 17, 18, 19]),
    (3095, 3095, &[14, 16, 17, 18, 19]),
    (36, 36, &[14, 16, 17, 18, 19]),
    (38, 39, &[14, 16, 17, 18, 19]),
    // JCB
    (3528, 3589, &[16, 17, 18, 19]),
    // Discover, RuPay, UnionPay, Maestro and the national schemes in the 6 range
    (60, 69, &[13, 14, 15, 16, 17, 18, 19]),
    // Maestro in the 5 range (5018, 5020, 5038, 5893, ...), Verve (506099-506198)
    (50, 50, &[13, 14, 15, 16, 17, 18, 19]),
    (56, 59, &[13, 14, 15, 16, 17, 18, 19]),
    // Mir
    (2200, 2204, &[16, 17, 18, 19]),
    // RuPay in the 8 range, Troy
    (81, 82, &[16]),
    (9792, 9792, &[16]),
];

/// Whether `digits` (each 0-9) have a scheme's prefix and one of its lengths.
fn issued(digits: &[u8]) -> bool {
    SCHEMES.iter().any(|&(low, high, lengths)| {
        let width = low.to_string().len();
        let prefix = digits
            .iter()
            .take(width)
            .fold(0u32, |n, d| n * 10 + u32::from(*d));
        lengths.contains(&digits.len()) && (low..=high).contains(&prefix)
    })
}

pub(crate) fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(k, &d)| {
            let d = u32::from(d);
            if k % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Groups as cards are printed and typed: one block; fours, or runs of fours where a space was
/// left out or hidden ("4111 11111111 1111"), the last group shorter on 13- and 19-digit
/// cards; Amex's 4-6-5 and Diners' 4-6-4.
fn grouped_like_a_card(groups: &[usize]) -> bool {
    match groups {
        [_] => true,
        [4, 6, 5] | [4, 6, 4] => true,
        [fours @ .., last] => {
            fours.iter().all(|g| g % 4 == 0) && (last % 4 == 0 || (1..=4).contains(last))
        }
        [] => false,
    }
}

/// Whether the run at `run` in `b`, made of `digits` written in `groups`, can be a card.
pub(crate) fn is_card(b: &[u8], run: Range<usize>, digits: &[u8], groups: &[usize]) -> bool {
    (13..=19).contains(&digits.len())
        && digits.iter().any(|d| *d != digits[0])
        && issued(digits)
        && grouped_like_a_card(groups)
        && luhn(digits)
        && !in_link_or_identifier(b, run.clone())
        && !in_hex_string(b, run)
}

/// Bytes that end a "word" as a link or address is delimited in text and markup.
fn delimits(c: u8) -> bool {
    c.is_ascii_whitespace() || b"<>\"'()[]{}|\\^`,;".contains(&c)
}

/// The run is part of a URL, an email address or a Message-ID: the word around it (as far as
/// whitespace, quotes or brackets) has a scheme, a "www." host, an "@", or a path slash
/// touching the digits.
fn in_link_or_identifier(b: &[u8], run: Range<usize>) -> bool {
    let start = b[..run.start]
        .iter()
        .rposition(|c| delimits(*c))
        .map_or(0, |i| i + 1);
    let end = b[run.end..]
        .iter()
        .position(|c| delimits(*c))
        .map_or(b.len(), |i| run.end + i);
    let word = &b[start..end];
    let has = |needle: &[u8]| word.windows(needle.len()).any(|w| w == needle);
    let touching = |c: u8| run.start > 0 && b[run.start - 1] == c || b.get(run.end) == Some(&c);
    let inside_a_name = |c: Option<&u8>| c.is_some_and(u8::is_ascii_alphanumeric);
    has(b"://")
        || word.len() >= 4 && word[..4].eq_ignore_ascii_case(b"www.")
        || has(b"@")
        || touching(b'/')
        || touching(b'=') && has(b"?")
        // A MIME boundary ("--_000_AM0PR06MB4829316153822714AM0PR06MB7894eurp_") or a
        // generated name: the digits run on into letters on both sides, among underscores.
        || has(b"_")
            && inside_a_name(run.start.checked_sub(1).and_then(|i| b.get(i)))
            && inside_a_name(b.get(run.end))
}

/// The run is inside a string of hex digits (a hash, a UUID, a token): the letters and digits
/// around it, dashes included, are all hex and some of them are letters a-f.
fn in_hex_string(b: &[u8], run: Range<usize>) -> bool {
    let part = |c: &u8| c.is_ascii_alphanumeric() || *c == b'-';
    let start = b[..run.start]
        .iter()
        .rposition(|c| !part(c))
        .map_or(0, |i| i + 1);
    let end = b[run.end..]
        .iter()
        .position(|c| !part(c))
        .map_or(b.len(), |i| run.end + i);
    let word = &b[start..end];
    word.len() > run.len()
        && word.iter().all(|c| c.is_ascii_hexdigit() || *c == b'-')
        && word.iter().any(u8::is_ascii_alphabetic)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> bool {
        let digits: Vec<u8> = text
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|d| d - b'0')
            .collect();
        let groups: Vec<usize> = text
            .split([' ', '-'])
            .map(|g| g.bytes().filter(u8::is_ascii_digit).count())
            .filter(|n| *n > 0)
            .collect();
        let at = text.find(|c: char| c.is_ascii_digit()).unwrap_or(0);
        let end = text
            .rfind(|c: char| c.is_ascii_digit())
            .map_or(0, |i| i + 1);
        is_card(text.as_bytes(), at..end, &digits, &groups)
    }

    #[test]
    fn schemes_and_groupings() {
        for yes in [
            "4111 1111 1111 1111",
            "3782 822463 10005",
            "3056 930902 5904",
            "6205 5000 0000 0000 004",
            "4222222222222",
            "2223000048400011",
        ] {
            assert!(check(yes), "{yes}");
        }
        for no in [
            "0000000000000000",        // no scheme starts with 0
            "1234 5678 9012 3452",     // no scheme starts with 1
            "7777777777777777",        // one digit repeated
            "16 17 18 19 20 21 22 23", // a row of numbers
            "411 1111 1111 1111 1",    // not how cards are grouped
            "41111 11111 11111 1",     // nor this
            "https://x.test/t/4111111111111111",
            "x.test/4111111111111111/a",
            "<4111111111111111@mail.test>", // a Message-ID
            "3f2a9c4111111111111111ab",     // hex
            "--_000_AM0PR06MB4829316153822714AM0PR06MB7894eurp_", // a MIME boundary
        ] {
            assert!(!check(no), "{no}");
        }
    }
}
