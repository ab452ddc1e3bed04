-- Failures to reach a server that a person has to mend (a login refused, a certificate not
-- trusted, a folder the server will not create ...): at most one open row per server. `mailcart
-- run` keeps trying; the row says what, since when, how many tries, and whether the sellers were
-- told. Cleared rows stay as the history.
CREATE TABLE problems (
    id         INTEGER PRIMARY KEY,
    server     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    words      TEXT NOT NULL,
    fix        TEXT NOT NULL,
    since      TEXT NOT NULL,
    last_at    TEXT NOT NULL,
    tries      INTEGER NOT NULL,
    told       TEXT NOT NULL,
    cleared_at TEXT
);
CREATE UNIQUE INDEX problems_open ON problems (server) WHERE cleared_at IS NULL;
