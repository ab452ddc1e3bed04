//! The catalog and matching what a customer wrote against it.

use std::collections::HashSet;

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
    sku_key: String,
    /// Normalised name and aliases: an exact hit on any of these is a sure match.
    exact: Vec<String>,
    /// Word sets of the name and of each alias: a query whose words all fall in one matches.
    word_sets: Vec<HashSet<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub items: Vec<CatalogItem>,
    entries: Vec<Entry>,
    nouns: HashSet<String>,
    vocabulary: HashSet<String>,
}

/// Filler that carries no product meaning in an order line.
const STOP_WORDS: &[&str] = &[
    "the", "of", "a", "an", "please", "pls", "pcs", "pc", "piece", "unit", "my", "your", "those",
    "these", "that", "this", "for", "me", "us", "more", "also", "and", "plus", "x", "qty",
    "quantity", "each", "ea", "item", "items", "order", "some", "too",
];

impl Catalog {
    pub fn new(items: Vec<CatalogItem>) -> Catalog {
        let mut nouns = HashSet::new();
        let mut vocabulary = HashSet::new();
        let entries = items
            .iter()
            .map(|item| {
                let mut exact = vec![normalize(&item.name)];
                exact.extend(item.aliases.iter().map(|a| normalize(a)));
                exact.retain(|e| !e.is_empty());
                let word_sets: Vec<HashSet<String>> = exact
                    .iter()
                    .map(|e| e.split(' ').map(str::to_string).collect())
                    .collect();
                for e in &exact {
                    if let Some(last) = e.split(' ').next_back() {
                        nouns.insert(last.to_string());
                    }
                    vocabulary.extend(e.split(' ').map(str::to_string));
                }
                Entry {
                    sku_key: sku_key(&item.sku),
                    exact,
                    word_sets,
                }
            })
            .collect();
        Catalog {
            items,
            entries,
            nouns,
            vocabulary,
        }
    }

    pub fn get(&self, sku: &str) -> Option<&CatalogItem> {
        self.items.iter().find(|i| i.sku == sku)
    }

    /// Which item(s) `text` names: a SKU, a name or alias, or words that all occur in one.
    pub fn match_product(&self, text: &str) -> Match {
        let key = sku_key(text);
        if let Some(i) = self.entries.iter().position(|e| e.sku_key == key) {
            return Match::One(i);
        }
        let norm = normalize(text);
        if norm.is_empty() {
            return Match::None;
        }
        let exact: Vec<usize> = (0..self.entries.len())
            .filter(|&i| self.entries[i].exact.contains(&norm))
            .collect();
        if !exact.is_empty() {
            return one_or_many(exact);
        }
        let words: Vec<&str> = norm.split(' ').collect();
        let subset: Vec<usize> = (0..self.entries.len())
            .filter(|&i| {
                self.entries[i]
                    .word_sets
                    .iter()
                    .any(|set| words.iter().all(|w| set.contains(*w)))
            })
            .collect();
        one_or_many(subset)
    }

    /// Whether a text looks like it names a product at all (ends in one of our product nouns,
    /// or is mostly catalog words), so that "41 Linden Avenue" is not taken for an order line.
    pub fn looks_like_product(&self, text: &str) -> bool {
        if self.entries.iter().any(|e| e.sku_key == sku_key(text)) {
            return true;
        }
        let norm = normalize(text);
        let words: Vec<&str> = norm.split(' ').filter(|w| !w.is_empty()).collect();
        let Some(last) = words.last() else {
            return false;
        };
        self.nouns.contains(*last) || words.iter().any(|w| self.nouns.contains(*w))
    }

    /// Whether a word is one the catalog uses; prose scanning stops at other words.
    pub fn knows_word(&self, word: &str) -> bool {
        self.vocabulary.contains(&singular(&word.to_lowercase()))
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
        let words: HashSet<&str> = norm.split(' ').filter(|w| !w.is_empty()).collect();
        let mut scored: Vec<(f64, usize)> = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let best = e
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
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
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

fn one_or_many(mut found: Vec<usize>) -> Match {
    match found.len() {
        0 => Match::None,
        1 => Match::One(found[0]),
        _ => {
            found.dedup();
            Match::Many(found)
        }
    }
}

fn sku_key(text: &str) -> String {
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
    for word in lower.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() || STOP_WORDS.contains(&word) {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&singular(word));
    }
    out
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
