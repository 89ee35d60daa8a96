-- PostgreSQL drops the ledger's foreign keys to the catalog here (see its
-- 0017). SQLite keeps them: checking them is an index lookup per event, and
-- dropping one would mean rebuilding the ledger table.
SELECT 1;
