//! Reading what a customer wants changed in an order they already have: "add 2 bud vases",
//! "make it 3 mugs", "no teapot after all", "swap the blue mug for the green one", in the
//! shapes and languages orders are read in. Pure: the text, the order and the catalog in, the
//! changes (or what could not be read) out.
//!
//! A product is resolved against the order first: "3 mugs" fits three mugs in the catalog but
//! only one in the order, so it is that one.

use std::sync::LazyLock;

use regex::Regex;

use super::catalog::{Catalog, Match};
use super::items::{INSTEAD, ItemLine, REMOVE};
use super::mentions::{Reading, read_line};
use super::numbers::Amount;
use super::order::Order;

/// One change to the items of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// So many more of an item (a new one, or more of one the order has).
    Add {
        sku: String,
        quantity: u32,
    },
    /// This many in all.
    Set {
        sku: String,
        quantity: u32,
    },
    Remove {
        sku: String,
    },
    /// One item for another, in the same quantity.
    Swap {
        from: String,
        to: String,
    },
}

/// What a message asks to change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub changes: Vec<Change>,
    /// Sentences that name a product but could not be read as a change, with the catalog
    /// names they may mean.
    pub unclear: Vec<(String, Vec<String>)>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.unclear.is_empty()
    }
}

/// "also", "add", "another", "more", "noch", "aussi", "también" ...: on top of what is there.
static ADD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|\W)(?:add|adding|also|as well|too|another|additional|extra|more|plus|auch|noch|dazu|zusätzlich|hinzu\w*|ajout\w*|aussi|en plus|également|añad\w*|agreg\w*|también|además|más|aggiung\w*|anche|ancora|inoltre|toevoeg\w*|voeg\w*|ook|nog|adicion\w*|acrescent\w*|também|mais)(?:$|\W)")
        .expect("a fixed pattern")
});
/// "swap A for B", "replace A with B", "change A to B", "tausche A gegen B", "remplacer A par B".
static SWAP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|\W)(?:swap|switch|exchange|replace|change|tausch\w*|ersetz\w*|austausch\w*|rempla\w*|échang\w*|cambi\w*|sustitu\w*|reemplaz\w*|sostitu\w*|ruil\w*|vervang\w*|troc\w*|substitu\w*)(?:$|\W).*(?:^|\W)(?:for|with|to|into|by|gegen|durch|mit|par|contre|por|con|per|voor|door|pela|pelo)(?:$|\W)")
        .expect("a fixed pattern")
});
/// Sentence ends inside a line: "Could you add a vase? And make it 3 mugs."
static SENTENCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[.!?;]+\s+").expect("a fixed pattern"));

/// The changes `text` asks of `order`. Lines and sentences that name no product are not
/// looked at: "thanks, looks great" asks nothing.
pub fn read_changes(text: &str, order: &Order, catalog: &Catalog, max_quantity: u32) -> Changes {
    let mut out = Changes::default();
    for line in text.lines() {
        for sentence in SENTENCE.split(line.trim()) {
            read_sentence(sentence.trim(), order, catalog, max_quantity, &mut out);
        }
    }
    out
}

/// Every product a text names, for the store to look up its stock.
pub fn named_skus(text: &str, catalog: &Catalog) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        for r in read_line(line, catalog).1 {
            let ids = match r.mention.found {
                Match::One(i) => vec![i],
                Match::Many(ids) => ids,
                Match::None => Vec::new(),
            };
            out.extend(
                ids.into_iter()
                    .filter_map(|i| catalog.items.get(i).map(|c| c.sku.clone())),
            );
        }
    }
    out.sort();
    out.dedup();
    out
}

fn read_sentence(
    sentence: &str,
    order: &Order,
    catalog: &Catalog,
    max_quantity: u32,
    out: &mut Changes,
) {
    if sentence.is_empty() {
        return;
    }
    let (_, mut readings) = read_line(sentence, catalog);
    // A near spelling with no count is a guess ("make it" is not "sake"): not a product.
    readings.retain(|r| !(r.mention.corrected && r.amount.is_none()));
    if readings.is_empty() {
        return;
    }
    let unclear = |out: &mut Changes, readings: &[Reading]| {
        let names = readings
            .iter()
            .flat_map(|r| candidates(&r.mention.found, catalog))
            .collect();
        out.unclear.push((sentence.to_string(), names));
    };
    let skus: Vec<Option<String>> = readings
        .iter()
        .map(|r| resolve(&r.mention.found, order, catalog))
        .collect();
    let amounts: Vec<Option<Result<u32, ()>>> = readings
        .iter()
        .map(|r| match r.amount {
            Some(Amount::Number(n)) if (0..=i64::from(max_quantity)).contains(&n) => {
                Some(Ok(n as u32))
            }
            Some(_) => Some(Err(())),
            None => None,
        })
        .collect();
    let has = |sku: &str| order.wanted.iter().any(|w| w.sku == sku);

    // Two products and a word that trades one for the other.
    if readings.len() == 2 && (SWAP.is_match(sentence) || INSTEAD.is_match(sentence)) {
        // "the green one instead of the blue one": the new one comes first.
        let (old, new) = if SWAP.is_match(sentence) {
            (0, 1)
        } else {
            (1, 0)
        };
        match (&skus[old], &skus[new]) {
            (Some(from), Some(to)) if has(from) && from != to => out.changes.push(Change::Swap {
                from: from.clone(),
                to: to.clone(),
            }),
            _ => unclear(out, &readings),
        }
        return;
    }
    if REMOVE.is_match(sentence) {
        for (r, sku) in readings.iter().zip(&skus) {
            match sku {
                Some(sku) if has(sku) => out.changes.push(Change::Remove { sku: sku.clone() }),
                _ => unclear(out, std::slice::from_ref(r)),
            }
        }
        return;
    }
    let adds = ADD.is_match(sentence);
    for ((r, sku), amount) in readings.iter().zip(&skus).zip(&amounts) {
        let Some(sku) = sku else {
            unclear(out, std::slice::from_ref(r));
            continue;
        };
        match (amount, adds) {
            (Some(Err(())), _) => unclear(out, std::slice::from_ref(r)),
            (Some(Ok(0)), _) if has(sku) => out.changes.push(Change::Remove { sku: sku.clone() }),
            (Some(Ok(0)), _) => unclear(out, std::slice::from_ref(r)),
            (Some(Ok(n)), true) => out.changes.push(Change::Add {
                sku: sku.clone(),
                quantity: *n,
            }),
            (Some(Ok(n)), false) => out.changes.push(Change::Set {
                sku: sku.clone(),
                quantity: *n,
            }),
            // "add the teapot too": one more of it.
            (None, true) => out.changes.push(Change::Add {
                sku: sku.clone(),
                quantity: 1,
            }),
            // "the teapot is lovely": a product named, no count and no change asked.
            (None, false) => {}
        }
    }
}

/// The catalog item a mention is, read against the order: of several that fit, the one the
/// order has.
fn resolve(found: &Match, order: &Order, catalog: &Catalog) -> Option<String> {
    let sku = |i: &usize| catalog.items.get(*i).map(|c| c.sku.clone());
    match found {
        Match::One(i) => sku(i),
        Match::Many(ids) => {
            let mine: Vec<String> = ids
                .iter()
                .filter_map(sku)
                .filter(|s| order.wanted.iter().any(|w| &w.sku == s))
                .collect();
            match mine.as_slice() {
                [one] => Some(one.clone()),
                _ => None,
            }
        }
        Match::None => None,
    }
}

fn candidates(found: &Match, catalog: &Catalog) -> Vec<String> {
    let ids: Vec<usize> = match found {
        Match::One(i) => vec![*i],
        Match::Many(ids) => ids.clone(),
        Match::None => Vec::new(),
    };
    ids.iter()
        .filter_map(|i| catalog.items.get(*i).map(|c| c.name.clone()))
        .collect()
}

/// The order's items after `changes`, and each change said in words for the customer and the
/// record ("+2 Bud Vase", "Blue Glazed Mug: 3 instead of 2").
pub fn apply_changes(
    wanted: &[ItemLine],
    changes: &[Change],
    catalog: &Catalog,
) -> (Vec<ItemLine>, Vec<String>) {
    let name = |sku: &str| {
        catalog
            .get(sku)
            .map_or_else(|| sku.to_string(), |c| c.name.clone())
    };
    let mut out = wanted.to_vec();
    let mut said = Vec::new();
    let line = |sku: &str, quantity: u32| ItemLine {
        sku: sku.to_string(),
        quantity,
        line: format!("{quantity} x {}", name(sku)),
    };
    for change in changes {
        match change {
            Change::Add { sku, quantity } => match out.iter_mut().find(|w| &w.sku == sku) {
                Some(w) => {
                    said.push(format!(
                        "{}: {} instead of {}",
                        name(sku),
                        w.quantity + quantity,
                        w.quantity
                    ));
                    w.quantity = w.quantity.saturating_add(*quantity);
                }
                None => {
                    said.push(format!("added {quantity} x {}", name(sku)));
                    out.push(line(sku, *quantity));
                }
            },
            Change::Set { sku, quantity } => match out.iter_mut().find(|w| &w.sku == sku) {
                Some(w) if w.quantity == *quantity => {}
                Some(w) => {
                    said.push(format!(
                        "{}: {quantity} instead of {}",
                        name(sku),
                        w.quantity
                    ));
                    w.quantity = *quantity;
                }
                None => {
                    said.push(format!("added {quantity} x {}", name(sku)));
                    out.push(line(sku, *quantity));
                }
            },
            Change::Remove { sku } => {
                if out.iter().any(|w| &w.sku == sku) {
                    said.push(format!("removed {}", name(sku)));
                    out.retain(|w| &w.sku != sku);
                }
            }
            Change::Swap { from, to } => {
                let Some(quantity) = out.iter().find(|w| &w.sku == from).map(|w| w.quantity) else {
                    continue;
                };
                out.retain(|w| &w.sku != from);
                said.push(format!(
                    "{} instead of {} ({quantity})",
                    name(to),
                    name(from)
                ));
                match out.iter_mut().find(|w| &w.sku == to) {
                    Some(w) => w.quantity = w.quantity.saturating_add(quantity),
                    None => out.push(line(to, quantity)),
                }
            }
        }
    }
    (out, said)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::catalog::{Catalog, CatalogItem};
    use crate::core::inbound::Mailbox;
    use rust_decimal::Decimal;

    fn catalog() -> Catalog {
        let item = |sku: &str, name: &str, aliases: &[&str]| CatalogItem {
            sku: sku.into(),
            name: name.into(),
            unit_price: Decimal::new(1800, 2),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
        };
        Catalog::new(vec![
            item("MUG-BLU", "Blue Glazed Mug", &["blue mug"]),
            item("MUG-GRN", "Green Speckled Mug", &["green mug"]),
            item("MUG-RED", "Red Glazed Mug", &["red mug"]),
            item("TEAPOT-CI", "Cast Iron Teapot", &["teapot"]),
            item("VASE-BUD", "Bud Vase", &[]),
        ])
    }

    fn order(items: &[(&str, u32)]) -> Order {
        let customer = Mailbox {
            name: None,
            email: "pat@example.test".into(),
        };
        let mut o = Order::new(
            "MC-1".into(),
            customer,
            "USD",
            time::OffsetDateTime::UNIX_EPOCH,
        );
        o.wanted = items
            .iter()
            .map(|(sku, q)| ItemLine {
                sku: sku.to_string(),
                quantity: *q,
                line: String::new(),
            })
            .collect();
        o
    }

    fn read(text: &str) -> Changes {
        read_changes(
            text,
            &order(&[("MUG-BLU", 2), ("TEAPOT-CI", 1)]),
            &catalog(),
            999,
        )
    }

    fn add(sku: &str, quantity: u32) -> Change {
        Change::Add {
            sku: sku.into(),
            quantity,
        }
    }

    fn set(sku: &str, quantity: u32) -> Change {
        Change::Set {
            sku: sku.into(),
            quantity,
        }
    }

    fn remove(sku: &str) -> Change {
        Change::Remove { sku: sku.into() }
    }

    #[test]
    fn the_shapes_customers_write() {
        let cases: &[(&str, Vec<Change>)] = &[
            (
                "Could you also add 2 Bud Vases? And make it 3 mugs instead of 2.",
                vec![add("VASE-BUD", 2), set("MUG-BLU", 3)],
            ),
            ("make it 3 mugs", vec![set("MUG-BLU", 3)]),
            ("no teapot after all", vec![remove("TEAPOT-CI")]),
            ("Please remove the teapot.", vec![remove("TEAPOT-CI")]),
            (
                "swap the blue mug for the green one",
                vec![Change::Swap {
                    from: "MUG-BLU".into(),
                    to: "MUG-GRN".into(),
                }],
            ),
            (
                "I'd rather have the red mug instead of the blue mug",
                vec![Change::Swap {
                    from: "MUG-BLU".into(),
                    to: "MUG-RED".into(),
                }],
            ),
            ("2 more mugs please", vec![add("MUG-BLU", 2)]),
            ("Please add a teapot", vec![add("TEAPOT-CI", 1)]),
            ("Actually, I need 4 blue mugs", vec![set("MUG-BLU", 4)]),
            ("Bitte noch 2 Bud Vases dazu", vec![add("VASE-BUD", 2)]),
            ("make it 0 teapots", vec![remove("TEAPOT-CI")]),
        ];
        for (text, want) in cases {
            let got = read(text);
            assert_eq!(&got.changes, want, "{text}: {got:?}");
            assert!(got.unclear.is_empty(), "{text}: {got:?}");
        }
    }

    #[test]
    fn nothing_asked_is_nothing_changed() {
        for text in [
            "Thanks, the teapot looks lovely!",
            "When will the mugs ship?",
            "Great, thank you",
        ] {
            assert!(read(text).changes.is_empty(), "{text}: {:?}", read(text));
        }
    }

    #[test]
    fn what_cannot_be_read_is_asked() {
        // Three mugs fit and the order has none of the other two: which one?
        let o = order(&[("TEAPOT-CI", 1)]);
        let got = read_changes("add 2 mugs", &o, &catalog(), 999);
        assert!(got.changes.is_empty());
        assert_eq!(got.unclear.len(), 1);
        assert_eq!(got.unclear[0].1.len(), 3, "{got:?}");
        // A product we do not sell.
        let got = read("also add some mugs");
        assert!(got.changes.is_empty() && got.unclear.len() == 1, "{got:?}");
    }

    #[test]
    fn changes_applied_and_said() {
        let o = order(&[("MUG-BLU", 2), ("TEAPOT-CI", 1)]);
        let (after, said) = apply_changes(
            &o.wanted,
            &[
                add("VASE-BUD", 2),
                set("MUG-BLU", 3),
                remove("TEAPOT-CI"),
                Change::Swap {
                    from: "MUG-BLU".into(),
                    to: "MUG-GRN".into(),
                },
            ],
            &catalog(),
        );
        let got: Vec<(&str, u32)> = after.iter().map(|w| (w.sku.as_str(), w.quantity)).collect();
        assert_eq!(got, [("VASE-BUD", 2), ("MUG-GRN", 3)]);
        assert_eq!(
            said,
            [
                "added 2 x Bud Vase",
                "Blue Glazed Mug: 3 instead of 2",
                "removed Cast Iron Teapot",
                "Green Speckled Mug instead of Blue Glazed Mug (3)"
            ]
        );
    }
}
