//! Reading anchored on the catalog: find each mention of a product anywhere in a line, then
//! the quantity that belongs to it, before or after, past the customer's own words.
//!
//! A line is cut into words; runs of words the catalog uses (after plural and typo folding)
//! are mentions, resolved against the catalog's index. Each mention then takes the nearest
//! quantity before it (back to the previous mention or a joiner such as "and", "und", "et")
//! or a marked one after it ("x2", "(2)", "- 2", "2 pcs", "3 Stück"), so that several items
//! in one sentence become several lines and "only", "please", "for my sister" stand nowhere.

use std::sync::LazyLock;

use regex::Regex;

use super::catalog::{Catalog, Match, is_number, normalize_word, split_measure};
use super::numbers::{Amount, is_article, is_joiner, is_unit, marked_number, quantity_at};

static WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\d+(?:[.,]\d+)+|[\p{L}\p{N}][\p{L}\p{N}'’_\-]*|[^\s\p{L}\p{N}]").unwrap()
});

/// One word or mark of a line, with where it stands.
#[derive(Debug, Clone)]
pub struct Word {
    pub start: usize,
    pub end: usize,
    pub lower: String,
    /// The catalog word it is (plural and small typos folded), if it is one.
    pub known: Option<String>,
    pub corrected: bool,
    /// The whole token is this entry's SKU.
    pub sku: Option<usize>,
    /// Which token of the line it came from: "C-20" and "24-piece" are one token each.
    pub token: usize,
}

/// A product named in a line: words `from..to` and what they match.
#[derive(Debug, Clone)]
pub struct Mention {
    pub from: usize,
    pub to: usize,
    pub found: Match,
    /// One of its words was a typo of a catalog word.
    pub corrected: bool,
    /// Its words are a whole name, alias or SKU, not part of one.
    pub exact: bool,
    /// It holds no word that ends a name: "taza" of "taza azul", but also "red" of "Red
    /// Polka Dot Mug". It counts only with a real count and nothing of the customer's after.
    pub weak: bool,
}

/// How a quantity was found, for `parse --explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Before,
    After,
    None,
}

/// A mention with its quantity and the text both cover.
#[derive(Debug, Clone)]
pub struct Reading {
    pub mention: Mention,
    pub amount: Option<Amount>,
    pub bound: Bound,
    /// Byte span in the line: from the quantity (or the name) to the end of both.
    pub span: (usize, usize),
    /// The product words as written.
    pub name: (usize, usize),
    /// Nothing but an end, a joiner or its count follows the name.
    pub ends_clean: bool,
}

/// Words that may sit inside a product name without ending it ("box of matches").
const INNER: &[&str] = &[
    "of", "the", "de", "du", "des", "di", "von", "van", "do", "da", "piece", "pieces", "pc", "pcs",
];

/// Words that end the reach of a quantity: "I need 2 weeks for the teapot" binds nothing.
const BARRIER: &[&str] = &[
    "or", "with", "for", "to", "in", "from", "at", "by", "on", "if", "but", "so", "than", "that",
    "which", "because", "until", "before", "after", "is", "are", "was", "were", "be", "have",
    "has", "had", "i", "we", "you", "it", "they", "he", "she", "für", "pour", "para", "per",
    "voor", "mit", "avec", "con", "met", "com", "bis", "ich", "je", "yo", "io", "ik", "eu", "wir",
    "nous", "vous", "ist", "est", "es", "è", "é", "oder", "ou",
];

/// Words between a quantity and a product that carry nothing.
const FILLER: &[&str] = &[
    "of",
    "the",
    "x",
    "×",
    "*",
    "more",
    "extra",
    "additional",
    "your",
    "those",
    "these",
    "new",
    "de",
    "du",
    "des",
    "d",
    "di",
    "del",
    "della",
    "von",
    "van",
    "het",
    "die",
    "der",
    "das",
    "den",
    "la",
    "le",
    "les",
    "el",
    "los",
    "las",
    "il",
    "lo",
    "gli",
    "o",
    "os",
    "as",
    "noch",
    "encore",
    "otra",
    "otro",
    "altri",
    "altre",
    "nog",
    "mais",
    "weitere",
    "autres",
];

const QTY_LABELS: &[&str] = &[
    "qty",
    "quantity",
    "qté",
    "quantité",
    "menge",
    "anzahl",
    "cantidad",
    "cant",
    "quantità",
    "aantal",
    "quantidade",
    "qtd",
];

const SENTENCE_END: &[&str] = &[".", "!", "?"];

/// Cut a line into words, each looked up in the catalog.
pub fn words(line: &str, catalog: &Catalog) -> Vec<Word> {
    let mut out = Vec::new();
    for (token, m) in WORD.find_iter(line).enumerate() {
        let text = m.as_str();
        if let Some(i) = catalog
            .sku(text)
            .filter(|_| text.chars().any(|c| c.is_ascii_digit() || c == '-'))
        {
            out.push(Word {
                start: m.start(),
                end: m.end(),
                lower: text.to_lowercase(),
                known: None,
                corrected: false,
                sku: Some(i),
                token,
            });
            continue;
        }
        let mut offset = m.start();
        let mut parts = Vec::new();
        let decimal = text.starts_with(|c: char| c.is_ascii_digit());
        let cuts: &[char] = if decimal {
            &['-', '_', '.', ',']
        } else {
            &['-', '_']
        };
        for part in text.split(cuts) {
            let mut at = offset;
            for piece in split_measure(part) {
                parts.push((at, piece));
                at += piece.len();
            }
            offset += part.len() + 1;
        }
        for (start, part) in parts {
            let lower = part.trim_end_matches(['\'', '’']).to_lowercase();
            let (known, corrected) = lookup(&lower, catalog);
            out.push(Word {
                start,
                end: start + part.len(),
                lower,
                known,
                corrected,
                sku: None,
                token,
            });
        }
    }
    out
}

/// The catalog word a lowercase word is: itself or its singular, a plural of another
/// language ("tassen", "tazze"), or a small typo of one.
fn lookup(lower: &str, catalog: &Catalog) -> (Option<String>, bool) {
    let Some(norm) = normalize_word(lower) else {
        return (None, false);
    };
    if catalog.knows_word(&norm) {
        return (Some(norm), false);
    }
    for (suffix, with) in [("en", ""), ("n", ""), ("e", "a"), ("i", "o"), ("es", "")] {
        if let Some(stem) = norm.strip_suffix(suffix)
            && stem.chars().count() >= 3
        {
            let guess = format!("{stem}{with}");
            if catalog.knows_word(&guess) {
                return (Some(guess), false);
            }
            // Dutch doubles the consonant before "-en": "mokken" is "mok".
            let mut chars: Vec<char> = stem.chars().collect();
            if suffix == "en"
                && chars.len() >= 3
                && chars[chars.len() - 1] == chars[chars.len() - 2]
            {
                chars.pop();
                let guess: String = chars.into_iter().collect();
                if catalog.knows_word(&guess) {
                    return (Some(guess), false);
                }
            }
        }
    }
    if is_number(&norm)
        || norm.chars().count() < 4
        || quantity_at(&[norm.as_str()], 0).is_some()
        || is_unit(&norm)
        || BARRIER.contains(&norm.as_str())
        || FILLER.contains(&norm.as_str())
        || is_joiner(&norm)
    {
        return (None, false);
    }
    match catalog.correct(&norm) {
        Some(fixed) => (Some(fixed.to_string()), true),
        None => (None, false),
    }
}

/// The products a line names, left to right.
pub fn mentions(words: &[Word], catalog: &Catalog) -> Vec<Mention> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if let Some(sku) = words[i].sku {
            out.push(Mention {
                from: i,
                to: i + 1,
                found: Match::One(sku),
                corrected: false,
                exact: true,
                weak: false,
            });
            i += 1;
            continue;
        }
        if words[i].known.is_none() {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        loop {
            if j < words.len() && words[j].known.is_some() && words[j].sku.is_none() {
                j += 1;
                continue;
            }
            // "Box of Matches", "Perfume No. 5": a filler word or a dot inside a name.
            let inner = j + 1 < words.len()
                && words[j + 1].known.is_some()
                && (INNER.contains(&words[j].lower.as_str())
                    || (words[j].lower == "."
                        && matches!(words[j - 1].lower.as_str(), "no" | "nr" | "nº")));
            if inner {
                j += 2;
                continue;
            }
            break;
        }
        resolve_run(words, i, j, catalog, &mut out);
        i = j;
    }
    out
}

fn keys(words: &[Word], from: usize, to: usize) -> Vec<&str> {
    words[from..to]
        .iter()
        .filter_map(|w| w.known.as_deref())
        .collect()
}

/// Resolve the run `from..to`: whole, or cut into names that each match ("blue mug teapot").
fn resolve_run(words: &[Word], from: usize, to: usize, catalog: &Catalog, out: &mut Vec<Mention>) {
    let (mut from, mut to) = (from, to);
    // A number at either end belongs to the name only if the name needs it ("Notebook A4"
    // needs no number; "Olive Oil 500 ml" does; "2 teapots" does not).
    while to - from > 1
        && is_number(&words[from].lower)
        && words[from].token != words[from + 1].token
    {
        let with = catalog.match_words(&keys(words, from, to));
        let without = catalog.match_words(&keys(words, from + 1, to));
        // "5 Perfume No. 5": the name has its number already; "6-piece" is one token.
        if number_is_part(&with, &without, false) {
            break;
        }
        from += 1;
    }
    while to - from > 1
        && is_number(&words[to - 1].lower)
        && words[to - 1].token != words[to - 2].token
    {
        let with = catalog.match_words(&keys(words, from, to));
        let without = catalog.match_words(&keys(words, from, to - 1));
        // "Desk Calendar 2027" keeps its year; "Teapot 2" does not.
        if number_is_part(&with, &without, true) {
            break;
        }
        to -= 1;
    }
    let k = keys(words, from, to);
    if k.is_empty() || (k.len() == 1 && is_number(k[0])) {
        return;
    }
    let corrected = words[from..to].iter().any(|w| w.corrected);
    let found = catalog.match_words(&k);
    if found != Match::None {
        let weak = !names_a_product(&k, catalog);
        if !weak || matches!(found, Match::One(_)) {
            out.push(Mention {
                from,
                to,
                found,
                corrected,
                exact: catalog.is_phrase(&k.join(" ")),
                weak,
            });
        }
        return;
    }
    // Two names side by side: the longest left part that matches, then the rest.
    for cut in (from + 1..to).rev() {
        let (left, right) = (keys(words, from, cut), keys(words, cut, to));
        let names = |k: &[&str]| {
            !k.is_empty() && names_a_product(k, catalog) && catalog.match_words(k) != Match::None
        };
        if names(&left) && names(&right) {
            resolve_run(words, from, cut, catalog, out);
            resolve_run(words, cut, to, catalog, out);
            return;
        }
    }
    // Catalog words that together name nothing we sell ("small teapot" when the only teapot
    // is cast iron): an unknown product, never the nearest one, if it ends in a product noun.
    if k.iter().any(|w| catalog.is_noun(w)) {
        out.push(Mention {
            from,
            to,
            found: Match::None,
            corrected,
            exact: false,
            weak: false,
        });
    }
}

/// A lone adjective ("small", "red" of "Red Polka Dot Mug") is not a product; a word that
/// ends a name is, and so is a whole name or alias.
/// Whether a number at the edge of a mention belongs to the name: the name with it narrows
/// what matches. A trailing number that keeps the same single item stays (a year, a size); a
/// leading one must name another item to stay, else it is the count ("5 Perfume No. 5").
fn number_is_part(with: &Match, without: &Match, same_item_keeps: bool) -> bool {
    match (with, without) {
        (Match::One(a), Match::One(b)) => same_item_keeps || a != b,
        (Match::One(_), _) => true,
        (Match::Many(a), Match::Many(b)) => a.len() < b.len(),
        (Match::Many(_), Match::None) => true,
        _ => false,
    }
}

fn names_a_product(keys: &[&str], catalog: &Catalog) -> bool {
    keys.iter().any(|w| catalog.is_noun(w) && !is_number(w)) || catalog.is_phrase(&keys.join(" "))
}

/// Bind each mention to its quantity.
pub fn read_line(line: &str, catalog: &Catalog) -> (Vec<Word>, Vec<Reading>) {
    let words = words(line, catalog);
    let found = mentions(&words, catalog);
    let lower: Vec<&str> = words.iter().map(|w| w.lower.as_str()).collect();
    let mut out = Vec::new();
    let mut floor = 0;
    for (n, m) in found.iter().enumerate() {
        let ceil = found.get(n + 1).map_or(words.len(), |next| next.from);
        // "Model WB-500 Water Bottle": a number glued to letters before it is a model number,
        // never a count.
        let glued = |k: usize| {
            k > 0
                && words[k - 1].token == words[k].token
                && words[k - 1].lower.chars().any(char::is_alphabetic)
        };
        let before = before(&lower, floor, m.from).filter(|&(_, bk, _)| !glued(bk));
        let after = after(&lower, m.to, ceil);
        let (amount, bound, qfrom, qto) = match (before, after) {
            (Some((b, bk, _)), Some((a, ak, _))) => {
                // "a Notebook A4 x3": the marked count wins over an article.
                if matches!(
                    lower[bk],
                    "a" | "an"
                        | "un"
                        | "une"
                        | "ein"
                        | "eine"
                        | "een"
                        | "una"
                        | "uno"
                        | "um"
                        | "uma"
                ) || a == b
                {
                    (Some(a), Bound::After, m.from, ak)
                } else {
                    // Two different counts for one product: ask.
                    (Some(Amount::Vague), Bound::After, bk, ak)
                }
            }
            (Some((b, bk, _)), None) => (Some(b), Bound::Before, bk, m.to),
            (None, Some((a, ak, _))) => (Some(a), Bound::After, m.from, ak),
            (None, None) => (None, Bound::None, m.from, m.to),
        };
        // "1 x Espresso Cup" is not the shop's only cup: a word of the customer's own right
        // before a partial name makes it a product we do not know.
        let mut mention = m.clone();
        let qend = before.map_or(m.from, |(_, _, end)| end);
        if bound == Bound::Before && !m.exact && m.from > qend {
            let prev = lower[m.from - 1];
            if prev.chars().all(char::is_alphabetic)
                && !FILLER.contains(&prev)
                && !is_unit(prev)
                && quantity_at(&[prev], 0).is_none()
            {
                mention.found = Match::None;
            }
        }
        // "mug boxes 100 pcs", "2 notebook refills": a product named by its noun, in the
        // singular, right before a plural word of the customer's own modifies that word; the count is for
        // the boxes, not the mugs. Quoting mugs would be wrong, so it is a product we do not
        // know (and asked about, or not an order at all).
        if amount.is_some() && modifies_next(&words, m, catalog) {
            mention.found = Match::None;
        }
        let next = lower.get(m.to).copied().unwrap_or("");
        let ends_clean = next.is_empty()
            || is_joiner(next)
            || SENTENCE_END.contains(&next)
            || (bound == Bound::After && qto > m.to && after.is_some_and(|(_, _, at)| at == m.to));
        floor = qto.max(m.to);
        out.push(Reading {
            mention,
            amount,
            bound,
            span: (words[qfrom].start, words[qto - 1].end),
            name: (words[m.from].start, words[m.to - 1].end),
            ends_clean,
        });
    }
    (words, out)
}

/// Whether the product words `m` stand as a modifier before a plural noun the catalog does
/// not know ("mug boxes", "notebook refills"), read from the written English plural. Only a
/// word that ends the product's own name counts ("mug" of "Blue Glazed Mug"): in "2 blue
/// muggs" the noun after is the mug, misspelt.
fn modifies_next(words: &[Word], m: &Mention, catalog: &Catalog) -> bool {
    /// Words ending in "s" that follow a product without being what is ordered.
    const NOT_PLURAL_NOUNS: &[&str] = &[
        "thanks", "gracias", "cheers", "plus", "pls", "thx", "tks", "as", "is", "was", "has",
        "does", "goes", "looks", "seems", "ones", "its", "his", "hers", "ours", "yours", "theirs",
        "this", "us", "yes", "please", "always", "also", "less", "unless",
    ];
    let (Some(last), Some(next)) = (
        m.to.checked_sub(1).and_then(|k| words.get(k)),
        words.get(m.to),
    ) else {
        return false;
    };
    let singular = last.known.as_deref() == Some(last.lower.as_str()) || !last.lower.ends_with('s');
    let plural_noun = next.known.is_none()
        && next.sku.is_none()
        && next.lower.chars().count() >= 4
        && next.lower.chars().all(char::is_alphabetic)
        && next.lower.ends_with('s')
        && !next.lower.ends_with("ss")
        && !NOT_PLURAL_NOUNS.contains(&next.lower.as_str())
        && !FILLER.contains(&next.lower.as_str())
        && !is_unit(&next.lower)
        && quantity_at(&[next.lower.as_str()], 0).is_none();
    let ends_name = |i: &usize| {
        catalog.items.get(*i).is_some_and(|item| {
            item.name
                .split_whitespace()
                .next_back()
                .and_then(|w| normalize_word(&w.to_lowercase()))
                .is_some_and(|w| last.known.as_deref() == Some(w.as_str()))
        })
    };
    let head = match &m.found {
        Match::One(i) => ends_name(i),
        Match::Many(ids) => ids.iter().any(ends_name),
        Match::None => false,
    };
    singular && plural_noun && head
}

/// The quantity that ends right before a product, at or after `floor`: its amount and where
/// it starts. "half a dozen" beats the "a dozen" inside it.
fn before(lower: &[&str], floor: usize, from: usize) -> Option<(Amount, usize, usize)> {
    let mut best: Option<(Amount, usize, usize)> = None;
    let mut gap = 0;
    let mut extra = 0;
    let mut k = from;
    while k > floor {
        k -= 1;
        let w = lower[k];
        let abbreviation = w == "." && k > 0 && is_unit(lower[k - 1]);
        if ((is_joiner(w) && w != "&") || SENTENCE_END.contains(&w) || w == ":") && !abbreviation {
            break;
        }
        if k > 0 && lower[k - 1] == "/" {
            continue;
        }
        if let Some((amount, end)) = quantity_at(lower, k)
            && end <= from
            && lower[end..from].iter().all(|w| skippable(w))
        {
            match best {
                Some((_, _, e)) if end < e => {}
                _ => best = Some((amount, k, end)),
            }
            continue;
        }
        // Past a count, look a little further for the phrase it ends: "a third of a dozen".
        if best.is_some() {
            extra += 1;
            if extra > 3 {
                break;
            }
            continue;
        }
        if BARRIER.contains(&w) || is_number(w) {
            break;
        }
        if !FILLER.contains(&w) && !is_unit(w) && !abbreviation {
            gap += 1;
            // "2 of your lovely blue mugs": two words of the customer's own, no more.
            if gap > 2 {
                break;
            }
        }
    }
    best
}

fn skippable(w: &str) -> bool {
    FILLER.contains(&w) || is_unit(w) || !(BARRIER.contains(&w) || is_number(w) || is_joiner(w))
}

/// Words after a name that let a count still follow: "Bud Vase - just one".
const SOFT: &[&str] = &[
    "-",
    "–",
    ":",
    "=",
    "(",
    "just",
    "only",
    "the",
    "nur",
    "seulement",
    "juste",
    "solo",
    "sólo",
    "alleen",
    "apenas",
    "só",
    "solamente",
    "soltanto",
];

/// Words that close a request: "3 please", "4 of them", "sei pezzi grazie".
const COURTESY: &[&str] = &[
    "please", "pls", "plz", "thanks", "thank", "bitte", "danke", "merci", "svp", "gracias",
    "grazie", "bedankt", "obrigado", "obrigada", "por", "per", "s'il",
];

/// A count after a product, before `ceil`: "x2", "x 2", "(2)", "- 2", ": 2", "qty 2",
/// "2 pcs", "sei pezzi", ", 3 please", "(just the one)", or a count right after the name at
/// the end of the phrase. The amount, the index after it and where it starts.
fn after(lower: &[&str], to: usize, ceil: usize) -> Option<(Amount, usize, usize)> {
    let at = |k: usize| if k < ceil { lower[k] } else { "" };
    // A count of up to three digits, or a number word ("one", "sei", "zwei").
    let count = |k: usize| {
        let w = at(k);
        if is_number(w) {
            return (w.len() <= 3).then(|| w.parse::<i64>().unwrap_or(i64::MAX));
        }
        if is_article(w) {
            return None;
        }
        super::numbers::quantity_word(w)
    };
    let ends = |k: usize| {
        let w = lower.get(k).copied().unwrap_or("");
        if k >= ceil && k < lower.len() {
            return false;
        }
        w.is_empty()
            || is_joiner(w)
            || SENTENCE_END.contains(&w)
            || COURTESY.contains(&w)
            || matches!(w, ")" | "@" | "$" | "€" | "£")
            || (w == "of" && lower.get(k + 1) == Some(&"them"))
    };
    let mut j = to;
    let mut gap = 0;
    let mut soft = true;
    while j < ceil {
        let w = at(j);
        if w == "," || w == ";" {
            if let Some(n) = count(j + 1)
                && ends(j + 2)
            {
                return Some((Amount::Number(n), j + 2, j));
            }
            break;
        }
        if (is_joiner(w) && w != "&") || SENTENCE_END.contains(&w) {
            break;
        }
        if let Some(n) = marked_number(w) {
            return Some((Amount::Number(n), j + 1, j));
        }
        if matches!(w, "x" | "×" | "*")
            && let Some(n) = count(j + 1)
        {
            return Some((Amount::Number(n), j + 2, j));
        }
        if QTY_LABELS.contains(&w) {
            let k = if matches!(at(j + 1), ":" | "=" | ".") {
                j + 2
            } else {
                j + 1
            };
            if let Some(n) = count(k) {
                return Some((Amount::Number(n), k + 1, j));
            }
        }
        if is_number(w) || count(j).is_some() {
            let n = count(j)?;
            if is_unit(at(j + 1)) {
                let end = if at(j + 2) == "." { j + 3 } else { j + 2 };
                return Some((Amount::Number(n), end, j));
            }
            if soft && ends(j + 1) {
                let end = if at(j + 1) == ")" { j + 2 } else { j + 1 };
                return Some((Amount::Number(n), end, j));
            }
            // A count of something else, or of the next product.
            return None;
        }
        if !(SOFT.contains(&w) || is_unit(w)) {
            soft = false;
            gap += 1;
            if gap > 5 {
                break;
            }
        }
        j += 1;
    }
    None
}
