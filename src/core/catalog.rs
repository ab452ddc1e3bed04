//! The catalog and matching what a customer wrote against it.
//!
//! Everything a query needs is indexed once, when the catalog is built: exact names and
//! aliases, SKUs, which entries use each word, and the vocabulary's trigrams for typos. A
//! query then looks at the few entries that share its words, never at the whole catalog, so a
//! shop with 100,000 SKUs reads mail about as fast as one with 15.

use std::collections::{HashMap, HashSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogItem {
    pub sku: String,
    pub name: String,
    pub unit_price: Decimal,
    pub aliases: Vec<String>,
}

/// What a product text names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    One(usize),
    Many(Vec<usize>),
    None,
}

#[derive(Debug, Clone)]
struct Entry {
    /// Normalised name and aliases: an exact hit on any of these is a sure match.
    exact: Vec<String>,
    /// Word sets of the name and of each alias: a query whose words all fall in one matches.
    word_sets: Vec<HashSet<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub items: Vec<CatalogItem>,
    entries: Vec<Entry>,
    by_sku: HashMap<String, usize>,
    by_sku_key: HashMap<String, usize>,
    /// Normalised name or alias -> the entries that carry it.
    by_phrase: HashMap<String, Vec<usize>>,
    /// Word -> the entries whose name or an alias uses it (ascending, no repeats).
    by_word: HashMap<String, Vec<usize>>,
    /// Trigram of a padded vocabulary word -> the words that contain it, for typo lookups.
    by_trigram: HashMap<[char; 3], Vec<u32>>,
    words: Vec<String>,
    nouns: HashSet<String>,
    /// Some name or alias holds a number ("Notebook A4" does not, "12-piece Knife Set" does).
    pub has_numbers: bool,
}

/// Filler that carries no product meaning in an order line.
pub const STOP_WORDS: &[&str] = &[
    "the", "of", "a", "an", "please", "pls", "pcs", "pc", "piece", "unit", "my", "your", "those",
    "these", "that", "this", "for", "me", "us", "more", "also", "and", "plus", "x", "qty",
    "quantity", "each", "ea", "item", "items", "order", "some", "too",
];

impl Catalog {
    pub fn new(items: Vec<CatalogItem>) -> Catalog {
        let mut c = Catalog::default();
        let mut word_ids: HashMap<String, u32> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            let mut exact = vec![normalize(&item.name)];
            exact.extend(item.aliases.iter().map(|a| normalize(a)));
            exact.retain(|e| !e.is_empty());
            exact.dedup();
            let word_sets: Vec<HashSet<String>> = exact
                .iter()
                .map(|e| e.split(' ').map(str::to_string).collect())
                .collect();
            for e in &exact {
                let words: Vec<&str> = e.split(' ').collect();
                c.has_numbers |= words.iter().any(|w| is_number(w));
                if let Some(last) = words.iter().rev().find(|w| !is_number(w)) {
                    c.nouns.insert(last.to_string());
                }
                push_once(c.by_phrase.entry(e.clone()).or_default(), i);
                for w in words {
                    push_once(c.by_word.entry(w.to_string()).or_default(), i);
                    if !word_ids.contains_key(w) {
                        let id = c.words.len() as u32;
                        word_ids.insert(w.to_string(), id);
                        c.words.push(w.to_string());
                        for t in trigrams(w) {
                            c.by_trigram.entry(t).or_default().push(id);
                        }
                    }
                }
            }
            c.by_sku.entry(item.sku.clone()).or_insert(i);
            c.by_sku_key.entry(sku_key(&item.sku)).or_insert(i);
            c.entries.push(Entry { exact, word_sets });
        }
        c.items = items;
        c
    }

    pub fn get(&self, sku: &str) -> Option<&CatalogItem> {
        self.by_sku.get(sku).map(|&i| &self.items[i])
    }

    /// The entry whose SKU `text` is (any case, `_` for `-`, spaces ignored).
    pub fn sku(&self, text: &str) -> Option<usize> {
        self.by_sku_key.get(&sku_key(text)).copied()
    }

    /// Which item(s) `text` names: a SKU, a name or alias, or words that all occur in one.
    pub fn match_product(&self, text: &str) -> Match {
        if let Some(i) = self.sku(text) {
            return Match::One(i);
        }
        let norm = normalize(text);
        let words: Vec<String> = norm
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(|w| match self.correct(w) {
                Some(fixed) => fixed.to_string(),
                None => w.to_string(),
            })
            .collect();
        self.match_words(&words)
    }

    /// Which item(s) these normalised words name: a whole name or alias first, else the
    /// entries one of whose names holds every word.
    pub fn match_words<S: AsRef<str>>(&self, words: &[S]) -> Match {
        if words.is_empty() {
            return Match::None;
        }
        let phrase = words
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<&str>>()
            .join(" ");
        if let Some(found) = self.by_phrase.get(&phrase) {
            return one_or_many(found.clone());
        }
        let mut lists = Vec::with_capacity(words.len());
        for w in words {
            match self.by_word.get(w.as_ref()) {
                Some(list) => lists.push(list),
                None => return Match::None,
            }
        }
        lists.sort_by_key(|l| l.len());
        let subset: Vec<usize> = lists[0]
            .iter()
            .copied()
            .filter(|&i| {
                self.entries[i]
                    .word_sets
                    .iter()
                    .any(|set| words.iter().all(|w| set.contains(w.as_ref())))
            })
            .collect();
        one_or_many(subset)
    }

    /// Whether a text looks like it names a product at all (one of its words is a product
    /// noun), so that "41 Linden Avenue" is not taken for an order line.
    pub fn looks_like_product(&self, text: &str) -> bool {
        if self.sku(text).is_some() {
            return true;
        }
        normalize(text)
            .split(' ')
            .any(|w| self.nouns.contains(w) || self.correct(w).is_some_and(|f| self.is_noun(f)))
    }

    /// Whether normalised words are a whole name or alias.
    pub fn is_phrase(&self, phrase: &str) -> bool {
        self.by_phrase.contains_key(phrase)
    }

    /// Whether a normalised word ends a name or alias ("mug" in "Blue Glazed Mug").
    pub fn is_noun(&self, word: &str) -> bool {
        self.nouns.contains(word)
    }

    /// Whether a word is one the catalog uses; prose scanning stops at other words.
    pub fn knows_word(&self, word: &str) -> bool {
        self.by_word.contains_key(&singular(&word.to_lowercase()))
    }

    /// The catalog word a misspelt normalised word stands for: the one closest within the
    /// distance its length allows (none up to 3 letters, 1 up to 7, 2 beyond), and only if no
    /// other word is as close. `None` for a word the catalog already uses.
    pub fn correct(&self, word: &str) -> Option<&str> {
        if self.by_word.contains_key(word) || is_number(word) {
            return None;
        }
        let len = word.chars().count();
        if allowed_edits(len) == 0 {
            return None;
        }
        let grams = trigrams(word);
        let mut shared: HashMap<u32, usize> = HashMap::new();
        for g in &grams {
            if let Some(ids) = self.by_trigram.get(g) {
                for &id in ids {
                    *shared.entry(id).or_default() += 1;
                }
            }
        }
        let mut best: Option<(usize, &str)> = None;
        let mut tie = false;
        for (id, n) in shared {
            let cand = self.words[id as usize].as_str();
            let clen = cand.chars().count();
            let max = allowed_edits(len.min(clen));
            // Each edit spoils at most three trigrams, a swap of two letters four.
            if max == 0 || len.abs_diff(clen) > max || n + 4 * max < grams.len() {
                continue;
            }
            let d = strsim::osa_distance(word, cand);
            if d > max {
                continue;
            }
            match best {
                Some((bd, bw)) if d == bd && bw != cand => tie = true,
                Some((bd, _)) if d >= bd => {}
                _ => {
                    best = Some((d, cand));
                    tie = false;
                }
            }
        }
        if tie { None } else { best.map(|(_, w)| w) }
    }

    /// Up to three catalog names closest to what the customer wrote, best first.
    pub fn suggestions(&self, text: &str) -> Vec<String> {
        if let Match::Many(candidates) = self.match_product(text) {
            return candidates
                .iter()
                .take(5)
                .map(|&i| self.items[i].name.clone())
                .collect();
        }
        let norm = normalize(text);
        let mut words: HashSet<&str> = norm.split(' ').filter(|w| !w.is_empty()).collect();
        let fixed: Vec<&str> = words.iter().filter_map(|w| self.correct(w)).collect();
        words.extend(fixed);
        // Only entries that share a word can score; the rarest words say the most.
        let mut shared: HashMap<usize, usize> = HashMap::new();
        for w in &words {
            if let Some(list) = self.by_word.get(*w) {
                for &i in list.iter().take(5000) {
                    *shared.entry(i).or_default() += 1;
                }
            }
        }
        let mut near: Vec<(usize, usize)> = shared.into_iter().map(|(i, n)| (n, i)).collect();
        near.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        near.truncate(200);
        let mut scored: Vec<(f64, usize)> = near
            .into_iter()
            .map(|(_, i)| {
                let best = self.entries[i]
                    .exact
                    .iter()
                    .map(|name| {
                        let theirs: HashSet<&str> = name.split(' ').collect();
                        let shared = words.intersection(&theirs).count() as f64;
                        let overlap = shared / (words.len().max(theirs.len()).max(1) as f64);
                        overlap + strsim::jaro_winkler(&norm, name) * 0.5
                    })
                    .fold(0.0, f64::max);
                (best, i)
            })
            .filter(|(score, _)| *score >= 0.55)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut names: Vec<String> = Vec::new();
        for (_, i) in scored {
            if !names.contains(&self.items[i].name) {
                names.push(self.items[i].name.clone());
            }
            if names.len() == 3 {
                break;
            }
        }
        names
    }
}

fn push_once(list: &mut Vec<usize>, i: usize) {
    if list.last() != Some(&i) {
        list.push(i);
    }
}

/// How many edits a word of this many letters may carry and still be recognised.
pub fn allowed_edits(letters: usize) -> usize {
    match letters {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

fn trigrams(word: &str) -> Vec<[char; 3]> {
    let padded: Vec<char> = std::iter::once('^')
        .chain(word.chars())
        .chain(std::iter::once('$'))
        .collect();
    let mut out: Vec<[char; 3]> = padded.windows(3).map(|w| [w[0], w[1], w[2]]).collect();
    out.sort_unstable();
    out.dedup();
    out
}

pub fn is_number(word: &str) -> bool {
    !word.is_empty() && word.chars().all(|c| c.is_ascii_digit())
}

fn one_or_many(mut found: Vec<usize>) -> Match {
    found.sort_unstable();
    found.dedup();
    match found.len() {
        0 => Match::None,
        1 => Match::One(found[0]),
        _ => Match::Many(found),
    }
}

pub fn sku_key(text: &str) -> String {
    text.trim()
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| {
            if c == '_' {
                '-'
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect()
}

/// Lowercase words, punctuation gone, plurals singular, filler dropped.
pub fn normalize(text: &str) -> String {
    let lower = text.to_lowercase();
    let mut out = String::with_capacity(lower.len());
    for word in lower
        .split(|c: char| !c.is_alphanumeric())
        .flat_map(split_measure)
    {
        if let Some(w) = normalize_word(word) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&w);
        }
    }
    out
}

/// "500ml" is "500 ml", as the catalog may write it either way; "A4" stays whole.
pub fn split_measure(word: &str) -> impl Iterator<Item = &str> {
    let digits = word
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(word.len());
    let cut =
        if digits > 0 && digits < word.len() && word[digits..].chars().all(char::is_alphabetic) {
            digits
        } else {
            word.len()
        };
    [&word[..cut], &word[cut..]]
        .into_iter()
        .filter(|w| !w.is_empty())
}

/// One lowercase word as `normalize` keeps it: `None` for filler.
pub fn normalize_word(lower: &str) -> Option<String> {
    if lower.is_empty() || STOP_WORDS.contains(&lower) {
        return None;
    }
    Some(singular(lower))
}

/// English plural to singular, enough for product nouns ("mugs", "dishes", "glasses", "berries").
pub fn singular(word: &str) -> String {
    let n = word.len();
    if n > 4 && word.ends_with("ies") {
        return format!("{}y", &word[..n - 3]);
    }
    for suffix in ["sses", "shes", "ches", "xes", "zes"] {
        if n > suffix.len() + 1 && word.ends_with(suffix) {
            return word[..n - 2].to_string();
        }
    }
    if n > 3
        && word.ends_with('s')
        && !word.ends_with("ss")
        && !word.ends_with("us")
        && !word.ends_with("is")
    {
        return word[..n - 1].to_string();
    }
    word.to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::str::FromStr;

    pub fn sample() -> Catalog {
        let item = |sku: &str, name: &str, price: &str, aliases: &[&str]| CatalogItem {
            sku: sku.into(),
            name: name.into(),
            unit_price: Decimal::from_str(price).unwrap(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
        };
        Catalog::new(vec![
            item(
                "MUG-BLU",
                "Blue Glazed Mug",
                "18.00",
                &["blue mug", "cobalt mug"],
            ),
            item("MUG-GRN", "Green Speckled Mug", "19.50", &["green mug"]),
            item("MUG-RED", "Red Glazed Mug", "18.00", &["red mug"]),
            item("BOWL-RICE-S", "Small Rice Bowl", "12.00", &["small bowl"]),
            item("BOWL-RICE-L", "Large Rice Bowl", "16.00", &["large bowl"]),
            item(
                "TEAPOT-CI",
                "Cast Iron Teapot",
                "64.00",
                &["teapot", "tetsubin"],
            ),
            item("TEAPOT-CER", "Ceramic Teapot", "48.00", &[]),
            item("VASE-BUD", "Bud Vase", "22.00", &["small vase"]),
            item("TOWEL-LIN", "Linen Tea Towel", "11.00", &["tea towel"]),
        ])
    }

    #[test]
    fn matching_table() {
        let c = sample();
        let sku = |m: Match| match m {
            Match::One(i) => c.items[i].sku.clone(),
            Match::Many(v) => format!("many:{}", v.len()),
            Match::None => "none".into(),
        };
        let cases = [
            ("Blue Mug", "MUG-BLU"),
            ("blue mugs", "MUG-BLU"),
            ("BLUE GLAZED MUG", "MUG-BLU"),
            ("mug-blu", "MUG-BLU"),
            ("MUG BLU", "none"),
            ("teapot", "TEAPOT-CI"),
            ("Teapots", "TEAPOT-CI"),
            ("ceramic teapot", "TEAPOT-CER"),
            ("small rice bowls", "BOWL-RICE-S"),
            ("rice bowls", "many:2"),
            ("mug", "many:3"),
            ("Red Polka Dot Mug", "none"),
            ("tea towels", "TOWEL-LIN"),
            ("the bud vases please", "VASE-BUD"),
            ("", "none"),
            ("!!!", "none"),
        ];
        for (text, want) in cases {
            assert_eq!(sku(c.match_product(text)), want, "{text}");
        }
    }

    #[test]
    fn plurals() {
        for (p, s) in [
            ("mugs", "mug"),
            ("dishes", "dish"),
            ("glasses", "glass"),
            ("berries", "berry"),
            ("vases", "vase"),
            ("bus", "bus"),
        ] {
            assert_eq!(singular(p), s);
        }
    }

    #[test]
    fn suggestions_are_close_names() {
        let c = sample();
        let s = c.suggestions("Red Polka Dot Mug");
        assert_eq!(
            s.first().map(String::as_str),
            Some("Red Glazed Mug"),
            "{s:?}"
        );
        assert_eq!(c.suggestions("mug").len(), 3);
        assert!(c.looks_like_product("Red Polka Dot Mug"));
        assert!(!c.looks_like_product("Linden Avenue"));
    }
}
