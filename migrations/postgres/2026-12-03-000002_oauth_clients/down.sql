DROP TABLE token_keys;
ALTER TABLE credentials DROP COLUMN scopes;
