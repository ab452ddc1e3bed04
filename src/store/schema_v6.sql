-- A customer's erasure replaces a message's raw copy by a placeholder; the mark tells a copy
-- fetched again later (the same Message-ID) that the first one must stay erased.
ALTER TABLE messages ADD COLUMN erased_at TEXT;
ALTER TABLE outbox ADD COLUMN erased_at TEXT;
