//! End-to-end through the binary: a customer who writes German or French is answered in it for
//! the whole conversation, with the shop's time zone; one too short to tell gets the shop's
//! language; a bad zone or language stops the shop at load.

mod common;
use common::shop::{Shop, eml};

const ANNA: &str = "Anna Schmidt <anna@example.de>";
const GERMAN: &str = "Guten Tag,\n\nich möchte gerne bei Ihnen bestellen. Bitte schicken Sie mir die Tassen so bald wie möglich, sie sind ein Geschenk für meine Schwester.\n\n2 x Blue Mug\n\nLieferadresse:\nAnna Schmidt\nHauptstraße 1\n10115 Berlin\nDeutschland\n\nVielen Dank und freundliche Grüße\nAnna\n";

const CLAIRE: &str = "Claire Martin <claire@example.fr>";
const FRENCH: &str = "Bonjour,\n\nje voudrais passer une commande chez vous. Pourriez-vous m'envoyer les tasses dès que possible ? C'est un cadeau pour ma mère.\n\n2 x Blue Mug\n\nAdresse de livraison :\nClaire Martin\n12 rue de la Paix\n75002 Paris\nFrance\n\nMerci beaucoup et bonne journée,\nClaire\n";

fn reference(out: &str) -> String {
    let start = out.find("-> order ").unwrap_or_else(|| panic!("{out}")) + 9;
    out[start..].split_whitespace().next().unwrap().to_string()
}

#[test]
fn a_german_order_is_answered_in_german_in_the_shops_time_zone() {
    let shop = Shop::new();
    shop.edit_config("timezone = \"UTC\"", "timezone = \"Europe/Berlin\"");
    shop.require_authentication();
    let out = shop.deliver(
        "de.eml",
        &eml(ANNA, "Bestellung", "de1@example.de", None, GERMAN),
        "2026-12-01T09:00:00Z",
    );
    assert!(out.contains("awaiting_payment"), "{out}");
    let r = reference(&out);
    let quote = shop.mail_with("anna@example.de").join("\n");
    assert!(quote.contains("Guten Tag Anna,"), "{quote}");
    assert!(quote.contains("Hier ist Ihr Angebot"), "{quote}");
    assert!(quote.contains(&r), "{quote}");
    // 2 x 18,00 + 22,00 shipping to Germany; the deadline in Berlin's winter time.
    assert!(
        quote.contains("2 x Blue Glazed Mug (MUG-BLU) @ 18,00 = 36,00"),
        "{quote}"
    );
    assert!(quote.contains("Uhr (MEZ)"), "{quote}");
    assert!(quote.contains("Dezember 2026"), "{quote}");
    assert!(!quote.contains("Hello"), "{quote}");

    let out = shop.seller_says(&format!("paid {r}"), "2026-12-01T10:00:00Z");
    assert!(out.contains("[paid]"), "{out}");
    let mail = shop.mail_with("Ihre Bestellung ist best\u{e4}tigt");
    assert_eq!(mail.len(), 1, "one German confirmation");
    assert!(
        mail[0].contains("Mit freundlichen Gr\u{fc}\u{df}en"),
        "{}",
        mail[0]
    );
    assert!(
        mail[0].contains("Voraussichtliche Lieferung:"),
        "{}",
        mail[0]
    );
    // The sellers' packing slip stays in the shop's language.
    assert!(!shop.mail_with("please pack it").is_empty());
}

#[test]
fn a_french_order_is_answered_in_french() {
    let shop = Shop::new();
    let out = shop.deliver(
        "fr.eml",
        &eml(CLAIRE, "Commande", "fr1@example.fr", None, FRENCH),
        "2026-12-01T09:00:00Z",
    );
    assert!(out.contains("awaiting_payment"), "{out}");
    let r = reference(&out);
    let quote = shop.mail_with("claire@example.fr").join("\n");
    assert!(quote.contains("Bonjour Claire,"), "{quote}");
    assert!(quote.contains("Voici votre devis"), "{quote}");
    assert!(quote.contains(&r), "{quote}");
    assert!(quote.contains("d\u{e9}cembre 2026"), "{quote}");
    // A later reply keeps the order's language, whatever it reads as on its own.
    let out = shop.deliver(
        "fr2.eml",
        &eml(
            CLAIRE,
            &format!("Re: Commande [{r}]"),
            "fr2@example.fr",
            Some("fr1@example.fr"),
            "Where is my order?",
        ),
        "2026-12-01T09:30:00Z",
    );
    assert!(out.contains("status"), "{out}");
    let to_claire: Vec<String> = shop
        .mail_with("claire@example.fr")
        .into_iter()
        .filter(|m| {
            m.lines()
                .any(|l| l.starts_with("To:") && l.contains("claire@"))
        })
        .collect();
    assert_eq!(to_claire.len(), 2, "the quote and the status");
    for mail in to_claire {
        assert!(mail.contains("Bonjour Claire,"), "{mail}");
        assert!(mail.contains("Bien cordialement,"), "{mail}");
    }
}

#[test]
fn an_order_too_short_to_tell_gets_the_shops_language() {
    let shop = Shop::new();
    shop.edit_config("language = \"en\"", "language = \"de\"");
    let out = shop.deliver(
        "short.eml",
        &eml(
            "Pat Okafor <pat@example.test>",
            "Order",
            "s1@example.test",
            None,
            "2 x Blue Mug\n\nShip to:\nPat Okafor\n41 Linden Avenue\nPortland, OR 97205\nUSA\n",
        ),
        "2026-12-01T09:00:00Z",
    );
    assert!(out.contains("awaiting_payment"), "{out}");
    let quote = shop.mail_with("pat@example.test").join("\n");
    assert!(quote.contains("Guten Tag Pat,"), "{quote}");
    assert!(quote.contains("Uhr (UTC)"), "{quote}");
}

#[test]
fn a_bad_time_zone_or_language_stops_the_shop_at_load() {
    for (from, to, key) in [
        (
            "timezone = \"UTC\"",
            "timezone = \"Europe/Berlinn\"",
            "shop.timezone",
        ),
        ("language = \"en\"", "language = \"xx\"", "shop.language"),
        (
            "language = \"en\"",
            "language = \"en\"\nlanguages = [\"en\", \"klingon\"]",
            "shop.languages[1]",
        ),
    ] {
        let shop = Shop::new();
        shop.edit_config(from, to);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mailcart"))
            .arg("--config")
            .arg(shop.dir.path().join("config.toml"))
            .arg("orders")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{to} was accepted");
        assert!(stderr.contains(key), "{to}: {stderr}");
    }
}
