-- E-mail notifications: an organisation's contact addresses; the durable outbox of the
-- e-mails owed to them, composed in the transaction that decides them and sent by the
-- mailer inside `serve`; the notices given for a delivery (each at most once); and how far
-- each organisation's daily summary has read its mailbox's events.
CREATE TABLE organisation_contacts (
    id BIGSERIAL PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    address TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (organisation_id, address)
);

CREATE TABLE email_messages (
    id BIGSERIAL PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    kind TEXT NOT NULL,
    -- One contact address: each contact gets an e-mail of its own, so that an address the
    -- SMTP server refuses never holds back the others.
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    -- A process sending it holds it until then.
    claimed_until TIMESTAMP,
    sent_at TIMESTAMP,
    gave_up_at TIMESTAMP,
    last_error TEXT
);
CREATE INDEX email_messages_due ON email_messages (next_attempt_at)
    WHERE sent_at IS NULL AND gave_up_at IS NULL;
CREATE INDEX email_messages_by_organisation ON email_messages (organisation_id, id);

ALTER TABLE deliveries ADD COLUMN unread_notice_at TIMESTAMP;
ALTER TABLE deliveries ADD COLUMN expiry_notice_at TIMESTAMP;
CREATE INDEX deliveries_awaiting_unread_notice ON deliveries (document_id)
    WHERE first_downloaded_at IS NULL AND unread_notice_at IS NULL;
CREATE INDEX deliveries_awaiting_expiry_notice ON deliveries (document_id)
    WHERE first_downloaded_at IS NULL AND expiry_notice_at IS NULL;

CREATE TABLE mail_summaries (
    organisation_id INTEGER PRIMARY KEY REFERENCES organisations (id),
    -- The last mailbox event the organisation's last summary covered.
    last_event_seq BIGINT NOT NULL,
    summarised_at TIMESTAMP NOT NULL
);
