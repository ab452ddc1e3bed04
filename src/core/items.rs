//! Finding the products and quantities a customer asks for, in list lines, table rows and prose.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::catalog::{Catalog, Match};
use super::numbers::{is_vague_quantity, quantity_word};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemLine {
    pub sku: String,
    pub quantity: u32,
    pub line: String,
}

/// Why a requested line could not become an order line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// Names nothing in the catalog.
    Unknown,
    /// Names several items; the candidates are in `suggestions`.
    Ambiguous,
    /// The product is clear but the quantity is not usable.
    Quantity,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmatched {
    pub line: String,
    pub problem: Problem,
    /// Closest catalog names, best first.
    pub suggestions: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Requested {
    pub items: Vec<ItemLine>,
    pub unmatched: Vec<Unmatched>,
}

impl Requested {
    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.unmatched.is_empty()
    }
    pub fn has_quantity_problem(&self) -> bool {
        self.unmatched
            .iter()
            .any(|u| u.problem == Problem::Quantity)
    }
}

static BULLET: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:[-*•·–]+\s+|[*•·]\s*)").unwrap());
static NUMBERED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\d{1,2}[.)]\s+").unwrap());
/// "2 x Blue Mug", "2x blue mug", "(1) Bud Vase", "1 Cast Iron Teapot", "3 pcs sake cups".
static QTY_FIRST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:\((?P<q1>-?\d+)\)|(?P<q2>-?\d+)\s*(?P<mark>[x×*]|pcs?\.?|pieces?|units?|stk\.?|uds?\.?)?)(?:\s*[-–:]\s*|\s+(?:of\s+)?|(?-i:\b))\s*(?P<p>\S.*)$")
        .unwrap()
});
/// "Blue mug x2", "Blue Mug - qty: 3", "MUG-BLU qty 4", "Blue Mug: 2", "Blue Mug (2)", "Blue Mug - 2".
static QTY_LAST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?P<p>.*?\S)(?:\s+[x×*]\s*(?P<q1>-?\d+)|\s*×\s*(?P<q6>-?\d+)|\s*[-–:,]?\s*\(?(?:qty|quantity|qté|quantité|menge|anzahl|cantidad|cant)\.?\s*[:=]?\s*(?P<q2>-?\d+)\s*\)?|:\s*(?P<q3>-?\d+)|\s[-–]\s*(?P<q4>-?\d+)|\s*\((?P<q5>-?\d+)\))\s*$")
        .unwrap()
});
/// "Qty 2 - Teapot", "Quantity: 3 Blue Mugs".
static QTY_LABEL_FIRST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:qty|quantity|qté|menge|anzahl|cantidad)\.?\s*[:=]?\s*(?P<q>-?\d+)\s*(?:[-–:x×]\s*)?(?P<p>\S.*)$").unwrap()
});
/// Prices and trailing courtesy that follow a product name: "@ $18", "($18.00 each)", "please".
static TRAILER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\s*(?:[@=]\s*.*|\(\s*[$€£¥]?\s*\d[\d.,]*\s*(?:each|ea\.?|usd|eur)?\s*\)|[-–,]?\s*[$€£¥]\s*\d[\d.,]*.*|\bat\s+[$€£¥]?\d.*|[,.;!]*\s*(?:please|pls|thanks?|thank you)\b.*|[.,;:!?]+)$").unwrap()
});
static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[\p{L}\p{N}][\p{L}\p{N}'’\-]*|[,.;:!?()/&+|]").unwrap());

/// Words that end a product phrase in prose.
const PHRASE_END: &[&str] = &[
    "and",
    "or",
    "with",
    "for",
    "to",
    "please",
    "in",
    "from",
    "at",
    "by",
    "on",
    "as",
    "if",
    "but",
    "so",
    "plus",
    "also",
    "than",
    "that",
    "which",
    "because",
    "thanks",
    "thank",
    "asap",
    "today",
    "tomorrow",
    "instead",
    "now",
    "shipped",
    "sent",
    "delivered",
    "would",
    "will",
    "could",
    "can",
    "is",
    "are",
    "was",
    "were",
    "be",
    "each",
    "total",
    "i",
    "we",
    "you",
    "it",
    "they",
];
/// Words between a quantity and the product that carry nothing.
const PHRASE_SKIP: &[&str] = &[
    "of",
    "the",
    "x",
    "×",
    "more",
    "extra",
    "additional",
    "pieces",
    "pcs",
    "your",
    "those",
    "these",
    "new",
];
const MAX_PHRASE_WORDS: usize = 6;

/// Scan the body's lines (minus those in `skip`, e.g. the address) for requested products.
pub fn find_items(
    lines: &[&str],
    skip: &[usize],
    catalog: &Catalog,
    max_quantity: u32,
) -> Requested {
    let mut out = Requested::default();
    for (i, raw) in lines.iter().enumerate() {
        if skip.contains(&i) {
            continue;
        }
        scan_line(raw, catalog, max_quantity, &mut out);
    }
    out
}

fn scan_line(raw: &str, catalog: &Catalog, max_quantity: u32, out: &mut Requested) {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.len() > 1000 {
        return;
    }
    let mut line = BULLET.replace(trimmed, "").trim().to_string();
    // "1. Blue Glazed Mug x 2": a numbered list, when the rest carries its own quantity.
    if let Some(m) = NUMBERED.find(&line) {
        let rest = &line[m.end()..];
        if list_shape(rest).is_some() {
            line = rest.to_string();
        }
    }
    if line.is_empty() {
        return;
    }
    if line.contains(" | ") {
        if let Some((product, qty)) = table_row(&line) {
            resolve(
                &line,
                product,
                Qty::Number(qty),
                catalog,
                max_quantity,
                true,
                out,
            );
        }
        return;
    }
    if let Some((product, qty, explicit)) = list_shape(&line) {
        let product = clean_product(product);
        match catalog.match_product(product) {
            Match::None => {}
            _ => {
                resolve(&line, product, qty, catalog, max_quantity, explicit, out);
                return;
            }
        }
        let before = out.items.len() + out.unmatched.len();
        scan_prose(&line, catalog, max_quantity, out);
        if out.items.len() + out.unmatched.len() == before
            && (explicit || catalog.looks_like_product(product))
        {
            resolve(&line, product, qty, catalog, max_quantity, true, out);
        }
        return;
    }
    scan_prose(&line, catalog, max_quantity, out);
}

#[derive(Debug, Clone, Copy)]
enum Qty {
    Number(i64),
    Vague,
}

/// The list shapes: product text, quantity, and whether an explicit marker ("x", "qty", "(n)")
/// made it an order line beyond doubt.
fn list_shape(line: &str) -> Option<(&str, Qty, bool)> {
    let num = |s: &str| {
        s.parse::<i64>()
            .ok()
            .map(Qty::Number)
            .unwrap_or(Qty::Number(i64::MAX))
    };
    if let Some(c) = QTY_LABEL_FIRST.captures(line) {
        return Some((c.name("p")?.as_str(), num(&c["q"]), true));
    }
    if let Some(c) = QTY_LAST.captures(line) {
        let q = ["q1", "q2", "q3", "q4", "q5", "q6"]
            .iter()
            .find_map(|n| c.name(n))?;
        let explicit = c.name("q4").is_none() && c.name("q3").is_none();
        return Some((c.name("p")?.as_str(), num(q.as_str()), explicit));
    }
    if let Some(c) = QTY_FIRST.captures(line) {
        let q = c.name("q1").or(c.name("q2"))?;
        let explicit = c.name("q1").is_some() || c.name("mark").is_some();
        return Some((c.name("p")?.as_str(), num(q.as_str()), explicit));
    }
    None
}

fn table_row(line: &str) -> Option<(&str, i64)> {
    let cells: Vec<&str> = line
        .split(" | ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    let qty = cells.iter().find_map(|c| c.parse::<i64>().ok())?;
    let product = cells
        .iter()
        .find(|c| c.parse::<i64>().is_err() && c.chars().any(char::is_alphabetic))?;
    Some((product, qty))
}

fn clean_product(product: &str) -> &str {
    let trimmed = product.trim();
    match TRAILER.find(trimmed) {
        Some(m) if m.start() > 0 => trimmed[..m.start()].trim(),
        _ => trimmed,
    }
}

fn resolve(
    line: &str,
    product: &str,
    qty: Qty,
    catalog: &Catalog,
    max_quantity: u32,
    report_unknown: bool,
    out: &mut Requested,
) {
    let unmatched = |problem, suggestions| Unmatched {
        line: line.to_string(),
        problem,
        suggestions,
    };
    match catalog.match_product(product) {
        Match::One(i) => {
            let item = &catalog.items[i];
            match qty {
                Qty::Number(n) if n >= 1 && n <= i64::from(max_quantity) => {
                    out.items.push(ItemLine {
                        sku: item.sku.clone(),
                        quantity: n as u32,
                        line: line.to_string(),
                    })
                }
                _ => out
                    .unmatched
                    .push(unmatched(Problem::Quantity, vec![item.name.clone()])),
            }
        }
        Match::Many(_) => out
            .unmatched
            .push(unmatched(Problem::Ambiguous, catalog.suggestions(product))),
        Match::None if report_unknown => out
            .unmatched
            .push(unmatched(Problem::Unknown, catalog.suggestions(product))),
        Match::None => {}
    }
}

/// "could I get three of the small rice bowls and a teapot": a quantity word, then the words
/// up to a phrase break are the product.
fn scan_prose(line: &str, catalog: &Catalog, max_quantity: u32, out: &mut Requested) {
    let tokens: Vec<(usize, &str)> = TOKEN
        .find_iter(line)
        .map(|m| (m.start(), m.as_str()))
        .collect();
    let lower: Vec<String> = tokens.iter().map(|(_, t)| t.to_lowercase()).collect();
    let mut i = 0;
    while i < tokens.len() {
        let Some((qty, mut j)) = quantity_at(&lower, i) else {
            i += 1;
            continue;
        };
        while j < tokens.len() && PHRASE_SKIP.contains(&lower[j].as_str()) {
            j += 1;
        }
        let start = j;
        while j < tokens.len()
            && j - start < MAX_PHRASE_WORDS
            && tokens[j]
                .1
                .chars()
                .next()
                .is_some_and(char::is_alphanumeric)
            && !PHRASE_END.contains(&lower[j].as_str())
            && quantity_at(&lower, j).is_none_or(|_| catalog.knows_word(&lower[j]))
        {
            j += 1;
        }
        if j == start {
            i += 1;
            continue;
        }
        let phrase_start = tokens[start].0;
        let last = tokens[j - 1];
        let phrase = &line[phrase_start..last.0 + last.1.len()];
        let text = &line[tokens[i].0..last.0 + last.1.len()];
        let is_product = !matches!(catalog.match_product(phrase), Match::None)
            || catalog.looks_like_product(phrase);
        if is_product {
            resolve(text, phrase, qty, catalog, max_quantity, true, out);
            i = j;
        } else {
            i += 1;
        }
    }
}

/// A quantity starting at token `i`: the quantity and the index after it.
fn quantity_at(lower: &[String], i: usize) -> Option<(Qty, usize)> {
    let word = lower.get(i)?.as_str();
    let next = lower.get(i + 1).map(String::as_str);
    if matches!(word, "a" | "an") {
        match next {
            Some("couple" | "pair") => return Some((Qty::Number(2), skip_of(lower, i + 2))),
            Some("dozen") => return Some((Qty::Number(12), skip_of(lower, i + 2))),
            Some("few" | "bunch" | "lot" | "number") => {
                return Some((Qty::Vague, skip_of(lower, i + 2)));
            }
            _ => {}
        }
    }
    if is_vague_quantity(word) {
        return Some((Qty::Vague, skip_of(lower, i + 1)));
    }
    if word.chars().all(|c| c.is_ascii_digit()) {
        return Some((Qty::Number(word.parse().unwrap_or(i64::MAX)), i + 1));
    }
    quantity_word(word).map(|n| (Qty::Number(n), i + 1))
}

fn skip_of(lower: &[String], i: usize) -> usize {
    if lower.get(i).is_some_and(|w| w == "of") {
        i + 1
    } else {
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::catalog::tests::sample;

    fn run(text: &str) -> (Vec<(String, u32)>, Vec<String>) {
        let c = sample();
        let lines: Vec<&str> = text.lines().collect();
        let r = find_items(&lines, &[], &c, 999);
        (
            r.items.into_iter().map(|i| (i.sku, i.quantity)).collect(),
            r.unmatched.into_iter().map(|u| u.line).collect(),
        )
    }

    #[test]
    fn list_shapes() {
        let cases: &[(&str, &str, u32)] = &[
            ("2 x Blue Mug", "MUG-BLU", 2),
            ("2x blue mug", "MUG-BLU", 2),
            ("Blue mug x2", "MUG-BLU", 2),
            ("Blue Mug - qty: 3", "MUG-BLU", 3),
            ("(1) Bud Vase", "VASE-BUD", 1),
            ("Qty 2 - Teapot", "TEAPOT-CI", 2),
            ("- 1 Cast Iron Teapot", "TEAPOT-CI", 1),
            ("MUG-BLU qty 4", "MUG-BLU", 4),
            ("* 3 tea towels", "TOWEL-LIN", 3),
            ("Blue Mug: 2", "MUG-BLU", 2),
            ("BLUE MUGS x 5", "MUG-BLU", 5),
            ("2 × Green Mug", "MUG-GRN", 2),
            ("Blue Glazed Mug | 2", "MUG-BLU", 2),
            ("Blue Glazed Mug | 2 | $36.00", "MUG-BLU", 2),
            ("2 x Blue Mug @ $18.00", "MUG-BLU", 2),
            ("• 2 Bud Vases", "VASE-BUD", 2),
            ("Small Rice Bowl (4)", "BOWL-RICE-S", 4),
            ("Blue mug X 2", "MUG-BLU", 2),
            ("1. Blue Glazed Mug x 2", "MUG-BLU", 2),
            ("3) Small Rice Bowl - qty 4", "BOWL-RICE-S", 4),
            ("blue mug×3", "MUG-BLU", 3),
            ("2 tetsubin please", "TEAPOT-CI", 2),
        ];
        for (text, sku, q) in cases {
            let (items, un) = run(text);
            assert_eq!(
                items,
                vec![(sku.to_string(), *q)],
                "{text} unmatched={un:?}"
            );
        }
    }

    #[test]
    fn prose() {
        let (items, un) = run("Hi! could I get three of the small rice bowls and a teapot?");
        assert_eq!(
            items,
            vec![("BOWL-RICE-S".into(), 3), ("TEAPOT-CI".into(), 1)],
            "{un:?}"
        );
        let (items, _) = run("I'd like a couple of green mugs and twelve tea towels please.");
        assert_eq!(items, vec![("MUG-GRN".into(), 2), ("TOWEL-LIN".into(), 12)]);
        let (items, un) = run("2 blue mugs, 1 teapot");
        assert_eq!(
            items,
            vec![("MUG-BLU".into(), 2), ("TEAPOT-CI".into(), 1)],
            "{un:?}"
        );
    }

    #[test]
    fn unmatched_and_not_items() {
        assert_eq!(
            run("1 x Red Polka Dot Mug").1,
            vec!["1 x Red Polka Dot Mug"]
        );
        assert_eq!(run("2 mugs").1, vec!["2 mugs"]);
        assert_eq!(run("0 x Bud Vase").1, vec!["0 x Bud Vase"]);
        assert_eq!(run("some blue mugs").1, vec!["some blue mugs"]);
        for text in [
            "41 Linden Avenue",
            "Portland, OR 97205",
            "Austin, TX 78701",
            "I need them by 12 December",
            "I have a question about shipping",
            "Product | Qty",
            "Thanks a lot!",
            "Call me at 555 1234",
        ] {
            assert_eq!(run(text), (vec![], vec![]), "{text}");
        }
    }
}
