//! Message bodies reduced to what the sender wrote: HTML made readable as lines, quoted text and
//! signatures cut away, format=flowed paragraphs rejoined.
//!
//! Everything here reads hostile input (any bytes a stranger can mail us), so it is written as
//! flat loops over the text: no recursion on nesting, every scan moves forward, and nesting
//! state lives on the heap. A 200,000-deep `<div>` costs what 200,000 words cost.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

/// Plain text from an HTML body, for reading an order: block elements (p, div, br, li, tr, h1-h6, table,
/// ul, ol, hr) become line breaks; <li> lines start with "- "; a table row becomes its cell texts joined
/// with " | " on one line (th and td alike, empty cells skipped); <blockquote> ... </blockquote>
/// (nested too) and elements with class gmail_quote / gmail_signature / moz-cite-prefix /
/// yahoo_quoted, and Outlook's divRplyFwdMsg / the div with id "appendonsend" and everything after it, are dropped; <style>, <script>,
/// <head>, <title> and comments dropped; entities decoded (named: the common ones incl. nbsp, amp, lt, gt,
/// quot, apos, eacute etc.; numeric &#233; &#xE9;); whitespace inside a line collapsed; no more than one
/// blank line in a row; lines trimmed.
pub fn html_to_text(html: &str) -> String {
    let mut c = Converter::new();
    c.run(html);
    c.finish()
}

/// The part of a plain-text body the sender wrote in this message: drops quoted text and signatures.
/// Removes: lines starting with ">" (any depth); the attribution line and everything after it
/// ("On Tue, Nov 3, 2026 at 9:14 AM Mara <m@x> wrote:" also when wrapped over 2-3 lines,
/// "Le mar. 3 nov. 2026 à 09:14, Mara <m@x> a écrit :", "Am 03.11.2026 um 09:14 schrieb Mara <m@x>:",
/// "El mar, 3 nov 2026 a las 9:14, Mara (<m@x>) escribió:", "Op ... schreef ...:");
/// "-----Original Message-----" / "-----Ursprüngliche Nachricht-----" and everything after (a
/// forwarded message under "-------- Forwarded Message --------" is content and stays);
/// a line of 20+ underscores, and Outlook's header block ("From: ..." followed within 4 lines by
/// "Sent: ..." or "Date: ..." and "To:"/"Subject:"; also "De :"/"Envoyé :", "Von:"/"Gesendet:", "De:"/"Enviado el:") and everything after;
/// the signature delimiter "-- " (also "--" alone) and everything after; lines like "Sent from my iPhone",
/// "Sent from my iPad", "Sent from my phone", "Sent from my Galaxy", "Sent from Mail for Windows",
/// "Sent from Yahoo Mail for iPhone", "Get Outlook for iOS", "Get Outlook for Android", "Envoyé de mon iPhone",
/// "Von meinem iPhone gesendet", "Enviado desde mi iPhone" (only the line). Does not undo
/// format=flowed soft breaks: run [`unflow`] first when the part says format=flowed.
/// Trims trailing blank lines.
pub fn strip_reply(text: &str) -> String {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut kept: Vec<&str> = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        // Blank lines are most of a long body and can start nothing; skip the regexes.
        if line.trim().is_empty() {
            kept.push(line);
            continue;
        }
        if is_quoted(line) {
            continue;
        }
        if quote_or_signature_starts(&lines, i) {
            break;
        }
        if is_device_line(line) {
            continue;
        }
        kept.push(line);
    }
    while kept.last().is_some_and(|l| l.trim().is_empty()) {
        kept.pop();
    }
    kept.join("\n")
}

/// RFC 3676 format=flowed decoding (soft line breaks: a line ending in a space joins the next; space-stuffing
/// removed; with delsp=yes the trailing space is deleted too). Quoted flowed lines keep their ">" prefix.
pub fn unflow(text: &str, delsp: bool) -> String {
    let (body, ends_with_newline) = match text.strip_suffix('\n') {
        Some(rest) => (rest.strip_suffix('\r').unwrap_or(rest), true),
        None => (text, false),
    };
    let mut out: Vec<String> = Vec::new();
    // A flowed paragraph still waiting for its next line: quote depth and text so far, which
    // still ends in the soft-break space.
    let mut open: Option<(usize, String)> = None;
    for raw in body.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let depth = raw.bytes().take_while(|&b| b == b'>').count();
        let after_quote = &raw[depth..];
        let content = after_quote.strip_prefix(' ').unwrap_or(after_quote);
        // "-- " ends in a space yet is the signature separator, never a soft break (RFC 3676 4.3).
        let is_sig = content == "-- ";
        let flowed = !is_sig && content.ends_with(' ');
        if let Some((d, mut para)) = open.take() {
            // An empty next line would be swallowed by the join, merging two paragraphs that
            // some senders separate with "text \n\n"; keep the paragraph break instead.
            if d == depth && !content.is_empty() && !is_sig {
                if delsp {
                    para.pop();
                }
                para.push_str(content);
                if flowed {
                    open = Some((d, para));
                } else {
                    out.push(quoted(d, &para));
                }
                continue;
            }
            para.pop();
            out.push(quoted(d, &para));
        }
        if flowed {
            open = Some((depth, content.to_string()));
        } else {
            out.push(quoted(depth, content));
        }
    }
    if let Some((d, mut para)) = open {
        para.pop();
        out.push(quoted(d, &para));
    }
    let mut text = out.join("\n");
    if ends_with_newline {
        text.push('\n');
    }
    text
}

fn quoted(depth: usize, text: &str) -> String {
    let mut s = ">".repeat(depth);
    if depth > 0 && !text.is_empty() {
        s.push(' ');
    }
    s.push_str(text);
    s
}

// ---------------------------------------------------------------------------------------------
// strip_reply

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// Attribution lines longer than this are prose, and the limit keeps the regexes off huge lines.
const MAX_ATTRIBUTION: usize = 500;

// No \b: the word before "wrote" ends at a non-word character, spelt out, which keeps the
// regex crate on its fast engines over non-ASCII lines (see address::re).
/// "On <date>, <who> wrote:" and its translations. The date-ish part (a year, a time, a numeric
/// date or an address) keeps "On Tuesday my sister wrote:" in the customer's own text.
static ATTRIBUTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^\s*(?:
            On\s(?:.*\W)?wrote\s*:
          | Le\s(?:.*\W)?a\s+[ée]crit\s*:
          | Am\s(?:.*\W)?schrieb(?:\W.*)?:
          | (?:.*\W)?schrieb\s+am(?:\W.*)?:
          | El\s(?:.*\W)?escribi[óo]\s*:
          | Op\s(?:.*\W)?schreef(?:\W.*)?:
          | Il\s(?:.*\W)?ha\s+scritto\s*:
          | Em\s(?:.*\W)?escreveu\s*:
          | .*@(?:.*\W)?wrote\s*:
        )\s*$",
    )
    .unwrap()
});
static DATEISH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d:\d\d|\d{4}|\d/\d|\d\.\d|@").unwrap());

static ORIGINAL_MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*-{2,}\s*(?:original message|ursprüngliche nachricht|message d'origine|mensaje original|oorspronkelijk bericht|messaggio originale|mensagem original)\s*-{2,}\s*$",
    )
    .unwrap()
});

/// A forward is the customer passing on content (often the order itself), so a header block
/// right under one of these is kept.
static FORWARD_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*-*\s*(?:forwarded message|begin forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado|doorgestuurd bericht|messaggio inoltrato)\s*:?\s*-*\s*$",
    )
    .unwrap()
});

// Outlook bolds header names, which plain-text renderings show as "*From:*".
static HEADER_FROM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*\*?(?:from|de|von|van|da|från|fra)\*?\s*:\s*\*?\s*\S").unwrap()
});
static HEADER_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*\*?(?:sent|date|envoyé|gesendet|enviado(?:\s+el)?|fecha|datum|verzonden|inviato|data|skickat|sendt)\*?\s*:",
    )
    .unwrap()
});
static HEADER_TO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*\*?(?:to|subject|cc|à|a|objet|an|betreff|para|asunto|aan|onderwerp|oggetto|till|ämne|til|emne)\*?\s*:",
    )
    .unwrap()
});

static DEVICE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^\s*(?:
            sent\s+from\s+my\s+[\p{L}\p{N}\x20._'’&-]+
          | sent\s+from\s+(?:mail|outlook|yahoo\s+mail|gmail|aol|proton\s*mail)(?:\s+(?:for|on)\s+[\p{L}\p{N}\x20._-]+)?
          | sent\s+with\s+proton\s*mail[\p{L}\p{N}\x20._-]*
          | get\s+outlook\s+for\s+(?:ios|android|mac|windows)
          | envoyé\s+(?:de|depuis)\s+(?:mon|ma)\s+[\p{L}\p{N}\x20._-]+
          | von\s+meinem\s+[\p{L}\p{N}\x20._-]+\s+gesendet
          | gesendet\s+von\s+(?:meinem\s+)?[\p{L}\p{N}\x20._-]+
          | enviado\s+desde\s+mi\s+[\p{L}\p{N}\x20._-]+
          | enviado\s+do\s+meu\s+[\p{L}\p{N}\x20._-]+
          | inviato\s+da(?:l\s+mio)?\s+[\p{L}\p{N}\x20._-]+
          | verzonden\s+(?:vanaf|met)\s+(?:mijn\s+)?[\p{L}\p{N}\x20._-]+
        )\s*(?:<[^<>\s]*>)?\s*$",
    )
    .unwrap()
});

/// A client's "Sent from my iPhone" line. Short lines only: the length cap lives here because
/// counted repetition of Unicode classes makes the regex too large to compile.
fn is_device_line(line: &str) -> bool {
    line.len() <= 200 && line.trim().chars().count() <= 80 && DEVICE_LINE.is_match(line)
}

/// Whether line `i` starts quoted text or a signature, so it and everything after it go.
fn quote_or_signature_starts(lines: &[&str], i: usize) -> bool {
    let line = lines[i];
    // Exactly "--" / "-- ": a "-- 2 x Blue Mug" item line must survive.
    if line
        .strip_prefix("--")
        .is_some_and(|rest| rest.trim().is_empty())
    {
        return true;
    }
    let t = line.trim();
    if t.len() >= 20 && t.bytes().all(|b| b == b'_') {
        return true;
    }
    if t.len() <= MAX_ATTRIBUTION && ORIGINAL_MESSAGE.is_match(t) {
        return true;
    }
    if is_attribution(lines, i) {
        return true;
    }
    is_header_block(lines, i)
}

/// Clients wrap long attributions, so a span of up to three non-blank lines is read as one.
fn is_attribution(lines: &[&str], i: usize) -> bool {
    let mut joined = String::new();
    for line in lines.iter().skip(i).take(3) {
        let t = line.trim();
        if t.is_empty() || is_quoted(t) || joined.len() + t.len() > MAX_ATTRIBUTION {
            return false;
        }
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(t);
        if ATTRIBUTION.is_match(&joined) && DATEISH.is_match(&joined) {
            return true;
        }
    }
    false
}

/// Outlook's "From: / Sent: / To: / Subject:" block. A lone "From: me" in the customer's text
/// has no date and recipient lines under it, so it stays.
fn is_header_block(lines: &[&str], i: usize) -> bool {
    if lines[i].len() > MAX_ATTRIBUTION || !HEADER_FROM.is_match(lines[i]) {
        return false;
    }
    let below = lines[i + 1..]
        .iter()
        .take(8)
        .filter(|l| !l.trim().is_empty())
        .take(4);
    let (mut date, mut to) = (false, false);
    for l in below {
        date |= HEADER_DATE.is_match(l);
        to |= HEADER_TO.is_match(l);
    }
    if !(date && to) {
        return false;
    }
    // Thunderbird puts Subject and Date above From in a forward, so look a few lines up.
    let marker = lines[..i]
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, l)| !l.trim().is_empty())
        .take(4)
        .find(|(_, l)| l.len() <= MAX_ATTRIBUTION && FORWARD_MARKER.is_match(l))
        .map(|(j, _)| j);
    match marker {
        None => true,
        Some(j) => signed_off(&lines[..j]),
    }
}

/// Whether the writer closed their own message ("Thanks!\nJess") before a forward: then what
/// they forward under it is context (a friend's wish list), not more of their order. A forward
/// under "See below" alone is the content itself and stays.
fn signed_off(above: &[&str]) -> bool {
    let mut lines = above
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .rev();
    for _ in 0..3 {
        let Some(line) = lines.next() else {
            return false;
        };
        if super::extract::CLOSING.is_match(line) {
            return lines.next().is_some();
        }
        let name_like = line.split_whitespace().count() <= 4
            && line
                .chars()
                .all(|c| c.is_alphabetic() || " .-'’".contains(c));
        if !name_like {
            return false;
        }
    }
    false
}

// ---------------------------------------------------------------------------------------------
// html_to_text

/// Deeper tables are layout, not orders; the cap bounds how often a cell's lines are copied
/// outwards (each table level moves its rows once into the enclosing cell).
const MAX_TABLE_DEPTH: usize = 16;
/// Tag names are interned; capping their length and number caps what hostile names can cost.
/// Past the cap every new name shares one slot, so an end tag of such a name closes the
/// innermost of them: harmless, as unknown elements are inline.
const MAX_TAG_NAME: usize = 64;
const MAX_NAMES: usize = 4096;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Inline,
    Block,
    ListItem,
    Pre,
    Table,
    /// A table past MAX_TABLE_DEPTH: rendered as a block, and its rows and cells as blocks too.
    DeepTable,
    Row,
    Cell,
}

struct Open {
    name: u32,
    kind: Kind,
    /// False inside a dropped region: the element was opened without effect, so closing it
    /// must have none either.
    live: bool,
}

/// Lines being built for one place: the document, or one table cell.
#[derive(Default)]
struct Sink {
    lines: Vec<String>,
    line: String,
    space: bool,
    /// Outlook writes blank lines as `<p>&nbsp;</p>`; such a paragraph is a blank line, not nothing.
    nbsp: bool,
    bullet: bool,
}

impl Sink {
    fn put(&mut self, c: char, pre: bool) {
        match c {
            '\n' if pre => self.newline(),
            '\u{a0}' => {
                self.nbsp = true;
                self.space = true;
            }
            // Invisible in a browser, but they would split words for the item matcher.
            '\u{200b}' | '\u{feff}' | '\u{ad}' | '\u{2060}' => {}
            c if c.is_whitespace() => self.space = true,
            c if c.is_control() => {}
            c => {
                if self.bullet {
                    if self.line.is_empty() {
                        self.line.push_str("- ");
                    }
                    self.bullet = false;
                } else if self.space && !self.line.is_empty() {
                    self.line.push(' ');
                }
                self.space = false;
                self.line.push(c);
            }
        }
    }

    fn block(&mut self) {
        if !self.line.is_empty() {
            self.lines.push(std::mem::take(&mut self.line));
        } else if self.nbsp {
            self.lines.push(String::new());
        }
        self.space = false;
        self.nbsp = false;
    }

    fn newline(&mut self) {
        self.lines.push(std::mem::take(&mut self.line));
        self.space = false;
        self.nbsp = false;
    }

    fn push_line(&mut self, line: String) {
        self.block();
        self.lines.push(line);
    }

    /// The finished lines, without blank lines at either end.
    fn into_lines(mut self) -> Vec<String> {
        self.block();
        let mut lines = self.lines;
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        let lead = lines.iter().take_while(|l| l.is_empty()).count();
        lines.drain(..lead);
        lines
    }
}

struct Table {
    /// Stack positions of this table's element, its open row and its open cell.
    at: usize,
    row_at: Option<usize>,
    cell_at: Option<usize>,
    cell: Option<Sink>,
    cells: Vec<Sink>,
}

impl Table {
    fn finish_cell(&mut self) {
        if let Some(cell) = self.cell.take() {
            self.cells.push(cell);
        }
        self.cell_at = None;
    }

    /// A row of one-line cells reads as "a | b"; a cell holding several lines (a layout table
    /// wrapping a whole message, an address with `<br>`s) would be garbled by joining, so such
    /// a row is written out line by line.
    fn finish_row(&mut self, out: &mut Sink) {
        self.finish_cell();
        self.row_at = None;
        let cells: Vec<Vec<String>> = self
            .cells
            .drain(..)
            .map(Sink::into_lines)
            .filter(|l| !l.is_empty())
            .collect();
        if cells.is_empty() {
            return;
        }
        if cells.iter().all(|c| c.len() == 1) {
            let joined: Vec<String> = cells.into_iter().flatten().collect();
            out.push_line(joined.join(" | "));
        } else {
            for cell in cells {
                out.block();
                out.lines.extend(cell);
            }
        }
        out.block();
    }
}

fn sink_in<'a>(tables: &'a mut [Table], doc: &'a mut Sink) -> &'a mut Sink {
    tables
        .iter_mut()
        .rev()
        .find_map(|t| t.cell.as_mut())
        .unwrap_or(doc)
}

struct Converter {
    stack: Vec<Open>,
    names: HashMap<String, u32>,
    /// For each interned name, the stack positions where it is open, innermost last: finding
    /// an end tag's element is O(1) instead of a walk down a possibly 200,000-deep stack.
    open_at: Vec<Vec<usize>>,
    head: u32,
    overflow: u32,
    /// Stack position of the element whose content is being dropped (a quote, the head).
    dropping: Option<usize>,
    doc: Sink,
    tables: Vec<Table>,
    deep_tables: usize,
    pre: usize,
    stopped: bool,
    scratch: String,
    name_buf: String,
}

#[derive(Default)]
struct Attrs<'a> {
    class: Option<&'a str>,
    id: Option<&'a str>,
    style: Option<&'a str>,
    self_closing: bool,
}

const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param",
    "source", "track", "wbr",
];
/// Elements whose content is not markup; it is skipped up to the matching end tag unseen.
const RAW_TEXT: &[&str] = &[
    "script", "style", "title", "xmp", "iframe", "noembed", "noframes", "noscript",
];
const HEAD_CONTENT: &[&str] = &[
    "meta", "link", "title", "style", "script", "base", "noscript", "template", "head",
];
const BLOCK: &[&str] = &[
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "details",
    "dialog",
    "dir",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "header",
    "hgroup",
    "legend",
    "main",
    "menu",
    "nav",
    "section",
    "summary",
    "caption",
    "body",
    "html",
];
const DROP_CLASSES: &[&str] = &[
    "gmail_quote",
    "gmail_quote_container",
    "gmail_signature",
    "moz-cite-prefix",
    "moz-signature",
    "yahoo_quoted",
];
/// Outlook marks where the quoted message begins; everything from there on is the old mail.
const STOP_IDS: &[&str] = &[
    "appendonsend",
    "divrplyfwdmsg",
    "mail-editor-reference-message-container",
];

impl Converter {
    fn new() -> Self {
        let mut c = Converter {
            stack: Vec::new(),
            names: HashMap::new(),
            open_at: Vec::new(),
            head: 0,
            overflow: 0,
            dropping: None,
            doc: Sink::default(),
            tables: Vec::new(),
            deep_tables: 0,
            pre: 0,
            stopped: false,
            scratch: String::new(),
            name_buf: String::new(),
        };
        c.head = c.intern("head");
        c.overflow = c.intern("");
        c
    }

    fn intern(&mut self, name: &str) -> u32 {
        if let Some(id) = self.lookup(name) {
            return id;
        }
        let id = self.open_at.len() as u32;
        self.names.insert(name.to_string(), id);
        self.open_at.push(Vec::new());
        id
    }

    fn lookup(&self, name: &str) -> Option<u32> {
        match self.names.get(name) {
            Some(&id) => Some(id),
            None if self.names.len() >= MAX_NAMES => Some(self.overflow),
            None => None,
        }
    }

    fn sink(&mut self) -> &mut Sink {
        sink_in(&mut self.tables, &mut self.doc)
    }

    fn run(&mut self, html: &str) {
        let b = html.as_bytes();
        let mut i = 0;
        while i < b.len() && !self.stopped {
            let lt = html[i..].find('<').map_or(b.len(), |k| i + k);
            if lt > i {
                self.text(&html[i..lt]);
            }
            i = lt;
            if i >= b.len() {
                break;
            }
            i = match b.get(i + 1) {
                Some(b'!') if html[i..].starts_with("<!--") => comment_end(html, i + 4),
                Some(b'!' | b'?') => after_gt(html, i + 2),
                Some(b'/') => match b.get(i + 2) {
                    Some(c) if c.is_ascii_alphabetic() => self.end_tag(html, i + 2),
                    Some(b'>') => i + 3,
                    Some(_) => after_gt(html, i + 2),
                    None => b.len(),
                },
                Some(c) if c.is_ascii_alphabetic() => self.start_tag(html, i + 1),
                _ => {
                    self.text("<");
                    i + 1
                }
            };
        }
    }

    fn finish(mut self) -> String {
        self.pop_to(0);
        while let Some(mut t) = self.tables.pop() {
            t.finish_row(sink_in(&mut self.tables, &mut self.doc));
        }
        let mut out = String::new();
        let mut blank = false;
        for line in std::mem::take(&mut self.doc).into_lines() {
            let line = line.trim();
            if line.is_empty() {
                blank = true;
                continue;
            }
            if !out.is_empty() {
                out.push('\n');
                if blank {
                    out.push('\n');
                }
            }
            blank = false;
            out.push_str(line);
        }
        out
    }

    fn text(&mut self, raw: &str) {
        if let Some(at) = self.dropping {
            // Text in <head> means the author forgot <body>; browsers show it, and so do we.
            let in_head = self.stack.get(at).is_some_and(|o| o.name == self.head);
            if !(in_head && raw.chars().any(|c| !c.is_whitespace())) {
                return;
            }
            self.pop_to(at);
        }
        let mut decoded = std::mem::take(&mut self.scratch);
        decoded.clear();
        decode_entities(raw, &mut decoded);
        let pre = self.pre > 0;
        let sink = self.sink();
        for c in decoded.chars() {
            sink.put(c, pre);
        }
        self.scratch = decoded;
    }

    /// Parses the tag whose name starts at `start`; returns where parsing goes on.
    fn start_tag(&mut self, html: &str, start: usize) -> usize {
        let b = html.as_bytes();
        let mut j = start;
        while j < b.len() && !is_tag_delim(b[j]) {
            j += 1;
        }
        self.set_name(&html[start..j]);
        let mut attrs = Attrs::default();
        // An unterminated tag swallows the rest, as in a browser; going back to read it as
        // text instead would rescan the tail once per '<' and turn quadratic.
        loop {
            while j < b.len() && (b[j].is_ascii_whitespace() || b[j] == b'/') {
                if b[j] == b'/' && b.get(j + 1) == Some(&b'>') {
                    attrs.self_closing = true;
                }
                j += 1;
            }
            let Some(&c) = b.get(j) else {
                return b.len();
            };
            if c == b'>' {
                j += 1;
                break;
            }
            let name_start = j;
            j += 1;
            while j < b.len() && !is_tag_delim(b[j]) && b[j] != b'=' {
                j += 1;
            }
            let attr = &html[name_start..j];
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            let mut value = "";
            if b.get(j) == Some(&b'=') {
                j += 1;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                match b.get(j) {
                    Some(&q @ (b'"' | b'\'')) => {
                        let Some(len) = html[j + 1..].find(q as char) else {
                            return b.len();
                        };
                        value = &html[j + 1..j + 1 + len];
                        j += len + 2;
                    }
                    _ => {
                        let v = j;
                        while j < b.len() && !b[j].is_ascii_whitespace() && b[j] != b'>' {
                            j += 1;
                        }
                        value = &html[v..j];
                    }
                }
            }
            if attr.eq_ignore_ascii_case("class") {
                attrs.class = Some(value);
            } else if attr.eq_ignore_ascii_case("id") {
                attrs.id = Some(value);
            } else if attr.eq_ignore_ascii_case("style") {
                attrs.style = Some(value);
            }
        }
        self.open(&attrs);
        let name = self.name_buf.as_str();
        if !attrs.self_closing && RAW_TEXT.contains(&name) {
            return raw_text_end(html, j, name);
        }
        j
    }

    fn set_name(&mut self, raw: &str) {
        self.name_buf.clear();
        self.name_buf.extend(
            raw.chars()
                .take(MAX_TAG_NAME)
                .map(|c| c.to_ascii_lowercase()),
        );
    }

    fn open(&mut self, attrs: &Attrs) {
        if self.stopped {
            return;
        }
        let name = std::mem::take(&mut self.name_buf);
        self.open_named(&name, attrs);
        self.name_buf = name;
    }

    fn open_named(&mut self, name: &str, attrs: &Attrs) {
        let id_is = |ids: &[&str]| {
            attrs
                .id
                .is_some_and(|v| ids.iter().any(|s| v.eq_ignore_ascii_case(s)))
        };
        let class_has = |c: &str| {
            attrs.class.is_some_and(|v| {
                v.split_ascii_whitespace()
                    .any(|t| t.eq_ignore_ascii_case(c))
            })
        };
        if id_is(STOP_IDS) || class_has("OutlookMessageHeader") {
            self.stopped = true;
            return;
        }
        let head_open = self.open_at[self.head as usize].last().copied();
        if let Some(at) = head_open
            && !HEAD_CONTENT.contains(&name)
        {
            self.pop_to(at);
        }
        let live = self.dropping.is_none();
        if name == "br" {
            if live {
                self.sink().newline();
            }
            return;
        }
        if VOID.contains(&name) {
            if live && name == "hr" {
                self.sink().block();
            }
            return;
        }
        if attrs.self_closing || RAW_TEXT.contains(&name) {
            // Nothing will close it, so it must not sit on the stack; a `<div/>` still breaks.
            if live && BLOCK.contains(&name) {
                self.sink().block();
            }
            return;
        }
        let drops = live
            && (matches!(name, "blockquote" | "head" | "template")
                || DROP_CLASSES.iter().any(|c| class_has(c))
                || attrs.class.is_some_and(|v| {
                    v.split_ascii_whitespace()
                        .any(|t| t.to_ascii_lowercase().starts_with("yahoo_quoted"))
                })
                || attrs
                    .id
                    .is_some_and(|v| v.to_ascii_lowercase().starts_with("yahoo_quoted"))
                || attrs.style.is_some_and(hidden));
        let live = live && !drops;
        let mut kind = match name {
            "li" => Kind::ListItem,
            "pre" => Kind::Pre,
            "table" => Kind::Table,
            "tr" => Kind::Row,
            "td" | "th" => Kind::Cell,
            n if BLOCK.contains(&n) => Kind::Block,
            _ => Kind::Inline,
        };
        if live {
            kind = self.open_effect(kind);
        } else if kind == Kind::Table {
            kind = Kind::Inline;
        }
        let id = self.intern(name);
        let at = self.stack.len();
        self.stack.push(Open {
            name: id,
            kind,
            live,
        });
        self.open_at[id as usize].push(at);
        if drops {
            self.dropping = Some(at);
        }
    }

    /// What opening a live element does; returns the kind it is kept as.
    fn open_effect(&mut self, kind: Kind) -> Kind {
        let in_deep = self.deep_tables > 0;
        match kind {
            Kind::Table if in_deep || self.tables.len() >= MAX_TABLE_DEPTH => {
                self.deep_tables += 1;
                self.sink().block();
                Kind::DeepTable
            }
            Kind::Table => {
                self.sink().block();
                self.tables.push(Table {
                    at: self.stack.len(),
                    row_at: None,
                    cell_at: None,
                    cell: None,
                    cells: Vec::new(),
                });
                Kind::Table
            }
            Kind::Row | Kind::Cell if in_deep || self.tables.is_empty() => {
                self.sink().block();
                Kind::Block
            }
            Kind::Row => {
                let t = self.tables.last().map(|t| (t.row_at, t.cell_at));
                if let Some((row, cell)) = t {
                    // A new row closes the open one, and any row of cells that had no <tr>.
                    if let Some(at) = row.or(cell) {
                        self.pop_to(at);
                    }
                    if row.is_none() {
                        self.finish_top_row();
                    }
                }
                let at = self.stack.len();
                if let Some(t) = self.tables.last_mut() {
                    t.row_at = Some(at);
                }
                Kind::Row
            }
            Kind::Cell => {
                if let Some(at) = self.tables.last().and_then(|t| t.cell_at) {
                    self.pop_to(at);
                }
                let at = self.stack.len();
                if let Some(t) = self.tables.last_mut() {
                    t.cell_at = Some(at);
                    t.cell = Some(Sink::default());
                }
                Kind::Cell
            }
            Kind::ListItem => {
                let sink = self.sink();
                sink.block();
                sink.bullet = true;
                kind
            }
            Kind::Pre => {
                self.pre += 1;
                self.sink().block();
                kind
            }
            Kind::Block => {
                self.sink().block();
                kind
            }
            Kind::Inline | Kind::DeepTable => kind,
        }
    }

    fn finish_top_row(&mut self) {
        if let Some((top, below)) = self.tables.split_last_mut() {
            top.finish_row(sink_in(below, &mut self.doc));
        }
    }

    fn end_tag(&mut self, html: &str, start: usize) -> usize {
        let b = html.as_bytes();
        let mut j = start;
        while j < b.len() && !is_tag_delim(b[j]) {
            j += 1;
        }
        self.set_name(&html[start..j]);
        let next = after_gt(html, j);
        if self.stopped {
            return next;
        }
        let name = std::mem::take(&mut self.name_buf);
        self.close_named(&name);
        self.name_buf = name;
        next
    }

    fn close_named(&mut self, name: &str) {
        let live = self.dropping.is_none();
        // Browsers read </br> as <br>.
        if name == "br" {
            if live {
                self.sink().newline();
            }
            return;
        }
        let at = self
            .lookup(name)
            .and_then(|id| self.open_at[id as usize].last().copied());
        let Some(at) = at else {
            // A stray </p> still ends a paragraph in a browser.
            if live && (BLOCK.contains(&name) || name == "li") {
                self.sink().block();
            }
            return;
        };
        // A table is a wall for stray end tags from outside it: a </div> left open around a
        // layout table must not tear the table down from inside a cell.
        if name != "table" && self.tables.last().is_some_and(|t| at < t.at) {
            return;
        }
        self.pop_to(at);
    }

    /// Closes every element from the top of the stack down to position `at`, inclusive.
    fn pop_to(&mut self, at: usize) {
        while self.stack.len() > at {
            let Some(open) = self.stack.pop() else {
                break;
            };
            let pos = self.stack.len();
            if let Some(list) = self.open_at.get_mut(open.name as usize) {
                list.pop();
            }
            if self.dropping == Some(pos) {
                self.dropping = None;
            }
            if open.live {
                self.close_effect(open.kind, pos);
            }
        }
    }

    fn close_effect(&mut self, kind: Kind, pos: usize) {
        match kind {
            Kind::Inline => {}
            Kind::Block => self.sink().block(),
            Kind::ListItem => {
                let sink = self.sink();
                sink.block();
                sink.bullet = false;
            }
            Kind::Pre => {
                self.pre = self.pre.saturating_sub(1);
                self.sink().block();
            }
            Kind::DeepTable => {
                self.deep_tables = self.deep_tables.saturating_sub(1);
                self.sink().block();
            }
            Kind::Cell => {
                if let Some(t) = self.tables.last_mut()
                    && t.cell_at == Some(pos)
                {
                    t.finish_cell();
                }
            }
            Kind::Row => {
                if self.tables.last().is_some_and(|t| t.row_at == Some(pos)) {
                    self.finish_top_row();
                }
            }
            Kind::Table => {
                if self.tables.last().is_some_and(|t| t.at == pos) {
                    self.finish_top_row();
                    self.tables.pop();
                    self.sink().block();
                }
            }
        }
    }
}

fn is_tag_delim(b: u8) -> bool {
    b.is_ascii_whitespace() || b == b'/' || b == b'>'
}

/// Position after the next '>' at or after `from`, or the end.
fn after_gt(html: &str, from: usize) -> usize {
    html.get(from..)
        .and_then(|rest| rest.find('>'))
        .map_or(html.len(), |k| from + k + 1)
}

/// Position after the comment whose body starts at `from` ("<!--" already read).
fn comment_end(html: &str, from: usize) -> usize {
    let b = html.as_bytes();
    // "<!-->" and "<!--->" are complete, empty comments.
    if b.get(from) == Some(&b'>') {
        return from + 1;
    }
    if b.get(from) == Some(&b'-') && b.get(from + 1) == Some(&b'>') {
        return from + 2;
    }
    let mut k = from;
    while let Some(p) = html.get(k..).and_then(|rest| rest.find("--")) {
        let q = k + p + 2;
        match (b.get(q), b.get(q + 1)) {
            (Some(b'>'), _) => return q + 1,
            (Some(b'!'), Some(b'>')) => return q + 2,
            _ => k = k + p + 1,
        }
    }
    html.len()
}

/// Where the end tag closing raw-text element `name` begins (or the end).
fn raw_text_end(html: &str, from: usize, name: &str) -> usize {
    let b = html.as_bytes();
    let mut k = from;
    while let Some(p) = html.get(k..).and_then(|rest| rest.find("</")) {
        let at = k + p;
        let n = at + 2;
        let matches = b
            .get(n..n + name.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(name.as_bytes()));
        if matches && b.get(n + name.len()).is_none_or(|&c| is_tag_delim(c)) {
            return at;
        }
        k = at + 2;
    }
    html.len()
}

/// Inline styles that hide an element (preheaders, Outlook's mso-hide).
fn hidden(style: &str) -> bool {
    let compact: String = style
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    compact.contains("display:none") || compact.contains("mso-hide:all")
}

fn decode_entities(s: &str, out: &mut String) {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(p) = s.get(i..).and_then(|rest| rest.find('&')) {
        let amp = i + p;
        out.push_str(&s[i..amp]);
        let (c, next) = entity_at(s, amp);
        match c {
            Some(c) => out.push(c),
            None => out.push('&'),
        }
        i = next;
        debug_assert!(i > amp && i <= b.len());
    }
    out.push_str(&s[i..]);
}

/// The character for the entity at `amp` (an '&'), and where text resumes. `None` means the
/// '&' is a plain ampersand ("Salt & Pepper", "AT&T").
fn entity_at(s: &str, amp: usize) -> (Option<char>, usize) {
    let b = s.as_bytes();
    let mut j = amp + 1;
    if b.get(j) == Some(&b'#') {
        j += 1;
        let hex = matches!(b.get(j), Some(b'x' | b'X'));
        if hex {
            j += 1;
        }
        let digits_start = j;
        let mut value: u32 = 0;
        while let Some(&d) = b.get(j) {
            let v = match (hex, d) {
                (_, b'0'..=b'9') => d - b'0',
                (true, b'a'..=b'f') => d - b'a' + 10,
                (true, b'A'..=b'F') => d - b'A' + 10,
                _ => break,
            };
            // Saturate: a thousand-digit reference is still one bad character, not an overflow.
            value = value
                .saturating_mul(if hex { 16 } else { 10 })
                .saturating_add(u32::from(v))
                .min(0x11_0000);
            j += 1;
        }
        if j == digits_start {
            return (None, amp + 1);
        }
        if b.get(j) == Some(&b';') {
            j += 1;
        }
        return (Some(numeric_char(value)), j);
    }
    while j < b.len() && j - amp <= 32 && b[j].is_ascii_alphanumeric() {
        j += 1;
    }
    let name = &s[amp + 1..j];
    if b.get(j) == Some(&b';')
        && let Some(c) = named_entity(name)
    {
        return (Some(c), j + 1);
    }
    // Browsers accept a few old entities without ';' ("&nbsp", "&copy2026").
    for legacy in ["nbsp", "amp", "quot", "copy", "reg", "lt", "gt"] {
        if name.starts_with(legacy) {
            return (named_entity(legacy), amp + 1 + legacy.len());
        }
    }
    (None, amp + 1)
}

fn numeric_char(value: u32) -> char {
    // The C1 range is mislabelled Windows-1252 in the wild (&#146; for ’), and browsers map it.
    const CP1252: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match value {
        0 => '\u{fffd}',
        0x80..=0x9f => CP1252[(value - 0x80) as usize],
        v => char::from_u32(v).unwrap_or('\u{fffd}'),
    }
}

fn named_entity(name: &str) -> Option<char> {
    Some(match name {
        "nbsp" => '\u{a0}',
        "amp" | "AMP" => '&',
        "lt" | "LT" => '<',
        "gt" | "GT" => '>',
        "quot" | "QUOT" => '"',
        "apos" => '\'',
        "copy" | "COPY" => '©',
        "reg" | "REG" => '®',
        "trade" => '™',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "minus" => '−',
        "lsquo" => '‘',
        "rsquo" => '’',
        "sbquo" => '‚',
        "ldquo" => '“',
        "rdquo" => '”',
        "bdquo" => '„',
        "laquo" => '«',
        "raquo" => '»',
        "lsaquo" => '‹',
        "rsaquo" => '›',
        "bull" => '•',
        "middot" => '·',
        "deg" => '°',
        "euro" => '€',
        "pound" => '£',
        "yen" => '¥',
        "cent" => '¢',
        "curren" => '¤',
        "sect" => '§',
        "para" => '¶',
        "times" => '×',
        "divide" => '÷',
        "plusmn" => '±',
        "frac12" => '½',
        "frac14" => '¼',
        "frac34" => '¾',
        "sup1" => '¹',
        "sup2" => '²',
        "sup3" => '³',
        "micro" => 'µ',
        "ordf" => 'ª',
        "ordm" => 'º',
        "not" => '¬',
        "brvbar" => '¦',
        "uml" => '¨',
        "macr" => '¯',
        "acute" => '´',
        "cedil" => '¸',
        "iexcl" => '¡',
        "iquest" => '¿',
        "shy" => '\u{ad}',
        "ensp" => '\u{2002}',
        "emsp" => '\u{2003}',
        "thinsp" => '\u{2009}',
        "zwnj" => '\u{200c}',
        "zwj" => '\u{200d}',
        "lrm" => '\u{200e}',
        "rlm" => '\u{200f}',
        "dagger" => '†',
        "Dagger" => '‡',
        "permil" => '‰',
        "prime" => '′',
        "Prime" => '″',
        "larr" => '←',
        "rarr" => '→',
        "uarr" => '↑',
        "darr" => '↓',
        "harr" => '↔',
        "check" => '✓',
        "star" => '☆',
        "hearts" => '♥',
        "circ" => 'ˆ',
        "tilde" => '˜',
        "fnof" => 'ƒ',
        "Tab" => '\t',
        "NewLine" => '\n',
        "Agrave" => 'À',
        "Aacute" => 'Á',
        "Acirc" => 'Â',
        "Atilde" => 'Ã',
        "Auml" => 'Ä',
        "Aring" => 'Å',
        "AElig" => 'Æ',
        "Ccedil" => 'Ç',
        "Egrave" => 'È',
        "Eacute" => 'É',
        "Ecirc" => 'Ê',
        "Euml" => 'Ë',
        "Igrave" => 'Ì',
        "Iacute" => 'Í',
        "Icirc" => 'Î',
        "Iuml" => 'Ï',
        "ETH" => 'Ð',
        "Ntilde" => 'Ñ',
        "Ograve" => 'Ò',
        "Oacute" => 'Ó',
        "Ocirc" => 'Ô',
        "Otilde" => 'Õ',
        "Ouml" => 'Ö',
        "Oslash" => 'Ø',
        "Ugrave" => 'Ù',
        "Uacute" => 'Ú',
        "Ucirc" => 'Û',
        "Uuml" => 'Ü',
        "Yacute" => 'Ý',
        "THORN" => 'Þ',
        "szlig" => 'ß',
        "agrave" => 'à',
        "aacute" => 'á',
        "acirc" => 'â',
        "atilde" => 'ã',
        "auml" => 'ä',
        "aring" => 'å',
        "aelig" => 'æ',
        "ccedil" => 'ç',
        "egrave" => 'è',
        "eacute" => 'é',
        "ecirc" => 'ê',
        "euml" => 'ë',
        "igrave" => 'ì',
        "iacute" => 'í',
        "icirc" => 'î',
        "iuml" => 'ï',
        "eth" => 'ð',
        "ntilde" => 'ñ',
        "ograve" => 'ò',
        "oacute" => 'ó',
        "ocirc" => 'ô',
        "otilde" => 'õ',
        "ouml" => 'ö',
        "oslash" => 'ø',
        "ugrave" => 'ù',
        "uacute" => 'ú',
        "ucirc" => 'û',
        "uuml" => 'ü',
        "yacute" => 'ý',
        "thorn" => 'þ',
        "yuml" => 'ÿ',
        "OElig" => 'Œ',
        "oelig" => 'œ',
        "Scaron" => 'Š',
        "scaron" => 'š',
        "Yuml" => 'Ÿ',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// (name, input, expected)
    type Case = (&'static str, &'static str, &'static str);

    fn check(cases: &[Case], f: impl Fn(&str) -> String) {
        let mut failures = Vec::new();
        for (name, input, want) in cases {
            let got = f(input);
            if got != *want {
                failures.push(format!("{name}:\n  want {want:?}\n  got  {got:?}"));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    const HTML: &[Case] = &[
        (
            "gmail reply",
            r#"<div dir="ltr">2 x Blue Mug<div><br></div><div>Thanks,</div><div>Pat</div></div><br><div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">On Tue, Nov 3, 2026 at 9:14 AM Mara &lt;<a href="mailto:m@x">m@x</a>&gt; wrote:<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex">Old order text</blockquote></div>"#,
            "2 x Blue Mug\n\nThanks,\nPat",
        ),
        (
            "gmail signature",
            r#"<div dir="ltr"><div>1 x Teapot</div><br clear="all"><div><br></div><span class="gmail_signature_prefix">-- </span><br><div dir="ltr" class="gmail_signature" data-smartmail="gmail_signature">Pat Okafor<br>Okafor Ceramics</div></div>"#,
            "1 x Teapot\n\n--",
        ),
        (
            "apple mail",
            r#"<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head><body dir="auto">Could I get 2 x Blue Mug?<br><br><div dir="ltr">Sent from my iPhone</div><div dir="ltr"><br><blockquote type="cite">On Nov 3, 2026, at 09:14, Mara &lt;m@x&gt; wrote:<br><br></blockquote></div><blockquote type="cite"><div dir="ltr">old</div></blockquote></body></html>"#,
            "Could I get 2 x Blue Mug?\n\nSent from my iPhone",
        ),
        (
            "outlook web: appendonsend and divRplyFwdMsg",
            r#"<html><head><style type="text/css" style="display:none;"> P {margin-top:0;margin-bottom:0;} </style></head><body dir="ltr"><div class="elementToProof" style="font-family: Aptos;">Please send 3 x Red Mug</div><div class="elementToProof"><br></div><div id="Signature">Get Outlook for iOS</div><div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri"><b>From:</b> Shop<br><b>Sent:</b> Tuesday</font></div><div>old text</div></body></html>"#,
            "Please send 3 x Red Mug\n\nGet Outlook for iOS",
        ),
        (
            "outlook divRplyFwdMsg alone",
            r#"<p>Blue Mug - qty: 3</p><div id="divRplyFwdMsg"><b>From:</b> x</div><p>Quoted 9 x Teapot</p>"#,
            "Blue Mug - qty: 3",
        ),
        (
            "outlook desktop MsoNormal",
            r##"<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><!--[if gte mso 9]><xml><o:shapedefaults v:ext="edit" spidmax="1026" /></xml><![endif]--><style><!-- p.MsoNormal {margin:0cm;} a:link {color:#0563C1} --></style></head><body lang=EN-US link="#0563C1"><div class=WordSection1><p class=MsoNormal>Hi,<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal>2 x Blue Glazed Mug<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p><div><div style='border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm'><p class=MsoNormal><b>From:</b> Mara Lind &lt;m@x&gt; <br><b>Sent:</b> Tuesday, November 3, 2026 9:14 AM<br><b>To:</b> Shop &lt;shop@x&gt;<br><b>Subject:</b> Order<o:p></o:p></p></div></div><p class=MsoNormal>old text<o:p></o:p></p></div></body></html>"##,
            "Hi,\n\n2 x Blue Glazed Mug\n\nFrom: Mara Lind <m@x>\nSent: Tuesday, November 3, 2026 9:14 AM\nTo: Shop <shop@x>\nSubject: Order\nold text",
        ),
        (
            "outlook list paragraphs",
            r#"<p class=MsoListParagraph><![if !supportLists]><span>-<span style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp; </span></span><![endif]>1 Cast Iron Teapot<o:p></o:p></p>"#,
            "- 1 Cast Iron Teapot",
        ),
        (
            "thunderbird",
            r#"<p>1 x Bud Vase</p><div class="moz-cite-prefix">On 11/3/26 9:14 AM, Mara wrote:<br></div><blockquote type="cite" cite="mid:x@y">old</blockquote><pre class="moz-signature" cols="72">-- 
Pat</pre>"#,
            "1 x Bud Vase",
        ),
        (
            "yahoo",
            r#"<div class="ydp1"><div>(1) Bud Vase</div></div><div id="yahoo_quoted_8812" class="yahoo_quoted"><div>On Tuesday, November 3, 2026, 09:14:00 AM EST, Mara <m@x> wrote:</div><div>old</div></div><div>P.S. thanks</div>"#,
            "(1) Bud Vase\nP.S. thanks",
        ),
        (
            "nested blockquotes",
            "<p>Keep</p><blockquote>a<blockquote>b<blockquote>c</blockquote>d</blockquote>e</blockquote><p>After</p>",
            "Keep\nAfter",
        ),
        (
            "unbalanced closes",
            "<div><p>One<div>Two</span></b></div></div></div></div><p>Three",
            "One\nTwo\nThree",
        ),
        ("unclosed blockquote", "Hi<blockquote>quoted", "Hi"),
        ("stray blockquote close", "A</blockquote>B", "A\nB"),
        (
            "misnested quote closed by its parent",
            "<div>Keep<blockquote>quoted</div>After",
            "Keep\nAfter",
        ),
        (
            "entities",
            "Caf&eacute; &amp; Th&#233; &#xE9;&#XE9; &lt;b&gt; &quot;x&quot; &apos;y&apos; AT&T &copy2026 &#146;s &#0; &#xD800; &#99999999999999999999; &bogus; &#; &#x; &",
            "Café & Thé éé <b> \"x\" 'y' AT&T ©2026 ’s \u{fffd} \u{fffd} \u{fffd} &bogus; &#; &#x; &",
        ),
        (
            "entities: more named",
            "&Eacute;t&eacute; &ndash; 5&euro; &hellip; M&uuml;nchen &szlig; &ntilde; &rsquo;&ldquo;&rdquo; &times;2",
            "Été – 5€ … München ß ñ ’“” ×2",
        ),
        (
            "whitespace and nbsp collapse",
            "2&nbsp;x&nbsp;&nbsp;Blue   \n\t Mug\u{200b}",
            "2 x Blue Mug",
        ),
        (
            "br variants",
            "a<br>b<BR/>c<br />d</br>e<br clear=\"all\">f<br\n>g",
            "a\nb\nc\nd\ne\nf\ng",
        ),
        (
            "at most one blank line",
            "a<br><br><br><br>b<p></p><p></p>c",
            "a\n\nb\nc",
        ),
        (
            "lists",
            "<ul><li>2 x Blue Mug</li><li><p>1 x Teapot</p></li><li></li></ul><ol><li>3 sake cups<li>(1) Bud Vase</ol>",
            "- 2 x Blue Mug\n- 1 x Teapot\n- 3 sake cups\n- (1) Bud Vase",
        ),
        (
            "table order",
            "<table><thead><tr><th>Product</th><th>Qty</th></tr></thead>\n<tbody><tr>\n <td>Blue Glazed Mug</td>\n <td>2</td>\n</tr></tbody></table>",
            "Product | Qty\nBlue Glazed Mug | 2",
        ),
        (
            "table: empty cells skipped, blocks inside cells",
            "<table><tr><td><p class=MsoNormal> Bud&nbsp;Vase </p></td><td></td><td>&nbsp;</td><td><b>1</b></td></tr></table>",
            "Bud Vase | 1",
        ),
        (
            "table: unclosed cells and rows",
            "<table><tr><td>Mug<td>2<tr><td>Vase<td>1</table>after",
            "Mug | 2\nVase | 1\nafter",
        ),
        (
            "layout table around the message",
            "<table width=100%><tr><td><p>Hello</p><p>2 x Blue Mug</p><table><tr><td>Teapot</td><td>1</td></tr></table></td></tr></table>",
            "Hello\n2 x Blue Mug\nTeapot | 1",
        ),
        (
            "table cell with an address",
            "<table><tr><td>Ship to:</td><td>Pat Okafor<br>41 Linden Avenue<br>Portland, OR 97205</td></tr></table>",
            "Ship to:\nPat Okafor\n41 Linden Avenue\nPortland, OR 97205",
        ),
        (
            "stray end tag does not tear down a table",
            "<div><table><tr><td>Mug</div></td><td>2</td></tr></table></div>",
            "Mug | 2",
        ),
        (
            "style, script, title, comments",
            "<title>Order</title><style>p{color:red}</style><script>if (a<b) { x = '</div>'; }</script><!-- hidden --><p>Visible</p><!--[if mso]>mso only<![endif]--><!--[if !mso]><!-->shown<!--<![endif]--><!---->",
            "Visible\nshown",
        ),
        (
            "headings and hr",
            "<h1>Title</h1>text<hr>more<h6>Sub</h6>",
            "Title\ntext\nmore\nSub",
        ),
        (
            "pre keeps lines",
            "<pre>2 x Blue Mug\n1 x   Teapot</pre>after",
            "2 x Blue Mug\n1 x Teapot\nafter",
        ),
        (
            "head without body",
            "<html><head><title>t</title><meta charset=utf-8>Hello <b>there</b>",
            "Hello there",
        ),
        (
            "head closed by a body element",
            "<head><style>x</style><div>Hi</div>",
            "Hi",
        ),
        (
            "angle brackets that are no tags",
            "a < b and c > d, x<3, <<>>, </ 3>y </>z <\u{1F600}>",
            "a < b and c > d, x<3, <<>>, y z <\u{1F600}>",
        ),
        ("unterminated tag", "Hello <a href=\"x", "Hello"),
        ("unterminated comment", "Hi<!-- never closed", "Hi"),
        (
            "quoted '>' inside an attribute",
            "<a title=\"a>b\" href='c>d'>link</a>",
            "link",
        ),
        (
            "hidden preheader",
            "<span style=\"display: none !important\">preheader</span>Order: 2 x Mug",
            "Order: 2 x Mug",
        ),
        (
            "inline markup joins words",
            "<b>2</b> x <i>Blue</i><span> Mug</span>",
            "2 x Blue Mug",
        ),
        (
            "uppercase tags",
            "<DIV>A</DIV><P>B</P><TABLE><TR><TD>C</TD><TD>D</TD></TR></TABLE>",
            "A\nB\nC | D",
        ),
        (
            "unicode",
            "<p>日本　東京都</p><p>Ünïcödé 😀</p><p>\u{202e}x\u{0301}</p>",
            "日本 東京都\nÜnïcödé 😀\n\u{202e}x\u{0301}",
        ),
        ("empty", "", ""),
        (
            "only markup",
            "<html><body><div><br></div></body></html>",
            "",
        ),
    ];

    #[test]
    fn html_cases() {
        check(HTML, html_to_text);
    }

    const STRIP: &[Case] = &[
        (
            "gmail plain",
            "2 x Blue Mug\n\nThanks,\nPat\n\nOn Tue, Nov 3, 2026 at 9:14 AM Mara <m@x> wrote:\n\n> old\n> text\n",
            "2 x Blue Mug\n\nThanks,\nPat",
        ),
        (
            "attribution wrapped over 2 lines",
            "1 x Teapot\n\nOn Tue, Nov 3, 2026 at 9:14 AM Mara Lind <\nmara@example.test> wrote:\n\n> old",
            "1 x Teapot",
        ),
        (
            "attribution wrapped over 3 lines",
            "Qty 2 - Teapot\n\nOn Tue, Nov 3, 2026 at 9:14 AM\nMara Lind\n<mara@example.test> wrote:\nold unquoted",
            "Qty 2 - Teapot",
        ),
        (
            "french",
            "Bonjour,\n2 x Blue Mug\n\nLe mar. 3 nov. 2026 à 09:14, Mara <m@x> a écrit :\n> vieux",
            "Bonjour,\n2 x Blue Mug",
        ),
        (
            "german",
            "Hallo,\n(1) Bud Vase\n\nAm 03.11.2026 um 09:14 schrieb Mara <m@x>:\n> alt",
            "Hallo,\n(1) Bud Vase",
        ),
        (
            "spanish",
            "Hola\nBlue Mug - qty: 3\n\nEl mar, 3 nov 2026 a las 9:14, Mara (<m@x>) escribió:\n> viejo",
            "Hola\nBlue Mug - qty: 3",
        ),
        (
            "dutch",
            "Hoi\n2 x Blue Mug\n\nOp di 3 nov. 2026 om 09:14 schreef Mara <m@x>:\n> oud",
            "Hoi\n2 x Blue Mug",
        ),
        (
            "apple mail, attribution quoted",
            "Yes please\n\n> On Nov 3, 2026, at 09:14, Mara <m@x> wrote:\n> \n> old",
            "Yes please",
        ),
        (
            "apple mail, attribution unquoted",
            "Yes\n\nOn Nov 3, 2026, at 09:14, Mara <m@x> wrote:\n\nold unquoted\n",
            "Yes",
        ),
        (
            "outlook plain header block",
            "Please add 1 x Teapot\n\nFrom: Mara Lind <m@x>\nSent: Tuesday, November 3, 2026 9:14 AM\nTo: Shop <shop@x>\nSubject: RE: Order\n\nold",
            "Please add 1 x Teapot",
        ),
        (
            "outlook header block, bold as rendered by gmail",
            "Ok\n\n*From:* Mara <m@x>\n*Sent:* Tuesday, November 3, 2026 9:14 AM\n*To:* Shop\n*Subject:* Order\nold",
            "Ok",
        ),
        (
            "outlook french",
            "Merci\n\nDe : Mara <m@x>\nEnvoyé : mardi 3 novembre 2026 09:14\nÀ : Shop\nObjet : Commande\nvieux",
            "Merci",
        ),
        (
            "outlook german",
            "Danke\n\nVon: Mara <m@x>\nGesendet: Dienstag, 3. November 2026 09:14\nAn: Shop\nBetreff: Bestellung\nalt",
            "Danke",
        ),
        (
            "outlook spanish",
            "Gracias\n\nDe: Mara <m@x>\nEnviado el: martes, 3 de noviembre de 2026 9:14\nPara: Shop\nAsunto: Pedido\nviejo",
            "Gracias",
        ),
        (
            "a forward under the writer's own signed-off order is context",
            "1 x Green Mug\n\nThanks!\nJess\n\n---------- Forwarded message ---------\nFrom: Kate <k@x>\nDate: Sun, 15 Nov 2026 at 20:14\nSubject: mugs?\nTo: Jess <j@x>\n\n2 sake cups",
            "1 x Green Mug\n\nThanks!\nJess\n\n---------- Forwarded message ---------",
        ),
        (
            "a lone From: line is the customer's",
            "From: me\n2 x Blue Mug\nShip to:\nPat Okafor",
            "From: me\n2 x Blue Mug\nShip to:\nPat Okafor",
        ),
        (
            "From: and To: without a date stay",
            "From: Pat\nTo: the shop\nSubject: mugs\n2 x Blue Mug",
            "From: Pat\nTo: the shop\nSubject: mugs\n2 x Blue Mug",
        ),
        (
            "original message",
            "2 x Blue Mug\n\n-----Original Message-----\nFrom: Mara\nold",
            "2 x Blue Mug",
        ),
        (
            "ursprüngliche nachricht",
            "1 x Teapot\n-----Ursprüngliche Nachricht-----\nVon: x",
            "1 x Teapot",
        ),
        (
            "thunderbird forward is content",
            "See below\n\n-------- Forwarded Message --------\nSubject: Order\nDate: Tue, 3 Nov 2026 09:14:00 +0100\nFrom: Pat <p@x>\nTo: shop@x\n\n2 x Blue Mug",
            "See below\n\n-------- Forwarded Message --------\nSubject: Order\nDate: Tue, 3 Nov 2026 09:14:00 +0100\nFrom: Pat <p@x>\nTo: shop@x\n\n2 x Blue Mug",
        ),
        (
            "gmail forward is content",
            "---------- Forwarded message ---------\nFrom: Pat <p@x>\nDate: Tue, Nov 3, 2026 at 9:14 AM\nSubject: Order\nTo: <shop@x>\n\n1 x Teapot",
            "---------- Forwarded message ---------\nFrom: Pat <p@x>\nDate: Tue, Nov 3, 2026 at 9:14 AM\nSubject: Order\nTo: <shop@x>\n\n1 x Teapot",
        ),
        (
            "underscore line",
            "2 x Blue Mug\n\n________________________________\nFrom: Mara\nold",
            "2 x Blue Mug",
        ),
        (
            "short underscore line stays",
            "2 x Blue Mug\n__________\nok",
            "2 x Blue Mug\n__________\nok",
        ),
        (
            "signature dash dash space",
            "2 x Blue Mug\n-- \nPat Okafor\nOkafor Ceramics",
            "2 x Blue Mug",
        ),
        (
            "signature dash dash",
            "2 x Blue Mug\n--\nPat",
            "2 x Blue Mug",
        ),
        (
            "dashed item lines stay",
            "- 1 Cast Iron Teapot\n-- 2 x Blue Mug\n--- x\n* 3 sake cups",
            "- 1 Cast Iron Teapot\n-- 2 x Blue Mug\n--- x\n* 3 sake cups",
        ),
        (
            "device lines, only the line",
            "1 x Teapot\nSent from my iPhone\nSent from my iPad\nSent from my phone\nSent from my Galaxy\nSent from Mail for Windows\nSent from Yahoo Mail for iPhone\nGet Outlook for iOS<https://aka.ms/o0ukef>\nGet Outlook for Android\nEnvoyé de mon iPhone\nVon meinem iPhone gesendet\nEnviado desde mi iPhone\nShip to: Pat",
            "1 x Teapot\nShip to: Pat",
        ),
        (
            "device words inside a sentence stay",
            "Sent from my iPhone, please ship 2 x Blue Mug",
            "Sent from my iPhone, please ship 2 x Blue Mug",
        ),
        (
            "quoted lines at any depth",
            "2 x Blue Mug\n> quoted\n>> deeper\n > spaced\n1 x Teapot",
            "2 x Blue Mug\n1 x Teapot",
        ),
        (
            "order lines intact",
            "2 x Blue Mug\nQty 2 - Teapot\n(1) Bud Vase\nBlue Mug - qty: 3\nMUG-BLU qty 4\nBlue Mug: 2\n",
            "2 x Blue Mug\nQty 2 - Teapot\n(1) Bud Vase\nBlue Mug - qty: 3\nMUG-BLU qty 4\nBlue Mug: 2",
        ),
        (
            "prose starting with On stays",
            "On second thought, make it 3 mugs.\nOn Tuesday my sister wrote:\nthat she wants one too",
            "On second thought, make it 3 mugs.\nOn Tuesday my sister wrote:\nthat she wants one too",
        ),
        (
            "crlf",
            "2 x Blue Mug\r\n\r\nOn Tue, Nov 3, 2026 at 9:14 AM Mara <m@x> wrote:\r\n> old\r\n",
            "2 x Blue Mug",
        ),
        (
            "trailing blank lines",
            "2 x Blue Mug\n\n\n   \n",
            "2 x Blue Mug",
        ),
        ("empty", "", ""),
        (
            "everything quoted",
            "On Tue, Nov 3, 2026 at 9:14 AM Mara <m@x> wrote:\n> 2 x Blue Mug",
            "",
        ),
    ];

    #[test]
    fn strip_cases() {
        check(STRIP, strip_reply);
    }

    const UNFLOW: &[Case] = &[
        ("soft break", "Hello \nworld\n", "Hello world\n"),
        (
            "several soft breaks",
            "2 x Blue \nGlazed \nMug\n1 x Teapot",
            "2 x Blue Glazed Mug\n1 x Teapot",
        ),
        (
            "space stuffing",
            " From here\n >not a quote\n  two",
            "From here\n>not a quote\n two",
        ),
        (
            "quoted flowed keeps its prefix",
            "> quoted \n> text\n>> deeper \n>> more\nnew",
            "> quoted text\n>> deeper more\nnew",
        ),
        ("depth change ends a paragraph", "> a \nb", "> a\nb"),
        (
            "signature separator is fixed",
            "text\n-- \nPat",
            "text\n-- \nPat",
        ),
        (
            "blank line after a flowed line",
            "para one \n\npara two",
            "para one\n\npara two",
        ),
        ("crlf", "a \r\nb\r\n", "a b\n"),
        ("flowed last line", "end ", "end"),
        ("empty", "", ""),
    ];

    #[test]
    fn unflow_cases() {
        check(UNFLOW, |t| unflow(t, false));
    }

    #[test]
    fn unflow_delsp() {
        assert_eq!(unflow("Blue Gla \nzed Mug\n", true), "Blue Glazed Mug\n");
        assert_eq!(unflow("> a \n> b", true), "> ab");
        assert_eq!(unflow("sig\n-- \nPat", true), "sig\n-- \nPat");
    }

    #[test]
    fn outlook_html_then_strip_reply() {
        let html = HTML
            .iter()
            .find(|c| c.0 == "outlook desktop MsoNormal")
            .unwrap()
            .1;
        assert_eq!(
            strip_reply(&html_to_text(html)),
            "Hi,\n\n2 x Blue Glazed Mug"
        );
        let gmail = HTML.iter().find(|c| c.0 == "gmail signature").unwrap().1;
        assert_eq!(strip_reply(&html_to_text(gmail)), "1 x Teapot");
    }

    #[test]
    fn flowed_then_strip_reply() {
        let body = "2 x Blue \nGlazed Mug\n\nOn Tue, Nov 3, 2026 at 9:14 AM Mara <m@x> \nwrote:\n\n> old \n> order\n";
        assert_eq!(strip_reply(&unflow(body, false)), "2 x Blue Glazed Mug");
    }

    /// Debug builds are slow, and CI shares two cores with the lab: these bounds only catch
    /// quadratic blow-ups, which take many minutes (10 s was hit at 13 s on a busy machine).
    fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        let took = start.elapsed();
        assert!(took < Duration::from_secs(60), "{what} took {took:?}");
        out
    }

    #[test]
    fn deep_nesting_is_flat_and_fast() {
        let n = 200_000;
        let quoted = format!(
            "Before{}2 x Blue Mug{}",
            "<div><blockquote>".repeat(n),
            "</blockquote>".repeat(10)
        );
        assert_eq!(timed("div/blockquote", || html_to_text(&quoted)), "Before");

        let closed = format!(
            "Before{}quoted{}After",
            "<div><blockquote>".repeat(n),
            "</blockquote></div>".repeat(n)
        );
        assert_eq!(timed("closed", || html_to_text(&closed)), "Before\nAfter");

        let divs = format!("{}deep{}", "<div>".repeat(n), "</span>".repeat(n));
        assert_eq!(timed("divs", || html_to_text(&divs)), "deep");

        let tables = format!(
            "{}cell{}",
            "<table><tr><td>".repeat(n),
            "</td></tr></table>".repeat(n)
        );
        assert_eq!(timed("tables", || html_to_text(&tables)), "cell");

        let cells = format!("{}x", "<table><tr><td><br>".repeat(n));
        timed("tables with lines", || html_to_text(&cells));

        let lists = "<ul><li>".repeat(n);
        assert_eq!(timed("lists", || html_to_text(&lists)), "");
    }

    #[test]
    fn large_inputs() {
        // A 10 MB body of the kind a mail client sends, through every function.
        let mb10 = 10 << 20;
        let html = "<p class=MsoNormal>2 x Blue&nbsp;Mug<o:p></o:p></p>\n<table><tr><td>Mug</td><td>2</td></tr></table>"
            .repeat(mb10 / 90);
        let text = timed("10 MB html", || html_to_text(&html));
        assert!(text.starts_with("2 x Blue Mug\nMug | 2\n2 x Blue Mug"));
        let plain = "2 x Blue Mug \n> quoted\n\nFrom: me\n".repeat(mb10 / 36);
        let unflowed = timed("10 MB unflow", || unflow(&plain, false));
        timed("10 MB strip_reply", || strip_reply(&unflowed));

        // Shapes that make naive scanners quadratic; 1 MB is enough to show it.
        let mb = 1 << 20;
        let html_inputs = [
            "<a".repeat(mb / 2),
            "<a x='".repeat(mb / 6),
            "<!--".repeat(mb / 4),
            "<!-- a --".repeat(mb / 9),
            "&#".repeat(mb / 2),
            "&amp".repeat(mb / 4),
            "<".repeat(mb),
            "<style>".repeat(mb / 7),
            "<style></s".repeat(mb / 10),
            "</a>".repeat(mb / 4),
            "<td>".repeat(mb / 4),
            "<p>x</td>".repeat(mb / 9),
            format!(
                "{}{}",
                "<table><tr><td>x<br>".repeat(mb / 20),
                "</div>".repeat(mb / 6)
            ),
            (0..mb / 8).map(|i| format!("<t{i}>")).collect(),
        ];
        for (i, input) in html_inputs.iter().enumerate() {
            timed(&format!("html input {i}"), || html_to_text(input));
        }
        let text_inputs = [
            "On ".repeat(mb / 3),
            "On Tue, Nov 3, 2026 at 9:14\n".repeat(mb / 28),
            "From: a\n".repeat(mb / 8),
            "a \n".repeat(mb / 3),
            ">".repeat(mb),
            "\n".repeat(mb),
            "x".repeat(mb),
        ];
        for (i, input) in text_inputs.iter().enumerate() {
            timed(&format!("text input {i}"), || {
                strip_reply(input);
                unflow(input, true);
            });
        }
    }

    #[test]
    fn never_panics_on_garbage() {
        const PIECES: &[&str] = &[
            "<",
            ">",
            "</",
            "/>",
            "<!--",
            "-->",
            "<!",
            "&",
            "&#",
            "&#x",
            ";",
            "'",
            "\"",
            "=",
            " ",
            "\n",
            "\r",
            "div",
            "p",
            "td",
            "tr",
            "table",
            "blockquote",
            "li",
            "pre",
            "head",
            "style",
            "script",
            "br",
            "class=gmail_quote",
            "id=appendonsend",
            "é",
            "😀",
            "\u{0}",
            "\u{feff}",
            "x",
            "2",
            "--",
            "> ",
            "On ",
            " wrote:",
            "From: a",
            "Sent: b",
            "To: c",
            "&nbsp;",
            "&#xD800;",
            "\u{301}",
        ];
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..3000 {
            let len = (next() % 200) as usize;
            let s: String = (0..len)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect();
            html_to_text(&s);
            strip_reply(&s);
            unflow(&s, false);
            unflow(&s, true);
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let lossy = String::from_utf8_lossy(&bytes);
            html_to_text(&lossy);
            strip_reply(&lossy);
            unflow(&lossy, true);
        }
    }
}
