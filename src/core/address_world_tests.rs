//! Addresses from every country the shop's customers live in, billing beside shipping,
//! gifts, and mail that holds numbers shaped like postcodes but no address.

use super::find_address;

/// (case, body, postcode, country code)
const COUNTRIES: &[(&str, &str, &str, Option<&str>)] = &[
    (
        "ireland one line",
        "Ship to: Aoife Byrne, 12 Main Street, Ranelagh, Dublin 6, D06 F9K2, Ireland",
        "D06 F9K2",
        Some("IE"),
    ),
    (
        "ireland eircode alone names it",
        "Ship to:\nSeán Murphy\nMain Street\nAthlone\nCo. Westmeath\nN37 A6K2",
        "N37 A6K2",
        Some("IE"),
    ),
    (
        "ireland rural eircode",
        "Delivery address:\nMáire Ní Bhriain\nCurraghmore\nGalway\nH91 E2K3\nIreland",
        "H91 E2K3",
        Some("IE"),
    ),
    (
        "germany by its street word, no country line",
        "Lieferadresse:\nJonas Becker\nSendlinger Str. 7\n80331 München",
        "80331",
        Some("DE"),
    ),
    (
        "italy by its street word",
        "Indirizzo:\nLuca Bianchi\nVia Roma 12\n00184 Roma RM",
        "00184",
        Some("IT"),
    ),
    (
        "spanish street with five digits: Spain or Mexico, not guessed",
        "Dirección:\nAna Ruiz\nCalle Mayor 5\n28013 Madrid",
        "28013",
        None,
    ),
    (
        "uk",
        "Ship to:\nTom Hughes\n5 Kings Road\nCardiff CF11 9DX\nUK",
        "CF11 9DX",
        Some("GB"),
    ),
    (
        "switzerland prefixed",
        "Lieferadresse:\nAnna Keller\nBahnhofstrasse 12\nCH-8001 Zürich",
        "8001",
        Some("CH"),
    ),
    (
        "switzerland named",
        "Adresse de livraison :\nLuc Favre\nRue du Rhône 42\n1204 Genève\nSuisse",
        "1204",
        Some("CH"),
    ),
    (
        "liechtenstein",
        "Lieferadresse:\nPeter Frick\nStädtle 7\nFL-9490 Vaduz\nLiechtenstein",
        "9490",
        Some("LI"),
    ),
    (
        "australia",
        "Ship to:\nChloe Wilson\n8 George St\nBrisbane QLD 4000\nAustralia",
        "4000",
        Some("AU"),
    ),
    (
        "new zealand",
        "Ship to:\nAroha Ngata\n14 Ponsonby Road\nPonsonby\nAuckland 1011\nNew Zealand",
        "1011",
        Some("NZ"),
    ),
    (
        "new zealand one line",
        "Please send it to 3 Cuba Street, Te Aro, Wellington 6011, New Zealand",
        "6011",
        Some("NZ"),
    ),
    (
        "us zip+4",
        "Ship to:\nDana Brooks\n350 Fifth Avenue\nNew York, NY 10118-0110",
        "10118-0110",
        Some("US"),
    ),
    (
        "canada",
        "Ship to: Émilie Roy, 1200 Rue Sherbrooke O, Montréal QC H3A 1H6, Canada",
        "H3A 1H6",
        Some("CA"),
    ),
    (
        "japan",
        "お届け先：\n〒100-0005\n東京都千代田区丸の内1-9-1\n鈴木 一郎 様",
        "100-0005",
        Some("JP"),
    ),
    (
        "brazil one line",
        "Endereço de entrega: Av. Paulista, 1578 - Bela Vista, São Paulo - SP, 01310-200, Brasil",
        "01310-200",
        Some("BR"),
    ),
    (
        "brazil cep unnamed",
        "Enviar para:\nJoão Silva\nRua Augusta, 500\nSão Paulo - SP\nCEP 01305-000",
        "01305-000",
        Some("BR"),
    ),
    (
        "india",
        "Ship to:\nPriya Sharma\n12 MG Road\nBengaluru, Karnataka 560001\nIndia",
        "560001",
        Some("IN"),
    ),
    (
        "india unnamed is not guessed",
        "Ship to:\nRahul Mehta\n21 Marine Drive\nMumbai 400020",
        "400020",
        None,
    ),
    (
        "singapore",
        "Ship to:\nTan Wei Ling\n10 Anson Road #12-01\nSingapore 079903",
        "079903",
        Some("SG"),
    ),
    (
        "norway",
        "Leveringsadresse:\nOla Nordmann\nKarl Johans gate 22\n0159 Oslo\nNorge",
        "0159",
        Some("NO"),
    ),
    (
        "iceland",
        "Ship to:\nJón Jónsson\nLaugavegur 26\n101 Reykjavík\nIceland",
        "101",
        Some("IS"),
    ),
    (
        "poland",
        "Adres dostawy:\nJan Kowalski\nul. Marszałkowska 10\n00-950 Warszawa\nPolska",
        "00-950",
        Some("PL"),
    ),
    (
        "poland unnamed",
        "Ship to:\nAnna Nowak\nul. Floriańska 3\n31-019 Kraków",
        "31-019",
        Some("PL"),
    ),
    (
        "portugal",
        "Morada de entrega:\nMaria Santos\nRua Augusta 100\n1100-053 Lisboa",
        "1100-053",
        Some("PT"),
    ),
    (
        "netherlands",
        "Bezorgadres:\nJan de Vries\nKeizersgracht 123\n1015 CJ Amsterdam",
        "1015 CJ",
        Some("NL"),
    ),
    (
        "sweden spaced",
        "Leveransadress:\nErik Andersson\nDrottninggatan 5\n114 55 Stockholm\nSverige",
        "114 55",
        Some("SE"),
    ),
    (
        "sweden prefixed",
        "Ship to: Karin Berg, Storgatan 1, SE-411 38 Göteborg",
        "411 38",
        Some("SE"),
    ),
    (
        "czechia",
        "Doručovací adresa:\nPetr Novák\nVáclavské náměstí 1\n110 00 Praha 1\nČesko",
        "110 00",
        Some("CZ"),
    ),
    (
        "slovakia",
        "Ship to:\nJana Horváthová\nObchodná 5\n811 06 Bratislava\nSlovakia",
        "811 06",
        Some("SK"),
    ),
    (
        "greece",
        "Ship to:\nNikos Papadopoulos\nErmou 20\n105 63 Athens\nGreece",
        "105 63",
        Some("GR"),
    ),
    (
        "shared spaced shape names no country",
        "Ship to:\nPetr Svoboda\nNerudova 10\n118 00 Praha",
        "118 00",
        None,
    ),
    (
        "latvia",
        "Ship to: Anna Bērziņa, Brīvības iela 50, Rīga, LV-1011",
        "LV-1011",
        Some("LV"),
    ),
    (
        "lithuania",
        "Ship to:\nJonas Kazlauskas\nGedimino pr. 9\nLT-01103 Vilnius",
        "01103",
        Some("LT"),
    ),
    (
        "malta",
        "Ship to:\nMaria Borg\n12 Triq il-Merkanti\nValletta VLT 1117\nMalta",
        "VLT 1117",
        Some("MT"),
    ),
    (
        "mexico",
        "Dirección de envío:\nLuis Hernández\nAv. Reforma 222\n06600 Ciudad de México, CDMX\nMéxico",
        "06600",
        Some("MX"),
    ),
    (
        "south korea",
        "Ship to:\nKim Min-jun\n110 Sejong-daero, Jung-gu\nSeoul 04524\nSouth Korea",
        "04524",
        Some("KR"),
    ),
    (
        "germany",
        "Lieferadresse: Hauptstraße 5, 10115 Berlin, Deutschland",
        "10115",
        Some("DE"),
    ),
    (
        "germany unnamed: five digits and a Straße are German",
        "Lieferadresse: Hauptstraße 5, 10115 Berlin",
        "10115",
        Some("DE"),
    ),
    (
        "france",
        "Adresse de livraison : 8 rue de la Paix, 75002 Paris, France",
        "75002",
        Some("FR"),
    ),
    (
        "austria",
        "Lieferadresse:\nLena Gruber\nGraben 10\n1010 Wien\nÖsterreich",
        "1010",
        Some("AT"),
    ),
    (
        "belgium",
        "Leveringsadres: Grote Markt 1, 1000 Brussel, België",
        "1000",
        Some("BE"),
    ),
    (
        "luxembourg",
        "Adresse de livraison :\nPaul Weber\n12 rue de la Gare\nL-1611 Luxembourg",
        "1611",
        Some("LU"),
    ),
    (
        "denmark",
        "Leveringsadresse:\nMads Jensen\nStrøget 12\n1160 København K\nDanmark",
        "1160",
        Some("DK"),
    ),
    (
        "finland",
        "Toimitusosoite:\nMatti Virtanen\nMannerheimintie 10\n00100 Helsinki\nSuomi",
        "00100",
        Some("FI"),
    ),
    (
        "italy",
        "Indirizzo di consegna: Via del Corso 5, 00186 Roma, Italia",
        "00186",
        Some("IT"),
    ),
    (
        "spain",
        "Dirección de envío: Calle de Serrano 10, 28001 Madrid, España",
        "28001",
        Some("ES"),
    ),
    (
        "croatia",
        "Ship to:\nIvan Horvat\nIlica 10\nHR-10000 Zagreb",
        "10000",
        Some("HR"),
    ),
    (
        "slovenia",
        "Ship to:\nMaja Novak\nSlovenska cesta 1\nSI-1000 Ljubljana",
        "1000",
        Some("SI"),
    ),
    (
        "estonia",
        "Ship to:\nMart Tamm\nNarva mnt 5\n10117 Tallinn\nEstonia",
        "10117",
        Some("EE"),
    ),
    (
        "hungary",
        "Ship to:\nNagy Anna\nAndrássy út 10\n1061 Budapest\nHungary",
        "1061",
        Some("HU"),
    ),
    (
        "romania",
        "Ship to:\nAndrei Popescu\nCalea Victoriei 12\n010061 București\nRomania",
        "010061",
        Some("RO"),
    ),
    (
        "cyprus",
        "Ship to:\nAndreas Georgiou\nMakariou Avenue 20\n1065 Nicosia\nCyprus",
        "1065",
        Some("CY"),
    ),
];

#[test]
fn every_country() {
    let mut failures = Vec::new();
    for (case, body, postal, code) in COUNTRIES {
        let lines: Vec<&str> = body.lines().collect();
        let got = find_address(&lines);
        let ok = got.as_ref().is_some_and(|g| {
            g.address.postal_code.as_deref() == Some(*postal)
                && g.address.country_code.as_deref() == *code
        });
        if !ok {
            failures.push(format!("{case}: got {got:#?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn one_line_with_commas_keeps_the_recipient() {
    let line = "Ship to: Aoife Byrne, 12 Main Street, Ranelagh, Dublin 6, D06 F9K2, Ireland";
    let got = find_address(&[line]).expect("an address");
    assert_eq!(
        got.address.text,
        "Aoife Byrne, 12 Main Street, Ranelagh, Dublin 6, D06 F9K2, Ireland"
    );
    assert_eq!(got.address.country.as_deref(), Some("Ireland"));
    assert_eq!(got.recipient.as_deref(), Some("Aoife Byrne"));
    assert_eq!(got.lines, [0]);
}

/// (case, body, postcode of the address that must win)
const BILLING_AND_SHIPPING: &[(&str, &str, &str)] = &[
    (
        "shipping after billing",
        "Billing address:\nPat Okafor\n1 Main Street\nSpringfield, IL 62701\n\nShipping address:\nPat Okafor\n41 Linden Avenue\nPortland, OR 97205",
        "97205",
    ),
    (
        "shipping before billing",
        "Shipping address:\nPat Okafor\n41 Linden Avenue\nPortland, OR 97205\n\nBilling address:\nPat Okafor\n1 Main Street\nSpringfield, IL 62701",
        "97205",
    ),
    (
        "german, billing first",
        "Rechnungsadresse:\nMax Mustermann\nFirmenweg 1\n20095 Hamburg\n\nLieferadresse:\nMax Mustermann\nHauptstraße 5\n10115 Berlin",
        "10115",
    ),
    (
        "french, shipping first",
        "Adresse de livraison :\nMarie Dupont\n12 Rue Oberkampf\n75011 Paris\n\nAdresse de facturation :\nMarie Dupont\n3 rue de Rivoli\n75004 Paris",
        "75011",
    ),
    (
        "spanish, billing first",
        "Dirección de facturación:\nAna García\nCalle Mayor 1\n28013 Madrid\n\nDirección de envío:\nAna García\nCalle de Alcalá 45\n28014 Madrid",
        "28014",
    ),
    (
        "billing label, then an unlabelled block",
        "Billing address:\nPat Okafor\n1 Main Street\nSpringfield, IL 62701\n\nPlease deliver the mugs here, thanks.\n\nPat Okafor\n41 Linden Avenue\nPortland, OR 97205",
        "97205",
    ),
    (
        "billing and one-line shipping label",
        "Bill to: Pat Okafor, 1 Main Street, Springfield, IL 62701\nShip to: Pat Okafor, 41 Linden Avenue, Portland, OR 97205",
        "97205",
    ),
    (
        "shipping same as billing",
        "Billing address:\nPat Okafor\n1 Main Street\nSpringfield, IL 62701\n\nShipping address: same as billing",
        "62701",
    ),
    (
        "my billing address, then a label with an aside",
        "My billing address:\nTom Hale\n55 Kings Road\nLondon SW3 4ND\n\nShip to (gift):\nMargaret Hale\n3 Orchard Close\nHarrogate HG1 2AB\nUnited Kingdom",
        "HG1 2AB",
    ),
    (
        "billing and shipping address in one",
        "Billing and shipping address:\nPat Okafor\n41 Linden Avenue\nPortland, OR 97205",
        "97205",
    ),
];

#[test]
fn shipping_wins_over_billing() {
    let mut failures = Vec::new();
    for (case, body, postal) in BILLING_AND_SHIPPING {
        let lines: Vec<&str> = body.lines().collect();
        let got = find_address(&lines);
        if got.as_ref().and_then(|g| g.address.postal_code.as_deref()) != Some(*postal) {
            failures.push(format!("{case}: got {got:#?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// (case, body, recipient, postcode)
const GIFTS: &[(&str, &str, &str, &str)] = &[
    (
        "sister, one line",
        "It's a present! Please send it to my sister: Jane Doe, 5 Main St, Springfield, IL 62701",
        "Jane Doe",
        "62701",
    ),
    (
        "mum, block below",
        "Could you ship it to my mum?\nMary Byrne\n4 Church Road\nDalkey, Co. Dublin\nA96 K2P3\nIreland",
        "Mary Byrne",
        "A96 K2P3",
    ),
    (
        "friend's address",
        "It's a birthday gift, please deliver to my friend's address:\nTom Baker\n10 High Street\nOxford OX1 4AA",
        "Tom Baker",
        "OX1 4AA",
    ),
    (
        "label with the relation",
        "Ship to my brother:\nLuca Rossi\nVia Roma 10\n00184 Roma\nItalia",
        "Luca Rossi",
        "00184",
    ),
    (
        "german",
        "Bitte schicken Sie es an meine Schwester: Lena Huber, Lindenstraße 3, 80331 München",
        "Lena Huber",
        "80331",
    ),
    (
        "french",
        "Pouvez-vous l'envoyer à ma sœur : Claire Martin, 5 rue Victor Hugo, 69002 Lyon",
        "Claire Martin",
        "69002",
    ),
];

#[test]
fn a_gift_goes_to_the_other_person() {
    let mut failures = Vec::new();
    for (case, body, recipient, postal) in GIFTS {
        let lines: Vec<&str> = body.lines().collect();
        let got = find_address(&lines);
        let ok = got.as_ref().is_some_and(|g| {
            g.recipient.as_deref() == Some(*recipient)
                && g.for_someone_else
                && g.address.postal_code.as_deref() == Some(*postal)
        });
        if !ok {
            failures.push(format!("{case}: got {got:#?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let own = find_address(&["Ship to: Pat Okafor, 41 Linden Avenue, Portland, OR 97205"]);
    assert!(own.is_some_and(|g| !g.for_someone_else));
}

/// Numbers shaped like postcodes in mail that holds no address.
const NO_ADDRESS: &[(&str, &str)] = &[
    (
        "spam price list",
        "HOT DEALS THIS WEEK\n\nSamsung Galaxy S24 Ultra 512GB ...... 899\nApple iPhone 15 Pro Max 1199\nCanon EOS 2000D Kit\nNikon D7500 Body 1099\nSony WH-1000XM5 Headphones\nModel SE-12345, 220V\nLenovo ThinkPad X1 Carbon Gen 11\nHP LaserJet M110we 4000\nDell XPS 13 9340 Laptop\nShipping worldwide 3-5 days, order now!",
    ),
    (
        "technical mail",
        "Kernel 6.1.0 on x86_64\nError code 0x80070005 at offset 10115\nSee RFC 2822 section 3.6.4\nPort 8080 is open\nBuild 20250101 failed\nVersion 1012 AB test\nMemory 16384 MB\nIntel Core i7 13700K 5400 MHz",
    ),
    (
        "order numbers, phones, dates",
        "Your order 400001 has shipped.\nOrder No. 10115 Berlin office\nCall us on +49 30 1234 5678\nInvoice 2025-0042 dated 12.03.2025\nDelivery expected March 2026\nTracking 1Z999AA10123456784",
    ),
    (
        "a product code in a price list",
        "Price list 2026\nART 1117 Teapot  12,50\nVLT 1117 Vase\nD02 valve kit\nSW-1000 Switch\nLV-1050 level sensor\nCH-8001 controller board",
    ),
    (
        "order lines with sizes, references and dates",
        "2 x Notebook A4\n3 x Fountain Pen No. 5\nInk Cartridges C-12 500 ml\nOrder MC-7K2Q-9X\nDelivery by 12-12-2026\nRef 00-950\nCall 0800 123 456\n1000-001\nTEL 1234\nUSD 1117",
    ),
    (
        "years and counts in prose",
        "We were founded in Springfield 1998 and ship from Portland 2000 times a year.\nChristmas 2025 sale",
    ),
];

#[test]
fn numbers_that_are_no_postcode() {
    let mut failures = Vec::new();
    for (case, body) in NO_ADDRESS {
        let lines: Vec<&str> = body.lines().collect();
        if let Some(got) = find_address(&lines) {
            failures.push(format!("{case}: got {got:#?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Mail nobody here wrote, read where its packages install it (CPython's email test data from
/// Debian's libpython3.11-testsuite, mail-parser's resources in the cargo registry): none of it
/// is an order, and no address may be read from its raw text, headers and all.
#[test]
fn no_address_in_public_sample_mail() {
    let mut dirs = vec![std::path::PathBuf::from(
        "/usr/lib/python3.11/test/test_email/data",
    )];
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo")));
    for index in cargo_home
        .map(|h| h.join("registry/src"))
        .and_then(|r| std::fs::read_dir(r).ok())
        .into_iter()
        .flatten()
        .flatten()
    {
        for krate in std::fs::read_dir(index.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if krate
                .file_name()
                .to_string_lossy()
                .starts_with("mail-parser-0.11")
            {
                dirs.push(krate.path().join("resources"));
            }
        }
    }
    let (mut read, mut hits) = (0, Vec::new());
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            read += 1;
            if let Some(found) = find_address(&lines) {
                hits.push(format!("{}: {:?}", path.display(), found.address.text));
            }
        }
    }
    eprintln!(
        "address: {read} public sample files read, {} addresses",
        hits.len()
    );
    assert!(hits.is_empty(), "{}", hits.join("\n"));
}
