-- Version 13: every message held for a person is put to the sellers by email, and the alert
-- is answerable like a request ('hold': `reply <text>`, `resolved [note]`, the order's
-- commands). Such an alert names the held message it is about and may be about no order, so
-- the table is copied into one that allows both (SQLite cannot change a CHECK or a NOT NULL).
CREATE TABLE command_tokens_v13 (
    message_id    TEXT PRIMARY KEY,
    order_ref     TEXT REFERENCES orders(reference),
    purpose       TEXT NOT NULL CHECK (purpose IN ('approval', 'fulfilment', 'payment', 'hold')),
    seller        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    used_at       TEXT,
    used_by       TEXT,                  -- the Message-ID of the command that used it
    held_message  TEXT                   -- the Message-ID of the held message it is about
);
INSERT INTO command_tokens_v13 (message_id, order_ref, purpose, seller, created_at, expires_at, used_at, used_by)
    SELECT message_id, order_ref, purpose, seller, created_at, expires_at, used_at, used_by FROM command_tokens;
DROP TABLE command_tokens;
ALTER TABLE command_tokens_v13 RENAME TO command_tokens;
CREATE INDEX command_tokens_order ON command_tokens(order_ref, purpose);
CREATE INDEX command_tokens_held ON command_tokens(held_message) WHERE held_message IS NOT NULL;
