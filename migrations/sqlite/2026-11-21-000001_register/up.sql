-- Organisations (users of the register), their credentials, their dossier types,
-- the register lines themselves and the audit trail.
CREATE TABLE organisations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cbe_number TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE credentials (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    username TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

CREATE TABLE dossier_types (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    code TEXT NOT NULL,
    description TEXT,
    created_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP,
    UNIQUE (organisation_id, code)
);

CREATE TABLE relations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    ssin TEXT NOT NULL,
    dossier_type_id INTEGER NOT NULL REFERENCES dossier_types (id),
    begin_date DATE NOT NULL,
    end_date DATE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX relations_by_person ON relations (organisation_id, ssin, dossier_type_id, begin_date);

CREATE TABLE audit_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_at TIMESTAMP NOT NULL,
    service TEXT NOT NULL,
    operation TEXT NOT NULL,
    organisation_id INTEGER,
    claimed_cbe_number TEXT,
    username TEXT,
    ssin TEXT,
    legal_context TEXT,
    client_ticket TEXT,
    server_ticket TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX audit_entries_by_ssin ON audit_entries (ssin, recorded_at);
