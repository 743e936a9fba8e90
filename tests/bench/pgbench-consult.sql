-- pgbench script (-D lines=N -D org=ID -D cbe=CBE): the SQL of one consultation
-- (src/service/register.rs `consult_register`), without the service: the person's status in
-- the source, the person's lines with their dossier types, and the call's audit entry,
-- committed on its own (the service commits waiting entries in groups: this does at least
-- the work of the service). The person is a random seeded one, holding one line (indexes
-- 0 … lines − 1 of niss.lua, as consultRegister's runs use).
\set k random(0, :lines - 1)
\set base (((:k / 997 / 28 / 12) * 100 + (:k / 997 / 28) % 12 + 1) * 100 + (:k / 997) % 28 + 1) * 1000 + :k % 997 + 1
\set check 97 - :base % 97
\set ticket random(1, 999999999999)
SELECT status, replaced_by FROM persons WHERE ssin = lpad(:base::text, 9, '0') || lpad(:check::text, 2, '0');
SELECT t.code, r.begin_date, r.end_date
FROM relations r JOIN dossier_types t ON t.id = r.dossier_type_id
WHERE r.organisation_id = :org AND r.ssin = lpad(:base::text, 9, '0') || lpad(:check::text, 2, '0')
ORDER BY t.code, r.begin_date;
INSERT INTO audit_entries (recorded_at, service, operation, organisation_id, claimed_cbe_number, username,
                           ssin, legal_context, client_ticket, server_ticket, outcome)
    VALUES ((now() AT TIME ZONE 'UTC')::timestamp(6), 'PersonRegisterService', 'consultRegister', :org, :cbe,
            'bench', lpad(:base::text, 9, '0') || lpad(:check::text, 2, '0'), NULL, 'bench-p-' || :ticket,
            'pgbench-' || :ticket, 'OK');
