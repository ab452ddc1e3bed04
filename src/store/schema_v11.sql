-- Version 11: a third kind of request a seller may answer: a payment that names no order but
-- fits one by amount and payer ('payment', answered with `paid`). SQLite cannot change a CHECK,
-- so the table is copied into one that allows it.
CREATE TABLE command_tokens_v11 (
    message_id  TEXT PRIMARY KEY,
    order_ref   TEXT NOT NULL REFERENCES orders(reference),
    purpose     TEXT NOT NULL CHECK (purpose IN ('approval', 'fulfilment', 'payment')),
    seller      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    used_by     TEXT                     -- the Message-ID of the command that used it
);
INSERT INTO command_tokens_v11 (message_id, order_ref, purpose, seller, created_at, expires_at, used_at, used_by)
    SELECT message_id, order_ref, purpose, seller, created_at, expires_at, used_at, used_by FROM command_tokens;
DROP TABLE command_tokens;
ALTER TABLE command_tokens_v11 RENAME TO command_tokens;
CREATE INDEX command_tokens_order ON command_tokens(order_ref, purpose);
