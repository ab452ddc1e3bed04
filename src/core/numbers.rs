//! Quantities as people write them, in English, German, French, Spanish, Italian, Dutch and
//! Portuguese: digits, number words, articles, "x2"/"2x", "a couple of", dozens and their
//! fractions, and the unit words that follow a count ("2 pcs", "3 Stück", "4 pezzi").

/// An amount a customer asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    Number(i64),
    /// "some", "a few", "a third of a dozen": the customer must be asked how many.
    Vague,
}

/// The quantity a single word stands for. `None` when it is not a quantity.
pub fn quantity_word(word: &str) -> Option<i64> {
    let w = word.trim().to_lowercase();
    if let Ok(n) = w.parse::<i64>() {
        return Some(n);
    }
    let n = match w.as_str() {
        "a" | "an" | "one" | "single" | "another" | "un" | "une" | "ein" | "eine" | "einen"
        | "eins" | "uno" | "una" | "een" | "één" | "um" | "uma" => 1,
        "two" | "pair" | "couple" | "deux" | "zwei" | "dos" | "due" | "twee" | "dois" | "duas" => 2,
        "three" | "trois" | "drei" | "tres" | "tre" | "drie" | "três" => 3,
        "four" | "quatre" | "vier" | "cuatro" | "quattro" | "quatro" => 4,
        "five" | "cinq" | "fünf" | "fuenf" | "cinco" | "cinque" | "vijf" => 5,
        "six" | "sechs" | "seis" | "sei" | "zes" => 6,
        "seven" | "sept" | "sieben" | "siete" | "sette" | "zeven" | "sete" => 7,
        "eight" | "huit" | "acht" | "ocho" | "otto" | "oito" => 8,
        "nine" | "neuf" | "neun" | "nueve" | "nove" | "negen" => 9,
        "ten" | "dix" | "zehn" | "diez" | "dieci" | "tien" | "dez" => 10,
        "eleven" | "elf" | "onze" | "once" | "undici" => 11,
        "twelve" | "zwölf" | "zwoelf" | "douze" | "doce" | "dodici" | "twaalf" | "doze" => 12,
        "thirteen" | "treize" | "trece" | "tredici" | "dertien" | "dreizehn" | "treze" => 13,
        "fourteen" | "quatorze" | "catorce" | "quattordici" | "veertien" | "vierzehn" => 14,
        "fifteen" | "quinze" | "quince" | "quindici" | "vijftien" | "fünfzehn" => 15,
        "sixteen" | "seize" | "dieciséis" | "sedici" | "zestien" | "sechzehn" => 16,
        "seventeen" | "siebzehn" | "diecisiete" | "diciassette" | "zeventien" => 17,
        "eighteen" | "achtzehn" | "dix-huit" | "dieciocho" | "diciotto" | "achttien" => 18,
        "nineteen" | "neunzehn" | "diecinueve" | "diciannove" | "negentien" => 19,
        "twenty" | "zwanzig" | "vingt" | "veinte" | "venti" | "twintig" | "vinte" => 20,
        _ => return None,
    };
    Some(n)
}

fn is_dozen(word: &str) -> bool {
    matches!(
        word,
        "dozen" | "dutzend" | "douzaine" | "docena" | "dozzina" | "dozijn" | "dúzia" | "duzia"
    )
}

fn is_half(word: &str) -> bool {
    matches!(
        word,
        "half"
            | "halbes"
            | "halbe"
            | "halb"
            | "demi"
            | "media"
            | "medio"
            | "mezza"
            | "mezzo"
            | "meia"
    )
}

fn is_fraction_word(word: &str) -> bool {
    matches!(
        word,
        "quarter"
            | "third"
            | "viertel"
            | "drittel"
            | "quart"
            | "tiers"
            | "cuarto"
            | "tercio"
            | "quarto"
            | "terzo"
            | "kwart"
            | "derde"
            | "terço"
    )
}

/// "a", "ein", "une", "een", "uma": a count of one, and the weakest.
pub fn is_article(word: &str) -> bool {
    matches!(
        word,
        "a" | "an" | "ein" | "eine" | "einen" | "un" | "une" | "una" | "uno" | "een" | "um" | "uma"
    )
}

/// Words that ask for an unstated amount: the customer must be asked how many.
pub fn is_vague_quantity(word: &str) -> bool {
    matches!(
        word.trim().to_lowercase().as_str(),
        "some"
            | "few"
            | "several"
            | "many"
            | "lots"
            | "bunch"
            | "multiple"
            | "more"
            | "any"
            | "einige"
            | "mehrere"
            | "quelques"
            | "plusieurs"
            | "algunos"
            | "algunas"
            | "varios"
            | "varias"
            | "alcuni"
            | "alcune"
            | "qualche"
            | "diversi"
            | "diverse"
            | "enkele"
            | "alguns"
            | "algumas"
            | "vários"
            | "várias"
            | "dozens"
    )
}

/// Words that follow a count and carry nothing more: "2 pcs", "3 Stück", "4 pezzi".
pub fn is_unit(word: &str) -> bool {
    matches!(
        word,
        "pcs"
            | "pc"
            | "pce"
            | "pces"
            | "piece"
            | "pieces"
            | "unit"
            | "units"
            | "ea"
            | "stück"
            | "stueck"
            | "stk"
            | "st"
            | "pièce"
            | "pièces"
            | "piece(s)"
            | "unidad"
            | "unidades"
            | "ud"
            | "uds"
            | "pezzo"
            | "pezzi"
            | "pz"
            | "stuk"
            | "stuks"
            | "peça"
            | "peças"
            | "pçs"
            | "unités"
            | "unité"
            | "mal"
            | "times"
            | "nos"
            | "pack"
            | "packs"
            | "packet"
            | "packets"
            | "packung"
            | "packungen"
            | "paquet"
            | "paquets"
            | "paquete"
            | "paquetes"
            | "confezione"
            | "confezioni"
            | "pak"
            | "pakken"
            | "pacote"
            | "pacotes"
    )
}

/// Words that join two requests in one sentence.
pub fn is_joiner(word: &str) -> bool {
    matches!(
        word,
        "and" | "und" | "et" | "y" | "e" | "ed" | "en" | "&" | "plus" | "sowie" | "+" | "," | ";"
    )
}

/// "x2", "×2", "2x", "2×" written as one word.
pub fn marked_number(word: &str) -> Option<i64> {
    let w = word.trim();
    let digits = w
        .strip_prefix(['x', 'X', '×'])
        .or_else(|| w.strip_suffix(['x', 'X', '×']))?;
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        Some(digits.parse().unwrap_or(i64::MAX))
    } else {
        None
    }
}

/// A quantity expression starting at `words[i]` (lowercase words and punctuation): the
/// amount and the index just after it. "half a dozen" is 6, "2 dozen" 24, "a dozen and a
/// half" 18; any other fraction of a dozen is vague, never a whole dozen.
pub fn quantity_at<S: AsRef<str>>(words: &[S], i: usize) -> Option<(Amount, usize)> {
    let at = |k: usize| words.get(k).map(AsRef::as_ref).unwrap_or("");
    let w = at(i);
    let skip_of = |k: usize| {
        if matches!(at(k), "of" | "de" | "di" | "d" | "von" | "van") {
            k + 1
        } else {
            k
        }
    };
    // "half a dozen", "half-dozen", "une demi-douzaine", "media docena", "meia dúzia"
    if is_half(w) {
        let k = if is_article(at(i + 1)) { i + 2 } else { i + 1 };
        if is_dozen(at(k)) {
            return Some((Amount::Number(6), skip_of(k + 1)));
        }
        return None;
    }
    if is_fraction_word(w) {
        let mut k = skip_of(i + 1);
        if is_article(at(k)) {
            k += 1;
        }
        if is_dozen(at(k)) {
            return Some((Amount::Vague, skip_of(k + 1)));
        }
        return None;
    }
    if let Some(n) = marked_number(w) {
        return Some((Amount::Number(n), i + 1));
    }
    if is_article(w) {
        let next = at(i + 1);
        // "a half dozen", "ein halbes Dutzend", "een half dozijn"
        if is_half(next) && is_dozen(at(i + 2)) {
            return Some((Amount::Number(6), skip_of(i + 3)));
        }
        if is_fraction_word(next) {
            return quantity_at(words, i + 1);
        }
        if is_dozen(next) {
            // "a dozen and a half"
            if at(i + 2) == "and" && is_article(at(i + 3)) && at(i + 4) == "half" {
                return Some((Amount::Number(18), skip_of(i + 5)));
            }
            return Some((Amount::Number(12), skip_of(i + 2)));
        }
        match (w, next) {
            (_, "couple" | "pair" | "paire" | "paar" | "par" | "paio") => {
                // German and Dutch "ein paar"/"een paar" is "a few".
                let n = if matches!(w, "ein" | "eine" | "een") {
                    Amount::Vague
                } else {
                    Amount::Number(2)
                };
                return Some((n, skip_of(i + 2)));
            }
            (_, "few" | "bunch" | "lot" | "number" | "handful") => {
                return Some((Amount::Vague, skip_of(i + 2)));
            }
            _ => {}
        }
    }
    if is_vague_quantity(w) {
        return Some((Amount::Vague, skip_of(i + 1)));
    }
    let n = if w.chars().all(|c| c.is_ascii_digit()) && !w.is_empty() {
        // "1/2 dozen", "3/4": a fraction is never a count.
        if at(i + 1) == "/" && at(i + 2).chars().all(|c| c.is_ascii_digit()) {
            let half = w == "1" && at(i + 2) == "2";
            return if is_dozen(at(i + 3)) {
                let n = if half {
                    Amount::Number(6)
                } else {
                    Amount::Vague
                };
                Some((n, skip_of(i + 4)))
            } else {
                None
            };
        }
        w.parse().unwrap_or(i64::MAX)
    } else {
        quantity_word(w)?
    };
    if is_dozen(at(i + 1)) {
        return Some((Amount::Number(n.saturating_mul(12)), skip_of(i + 2)));
    }
    // "one more teapot", "2 extra mugs", "noch eine": the count, not a vague "more".
    if matches!(
        at(i + 1),
        "more" | "extra" | "additional" | "weitere" | "autres"
    ) {
        return Some((Amount::Number(n), i + 2));
    }
    Some((Amount::Number(n), i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_to_twenty() {
        let cases = [
            ("a", 1),
            ("An", 1),
            ("three", 3),
            ("twelve", 12),
            ("twenty", 20),
            ("7", 7),
            ("zwei", 2),
            ("trois", 3),
            ("cuatro", 4),
            ("cinque", 5),
            ("zes", 6),
            ("sete", 7),
            ("zwölf", 12),
            ("één", 1),
            ("duas", 2),
        ];
        for (w, n) in cases {
            assert_eq!(quantity_word(w), Some(n), "{w}");
        }
        assert_eq!(quantity_word("mug"), None);
        assert!(is_vague_quantity("Some"));
        assert!(is_vague_quantity("quelques"));
    }

    #[test]
    fn expressions() {
        let cases: &[(&str, Option<(Amount, usize)>)] = &[
            ("half a dozen mugs", Some((Amount::Number(6), 3))),
            ("a half dozen mugs", Some((Amount::Number(6), 3))),
            ("half dozen", Some((Amount::Number(6), 2))),
            ("a dozen mugs", Some((Amount::Number(12), 2))),
            ("a dozen and a half", Some((Amount::Number(18), 5))),
            ("2 dozen", Some((Amount::Number(24), 2))),
            ("a quarter dozen", Some((Amount::Vague, 3))),
            ("a third of a dozen", Some((Amount::Vague, 5))),
            ("1 / 2 dozen", Some((Amount::Number(6), 4))),
            ("3 / 4 dozen", Some((Amount::Vague, 4))),
            ("1 / 2", None),
            ("a couple of mugs", Some((Amount::Number(2), 3))),
            ("ein paar tassen", Some((Amount::Vague, 2))),
            ("ein halbes dutzend", Some((Amount::Number(6), 3))),
            ("une demi douzaine de bols", Some((Amount::Number(6), 4))),
            ("media docena", Some((Amount::Number(6), 2))),
            ("mezza dozzina", Some((Amount::Number(6), 2))),
            ("een half dozijn", Some((Amount::Number(6), 3))),
            ("meia dúzia", Some((Amount::Number(6), 2))),
            ("una docena", Some((Amount::Number(12), 2))),
            ("un par de tazas", Some((Amount::Number(2), 3))),
            ("x3", Some((Amount::Number(3), 1))),
            ("2×", Some((Amount::Number(2), 1))),
            ("some", Some((Amount::Vague, 1))),
            ("mug", None),
        ];
        for (text, want) in cases {
            let words: Vec<&str> = text.split(' ').collect();
            assert_eq!(quantity_at(&words, 0), *want, "{text}");
        }
    }
}
