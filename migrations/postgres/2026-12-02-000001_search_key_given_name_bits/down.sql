ALTER TABLE person_search_keys DROP CONSTRAINT person_search_keys_pkey;
ALTER TABLE person_search_keys ADD CONSTRAINT person_search_keys_pkey PRIMARY KEY (search_key, birth, ssin);
ALTER TABLE person_search_keys DROP COLUMN given_name_bits;
