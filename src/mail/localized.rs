//! The templates by (template, language): one askama struct for each file under
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

localized!(quote: en => "en/quote.txt", de => "de/quote.txt", fr => "fr/quote.txt", es => "es/quote.txt", it => "it/quote.txt", nl => "nl/quote.txt", pt => "pt/quote.txt");
localized!(ask_details: en => "en/ask_details.txt", de => "de/ask_details.txt", fr => "fr/ask_details.txt", es => "es/ask_details.txt", it => "it/ask_details.txt", nl => "nl/ask_details.txt", pt => "pt/ask_details.txt");
localized!(under_review: en => "en/under_review.txt", de => "de/under_review.txt", fr => "fr/under_review.txt", es => "es/under_review.txt", it => "it/under_review.txt", nl => "nl/under_review.txt", pt => "pt/under_review.txt");
localized!(status: en => "en/status.txt", de => "de/status.txt", fr => "fr/status.txt", es => "es/status.txt", it => "it/status.txt", nl => "nl/status.txt", pt => "pt/status.txt");
localized!(status_unknown: en => "en/status_unknown.txt", de => "de/status_unknown.txt", fr => "fr/status_unknown.txt", es => "es/status_unknown.txt", it => "it/status_unknown.txt", nl => "nl/status_unknown.txt", pt => "pt/status_unknown.txt");
localized!(card_warning: en => "en/card_warning.txt", de => "de/card_warning.txt", fr => "fr/card_warning.txt", es => "es/card_warning.txt", it => "it/card_warning.txt", nl => "nl/card_warning.txt", pt => "pt/card_warning.txt");
localized!(cancelled: en => "en/cancelled.txt", de => "de/cancelled.txt", fr => "fr/cancelled.txt", es => "es/cancelled.txt", it => "it/cancelled.txt", nl => "nl/cancelled.txt", pt => "pt/cancelled.txt");
localized!(payment_confirmed: en => "en/payment_confirmed.txt", de => "de/payment_confirmed.txt", fr => "fr/payment_confirmed.txt", es => "es/payment_confirmed.txt", it => "it/payment_confirmed.txt", nl => "nl/payment_confirmed.txt", pt => "pt/payment_confirmed.txt");
localized!(payment_partial: en => "en/payment_partial.txt", de => "de/payment_partial.txt", fr => "fr/payment_partial.txt", es => "es/payment_partial.txt", it => "it/payment_partial.txt", nl => "nl/payment_partial.txt", pt => "pt/payment_partial.txt");
localized!(payment_claimed: en => "en/payment_claimed.txt", de => "de/payment_claimed.txt", fr => "fr/payment_claimed.txt", es => "es/payment_claimed.txt", it => "it/payment_claimed.txt", nl => "nl/payment_claimed.txt", pt => "pt/payment_claimed.txt");
localized!(payment_reminder: en => "en/payment_reminder.txt", de => "de/payment_reminder.txt", fr => "fr/payment_reminder.txt", es => "es/payment_reminder.txt", it => "it/payment_reminder.txt", nl => "nl/payment_reminder.txt", pt => "pt/payment_reminder.txt");
localized!(expired: en => "en/expired.txt", de => "de/expired.txt", fr => "fr/expired.txt", es => "es/expired.txt", it => "it/expired.txt", nl => "nl/expired.txt", pt => "pt/expired.txt");
localized!(feedback_request: en => "en/feedback_request.txt", de => "de/feedback_request.txt", fr => "fr/feedback_request.txt", es => "es/feedback_request.txt", it => "it/feedback_request.txt", nl => "nl/feedback_request.txt", pt => "pt/feedback_request.txt");
localized!(feedback_thanks: en => "en/feedback_thanks.txt", de => "de/feedback_thanks.txt", fr => "fr/feedback_thanks.txt", es => "es/feedback_thanks.txt", it => "it/feedback_thanks.txt", nl => "nl/feedback_thanks.txt", pt => "pt/feedback_thanks.txt");
localized!(rejected: en => "en/rejected.txt", de => "de/rejected.txt", fr => "fr/rejected.txt", es => "es/rejected.txt", it => "it/rejected.txt", nl => "nl/rejected.txt", pt => "pt/rejected.txt");
localized!(shipped: en => "en/shipped.txt", de => "de/shipped.txt", fr => "fr/shipped.txt", es => "es/shipped.txt", it => "it/shipped.txt", nl => "nl/shipped.txt", pt => "pt/shipped.txt");
localized!(cancelled_by_shop: en => "en/cancelled_by_shop.txt", de => "de/cancelled_by_shop.txt", fr => "fr/cancelled_by_shop.txt", es => "es/cancelled_by_shop.txt", it => "it/cancelled_by_shop.txt", nl => "nl/cancelled_by_shop.txt", pt => "pt/cancelled_by_shop.txt");
localized!(returns: en => "en/returns.txt", de => "de/returns.txt", fr => "fr/returns.txt", es => "es/returns.txt", it => "it/returns.txt", nl => "nl/returns.txt", pt => "pt/returns.txt");
localized!(exchange: en => "en/exchange.txt", de => "de/exchange.txt", fr => "fr/exchange.txt", es => "es/exchange.txt", it => "it/exchange.txt", nl => "nl/exchange.txt", pt => "pt/exchange.txt");
localized!(return_received: en => "en/return_received.txt", de => "de/return_received.txt", fr => "fr/return_received.txt", es => "es/return_received.txt", it => "it/return_received.txt", nl => "nl/return_received.txt", pt => "pt/return_received.txt");
localized!(address_changed: en => "en/address_changed.txt", de => "de/address_changed.txt", fr => "fr/address_changed.txt", es => "es/address_changed.txt", it => "it/address_changed.txt", nl => "nl/address_changed.txt", pt => "pt/address_changed.txt");
localized!(too_late_to_change: en => "en/too_late_to_change.txt", de => "de/too_late_to_change.txt", fr => "fr/too_late_to_change.txt", es => "es/too_late_to_change.txt", it => "it/too_late_to_change.txt", nl => "nl/too_late_to_change.txt", pt => "pt/too_late_to_change.txt");
localized!(change_question: en => "en/change_question.txt", de => "de/change_question.txt", fr => "fr/change_question.txt", es => "es/change_question.txt", it => "it/change_question.txt", nl => "nl/change_question.txt", pt => "pt/change_question.txt");
localized!(change_after_shipping: en => "en/change_after_shipping.txt", de => "de/change_after_shipping.txt", fr => "fr/change_after_shipping.txt", es => "es/change_after_shipping.txt", it => "it/change_after_shipping.txt", nl => "nl/change_after_shipping.txt", pt => "pt/change_after_shipping.txt");
localized!(approval_request: en => "en/approval_request.txt", de => "de/approval_request.txt");
localized!(delivery_failed: en => "en/delivery_failed.txt", de => "de/delivery_failed.txt");
localized!(alert: en => "en/alert.txt", de => "de/alert.txt");
localized!(packing_slip: en => "en/packing_slip.txt", de => "de/packing_slip.txt");
localized!(held: en => "en/held.txt", de => "de/held.txt");
localized!(seller_reply: en => "en/seller_reply.txt", de => "de/seller_reply.txt");

/// The template `template` in `language`, when it has one.
pub fn renderer(template: &Template, language: &str) -> Option<Renderer> {
    match template {
        Template::Quote { .. } => quote::renderer(language),
        Template::AskDetails { .. } => ask_details::renderer(language),
        Template::UnderReview { .. } => under_review::renderer(language),
        Template::Status { .. } => status::renderer(language),
        Template::StatusUnknown => status_unknown::renderer(language),
        Template::CardWarning => card_warning::renderer(language),
        Template::Cancelled { .. } => cancelled::renderer(language),
        Template::PaymentConfirmed { .. } => payment_confirmed::renderer(language),
        Template::PaymentPartial { .. } => payment_partial::renderer(language),
        Template::PaymentClaimed { .. } => payment_claimed::renderer(language),
        Template::PaymentReminder { .. } => payment_reminder::renderer(language),
        Template::Expired { .. } => expired::renderer(language),
        Template::FeedbackRequest { .. } => feedback_request::renderer(language),
        Template::FeedbackThanks { .. } => feedback_thanks::renderer(language),
        Template::Rejected { .. } => rejected::renderer(language),
        Template::Shipped { .. } => shipped::renderer(language),
        Template::CancelledByShop { .. } => cancelled_by_shop::renderer(language),
        Template::Returns { .. } => returns::renderer(language),
        Template::Exchange { .. } => exchange::renderer(language),
        Template::ReturnReceived { .. } => return_received::renderer(language),
        Template::AddressChanged { .. } => address_changed::renderer(language),
        Template::TooLateToChange { .. } => too_late_to_change::renderer(language),
        Template::ChangeQuestion { .. } => change_question::renderer(language),
        Template::ChangeAfterShipping { .. } => change_after_shipping::renderer(language),
        Template::ApprovalRequest { .. } => approval_request::renderer(language),
        Template::DeliveryFailed { .. } => delivery_failed::renderer(language),
        Template::Alert { .. } => alert::renderer(language),
        Template::PackingSlip { .. } => packing_slip::renderer(language),
        Template::Held { .. } => held::renderer(language),
        Template::SellerReply { .. } => seller_reply::renderer(language),
    }
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
mod tests;
