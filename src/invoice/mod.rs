//! Invoices and credit notes as PDF files: the labels in each language, the bundled fonts, and
//! the layout. What an invoice says is decided in `core::invoice`; numbering and the record
//! are `store::invoices`.

pub mod fonts;
pub mod labels;
pub mod pdf;

pub use pdf::{RenderError, render};

/// The attachment's file name: `invoice-<number>.pdf` (a credit note's too, so that a
/// customer's files sort together).
pub fn file_name(number: &str) -> String {
    let safe: String = number
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("invoice-{safe}.pdf")
}
