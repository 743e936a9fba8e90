-- The persons of the source for the numbers of bench_person (k, ssin, male, stamp), which
-- seed-postgres.sql and seed-sqlite.sql fill in their own dialect and then include this file
-- (plain SQL both understand). The columns are those of PersonRow (src/store/person.rs):
-- active, version 1, source 'bench-seed', an identity that fits the number (its birth date,
-- 19YY-MM-DD; odd serials are men), updated at `stamp`. The rows go in by ssin order.
INSERT INTO persons (ssin, status, last_name, first_names, birth_date, gender, nationality,
                     version, source, updated_at)
SELECT ssin,
       'ACTIVE',
       CASE k % 8 WHEN 0 THEN 'Peeters' WHEN 1 THEN 'Janssens' WHEN 2 THEN 'Maes' WHEN 3 THEN 'Jacobs'
                  WHEN 4 THEN 'Mertens' WHEN 5 THEN 'Willems' WHEN 6 THEN 'Claes' ELSE 'Dubois' END,
       CASE WHEN male THEN 'Jan;Pieter' ELSE 'Marie' END,
       '19' || substr(ssin, 1, 2) || '-' || substr(ssin, 3, 2) || '-' || substr(ssin, 5, 2),
       CASE WHEN male THEN 'M' ELSE 'F' END,
       'BE',
       1,
       'bench-seed',
       stamp
FROM bench_person
ORDER BY k;
