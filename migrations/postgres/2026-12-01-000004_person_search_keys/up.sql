-- The phonetic search's index: one row per search key of a person (a hash of the phonetic
-- code of a last-name form or of the first given name, domain::name_search) with its birth
-- date as yyyymmdd (00 where unknown). A search reads key by key within birth-date windows;
-- the rows alone tell the candidates (no visit to persons until they are ranked). Only
-- active numbers have keys. Numbers compare bytewise ("C", like persons.ssin): the key's
-- build and the search's reads do not pay for a linguistic collation.
CREATE TABLE person_search_keys (
    search_key BIGINT NOT NULL,
    birth INTEGER NOT NULL,
    ssin TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (search_key, birth, ssin)
);

-- Which derivation of the keys the index holds (domain::name_search::KEY_VERSION), so that
-- a changed derivation rebuilds it.
CREATE TABLE search_index (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    key_version INTEGER NOT NULL,
    built_at TIMESTAMP NOT NULL
);
