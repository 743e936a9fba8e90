-- The given-name bits of the person (domain::name_search::given_name_bits) on each of its
-- index rows: a search over a wide birth-date window reads last-name keys only and ranks
-- first the persons who share a given name with the one asked, without reading the given
-- names' rows. Filled by the index's rebuild (name_search::KEY_VERSION 3). The bits are
-- carried in the primary key's index (INCLUDE), so that a probe stays an index-only scan:
-- without them every row found would fetch its heap page.
ALTER TABLE person_search_keys ADD COLUMN given_name_bits INTEGER NOT NULL DEFAULT 0;
ALTER TABLE person_search_keys DROP CONSTRAINT person_search_keys_pkey;
ALTER TABLE person_search_keys ADD CONSTRAINT person_search_keys_pkey
    PRIMARY KEY (search_key, birth, ssin) INCLUDE (given_name_bits);
