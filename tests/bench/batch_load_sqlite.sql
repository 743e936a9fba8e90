-- The batch benchmark's organisations, dossier types and register lines, bulk-loaded into a
-- migrated SQLite database whose persons are imported already (batch.sh runs it with
-- sqlite3 -cmd '.parameter set @organisations …' -cmd '.parameter set @registers …'
-- -cmd '.parameter set @relations …'). Same rows as batch_load_postgres.sql:
--
-- - organisations 1 … @organisations, enterprise numbers 08000001xx …; the first @registers
--   hold the register lines, register r (= organisation r) has 1 + r % 3 dossier types
--   (TYPE_A, TYPE_B, TYPE_C), the others one (TYPE_A);
-- - @relations lines, register r holding a share 1/r of them (a harmonic skew: at 50 M lines
--   in 2 000 registers, 6 M lines down to 3 000), register 1 the rounding remainder;
-- - the lines of register r go to consecutive persons of a fixed shuffle of the source (by
--   serial, then number) from a pseudo-random offset: one line per person and register, so
--   the lines of one key never overlap; the dossier type cycles through the register's; begin
--   dates 2015 … 2024, one line in seven ended a year or more later (some before today).
-- The lines go in register by register.
-- Columns in the text forms diesel writes ('YYYY-MM-DD', 'YYYY-MM-DD HH:MM:SS.ffffff').
-- batch.sh drops the indexes of relations before and makes them again after, as the
-- migrations defined them, then ANALYZEs and goes back to the write-ahead log.
.bail on
-- A rollback journal while loading: the new pages need none, where the WAL would hold them all.
PRAGMA journal_mode = DELETE;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -262144;
BEGIN;
CREATE TEMP TABLE bench_stamp AS SELECT strftime('%Y-%m-%d %H:%M:%f', 'now') || '000' AS stamp;

INSERT INTO organisations (id, cbe_number, name, created_at)
WITH RECURSIVE k(r) AS (SELECT 1 UNION ALL SELECT r + 1 FROM k WHERE r < @organisations)
SELECT r, printf('%08d%02d', 8000000 + r, 97 - (8000000 + r) % 97),
       CASE WHEN r <= @registers THEN 'Bench register ' ELSE 'Bench organisation ' END || r,
       (SELECT stamp FROM bench_stamp)
FROM k;

INSERT INTO dossier_types (organisation_id, code, description, created_at)
SELECT o.id, t.code, NULL, (SELECT stamp FROM bench_stamp)
FROM organisations o
JOIN (SELECT 0 AS i, 'TYPE_A' AS code UNION ALL SELECT 1, 'TYPE_B' UNION ALL SELECT 2, 'TYPE_C') t
  ON t.i < CASE WHEN o.id <= @registers THEN 1 + o.id % 3 ELSE 1 END
ORDER BY o.id, t.i;

CREATE TEMP TABLE bench_register (
    r INTEGER PRIMARY KEY, size INTEGER NOT NULL, first_person INTEGER NOT NULL,
    types INTEGER NOT NULL, first_type INTEGER NOT NULL);
INSERT INTO bench_register
WITH RECURSIVE k(r) AS (SELECT 1 UNION ALL SELECT r + 1 FROM k WHERE r < @registers),
h(total) AS (SELECT sum(1.0 / r) FROM k)
SELECT r, CAST(@relations / (r * total) AS INTEGER),
       (r * 7919 * 104729) % (SELECT count(*) FROM persons),
       1 + r % 3,
       (SELECT min(id) FROM dossier_types WHERE organisation_id = r)
FROM k, h;
UPDATE bench_register SET size = size + (@relations - (SELECT sum(size) FROM bench_register))
WHERE r = 1;

CREATE TEMP TABLE bench_person (n INTEGER PRIMARY KEY, ssin TEXT NOT NULL);
INSERT INTO bench_person (n, ssin)
SELECT row_number() OVER (ORDER BY substr(ssin, 7, 3), ssin) - 1, ssin FROM persons;

CREATE TEMP TABLE bench_line (j INTEGER PRIMARY KEY);
INSERT INTO bench_line
WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k
                        WHERE j + 1 < (SELECT max(size) FROM bench_register))
SELECT j FROM k;

INSERT INTO relations (organisation_id, ssin, dossier_type_id, begin_date, end_date, created_at)
SELECT g.r, p.ssin, g.first_type + l.j % g.types,
       date('2015-01-01', '+' || ((l.j * 7 + g.r) % 3650) || ' days'),
       CASE WHEN (l.j + g.r) % 7 = 0
            THEN date('2015-01-01', '+' || ((l.j * 7 + g.r) % 3650 + 365 + l.j % 1200) || ' days')
       END,
       (SELECT stamp FROM bench_stamp)
FROM bench_register g
JOIN bench_line l ON l.j < g.size
JOIN bench_person p ON p.n = (g.first_person + l.j) % (SELECT count(*) FROM bench_person);
COMMIT;
