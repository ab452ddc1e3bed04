-- Indexes on the chain hashes are random-order inserts: across a large record each one
-- touched a page no cache held, and together they cut the end-to-end rate to a third. Neither
-- guards anything `verify` does not: a second link onto one head (a fork) breaks the walk at
-- the later row, and writers are serialised anyway (one IMMEDIATE transaction at a time).
-- `verify --head` finds a head by scanning, once per run.
DROP INDEX events_prev_hash;
DROP INDEX stock_moves_prev_hash;
DROP INDEX events_hash;
