-- Version 12: a mark that changes whenever the catalog does, so that a process keeps its
-- matching index (seconds to build for 100,000 SKUs) until the catalog really changes. A
-- random value rather than a counter: two databases at one path never share a mark.
CREATE TABLE catalog_mark (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    mark  INTEGER NOT NULL
);
INSERT INTO catalog_mark (id, mark) VALUES (1, random());
CREATE TRIGGER catalog_mark_insert AFTER INSERT ON catalog
    BEGIN UPDATE catalog_mark SET mark = random() WHERE id = 1; END;
CREATE TRIGGER catalog_mark_update AFTER UPDATE ON catalog
    BEGIN UPDATE catalog_mark SET mark = random() WHERE id = 1; END;
CREATE TRIGGER catalog_mark_delete AFTER DELETE ON catalog
    BEGIN UPDATE catalog_mark SET mark = random() WHERE id = 1; END;
