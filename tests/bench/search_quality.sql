-- The baseline of the search-quality benchmark: what a PostgreSQL user would write for a
-- phonetic person search with fuzzystrmatch (double metaphone, soundex) and pg_trgm
-- (trigram similarity), with their indexes. psql -f search_quality.sql < persons.csv, in a
-- database of its own (tests/search_quality/benchmark.rs creates and drops it).
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE bench_persons (
    ssin        text PRIMARY KEY,
    last_name   text NOT NULL,
    first_names text NOT NULL,
    birth_code  integer NOT NULL, -- yyyymmdd, 00 for an unknown month or day
    gender      text
);

\copy bench_persons FROM pstdin WITH (FORMAT csv)

CREATE INDEX bench_persons_dmetaphone ON bench_persons (dmetaphone(last_name), birth_code);
CREATE INDEX bench_persons_soundex ON bench_persons (soundex(last_name), birth_code);
CREATE INDEX bench_persons_trigram ON bench_persons USING gin (last_name gin_trgm_ops);
CREATE INDEX bench_persons_birth ON bench_persons (birth_code);
ANALYZE bench_persons;
