#!/usr/bin/env python3
"""Writes src/mail/localized.rs from the customer templates under templates/<lang>/: one askama
struct per (template, language) that has a file. Run after adding a language or a template."""
import os, re

ROOT = os.path.join(os.path.dirname(__file__), "..")
LANGS = ["en", "de", "fr", "es", "it", "nl", "pt"]
# template file -> Template variant (unit variants have no braces)
VARIANTS = {
    "quote": "Quote { .. }", "ask_details": "AskDetails { .. }", "under_review": "UnderReview { .. }",
    "status": "Status { .. }", "status_unknown": "StatusUnknown", "card_warning": "CardWarning",
    "cancelled": "Cancelled { .. }", "payment_confirmed": "PaymentConfirmed { .. }",
    "payment_partial": "PaymentPartial { .. }", "payment_claimed": "PaymentClaimed { .. }",
    "payment_reminder": "PaymentReminder { .. }", "expired": "Expired { .. }",
    "feedback_request": "FeedbackRequest { .. }", "feedback_thanks": "FeedbackThanks { .. }",
    "rejected": "Rejected { .. }", "shipped": "Shipped { .. }",
    "cancelled_by_shop": "CancelledByShop { .. }", "returns": "Returns { .. }",
    "exchange": "Exchange { .. }", "return_received": "ReturnReceived { .. }",
    "address_changed": "AddressChanged { .. }", "too_late_to_change": "TooLateToChange { .. }",
    "change_question": "ChangeQuestion { .. }", "change_after_shipping": "ChangeAfterShipping { .. }",
    # the sellers' mail, in [shop] language where it has templates
    "approval_request": "ApprovalRequest { .. }", "delivery_failed": "DeliveryFailed { .. }",
    "alert": "Alert { .. }", "packing_slip": "PackingSlip { .. }", "held": "Held { .. }",
    "seller_reply": "SellerReply { .. }",
}

out = ['''//! The templates by (template, language): one askama struct for each file under
//! templates/<lang>/. Written by tools/localized.py from the files there; do not edit by hand.
//! A template includes the shared partials (`_lines.txt`, `_methods.txt`) from templates/ and
//! its language's own (`_signoff.txt`, `_shortages.txt`): askama looks beside the including
//! file first, then in templates/.

use crate::core::decision::Template;
use crate::mail::compose::View;

/// Renders one template in one language.
pub type Renderer = fn(&View) -> askama::Result<String>;

macro_rules! localized {
    ($module:ident: $($lang:ident => $path:literal),+ $(,)?) => {
        #[allow(non_camel_case_types)]
        mod $module {
            use crate::mail::compose::View;
            $(
                #[derive(askama::Template)]
                #[template(path = $path, escape = "none")]
                pub struct $lang<'a> {
                    pub v: &'a View,
                }
            )+
            pub fn renderer(language: &str) -> Option<super::Renderer> {
                match language {
                    $(stringify!($lang) => Some(|v| askama::Template::render(&$lang { v })),)+
                    _ => None,
                }
            }
        }
    };
}
''']
for name in VARIANTS:
    langs = [l for l in LANGS if os.path.exists(os.path.join(ROOT, "templates", l, name + ".txt"))]
    out.append(f"localized!({name}: " + ", ".join(f'{l} => "{l}/{name}.txt"' for l in langs) + ");")
out.append('''
/// The template `template` in `language`, when it has one.
pub fn renderer(template: &Template, language: &str) -> Option<Renderer> {
    match template {''')
for name, variant in VARIANTS.items():
    out.append(f"        Template::{variant} => {name}::renderer(language),")
out.append('''    }
}

/// The languages `template` is written in.
#[cfg(test)]
pub fn languages(template: &Template) -> Vec<&'static str> {
    crate::core::language::SUPPORTED
        .iter()
        .copied()
        .filter(|l| renderer(template, l).is_some())
        .collect()
}

#[cfg(test)]
#[path = "localized_tests.rs"]
mod tests;''')
open(os.path.join(ROOT, "src/mail/localized.rs"), "w").write("\n".join(out) + "\n")
