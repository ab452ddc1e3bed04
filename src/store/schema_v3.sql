-- Version 3: payments.

-- Every payment notice from a trusted sender, whatever became of it: matched, partial, or
-- put to a seller (overpaid, duplicate, unknown reference, ...). Orders keep what counted.
CREATE TABLE payments (
    id              INTEGER PRIMARY KEY,
    at              TEXT NOT NULL,
    order_ref       TEXT,
    message_id      TEXT NOT NULL,
    provider        TEXT NOT NULL,
    transaction_id  TEXT,
    amount          TEXT,                  -- decimal string, exact, as the notice gave it
    currency        TEXT,
    payer           TEXT,
    outcome         TEXT NOT NULL
);
CREATE INDEX payments_transaction ON payments(provider, transaction_id) WHERE transaction_id IS NOT NULL;
CREATE INDEX payments_order ON payments(order_ref);
