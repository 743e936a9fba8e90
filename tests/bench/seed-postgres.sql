-- Seeds the register with :n lines (psql -v n=… -v cbe=… -v code=…), one per person, for the
-- organisation and dossier type created through `raas admin`. Person k (0 ≤ k < n) has the
-- NISS niss.lua gives for index k; the columns are those the service writes
-- (src/store/relation.rs): dates, a UTC timestamp with microseconds, a quarter of the lines
-- closed after a year. The rows go in by ssin order.
\set ON_ERROR_STOP on
INSERT INTO relations (organisation_id, ssin, dossier_type_id, begin_date, end_date, created_at)
SELECT t.organisation_id,
       lpad(x.base::text, 9, '0') || lpad((97 - x.base % 97)::text, 2, '0'),
       t.id,
       DATE '2015-01-01' + (k % 3000)::int,
       CASE WHEN k % 4 = 0 THEN DATE '2015-01-01' + (k % 3000)::int + 365 END,
       (now() AT TIME ZONE 'UTC')::timestamp(6)
FROM dossier_types t
JOIN organisations o ON o.id = t.organisation_id
CROSS JOIN generate_series(0::bigint, :n - 1) AS k
CROSS JOIN LATERAL (
    SELECT (((k / 997 / 28 / 12) * 100 + (k / 997 / 28) % 12 + 1) * 100
            + (k / 997) % 28 + 1) * 1000 + k % 997 + 1 AS base
) AS x
WHERE o.cbe_number = :'cbe' AND t.code = :'code';

-- The table pgbench-register.sql inserts into: the columns, indexes and foreign keys of
-- relations, apart from the register itself.
DROP TABLE IF EXISTS bench_pgbench_relations;
CREATE TABLE bench_pgbench_relations (LIKE relations INCLUDING ALL);
ALTER TABLE bench_pgbench_relations
    ADD FOREIGN KEY (organisation_id) REFERENCES organisations (id),
    ADD FOREIGN KEY (dossier_type_id) REFERENCES dossier_types (id);

VACUUM (ANALYZE);
