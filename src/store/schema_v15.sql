-- Version 15: returns and exchanges (`core::returns`). Each return authorisation (RMA) as its
-- order's document holds it: the document is what the chain commits to and `verify` checks
-- these rows against it; here an RMA is unique, and can be looked up and exported.
CREATE TABLE returns (
    rma            TEXT PRIMARY KEY,
    order_ref      TEXT NOT NULL REFERENCES orders(reference),
    state          TEXT NOT NULL CHECK (state IN ('authorised', 'received', 'refunded')),
    lines          TEXT NOT NULL,          -- JSON: [{sku, name, quantity, unit_price}]
    credit         TEXT NOT NULL,          -- decimal string: the goods with their tax
    refund         TEXT NOT NULL,          -- decimal string: what of it goes back as money
    exchange_ref   TEXT,                   -- the exchange's new order
    authorised_at  TEXT NOT NULL,
    received_at    TEXT
);
CREATE INDEX returns_order ON returns(order_ref);
-- The sellers' request to confirm a return is answerable like the others ('return':
-- `returned [SKU QTY ...]`); SQLite cannot change a CHECK, so the table is copied.
CREATE TABLE command_tokens_v16 (
    message_id    TEXT PRIMARY KEY,
    order_ref     TEXT REFERENCES orders(reference),
    purpose       TEXT NOT NULL CHECK (purpose IN ('approval', 'fulfilment', 'payment', 'hold', 'return')),
    seller        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    used_at       TEXT,
    used_by       TEXT,
    held_message  TEXT
);
INSERT INTO command_tokens_v16 (message_id, order_ref, purpose, seller, created_at, expires_at, used_at, used_by, held_message)
    SELECT message_id, order_ref, purpose, seller, created_at, expires_at, used_at, used_by, held_message FROM command_tokens;
DROP TABLE command_tokens;
ALTER TABLE command_tokens_v16 RENAME TO command_tokens;
CREATE INDEX command_tokens_order ON command_tokens(order_ref, purpose);
CREATE INDEX command_tokens_held ON command_tokens(held_message) WHERE held_message IS NOT NULL;
