-- Seeds the source with :persons persons and the register with :n lines (psql -v n=… -v
-- persons=… -v cbe=… -v code=…; seed.sh VACUUMs and ANALYZEs after), one line for each of the
-- first :n persons, for the organisation and dossier type created through `raas admin`. Person k (0 ≤ k < :persons) has
-- the NISS niss.lua gives for index k; the persons' columns are in seed-persons.sql, the
-- lines' are those the service writes (src/store/relation.rs): dates, a UTC timestamp with
-- microseconds, a quarter of the lines closed after a year. The rows go in by ssin order.
\set ON_ERROR_STOP on
CREATE TEMP TABLE bench_person AS
SELECT k, lpad(x.base::text, 9, '0') || lpad((97 - x.base % 97)::text, 2, '0') AS ssin,
       x.base % 2 = 1 AS male, (now() AT TIME ZONE 'UTC')::timestamp(6) AS stamp
FROM generate_series(0::bigint, :persons - 1) AS k
CROSS JOIN LATERAL (
    SELECT (((k / 997 / 28 / 12) * 100 + (k / 997 / 28) % 12 + 1) * 100
            + (k / 997) % 28 + 1) * 1000 + k % 997 + 1 AS base
) AS x;

\ir seed-persons.sql

-- Or, when this seeds no persons (:persons = 0) into a source that holds some, the first :n
-- active ones, by number.
INSERT INTO bench_person (k, ssin)
SELECT row_number() OVER (ORDER BY ssin) - 1, ssin
FROM (SELECT ssin FROM persons WHERE :persons = 0 AND status = 'ACTIVE' ORDER BY ssin LIMIT :n) AS p;

INSERT INTO relations (organisation_id, ssin, dossier_type_id, begin_date, end_date, created_at)
SELECT t.organisation_id,
       p.ssin,
       t.id,
       DATE '2015-01-01' + (k % 3000)::int,
       CASE WHEN k % 4 = 0 THEN DATE '2015-01-01' + (k % 3000)::int + 365 END,
       (now() AT TIME ZONE 'UTC')::timestamp(6)
FROM dossier_types t
JOIN organisations o ON o.id = t.organisation_id
CROSS JOIN bench_person p
WHERE p.k < :n AND o.cbe_number = :'cbe' AND t.code = :'code'
ORDER BY p.k;

-- The table pgbench-register.sql inserts into: the columns, indexes and foreign keys of
-- relations, apart from the register itself.
DROP TABLE IF EXISTS bench_pgbench_relations;
CREATE TABLE bench_pgbench_relations (LIKE relations INCLUDING ALL);
ALTER TABLE bench_pgbench_relations
    ADD FOREIGN KEY (organisation_id) REFERENCES organisations (id),
    ADD FOREIGN KEY (dossier_type_id) REFERENCES dossier_types (id);
