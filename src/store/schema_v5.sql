-- Version 5: the record made tamper-evident.

-- Each event carries the hash of the one before it (see store/chain.rs for the exact form).
-- The chain covers the SHA-256 of `detail`, not the text itself, so that an erasure can
-- rewrite personal data in a detail while the chain stays whole: the erasure event names each
-- rewritten detail's new hash, and `verify` accepts a detail that matches either.
ALTER TABLE events ADD COLUMN detail_sha256 TEXT;
ALTER TABLE events ADD COLUMN prev_hash TEXT;
ALTER TABLE events ADD COLUMN hash TEXT;
-- Two writers that both read the same head cannot both append: the chain never forks.
CREATE UNIQUE INDEX events_prev_hash ON events(prev_hash);
CREATE INDEX events_at ON events(at);

-- The stock ledger has a chain of its own; its rows hold no personal data.
ALTER TABLE stock_moves ADD COLUMN prev_hash TEXT;
ALTER TABLE stock_moves ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX stock_moves_prev_hash ON stock_moves(prev_hash);
CREATE INDEX stock_moves_at ON stock_moves(at);

-- Outgoing mail is kept raw like incoming mail, with its hash (the chain holds it too).
ALTER TABLE outbox ADD COLUMN sha256 TEXT;
CREATE INDEX outbox_created ON outbox(created_at);
CREATE INDEX messages_received ON messages(received_at);

-- When a message's raw copy was purged by the retention setting (its row stays).
ALTER TABLE messages ADD COLUMN purged_at TEXT;
ALTER TABLE outbox ADD COLUMN purged_at TEXT;
-- `verify --head` looks a hash up.
CREATE INDEX events_hash ON events(hash);
