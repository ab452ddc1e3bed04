-- Version 17: invoices and credit notes (`store::invoices`). One sequence for the shop, shared
-- by invoices and credit notes, with no gap (`verify` checks it); each row is committed to the
-- events chain (`invoice_issued`, with its digest) as payments are. `doc` is the snapshot the
-- PDF is rendered from, `pdf_sha256` the hash of the PDF sent.
CREATE TABLE invoices (
    id          INTEGER PRIMARY KEY,
    seq         INTEGER NOT NULL UNIQUE CHECK (seq > 0),
    number      TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    order_ref   TEXT NOT NULL REFERENCES orders(reference),
    issued_at   TEXT NOT NULL,
    doc         TEXT NOT NULL,
    pdf_sha256  TEXT NOT NULL
);
-- One invoice an order, and at most one credit note for it.
CREATE UNIQUE INDEX invoices_order_kind ON invoices(order_ref, kind);
