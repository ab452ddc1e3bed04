-- Loop protection (core::reply_cap): a correspondent, or every customer ('*'), whose automatic
-- replies are paused; a pause lifts `[limits] pause_hours` after last_held_at, or when deleted
-- by `mailcart resume`.
CREATE TABLE pauses (
    scope        TEXT PRIMARY KEY,
    opened_at    TEXT NOT NULL,
    last_held_at TEXT NOT NULL,
    reason       TEXT NOT NULL
);
