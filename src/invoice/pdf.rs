//! An invoice snapshot (`core::invoice::InvoiceDoc`) as an A4 PDF. The same snapshot gives
//! the same bytes: no creation date, the document id derived from the invoice number, and
//! nothing else that varies (krilla writes no clock or random value of its own).

use krilla::geom::{PathBuilder, Point};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::{Document, SerializeSettings};
use rust_decimal::Decimal;

use super::fonts;
use super::labels::{Labels, labels};
use crate::core::invoice::{InvoiceDoc, InvoiceKind, InvoiceLine};

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 50.0;
const BODY: f32 = 9.5;
const LINE: f32 = 13.0;

#[derive(Debug, thiserror::Error)]
#[error("rendering the PDF: {0}")]
pub struct RenderError(String);

/// Right edges of the number columns, and where the description column ends.
const COL_QTY: f32 = 290.0;
const COL_UNIT: f32 = 360.0;
const COL_NET: f32 = 430.0;
const COL_RATE: f32 = 478.0;
const COL_TAX: f32 = WIDTH - MARGIN;
const DESC_END: f32 = 255.0;

struct Pen<'d> {
    doc: &'d mut Document,
    page_label: &'static str,
    pages: Vec<Vec<Op>>,
    y: f32,
}

/// What a page holds, drawn when the page is finished (krilla borrows the document per page).
enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        text: String,
        grey: bool,
    },
    Rule {
        y: f32,
    },
}

impl Pen<'_> {
    fn text(&mut self, x: f32, size: f32, text: &str) {
        self.put(x, size, text, false);
    }
    fn grey(&mut self, x: f32, size: f32, text: &str) {
        self.put(x, size, text, true);
    }
    fn put(&mut self, x: f32, size: f32, text: &str, grey: bool) {
        let y = self.y;
        self.op(Op::Text {
            x,
            y,
            size,
            text: text.to_string(),
            grey,
        });
    }
    fn right(&mut self, right: f32, size: f32, text: &str) {
        let x = right - fonts::width(text) * size;
        self.text(x, size, text);
    }
    fn rule(&mut self) {
        let y = self.y;
        self.op(Op::Rule { y });
    }
    fn op(&mut self, op: Op) {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        self.pages.last_mut().expect("a page").push(op);
    }
    fn down(&mut self, by: f32) {
        self.y += by;
    }
    /// Room for `need` more points on this page, else a new page.
    fn room(&mut self, need: f32) {
        if self.y + need > HEIGHT - MARGIN {
            self.pages.push(Vec::new());
            self.y = MARGIN + 10.0;
        }
    }
    fn finish(self) {
        let count = self.pages.len();
        for (n, ops) in self.pages.into_iter().enumerate() {
            let settings = PageSettings::from_wh(WIDTH, HEIGHT).expect("A4 is a valid size");
            let mut page = self.doc.start_page_with(settings);
            let mut surface = page.surface();
            for op in ops {
                match op {
                    Op::Text {
                        x,
                        y,
                        size,
                        text,
                        grey,
                    } => {
                        surface.set_fill(Some(fill(if grey { 110 } else { 20 })));
                        draw(&mut surface, x, y, size, &text);
                    }
                    Op::Rule { y } => {
                        let mut pb = PathBuilder::new();
                        pb.move_to(MARGIN, y);
                        pb.line_to(WIDTH - MARGIN, y);
                        if let Some(path) = pb.finish() {
                            surface.set_fill(None);
                            surface.set_stroke(Some(Stroke {
                                width: 0.6,
                                ..Default::default()
                            }));
                            surface.draw_path(&path);
                            surface.set_stroke(None);
                        }
                    }
                }
            }
            if count > 1 {
                let label = format!("{} {} / {count}", self.page_label, n + 1);
                let x = WIDTH - MARGIN - fonts::width(&label) * 8.0;
                surface.set_fill(Some(fill(110)));
                draw(&mut surface, x, HEIGHT - 25.0, 8.0, &label);
            }
            surface.finish();
            page.finish();
        }
    }
}

/// One line of text from (x, y), run by run, each in its font.
fn draw(surface: &mut krilla::surface::Surface, x: f32, y: f32, size: f32, text: &str) {
    let mut x = x;
    for run in fonts::shape(text) {
        surface.draw_glyphs(
            Point::from_xy(x, y),
            &run.glyphs,
            run.font.clone(),
            run.text,
            size,
            false,
        );
        x += run.width * size;
    }
}

fn fill(grey: u8) -> Fill {
    Fill {
        paint: krilla::color::rgb::Color::new(grey, grey, grey).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

/// `amount` as the invoice prints money: the rounded decimal and the currency code.
fn money(amount: Decimal, currency: &str) -> String {
    crate::core::money::format(amount, currency)
}

fn percent(rate: Decimal) -> String {
    format!("{}%", (rate * Decimal::ONE_HUNDRED).normalize())
}

/// `text` broken into lines no wider than `max` at `size`; a word longer than a line is cut.
fn wrap(text: &str, size: f32, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if fonts::width(&candidate) * size <= max {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        let mut rest = word;
        while fonts::width(rest) * size > max {
            let cut = fonts::fitting(rest, max / size).end.max(
                rest.chars()
                    .next()
                    .map(char::len_utf8)
                    .unwrap_or(rest.len()),
            );
            lines.push(rest[..cut].to_string());
            rest = &rest[cut..];
        }
        line = rest.to_string();
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// The PDF of `inv`.
pub fn render(inv: &InvoiceDoc) -> Result<Vec<u8>, RenderError> {
    let l = labels(&inv.language);
    let settings = SerializeSettings {
        // XMP carries nothing the Info dictionary lacks; without it each file is ~3 KB smaller.
        xmp_metadata: false,
        ..SerializeSettings::default()
    };
    let mut doc = Document::new_with(settings);
    let title = match inv.kind {
        InvoiceKind::Invoice => l.invoice,
        InvoiceKind::CreditNote => l.credit_note,
    };
    doc.set_metadata(
        krilla::metadata::Metadata::new()
            .title(format!("{title} {}", inv.number))
            .creator("mailcart".to_string())
            .document_id(inv.number.clone()),
    );
    let mut pen = Pen {
        doc: &mut doc,
        page_label: l.page,
        pages: Vec::new(),
        y: MARGIN + 10.0,
    };
    header(&mut pen, inv, l, title);
    table(&mut pen, inv, l);
    totals(&mut pen, inv, l);
    settlement(&mut pen, inv, l);
    pen.finish();
    doc.finish().map_err(|e| RenderError(format!("{e:?}")))
}

fn header(pen: &mut Pen, inv: &InvoiceDoc, l: &Labels, title: &str) {
    let top = pen.y;
    pen.text(MARGIN, 15.0, &inv.seller.name);
    pen.down(LINE + 4.0);
    for line in &inv.seller.address {
        pen.grey(MARGIN, BODY, line);
        pen.down(LINE);
    }
    if let Some(email) = &inv.seller.email {
        pen.grey(MARGIN, BODY, email);
        pen.down(LINE);
    }
    if let Some(id) = &inv.seller.tax_id {
        pen.grey(MARGIN, BODY, &format!("{}: {id}", l.tax_id));
        pen.down(LINE);
    }
    let left_end = pen.y;
    pen.y = top;
    pen.right(WIDTH - MARGIN, 20.0, title);
    pen.down(LINE + 10.0);
    let mut facts = vec![
        (l.number, inv.number.as_str()),
        (l.date, inv.issued.as_str()),
        (l.order, inv.order_ref.as_str()),
    ];
    if let Some(c) = &inv.cancels {
        facts.push((l.cancels, c.as_str()));
    }
    for (label, value) in facts {
        pen.right(WIDTH - MARGIN, BODY, value);
        pen.grey(WIDTH - MARGIN - 210.0, BODY, label);
        pen.down(LINE);
    }
    pen.y = pen.y.max(left_end) + 18.0;
    pen.grey(MARGIN, BODY, l.bill_to);
    pen.down(LINE);
    pen.text(MARGIN, 11.0, &inv.customer.name);
    pen.down(LINE + 1.0);
    for line in &inv.customer.address {
        pen.room(LINE);
        pen.text(MARGIN, BODY, line);
        pen.down(LINE);
    }
    if let Some(email) = &inv.customer.email {
        pen.grey(MARGIN, BODY, email);
        pen.down(LINE);
    }
    pen.down(18.0);
}

fn table_head(pen: &mut Pen, l: &Labels) {
    pen.grey(MARGIN, BODY, l.description);
    for (right, label) in [
        (COL_QTY, l.quantity),
        (COL_UNIT, l.unit_price),
        (COL_NET, l.net),
        (COL_RATE, l.tax_rate),
        (COL_TAX, l.tax),
    ] {
        let x = right - fonts::width(label) * BODY;
        pen.grey(x, BODY, label);
    }
    pen.down(5.0);
    pen.rule();
    pen.down(LINE);
}

fn table(pen: &mut Pen, inv: &InvoiceDoc, l: &Labels) {
    table_head(pen, l);
    for line in &inv.lines {
        let description = describe(line, l);
        let wrapped = wrap(&description, BODY, DESC_END - MARGIN);
        let before = pen.pages.len();
        pen.room(LINE * wrapped.len() as f32);
        if pen.pages.len() != before {
            table_head(pen, l);
        }
        let c = inv.currency.as_str();
        pen.right(COL_QTY, BODY, &line.quantity.to_string());
        pen.right(COL_UNIT, BODY, &money(line.unit_price, c));
        pen.right(COL_NET, BODY, &money(line.net, c));
        pen.right(COL_RATE, BODY, &percent(line.tax_rate));
        pen.right(COL_TAX, BODY, &money(line.tax, c));
        for w in wrapped {
            pen.text(MARGIN, BODY, &w);
            pen.down(LINE);
        }
        pen.down(2.0);
    }
    pen.down(-LINE + 6.0);
    pen.rule();
    pen.down(LINE + 4.0);
}

fn describe(line: &InvoiceLine, l: &Labels) -> String {
    match &line.sku {
        None => l.shipping.to_string(),
        Some(sku) => format!("{} ({sku})", line.description),
    }
}

fn totals(pen: &mut Pen, inv: &InvoiceDoc, l: &Labels) {
    let c = inv.currency.as_str();
    pen.room(LINE * 4.0);
    for (label, amount, size) in [
        (l.net_total, inv.net, BODY),
        (l.tax_total, inv.tax, BODY),
        (l.total, inv.total, 12.0),
    ] {
        if size > BODY {
            pen.down(3.0);
        }
        pen.grey(COL_UNIT - 60.0, size, label);
        pen.right(COL_TAX, size, &money(amount, c));
        pen.down(LINE + 2.0);
    }
    if !inv.credit.is_zero() {
        pen.grey(COL_UNIT - 60.0, BODY, l.credit);
        pen.right(COL_TAX, BODY, &money(inv.credit, c));
        pen.down(LINE);
    }
    pen.down(16.0);
}

fn settlement(pen: &mut Pen, inv: &InvoiceDoc, l: &Labels) {
    let c = inv.currency.as_str();
    let heading = match inv.kind {
        InvoiceKind::Invoice => l.paid,
        InvoiceKind::CreditNote => l.refund,
    };
    pen.room(LINE * 2.0);
    pen.text(
        MARGIN,
        BODY,
        &format!("{heading}: {}", money(inv.paid_total, c)),
    );
    pen.down(LINE);
    if inv.kind == InvoiceKind::CreditNote {
        return;
    }
    for p in &inv.paid {
        let mut how = format!(
            "{}  {}  {} {}",
            p.date,
            money(p.amount, c),
            l.via,
            p.provider
        );
        if let Some(t) = &p.transaction_id {
            how.push_str(&format!(", {} {t}", l.transaction));
        }
        if let Some(payer) = &p.payer {
            how.push_str(&format!(", {} {payer}", l.from));
        }
        for w in wrap(&how, BODY, WIDTH - 2.0 * MARGIN - 10.0) {
            pen.room(LINE);
            pen.grey(MARGIN + 10.0, BODY, &w);
            pen.down(LINE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_character() {
        let text = "A very long product name with a Überlangeswortohneleerzeichendasnichtpasst";
        let lines = wrap(text, BODY, 120.0);
        assert!(lines.len() > 2);
        assert!(lines.iter().all(|l| fonts::width(l) * BODY <= 120.0));
        assert_eq!(lines.concat().replace(' ', ""), text.replace(' ', ""));
        assert_eq!(wrap("", BODY, 100.0), vec![String::new()]);
    }

    #[test]
    fn rates_print_as_people_write_them() {
        assert_eq!(percent(Decimal::new(19, 2)), "19%");
        assert_eq!(percent(Decimal::new(75, 3)), "7.5%");
        assert_eq!(percent(Decimal::ZERO), "0%");
    }
}
