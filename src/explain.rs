//! `mailcart parse --explain`: what the reader made of each line of a message and why, so a
//! seller can see why mailcart answered as it did.

use std::fmt::Write;

use crate::core::extract::Parsed;
use crate::core::items::Problem;

pub fn explain(parsed: &Parsed, catalog_from: &str, catalog_items: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "catalog: {catalog_from} ({catalog_items} items)");
    let _ = writeln!(out, "kind: {}", kind_name(parsed));
    if let Some(c) = &parsed.customer {
        let _ = writeln!(
            out,
            "customer: {} <{}>",
            c.name.as_deref().unwrap_or("(no name)"),
            c.email
        );
    }
    let r = &parsed.requested;
    if r.notes.is_empty() {
        let _ = writeln!(
            out,
            "\nno order lines read (only an order or a customer's reply is read for items)"
        );
    } else {
        let _ = writeln!(out, "\nline by line (the address block is read apart):");
        let mut last: Option<&str> = None;
        for note in &r.notes {
            if last != Some(note.line.as_str()) {
                let _ = writeln!(out, "  \"{}\"", note.line);
                last = Some(note.line.as_str());
            }
            let _ = writeln!(out, "      {}", note.said);
        }
    }
    let _ = writeln!(out, "\nitems a quote would hold:");
    if r.items.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for item in &r.items {
        let _ = writeln!(
            out,
            "  {} x {}   from \"{}\"",
            item.quantity, item.sku, item.line
        );
    }
    if !r.unmatched.is_empty() {
        let _ = writeln!(out, "\nset aside, so the customer is asked:");
        for u in &r.unmatched {
            let why = match u.problem {
                Problem::Unknown => "names nothing in the catalog",
                Problem::Ambiguous => "fits several items equally",
                Problem::Quantity => "the quantity is missing or unusable",
            };
            let close = if u.suggestions.is_empty() {
                String::new()
            } else {
                format!("; candidates: {}", u.suggestions.join(", "))
            };
            let _ = writeln!(out, "  \"{}\": {why}{close}", u.line);
        }
    }
    match &parsed.shipping_address {
        Some(a) => {
            let _ = writeln!(
                out,
                "\nshipping address:\n  {}",
                a.text.replace('\n', "\n  ")
            );
        }
        None => {
            let _ = writeln!(out, "\nshipping address: none found");
        }
    }
    if !parsed.missing.is_empty() {
        let missing: Vec<String> = parsed
            .missing
            .iter()
            .map(|m| {
                serde_json::to_value(m)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            })
            .collect();
        let _ = writeln!(out, "missing (asked for): {}", missing.join(", "));
    }
    out
}

fn kind_name(parsed: &Parsed) -> String {
    serde_json::to_value(parsed.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
