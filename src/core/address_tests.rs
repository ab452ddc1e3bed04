//! The address finder's table of shapes, country names, UK postcode shapes and junk.

use super::*;

struct Want {
    text: &'static str,
    postal: Option<&'static str>,
    country: Option<&'static str>,
    code: Option<&'static str>,
    lines: &'static [usize],
    recipient: Option<&'static str>,
}

const fn found(
    text: &'static str,
    postal: Option<&'static str>,
    country: Option<&'static str>,
    code: Option<&'static str>,
    lines: &'static [usize],
    recipient: Option<&'static str>,
) -> Option<Want> {
    Some(Want {
        text,
        postal,
        country,
        code,
        lines,
        recipient,
    })
}

/// (case, body, expected)
const CASES: &[(&str, &str, Option<Want>)] = &[
    (
        "us labelled with name and country",
        "Ship to:\nPat Okafor\n41 Linden Avenue\nPortland, OR 97205\nUSA\n",
        found(
            "Pat Okafor\n41 Linden Avenue\nPortland, OR 97205\nUSA",
            Some("97205"),
            Some("USA"),
            Some("US"),
            &[0, 1, 2, 3, 4],
            Some("Pat Okafor"),
        ),
    ),
    (
        "us unlabelled zip+4 under item lines, country inferred",
        "Hi,\n\n2 x Blue Mug\nJane Doe\n1600 Pennsylvania Avenue NW\nWashington, DC 20500-0003\n\nThanks,\nJane",
        found(
            "Jane Doe\n1600 Pennsylvania Avenue NW\nWashington, DC 20500-0003",
            Some("20500-0003"),
            None,
            Some("US"),
            &[3, 4, 5],
            Some("Jane Doe"),
        ),
    ),
    (
        "us full state name",
        "Deliver to:\n41 Linden Avenue\nPortland, Oregon 97205",
        found(
            "41 Linden Avenue\nPortland, Oregon 97205",
            Some("97205"),
            None,
            Some("US"),
            &[0, 1, 2],
            None,
        ),
    ),
    (
        "state codes that are also words",
        "Ship to:\nNadia Petrova\n16 Birch Street\nPortland, ME 04101\nUSA\n\nLeilani Kahale\n5 Ala Moana Blvd\nHonolulu, HI 96813",
        found(
            "Nadia Petrova\n16 Birch Street\nPortland, ME 04101\nUSA",
            Some("04101"),
            Some("USA"),
            Some("US"),
            &[0, 1, 2, 3, 4],
            Some("Nadia Petrova"),
        ),
    ),
    (
        "hawaii unlabelled",
        "Leilani Kahale\n5 Ala Moana Blvd\nHonolulu, HI 96813",
        found(
            "Leilani Kahale\n5 Ala Moana Blvd\nHonolulu, HI 96813",
            Some("96813"),
            None,
            Some("US"),
            &[0, 1, 2],
            Some("Leilani Kahale"),
        ),
    ),
    (
        "canada labelled with courtesy word",
        "Please ship to:\nSam Tremblay\n123 Queen St W\nToronto ON M5V 2T6\nCanada",
        found(
            "Sam Tremblay\n123 Queen St W\nToronto ON M5V 2T6\nCanada",
            Some("M5V 2T6"),
            Some("Canada"),
            Some("CA"),
            &[0, 1, 2, 3, 4],
            Some("Sam Tremblay"),
        ),
    ),
    (
        "canada unlabelled, inferred from the postcode",
        "Sam Tremblay\n88 Rue Sainte-Catherine\nMontréal QC H2X 1K4",
        found(
            "Sam Tremblay\n88 Rue Sainte-Catherine\nMontréal QC H2X 1K4",
            Some("H2X 1K4"),
            None,
            Some("CA"),
            &[0, 1, 2],
            Some("Sam Tremblay"),
        ),
    ),
    (
        "uk postcode on its own line, unit line",
        "Delivery address:\nAlex Smith\nFlat 2\n10 Downing Street\nLondon\nSW1A 2AA\nUnited Kingdom",
        found(
            "Alex Smith\nFlat 2\n10 Downing Street\nLondon\nSW1A 2AA\nUnited Kingdom",
            Some("SW1A 2AA"),
            Some("United Kingdom"),
            Some("GB"),
            &[0, 1, 2, 3, 4, 5, 6],
            Some("Alex Smith"),
        ),
    ),
    (
        "uk unlabelled, inferred",
        "Alex Smith\n221B Baker Street\nLondon NW1 6XE",
        found(
            "Alex Smith\n221B Baker Street\nLondon NW1 6XE",
            Some("NW1 6XE"),
            None,
            Some("GB"),
            &[0, 1, 2],
            Some("Alex Smith"),
        ),
    ),
    (
        "uk house name is not a recipient",
        "Rose Cottage\nChurch Lane\nLittle Snoring\nNR21 0AA",
        found(
            "Rose Cottage\nChurch Lane\nLittle Snoring\nNR21 0AA",
            Some("NR21 0AA"),
            None,
            Some("GB"),
            &[0, 1, 2, 3],
            None,
        ),
    ),
    (
        "german label, Deutschland",
        "Lieferadresse:\nMax Mustermann\nHauptstraße 5\n10115 Berlin\nDeutschland",
        found(
            "Max Mustermann\nHauptstraße 5\n10115 Berlin\nDeutschland",
            Some("10115"),
            Some("Deutschland"),
            Some("DE"),
            &[0, 1, 2, 3, 4],
            Some("Max Mustermann"),
        ),
    ),
    (
        "german unlabelled, bare 5 digits is ambiguous",
        "Max Mustermann\nLindenstr. 12\n80331 München",
        found(
            "Max Mustermann\nLindenstr. 12\n80331 München",
            Some("80331"),
            None,
            None,
            &[0, 1, 2],
            Some("Max Mustermann"),
        ),
    ),
    (
        "german Anschrift one line",
        "Anschrift: Musterweg 3, 80331 München",
        found(
            "Musterweg 3, 80331 München",
            Some("80331"),
            None,
            None,
            &[0],
            None,
        ),
    ),
    (
        "german lead-in with verb before the preposition",
        "Bitte schicken Sie alles an: Hauptstraße 5, 10115 Berlin",
        found(
            "Hauptstraße 5, 10115 Berlin",
            Some("10115"),
            None,
            Some("DE"),
            &[0],
            None,
        ),
    ),
    (
        "austria with letter prefix",
        "Adresse:\nLukas Huber\nMariahilfer Straße 10\nA-1060 Wien\nÖsterreich",
        found(
            "Lukas Huber\nMariahilfer Straße 10\nA-1060 Wien\nÖsterreich",
            Some("1060"),
            Some("Österreich"),
            Some("AT"),
            &[0, 1, 2, 3, 4],
            Some("Lukas Huber"),
        ),
    ),
    (
        "french label with a space before the colon",
        "Bonjour,\n\nAdresse de livraison :\nMarie Dupont\n12 Rue Oberkampf\n75011 Paris\nFrance\n\nMerci !",
        found(
            "Marie Dupont\n12 Rue Oberkampf\n75011 Paris\nFrance",
            Some("75011"),
            Some("France"),
            Some("FR"),
            &[2, 3, 4, 5, 6],
            Some("Marie Dupont"),
        ),
    ),
    (
        "one-line address after an english label keeps its line",
        "Ship to: 12 Rue Oberkampf, 75011 Paris, France",
        found(
            "12 Rue Oberkampf, 75011 Paris, France",
            Some("75011"),
            Some("France"),
            Some("FR"),
            &[0],
            None,
        ),
    ),
    (
        "french Livrer à, no country",
        "Livrer à : 5 avenue Foch, 75116 Paris",
        found(
            "5 avenue Foch, 75116 Paris",
            Some("75116"),
            None,
            None,
            &[0],
            None,
        ),
    ),
    (
        "french Livraison label",
        "Livraison : 3 place Bellecour, 69002 Lyon, France\n2 x Blue Mug",
        found(
            "3 place Bellecour, 69002 Lyon, France",
            Some("69002"),
            Some("France"),
            Some("FR"),
            &[0],
            None,
        ),
    ),
    (
        "spanish one line",
        "Dirección de envío: Calle Mayor 12, 28013 Madrid, España",
        found(
            "Calle Mayor 12, 28013 Madrid, España",
            Some("28013"),
            Some("España"),
            Some("ES"),
            &[0],
            None,
        ),
    ),
    (
        "spanish Enviar a, Espana without tilde",
        "Enviar a:\nAna García\nCalle de Alcalá 45, 3º B\n28014 Madrid\nEspana",
        found(
            "Ana García\nCalle de Alcalá 45, 3º B\n28014 Madrid\nEspana",
            Some("28014"),
            Some("Espana"),
            Some("ES"),
            &[0, 1, 2, 3, 4],
            Some("Ana García"),
        ),
    ),
    (
        "spanish Domicilio, Avda.",
        "Domicilio: Avda. de la Constitución 5\n41004 Sevilla",
        found(
            "Avda. de la Constitución 5\n41004 Sevilla",
            Some("41004"),
            None,
            None,
            &[0, 1],
            None,
        ),
    ),
    (
        "japanese block with 〒 and 様",
        "〒150-0001\n東京都渋谷区神宮前1-2-3\n山田 太郎 様",
        found(
            "〒150-0001\n東京都渋谷区神宮前1-2-3\n山田 太郎 様",
            Some("150-0001"),
            None,
            Some("JP"),
            &[0, 1, 2],
            Some("山田 太郎"),
        ),
    ),
    (
        "japanese label and 日本",
        "お届け先：\n〒150-0001\n東京都渋谷区神宮前1-2-3\n日本",
        found(
            "〒150-0001\n東京都渋谷区神宮前1-2-3\n日本",
            Some("150-0001"),
            Some("日本"),
            Some("JP"),
            &[0, 1, 2, 3],
            None,
        ),
    ),
    (
        "japan romanised",
        "Ship to:\nKenji Sato\n1-2-3 Jingumae\nShibuya-ku, Tokyo 150-0001\nJapan",
        found(
            "Kenji Sato\n1-2-3 Jingumae\nShibuya-ku, Tokyo 150-0001\nJapan",
            Some("150-0001"),
            Some("Japan"),
            Some("JP"),
            &[0, 1, 2, 3, 4],
            Some("Kenji Sato"),
        ),
    ),
    (
        "australia",
        "SHIPPING ADDRESS\nMia Nguyen\n12 Smith St\nSydney NSW 2000\nAustralia",
        found(
            "Mia Nguyen\n12 Smith St\nSydney NSW 2000\nAustralia",
            Some("2000"),
            Some("Australia"),
            Some("AU"),
            &[0, 1, 2, 3, 4],
            Some("Mia Nguyen"),
        ),
    ),
    (
        "dutch postcode with letters",
        "Verzendadres: Kerkstraat 12, 1012 AB Amsterdam, Nederland",
        found(
            "Kerkstraat 12, 1012 AB Amsterdam, Nederland",
            Some("1012 AB"),
            Some("Nederland"),
            Some("NL"),
            &[0],
            None,
        ),
    ),
    (
        "italian",
        "Indirizzo di spedizione:\nGiulia Rossi\nVia Roma 10\n00184 Roma\nItalia",
        found(
            "Giulia Rossi\nVia Roma 10\n00184 Roma\nItalia",
            Some("00184"),
            Some("Italia"),
            Some("IT"),
            &[0, 1, 2, 3, 4],
            Some("Giulia Rossi"),
        ),
    ),
    (
        "blank line after a bare label",
        "Ship to\n\nPat Okafor\n41 Linden Ave\nPortland, OR 97205",
        found(
            "Pat Okafor\n41 Linden Ave\nPortland, OR 97205",
            Some("97205"),
            None,
            Some("US"),
            &[0, 2, 3, 4],
            Some("Pat Okafor"),
        ),
    ),
    (
        "Address: see below",
        "Address: see below\n\nPat Okafor\n41 Linden Avenue\nPortland, OR 97205\nUSA",
        found(
            "Pat Okafor\n41 Linden Avenue\nPortland, OR 97205\nUSA",
            Some("97205"),
            Some("USA"),
            Some("US"),
            &[0, 2, 3, 4, 5],
            Some("Pat Okafor"),
        ),
    ),
    (
        "signature after the country is not address",
        "Send to:\nPat Okafor\n41 Linden Avenue\nPortland, OR 97205\nU.S.A.\nPat",
        found(
            "Pat Okafor\n41 Linden Avenue\nPortland, OR 97205\nU.S.A.",
            Some("97205"),
            Some("U.S.A."),
            Some("US"),
            &[0, 1, 2, 3, 4],
            Some("Pat Okafor"),
        ),
    ),
    (
        "phone line ends the block",
        "Mailing address:\nPat\n41 Linden Ave\nPortland, OR 97205\nTel: 503 555 1234",
        found(
            "Pat\n41 Linden Ave\nPortland, OR 97205",
            Some("97205"),
            None,
            Some("US"),
            &[0, 1, 2, 3],
            None,
        ),
    ),
    (
        "item lines right above an unlabelled block",
        "2 x Blue Mug\n1 x Cast Iron Teapot\nPat Okafor\n41 Linden Avenue\nPortland, OR 97205\nUSA",
        found(
            "Pat Okafor\n41 Linden Avenue\nPortland, OR 97205\nUSA",
            Some("97205"),
            Some("USA"),
            Some("US"),
            &[2, 3, 4, 5],
            Some("Pat Okafor"),
        ),
    ),
    (
        "item line right after a one-line labelled address",
        "Ship to: Pat Okafor, 41 Linden Avenue, Portland, OR 97205\n2 x Blue Mug",
        found(
            "Pat Okafor, 41 Linden Avenue, Portland, OR 97205",
            Some("97205"),
            None,
            Some("US"),
            &[0],
            Some("Pat Okafor"),
        ),
    ),
    (
        "item line after the postcode line of a labelled block",
        "Ship to:\nPat Okafor\n41 Linden Avenue\nPortland, OR 97205\n2 x Blue Mug\n3 sake cups",
        found(
            "Pat Okafor\n41 Linden Avenue\nPortland, OR 97205",
            Some("97205"),
            None,
            Some("US"),
            &[0, 1, 2, 3],
            Some("Pat Okafor"),
        ),
    ),
    (
        "number-first item above a street is not a second street",
        "3 sake cups\n41 Linden Avenue\nPortland, OR 97205",
        found(
            "41 Linden Avenue\nPortland, OR 97205",
            Some("97205"),
            None,
            Some("US"),
            &[1, 2],
            None,
        ),
    ),
    (
        "house number without a street word, next to the postcode",
        "Pat Okafor\n41 Linden\nPortland, OR 97205",
        found(
            "Pat Okafor\n41 Linden\nPortland, OR 97205",
            Some("97205"),
            None,
            Some("US"),
            &[0, 1, 2],
            Some("Pat Okafor"),
        ),
    ),
    (
        "four-digit house number that looks like a european postcode",
        "Pat Okafor\n1234 Elm\nSpringfield, IL 62704",
        found(
            "Pat Okafor\n1234 Elm\nSpringfield, IL 62704",
            Some("62704"),
            None,
            Some("US"),
            &[0, 1, 2],
            Some("Pat Okafor"),
        ),
    ),
    (
        "unlabelled one-line address",
        "My order: 2 x Blue Mug\n\n41 Linden Avenue, Portland, OR 97205, USA",
        found(
            "41 Linden Avenue, Portland, OR 97205, USA",
            Some("97205"),
            Some("USA"),
            Some("US"),
            &[2],
            None,
        ),
    ),
    (
        "closing right above the block stops it",
        "Thanks!\nPat Okafor\n41 Linden Ave\nPortland, OR 97205",
        found(
            "Pat Okafor\n41 Linden Ave\nPortland, OR 97205",
            Some("97205"),
            None,
            Some("US"),
            &[1, 2, 3],
            Some("Pat Okafor"),
        ),
    ),
    (
        "prose lead-in, address on the same line",
        "Hi! Please send it to 12 Rue Oberkampf, 75011 Paris, France. Thanks!",
        found(
            "12 Rue Oberkampf, 75011 Paris, France",
            Some("75011"),
            Some("France"),
            Some("FR"),
            &[0],
            None,
        ),
    ),
    (
        "prose lead-in, address on the next lines",
        "Could you ship them to:\nPat Okafor\n41 Linden Ave\nPortland, OR 97205",
        found(
            "Pat Okafor\n41 Linden Ave\nPortland, OR 97205",
            Some("97205"),
            None,
            Some("US"),
            &[0, 1, 2, 3],
            Some("Pat Okafor"),
        ),
    ),
    (
        "lead-in sharing its line with an item request leaves the line to the caller",
        "Could you send two blue mugs to 41 Linden Avenue, Portland, OR 97205?",
        found(
            "41 Linden Avenue, Portland, OR 97205",
            Some("97205"),
            None,
            Some("US"),
            &[],
            None,
        ),
    ),
    (
        "my address is",
        "My address is 221B Baker Street, London NW1 6XE.",
        found(
            "221B Baker Street, London NW1 6XE",
            Some("NW1 6XE"),
            None,
            Some("GB"),
            &[0],
            None,
        ),
    ),
    (
        "spanish lead-in",
        "Por favor, envíenlo a: Calle Mayor 12, 28013 Madrid, España",
        found(
            "Calle Mayor 12, 28013 Madrid, España",
            Some("28013"),
            Some("España"),
            Some("ES"),
            &[0],
            None,
        ),
    ),
    (
        "labelled wins over an earlier unlabelled block",
        "41 Linden Avenue\nPortland, OR 97205\n\nActually, ship to:\nPat Okafor\n5 Main St\nSpringfield, IL 62701",
        found(
            "Pat Okafor\n5 Main St\nSpringfield, IL 62701",
            Some("62701"),
            None,
            Some("US"),
            &[3, 4, 5, 6],
            Some("Pat Okafor"),
        ),
    ),
    (
        "billing address is not the shipping label",
        "Billing address:\nPat Okafor\n1 Main Street\nSpringfield, IL 62701\n\nShipping address:\nPat Okafor\n41 Linden Avenue\nPortland, OR 97205",
        found(
            "Pat Okafor\n41 Linden Avenue\nPortland, OR 97205",
            Some("97205"),
            None,
            Some("US"),
            &[5, 6, 7, 8],
            Some("Pat Okafor"),
        ),
    ),
    (
        "form fields",
        "Name: Pat Okafor\nStreet: 41 Linden Ave\nCity: Portland\nState: OR\nZIP: 97205\nCountry: USA",
        found(
            "Name: Pat Okafor\nStreet: 41 Linden Ave\nCity: Portland\nState: OR\nZIP: 97205\nCountry: USA",
            Some("97205"),
            Some("USA"),
            Some("US"),
            &[0, 1, 2, 3, 4, 5],
            Some("Pat Okafor"),
        ),
    ),
    (
        "no-colon label with an address after it",
        "Deliver to 12 Rue Oberkampf, 75011 Paris",
        found(
            "12 Rue Oberkampf, 75011 Paris",
            Some("75011"),
            None,
            Some("FR"),
            &[0],
            None,
        ),
    ),
    (
        "dash instead of a colon, sentence cut after the address",
        "Ship to - 41 Linden Avenue, Portland, OR 97205. Please hurry!",
        found(
            "41 Linden Avenue, Portland, OR 97205",
            Some("97205"),
            None,
            Some("US"),
            &[0],
            None,
        ),
    ),
    (
        "abbreviation full stop does not end the sentence",
        "Lieferadresse: Lindenstr. 12, 80331 München. Danke!",
        found(
            "Lindenstr. 12, 80331 München",
            Some("80331"),
            None,
            None,
            &[0],
            None,
        ),
    ),
    (
        "labelled block where a house number looks like a postcode",
        "Ship to:\nPat Okafor\n1234 Elm\nSpringfield, IL 62704\nPat",
        found(
            "Pat Okafor\n1234 Elm\nSpringfield, IL 62704",
            Some("62704"),
            None,
            Some("US"),
            &[0, 1, 2, 3],
            Some("Pat Okafor"),
        ),
    ),
    (
        "japanese one line with the street after the postcode",
        "〒150-0001 東京都渋谷区神宮前1-2-3, 日本",
        found(
            "〒150-0001 東京都渋谷区神宮前1-2-3, 日本",
            Some("150-0001"),
            Some("日本"),
            Some("JP"),
            &[0],
            None,
        ),
    ),
    (
        "label followed by items, not an address",
        "Ship to: (same as before)\n2 blue mugs\n1 teapot",
        None,
    ),
    (
        "a unit is not a street",
        "Suite 400, Portland, OR 97205",
        None,
    ),
    (
        "order list without address",
        "Hi,\n2 x Blue Mug\n1 x Cast Iron Teapot\n\nThanks,\nPat",
        None,
    ),
    (
        "sentence with numbers",
        "I need 2 mugs by 12 December",
        None,
    ),
    (
        "prose naming a postcode",
        "I live near Portland, OR 97205 and love your mugs.",
        None,
    ),
    ("label word in prose", "Address book is full, sorry", None),
    (
        "label with no address",
        "Shipping address: same as last time\n\n2 x Blue Mug",
        None,
    ),
    (
        "lead-in naming no place",
        "Could you ship it at the weekend?\n2 x Blue Mug",
        None,
    ),
    ("postcode without street", "Portland, OR 97205", None),
    ("empty", "", None),
    (
        "junk",
        "\u{0}\u{202e}💥💥 12 x\n〒\n:::\n-- \n\u{FEFF}Ship to:\n\u{0}",
        None,
    ),
];

#[test]
fn address_table() {
    let mut failures = Vec::new();
    for (case, body, want) in CASES {
        let lines: Vec<&str> = body.lines().collect();
        let got = find_address(&lines);
        let ok = match (&got, want) {
            (None, None) => true,
            (Some(g), Some(w)) => {
                g.address.text == w.text
                    && g.address.postal_code.as_deref() == w.postal
                    && g.address.country.as_deref() == w.country
                    && g.address.country_code.as_deref() == w.code
                    && g.lines == w.lines
                    && g.recipient.as_deref() == w.recipient
            }
            _ => false,
        };
        if !ok {
            failures.push(format!("{case}: got {got:#?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn country_names() {
    for (name, code) in [
        ("USA", Some("US")),
        ("U.S.A.", Some("US")),
        ("United States", Some("US")),
        ("US", Some("US")),
        ("Canada", Some("CA")),
        ("UK", Some("GB")),
        ("U.K.", Some("GB")),
        ("United Kingdom", Some("GB")),
        ("England", Some("GB")),
        ("Scotland", Some("GB")),
        ("Wales", Some("GB")),
        ("Great Britain", Some("GB")),
        ("Germany", Some("DE")),
        ("DEUTSCHLAND", Some("DE")),
        ("France", Some("FR")),
        ("Spain", Some("ES")),
        ("España", Some("ES")),
        ("Espana", Some("ES")),
        ("Japan", Some("JP")),
        ("日本", Some("JP")),
        ("Italy", Some("IT")),
        ("Italia", Some("IT")),
        ("The Netherlands", Some("NL")),
        ("Nederland", Some("NL")),
        ("Belgium", Some("BE")),
        ("Ireland", Some("IE")),
        ("Australia", Some("AU")),
        ("Austria", Some("AT")),
        ("Österreich", Some("AT")),
        ("ÖSTERREICH", Some("AT")),
        ("Switzerland", Some("CH")),
        ("Schweiz", Some("CH")),
        ("Suisse", Some("CH")),
        ("Mexico", Some("MX")),
        ("México", Some("MX")),
        ("Portugal", Some("PT")),
        ("Sweden", Some("SE")),
        ("Denmark", Some("DK")),
        ("Norway", Some("NO")),
        ("  united   states of america ", Some("US")),
        ("CA", None),
        ("Georgia", None),
        ("Paris", None),
        ("", None),
    ] {
        assert_eq!(country_code(name), code, "{name:?}");
    }
    assert_eq!(country_code(&"a".repeat(1_000_000)), None);
}

#[test]
fn uk_postcode_shapes() {
    for code in [
        "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "W1A 0AX", "EC1A 1BB", "SW1A1AA", "GIR 0AA",
    ] {
        let line = format!("London {code}");
        let p = find_postcode(&line);
        assert_eq!(p.as_ref().map(|p| p.code.as_str()), Some(code), "{code}");
        assert_eq!(p.and_then(|p| p.inferred), Some("GB"), "{code}");
    }
    // Ordinals and phone fragments are not postcodes.
    for line in ["b2 3rd floor", "Call 503-555-1234", "Room 12"] {
        assert_eq!(find_postcode(line), None, "{line}");
    }
}

/// Cheap deterministic noise: nothing any mailbox holds may panic the finder.
#[test]
fn junk_never_panics() {
    let alphabet: Vec<char> = "aZ09 ,.:-x×〒様日本\u{0}\u{202e}\u{FEFF}\t€$|#/()ÄßéñØ\u{10FFFF}\r"
        .chars()
        .collect();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..500 {
        let len = (next() % 200) as usize;
        let text: String = (0..len)
            .map(|_| {
                if next() % 9 == 0 {
                    '\n'
                } else {
                    alphabet[(next() % alphabet.len() as u64) as usize]
                }
            })
            .collect();
        let lines: Vec<&str> = text.lines().collect();
        let _ = find_address(&lines);
    }
    let huge = "Ship to: 41 Linden Avenue, Portland, OR 97205 ".repeat(50_000);
    let _ = find_address(&[huge.as_str(), "Portland, OR 97205"]);
    let many: Vec<&str> = std::iter::repeat_n("41 Linden Avenue", 5_000)
        .chain(["Portland, OR 97205"])
        .collect();
    let got = find_address(&many);
    assert!(got.is_some_and(|m| m.lines.len() <= MAX_LINES));
}
