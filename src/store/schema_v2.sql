-- Version 2: the live mailbox and the SMTP dispatcher.

-- Where reading the mailbox stopped: a message is past the checkpoint only once it is stored
-- and decided on, in the same transaction that moves the checkpoint.
CREATE TABLE mailbox_checkpoint (
    mailbox      TEXT PRIMARY KEY,
    uidvalidity  INTEGER NOT NULL,
    last_uid     INTEGER NOT NULL,
    updated_at   TEXT NOT NULL
);

-- Last contact with each server, for `mailcart status`.
CREATE TABLE server_contact (
    server        TEXT PRIMARY KEY,        -- 'imap' or 'smtp'
    last_ok_at    TEXT,
    last_error    TEXT,
    last_error_at TEXT
);

-- Retries: a transient failure waits until next_attempt_at.
ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT;
