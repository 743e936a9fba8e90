-- Seeds the source with @persons persons and the register with @n lines (sqlite3 -cmd
-- '.parameter set @n …' …, run from this folder: it reads seed-persons.sql; seed.sh VACUUMs and
-- ANALYZEs after), one line for each of the first @n persons, for the organisation @cbe and dossier type @code created through
-- `raas admin`. Same numbering, columns and identities as seed-postgres.sql; dates and
-- timestamps in the text forms diesel writes ('YYYY-MM-DD', 'YYYY-MM-DD HH:MM:SS.ffffff').
.bail on
BEGIN;
CREATE TEMP TABLE bench_person AS
WITH RECURSIVE person(k) AS (
    SELECT 0 WHERE @persons > 0
    UNION ALL
    SELECT k + 1 FROM person WHERE k + 1 < @persons
),
numbered(k, base) AS (
    SELECT k, (((k / 997 / 28 / 12) * 100 + (k / 997 / 28) % 12 + 1) * 100
               + (k / 997) % 28 + 1) * 1000 + k % 997 + 1
    FROM person
)
SELECT k, printf('%09d%02d', base, 97 - base % 97) AS ssin, base % 2 = 1 AS male,
       strftime('%Y-%m-%d %H:%M:%f', 'now') || '000' AS stamp
FROM numbered;

.read seed-persons.sql

-- Or, when this seeds no persons (@persons = 0) into a source that holds some, the first @n
-- active ones, by number.
INSERT INTO bench_person (k, ssin)
SELECT row_number() OVER (ORDER BY ssin) - 1, ssin
FROM (SELECT ssin FROM persons WHERE @persons = 0 AND status = 'ACTIVE' ORDER BY ssin LIMIT @n) AS p;

INSERT INTO relations (organisation_id, ssin, dossier_type_id, begin_date, end_date, created_at)
SELECT t.organisation_id,
       p.ssin,
       t.id,
       date('2015-01-01', '+' || (k % 3000) || ' days'),
       CASE WHEN k % 4 = 0 THEN date('2015-01-01', '+' || (k % 3000 + 365) || ' days') END,
       strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'
FROM bench_person p
JOIN dossier_types t
JOIN organisations o ON o.id = t.organisation_id
WHERE p.k < @n AND o.cbe_number = @cbe AND t.code = @code
ORDER BY p.k;
DROP TABLE bench_person;
COMMIT;
