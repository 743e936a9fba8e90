ALTER TABLE person_search_keys DROP COLUMN given_name_bits;
