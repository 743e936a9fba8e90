DROP TABLE search_index;
DROP TABLE person_search_keys;
