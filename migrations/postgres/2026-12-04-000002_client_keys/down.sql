DROP TABLE client_assertions;
ALTER TABLE credentials DROP COLUMN public_key;
