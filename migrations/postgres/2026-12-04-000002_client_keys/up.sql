-- OAuth clients that authenticate with private_key_jwt (RFC 7523 §2.2): the PEM public key
-- their assertions are checked with; and the assertions' jti seen until they expire, so
-- that an assertion is used once.
ALTER TABLE credentials ADD COLUMN public_key TEXT;
CREATE TABLE client_assertions (
    jti TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX client_assertions_by_expiry ON client_assertions (expires_at);
