-- OAuth 2.0 clients of the REST API are credentials with scopes (a SOAP credential has none):
-- the same secret hashing, throttling and revocation.
ALTER TABLE credentials ADD COLUMN scopes TEXT;

-- The Ed25519 keys that sign the access tokens of raas's own token endpoint, shared by every
-- process on the database (the newest signs; every key verifies and is in the JWKS).
CREATE TABLE token_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    private_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
