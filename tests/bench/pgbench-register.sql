-- pgbench script (-D lines=N -D org=ID -D type=ID): the database side of a registration,
-- without the service. One transaction: lock a random existing register line, insert one line.
-- relations ids 1 … N exist after seeding; the insert goes to a copy of the relations table
-- (same columns, indexes and foreign keys; see seed-postgres.sql) so the register itself
-- stays as seeded.
\set id random(1, :lines)
\set k random(0, 99999999999)
BEGIN;
SELECT id, begin_date, end_date FROM relations WHERE id = :id FOR UPDATE;
INSERT INTO bench_pgbench_relations (organisation_id, ssin, dossier_type_id, begin_date, end_date, created_at)
    VALUES (:org, lpad(:k::text, 11, '0'), :type, DATE '2024-01-01', NULL, (now() AT TIME ZONE 'UTC')::timestamp(6));
COMMIT;
