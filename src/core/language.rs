//! The language a customer writes in, and when an order takes it.
//!
//! whatlang reads the text the customer wrote in this message (quotes and signature already
//! removed by `core::body`). A short or mixed text ("2 x Blue Glazed Mug, Berlin") gives a
//! guess that flips with a word, so a guess counts only when whatlang calls it reliable;
//! otherwise the shop's language answers. An order keeps the first reliable guess for the
//! rest of its life: a customer who once wrote a German paragraph and later replies "ok"
//! still gets German, and one who writes "Danke" after an English order does not switch it.

use whatlang::{Detector, Lang};

use super::decision::{Decision, Input};

/// Languages mailcart has customer templates for (ISO 639-1), the shop's default first.
pub const SUPPORTED: &[&str] = &["en", "de", "fr", "es", "it", "nl", "pt"];

fn to_whatlang(code: &str) -> Option<Lang> {
    Some(match code {
        "en" => Lang::Eng,
        "de" => Lang::Deu,
        "fr" => Lang::Fra,
        "es" => Lang::Spa,
        "it" => Lang::Ita,
        "nl" => Lang::Nld,
        "pt" => Lang::Por,
        _ => return None,
    })
}

fn from_whatlang(lang: Lang) -> Option<&'static str> {
    SUPPORTED
        .iter()
        .copied()
        .find(|c| to_whatlang(c) == Some(lang))
}

/// The language of `text` among `allowed` (ISO 639-1 codes), when whatlang is sure of it.
/// Only the allowed languages compete, which makes a short text's guess steadier.
pub fn detect(text: &str, allowed: &[String]) -> Option<&'static str> {
    let list: Vec<Lang> = allowed.iter().filter_map(|c| to_whatlang(c)).collect();
    match list.len() {
        0 => return None,
        1 => return from_whatlang(list[0]).filter(|_| !text.trim().is_empty()),
        _ => {}
    }
    let detector = Detector::with_allowlist(list);
    let reliable = |t: &str| {
        detector
            .detect(t)
            .filter(|i| i.is_reliable())
            .and_then(|i| from_whatlang(i.lang()))
    };
    // Item lines, product names and an address in another country's words blur the whole;
    // then the first paragraph of prose that reads reliably on its own decides.
    reliable(text).or_else(|| {
        text.split("\n\n")
            .filter(|p| p.chars().filter(|c| c.is_alphabetic()).count() >= 40)
            .find_map(reliable)
    })
}

/// Fix the order's language at its first reliable reading, and mark every email this decision
/// sends the customer with the language to answer in: the order's, else this message's.
pub fn apply(input: &Input, decision: &mut Decision) {
    let Some(sender) = input.parsed.customer.as_ref() else {
        return;
    };
    let shop = &input.config.shop;
    let detected = detect(&input.msg.text, &shop.languages);
    let from_sender = |email: &str| email.eq_ignore_ascii_case(&sender.email);
    if let Some(order) = decision.order.as_mut()
        && order.language.is_none()
        && from_sender(&order.customer.email)
    {
        order.language = detected.map(str::to_string);
    }
    let order_language = decision
        .order
        .as_ref()
        .or(input.order.as_ref())
        .filter(|o| from_sender(&o.customer.email))
        .and_then(|o| o.language.clone());
    for linked in &mut decision.linked {
        if let Some(order) = linked.order.as_mut()
            && order.language.is_none()
        {
            order.language = order_language.clone();
        }
    }
    let language = order_language.or(detected.map(str::to_string));
    let linked = decision.linked.iter_mut().flat_map(|d| d.emails.iter_mut());
    for email in decision.emails.iter_mut().chain(linked) {
        if email.to_customer
            && email.language.is_none()
            && email.to.iter().any(|m| from_sender(&m.email))
        {
            email.language = language.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<String> {
        SUPPORTED.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reads_a_paragraph_in_each_language() {
        for (text, want) in [
            (
                "Hello, I would like to order two of the blue mugs and one teapot, please send them to my home address.",
                "en",
            ),
            (
                "Guten Tag, ich möchte gerne zwei der blauen Tassen und eine Teekanne bestellen. Bitte schicken Sie sie an meine Adresse.",
                "de",
            ),
            (
                "Bonjour, je voudrais commander deux tasses bleues et une théière, merci de les envoyer à mon adresse.",
                "fr",
            ),
            (
                "Hola, quisiera pedir dos tazas azules y una tetera, por favor envíenlas a mi dirección.",
                "es",
            ),
            (
                "Buongiorno, vorrei ordinare due tazze blu e una teiera, per favore speditele al mio indirizzo di casa.",
                "it",
            ),
            (
                "Goedendag, ik wil graag twee blauwe mokken en een theepot bestellen, stuur ze alstublieft naar mijn adres.",
                "nl",
            ),
            (
                "Olá, gostaria de encomendar duas canecas azuis e um bule, por favor enviem para a minha morada.",
                "pt",
            ),
        ] {
            assert_eq!(detect(text, &all()), Some(want), "{text}");
        }
    }

    #[test]
    fn a_text_too_short_to_tell_gives_none() {
        assert_eq!(detect("2 x Blue Glazed Mug", &all()), None);
        assert_eq!(detect("", &all()), None);
    }

    #[test]
    fn an_order_keeps_its_first_reliable_reading() {
        use crate::core::decide::tests::{ADDRESS, msg, run};
        let german = format!(
            "Guten Tag, ich möchte gerne zwei blaue Tassen bestellen. Bitte schicken Sie sie an meine Adresse, vielen Dank.\n\n2 x Blue Mug\n\n{ADDRESS}"
        );
        let d = run(&msg(&german), None, 10, 0);
        let order = d.order.clone().expect("an order");
        assert_eq!(order.language.as_deref(), Some("de"));
        assert!(!d.emails.is_empty());
        assert!(d.emails.iter().all(|e| e.language.as_deref() == Some("de")));
        // A reply too short to read (or reading as another language) keeps the order's.
        let mut reply = msg("Where is my order? Thanks");
        reply.subject = format!("Re: Order [{}]", order.reference);
        let d = run(&reply, Some(order.clone()), 10, 0);
        assert!(
            d.emails
                .iter()
                .filter(|e| e.to_customer)
                .all(|e| e.language.as_deref() == Some("de")),
            "{:?}",
            d.emails
        );
        assert!(
            d.order
                .as_ref()
                .is_none_or(|o| o.language.as_deref() == Some("de"))
        );
        // A short first order has no language yet: the shop's answers when it is rendered.
        let d = run(&msg(&format!("2 x Blue Mug\n{ADDRESS}")), None, 10, 0);
        assert_eq!(d.order.and_then(|o| o.language), None);
    }

    #[test]
    fn only_allowed_languages_compete() {
        let text =
            "Guten Tag, ich möchte gerne zwei der blauen Tassen und eine Teekanne bestellen.";
        assert_eq!(detect(text, &["en".into(), "fr".into()]), None);
        assert_eq!(detect(text, &["en".into()]), Some("en"));
        assert_eq!(detect(text, &[]), None);
    }
}
