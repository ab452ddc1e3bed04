//! Quantities as people write them: digits, number words, "a"/"an", "a couple", "a dozen".

/// The quantity a word (or short phrase) stands for. `None` when it is not a quantity.
pub fn quantity_word(word: &str) -> Option<i64> {
    let w = word.trim().to_lowercase();
    if let Ok(n) = w.parse::<i64>() {
        return Some(n);
    }
    let n = match w.as_str() {
        "a" | "an" | "one" | "single" | "un" | "une" | "ein" | "eine" | "einen" | "uno" | "una" => {
            1
        }
        "two" | "pair" | "couple" | "deux" | "zwei" | "dos" => 2,
        "three" | "trois" | "drei" | "tres" => 3,
        "four" | "quatre" | "vier" | "cuatro" => 4,
        "five" | "cinq" | "fünf" | "cinco" => 5,
        "six" | "sechs" | "seis" => 6,
        "seven" | "sept" | "sieben" | "siete" => 7,
        "eight" | "huit" | "acht" | "ocho" => 8,
        "nine" | "neuf" | "neun" | "nueve" => 9,
        "ten" | "dix" | "zehn" | "diez" => 10,
        "eleven" => 11,
        "twelve" | "dozen" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "sixteen" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        "twenty" => 20,
        _ => return None,
    };
    Some(n)
}

/// Words that ask for an unstated amount: the customer must be asked how many.
pub fn is_vague_quantity(word: &str) -> bool {
    matches!(
        word.trim().to_lowercase().as_str(),
        "some" | "few" | "several" | "many" | "lots" | "bunch" | "multiple" | "more" | "any"
    )
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
            ("dozen", 12),
        ];
        for (w, n) in cases {
            assert_eq!(quantity_word(w), Some(n), "{w}");
        }
        assert_eq!(quantity_word("mug"), None);
        assert!(is_vague_quantity("Some"));
    }
}
