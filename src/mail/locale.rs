//! How each language writes what is not a template's prose: the salutation, money, dates and
//! times (in the shop's time zone), the order's state and the reasons a line was not understood.
//! The month and weekday names come from chrono's locales (pure-rust-locales: the glibc
//! locale data compiled in), the zone rules from chrono-tz (the IANA database compiled in).

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use time::OffsetDateTime;

use crate::core::order::OrderState;

/// One language's ways. `en` keeps the wording mailcart always had, byte for byte.
pub struct Locale {
    pub code: &'static str,
    /// chrono's locale for month and weekday names; `None` writes chrono's English.
    names: Option<chrono::Locale>,
    date: &'static str,
    /// The date and time; `{zone}` is replaced with the zone's abbreviation or UTC offset.
    time: &'static str,
    decimal: char,
    group: Option<char>,
    /// The salutation with a first name (`{name}`) and without.
    hello: &'static str,
    hello_anonymous: &'static str,
}

pub const LOCALES: &[Locale] = &[
    Locale {
        code: "en",
        names: None,
        date: "%A %-d %B %Y",
        time: "%A %-d %B %Y, %H:%M {zone}",
        decimal: '.',
        group: None,
        hello: "Hello {name},",
        hello_anonymous: "Hello there,",
    },
    Locale {
        code: "de",
        names: Some(chrono::Locale::de_DE),
        date: "%A, %-d. %B %Y",
        time: "%A, %-d. %B %Y, %H:%M Uhr ({zone})",
        decimal: ',',
        group: Some('.'),
        hello: "Guten Tag {name},",
        hello_anonymous: "Guten Tag,",
    },
    Locale {
        code: "fr",
        names: Some(chrono::Locale::fr_FR),
        date: "%A %-d %B %Y",
        time: "%A %-d %B %Y à %H:%M ({zone})",
        decimal: ',',
        group: Some('\u{202f}'),
        hello: "Bonjour {name},",
        hello_anonymous: "Bonjour,",
    },
    Locale {
        code: "es",
        names: Some(chrono::Locale::es_ES),
        date: "%A, %-d de %B de %Y",
        time: "%A, %-d de %B de %Y, a las %H:%M ({zone})",
        decimal: ',',
        group: Some('.'),
        hello: "Hola, {name}:",
        hello_anonymous: "Hola:",
    },
    Locale {
        code: "it",
        names: Some(chrono::Locale::it_IT),
        date: "%A %-d %B %Y",
        time: "%A %-d %B %Y, ore %H:%M ({zone})",
        decimal: ',',
        group: Some('.'),
        hello: "Buongiorno {name},",
        hello_anonymous: "Buongiorno,",
    },
    Locale {
        code: "nl",
        names: Some(chrono::Locale::nl_NL),
        date: "%A %-d %B %Y",
        time: "%A %-d %B %Y, %H:%M uur ({zone})",
        decimal: ',',
        group: Some('.'),
        hello: "Beste {name},",
        hello_anonymous: "Goedendag,",
    },
    Locale {
        code: "pt",
        names: Some(chrono::Locale::pt_PT),
        date: "%A, %-d de %B de %Y",
        time: "%A, %-d de %B de %Y, às %H:%M ({zone})",
        decimal: ',',
        group: Some('.'),
        hello: "Olá {name},",
        hello_anonymous: "Olá,",
    },
];

/// The ways of `code`, English's when there are none.
pub fn locale(code: &str) -> &'static Locale {
    LOCALES
        .iter()
        .find(|l| l.code == code)
        .unwrap_or(&LOCALES[0])
}

impl Locale {
    pub fn salutation(&self, first_name: Option<&str>) -> String {
        match first_name {
            Some(n) => self.hello.replace("{name}", n),
            None => self.hello_anonymous.to_string(),
        }
    }

    /// `amount` as `money::round` writes it ("-1234.50"), with this language's separators.
    pub fn amount(&self, amount: &str) -> String {
        if self.code == "en" {
            return amount.to_string();
        }
        let (sign, digits) = match amount.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", amount),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let mut out = String::from(sign);
        // Spanish leaves a four-digit number whole (RAE: "1234,50"); the others group it.
        let grouped = whole.len() > 3 && !(self.code == "es" && whole.len() == 4);
        for (i, c) in whole.chars().enumerate() {
            if grouped
                && i > 0
                && (whole.len() - i) % 3 == 0
                && let Some(g) = self.group
            {
                out.push(g);
            }
            out.push(c);
        }
        if !fraction.is_empty() {
            out.push(self.decimal);
            out.push_str(fraction);
        }
        out
    }

    /// How the currency is written after an amount: the code in English (as mailcart always
    /// wrote it), the sign where that is the custom.
    pub fn currency(&self, code: &str) -> String {
        if self.code == "en" {
            return code.to_string();
        }
        match code {
            "EUR" => "€",
            "GBP" => "£",
            other => other,
        }
        .to_string()
    }

    /// A tax rate (`0.19`) as "19%" or "19 %".
    pub fn percent(&self, rate: rust_decimal::Decimal) -> String {
        let n = (rate * rust_decimal::Decimal::from(100))
            .normalize()
            .to_string();
        match self.code {
            "en" => format!("{n}%"),
            "de" | "fr" => format!("{} %", self.amount(&n)),
            _ => format!("{}%", self.amount(&n)),
        }
    }

    /// `2026-12-08` as this language writes the day.
    pub fn date(&self, iso: &str) -> Option<String> {
        let date = NaiveDate::parse_from_str(iso, "%Y-%m-%d").ok()?;
        Some(match self.names {
            None => date.format(self.date).to_string(),
            Some(l) => date.format_localized(self.date, l).to_string(),
        })
    }

    /// `t` in `zone`, with the zone's abbreviation (CET, CEST) or its offset ("UTC-3") where
    /// the database has no letters for it.
    pub fn time(&self, t: OffsetDateTime, zone: Tz) -> String {
        let Some(utc) = DateTime::<Utc>::from_timestamp(t.unix_timestamp(), t.nanosecond()) else {
            return t.to_string();
        };
        let local = zone.from_utc_datetime(&utc.naive_utc());
        let abbreviation = local.format("%Z").to_string();
        let zone_name = if abbreviation.starts_with(['+', '-']) {
            utc_offset(&local.format("%:z").to_string())
        } else {
            self.zone_letters(&abbreviation).to_string()
        };
        let pattern = self.time.replace("{zone}", &zone_name);
        match self.names {
            None => local.format(&pattern).to_string(),
            Some(l) => local.format_localized(&pattern, l).to_string(),
        }
    }

    /// German writes Central European time as MEZ/MESZ.
    fn zone_letters<'a>(&self, abbreviation: &'a str) -> &'a str {
        match (self.code, abbreviation) {
            ("de", "CET") => "MEZ",
            ("de", "CEST") => "MESZ",
            _ => abbreviation,
        }
    }

    /// The order's state, as it follows "Status:" (English keeps "your order is ...").
    pub fn state(&self, state: OrderState) -> &'static str {
        let i = match state {
            OrderState::AwaitingDetails => 0,
            OrderState::AwaitingApproval => 1,
            OrderState::AwaitingPayment => 2,
            OrderState::Paid => 3,
            OrderState::Shipped => 4,
            OrderState::Returned => 5,
            OrderState::Cancelled => 6,
            OrderState::Rejected => 7,
            OrderState::Expired => 8,
        };
        let words: [&str; 9] = match self.code {
            "de" => [
                "Angaben von Ihnen fehlen noch",
                "wird von uns geprüft",
                "Zahlung ausstehend",
                "bezahlt, wird vorbereitet",
                "versandt",
                "zurückgesandt",
                "storniert",
                "abgelehnt",
                "abgelaufen",
            ],
            "fr" => [
                "en attente de précisions de votre part",
                "en cours de vérification",
                "en attente de paiement",
                "payée, en préparation",
                "expédiée",
                "retournée",
                "annulée",
                "refusée",
                "expirée",
            ],
            "es" => [
                "pendiente de algunos datos suyos",
                "en revisión",
                "pendiente de pago",
                "pagado, en preparación",
                "enviado",
                "devuelto",
                "cancelado",
                "rechazado",
                "caducado",
            ],
            "it" => [
                "in attesa di alcuni dati da parte Sua",
                "in verifica",
                "in attesa di pagamento",
                "pagato, in preparazione",
                "spedito",
                "restituito",
                "annullato",
                "rifiutato",
                "scaduto",
            ],
            "nl" => [
                "wacht nog op gegevens van u",
                "wordt door ons beoordeeld",
                "wacht op betaling",
                "betaald, wordt klaargemaakt",
                "verzonden",
                "teruggestuurd",
                "geannuleerd",
                "afgewezen",
                "verlopen",
            ],
            "pt" => [
                "a aguardar alguns dados seus",
                "em análise",
                "a aguardar pagamento",
                "pago, em preparação",
                "enviado",
                "devolvido",
                "cancelado",
                "recusado",
                "expirado",
            ],
            _ => return crate::core::decision::human_state(state),
        };
        words[i]
    }

    /// Why a line of the order was not understood.
    pub fn problem(&self, problem: &crate::core::items::Problem, max_quantity: u32) -> String {
        use crate::core::items::Problem;
        let (unknown, ambiguous, quantity) = match self.code {
            "de" => (
                "Das haben wir in unserem Sortiment nicht gefunden.",
                "Das passt zu mehreren unserer Artikel.",
                "Wir konnten die gewünschte Menge nicht erkennen (eine Zahl von 1 bis {max}).",
            ),
            "fr" => (
                "nous ne l'avons pas trouvé dans notre catalogue.",
                "cela correspond à plusieurs de nos articles.",
                "nous n'avons pas compris la quantité souhaitée (un nombre de 1 à {max}).",
            ),
            "es" => (
                "no lo hemos encontrado en nuestro catálogo.",
                "coincide con varios de nuestros artículos.",
                "no hemos entendido cuántas unidades quiere (un número del 1 al {max}).",
            ),
            "it" => (
                "non l'abbiamo trovato nel nostro catalogo.",
                "corrisponde a più di un nostro articolo.",
                "non abbiamo capito la quantità desiderata (un numero da 1 a {max}).",
            ),
            "nl" => (
                "dit hebben we niet in ons assortiment gevonden.",
                "dit past bij meer dan één van onze artikelen.",
                "we konden niet opmaken hoeveel u wilt (een getal van 1 tot en met {max}).",
            ),
            "pt" => (
                "não encontrámos isto no nosso catálogo.",
                "isto corresponde a mais do que um dos nossos artigos.",
                "não percebemos a quantidade pretendida (um número de 1 a {max}).",
            ),
            _ => (
                "we could not find this in our catalog.",
                "this matches more than one of our products.",
                "we could not tell how many you would like (a number from 1 to {max}).",
            ),
        };
        match problem {
            Problem::Unknown => unknown.to_string(),
            Problem::Ambiguous => ambiguous.to_string(),
            Problem::Quantity => quantity.replace("{max}", &max_quantity.to_string()),
        }
    }
}

/// "-03:00" as "UTC-3", "+05:30" as "UTC+5:30".
fn utc_offset(offset: &str) -> String {
    let (sign, rest) = offset.split_at(1);
    let (hours, minutes) = rest.split_once(':').unwrap_or((rest, "00"));
    let hours = hours.trim_start_matches('0');
    let hours = if hours.is_empty() { "0" } else { hours };
    match minutes {
        "00" => format!("UTC{sign}{hours}"),
        m => format!("UTC{sign}{hours}:{m}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn english_in_utc_reads_as_it_always_did() {
        let t = datetime!(2026-12-06 05:53 UTC);
        assert_eq!(
            locale("en").time(t, chrono_tz::UTC),
            "Sunday 6 December 2026, 05:53 UTC"
        );
        assert_eq!(
            locale("en").date("2026-12-08").as_deref(),
            Some("Tuesday 8 December 2026")
        );
        assert_eq!(locale("en").amount("1234.50"), "1234.50");
    }

    #[test]
    fn dates_as_each_language_writes_them() {
        let d = "2026-12-10";
        for (code, want) in [
            ("de", "Donnerstag, 10. Dezember 2026"),
            ("fr", "jeudi 10 décembre 2026"),
            ("es", "jueves, 10 de diciembre de 2026"),
            ("it", "giovedì 10 dicembre 2026"),
            ("nl", "donderdag 10 december 2026"),
            ("pt", "quinta, 10 de dezembro de 2026"),
        ] {
            assert_eq!(locale(code).date(d).as_deref(), Some(want), "{code}");
        }
    }

    #[test]
    fn times_in_the_shop_zone_with_daylight_saving() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let winter = datetime!(2026-12-10 13:30 UTC);
        let summer = datetime!(2026-07-09 13:30 UTC);
        assert_eq!(
            locale("de").time(winter, berlin),
            "Donnerstag, 10. Dezember 2026, 14:30 Uhr (MEZ)"
        );
        assert_eq!(
            locale("de").time(summer, berlin),
            "Donnerstag, 9. Juli 2026, 15:30 Uhr (MESZ)"
        );
        assert_eq!(
            locale("en").time(winter, berlin),
            "Thursday 10 December 2026, 14:30 CET"
        );
        let sao_paulo: Tz = "America/Sao_Paulo".parse().unwrap();
        assert_eq!(
            locale("fr").time(winter, sao_paulo),
            "jeudi 10 décembre 2026 à 10:30 (UTC-3)"
        );
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        assert!(locale("en").time(winter, kolkata).ends_with("19:00 IST"));
    }

    #[test]
    fn money_with_the_language_separators() {
        assert_eq!(locale("de").amount("18.00"), "18,00");
        assert_eq!(locale("de").amount("-12345.60"), "-12.345,60");
        assert_eq!(
            locale("fr").amount("1234567.00"),
            "1\u{202f}234\u{202f}567,00"
        );
        assert_eq!(locale("es").amount("1234.00"), "1234,00");
        assert_eq!(locale("es").amount("12345.00"), "12.345,00");
        assert_eq!(locale("de").amount("1518.92"), "1.518,92");
        assert_eq!(locale("de").amount("999.00"), "999,00");
        assert_eq!(locale("de").currency("EUR"), "€");
        assert_eq!(locale("en").currency("EUR"), "EUR");
        assert_eq!(locale("de").percent("0.19".parse().unwrap()), "19 %");
        assert_eq!(locale("en").percent("0.075".parse().unwrap()), "7.5%");
    }

    #[test]
    fn offsets_without_letters() {
        assert_eq!(utc_offset("-03:00"), "UTC-3");
        assert_eq!(utc_offset("+05:30"), "UTC+5:30");
        assert_eq!(utc_offset("+00:00"), "UTC+0");
    }
}
