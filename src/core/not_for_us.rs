//! Mail that is not for us, named for what it is: spam (the shop's own mail server says so, or
//! the GTUBE test string), a spam complaint about the shop's mail (ARF), bulk mail that carries
//! no list headers but a bulk mailer's marks, and mail with no sender to answer. Answering any
//! of these is backscatter from the shop's own address, which mail providers count against it.

use std::sync::LazyLock;

use regex::Regex;

use super::inbound::Inbound;

/// Headers `mail::read` keeps in `Inbound::marks` (lowercased names; a trailing `*` is a prefix).
/// Spam filters' verdicts, then the marks bulk mailers and ESPs leave.
pub const MARK_HEADERS: &[&str] = &[
    "x-spam-flag",
    "x-spam-status",
    "x-spam",
    "x-spam-score",
    "x-rspamd-action",
    "x-rspamd-score",
    "x-precedence",
    "x-mailgun-*",
    "x-ses-*",
    "x-mc-user",
    "x-mandrill-user",
    "x-mailchimp-*",
    "x-campaign*",
    "x-sg-eid",
    "x-sendgrid-*",
    "x-mailjet-*",
    "x-sib-*",
    "x-mailer-sid",
    "x-sfmc-stack",
    "x-emarsys-*",
    "x-newsletter*",
    "x-bulkmail",
    "x-listmember",
    "feedback-id",
    "x-csa-complaints",
    "list-unsubscribe-post",
];

/// Whether `name` is one of [`MARK_HEADERS`].
pub fn is_mark_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    MARK_HEADERS.iter().any(|m| match m.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == *m,
    })
}

/// SpamAssassin's `required_score` out of the box; rspamd adds its header at 6.
pub const DEFAULT_SPAM_THRESHOLD: f64 = 5.0;

/// The string SpamAssassin and rspamd treat as spam whatever else the message says.
const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

/// Why the message is spam, when the shop's mail server (SpamAssassin, rspamd) marked it so or
/// scored it at `threshold` or over, or it carries GTUBE.
pub fn spam(msg: &Inbound, threshold: f64) -> Option<String> {
    let yes = |v: &str| {
        let v = v.trim().to_ascii_lowercase();
        v == "yes" || v == "true" || v.starts_with("yes,") || v.starts_with("yes ")
    };
    for (name, value) in &msg.marks {
        let verdict = match name.as_str() {
            "x-spam-flag" | "x-spam" => yes(value),
            "x-spam-status" => yes(value) || status_score(value).is_some_and(|s| s >= threshold),
            "x-rspamd-action" => !matches!(
                value.trim().to_ascii_lowercase().as_str(),
                "no action" | "greylist" | ""
            ),
            "x-spam-score" | "x-rspamd-score" => score(value).is_some_and(|s| s >= threshold),
            _ => false,
        };
        if verdict {
            return Some(format!(
                "marked as spam by the mail server ({name}: {value})"
            ));
        }
    }
    msg.text
        .contains(GTUBE)
        .then(|| "the GTUBE spam test string".to_string())
}

/// The first number in a score header ("7.3", "7.3 / 15", "[7.30 / 15.00]").
fn score(value: &str) -> Option<f64> {
    static NUMBER: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"-?[0-9]+(?:\.[0-9]+)?").expect("a fixed pattern"));
    NUMBER.find(value)?.as_str().parse().ok()
}

/// `score=7.3` (or `hits=`, older SpamAssassin) in an X-Spam-Status value.
fn status_score(value: &str) -> Option<f64> {
    static SCORE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(?:score|hits)=(-?[0-9]+(?:\.[0-9]+)?)").expect("a fixed pattern")
    });
    SCORE.captures(value)?.get(1)?.as_str().parse().ok()
}

/// A feedback report (RFC 5965): someone marked mail from the shop as spam.
pub fn is_complaint(msg: &Inbound) -> bool {
    msg.report_type.as_deref() == Some("feedback-report")
}

/// Recipients beyond which a message is a mass mailing, not a letter.
const MANY_RECIPIENTS: usize = 10;

static FORWARD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:fwd?|wg|tr|rv|enc|doorst)\s*:").expect("a fixed pattern")
});

/// In a text body: an unsubscribe or preferences line with a link, or a "view it in your
/// browser" line, which a person writing to a shop never writes.
static BULK_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    // No leading `^.*`: the regex crate then finds the keywords by literal search, which
    // keeps this check off the parse rate of ordinary mail.
    Regex::new(r"(?i)(?:unsubscribe|opt[ -]?out|abbestellen|abmelden|désinscri|desinscri|désabonner|darse de baja|darte de baja|cancelar (?:la )?suscripción|disiscriv|cancella (?:l'|la )?iscrizione|afmelden|uitschrijven|cancelar (?:a )?(?:inscrição|subscrição)|descadastr|manage (?:your )?(?:email )?preferences|update your preferences)[^\n]*(?:https?://|www\.)|view (?:this|it|the) (?:email|e-mail|newsletter|message) (?:in|on) (?:your|a|the) (?:web )?browser|view (?:it )?online|having trouble (?:viewing|reading) this|im browser (?:ansehen|öffnen|anzeigen)|version en ligne|afficher dans (?:le|votre) navigateur|ver (?:en|no) (?:el |o )?navegador|visualizza (?:nel|sul) browser|bekijk (?:deze e-?mail )?in je browser")
        .expect("a fixed pattern")
});

/// A message that says it was written by a machine: people do not write this.
static AUTOMATED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:do not|don't|please do not) reply to this (?:automatically generated|automated|auto-generated|system-generated|unmonitored)|this (?:is an?|email is an?|message is an?|message was) (?:automated|automatically generated|auto-generated|system-generated)|diese (?:e-mail|nachricht) wurde automatisch (?:erstellt|generiert|versendet)|ce (?:message|courriel|mail) (?:a été |est )(?:envoyé |généré )?automatiquement|este (?:correo|mensaje) (?:ha sido |fue |se ha )?(?:generado|enviado) automáticamente")
        .expect("a fixed pattern")
});

/// Why the message is bulk mail, judged by what it carries when it has no list headers: a
/// bulk mailer's headers, precedence-like headers, many recipients, an unsubscribe link or a
/// newsletter's layout. A forward is left alone: a customer may forward a newsletter to order
/// from it.
pub fn bulk(msg: &Inbound) -> Option<String> {
    if let Some((name, value)) = msg.marks.iter().find(|(name, value)| match name.as_str() {
        "x-precedence" => matches!(
            value.trim().to_ascii_lowercase().as_str(),
            "bulk" | "list" | "junk"
        ),
        n => !n.starts_with("x-spam") && !n.starts_with("x-rspamd") && n != "x-precedence",
    }) {
        return Some(format!("a bulk mailer's header ({name}: {value})"));
    }
    if msg.recipients >= MANY_RECIPIENTS {
        return Some(format!("sent to {} recipients", msg.recipients));
    }
    // Mailing-list software writes from its own addresses (majordomo's owner-LIST and
    // LIST-owner, Mailman's LIST-request and LIST-bounces).
    let from = msg.from.as_ref().map_or("", |m| m.email.as_str());
    let local = from.split('@').next().unwrap_or("");
    if ["-owner", "-request", "-bounces", "-digest"]
        .iter()
        .any(|s| local.ends_with(s))
        || local.starts_with("owner-")
    {
        return Some(format!("a mailing list's address ({from})"));
    }
    if let Some(m) = AUTOMATED.find(&msg.text) {
        return Some(format!("says it is automatic (\"{}\")", m.as_str()));
    }
    if FORWARD.is_match(&msg.subject) {
        return None;
    }
    if let Some(mark) = msg.bulk_layout {
        return Some(mark.to_string());
    }
    BULK_TEXT
        .find(&msg.text)
        .map(|m| format!("a newsletter's footer ({})", m.as_str().trim()))
}

/// A supplier's invoice to the shop: it lists our products with quantities, and is a bill,
/// not an order. Named as one (subject or "please find the invoice") and asking for money.
// Word boundaries are spelt out, (?:^|\W) and (?:$|\W), to keep the regex crate on its fast
// engines over non-ASCII text (see address::re).
pub fn invoice(msg: &Inbound) -> bool {
    static NAMED: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)(?:^|\W)(?:invoice|rechnung|facture|factura|fattura|factuur|fatura)(?:$|\W)",
        )
        .expect("a fixed pattern")
    });
    static BILL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)(?:^|\W)(?:total|amount|balance) due(?:$|\W)|(?:^|\W)please (?:pay|remit|transfer)(?:$|\W)|(?:^|\W)pay(?:able)? (?:within|by|until)(?:$|\W)|(?:^|\W)payment terms(?:$|\W)|(?:^|\W)zahlbar (?:bis|innerhalb)(?:$|\W)|(?:^|\W)zahlungsziel(?:$|\W)|(?:^|\W)bitte überweisen(?:$|\W)|(?:^|\W)à régler(?:$|\W)|(?:^|\W)importe a pagar(?:$|\W)|(?:^|\W)da pagare(?:$|\W)|(?:^|\W)te betalen(?:$|\W)")
            .expect("a fixed pattern")
    });
    NAMED.is_match(&msg.subject) && BILL.is_match(&msg.text)
}

/// What in an HTML body shows a newsletter: an unsubscribe link, a "view in browser" link, or
/// a tracking pixel among many links. Run by `mail::read` on each HTML part as sent.
pub fn html_bulk_layout(html: &str) -> Option<&'static str> {
    static UNSUBSCRIBE_LINK: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?is)<a\s[^>]*href\s*=\s*["']?[^"'>]*(?:unsubscribe|optout|opt-out|abmelden|abbestellen|desinscri|desabonn|baja|disiscri|afmelden|uitschrijven|descadastr)[^>]*>|<a\s[^>]*>[^<]{0,40}(?:unsubscribe|abmelden|abbestellen|désinscri|désabonner|darse de baja|disiscriviti|afmelden|uitschrijven|descadastrar)"#)
            .expect("a fixed pattern")
    });
    static BROWSER_LINK: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?is)<a\s[^>]*>[^<]{0,60}(?:view (?:this |it |the )?(?:email |e-mail |newsletter )?(?:in|on) (?:your |a |the )?(?:web )?browser|view (?:it )?online|im browser|version en ligne|navigateur|navegador|nel browser|in je browser)")
            .expect("a fixed pattern")
    });
    static PIXEL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?is)<img\s[^>]*(?:width\s*=\s*["']?1(?:px)?["'\s>/][^>]*height\s*=\s*["']?1(?:px)?["'\s>/]|height\s*=\s*["']?1(?:px)?["'\s>/][^>]*width\s*=\s*["']?1(?:px)?["'\s>/])"#)
            .expect("a fixed pattern")
    });
    if UNSUBSCRIBE_LINK.is_match(html) {
        return Some("an unsubscribe link in the HTML");
    }
    if BROWSER_LINK.is_match(html) {
        return Some("a \"view in browser\" link in the HTML");
    }
    let links = html.matches("<a ").count() + html.matches("<A ").count();
    (links >= 10 && PIXEL.is_match(html)).then_some("a tracking pixel among many links")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(marks: &[(&str, &str)]) -> Inbound {
        Inbound {
            marks: marks
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn spam_verdicts() {
        for marks in [
            [("x-spam-flag", "YES")],
            [("x-spam-status", "Yes, score=7.3 required=5.0 tests=GTUBE")],
            [("x-spam-status", "No, score=6.1 required=8.0")],
            [("x-spam", "Yes")],
            [("x-rspamd-action", "add header")],
            [("x-rspamd-action", "rewrite subject")],
            [("x-spam-score", "5.0")],
            [("x-spam-score", "[12.40 / 15.00]")],
        ] {
            assert!(spam(&with(&marks), 5.0).is_some(), "{marks:?}");
        }
        for marks in [
            [("x-spam-flag", "NO")],
            [(
                "x-spam-status",
                "No, score=-0.1 required=5.0 tests=ALL_TRUSTED",
            )],
            [("x-spam", "No")],
            [("x-rspamd-action", "no action")],
            [("x-spam-score", "4.9")],
            [("x-spam-score", "-2")],
        ] {
            assert!(spam(&with(&marks), 5.0).is_none(), "{marks:?}");
        }
        assert!(spam(&with(&[("x-spam-score", "6")]), 8.0).is_none());
        let mut gtube = with(&[]);
        gtube.text = format!("hello\n{GTUBE}\n");
        assert!(spam(&gtube, 5.0).is_some());
    }

    #[test]
    fn bulk_marks() {
        assert!(bulk(&with(&[("x-mailgun-sid", "abc")])).is_some());
        assert!(bulk(&with(&[("feedback-id", "1:2:campaign:esp")])).is_some());
        assert!(bulk(&with(&[("x-precedence", "bulk")])).is_some());
        assert!(bulk(&with(&[("x-precedence", "first-class")])).is_none());
        // Spam verdicts are not bulk marks: "X-Spam-Flag: NO" is on every letter.
        assert!(bulk(&with(&[("x-spam-flag", "NO")])).is_none());
        let mut many = with(&[]);
        many.recipients = 25;
        assert!(bulk(&many).is_some());
        let mut text = with(&[]);
        text.text = "Big sale!\n\nUnsubscribe: https://news.test/u/123\n".into();
        assert!(bulk(&text).is_some());
        text.subject = "Fwd: Big sale".into();
        assert!(bulk(&text).is_none(), "a customer's forward");
        // A person asking to be taken off a list writes no link.
        let mut person = with(&[]);
        person.text = "Please unsubscribe me from your list.\n".into();
        assert!(bulk(&person).is_none());
        let mut notice = with(&[]);
        notice.text =
            "Tracking number: 1Z999\nDo not reply to this automatically generated message.\n"
                .into();
        assert!(bulk(&notice).is_some());
        let mut digest = with(&[]);
        digest.from = Some(crate::core::inbound::Mailbox {
            name: None,
            email: "potters-l-owner@majordomo.example.edu".into(),
        });
        assert!(bulk(&digest).is_some());
    }

    #[test]
    fn invoices() {
        let mut bill = with(&[]);
        bill.subject = "Invoice INV-2026-1145".into();
        bill.text = "20 x Cast Iron Teapot @ 28.00 560.00\nTotal due 715.00\n".into();
        assert!(invoice(&bill));
        bill.subject = "Order".into();
        assert!(
            !invoice(&bill),
            "a customer's order with a total is an order"
        );
    }

    #[test]
    fn newsletter_layout() {
        assert!(
            html_bulk_layout(r#"<p>Sale</p><a href="https://esp.test/unsubscribe?u=1">here</a>"#)
                .is_some()
        );
        assert!(
            html_bulk_layout(r#"<a href="https://x.test/v">View this email in your browser</a>"#)
                .is_some()
        );
        assert!(html_bulk_layout("<p>2 x Blue Mug</p><p>Pat</p>").is_none());
        assert!(is_mark_header("X-Mailgun-Variables"));
        assert!(is_mark_header("X-Campaign-Id"));
        assert!(!is_mark_header("X-Mailer"));
    }
}
