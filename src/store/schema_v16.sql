-- Version 16: customers' feedback on their orders (`[feedback] after_days`, `core::feedback`).
-- Each row is committed to the events chain (`feedback_recorded`, with its digest), as payments
-- are; an erasure rewrites `text` and records the new digest.
CREATE TABLE feedback (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    order_ref   TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    text        TEXT NOT NULL,
    rating      INTEGER                -- out of 5, when the customer gave one
);
CREATE INDEX feedback_order ON feedback(order_ref);
