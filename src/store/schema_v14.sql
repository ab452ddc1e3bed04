-- Version 14: the loop caps count echoes, not replies (`core::echo`).
-- The fingerprint of what the sender wrote (case, whitespace, quoted text and signature aside),
-- and, when the message echoed an earlier one and was answered automatically, why it counts.
ALTER TABLE messages ADD COLUMN text_hash TEXT;
ALTER TABLE messages ADD COLUMN echo TEXT;
CREATE INDEX messages_sender_received ON messages(lower(from_addr), received_at)
    WHERE from_addr IS NOT NULL;
-- When a person last lifted a pause: the counts for that address start again there.
CREATE TABLE resumes (
    scope  TEXT PRIMARY KEY,
    at     TEXT NOT NULL
);
