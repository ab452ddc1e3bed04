//! Finding the products and quantities a customer asks for, in list lines, table rows and prose.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::catalog::{Catalog, Match};
use super::mentions::{Bound, Reading, read_line};
use super::numbers::{Amount as Qty, is_article, quantity_at};

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
    /// What each line of the text gave and why, for `parse --explain`.
    #[serde(skip)]
    pub notes: Vec<Note>,
}

/// What the reader made of one line of the order text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub line: String,
    pub said: String,
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
// Word boundaries below are spelt out, (?:^|\W) and (?:$|\W): with a Unicode \b the regex
// crate leaves its fast engines on any line with a non-ASCII letter (see address::re).
/// Prices and trailing courtesy that follow a product name: "@ $18", "($18.00 each)", "please".
static TRAILER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\s*(?:[@=]\s*.*|\(\s*[$€£¥]?\s*\d[\d.,]*\s*(?:each|ea\.?|usd|eur)?\s*\)|[-–,]?\s*[$€£¥]\s*\d[\d.,]*.*|(?:^|\W)at\s+[$€£¥]?\d.*|[,.;!]*\s*(?:please|pls|thanks?|thank you)(?:\W.*)?|[.,;:!?]+)$").unwrap()
});

/// "forget the teapot", "streich die Teekanne", "annulez le bol": leave out what follows.
pub(crate) static REMOVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|\W)(?:doch nicht|lieber nicht|nicht mehr|after all|forget|cancel|scratch|remove|drop|skip|delete|leave out|take off|no (?:more|need for)|no longer (?:need|want)|(?:don'?t|do not) (?:need|want)|streich\w*|vergiss|vergessen sie|storniere\w*|ohne|annule\w*|oublie\w*|olvida\w*|cancela\w*|quita\w*|sin|togli\w*|annulla\w*|dimentica\w*|senza|vergeet|annuleer\w*|zonder|esquece\w*|cancele\w*|retire\w*|sem)(?:$|\W)").unwrap()
});
/// "P.S. better make it four", "actually 3 instead of 2", "lieber drei": change an amount.
static CHANGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|\W)(?:make (?:it|that|them|those|this)|change (?:it |that |them |this )?to|instead|rather|actually|correction|statt|anstatt|lieber|doch|au lieu|plutôt|finalement|en (?:vez|lugar)|mejor|invece|anzi|in plaats|liever|em vez|aliás)(?:$|\W)").unwrap()
});
/// The phrase before the old amount in "3 instead of 2".
pub(crate) static INSTEAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|\W)(?:instead of|rather than|statt|anstatt|au lieu de|en (?:vez|lugar) de|invece di|in plaats van|em vez de)(?:$|\W)").unwrap()
});
/// A line that asks to buy: a product named in it without a count is a question, not noise.
static REQUEST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|\W)(?:want|(?:would|\w+'d|i|we)\s+like|order|need|send|get|buy|take|add|please|(?:can|could|may)\s+(?:i|we)\s+have|i'?ll\s+have|decided|möchte|hätte|bestell\w*|brauche|bitte|voudrais|aimerais|commande\w*|besoin|quiero|quisiera|pedir|necesito|por favor|vorrei|ordinare|per favore|wil|graag|bestellen|queria|quero|gostaria|encomendar)(?:$|\W)").unwrap()
});

/// Scan the body's lines (minus those in `skip`, e.g. the address) for requested products.
pub fn find_items(
    lines: &[&str],
    skip: &[usize],
    catalog: &Catalog,
    max_quantity: u32,
) -> Requested {
    let mut out = Requested::default();
    for line in join_wrapped(lines, skip, catalog) {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.len() > 1000 {
            continue;
        }
        if correction(trimmed, catalog, max_quantity, &mut out) {
            continue;
        }
        let before = (out.items.len(), out.unmatched.len(), out.notes.len());
        scan_line(trimmed, catalog, max_quantity, &mut out);
        if (out.items.len(), out.unmatched.len(), out.notes.len()) == before {
            out.note(trimmed, "nothing from the catalog".into());
        }
    }
    out
}

impl Requested {
    fn note(&mut self, line: &str, said: String) {
        self.notes.push(Note {
            line: line.to_string(),
            said,
        });
    }
}

/// Lines a mail client broke inside a product name ("2 x Cast Iron" / "Teapot"), put back.
fn join_wrapped(lines: &[&str], skip: &[usize], catalog: &Catalog) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if skip.contains(&i) {
            i += 1;
            continue;
        }
        let line = lines[i].trim();
        let next = lines.get(i + 1).map(|l| l.trim()).unwrap_or("");
        let wraps = !next.is_empty()
            && !skip.contains(&(i + 1))
            && line.chars().last().is_some_and(char::is_alphabetic)
            && next.chars().next().is_some_and(char::is_alphabetic)
            && line
                .rsplit(|c: char| !c.is_alphanumeric())
                .next()
                .is_some_and(|w| catalog.knows_word(w))
            && {
                // Joined, a name must run across the break and name one item.
                let joined = format!("{line} {next}");
                let words = super::mentions::words(&joined, catalog);
                // ...and the part before the break must not be a whole name already:
                // "Qty 3 - Blue Mug" then "Blue Mug x2" are two lines.
                super::mentions::mentions(&words, catalog).iter().any(|m| {
                    let tail: Vec<&str> = words[m.from..m.to]
                        .iter()
                        .filter(|w| w.start < line.len())
                        .filter_map(|w| w.known.as_deref())
                        .collect();
                    matches!(m.found, Match::One(_))
                        && words[m.from].start < line.len()
                        && words[m.to - 1].end > line.len()
                        && !catalog.is_phrase(&tail.join(" "))
                        && words[m.from].sku.is_none()
                })
            };
        if wraps {
            out.push(format!("{line} {next}"));
            i += 2;
        } else {
            out.push(line.to_string());
            i += 1;
        }
    }
    out
}

fn scan_line(trimmed: &str, catalog: &Catalog, max_quantity: u32, out: &mut Requested) {
    let mut line = BULLET.replace(trimmed, "").trim().to_string();
    // A bulleted line is an order line even when it only names a product.
    let listed = line.len() != trimmed.len();
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
    // "12-piece Knife Set": a number the name needs is no quantity.
    let shape = list_shape(&line).filter(|_| {
        !catalog.has_numbers
            || !matches!(catalog.match_product(clean_product(&line)), Match::One(_))
    });
    if let Some((raw_product, qty, explicit)) = shape {
        let product = clean_product(raw_product);
        // "3 notebooks please and one Fountain Pen No. 7": what the courtesy cut off may
        // name another product, which the mention reading finds.
        let more = raw_product
            .trim()
            .get(product.len()..)
            .is_some_and(|rest| catalog.looks_like_product(rest));
        if more && anchored(&line, listed, catalog, max_quantity, out) {
            return;
        }
        if catalog.match_product(product) != Match::None {
            resolve(&line, product, qty, catalog, max_quantity, explicit, out);
            return;
        }
        if anchored(&line, listed, catalog, max_quantity, out) {
            return;
        }
        // "D02 X285" (an Eircode) has the shape of "Mug X2" but no word to name a product.
        let has_word = product
            .split(|c: char| !c.is_alphabetic())
            .any(|w| w.chars().count() >= 3);
        if has_word && (explicit || catalog.looks_like_product(product)) {
            resolve(&line, product, qty, catalog, max_quantity, true, out);
        }
        return;
    }
    anchored(&line, listed, catalog, max_quantity, out);
}

/// Read the products the line names, each with its quantity. Whether anything was found.
fn anchored(
    line: &str,
    listed: bool,
    catalog: &Catalog,
    max_quantity: u32,
    out: &mut Requested,
) -> bool {
    let (_, readings) = read_line(line, catalog);
    if readings.is_empty() {
        return false;
    }
    let asks = REQUEST.is_match(line);
    let before = (out.items.len(), out.unmatched.len());
    for r in readings {
        let text = &line[r.span.0..r.span.1];
        let name = &line[r.name.0..r.name.1];
        let bare = listed
            && line
                .trim_matches(|c: char| !c.is_alphanumeric())
                .eq_ignore_ascii_case(name);
        let said = describe(catalog, &r);
        match r.amount {
            // A typo of a catalog word counts only with a real count beside it: "a dear
            // friend" must not become a pear.
            _ if r.mention.corrected
                && (r.amount.is_none()
                    || r.bound == Bound::Before
                        && counts_by_article(line, &r)
                        && !asks
                        && r.mention.to - r.mention.from < 2) =>
            {
                out.note(
                    line,
                    format!("{said}: a near spelling without a count, set aside"),
                );
            }
            _ if r.mention.weak
                && (r.amount.is_none()
                    || r.bound == Bound::Before && counts_by_article(line, &r)
                    || !r.ends_clean) =>
            {
                out.note(
                    line,
                    format!("{said}, by a word that is no product on its own: set aside"),
                );
            }
            None if !(asks || bare) => {
                out.note(
                    line,
                    format!("{said} without a count or a request to buy: set aside"),
                );
            }
            None if r.mention.found == Match::None => {
                out.note(line, format!("{said} without a count: set aside"));
            }
            None if asks && the_one(line, &r) => {
                out.note(
                    line,
                    format!("{said}, quantity 1: \"the\" and one of it, asked for"),
                );
                push_found(
                    text,
                    name,
                    &r.mention.found,
                    Qty::Number(1),
                    catalog,
                    max_quantity,
                    out,
                );
            }
            None => {
                out.note(line, format!("{said}, no count: asking how many"));
                push_found(
                    line,
                    name,
                    &r.mention.found,
                    Qty::Vague,
                    catalog,
                    max_quantity,
                    out,
                );
            }
            Some(q) => {
                out.note(
                    line,
                    format!(
                        "{said}, {}",
                        amount_reason(q, r.bound, &line[r.span.0..r.span.1])
                    ),
                );
                push_found(text, name, &r.mention.found, q, catalog, max_quantity, out);
            }
        }
    }
    (out.items.len(), out.unmatched.len()) != before
}

/// "I'd like the teapot", "decided on the Fountain Pen No. 7": a definite article before a
/// singular name asks for one.
fn the_one(line: &str, r: &Reading) -> bool {
    let before = line[..r.name.0].trim_end();
    let article = before
        .rsplit(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("")
        .to_lowercase();
    let singular = line[r.name.0..r.name.1]
        .rsplit(|c: char| !c.is_alphanumeric())
        .find(|w| w.chars().any(char::is_alphabetic))
        .is_some_and(|w| {
            let w = w.to_lowercase();
            crate::core::catalog::singular(&w) == w
        });
    singular
        && matches!(
            article.as_str(),
            "the" | "der" | "die" | "das" | "den" | "le" | "la" | "el" | "il" | "lo" | "het" | "de"
        )
}

fn counts_by_article(line: &str, r: &Reading) -> bool {
    let first = line[r.span.0..r.span.1]
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_lowercase();
    super::numbers::is_article(&first)
}

fn describe(catalog: &Catalog, r: &Reading) -> String {
    let typo = if r.mention.corrected {
        " (spelling folded)"
    } else {
        ""
    };
    match &r.mention.found {
        Match::One(i) => format!("names {}{typo}", catalog.items[*i].sku),
        Match::Many(v) => format!(
            "fits {} items equally ({}){typo}",
            v.len(),
            v.iter()
                .take(5)
                .map(|&i| catalog.items[i].sku.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Match::None => format!("catalog words that name no item{typo}"),
    }
}

fn amount_reason(q: Qty, bound: Bound, text: &str) -> String {
    let side = match bound {
        Bound::Before => "before the name",
        Bound::After => "after the name",
        Bound::None => "none",
    };
    match q {
        Qty::Number(n) => format!("quantity {n} from \"{text}\" ({side})"),
        Qty::Vague => format!("an unclear quantity in \"{text}\": asking how many"),
    }
}

/// Push what a mention found: an item, or the reason it cannot be one.
fn push_found(
    line: &str,
    name: &str,
    found: &Match,
    qty: Qty,
    catalog: &Catalog,
    max_quantity: u32,
    out: &mut Requested,
) {
    let unmatched = |problem, suggestions| Unmatched {
        line: line.to_string(),
        problem,
        suggestions,
    };
    match found {
        Match::One(i) => {
            let item = &catalog.items[*i];
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
        Match::Many(v) => out.unmatched.push(unmatched(
            Problem::Ambiguous,
            v.iter()
                .take(5)
                .map(|&i| catalog.items[i].name.clone())
                .collect(),
        )),
        Match::None => out
            .unmatched
            .push(unmatched(Problem::Unknown, catalog.suggestions(name))),
    }
}

/// A line that corrects what the message asked before: leave an item out, or change its
/// amount. Whether the line was one.
fn correction(line: &str, catalog: &Catalog, max_quantity: u32, out: &mut Requested) -> bool {
    let removes = REMOVE.find(line);
    let changes = CHANGE.is_match(line);
    if removes.is_none() && !changes {
        return false;
    }
    let (words, readings) = read_line(line, catalog);
    if let Some(cue) = removes {
        // Only what the cue is about: "forget the teapot", not every product in the line.
        let dropped: Vec<usize> = readings
            .iter()
            .filter(|r| {
                let near = |a: usize, b: usize| line[a..b].split_whitespace().count() <= 2;
                (r.name.0 >= cue.end() && near(cue.end(), r.name.0))
                    || (r.name.1 <= cue.start() && near(r.name.1, cue.start()))
            })
            .filter_map(|r| match r.mention.found {
                Match::One(i) => Some(i),
                _ => None,
            })
            .collect();
        if !dropped.is_empty() {
            for i in dropped {
                let sku = &catalog.items[i].sku;
                let had = out.items.len();
                out.items.retain(|it| &it.sku != sku);
                let said = if out.items.len() < had {
                    format!("leaves out {sku}, asked for above")
                } else {
                    format!("leaves out {sku}, which was not asked for above")
                };
                out.note(line, said);
            }
            return true;
        }
    }
    if !changes {
        return false;
    }
    let mut handled = false;
    for r in &readings {
        // "make that three bottles": of the bottles we sell, the one asked for above.
        let ordered = |i: &usize| out.items.iter().any(|it| it.sku == catalog.items[*i].sku);
        let one = match &r.mention.found {
            Match::One(i) => Some(*i),
            Match::Many(v) if v.iter().filter(|i| ordered(i)).count() == 1 => {
                v.iter().copied().find(|i| ordered(i))
            }
            _ => None,
        };
        if let (Some(i), Some(Qty::Number(n))) = (one, r.amount) {
            let i = &i;
            let sku = &catalog.items[*i].sku;
            if let Some(item) = out.items.iter_mut().find(|it| &it.sku == sku) {
                if n >= 1 && n <= i64::from(max_quantity) {
                    out.notes.push(Note {
                        line: line.to_string(),
                        said: format!("changes {sku} from {} to {n}", item.quantity),
                    });
                    item.quantity = n as u32;
                } else {
                    out.unmatched.push(Unmatched {
                        line: line.to_string(),
                        problem: Problem::Quantity,
                        suggestions: vec![catalog.items[*i].name.clone()],
                    });
                }
                handled = true;
            }
        }
    }
    if handled {
        return true;
    }
    if !readings.is_empty() || out.items.is_empty() {
        return false;
    }
    // "better make it four", "3 instead of 2": an amount that names no product.
    let lower: Vec<&str> = words.iter().map(|w| w.lower.as_str()).collect();
    let instead = INSTEAD.find(line).map(|m| m.start());
    let mut new = None;
    let mut old = None;
    let mut k = 0;
    while k < lower.len() {
        match quantity_at(&lower, k) {
            Some((Qty::Number(n), end)) if !(end == k + 1 && is_article(lower[k])) => {
                if instead.is_some_and(|at| words[k].start > at) {
                    old.get_or_insert(n);
                } else {
                    new = Some(n);
                }
                k = end;
            }
            _ => k += 1,
        }
    }
    let Some(n) = new else {
        return false;
    };
    let fits: Vec<usize> = (0..out.items.len())
        .filter(|&i| old.is_none_or(|o| i64::from(out.items[i].quantity) == o))
        .collect();
    if let [only] = fits[..]
        && n >= 1
        && n <= i64::from(max_quantity)
    {
        let item = &mut out.items[only];
        let said = format!("changes {} from {} to {n}", item.sku, item.quantity);
        item.quantity = n as u32;
        out.note(line, said);
    } else {
        // Which line it corrects is not clear: ask rather than guess.
        let suggestions = fits
            .iter()
            .filter_map(|&i| catalog.get(&out.items[i].sku).map(|c| c.name.clone()))
            .collect();
        out.unmatched.push(Unmatched {
            line: line.to_string(),
            problem: Problem::Quantity,
            suggestions,
        });
        out.note(
            line,
            "changes an amount, but of which item is unclear: asking".into(),
        );
    }
    true
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
    let found = catalog.match_product(product);
    if found == Match::None && !report_unknown {
        return;
    }
    let count = match qty {
        Qty::Number(n) => format!("quantity {n}"),
        Qty::Vague => "no usable quantity".into(),
    };
    let said = match &found {
        Match::One(i) => format!("list line: {} ({count})", catalog.items[*i].sku),
        Match::Many(v) => format!(
            "list line: \"{product}\" fits {} items equally: asking which",
            v.len()
        ),
        Match::None => format!("list line: \"{product}\" names nothing in the catalog: asking"),
    };
    out.note(line, said);
    push_found(line, product, &found, qty, catalog, max_quantity, out);
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

    /// SKUs and quantities, in order.
    type Lines<'a> = &'a [(&'a str, u32)];

    /// A shop whose customers write in seven languages, with sizes and models in its names.
    fn shop() -> Catalog {
        let item = |sku: &str, name: &str, aliases: &[&str]| crate::core::catalog::CatalogItem {
            sku: sku.into(),
            name: name.into(),
            unit_price: rust_decimal::Decimal::ONE,
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
        };
        Catalog::new(vec![
            item(
                "MUG-BLU",
                "Blue Glazed Mug",
                &[
                    "blue mug",
                    "blaue Tasse",
                    "tasse bleue",
                    "taza azul",
                    "tazza blu",
                    "blauwe mok",
                    "caneca azul",
                ],
            ),
            item(
                "TEAPOT",
                "Cast Iron Teapot",
                &[
                    "teapot",
                    "Teekanne",
                    "théière",
                    "tetera",
                    "teiera",
                    "theepot",
                    "bule",
                ],
            ),
            item(
                "BOWL",
                "Rice Bowl",
                &["bol", "Schale", "cuenco", "ciotola", "kom", "tigela"],
            ),
            item("NB-A4", "Notebook A4", &[]),
            item("NB-A5", "Notebook A5", &[]),
            item("OIL-500", "Olive Oil 500 ml", &[]),
            item("OIL-1L", "Olive Oil 1 l", &[]),
            item("PERF-5", "Perfume No. 5", &[]),
            item("KNIFE-12", "12-piece Knife Set", &[]),
            item("KNIFE-6", "6-piece Knife Set", &[]),
            item("TOWEL", "Linen Tea Towel", &["tea towel"]),
        ])
    }

    fn read(text: &str) -> Requested {
        let lines: Vec<&str> = text.lines().collect();
        find_items(&lines, &[], &shop(), 999)
    }

    #[test]
    fn anchored_in_seven_languages() {
        let cases: &[(&str, Lines)] = &[
            // English
            ("two mugs and a teapot", &[("MUG-BLU", 2), ("TEAPOT", 1)]),
            ("I'd like 2 blue mugs only, please", &[("MUG-BLU", 2)]),
            ("Blue mug for my sister x2", &[("MUG-BLU", 2)]),
            ("a teapot as well please", &[("TEAPOT", 1)]),
            ("Could I order the teapot?", &[("TEAPOT", 1)]),
            ("half a dozen blue mugs", &[("MUG-BLU", 6)]),
            ("a dozen rice bowls", &[("BOWL", 12)]),
            ("1/2 dozen rice bowls", &[("BOWL", 6)]),
            ("2 dozen rice bowls", &[("BOWL", 24)]),
            ("one more teapot", &[("TEAPOT", 1)]),
            ("2 tepaots please", &[("TEAPOT", 2)]),
            ("Blue Mug ×2", &[("MUG-BLU", 2)]),
            ("2 pcs teapot", &[("TEAPOT", 2)]),
            ("teapot (3)", &[("TEAPOT", 3)]),
            ("2 teapot thanks", &[("TEAPOT", 2)]),
            ("3 blue mugs plus", &[("MUG-BLU", 3)]),
            (
                "Hi, could you send me 3 of your lovely rice bowls and a couple of tea towels?",
                &[("BOWL", 3), ("TOWEL", 2)],
            ),
            (
                "2 blue mugs, 1 teapot & 4 rice bowls",
                &[("MUG-BLU", 2), ("TEAPOT", 1), ("BOWL", 4)],
            ),
            ("MUG-BLU x 3 plus 2 bowls", &[("MUG-BLU", 3), ("BOWL", 2)]),
            ("2 x Cast Iron\nTeapot", &[("TEAPOT", 2)]),
            (
                "Qty 3 - Blue Mug\nBlue Mug x2",
                &[("MUG-BLU", 3), ("MUG-BLU", 2)],
            ),
            ("1 x Notebook\nA5 please", &[("NB-A5", 1)]),
            // sizes and models are names, not quantities
            ("2 x Notebook A4", &[("NB-A4", 2)]),
            ("A4 notebook x3", &[("NB-A4", 3)]),
            ("I'd like 4 notebooks A5 please", &[("NB-A5", 4)]),
            ("2 Olive Oil 500 ml", &[("OIL-500", 2)]),
            ("olive oil 500ml x 2", &[("OIL-500", 2)]),
            ("Perfume No. 5 x 2", &[("PERF-5", 2)]),
            // a model number glued to letters is no count
            ("Model WB-500 Olive Oil 500 ml - USD 2.10", &[]),
            ("I'd like a 12-piece knife set", &[("KNIFE-12", 1)]),
            ("3 x 6-piece knife set", &[("KNIFE-6", 3)]),
            // German
            (
                "Zwei Tassen und eine Teekanne",
                &[("MUG-BLU", 2), ("TEAPOT", 1)],
            ),
            ("3 Stück Teekanne", &[("TEAPOT", 3)]),
            ("Teekanne 2 Stk.", &[("TEAPOT", 2)]),
            ("ein halbes Dutzend Tassen bitte", &[("MUG-BLU", 6)]),
            // French
            ("deux bols et une théière", &[("BOWL", 2), ("TEAPOT", 1)]),
            ("théière x 2", &[("TEAPOT", 2)]),
            ("une demi-douzaine de bols", &[("BOWL", 6)]),
            ("3 pièces tasse bleue", &[("MUG-BLU", 3)]),
            // Spanish
            ("dos tazas y una tetera", &[("MUG-BLU", 2), ("TEAPOT", 1)]),
            ("tetera 2 uds", &[("TEAPOT", 2)]),
            ("media docena de cuencos", &[("BOWL", 6)]),
            // Italian
            ("due tazze e una teiera", &[("MUG-BLU", 2), ("TEAPOT", 1)]),
            ("teiera 3 pezzi", &[("TEAPOT", 3)]),
            ("4 pz ciotola", &[("BOWL", 4)]),
            // Dutch
            (
                "twee mokken en een theepot",
                &[("MUG-BLU", 2), ("TEAPOT", 1)],
            ),
            ("theepot 2 stuks", &[("TEAPOT", 2)]),
            // Portuguese
            ("duas canecas e um bule", &[("MUG-BLU", 2), ("TEAPOT", 1)]),
            ("bule 2 peças", &[("TEAPOT", 2)]),
            ("meia dúzia de tigelas", &[("BOWL", 6)]),
        ];
        for (text, want) in cases {
            let r = read(text);
            let got: Vec<(&str, u32)> = r
                .items
                .iter()
                .map(|i| (i.sku.as_str(), i.quantity))
                .collect();
            assert_eq!(
                &got, want,
                "{text}: unmatched {:?} notes {:?}",
                r.unmatched, r.notes
            );
            assert!(r.unmatched.is_empty(), "{text}: {:?}", r.unmatched);
        }
    }

    #[test]
    fn asked_not_guessed() {
        let cases: &[(&str, Problem)] = &[
            ("3 notebooks", Problem::Ambiguous),
            ("2 x olive oil", Problem::Ambiguous),
            ("a quarter dozen rice bowls", Problem::Quantity),
            ("a third of a dozen blue mugs", Problem::Quantity),
            ("I'd like some tea towels", Problem::Quantity),
            ("- Teapot", Problem::Quantity),
            ("I'd like the teapots", Problem::Quantity),
            ("2 linen teapots", Problem::Unknown),
            // The product as a modifier: the count is for what follows.
            ("2 teapot cosies", Problem::Unknown),
            ("mug boxes 100 pcs", Problem::Unknown),
            ("quiero algunas teteras", Problem::Quantity),
            ("ich hätte gern ein paar Tassen", Problem::Quantity),
        ];
        for (text, problem) in cases {
            let r = read(text);
            assert!(r.items.is_empty(), "{text}: {:?}", r.items);
            assert_eq!(
                r.unmatched
                    .iter()
                    .map(|u| u.problem.clone())
                    .collect::<Vec<_>>(),
                vec![problem.clone()],
                "{text}: {:?}",
                r.notes
            );
        }
        let two = read("2 notebooks");
        assert_eq!(
            two.unmatched[0].suggestions,
            vec!["Notebook A4", "Notebook A5"]
        );
    }

    #[test]
    fn corrections_apply_to_what_they_correct() {
        let cases: &[(&str, Lines, usize)] = &[
            (
                "2 blue mugs\n1 teapot\nforget the teapot",
                &[("MUG-BLU", 2)],
                0,
            ),
            (
                "2 blue mugs\n\nP.S. better make it four",
                &[("MUG-BLU", 4)],
                0,
            ),
            (
                "2 blue mugs\n1 teapot\nactually 3 instead of 2",
                &[("MUG-BLU", 3), ("TEAPOT", 1)],
                0,
            ),
            (
                "2 blue mugs\n1 teapot\nActually make that 5 teapots",
                &[("MUG-BLU", 2), ("TEAPOT", 5)],
                0,
            ),
            (
                "2 blue mugs\n1 teapot\nstreich die Teekanne",
                &[("MUG-BLU", 2)],
                0,
            ),
            // Which one? Ask.
            (
                "2 blue mugs\n1 teapot\nmake it 3",
                &[("MUG-BLU", 2), ("TEAPOT", 1)],
                1,
            ),
        ];
        for (text, want, asks) in cases {
            let r = read(text);
            let got: Vec<(&str, u32)> = r
                .items
                .iter()
                .map(|i| (i.sku.as_str(), i.quantity))
                .collect();
            assert_eq!(&got, want, "{text}: {:?}", r.notes);
            assert_eq!(r.unmatched.len(), *asks, "{text}: {:?}", r.unmatched);
        }
    }

    #[test]
    fn not_order_lines() {
        for text in [
            "I need them by 12 December",
            "Thanks for the lovely teapot last time!",
            "My dear friend recommended you",
            "We are 2 people",
            "Order 12345",
        ] {
            let r = read(text);
            assert!(r.is_empty(), "{text}: {:?} {:?}", r.items, r.unmatched);
        }
    }
}
