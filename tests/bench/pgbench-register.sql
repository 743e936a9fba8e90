-- pgbench script (-D lines=N -D persons=P -D org=ID -D type=ID -D code=CODE -D cbe=CBE): the
-- SQL of one registration (src/service/register.rs `change_key`), without the service: the
-- register key's lock and the person's shared lock in the BEGIN round trip; the dossier type,
-- the key's lines and the person's status in one statement; the new line; the call's audit
-- entry; COMMIT. The person is a random one of the source without a line (indexes lines …
-- persons − 1 of niss.lua, as registerPerson's runs use). The line goes to a copy of the
-- relations table (same columns, indexes and foreign keys; see seed-postgres.sql) so the
-- register itself stays as seeded; the audit entry goes to audit_entries, as the service's.
\set k random(:lines, :persons - 1)
\set base (((:k / 997 / 28 / 12) * 100 + (:k / 997 / 28) % 12 + 1) * 100 + (:k / 997) % 28 + 1) * 1000 + :k % 997 + 1
\set check 97 - :base % 97
\set ticket random(1, 999999999999)
BEGIN;
SELECT pg_advisory_xact_lock(:k), pg_advisory_xact_lock_shared(-1 - :k);
SELECT t.id, t.retired_at IS NOT NULL, r.id, r.begin_date, r.end_date, p.status, p.replaced_by
FROM dossier_types t
LEFT JOIN relations r ON r.organisation_id = :org AND r.ssin = lpad(:base::text, 9, '0') || lpad(:check::text, 2, '0')
    AND r.dossier_type_id = t.id
LEFT JOIN persons p ON p.ssin = lpad(:base::text, 9, '0') || lpad(:check::text, 2, '0')
WHERE t.organisation_id = :org AND t.code = :code
ORDER BY r.begin_date;
INSERT INTO bench_pgbench_relations (organisation_id, ssin, dossier_type_id, begin_date, end_date, created_at)
    VALUES (:org, lpad(:base::text, 9, '0') || lpad(:check::text, 2, '0'), :type, DATE '2024-01-01', NULL,
            (now() AT TIME ZONE 'UTC')::timestamp(6));
INSERT INTO audit_entries (recorded_at, service, operation, organisation_id, claimed_cbe_number, username,
                           ssin, legal_context, client_ticket, server_ticket, outcome)
    VALUES ((now() AT TIME ZONE 'UTC')::timestamp(6), 'PersonRegisterService', 'registerPerson', :org, :cbe,
            'bench', lpad(:base::text, 9, '0') || lpad(:check::text, 2, '0'), NULL, 'bench-p-' || :ticket,
            'pgbench-' || :ticket, 'OK');
COMMIT;
