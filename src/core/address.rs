//! Finding the shipping address in an email body: after a label ("Ship to:", "Lieferadresse:",
//! "Dirección de envío:"), after a prose lead-in ("please send it to ..."), or as an unlabelled
//! block built around a postal-code line. Pure: lines in, a match out.
//!
//! Every check here is a heuristic, so each one leans towards *not* taking a line: a missed
//! address makes the shop ask for it, while a wrong one ships a parcel to the wrong place or
//! swallows an item line the caller would otherwise have read.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::postcode;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingAddress {
    /// Address lines as written, trimmed, joined by "\n", without the label.
    pub text: String,
    /// As written.
    pub postal_code: Option<String>,
    /// As written, or None.
    pub country: Option<String>,
    /// ISO 3166-1 alpha-2, from the name or inferred from the format.
    pub country_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressMatch {
    pub address: ShippingAddress,
    /// indexes (into the input slice) of every line the address used, label line included,
    /// so the caller can skip them when looking for item lines
    pub lines: Vec<usize>,
    /// the recipient name when the block starts with a name line (no digits, 2-4 words, not a street)
    pub recipient: Option<String>,
    /// The parcel goes to another person ("please send it to my sister: ..."): the recipient
    /// is not the customer.
    pub for_someone_else: bool,
}

/// Longer than this and we have run into something that is not an address.
const MAX_LINES: usize = 7;
/// Address lines are short. Refusing longer ones early also bounds the regex work on hostile
/// input (a megabyte-long line is never scanned by the dozen patterns below).
const MAX_LINE_BYTES: usize = 240;
/// A label may be followed by a blank line or two before the address starts.
const MAX_BLANKS_AFTER_LABEL: usize = 2;

/// Find the shipping address in the body lines (quoted text and signature already removed).
/// A labelled address (or one after a prose lead-in) wins over an unlabelled block; among
/// several, the first.
pub fn find_address(lines: &[&str]) -> Option<AddressMatch> {
    let mut classes: Vec<Class> = lines.iter().map(|l| classify(l)).collect();
    mark_named_postcodes(lines, &mut classes);
    (0..lines.len())
        .find_map(|i| labelled_at(lines, &classes, i))
        .or_else(|| {
            // Without a shipping label, a block under a billing label is taken only when it
            // is the only one.
            let mut billing = None;
            for found in (0..lines.len())
                .filter(|&p| matches!(classes.get(p), Some(Class::Postcode { .. })))
                .filter_map(|p| block_around(lines, &classes, p))
            {
                if !under_billing_label(lines, &found) {
                    return Some(found);
                }
                billing.get_or_insert(found);
            }
            billing
        })
}

fn under_billing_label(lines: &[&str], found: &AddressMatch) -> bool {
    let Some(&first) = found.lines.iter().min() else {
        return false;
    };
    (first.saturating_sub(MAX_BLANKS_AFTER_LABEL + 1)..first)
        .rev()
        .map_while(|k| lines.get(k).map(|l| l.trim()))
        .find(|l| !l.is_empty())
        .is_some_and(|l| OTHER_LABEL.is_match(l))
}

/// A country line makes its own postcode shape readable in the lines just above it ("Valletta
/// VLT 1117" over "Malta"), shapes too common to be taken without the country's name.
fn mark_named_postcodes(lines: &[&str], classes: &mut [Class]) {
    for k in 0..classes.len() {
        if classes.get(k) != Some(&Class::Country) {
            continue;
        }
        let Some((_, country)) = lines.get(k).and_then(|l| country_in(l)) else {
            continue;
        };
        for j in (k.saturating_sub(3)..k).rev() {
            let (Some(class), Some(line)) = (classes.get(j), lines.get(j)) else {
                break;
            };
            match class {
                Class::Postcode { .. } => break,
                Class::Text | Class::Digits | Class::Street { .. } => {
                    let line = line.trim();
                    if let Some(p) = named_postcode(line, country) {
                        let around = format!("{},{}", &line[..p.span.0], &line[p.span.1..]);
                        classes[j] = Class::Postcode {
                            weak: false,
                            street: street_strength(&around).is_some(),
                        };
                        break;
                    }
                }
                Class::Unit | Class::Name => {}
                _ => break,
            }
        }
    }
}

/// ISO alpha-2 for a country as people write it ("USA", "U.K.", "Deutschland", "日本").
pub fn country_code(name: &str) -> Option<&'static str> {
    let name = name.trim();
    // No country name is this long; the cap keeps a hostile line from being lowercased whole.
    if name.is_empty() || name.len() > 64 {
        return None;
    }
    let mut key = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '.' | '(' | ')' | ',' | ';' | ':' => {}
            c if c.is_whitespace() => {
                if !key.is_empty() && !key.ends_with(' ') {
                    key.push(' ');
                }
            }
            c => key.extend(c.to_lowercase()),
        }
    }
    let key = key.trim_end();
    let key = key.strip_prefix("the ").unwrap_or(key);
    Some(match key {
        "usa"
        | "us"
        | "u s a"
        | "u s"
        | "united states"
        | "united states of america"
        | "america"
        | "estados unidos"
        | "eeuu"
        | "ee uu"
        | "états-unis"
        | "etats-unis"
        | "états unis"
        | "etats unis"
        | "vereinigte staaten"
        | "stati uniti" => "US",
        "uk"
        | "u k"
        | "gb"
        | "united kingdom"
        | "great britain"
        | "britain"
        | "england"
        | "scotland"
        | "wales"
        | "northern ireland"
        | "royaume-uni"
        | "royaume uni"
        | "reino unido"
        | "vereinigtes königreich"
        | "großbritannien"
        | "grossbritannien"
        | "angleterre"
        | "inglaterra"
        | "regno unito" => "GB",
        "germany"
        | "deutschland"
        | "allemagne"
        | "alemania"
        | "germania"
        | "brd"
        | "bundesrepublik deutschland"
        | "federal republic of germany" => "DE",
        "france" | "frankreich" | "francia" | "république française" => "FR",
        "spain" | "españa" | "espana" | "espagne" | "spanien" | "spagna" => "ES",
        "japan" | "日本" | "日本国" | "nippon" | "nihon" | "japon" | "japón" | "giappone" => {
            "JP"
        }
        "italy" | "italia" | "italie" | "italien" => "IT",
        "netherlands" | "nederland" | "holland" | "pays-bas" | "pays bas" | "niederlande"
        | "países bajos" | "paises bajos" | "paesi bassi" => "NL",
        "belgium" | "belgië" | "belgie" | "belgique" | "belgien" | "bélgica" | "belgica"
        | "belgio" => "BE",
        "ireland" | "republic of ireland" | "éire" | "eire" | "irlande" | "irland" | "irlanda" => {
            "IE"
        }
        "australia" | "australie" | "australien" => "AU",
        "austria" | "österreich" | "osterreich" | "oesterreich" | "autriche" => "AT",
        "switzerland" | "schweiz" | "suisse" | "svizzera" | "suiza" | "helvetia" => "CH",
        "mexico" | "méxico" | "mexique" | "mexiko" | "méjico" => "MX",
        "portugal" => "PT",
        "sweden" | "sverige" | "suède" | "suede" | "schweden" | "suecia" | "svezia" => "SE",
        "denmark" | "danmark" | "dänemark" | "danemark" | "dinamarca" => "DK",
        "norway" | "norge" | "noreg" | "norvège" | "norwegen" | "noruega" => "NO",
        "finland" | "suomi" | "finnland" | "finlande" | "finlandia" => "FI",
        "canada" | "kanada" | "canadá" => "CA",
        "new zealand" | "aotearoa" | "nouvelle-zélande" | "neuseeland" | "nueva zelanda" => "NZ",
        "poland" | "polska" | "pologne" | "polen" | "polonia" => "PL",
        "czech republic" | "czechia" | "česko" | "česká republika" | "tschechien" => "CZ",
        "luxembourg" | "luxemburg" | "luxemburgo" => "LU",
        "iceland" | "ísland" => "IS",
        "greece" | "ελλάδα" | "hellas" | "griechenland" | "grèce" | "grecia" => "GR",
        "china" | "中国" | "中國" | "prc" | "people's republic of china" => "CN",
        "south korea" | "korea" | "republic of korea" | "대한민국" | "한국" => "KR",
        "taiwan" | "台灣" | "台湾" => "TW",
        "hong kong" | "香港" => "HK",
        "singapore" | "新加坡" => "SG",
        "india" => "IN",
        "brazil" | "brasil" | "brésil" | "brasilien" => "BR",
        "argentina" | "argentine" | "argentinien" => "AR",
        "chile" => "CL",
        "colombia" | "kolumbien" => "CO",
        "peru" | "perú" => "PE",
        "south africa" => "ZA",
        "israel" => "IL",
        "turkey" | "türkiye" | "turkiye" => "TR",
        "hungary" | "magyarország" => "HU",
        "romania" | "românia" => "RO",
        "croatia" | "hrvatska" => "HR",
        "slovenia" | "slovenija" => "SI",
        "slovakia" | "slovensko" => "SK",
        "estonia" | "eesti" => "EE",
        "latvia" | "latvija" => "LV",
        "lithuania" | "lietuva" => "LT",
        "bulgaria" => "BG",
        "ukraine" => "UA",
        "thailand" => "TH",
        "vietnam" | "viet nam" => "VN",
        "philippines" => "PH",
        "indonesia" => "ID",
        "malaysia" => "MY",
        "united arab emirates" | "uae" => "AE",
        "malta" => "MT",
        "cyprus" => "CY",
        "monaco" => "MC",
        "liechtenstein" => "LI",
        "andorra" => "AD",
        "puerto rico" => "PR",
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// Patterns. Digits are written [0-9]: Rust's \d is Unicode-wide and would let Arabic-Indic or
// full-width digits pass for a ZIP code.

// A word boundary is written (?:^|\W) before a word and (?:$|\W) after it, not \b: the regex
// crate's fast engines give up on Unicode \b in any line with a non-ASCII letter and fall
// back to one some eighty times slower (4 µs a line instead of 50 ns), and these patterns run
// on every line. Spelt out, the boundary is a character class, which they handle.
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("address pattern is valid")
}

/// Where a label may start: after list/quote/markdown decoration and a courtesy word.
const LABEL_PREFIX: &str = r"(?i)^[\s>*_•·-]*(?:(?:please|pls|kindly)\s+)?(?:(?:my|our|the)\s+)?";

static LABEL: LazyLock<Regex> = LazyLock::new(|| {
    // Longest first: the alternation is leftmost-first, so "adresse de livraison" must be
    // tried before "adresse".
    re(&format!(
        r"{LABEL_PREFIX}(?:(?:billing|invoice)\s*(?:and|&|/)\s*(?:shipping|delivery)\s+address|(?:shipping|delivery)\s*(?:and|&|/)\s*(?:billing|invoice)\s+address|ship(?:ping)?\s+address|shipping\s+to|ship(?:ping)?-to|ship\s+to|delivery\s+address|deliver\s+to|delivery\s+to|send\s+to|mailing\s+address|postal\s+address|address|adresse\s+de\s+livraison|adresse\s+d'exp[ée]dition|adresse\s+postale|adresse|livrer\s+[àa]|livraison|envoyer\s+[àa]|lieferadresse|lieferanschrift|versandadresse|anschrift|liefern\s+an|versand\s+an|direcci[óo]n\s+de\s+env[íi]o|direcci[óo]n\s+de\s+entrega|direcci[óo]n|enviar\s+a|domicilio|indirizzo\s+di\s+spedizione|indirizzo|afleveradres|verzendadres|bezorgadres|leveradres|leveringsadres|endere[çc]o\s+de\s+(?:entrega|envio)|morada\s+de\s+entrega|endere[çc]o|morada|enviar\s+para|entregar\s+(?:em|a)|indirizzo\s+di\s+consegna|spedire\s+a|consegnare\s+a|leveransadress|leveringsadresse|toimitusosoite|adres\s+dostawy|doru[čc]ovac[íi]\s+adresa|recipient|shipping|delivery|adres|お届け先|配送先|送り先|発送先|住所)"
    ))
});
/// Addresses that are not where the parcel goes; their lines end a block.
static OTHER_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"{LABEL_PREFIX}(?:(?:billing|invoice|invoicing)\s+(?:address|details)|bill\s+to|invoice\s+to|return\s+address|sender'?s?\s+address|rechnungs(?:adresse|anschrift)|rechnung\s+an|adresse\s+de\s+facturation|direcci[óo]n\s+de\s+facturaci[óo]n|datos\s+de\s+facturaci[óo]n|indirizzo\s+di\s+fatturazione|factuuradres|endere[çc]o\s+de\s+(?:cobran[çc]a|fatura[çc][ãa]o)|morada\s+de\s+fatura[çc][ãa]o|faktur(?:a|erings)adress?e?|adres\s+do\s+faktury|(?:billing|invoice|rechnung|facturation|facturaci[óo]n|fatturazione|faturamento|absender|exp[ée]diteur|remitente|mittente)\s*[:：])(?:$|[^\p{{L}}])"
    ))
});
/// "Shipping address: same as billing": the billing block is where the parcel goes.
static SAME_AS_BILLING: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^\(?(?:same\s+as\s+(?:the\s+|my\s+)?(?:billing|invoice)|as\s+billing|wie\s+(?:die\s+)?rechnungs(?:adresse|anschrift)|identique\s+(?:[àa]\s+(?:l'adresse\s+de\s+)?)?(?:la\s+)?facturation|igual\s+(?:que\s+|a\s+)?(?:la\s+)?(?:de\s+|direcci[óo]n\s+de\s+)?facturaci[óo]n)",
    )
});
/// What people put after a label instead of the address itself.
static FILLER: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)^\(?(?:see\s+below|below|as\s+follows|following|is|here)\)?[:.]?$"));

/// Prose that introduces an address: "please send it to", "my address is", "ship them to:".
static LEAD_INS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"(?i)\b(?:send|ship|deliver|post|mail|forward|dispatch)\b(?:\s+\S+){0,16}?\s+(?:to|at)\b\s*:?(?P<rest>.*)$",
        r"(?i)\b(?:my|our|the|this|following)\s+(?:(?:shipping|delivery|postal|mailing|home|new)\s+)?address(?:\s+(?:is|below|please))*\s*:?(?P<rest>.*)$",
        r"(?i)\b(?:i|we)\s+live\s+at\b\s*:?(?P<rest>.*)$",
        r"(?i)\b(?:envoy[a-zé]*|envoie[rz]?|exp[ée]di[a-zé]*|livre[rz]?)\b(?:\s+\S+){0,6}?\s+(?:[àa]|au|chez)\b\s*:?(?P<rest>.*)$",
        r"(?i)\b(?:mon\s+adresse(?:\s+est)?|l'adresse\s+suivante)\s*:?(?P<rest>.*)$",
        r"(?i)\b(?:schick[a-z]*|send[a-z]*|liefer[nt]|versend[a-z]*)\b(?:\s+\S+){0,6}?\s+(?:an|nach)\b\s*:?(?P<rest>.*)$",
        r"(?i)\b(?:meine|folgende|diese)\s+(?:lieferadresse|adresse|anschrift)(?:\s+(?:ist|lautet|schicken|senden|liefern))*\s*:?(?P<rest>.*)$",
        r"(?i)\b(?:env[íi][a-zá-ú]*|mand[a-zá-ú]*)\b(?:\s+\S+){0,6}?\s+a\b\s*:?(?P<rest>.*)$",
        r"(?i)\b(?:mi|la\s+siguiente|esta)\s+direcci[óo]n(?:\s+(?:es|de\s+env[íi]o))*\s*:?(?P<rest>.*)$",
    ]
    .iter()
    .map(|p| re(p))
    .collect()
});
/// "send it to me at 41 ...": the pronoun is not part of the address.
/// "my sister:", "my mum at", "her at", "ma sœur :", "meine Schwester:", "mi hermana:": the
/// parcel goes to another person, whose name (not the customer's) heads the address.
static SOMEONE_ELSE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)^(?:(?:my|our)\s+(?:(?:dear|lovely|best|little|big|older|younger|elder|old|new)\s+)?",
        r"(?:sister|brother|mother|mom|mum|mam|mommy|mummy|father|dad|daddy|parents|friend|daughter|son|aunt|auntie|aunty|uncle|grandmother|grandma|granny|gran|nan|nana|grandfather|grandpa|granddad|grandparents|grandson|granddaughter|niece|nephew|cousin|wife|husband|partner|girlfriend|boyfriend|fianc[ée]e?|colleague|boss|neighbou?r|godmother|godfather|goddaughter|godson|(?:mother|father|sister|brother|daughter|son)-in-law|in-laws|family|children|kids|teacher)",
        r"|her|him|them",
        r"|(?:ma|mon|mes|notre)\s+(?:s(?:œ|oe)ur|fr[èe]re|m[èe]re|p[èe]re|parents|ami|amie|fille|fils|tante|oncle|grand-m[èe]re|grand-p[èe]re|cousine?|femme|mari|copine|copain|coll[èe]gue|voisine?)",
        r"|(?:meine[mnr]?|unsere[mnr]?)\s+(?:schwester|bruder|mutter|mama|vater|papa|eltern|freundin|freund|tochter|sohn|tante|onkel|oma|opa|cousine|cousin|kollegin|kollegen?|frau|mann|nachbarin|nachbarn?)",
        r"|(?:mi|mis|nuestra|nuestro)\s+(?:hermana|hermano|madre|mam[áa]|padre|pap[áa]|padres|amiga|amigo|hija|hijo|t[íi]a|t[íi]o|abuela|abuelo|prima|primo|esposa|esposo|novia|novio|vecina|vecino)",
        r"|(?:mia|mio|mie|miei)\s+(?:sorella|fratello|madre|mamma|padre|pap[àa]|genitori|amica|amico|figlia|figlio|zia|zio|nonna|nonno|cugina|cugino|moglie|marito))",
        r"(?:'s|’s)?(?:\s+(?:address|home|house|place|flat))?",
        r"(?:\s+(?:in|at|who\s+lives\s+(?:in|at))\s+\p{Lu}[\p{L}-]*(?:\s+\p{Lu}[\p{L}-]*)?(?:\s*[:,]))?",
        r"(?:\s+(?:at|à|an|a|in)\b)?\s*[:：,-]?\s*",
    ))
});
static ME_AT: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)^(?:me|us|moi|mich|uns|m[íi])\b\s*(?:at|à|a|an|:)?\s*"));

static US_POSTCODE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR|VI|GU|AS|MP|AA|AE|AP|(?i:Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New\s+Hampshire|New\s+Jersey|New\s+Mexico|New\s+York|North\s+Carolina|North\s+Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode\s+Island|South\s+Carolina|South\s+Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|West\s+Virginia|Wisconsin|Wyoming))\.?,?\s+(?P<code>[0-9]{5}(?:-[0-9]{4})?)\b",
    )
});
/// Canadian: letter-digit-letter digit-letter-digit, without the letters Canada Post never uses.
static CA_POSTCODE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:^|\W)(?P<code>[ABCEGHJ-NPRSTVXY][0-9][ABCEGHJ-NPRSTV-Z][ -]?[0-9][ABCEGHJ-NPRSTV-Z][0-9])(?:$|\W)",
    )
});
/// Every UK shape (A9, A99, A9A, AA9, AA99, AA9A + inward 9AA). Capitals only: in lower case
/// the inward part collides with ordinals ("b2 3rd").
static UK_POSTCODE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:^|\W)(?P<code>GIR ?0AA|[A-PR-UWYZ](?:[0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][ABEHMNPRVWXY]) ?[0-9][ABD-HJLNP-UW-Z]{2})(?:$|\W)",
    )
});
static AU_POSTCODE: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b(?:NSW|VIC|QLD|WA|SA|TAS|ACT|NT)\s+(?P<code>[0-9]{4})\b"));
static JP_MARKED: LazyLock<Regex> =
    LazyLock::new(|| re(r"〒\s*(?P<code>[0-9０-９]{3}\s*[-－ー−‐]?\s*[0-9０-９]{4})"));
static JP_BARE: LazyLock<Regex> = LazyLock::new(|| re(r"(?P<code>[0-9]{3}-[0-9]{4})"));
/// Words that make a bare 123-4567 Japanese rather than a phone number fragment.
static JP_CUE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)japan|nippon|日本|tokyo|osaka|kyoto|yokohama|nagoya|sapporo|fukuoka|kobe|-(?:ku|shi|ken|cho)(?:$|\W)|prefecture|[都道府県市区町村]",
    )
});
/// Code first, then the town: "10115 Berlin", "D-10115 Berlin", "1010 Wien", "1012 AB
/// Amsterdam", "00-950 Warszawa", "1000-001 Lisboa", "114 55 Stockholm", "CH-8001 Zürich".
static EU_POSTCODE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:^|[\s,])(?:(?P<pre>[A-Z]{1,3})-\s?)?(?P<code>[0-9]{5}(?:-[0-9]{3})?|[0-9]{4}(?:-[0-9]{3}|\s?[A-Z]{2}\b)?|[0-9]{3}\s[0-9]{2}|[0-9]{2}-[0-9]{3})\s+(?P<town>\p{L}[^,]*)",
    )
});
/// A code the metadata's prefix names, wherever it stands: "LV-1050", "LT-01100", "FL-9490".
static PREFIXED_POSTCODE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?:^|[\s,(])(?P<pre>[A-Z]{1,3})-\s?(?P<code>[0-9]{3,5}(?:\s[0-9]{2})?)(?:$|[\s,)])")
});
/// Eircode (see `postcode`): a routing key and four letters and digits.
static EIRCODE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?:^|[\s,(])(?P<code>(?:[AC-FHKNPRTV-Y][0-9]{2}|D6W) ?[0-9AC-FHKNPRTV-Y]{4})(?:$|[\s,.)])")
});
/// Town first, code last in its comma part: "Auckland 1010", "Bengaluru 560001", "Seoul
/// 04524", "Singapore 308125", "São Paulo - SP, 01310-100" (the code alone in its part).
static TRAILING_POSTCODE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:^|(?P<town>\p{Lu}[\p{L}'’.]*(?:[\s-]+\p{L}[\p{L}'’.]*){0,3})\s*[-–]?\s*)(?P<code>[0-9]{5}-[0-9]{3}|[0-9]{4,6})\s*$",
    )
});
/// Words before a number that make it anything but a postcode in a town.
static NOT_TOWNS: LazyLock<HashSet<&str>> = LazyLock::new(|| {
    word_set(
        "\
        model type no nr number num order invoice ref reference item art article sku part serial \
        code id ref ticket account case room suite ste unit apt apartment flat floor box po tel phone \
        fax version ver year since iso din en size series edition vol volume page chapter batch \
        lot release build rev revision windows office win mac ios android \
        january february march april may june july august september october november december \
        jan feb mar apr jun jul aug sep sept oct nov dec januar februar märz mai juni juli \
        oktober dezember janvier février mars avril juin juillet août septembre octobre novembre \
        décembre enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre \
        diciembre gennaio febbraio aprile maggio giugno luglio settembre ottobre dicembre \
        januari februari maart mei augustus janeiro fevereiro março maio junho julho setembro \
        outubro dezembro",
    )
});
/// Form-style fields: "ZIP: 97205", "Postcode: SW1A 1AA", "PLZ 10115", "PIN: 560001".
static FIELD_POSTCODE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^(?:zip(?:\s*code)?|post\s*code|postal\s+code|plz|postleitzahl|code\s+postal|c\.p\.|cp|cep|c[óo]digo\s+postal|cap|eircode|pin(?:\s*code)?|pincode|postnummer|postinumero|kod\s+pocztowy|psč|postcode)\s*[:.]?\s*(?P<code>[A-Z0-9][A-Z0-9 -]{2,9}?)\s*$",
    )
});
static FIELD_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^(?:country|land|pays|pa[íi]s|paese|name|full\s+name|recipient|nom|nombre|destinatario|empf[äa]nger)\s*:\s*",
    )
});

static STREET_STRONG: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)(?:^|\W)(?:street|avenue|road|lane|drive|boulevard|way|court|place|terrace|crescent|close|square|highway|parkway|circle|trail|mews|row|gardens|grove|walk|broadway|alley|",
        r"rue|chemin|all[ée]e|impasse|quai|cours|route|passage|faubourg|",
        r"calle|avenida|avda|paseo|camino|carrera|carretera|ronda|traves[íi]a|glorieta|",
        r"via|viale|piazza|corso|vicolo|rua|travessa|largo|",
        r"stra(?:ß|ss)e|gasse|platz|allee|damm|ufer|chaussee|straat|laan|gracht|plein|kade|ulica|",
        r"chome|ch[ōo]me)(?:$|\W)",
        // Abbreviations only after another word, so "Dr Pat Okafor" is not a drive.
        r"|\p{L}[\p{L}'’-]*\.?\s+(?:st|rd|ln|dr|ave|av|blvd|ct|pl|sq|hwy|pkwy|cres|tce|ter|cir|trl|bd|pde)\.?(?:$|[\s,])",
        // German and Dutch glue the street word on: Hauptstraße, Gartenweg, Kerkstraat.
        r"|\p{L}{2,}(?:stra(?:ß|ss)e|str\.|gasse|platz|weg|allee|damm|ufer|straat|laan|gracht|plein|kade|vej|gatan|v[äa]gen|veien)(?:$|[^\p{L}])",
        r"|(?:^|\s)(?:c/|avda\.)\s*\p{L}",
        r"|(?:^|\W)(?:p\.?\s?o\.?\s?box|post\s+office\s+box|postfach|apartado(?:\s+de\s+correos)?|case\s+postale)(?:$|\W)",
        r"|丁目|番地|[0-9０-９]番[0-9０-９]|(?:^|[^0-9-])[0-9]{1,2}-[0-9]{1,3}-[0-9]{1,3}(?:$|[^0-9-])",
    ))
});
/// A house number first ("41 Linden", "221B Baker", "12-14 High") or last ("Via Roma 10").
/// Weak: item lines ("3 sake cups") have the same shape.
static STREET_WEAK: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)^(?:no\.?\s*|#)?[0-9]{1,5}[a-z]?(?:\s?[-/]\s?[0-9]{1,5}[a-z]?)?,?\s+\p{L}",
        r"|\p{L}\.?,?\s+(?:no\.?\s*|nr\.?\s*|n[°º]\s*|#\s*)?[0-9]{1,5}[a-z]?(?:\s?[-/]\s?[0-9]{1,5}[a-z]?)*$",
    ))
});
static UNIT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:^|\W)(?:apt|apartment|appt|appartement|suite|ste|unit|flat|floor|fl|building|bldg|room|rm|dept|department|attn|attention|[ée]tage|b[âa]timent|b[âa]t|escalier|wohnung|whg|piso|puerta|planta|portal|escalera|dpto|depto|ground\s+floor|basement)(?:$|\W)|(?:^|\W)c/o(?:$|\W)|#\s*[0-9]",
    )
});

static ITEM: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)^[-*•·–]?\s*\(?[0-9]+\)?(?:\s*[x×]\s|[x×]\s*\p{L})",
        r"|^[-*•·–]\s",
        r"|^\([0-9]+\)\s*\S",
        r"|(?:^|\W)x\s*[0-9]+\s*$|×\s*[0-9]+\s*$",
        r"|\((?:qty\.?\s*:?\s*)?[0-9]{1,3}\)\s*$",
        r"|(?:^|\W)(?:qty|quantity|qt[ée]|quantit[ée]|menge|anzahl|cantidad|pcs|pieces|st[üu]ck|stk)(?:$|\W)",
        r"|\|",
        r"|[$€£¥]\s*[0-9]|[0-9]\s*(?:€|eur|usd|gbp)(?:$|\W)",
    ))
});
/// "Blue Mug: 2", "Blue Mug - 2": item shapes that a unit line ("Apt: 4") shares.
static ITEM_TRAILING_QTY: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:\s*:|\s[-–])\s*[0-9]{1,3}\s*$"));

static CLOSING: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)^(?:thanks?(?:\s+(?:you|again|so\s+much|a\s+lot|in\s+advance))*|many\s+thanks|best(?:\s+(?:regards|wishes))?|kind\s+regards|warm\s+regards|regards|cheers|sincerely|yours(?:\s+(?:truly|sincerely))?|all\s+the\s+best|",
        r"merci(?:\s+beaucoup)?|cordialement|bien\s+[àa]\s+vous|bien\s+cordialement|danke(?:\s+sch[öo]n)?|vielen\s+dank|viele\s+gr[üu](?:ß|ss)e|mit\s+freundlichen\s+gr[üu](?:ß|ss)en|liebe\s+gr[üu](?:ß|ss)e|lg|mfg|",
        r"gracias|muchas\s+gracias|saludos(?:\s+cordiales)?|un\s+saludo|atentamente|grazie|(?:cordiali|distinti)\s+saluti|",
        r"met\s+vriendelijke\s+groet(?:en)?|groeten|atenciosamente|cumprimentos|abra[çc]os|obrigad[oa]|",
        r"med\s+v[äa]nlig\s+h[äa]lsning|vennlig\s+hilsen|venlig\s+hilsen|pozdrawiam|xo|xx)",
        r"(?:\s*[,.!]*\s*$|\s*[,!]\s*\S)",
        r"|よろしく|宜しく|お願いします|ありがとう",
    ))
});
static GREETING: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^(?:hi|hello|hey|hiya|dear|good\s+(?:morning|afternoon|evening|day)|bonjour|bonsoir|salut|hallo|guten\s+(?:tag|morgen|abend)|moin|servus|sehr\s+geehrte[rsn]?|hola|buenos\s+d[íi]as|buenas(?:\s+tardes)?|estimad[oa]s?|ciao|buongiorno|greetings|こんにちは)(?:$|\W)",
    )
});
static CONTACT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)@|https?://|www\.|^(?:tel|t[ée]l|phone|ph|mobile|mob|cell|fax|telefon|t[ée]l[ée]phone|tel[ée]fono|m[óo]vil|handy)(?:$|\W)|^電話",
    )
});
/// A bare phone number; nine digits or more, so a bare "150-0001" stays a Japanese postcode.
static PHONE: LazyLock<Regex> = LazyLock::new(|| re(r"^\+?[0-9][0-9\s().\-/]{8,}$"));
static CJK: LazyLock<Regex> = LazyLock::new(|| re(r"\p{Han}|\p{Hiragana}|\p{Katakana}"));

/// Words that only turn up in sentences, never in an address line.
static PROSE_WORDS: LazyLock<HashSet<&str>> = LazyLock::new(|| {
    word_set(
        "\
        i i'm i'd i'll i've me we we're we'd you you're your please pls would could can should \
        need needs want wants like love thanks thank my our is are was were will have has had does \
        did hi hello order ordered ordering send sent deliver delivered by for and but this that \
        these those it it's if when also just get buy bought tomorrow today soon asap what how why \
        where not don't je j'ai nous vous voudrais merci commande sont ich wir bitte möchte hätte \
        gerne bestellen ist sind quiero necesito favor gracias pedido quisiera",
    )
});
/// House names and company words: a line of them is not a person.
static PREMISE_WORDS: LazyLock<HashSet<&str>> = LazyLock::new(|| {
    word_set(
        "\
        cottage house farm farmhouse manor lodge barn villa mill hall building tower towers \
        apartments residence rectory vicarage studio studios ltd limited inc llc gmbh ag kg sarl \
        sas sa sl bv co corp company shop store cafe café bakery gallery hotel school university \
        office warehouse centre center plc",
    )
});
static NAME_PARTICLES: LazyLock<HashSet<&str>> = LazyLock::new(|| {
    word_set(
        "\
        van von de da del della der den du la le di dos das bin al y zu ten ter",
    )
});
/// Abbreviations whose full stop does not end a sentence.
static ABBREVIATIONS: LazyLock<HashSet<&str>> = LazyLock::new(|| {
    word_set(
        "\
        st rd ave av dr ln blvd ct pl sq hwy pkwy no nr apt str avda bd mt ft jr sr mr mrs ms ste \
        bldg cres tce pde ctra dpto depto esc bis dept fl rm col co int ext mz lt cd fracc nte ote pte \
        sta sto ul al os pr nám",
    )
});
static QUANTITY_WORDS: LazyLock<HashSet<&str>> = LazyLock::new(|| {
    word_set(
        "\
        a an one two three four five six seven eight nine ten eleven twelve dozen couple pair some \
        few several un une deux trois ein eine einen zwei drei uno una dos tres",
    )
});

/// The space-separated words of a list, as a set: they are looked up for every word of
/// every line.
fn word_set(list: &'static str) -> HashSet<&'static str> {
    list.split_whitespace().collect()
}

fn listed(set: &HashSet<&str>, word: &str) -> bool {
    set.contains(word)
}

// ---------------------------------------------------------------------------------------------
// Lines

#[derive(Debug, Clone, PartialEq, Eq)]
struct Postcode {
    code: String,
    /// The country the format alone gives away, if it does.
    inferred: Option<&'static str>,
    /// Shapes that are also plain house numbers (1234 Elm, 12345 Main) or fragments.
    weak: bool,
    /// Byte span of the code's surroundings in the line, kept out of the street check so
    /// "OR 97205" does not read as a street ending in a house number.
    span: (usize, usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Class {
    Blank,
    /// Cannot be part of an address: item, prose, closing, greeting, contact, another label.
    Stop,
    Postcode {
        weak: bool,
        /// Another comma part of the same line is a street ("41 Linden Ave, Portland, OR ...").
        street: bool,
    },
    Country,
    Street {
        strong: bool,
    },
    Unit,
    Name,
    /// A short line without digits: a city, district, company, house name.
    Text,
    /// A short line with digits that is neither street nor unit.
    Digits,
}

fn classify(raw: &str) -> Class {
    let line = raw.trim();
    if line.is_empty() {
        return Class::Blank;
    }
    // A line that is nothing but a code only one country uses ("D02 X285", "01310-200") is
    // a postcode before it is an item ("x285") or a phone number.
    if code_alone(line).is_some() {
        return Class::Postcode {
            weak: false,
            street: false,
        };
    }
    // Cheapest first: a sentence is turned away before any pattern runs on it (prose with a
    // postcode is the most the later check allows, so this one can come first).
    if line.len() > MAX_LINE_BYTES
        || is_prose(line, true)
        || !line.chars().any(char::is_alphanumeric)
        || CLOSING.is_match(line)
        || GREETING.is_match(line)
        || CONTACT.is_match(line)
        || PHONE.is_match(line)
        || is_item(line)
        || OTHER_LABEL.is_match(line)
        || label(line).is_some()
    {
        return Class::Stop;
    }
    let postcode = find_postcode(line).or_else(|| {
        let (_, country) = country_in(line)?;
        named_postcode(line, country)
    });
    if is_prose(line, postcode.is_some()) {
        return Class::Stop;
    }
    if let Some(p) = postcode {
        // The street may share the line ("41 Linden Ave, Portland, OR 97205"); the postcode
        // and its state or town are cut out first so "OR 97205" is not a house number.
        let around = match (line.get(..p.span.0), line.get(p.span.1..)) {
            (Some(before), Some(after)) => format!("{before},{after}"),
            _ => String::new(),
        };
        return Class::Postcode {
            weak: p.weak,
            street: street_strength(&around).is_some(),
        };
    }
    if !line.bytes().any(|b| b.is_ascii_digit()) && country_in(line).is_some() {
        return Class::Country;
    }
    match street_strength(line) {
        Some(strong) => return Class::Street { strong },
        None if UNIT.is_match(line) => return Class::Unit,
        None => {}
    }
    if name_of(line).is_some() {
        return Class::Name;
    }
    let words = line.split_whitespace().count();
    match (line.bytes().any(|b| b.is_ascii_digit()), words <= 6) {
        (_, false) => Class::Stop,
        (true, true) => Class::Digits,
        (false, true) => Class::Text,
    }
}

fn is_item(line: &str) -> bool {
    ITEM.is_match(line)
        || (ITEM_TRAILING_QTY.is_match(line)
            && !UNIT.is_match(line)
            && !FIELD_POSTCODE.is_match(line)
            && STREET_STRONG.find(line).is_none())
}

fn is_prose(line: &str, has_postcode: bool) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    // A one-line address with name, unit, street, town, postcode and country runs long.
    let max_words = if has_postcode { 16 } else { 10 };
    if words.len() > max_words || line.ends_with('?') || line.ends_with('!') {
        return true;
    }
    words.len() >= 3
        && words.iter().any(|w| {
            let w = w.trim_matches(|c: char| !c.is_alphanumeric());
            // "Portland, ME 04101", "Honolulu, HI 96813": state codes, not "me" and "hi".
            let state_like =
                (2..=3).contains(&w.len()) && w.chars().all(|c| c.is_ascii_uppercase());
            !state_like && listed(&PROSE_WORDS, &w.replace('’', "'").to_lowercase())
        })
}

/// Strong: a street word or PO box. Weak: only a house number at the start or end of a
/// comma part ("Suite 400" has the shape too, but is a unit).
fn street_strength(text: &str) -> Option<bool> {
    if STREET_STRONG.is_match(text) {
        Some(true)
    } else if comma_parts(text).any(|(_, p)| STREET_WEAK.is_match(p.trim()) && !UNIT.is_match(p)) {
        Some(false)
    } else {
        None
    }
}

/// The comma-separated parts of a line with their byte offsets.
fn comma_parts(line: &str) -> impl Iterator<Item = (usize, &str)> {
    line.split(',').scan(0usize, |at, part| {
        let start = *at;
        *at += part.len() + 1;
        Some((start, part))
    })
}

/// A line that is one postcode of a shape only one country uses, and its country.
fn code_alone(line: &str) -> Option<&'static str> {
    let line = line.trim();
    // The longest such code is nine characters ("01310-100", "SW1A 1AA"); most lines are
    // longer and are not run against every country's format.
    if line.len() > 10
        || !line.bytes().any(|b| b.is_ascii_digit())
        || !line
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ' || b == b'-')
    {
        return None;
    }
    postcode::sole_country(line)
}

fn find_postcode(line: &str) -> Option<Postcode> {
    // Every country's postcode has a digit (postcode_formats.tsv), ASCII but for the
    // full-width ones after a Japanese 〒.
    if !line.bytes().any(|b| b.is_ascii_digit()) && !line.contains('〒') {
        return None;
    }
    if let Some(country) = code_alone(line) {
        let code = line.trim();
        let start = line.len() - line.trim_start().len();
        return Some(Postcode {
            code: code.to_string(),
            inferred: Some(country),
            weak: false,
            span: (start, start + code.len()),
        });
    }
    let make = |m: regex::Match<'_>, whole: (usize, usize), inferred, weak| Postcode {
        code: m.as_str().to_string(),
        inferred,
        weak,
        span: whole,
    };
    if let Some(c) = JP_MARKED.captures(line) {
        let m = c.name("code")?;
        let whole = c.get(0)?;
        return Some(make(m, (whole.start(), whole.end()), Some("JP"), false));
    }
    if let Some(c) = CA_POSTCODE.captures(line) {
        let m = c.name("code")?;
        return Some(make(m, (m.start(), m.end()), Some("CA"), false));
    }
    if let Some(c) = UK_POSTCODE.captures(line) {
        let m = c.name("code")?;
        return Some(make(m, (m.start(), m.end()), Some("GB"), false));
    }
    if let Some(c) = EIRCODE.captures(line) {
        let m = c.name("code")?;
        return Some(make(m, (m.start(), m.end()), Some("IE"), false));
    }
    if let Some(c) = US_POSTCODE.captures(line) {
        let m = c.name("code")?;
        let whole = c.get(0)?;
        return Some(make(m, (whole.start(), whole.end()), Some("US"), false));
    }
    if let Some(c) = AU_POSTCODE.captures(line) {
        let m = c.name("code")?;
        let whole = c.get(0)?;
        return Some(make(m, (whole.start(), whole.end()), Some("AU"), false));
    }
    if let Some(c) = FIELD_POSTCODE.captures(line) {
        let m = c.name("code")?;
        let code = m.as_str();
        let inferred = if JP_BARE.is_match(code) && !code.contains(' ') {
            // Costa Rica shares the shape; a form field with it is far likelier Japanese.
            Some("JP")
        } else {
            postcode::sole_country(code)
        };
        return Some(make(m, (0, line.len()), inferred, false));
    }
    if let Some(p) = prefixed_postcode(line) {
        return Some(p);
    }
    for c in EU_POSTCODE.captures_iter(line) {
        let (Some(whole), Some(m), Some(town)) = (c.get(0), c.name("code"), c.name("town")) else {
            continue;
        };
        let town = town.as_str();
        // "12345 Main Street" is a house number, "10115 Berlin" a postcode.
        if STREET_STRONG.is_match(town) || town.split_whitespace().count() > 4 {
            continue;
        }
        let plain_five = m.len() == 5 && m.as_str().bytes().all(|b| b.is_ascii_digit());
        let code_start = c.name("pre").map_or(m.start(), |p| p.start());
        let part_start = line[..code_start]
            .chars()
            .rev()
            .find(|c| !c.is_whitespace())
            .is_none_or(|c| c == ',');
        if !plain_five && !part_start {
            continue;
        }
        let inferred = c
            .name("pre")
            .and_then(|p| postcode::prefix_country(p.as_str()))
            .filter(|country| postcode::format(country).is_some_and(|f| f.fits(m.as_str())))
            .or_else(|| postcode::sole_country(m.as_str()));
        let end = line[m.end()..]
            .find(',')
            .map_or(line.len(), |i| m.end() + i);
        // A shape only one country uses ("1012 AB", "00-950") is no house number.
        return Some(make(m, (whole.start(), end), inferred, inferred.is_none()));
    }
    if let Some(p) = trailing_postcode(line) {
        return Some(p);
    }
    if JP_CUE.is_match(line) || line.trim_start().starts_with(|c: char| c.is_ascii_digit()) {
        for m in JP_BARE.find_iter(line) {
            let before = line[..m.start()].chars().next_back();
            let after = line[m.end()..].chars().next();
            let fenced = |c: Option<char>| c.is_none_or(|c| !c.is_ascii_digit() && c != '-');
            let at_part_start = before.is_none_or(|c| c == ',' || c.is_whitespace())
                && line[..m.start()]
                    .chars()
                    .rev()
                    .find(|c| !c.is_whitespace())
                    .is_none_or(|c| c == ',');
            if fenced(before) && fenced(after) && (at_part_start || JP_CUE.is_match(line)) {
                return Some(make(
                    m,
                    (m.start(), m.end()),
                    Some("JP"),
                    !JP_CUE.is_match(line),
                ));
            }
        }
    }
    None
}

/// "LT-01100 Vilnius", "Rīga, LV-1050", "CH-8001 Zürich": a prefix the metadata (or the old
/// vehicle letters) names, and a code that fits that country. A town follows, or the code ends
/// a comma part after the town, so a part number like "SE-12345" alone is not taken.
fn prefixed_postcode(line: &str) -> Option<Postcode> {
    if !line.contains('-') {
        return None;
    }
    for c in PREFIXED_POSTCODE.captures_iter(line) {
        let (Some(pre), Some(m)) = (c.name("pre"), c.name("code")) else {
            continue;
        };
        let Some(country) = postcode::prefix_country(pre.as_str()) else {
            continue;
        };
        let Some(format) = postcode::format(country) else {
            continue;
        };
        let joined = line.get(pre.start()..m.end()).unwrap_or("");
        // Latvia writes the prefix as part of the code itself.
        let code = if format.fits(joined) {
            joined
        } else if format.fits(m.as_str()) {
            m.as_str()
        } else {
            continue;
        };
        let before = line[..pre.start()].trim_end();
        let after = line[m.end()..].trim_start();
        let town_after = after.chars().next().is_some_and(char::is_alphabetic);
        let ends_part = after.is_empty() || after.starts_with([',', ')']);
        let town_before = before
            .chars()
            .next_back()
            .is_some_and(|c| c == ',' || c.is_alphabetic());
        let word_before = before
            .rsplit(char::is_whitespace)
            .next()
            .unwrap_or("")
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        if listed(&NOT_TOWNS, &word_before) || !(town_after || (ends_part && town_before)) {
            continue;
        }
        let end = line[m.end()..]
            .find(',')
            .map_or(line.len(), |i| m.end() + i);
        return Some(Postcode {
            code: code.to_string(),
            inferred: Some(country),
            weak: false,
            span: (pre.start(), end),
        });
    }
    None
}

/// "Auckland 1010", "Bengaluru, Karnataka 560001", "Singapore 308125": a town, then a code
/// at the end of its comma part. Weak unless the "town" is a country whose format fits; a
/// year after a word ("Christmas 2025") is not taken, nor a number after a word that says
/// what it is ("Model 2000", "Order 123456", "March 2026").
fn trailing_postcode(line: &str) -> Option<Postcode> {
    for (n, (at, part)) in comma_parts(line).enumerate() {
        let part = part.trim_end();
        if !part.ends_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let Some(c) = TRAILING_POSTCODE.captures(part) else {
            continue;
        };
        let Some(m) = c.name("code") else { continue };
        let code = m.as_str();
        let country_town = c.name("town").and_then(|t| {
            let country =
                country_code(t.as_str()).or_else(|| postcode::prefix_country(t.as_str()))?;
            postcode::format(country)
                .is_some_and(|f| f.fits(code))
                .then_some(country)
        });
        let (inferred, weak) = match (c.name("town"), country_town) {
            (_, Some(country)) => (Some(country), false),
            // A number alone in the first part, or a short one alone anywhere, is no postcode;
            // "Bengaluru, 560001" and "São Paulo - SP, 01310-100" are.
            (None, _) if n == 0 || (!code.contains('-') && code.len() < 6) => continue,
            (None, _) => (postcode::sole_country(code), code.len() < 6),
            (Some(town), None) => {
                let town = town.as_str();
                let year = code.len() == 4 && (code.starts_with("19") || code.starts_with("20"));
                let says_what_it_is = town.split([' ', '-']).any(|w| {
                    listed(
                        &NOT_TOWNS,
                        &w.trim_matches(|c: char| !c.is_alphanumeric())
                            .to_lowercase(),
                    )
                });
                if says_what_it_is || year || STREET_STRONG.is_match(town) {
                    continue;
                }
                (postcode::sole_country(code), true)
            }
        };
        let span_start = c.get(0).map_or(at + m.start(), |w| at + w.start());
        return Some(Postcode {
            code: code.to_string(),
            inferred,
            weak,
            span: (span_start, at + m.end()),
        });
    }
    None
}

/// A named country's own postcode in a line: "Valletta VLT 1117" under "Malta", "101
/// Reykjavík" under "Iceland", shapes too common to be read without the country's name.
fn named_postcode(line: &str, country: &str) -> Option<Postcode> {
    let format = postcode::format(country)?;
    let range = format.find_in(line)?;
    Some(Postcode {
        code: line.get(range.clone())?.to_string(),
        inferred: Some(format.country),
        weak: false,
        span: (range.start, range.end),
    })
}

/// The country a line names, as written: the whole line ("USA", "Country: Japan") or its last
/// comma part ("75011 Paris, France").
fn country_in(line: &str) -> Option<(&str, &'static str)> {
    let line = line.trim().trim_end_matches([',', ';']);
    let bare = FIELD_PREFIX
        .find(line)
        .map_or(line, |m| &line[m.end()..])
        .trim();
    if let Some(code) = country_code(bare) {
        return Some((bare, code));
    }
    let (_, last) = line.rsplit_once(',')?;
    let last = last.trim();
    country_code(last).map(|code| (last, code))
}

/// The person a line names: 2-4 capitalised words, no digits, no street or house words.
fn name_of(line: &str) -> Option<&str> {
    let line = line.trim();
    let line = FIELD_PREFIX
        .find(line)
        .map_or(line, |m| &line[m.end()..])
        .trim();
    // The word checks are cheap and turn most lines away; the patterns run on what is left.
    let words = line.split_whitespace();
    if !(2..=4).contains(&words.clone().count()) {
        return None;
    }
    let mut capitalised = 0;
    for w in words {
        if !w.chars().all(|c| c.is_alphabetic() || "-'’.".contains(c)) {
            return None;
        }
        let lower = w.trim_matches('.').to_lowercase();
        if listed(&PREMISE_WORDS, &lower) {
            return None;
        }
        if w.chars().next().is_some_and(char::is_uppercase) {
            capitalised += 1;
        } else if !listed(&NAME_PARTICLES, &lower) {
            return None;
        }
    }
    if capitalised < 2
        || STREET_STRONG.is_match(line)
        || UNIT.is_match(line)
        || country_code(line).is_some()
        || CLOSING.is_match(line)
        || GREETING.is_match(line)
    {
        return None;
    }
    Some(line)
}

fn has_cjk(line: &str) -> bool {
    CJK.is_match(line)
}

// ---------------------------------------------------------------------------------------------
// Labels and lead-ins

/// A shipping label at the start of the line: whether a colon follows, and the rest of the line.
fn label(line: &str) -> Option<(bool, &str)> {
    let line = line.trim();
    if line.len() > MAX_LINE_BYTES {
        return None;
    }
    let m = LABEL.find(line)?;
    let after = &line[m.end()..];
    // The label must be a whole word: "Addresses", "Adressen" are not labels.
    if after.chars().next().is_some_and(char::is_alphanumeric) {
        return None;
    }
    let after = after.trim_start_matches(['*', '_']).trim_start();
    // "Ship to (gift):", "Delivery address (different from billing):".
    let after = match after.strip_prefix('(').and_then(|a| a.split_once(')')) {
        Some((aside, rest)) if aside.len() <= 40 => rest.trim_start(),
        _ => after,
    };
    // "Ship to - 41 Linden Ave" uses a dash where others put the colon.
    let (colon, rest) = match after.strip_prefix([':', '：', '-', '–', '—']) {
        Some(rest) => (true, rest.trim_start_matches(['*', '_'])),
        None => (false, after),
    };
    // A bare noun is a label only as a form field: "Shipping: ...", not "Delivery by Friday".
    let word = m.as_str().trim_start_matches(|c: char| !c.is_alphabetic());
    let noun = ["shipping", "delivery", "recipient", "adres"]
        .iter()
        .any(|n| word.eq_ignore_ascii_case(n));
    if noun && !colon {
        return None;
    }
    Some((colon, rest.trim()))
}

type Block<'a> = Vec<(usize, &'a str)>;

/// An address introduced by the label or lead-in on line `i`.
fn labelled_at(lines: &[&str], classes: &[Class], i: usize) -> Option<AddressMatch> {
    let line = lines.get(i)?.trim();
    if line.is_empty() || line.len() > MAX_LINE_BYTES {
        return None;
    }
    // "My address is 221B ..." starts like a label but reads as a lead-in.
    label(line)
        .and_then(|(colon, rest)| after_label(lines, classes, i, colon, rest))
        .or_else(|| lead_in_at(lines, classes, i, line))
}

fn after_label(
    lines: &[&str],
    classes: &[Class],
    i: usize,
    colon: bool,
    rest: &str,
) -> Option<AddressMatch> {
    let (someone_else, rest) = strip_someone_else(rest);
    let colon = colon || someone_else;
    let rest = sentence_head(rest);
    if SAME_AS_BILLING.is_match(rest) {
        let mut found = billing_block(lines, classes)?;
        found.lines.push(i);
        found.lines.sort_unstable();
        return Some(found);
    }
    let rest = if FILLER.is_match(rest) { "" } else { rest };
    // Without a colon, "Address book is full" must not pass: the rest has to be an address.
    if !colon
        && !rest.is_empty()
        && find_postcode(rest).is_none()
        && street_strength(rest).is_none()
    {
        return None;
    }
    let block = collect_after(lines, classes, i, rest)?;
    let mut found = build(&block, Some(i));
    found.for_someone_else = someone_else;
    Some(found)
}

/// "my sister: Jane Doe, ..." -> (true, "Jane Doe, ...").
fn strip_someone_else(rest: &str) -> (bool, &str) {
    match SOMEONE_ELSE.find(rest) {
        Some(m) if !m.as_str().trim().is_empty() => (true, &rest[m.end()..]),
        _ => (false, rest),
    }
}

/// The address under a billing label, for "Shipping address: same as billing".
fn billing_block(lines: &[&str], classes: &[Class]) -> Option<AddressMatch> {
    (0..lines.len()).find_map(|b| {
        let line = lines.get(b)?.trim();
        let m = OTHER_LABEL.find(line)?;
        let rest = line[m.end()..]
            .trim_start_matches([':', '：', '-', '–', ' ', '*', '_'])
            .trim();
        let block = collect_after(lines, classes, b, sentence_head(rest))?;
        Some(build(&block, Some(b)))
    })
}

fn lead_in_at<'a>(
    lines: &[&'a str],
    classes: &[Class],
    i: usize,
    line: &'a str,
) -> Option<AddressMatch> {
    let caps = LEAD_INS.iter().find_map(|r| r.captures(line))?;
    let rest_match = caps.name("rest")?;
    let raw_rest = rest_match.as_str().trim();
    let rest = ME_AT
        .find(raw_rest)
        .map_or(raw_rest, |m| &raw_rest[m.end()..]);
    let (someone_else, rest) = strip_someone_else(rest);
    let rest = sentence_head(rest);
    if rest.is_empty() && raw_rest.contains('?') && !someone_else {
        return None;
    }
    // "ship it at the weekend" names no place: what follows a lead-in on its own line must
    // look like the start of an address, not just any short text.
    if !rest.is_empty() && matches!(classify(rest), Class::Text | Class::Digits | Class::Country) {
        return None;
    }
    let block = collect_after(lines, classes, i, rest)?;
    // When the same sentence also asks for products ("could you send two mugs to 41 ..."),
    // the caller must still read that line for items, so it is not claimed.
    let prefix = &line[..rest_match.start()];
    let mut words: Vec<String> = prefix
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .collect();
    words.pop();
    let asks_for_items = prefix.bytes().any(|b| b.is_ascii_digit())
        || words.iter().any(|w| listed(&QUANTITY_WORDS, w));
    let mut found = build(&block, Some(i));
    found.for_someone_else = someone_else;
    if asks_for_items {
        found.lines.retain(|j| *j != i);
    }
    Some(found)
}

/// The part of a label's or lead-in's rest before the sentence ends ("..., France. Thanks!").
/// A full stop ends the sentence only before a capital (or the end) and not after an
/// abbreviation, so "Lindenstr. 12" and "41 Linden St. Portland" stay whole.
fn sentence_head(rest: &str) -> &str {
    let mut end = rest.len();
    for (at, c) in rest.char_indices() {
        if !matches!(c, '.' | '!' | '?' | '。' | '！' | '？') {
            continue;
        }
        let after = &rest[at + c.len_utf8()..];
        if after.chars().next().is_some_and(|n| !n.is_whitespace()) {
            continue;
        }
        if c == '.' {
            let next_word = after.trim_start().chars().next();
            if next_word.is_some_and(|n| !n.is_uppercase()) {
                continue;
            }
            let word = rest[..at].rsplit(char::is_whitespace).next().unwrap_or("");
            let bare = word
                .trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase();
            let abbreviation = word.contains('.')
                || bare.chars().count() == 1
                || bare.ends_with("str")
                || listed(&ABBREVIATIONS, &bare);
            if abbreviation && next_word.is_some() {
                continue;
            }
            if abbreviation {
                // "41 Linden St." at the very end: the stop belongs to the abbreviation.
                break;
            }
        }
        end = at;
        break;
    }
    rest[..end]
        .trim()
        .trim_end_matches([',', ';', ':'])
        .trim_end()
}

/// The lines a label introduces: `rest` (the label line's own text) and the address-looking
/// lines below it.
fn collect_after<'a>(
    lines: &[&'a str],
    classes: &[Class],
    i: usize,
    rest: &'a str,
) -> Option<Block<'a>> {
    let mut block: Block<'a> = Vec::new();
    let mut kinds: Vec<Class> = Vec::new();
    if !rest.is_empty() {
        let class = classify(rest);
        if matches!(class, Class::Blank | Class::Stop) {
            return None;
        }
        block.push((i, rest));
        kinds.push(class);
    }
    let mut blanks = 0;
    let mut j = i + 1;
    while block.len() < MAX_LINES && block.last().is_none_or(|(_, l)| country_in(l).is_none()) {
        let (Some(class), Some(line)) = (classes.get(j), lines.get(j)) else {
            break;
        };
        let line = line.trim();
        let postcode_seen = kinds.iter().find_map(|k| match k {
            Class::Postcode { weak, .. } => Some(*weak),
            _ => None,
        });
        match class {
            Class::Blank if block.is_empty() && blanks < MAX_BLANKS_AFTER_LABEL => {
                blanks += 1;
                j += 1;
                continue;
            }
            Class::Blank | Class::Stop => break,
            // A second postcode line only follows a weak one ("1234 Elm" was the street).
            Class::Postcode { .. } if postcode_seen == Some(false) => break,
            Class::Postcode { .. } | Class::Street { .. } | Class::Country | Class::Unit => {}
            // After the postcode line only the country (or, in Japanese order, more of the
            // address) follows; a name there is the signature.
            Class::Name | Class::Text | Class::Digits => {
                if postcode_seen.is_some() && !has_cjk(line) {
                    break;
                }
            }
        }
        block.push((j, line));
        kinds.push(class.clone());
        j += 1;
    }
    labelled_evidence(&block, &kinds).then_some(block)
}

/// Whether what a label introduced is an address: a postcode, a street word, a country under
/// other lines, or a house number followed by more of the address. A lone house-number line
/// is not enough: after "Ship to: (as before)" it may well be "2 blue mugs".
fn labelled_evidence(block: &[(usize, &str)], kinds: &[Class]) -> bool {
    let country = block.last().is_some_and(|(_, l)| country_in(l).is_some());
    kinds.iter().enumerate().any(|(n, k)| match k {
        Class::Postcode { weak: false, .. } | Class::Street { strong: true } => true,
        Class::Postcode { street, .. } => *street || kinds.len() > 1,
        Class::Street { strong: false } => matches!(
            kinds.get(n + 1),
            Some(Class::Text | Class::Unit | Class::Country | Class::Postcode { .. })
        ),
        _ => false,
    }) || (country && block.len() >= 2)
}

// ---------------------------------------------------------------------------------------------
// Unlabelled blocks

/// The block of consecutive lines around the postcode line `p`, if it holds a street.
fn block_around<'a>(lines: &[&'a str], classes: &[Class], p: usize) -> Option<AddressMatch> {
    let Some(Class::Postcode {
        street: own_street, ..
    }) = classes.get(p)
    else {
        return None;
    };
    let anchor = lines.get(p)?.trim();
    let mut street = *own_street;
    // Weak streets ("41 Linden") only count right next to the postcode line, with at most
    // unit lines between: further up, "3 sake cups" has the same shape.
    let mut adjacent = true;
    let mut start = p;
    while start > 0 && p - start + 1 < MAX_LINES {
        let k = start - 1;
        let Some(class) = classes.get(k) else { break };
        let weak_street = match class {
            Class::Street { strong: false } => true,
            Class::Postcode { weak: true, .. } => {
                lines.get(k).is_some_and(|l| STREET_WEAK.is_match(l.trim()))
            }
            _ => false,
        };
        match class {
            Class::Street { strong: true } => {
                street = true;
                adjacent = false;
            }
            _ if weak_street => {
                if street || !adjacent {
                    break;
                }
                street = true;
                adjacent = false;
            }
            Class::Unit => {}
            Class::Name | Class::Text => adjacent = false,
            _ => break,
        }
        start = k;
    }
    let mut end = p;
    if country_in(anchor).is_none() {
        while end + 1 < lines.len() && end + 1 - start < MAX_LINES {
            let k = end + 1;
            let (Some(class), Some(line)) = (classes.get(k), lines.get(k)) else {
                break;
            };
            let line = line.trim();
            match class {
                Class::Country => {
                    end = k;
                    break;
                }
                Class::Street { strong: true } => street = true,
                Class::Street { strong: false } if k == p + 1 && !street => street = true,
                Class::Unit => {}
                Class::Name | Class::Text | Class::Digits if has_cjk(line) => {}
                _ => break,
            }
            end = k;
        }
    }
    let block: Block<'a> = (start..=end)
        .filter_map(|k| lines.get(k).map(|l| (k, l.trim())))
        .collect();
    let one_line = block.len() == 1 && anchor.contains(',');
    // A code that may be a house number or a model number ("Model 12345") and a street that
    // is only a number after a word ("Gen 11") are not an address between them.
    let weak_anchor = matches!(classes.get(p), Some(Class::Postcode { weak: true, .. }));
    let backed = *own_street
        || (start..=end).any(|k| {
            matches!(
                classes.get(k),
                Some(Class::Street { strong: true } | Class::Name | Class::Country)
            )
        });
    (street && (block.len() >= 2 || one_line) && (!weak_anchor || backed))
        .then(|| build(&block, None))
}

// ---------------------------------------------------------------------------------------------
// The result

fn build(block: &[(usize, &str)], label_line: Option<usize>) -> AddressMatch {
    let text = block
        .iter()
        .map(|(_, l)| l.trim())
        .collect::<Vec<_>>()
        .join("\n");
    let country = block.last().and_then(|(_, l)| country_in(l));
    // A weak match ("1234 Elm") may be the street above the real postcode line.
    let found = block
        .iter()
        .filter_map(|(_, l)| find_postcode(l))
        .min_by_key(|p| p.weak);
    // The named country decides which shape is its postcode: a code that fits it as found,
    // else its own format looked for from the bottom of the block up.
    let postcode = match country {
        Some((_, named))
            if !found.as_ref().is_some_and(|p| {
                !p.weak && postcode::format(named).is_none_or(|f| f.fits(&p.code))
            }) =>
        {
            block
                .iter()
                .rev()
                .find_map(|(_, l)| named_postcode(l, named))
                .or(found)
        }
        _ => found,
    };
    let country_code = country
        .map(|(_, code)| code)
        .or_else(|| postcode.as_ref().and_then(|p| p.inferred))
        .or_else(|| {
            let code = &postcode.as_ref()?.code;
            street_country(block.iter().map(|(_, l)| *l), code)
        });
    let mut lines: Vec<usize> = label_line
        .into_iter()
        .chain(block.iter().map(|(i, _)| *i))
        .collect();
    lines.sort_unstable();
    lines.dedup();
    AddressMatch {
        address: ShippingAddress {
            text,
            postal_code: postcode.map(|p| p.code),
            country: country.map(|(name, _)| without_stop(name).to_string()),
            country_code: country_code.map(str::to_string),
        },
        lines,
        recipient: recipient(block),
        for_someone_else: false,
    }
}

/// Words for a street that only some languages use, and the countries that write them.
const STREET_LANGUAGES: &[(&str, &[&str])] = &[
    (
        r"(?i)(?:stra(?:ß|ss)e|\bstr\.|gasse\b|allee\b|\bplatz\b)",
        &["DE", "AT", "CH", "LI", "LU"],
    ),
    (
        r"(?i)\b(?:rue|boulevard|bd|chemin|allée|impasse|place)\b",
        &["FR", "BE", "CH", "LU", "MC"],
    ),
    (
        r"(?i)\b(?:via|viale|piazza|corso|vicolo)\b",
        &["IT", "CH", "SM", "VA"],
    ),
    (r"(?i)(?:straat|gracht|laan|plein)\b", &["NL", "BE"]),
    (r"(?i)\b(?:rua|travessa|largo)\b", &["PT", "BR"]),
    (r"(?i)\b(?:ulica|ul\.|aleja|al\.)\s", &["PL"]),
    (r"(?i)(?:gatan|vägen|gränd)\b", &["SE"]),
];

/// "Sendlinger Str. 7 / 80331 München" names no country and its five digits fit several, but
/// only Germany writes "Str." with a five-digit code: the street's language narrows the
/// countries whose format the code fits, and one left names the country. Nothing is guessed
/// when two remain (Spanish "Calle" with five digits: Spain or Mexico).
fn street_country<'a>(lines: impl Iterator<Item = &'a str>, code: &str) -> Option<&'static str> {
    static WORDS: LazyLock<Vec<(Regex, &'static [&'static str])>> = LazyLock::new(|| {
        STREET_LANGUAGES
            .iter()
            .map(|(pattern, countries)| (re(pattern), *countries))
            .collect()
    });
    let lines: Vec<&str> = lines.collect();
    let mut found: Vec<&'static str> = Vec::new();
    for (words, countries) in WORDS.iter() {
        if lines.iter().any(|l| words.is_match(l)) {
            for country in countries.iter() {
                if postcode::format(country).is_some_and(|f| f.fits(code))
                    && !found.contains(country)
                {
                    found.push(country);
                }
            }
        }
    }
    match found.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// "France." loses the full stop; "U.S.A." keeps its own.
fn without_stop(name: &str) -> &str {
    match name.strip_suffix('.') {
        Some(bare) if !bare.contains('.') => bare,
        _ => name,
    }
}

fn recipient(block: &[(usize, &str)]) -> Option<String> {
    let (_, first) = block.first()?;
    if let Some(name) = name_of(first) {
        return Some(name.to_string());
    }
    // "Pat Okafor, 41 Linden Avenue, Portland, OR 97205" on one line.
    if let Some((head, tail)) = first.split_once(',')
        && tail.bytes().any(|b| b.is_ascii_digit())
        && let Some(name) = name_of(head)
    {
        return Some(name.to_string());
    }
    // Japanese order puts the addressee last, with the honorific 様.
    block.iter().find_map(|(_, l)| {
        let name = l
            .trim()
            .strip_suffix('様')
            .or_else(|| l.trim().strip_suffix('殿'))?;
        let name = name.trim();
        (!name.is_empty() && !name.chars().any(|c| c.is_numeric())).then(|| name.to_string())
    })
}

#[cfg(test)]
#[path = "address_world_tests.rs"]
mod world_tests;

#[cfg(test)]
#[path = "address_tests.rs"]
mod tests;
