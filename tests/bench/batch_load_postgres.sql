-- The batch benchmark's organisations, dossier types and register lines, bulk-loaded into a
-- migrated PostgreSQL database whose persons are imported already (batch.sh runs it with
-- psql -v organisations=… -v registers=… -v relations=…). The same rows as
-- batch_load_sqlite.sql (see there); the foreign keys are not checked row by row
-- (session_replication_role = replica: every id is made here). batch.sh drops the indexes of
-- relations before and makes them again after, as the migrations defined them, then VACUUM
-- ANALYZEs.
\set ON_ERROR_STOP on
SET synchronous_commit = off;
SET maintenance_work_mem = '512MB';
SET work_mem = '256MB';
BEGIN;
SET LOCAL session_replication_role = replica;
CREATE TEMP TABLE bench_stamp AS SELECT (now() AT TIME ZONE 'UTC')::timestamp(6) AS stamp;

INSERT INTO organisations (id, cbe_number, name, created_at)
SELECT r, lpad((8000000 + r)::text, 8, '0') || lpad((97 - (8000000 + r) % 97)::text, 2, '0'),
       CASE WHEN r <= :registers THEN 'Bench register ' ELSE 'Bench organisation ' END || r,
       (SELECT stamp FROM bench_stamp)
FROM generate_series(1, :organisations) AS r;
SELECT setval('organisations_id_seq', :organisations);

INSERT INTO dossier_types (organisation_id, code, description, created_at)
SELECT o.id, t.code, NULL, (SELECT stamp FROM bench_stamp)
FROM organisations o
JOIN (VALUES (0, 'TYPE_A'), (1, 'TYPE_B'), (2, 'TYPE_C')) AS t (i, code)
  ON t.i < CASE WHEN o.id <= :registers THEN 1 + o.id % 3 ELSE 1 END
ORDER BY o.id, t.i;

CREATE TEMP TABLE bench_register (
    r INTEGER PRIMARY KEY, size BIGINT NOT NULL, first_person BIGINT NOT NULL,
    types INTEGER NOT NULL, first_type INTEGER NOT NULL);
INSERT INTO bench_register
SELECT r, floor(:relations / (r * total))::bigint,
       (r::bigint * 7919 * 104729) % (SELECT count(*) FROM persons),
       1 + r % 3,
       (SELECT min(id) FROM dossier_types WHERE organisation_id = r)
FROM generate_series(1, :registers) AS r,
     (SELECT sum(1.0 / k) AS total FROM generate_series(1, :registers) AS k) AS h;
UPDATE bench_register SET size = size + (:relations - (SELECT sum(size) FROM bench_register))
WHERE r = 1;

CREATE TEMP TABLE bench_person AS
SELECT (row_number() OVER (ORDER BY substr(ssin, 7, 3), ssin) - 1)::bigint AS n, ssin
FROM persons;
CREATE UNIQUE INDEX ON bench_person (n);
ANALYZE bench_person;
ANALYZE bench_register;

INSERT INTO relations (organisation_id, ssin, dossier_type_id, begin_date, end_date, created_at)
SELECT g.r, p.ssin, g.first_type + (l.j % g.types)::int,
       DATE '2015-01-01' + ((l.j * 7 + g.r) % 3650)::int,
       CASE WHEN (l.j + g.r) % 7 = 0
            THEN DATE '2015-01-01' + ((l.j * 7 + g.r) % 3650 + 365 + l.j % 1200)::int
       END,
       (SELECT stamp FROM bench_stamp)
FROM bench_register g
CROSS JOIN LATERAL generate_series(0::bigint, g.size - 1) AS l (j)
JOIN bench_person p ON p.n = (g.first_person + l.j) % (SELECT count(*) FROM bench_person);
SELECT setval('relations_id_seq', (SELECT coalesce(max(id), 1) FROM relations));
COMMIT;
