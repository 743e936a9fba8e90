-- The batch engine: subscriptions to the daily files, the Dimona source (periods and the
-- declarations that made them, in commit order), and the daily runs with the files they made.
CREATE TABLE subscriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    file_type TEXT NOT NULL,
    authorisation TEXT,
    authorised_from DATE,
    authorised_to DATE,
    starts_on DATE NOT NULL,
    ends_on DATE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX subscriptions_by_organisation ON subscriptions (organisation_id, file_type);

-- No row for a subscription: every dossier type of its organisation.
CREATE TABLE subscription_dossier_types (
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id),
    dossier_type_id INTEGER NOT NULL REFERENCES dossier_types (id),
    PRIMARY KEY (subscription_id, dossier_type_id)
);

CREATE TABLE dimona_periods (
    period_id BIGINT PRIMARY KEY NOT NULL,
    employer_cbe TEXT,
    employer_nsso TEXT,
    worker_ssin TEXT NOT NULL,
    starts_on DATE NOT NULL,
    start_hour TEXT,
    ends_on DATE,
    end_hour TEXT,
    joint_committee TEXT NOT NULL,
    worker_type TEXT NOT NULL,
    using_employer_cbe TEXT,
    planned_hours TEXT,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX dimona_periods_by_worker ON dimona_periods (worker_ssin);

-- One row per applied declaration, with the period as it stood after it (a CANCEL: as it was).
CREATE TABLE dimona_declarations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_at TIMESTAMP NOT NULL,
    file_id TEXT NOT NULL,
    record_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    period_id BIGINT NOT NULL,
    employer_cbe TEXT,
    employer_nsso TEXT,
    worker_ssin TEXT NOT NULL,
    starts_on DATE NOT NULL,
    start_hour TEXT,
    ends_on DATE,
    end_hour TEXT,
    joint_committee TEXT NOT NULL,
    worker_type TEXT NOT NULL,
    using_employer_cbe TEXT,
    planned_hours TEXT
);

CREATE TABLE batch_runs (
    reference_date DATE PRIMARY KEY NOT NULL,
    journal_after BIGINT NOT NULL,
    journal_upto BIGINT NOT NULL,
    dimona_after BIGINT NOT NULL,
    dimona_upto BIGINT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    files INTEGER NOT NULL,
    records BIGINT NOT NULL,
    trigger_name TEXT NOT NULL
);

CREATE TABLE batch_files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reference_date DATE NOT NULL REFERENCES batch_runs (reference_date),
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id),
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    file_type TEXT NOT NULL,
    sequence_number BIGINT NOT NULL,
    file_name TEXT NOT NULL,
    server_ticket TEXT NOT NULL,
    records BIGINT,
    size BIGINT,
    sha256 TEXT,
    written_at TIMESTAMP,
    UNIQUE (organisation_id, file_type, sequence_number),
    UNIQUE (reference_date, subscription_id)
);
