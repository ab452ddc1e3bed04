-- Version 4: sellers' commands by reply, and whose side of a conversation a Message-ID is on.

-- Every request we sent a seller that a reply may answer (an approval request, a packing
-- slip). The token is in the Message-ID; a reply counts once, from that seller, before expiry.
CREATE TABLE command_tokens (
    message_id  TEXT PRIMARY KEY,
    order_ref   TEXT NOT NULL REFERENCES orders(reference),
    purpose     TEXT NOT NULL CHECK (purpose IN ('approval', 'fulfilment')),
    seller      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    used_by     TEXT                     -- the Message-ID of the command that used it
);
CREATE INDEX command_tokens_order ON command_tokens(order_ref, purpose);

-- 'customer' for the customer's messages and ours to them; 'shop' for sellers' and ours to
-- sellers; 'other' (a payment provider). Mail to the customer threads only under the first.
ALTER TABLE thread_ids ADD COLUMN party TEXT NOT NULL DEFAULT 'customer';

-- The dispatcher's queue in id order, holding only what waits: with 10,000 replies queued, the
-- status index made every round gather and sort them all (their bodies too) to take 64.
CREATE INDEX outbox_due ON outbox(id) WHERE status IN ('pending', 'sending');
