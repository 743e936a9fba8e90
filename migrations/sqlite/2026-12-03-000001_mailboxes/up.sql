-- Mailboxes: each document (a daily file with its voucher and signature, or a broadcast) is
-- stored once and delivered to one or more organisations; the deliveries keep the proof of
-- receipt; the mailbox events are the pull feed (and the webhooks' source), in commit order.
CREATE TABLE documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_type TEXT NOT NULL,
    file_name TEXT NOT NULL,
    subject TEXT,
    -- Relative to the outbox: the file, and for a daily file its voucher and signature.
    location TEXT NOT NULL,
    voucher_location TEXT,
    signature_location TEXT,
    batch_file_id INTEGER UNIQUE REFERENCES batch_files (id),
    reference_date DATE,
    sequence_number BIGINT,
    records BIGINT,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    registered BOOLEAN NOT NULL,
    published_by TEXT NOT NULL,
    published_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    -- Set when the document expired; its files are removed after the commit (removed_at).
    expired_at TIMESTAMP,
    removed_at TIMESTAMP
);
CREATE INDEX documents_by_expiry ON documents (expires_at) WHERE expired_at IS NULL;
CREATE INDEX documents_to_remove ON documents (expired_at) WHERE removed_at IS NULL;

CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    document_id INTEGER NOT NULL REFERENCES documents (id),
    first_downloaded_at TIMESTAMP,
    first_downloaded_by TEXT,
    UNIQUE (organisation_id, document_id)
);
CREATE INDEX deliveries_by_mailbox ON deliveries (organisation_id, id);
CREATE INDEX deliveries_by_document ON deliveries (document_id);

CREATE TABLE mailbox_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id),
    kind TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX mailbox_events_by_mailbox ON mailbox_events (organisation_id, seq);

-- What an audited call was about beyond a person (e.g. `delivery:42`).
ALTER TABLE audit_entries ADD COLUMN target TEXT;
