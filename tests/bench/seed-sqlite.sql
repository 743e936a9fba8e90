-- Seeds the register with @n lines (sqlite3 -cmd '.parameter set @n …' …), one per person,
-- for the organisation @cbe and dossier type @code created through `raas admin`. Same
-- numbering and columns as seed-postgres.sql; dates and timestamps in the text forms diesel
-- writes ('YYYY-MM-DD', 'YYYY-MM-DD HH:MM:SS.ffffff').
.bail on
BEGIN;
WITH RECURSIVE person(k) AS (
    SELECT 0 WHERE @n > 0
    UNION ALL
    SELECT k + 1 FROM person WHERE k + 1 < @n
),
numbered(k, base) AS (
    SELECT k, (((k / 997 / 28 / 12) * 100 + (k / 997 / 28) % 12 + 1) * 100
               + (k / 997) % 28 + 1) * 1000 + k % 997 + 1
    FROM person
)
INSERT INTO relations (organisation_id, ssin, dossier_type_id, begin_date, end_date, created_at)
SELECT t.organisation_id,
       printf('%09d%02d', numbered.base, 97 - numbered.base % 97),
       t.id,
       date('2015-01-01', '+' || (k % 3000) || ' days'),
       CASE WHEN k % 4 = 0 THEN date('2015-01-01', '+' || (k % 3000 + 365) || ' days') END,
       strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'
FROM numbered
JOIN dossier_types t
JOIN organisations o ON o.id = t.organisation_id
WHERE o.cbe_number = @cbe AND t.code = @code;
COMMIT;
VACUUM;
ANALYZE;
