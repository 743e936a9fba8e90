-- The authentic identity source: persons (current state, clustered by number), the mutation
-- journal (every change, with a monotonic sequence; a person's history is its entries),
-- the operations organisations are granted, and the feed files already applied.
CREATE TABLE persons (
    ssin TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    replaced_by TEXT,
    last_name TEXT NOT NULL,
    first_names TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    gender TEXT,
    nationality TEXT,
    birth_place TEXT,
    street TEXT,
    house_number TEXT,
    post_box TEXT,
    postal_code TEXT,
    municipality TEXT,
    country TEXT,
    decease_date TEXT,
    version INTEGER NOT NULL,
    source TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
) WITHOUT ROWID;

CREATE TABLE mutation_journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_at TIMESTAMP NOT NULL,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    ssin TEXT NOT NULL,
    new_ssin TEXT,
    organisation_id INTEGER,
    changes TEXT
);
CREATE INDEX mutation_journal_by_ssin ON mutation_journal (ssin, seq);

CREATE TABLE grants (
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    operation TEXT NOT NULL,
    granted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (organisation_id, operation)
);

CREATE TABLE applied_files (
    file_id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    digest TEXT NOT NULL,
    records BIGINT NOT NULL,
    applied_at TIMESTAMP NOT NULL
);

CREATE INDEX relations_by_ssin ON relations (ssin);
