//! Invoices and credit notes, through the real binary on a real database: the PDF the payment's
//! confirmation carries and what `pdftotext` (poppler-utils) reads in it, the gapless numbers,
//! `mailcart invoice` giving the same bytes again, the credit note of a cancelled paid order,
//! `verify` catching a changed invoice, and the export's files.

use std::path::PathBuf;
use std::process::Command;

use mail_parser::MimeHeaders;

mod common;
use common::shop::{ADDRESS, Shop, eml, header};

/// Every PDF attached to an email in the outbox: (the email's headers and text, file name,
/// bytes).
fn pdfs(shop: &Shop) -> Vec<(String, String, Vec<u8>)> {
    let mut found = Vec::new();
    for (path, text) in shop.outbox() {
        let raw = std::fs::read(&path).unwrap();
        let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
        for a in msg.attachments() {
            let Some(name) = a.attachment_name() else {
                continue;
            };
            if name.ends_with(".pdf") {
                assert_eq!(
                    a.content_type().map(|c| format!(
                        "{}/{}",
                        c.ctype(),
                        c.subtype().unwrap_or("")
                    )),
                    Some("application/pdf".to_string())
                );
                found.push((text.clone(), name.to_string(), a.contents().to_vec()));
            }
        }
    }
    found
}

fn text_of(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (Debian package poppler-utils) must be installed: .ci/run installs it");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn pay(shop: &Shop, reference: &str, at: &str) {
    let out = shop.seller_says(&format!("paid {reference}"), at);
    assert!(out.contains("[paid]"), "{out}");
}

#[test]
fn a_paid_orders_confirmation_carries_its_invoice_with_every_figure() {
    let shop = Shop::new();
    let r = shop.paid_order(false);
    let pdfs = pdfs(&shop);
    assert_eq!(pdfs.len(), 1, "one PDF, with the confirmation only");
    let (email, name, pdf) = &pdfs[0];
    assert!(header(email, "To").contains("pat@example.test"), "{email}");
    assert!(
        email.contains("payment") && header(email, "Subject").contains(&r),
        "the confirmation: {email}"
    );
    assert_eq!(name, "invoice-INV-000001.pdf");
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(pdf.len() < 60_000, "{} bytes", pdf.len());
    let text = text_of(pdf);
    // 2 x Blue Mug at 18.00, 8 % tax (2.88), shipping 8.00 untaxed, paid 46.88 (the seller's
    // `paid`), to Pat in Portland.
    for figure in [
        "Invoice",
        "INV-000001",
        r.as_str(),
        "2026-12-01",
        "Linden Clay Studio",
        "12 Kiln Row",
        "EIN 12-3456789",
        "Pat Okafor",
        "41 Linden Avenue",
        "Blue Glazed Mug (MUG-BLU)",
        "18.00 USD",
        "36.00 USD",
        "8%",
        "2.88 USD",
        "Shipping",
        "8.00 USD",
        "44.00 USD",
        "46.88 USD",
        "Paid: 46.88 USD",
        "mara@lindenclay.test",
    ] {
        assert!(text.contains(figure), "{figure:?} missing from:\n{text}");
    }
    let line = text
        .lines()
        .find(|l| l.contains("MUG-BLU"))
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        line.ends_with("2 18.00 USD 36.00 USD 8% 2.88 USD"),
        "quantity, unit price, net, rate and tax on the item's line: {line}"
    );
    assert!(shop.run(&["verify"]).contains("invoices:    1,"));
}

#[test]
fn numbers_run_without_a_gap_and_the_pdf_is_written_again_byte_for_byte() {
    let shop = Shop::new();
    shop.require_authentication();
    let mut refs = Vec::new();
    for (i, id) in ["a@example.test", "b@example.test", "c@example.test"]
        .iter()
        .enumerate()
    {
        let r = shop.quoted_order(id, &format!("2026-12-01T0{}:00:00Z", i + 1));
        refs.push(r);
    }
    // Paid in another order than placed: numbers follow the payments.
    pay(&shop, &refs[2], "2026-12-01T10:00:00Z");
    pay(&shop, &refs[0], "2026-12-01T11:00:00Z");
    pay(&shop, &refs[1], "2026-12-01T12:00:00Z");
    // A second `paid` (or any later change) does not number the order again.
    shop.seller_says(&format!("note {} fragile", refs[0]), "2026-12-01T13:00:00Z");
    let mut names: Vec<String> = pdfs(&shop).into_iter().map(|(_, n, _)| n).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "invoice-INV-000001.pdf",
            "invoice-INV-000002.pdf",
            "invoice-INV-000003.pdf"
        ]
    );
    for (_, name, attached) in pdfs(&shop) {
        let number = name.trim_start_matches("invoice-").trim_end_matches(".pdf");
        let reference = text_of(&attached)
            .lines()
            .find(|l| l.contains("Order"))
            .and_then(|l| l.split_whitespace().last().map(str::to_string))
            .unwrap();
        let out = shop.dir.path().join(format!("again-{number}.pdf"));
        let said = shop.run(&["invoice", &reference, "--out", out.to_str().unwrap()]);
        assert!(said.contains(number), "{said}");
        assert_eq!(
            std::fs::read(&out).unwrap(),
            attached,
            "{number} written again is the attachment, byte for byte"
        );
        // By its number too.
        let by_number = shop.dir.path().join(format!("n-{number}.pdf"));
        shop.run(&["invoice", number, "--out", by_number.to_str().unwrap()]);
        assert_eq!(std::fs::read(&by_number).unwrap(), attached);
    }
    assert_eq!(
        text_of(&pdfs(&shop)[0].2).matches("INV-00000").count(),
        1,
        "each PDF names its own number once"
    );
    let verify = shop.run(&["verify"]);
    assert!(verify.contains("invoices:    3,"), "{verify}");
    assert!(verify.contains("verified"), "{verify}");
}

#[test]
fn a_cancelled_paid_order_gets_a_credit_note_not_an_edited_invoice() {
    let shop = Shop::new();
    let r = shop.paid_order(false);
    let out = shop.seller_says(
        &format!("cancel {r} the glaze cracked in the kiln"),
        "2026-12-01T11:00:00Z",
    );
    assert!(out.contains("cancelled_by_shop"), "{out}");
    let pdfs = pdfs(&shop);
    let names: Vec<&str> = pdfs.iter().map(|(_, n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"invoice-INV-000002.pdf"), "{names:?}");
    let (cancellation, _, note) = pdfs
        .iter()
        .find(|(_, n, _)| n == "invoice-INV-000002.pdf")
        .unwrap();
    assert!(
        cancellation.contains("will be refunded in full"),
        "{cancellation}"
    );
    let text = text_of(note);
    for figure in [
        "Credit note",
        "INV-000002",
        "Cancels invoice",
        "INV-000001",
        r.as_str(),
        "-36.00 USD",
        "-2.88 USD",
        "-46.88 USD",
        "To be refunded: 46.88 USD",
    ] {
        assert!(text.contains(figure), "{figure:?} missing from:\n{text}");
    }
    // The invoice is as it was sent.
    let again = shop.dir.path().join("inv.pdf");
    shop.run(&["invoice", &r, "--out", again.to_str().unwrap()]);
    let first = &pdfs
        .iter()
        .find(|(_, n, _)| n == "invoice-INV-000001.pdf")
        .unwrap()
        .2;
    assert_eq!(&std::fs::read(&again).unwrap(), first);
    let cn = shop.dir.path().join("cn.pdf");
    shop.run(&[
        "invoice",
        &r,
        "--credit-note",
        "--out",
        cn.to_str().unwrap(),
    ]);
    assert_eq!(&std::fs::read(&cn).unwrap(), note);
}

fn database(shop: &Shop) -> PathBuf {
    shop.dir.path().join("mailcart.db")
}

#[test]
fn verify_catches_a_changed_or_removed_invoice() {
    let shop = Shop::new();
    let r = shop.paid_order(false);
    assert!(shop.run(&["verify"]).contains("verified"));
    let db = database(&shop);
    let verify = || {
        Command::new(env!("CARGO_BIN_EXE_mailcart"))
            .args([
                "--config",
                shop.dir.path().join("config.toml").to_str().unwrap(),
                "verify",
            ])
            .output()
            .unwrap()
    };
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute(
            "UPDATE invoices SET doc = replace(doc, '46.88', '4.88')",
            [],
        )
        .unwrap();
    }
    let out = verify();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("BROKEN: invoice 1"), "{text}");
    {
        // Put back, then take the number away: a gap.
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute(
            "UPDATE invoices SET doc = replace(doc, '\"4.88\"', '\"46.88\"')",
            [],
        )
        .unwrap();
        assert!(verify().status.success(), "{r}: restored");
        conn.execute("UPDATE invoices SET seq = 2", []).unwrap();
    }
    let out = verify();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("gap"), "{text}");
}

#[test]
fn the_export_holds_invoices_csv_and_the_pdfs() {
    let shop = Shop::new();
    let r = shop.paid_order(false);
    let attached = pdfs(&shop).remove(0).2;
    let out = shop.dir.path().join("export");
    shop.run(&["export", "--out", out.to_str().unwrap()]);
    let csv = std::fs::read_to_string(out.join("invoices.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "seq,number,kind,order_ref,issued_at,cancels,customer_name,currency,net,tax,total,paid,pdf_sha256,file"
    );
    let row = lines.next().unwrap();
    assert!(
        row.starts_with(&format!("1,INV-000001,invoice,{r},")),
        "{row}"
    );
    assert!(row.contains(",USD,44.00,2.88,46.88,46.88,"), "{row}");
    assert!(row.ends_with(",invoices/invoice-INV-000001.pdf"), "{row}");
    assert_eq!(
        std::fs::read(out.join("invoices/invoice-INV-000001.pdf")).unwrap(),
        attached
    );
    let manifest = std::fs::read_to_string(out.join("MANIFEST")).unwrap();
    assert!(manifest.contains("  invoices/invoice-INV-000001.pdf"));
    assert!(manifest.contains("  invoices.csv"));
    let check = Command::new("sha256sum")
        .args(["-c", "MANIFEST", "--quiet"])
        .current_dir(&out)
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
}

#[test]
fn switched_off_no_number_and_no_attachment() {
    let shop = Shop::new();
    shop.edit_config(
        "enabled = true\n# Put before the six",
        "enabled = false\n# Put before the six",
    );
    shop.paid_order(false);
    assert!(pdfs(&shop).is_empty());
    let conn = rusqlite::Connection::open(database(&shop)).unwrap();
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM invoices", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}

#[test]
fn a_customers_name_in_greek_cyrillic_and_cjk_prints_as_written() {
    let shop = Shop::new();
    shop.require_authentication();
    let from = "山田 太郎 <yamada@example.test>";
    let body = format!(
        "2 x Blue Mug\n\nShip to:\nΓιώργος Жуков 山田\n{}",
        ADDRESS.trim_start_matches("Ship to:\nPat Okafor\n")
    );
    let out = shop.deliver(
        "cjk.eml",
        &eml(from, "Order", "cjk@example.test", None, &body),
        "2026-12-01T09:00:00Z",
    );
    let start = out.find("-> order ").unwrap() + 9;
    let r = out[start..].split_whitespace().next().unwrap().to_string();
    pay(&shop, &r, "2026-12-01T10:00:00Z");
    let pdf = pdfs(&shop).remove(0).2;
    assert!(pdf.len() < 60_000, "{} bytes", pdf.len());
    let text = text_of(&pdf);
    assert!(text.contains("山田 太郎"), "{text}");
    assert!(text.contains("Γιώργος Жуков 山田"), "{text}");
}
