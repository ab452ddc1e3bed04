-- mailcart schema, version 1. Migrations only ever add; nothing here is dropped later.

CREATE TABLE catalog (
    sku         TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    unit_price  TEXT NOT NULL,            -- decimal string, exact
    aliases     TEXT NOT NULL DEFAULT '[]', -- JSON array
    updated_at  TEXT NOT NULL
);

-- The stock ledger: on hand and reserved are sums of these rows; `stock` below is their
-- running total, kept in the same transaction so reads stay O(1).
CREATE TABLE stock_moves (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    sku        TEXT NOT NULL REFERENCES catalog(sku),
    kind       TEXT NOT NULL CHECK (kind IN ('receipt','adjustment','reserve','release','sale','return')),
    quantity   INTEGER NOT NULL,           -- positive; adjustment may be negative
    order_ref  TEXT,
    reason     TEXT NOT NULL
);
CREATE INDEX stock_moves_sku ON stock_moves(sku);
CREATE INDEX stock_moves_order ON stock_moves(order_ref);

CREATE TABLE stock (
    sku       TEXT PRIMARY KEY REFERENCES catalog(sku),
    on_hand   INTEGER NOT NULL DEFAULT 0,
    reserved  INTEGER NOT NULL DEFAULT 0
);

-- Every inbound message, raw, before anything is decided on it.
CREATE TABLE messages (
    id           INTEGER PRIMARY KEY,
    message_id   TEXT NOT NULL,
    sha256       TEXT NOT NULL UNIQUE,
    received_at  TEXT NOT NULL,
    from_addr    TEXT,
    subject      TEXT,
    kind         TEXT,
    order_ref    TEXT,
    duplicate_of INTEGER REFERENCES messages(id),
    attention    TEXT,                     -- why a person must look at it; NULL when handled
    resolved_at  TEXT,
    raw          BLOB NOT NULL
);
CREATE INDEX messages_message_id ON messages(message_id);
CREATE INDEX messages_attention ON messages(attention) WHERE attention IS NOT NULL;

CREATE TABLE orders (
    reference       TEXT PRIMARY KEY,
    state           TEXT NOT NULL,
    customer_email  TEXT NOT NULL,
    currency        TEXT NOT NULL,
    subtotal        TEXT NOT NULL,
    shipping        TEXT NOT NULL,
    tax             TEXT NOT NULL,
    total           TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    doc             TEXT NOT NULL           -- the whole order as JSON
);
CREATE INDEX orders_customer ON orders(customer_email, created_at);
CREATE INDEX orders_state ON orders(state);

CREATE TABLE order_lines (
    order_ref   TEXT NOT NULL REFERENCES orders(reference),
    line_no     INTEGER NOT NULL,
    sku         TEXT NOT NULL,
    name        TEXT NOT NULL,
    quantity    INTEGER NOT NULL,
    unit_price  TEXT NOT NULL,
    line_total  TEXT NOT NULL,
    PRIMARY KEY (order_ref, line_no)
);

-- Every Message-ID, ours and theirs, that belongs to an order's conversation.
CREATE TABLE thread_ids (
    message_id  TEXT PRIMARY KEY,
    order_ref   TEXT NOT NULL REFERENCES orders(reference)
);

-- Append-only log of every decision.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    order_ref   TEXT,
    message_id  TEXT,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL               -- JSON
);
CREATE INDEX events_order ON events(order_ref);

-- Outgoing mail, written with the decision that caused it, sent afterwards.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    message_id   TEXT NOT NULL UNIQUE,
    order_ref    TEXT,
    to_addrs     TEXT NOT NULL,
    to_customer  INTEGER NOT NULL,
    subject      TEXT NOT NULL,
    template     TEXT NOT NULL,
    raw          BLOB NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','sending','sent','failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    sent_at      TEXT,
    last_error   TEXT
);
CREATE INDEX outbox_status ON outbox(status);
CREATE INDEX outbox_recipient ON outbox(to_addrs, created_at);
