//! A seller's answer to one of our requests, in their own words. A reply that carries a
//! request's token is the seller talking to mailcart, so it is never filed as a customer's
//! mail: it is a command as written (`approve`, `reject <reason>` ...), or plain consent or
//! refusal when that is unambiguous ("Yes, approve", "OK", "Ja, passt", "No - we can't do this
//! one, sorry"), or it is not understood, and then the seller is told at once what to write.
//!
//! Consent moves money and stock, so it is read narrowly: every word must be a word of consent
//! or of politeness; a question mark, a negation or a hedge anywhere ("approve? not sure",
//! "don't approve", "yes but only 4") makes the answer unclear rather than a guess. A refusal
//! must say so first ("no", "nein", "non", "reject" ...); what follows is its reason.

use super::classify::Kind;
use super::command::{Command, Verb, parse_command};
use super::decision::Purpose;

/// A seller's reply that carries one of our requests' tokens answers that request, whatever
/// its words look like ("OK" is no customer's reply); mail that no person wrote (an
/// out-of-office, a bounce) stays what it is.
pub fn kind_of_answer(kind: Kind, from_seller: bool, carries_token: bool) -> Kind {
    match kind {
        Kind::Order
        | Kind::CustomerReply
        | Kind::PaymentNotice
        | Kind::StatusInquiry
        | Kind::Cancellation
        | Kind::Unknown
            if from_seller && carries_token =>
        {
            Kind::SellerCommand
        }
        other => other,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// A command, as written or read from plain words (`read_as` then says which words).
    Command {
        command: Command,
        read_as: Option<String>,
    },
    /// Why the answer was not understood.
    Unclear(String),
}

/// The seller's answer `text` (their own words, quotes removed) to a request of `purpose`.
pub fn read(text: &str, purpose: Purpose) -> Reading {
    let Some(first) = text.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return Reading::Unclear("it has no text of its own above the quoted request".into());
    };
    let shown = clip(first);
    if let Some(cmd) = parse_command(text) {
        let verb_word = first.split_whitespace().next().unwrap_or("");
        if verb_word.contains('?') {
            return Reading::Unclear(format!("\"{shown}\" asks a question"));
        }
        // A bare `approve`/`paid` carries no words of its own: whatever follows must be
        // politeness, or it may take the consent back ("approve? not sure").
        let bare = matches!(cmd.verb, Verb::Approve)
            || (cmd.verb == Verb::Paid && cmd.reference.is_none());
        if bare && cmd.reference.is_none() {
            return match plain(text, &[verb_word]) {
                Plain::Consent => Reading::Command {
                    command: Command {
                        rest: String::new(),
                        ..cmd
                    },
                    read_as: None,
                },
                Plain::Unclear(why) => Reading::Unclear(why),
                Plain::Refusal(_) | Plain::Nothing => Reading::Unclear(format!(
                    "\"{shown}\" says `{}` and more that may take it back",
                    cmd.verb.as_str()
                )),
            };
        }
        return Reading::Command {
            command: cmd,
            read_as: None,
        };
    }
    let as_words = |verb: Verb, rest: String| Reading::Command {
        command: Command {
            verb,
            reference: None,
            rest,
        },
        read_as: Some(shown.clone()),
    };
    match (plain(text, &[]), purpose) {
        (Plain::Consent, Purpose::Approval) => as_words(Verb::Approve, String::new()),
        (Plain::Consent, Purpose::Payment) => as_words(Verb::Paid, String::new()),
        (Plain::Refusal(reason), Purpose::Approval) => as_words(Verb::Reject, reason),
        (Plain::Unclear(why), _) => Reading::Unclear(why),
        (Plain::Consent | Plain::Refusal(_), _) => Reading::Unclear(format!(
            "a plain yes or no does not answer a {} request",
            purpose.as_str()
        )),
        (Plain::Nothing, _) => Reading::Unclear(format!(
            "\"{shown}\" is neither a command nor a plain yes or no"
        )),
    }
}

/// What to write instead, for a request of `purpose`: one command a line.
pub fn what_to_write(purpose: Purpose) -> &'static [&'static str] {
    match purpose {
        Purpose::Approval => &["approve", "reject <the reason, which the customer is sent>"],
        Purpose::Fulfilment => &["shipped <carrier> <tracking number>"],
        Purpose::Payment => &["paid"],
        Purpose::Return => &[
            "returned  (everything the return authorisation lists is back)",
            "returned <SKU> <quantity> ...  (only what arrived)",
        ],
        Purpose::Hold => &[
            "reply <your text, which is sent to whoever wrote the message>",
            "resolved <a note, if you like>",
            "or a command about its order: approve, reject <reason>, cancel <reason>, note <text>, paid, shipped <carrier> <tracking>, returned [<SKU> <quantity> ...]",
        ],
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Plain {
    Consent,
    /// The reason given after the refusal word (may be empty).
    Refusal(String),
    Unclear(String),
    /// Neither consent nor refusal words.
    Nothing,
}

const CONSENT: &[&str] = &[
    // English
    "approve",
    "approved",
    "yes",
    "yep",
    "yeah",
    "yup",
    "ok",
    "okay",
    "sure",
    "confirmed",
    "confirm",
    "accept",
    "accepted",
    "agreed",
    "agree",
    "lgtm",
    "👍",
    "go-ahead",
    "no-problem",
    // German
    "ja",
    "genehmigt",
    "genehmige",
    "einverstanden",
    "freigegeben",
    "passt",
    "in-ordnung",
    "akzeptiert",
    "bestätigt",
    "kein-problem",
    // French
    "oui",
    "approuvé",
    "approuve",
    "d'accord",
    "validé",
    "valide",
    "accepté",
    "accepte",
    "ça-marche",
    "c'est-bon",
    "pas-de-problème",
    // Spanish
    "sí",
    "si",
    "aprobado",
    "aprobada",
    "apruebo",
    "de-acuerdo",
    "vale",
    "adelante",
    "acepto",
    "aceptado",
    "confirmado",
    "sin-problema",
];

/// Words that may stand beside a yes without changing it.
const POLITE: &[&str] = &[
    "thanks",
    "thank-you",
    "thx",
    "ty",
    "please",
    "pls",
    "cheers",
    "great",
    "good",
    "perfect",
    "fine",
    "all",
    "good",
    "it",
    "this",
    "that",
    "one",
    "order",
    "the",
    "is",
    "go",
    "ahead",
    "hi",
    "hello",
    "many",
    "very",
    "much",
    "absolutely",
    "definitely",
    "of-course",
    "sounds",
    "looks",
    "danke",
    "bitte",
    "vielen",
    "dank",
    "gerne",
    "klar",
    "super",
    "hallo",
    "merci",
    "beaucoup",
    "parfait",
    "bonjour",
    "c'est",
    "bon",
    "gracias",
    "por-favor",
    "perfecto",
    "claro",
    "hola",
    "muchas",
];

/// A refusal says so first.
const REFUSAL: &[&str] = &[
    "no",
    "nope",
    "nah",
    "reject",
    "rejected",
    "decline",
    "declined",
    "refuse",
    "refused",
    "deny",
    "denied",
    "nein",
    "abgelehnt",
    "ablehnen",
    "non",
    "refusé",
    "rejeté",
    "rechazado",
    "rechazada",
    "rechazar",
    "rechazo",
    "denegado",
];

/// Words a refusal may open with.
const OPENERS: &[&str] = &[
    "sorry",
    "unfortunately",
    "hi",
    "hello",
    "leider",
    "hallo",
    "désolé",
    "désolée",
    "malheureusement",
    "bonjour",
    "lo-siento",
    "lamentablemente",
    "hola",
];

/// A yes with one of these is no plain yes.
const NEGATIONS: &[&str] = &[
    "not",
    "don't",
    "dont",
    "do-not",
    "never",
    "cannot",
    "can't",
    "won't",
    "shouldn't",
    "nicht",
    "kein",
    "keine",
    "nie",
    "pas",
    "ne",
    "jamais",
    "nunca",
    "tampoco",
];
const HEDGES: &[&str] = &[
    "maybe",
    "perhaps",
    "unsure",
    "wait",
    "hold",
    "later",
    "check",
    "think",
    "probably",
    "possibly",
    "unless",
    "if",
    "but",
    "except",
    "only",
    "vielleicht",
    "warte",
    "moment",
    "eventuell",
    "aber",
    "nur",
    "wenn",
    "peut-être",
    "attends",
    "mais",
    "sauf",
    "seulement",
    "quizás",
    "quizá",
    "tal-vez",
    "espera",
    "pero",
    "solo",
    "sólo",
    "excepto",
];

/// Phrases of several words, read as one.
const PHRASES: &[(&str, &str)] = &[
    ("go ahead", "go-ahead"),
    ("no problem", "no-problem"),
    ("no worries", "no-problem"),
    ("thank you", "thank-you"),
    ("of course", "of-course"),
    ("do not", "do-not"),
    ("in ordnung", "in-ordnung"),
    ("kein problem", "kein-problem"),
    ("ça marche", "ça-marche"),
    ("c'est bon", "c'est-bon"),
    ("pas de problème", "pas-de-problème"),
    ("de acuerdo", "de-acuerdo"),
    ("por favor", "por-favor"),
    ("sin problema", "sin-problema"),
    ("lo siento", "lo-siento"),
    ("tal vez", "tal-vez"),
];

/// The seller's words, lowercased, phrases joined; and whether a question mark was among them.
fn words(line: &str) -> (Vec<String>, bool) {
    let line = line.to_lowercase().replace(['’', '`'], "'");
    let question = line.contains(['?', '¿']);
    let mut joined = format!(
        " {} ",
        line.replace(
            |c: char| !(c.is_alphanumeric() || c == '\'' || c == '👍'),
            " "
        )
    );
    for (phrase, one) in PHRASES {
        joined = joined.replace(&format!(" {phrase} "), &format!(" {one} "));
    }
    let words = joined
        .split_whitespace()
        .map(|w| w.trim_matches('\'').to_string())
        .filter(|w| !w.is_empty())
        .collect();
    (words, question)
}

/// Plain consent or refusal in `text`: its first line read closely, and what stands below it
/// short and free of anything that could take it back. `consent` adds words that count as
/// consent here (the command word itself).
fn plain(text: &str, consent: &[&str]) -> Plain {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let Some(first) = lines.next() else {
        return Plain::Nothing;
    };
    let (w, question) = words(first);
    let shown = clip(first);
    let consent: Vec<String> = consent
        .iter()
        .map(|c| {
            c.trim_end_matches(|ch: char| !ch.is_alphanumeric())
                .to_lowercase()
        })
        .collect();
    let is_consent = |x: &str| CONSENT.contains(&x) || consent.iter().any(|c| c == x);
    let is = |list: &[&str], x: &str| list.contains(&x);
    let opened = w.iter().skip_while(|x| is(OPENERS, x)).collect::<Vec<_>>();
    if let Some(head) = opened.first()
        && is(REFUSAL, head)
    {
        if question {
            return Plain::Unclear(format!("\"{shown}\" asks a question"));
        }
        if let Some(yes) = opened[1..].iter().find(|x| is_consent(x)) {
            return Plain::Unclear(format!("\"{shown}\" says both no and \"{yes}\""));
        }
        return Plain::Refusal(reason_after(first, head));
    }
    if question {
        return Plain::Unclear(format!("\"{shown}\" asks a question"));
    }
    if let Some(n) = w.iter().find(|x| is(NEGATIONS, x) || x.ends_with("n't")) {
        return Plain::Unclear(format!("\"{shown}\" says \"{n}\""));
    }
    if let Some(h) = w.iter().find(|x| is(HEDGES, x)) {
        return Plain::Unclear(format!("\"{shown}\" says \"{h}\", which leaves it open"));
    }
    if let Some(no) = w.iter().find(|x| is(REFUSAL, x)) {
        return Plain::Unclear(format!("\"{shown}\" says \"{no}\" in the middle"));
    }
    if !w.iter().any(|x| is_consent(x)) {
        return Plain::Nothing;
    }
    if let Some(other) = w.iter().find(|x| !is_consent(x) && !is(POLITE, x)) {
        return Plain::Unclear(format!(
            "\"{shown}\" says more than yes (\"{other}\"), which mailcart cannot act on"
        ));
    }
    // A sign-off below ("Thanks,", "Mara") is fine; a condition is not.
    for line in lines {
        let (below, question) = words(line);
        let doubt = below
            .iter()
            .find(|x| is(NEGATIONS, x) || is(HEDGES, x) || is(REFUSAL, x) || x.ends_with("n't"));
        if question || doubt.is_some() || below.len() > 4 {
            return Plain::Unclear(format!(
                "below \"{shown}\" it says \"{}\", which may change it",
                clip(line)
            ));
        }
    }
    Plain::Consent
}

/// What follows the refusal word `head` in `line`, as written: the reason.
fn reason_after(line: &str, head: &str) -> String {
    // The word itself, not its letters inside an opener ("unfortunately, no").
    let lower = line.to_lowercase();
    let word_at = |i: usize| {
        let before = lower[..i].chars().next_back();
        let after = lower[i + head.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    };
    let at = lower
        .match_indices(head)
        .map(|(i, _)| i)
        .find(|&i| word_at(i))
        .map(|i| i + head.len())
        .filter(|&i| lower.len() == line.len() && line.is_char_boundary(i))
        .unwrap_or(0);
    line[at..]
        .trim_start_matches(|c: char| !c.is_alphanumeric())
        .trim()
        .to_string()
}

fn clip(line: &str) -> String {
    let mut s: String = line.chars().take(80).collect();
    if s.len() < line.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approval(text: &str) -> Result<(Verb, String), String> {
        match read(text, Purpose::Approval) {
            Reading::Command { command, .. } => Ok((command.verb, command.rest)),
            Reading::Unclear(why) => Err(why),
        }
    }

    #[test]
    fn plain_consent_in_the_shops_languages() {
        for yes in [
            "approve",
            "Approved.",
            "Approve\n\nMara",
            "Yes, approve",
            "OK",
            "ok!",
            "approve - thanks!",
            "Yes please, go ahead",
            "Sure, thank you",
            "👍",
            "No problem",
            "Ja, genehmigt",
            "Passt, danke",
            "In Ordnung",
            "Oui, d'accord",
            "C'est bon, merci",
            "Sí, aprobado",
            "Vale, gracias",
            "De acuerdo",
            "Yes\n\nThanks,\nMara",
        ] {
            assert_eq!(approval(yes), Ok((Verb::Approve, String::new())), "{yes:?}");
        }
    }

    #[test]
    fn plain_refusal_keeps_its_reason() {
        for (no, reason) in [
            (
                "No - we can't do this one, sorry",
                "we can't do this one, sorry",
            ),
            ("no", ""),
            (
                "Sorry, no. Out of stock until March",
                "Out of stock until March",
            ),
            ("Nein, leider nicht lieferbar", "leider nicht lieferbar"),
            ("Non, désolé", "désolé"),
            (
                "No, lo siento, no enviamos allí",
                "lo siento, no enviamos allí",
            ),
            ("Declined: address looks fake", "address looks fake"),
            ("reject too many teapots", "too many teapots"),
        ] {
            assert_eq!(
                approval(no),
                Ok((Verb::Reject, reason.to_string())),
                "{no:?}"
            );
        }
    }

    #[test]
    fn doubt_is_never_consent() {
        for unclear in [
            "approve? not sure",
            "Approve?",
            "don't approve",
            "Do not approve",
            "not approved",
            "yes but only 4 teapots",
            "OK, maybe",
            "ok?",
            "Yes, approve\nbut ship it next week please",
            "approve once they pay the deposit",
            "Ja, aber nur vier",
            "Oui mais pas aujourd'hui",
            "Sí, pero solo cuatro",
            "nicht genehmigt",
            "No, approve it",
            "Hmm",
            "Let me check with Sam",
            "",
            "> quoted only",
        ] {
            let got = approval(unclear);
            assert!(got.is_err(), "{unclear:?} read as {got:?}");
        }
    }

    #[test]
    fn yes_and_no_mean_nothing_to_a_packing_slip() {
        assert!(matches!(
            read("OK", Purpose::Fulfilment),
            Reading::Unclear(_)
        ));
        assert!(matches!(
            read("yes", Purpose::Payment),
            Reading::Command {
                command: Command {
                    verb: Verb::Paid,
                    ..
                },
                ..
            }
        ));
        assert!(matches!(
            read(
                "Shipped UPS 1Z999AA10123456784\n\nThanks",
                Purpose::Fulfilment
            ),
            Reading::Command {
                command: Command {
                    verb: Verb::Shipped,
                    ..
                },
                ..
            }
        ));
    }
}
