//! The HTML twin of a customer's email. The text template is rendered a second time with
//! `View::html` set: the wording stays in the one text template per language, and the shared
//! partials leave a marker line where the items and the payment methods go. That text becomes
//! paragraphs, links and, at the markers, the items table and the payment box, all written by
//! one askama layout with HTML escaping on, so nothing a customer or the catalog wrote can
//! become markup.

use std::sync::LazyLock;

use askama::Template as _;
use regex::Regex;

use crate::config::Config;
use crate::mail::compose::View;

/// What `_lines.txt` writes in place of the lines and totals when rendering for HTML.
pub const LINES_MARKER: &str = "[[mailcart:lines]]";
/// What `_methods.txt` writes in place of the payment methods when rendering for HTML.
pub const METHODS_MARKER: &str = "[[mailcart:methods]]";

/// The accent when `[shop] accent_colour` is not set: a dark blue that white text reads on.
const DEFAULT_ACCENT: &str = "#1f4e79";

/// A piece of the email's body, in order.
pub enum Block {
    Paragraph(Vec<Line>),
    Lines,
    Methods,
}

/// One line of a paragraph; an indented line in the text (a list of items, a figure) stays
/// indented, wrapped lines and all, as a block of its own.
pub struct Line {
    pub indent: bool,
    /// A line break goes before it: it follows a line that is not a block.
    pub break_before: bool,
    pub pieces: Vec<Piece>,
}

pub enum Piece {
    Text(String),
    Link(String),
}

#[derive(askama::Template)]
#[template(path = "html/layout.html")]
struct Layout<'a> {
    v: &'a View,
    title: &'a str,
    blocks: &'a [Block],
    accent: &'a str,
    /// Text on the accent: dark on a light accent, white on a dark one.
    on_accent: &'static str,
    logo: Option<&'a str>,
}

/// The HTML part for `text`, the email's text rendered with `View::html` set.
pub fn page(text: &str, v: &View, subject: &str, config: &Config) -> Result<String, askama::Error> {
    let accent = config
        .shop
        .accent_colour
        .as_deref()
        .unwrap_or(DEFAULT_ACCENT);
    Layout {
        v,
        title: subject,
        blocks: &blocks(text),
        accent,
        on_accent: if is_light(accent) {
            "#111111"
        } else {
            "#ffffff"
        },
        logo: config.shop.logo_url.as_deref(),
    }
    .render()
}

/// The text split at blank lines into paragraphs, the marker lines standing alone.
///
/// Only a line that is exactly a marker counts. A customer who writes one into their order
/// gets the order's own table or payment box there, with figures the email carries anyway.
pub fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut para: Vec<Line> = Vec::new();
    let flush = |para: &mut Vec<Line>, out: &mut Vec<Block>| {
        if !para.is_empty() {
            out.push(Block::Paragraph(std::mem::take(para)));
        }
    };
    for line in text.lines() {
        match line.trim() {
            LINES_MARKER => {
                flush(&mut para, &mut out);
                out.push(Block::Lines);
            }
            METHODS_MARKER => {
                flush(&mut para, &mut out);
                out.push(Block::Methods);
            }
            "" => flush(&mut para, &mut out),
            trimmed => {
                let indent = line.starts_with(char::is_whitespace);
                let break_before = !indent && para.last().is_some_and(|l: &Line| !l.indent);
                para.push(Line {
                    indent,
                    break_before,
                    pieces: pieces(trimmed),
                });
            }
        }
    }
    flush(&mut para, &mut out);
    out
}

/// `line` with its web addresses as links; the punctuation that ends a sentence after an
/// address is not part of it.
fn pieces(line: &str) -> Vec<Piece> {
    static URL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"https?://[^\s<>"']+"#).expect("a fixed pattern"));
    let mut out = Vec::new();
    let mut pos = 0;
    for m in URL.find_iter(line) {
        let url = m
            .as_str()
            .trim_end_matches(['.', ',', ';', ':', '!', '?', ')']);
        if url.len() <= "https://".len() {
            continue;
        }
        if m.start() > pos {
            out.push(Piece::Text(line[pos..m.start()].to_string()));
        }
        out.push(Piece::Link(url.to_string()));
        pos = m.start() + url.len();
    }
    if pos < line.len() {
        out.push(Piece::Text(line[pos..].to_string()));
    }
    out
}

/// `#rgb` or `#rrggbb` (checked at config load) is light enough to want dark text on it.
fn is_light(colour: &str) -> bool {
    let hex = colour.trim_start_matches('#');
    let channel = |i: usize| -> f64 {
        let v = if hex.len() == 3 {
            u8::from_str_radix(&hex[i..i + 1].repeat(2), 16)
        } else {
            u8::from_str_radix(hex.get(2 * i..2 * i + 2).unwrap_or("00"), 16)
        };
        // sRGB to linear light, for WCAG relative luminance.
        let c = f64::from(v.unwrap_or(0)) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
    // Where white and near-black text have the same contrast ratio.
    luminance > 0.18
}

/// `#rgb` or `#rrggbb`: the only shape of colour put into the layout's CSS.
pub fn is_hex_colour(s: &str) -> bool {
    s.strip_prefix('#').is_some_and(|hex| {
        (hex.len() == 3 || hex.len() == 6) && hex.chars().all(|c| c.is_ascii_hexdigit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours() {
        for ok in ["#fff", "#1F4E79", "#000000"] {
            assert!(is_hex_colour(ok), "{ok}");
        }
        for bad in [
            "fff",
            "#ffff",
            "#12345g",
            "red",
            "#fff;background:url(x)",
            "",
        ] {
            assert!(!is_hex_colour(bad), "{bad}");
        }
        assert!(is_light("#ffffff") && is_light("#ff0") && is_light("#f5d76e"));
        assert!(!is_light("#000") && !is_light(DEFAULT_ACCENT) && !is_light("#8b0000"));
    }

    #[test]
    fn links_leave_the_full_stop() {
        let p = pieces("See https://shop.test/care?a=1&b=2. Or http://x.test");
        let shown: Vec<String> = p
            .iter()
            .map(|p| match p {
                Piece::Text(t) => format!("T({t})"),
                Piece::Link(u) => format!("L({u})"),
            })
            .collect();
        assert_eq!(
            shown,
            [
                "T(See )",
                "L(https://shop.test/care?a=1&b=2)",
                "T(. Or )",
                "L(http://x.test)"
            ]
        );
    }

    #[test]
    fn markers_stand_alone() {
        let b = blocks(
            "Hello,\n\nYour quote:\n[[mailcart:lines]]\n  Paid: 1.00\n\n[[mailcart:methods]]\nBye",
        );
        let kinds: Vec<&str> = b
            .iter()
            .map(|b| match b {
                Block::Paragraph(_) => "p",
                Block::Lines => "lines",
                Block::Methods => "methods",
            })
            .collect();
        assert_eq!(kinds, ["p", "p", "lines", "p", "methods", "p"]);
        let Block::Paragraph(paid) = &b[3] else {
            unreachable!()
        };
        assert!(paid[0].indent && !paid[0].break_before);
        let Block::Paragraph(quote) = &blocks("a\nb\n  c\nd")[0] else {
            unreachable!()
        };
        let breaks: Vec<bool> = quote.iter().map(|l| l.break_before).collect();
        assert_eq!(breaks, [false, true, false, false]);
    }
}
