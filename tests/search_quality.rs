//! The quality of the phonetic search, measured (ignored tests: they take minutes).
//!
//! - `encoders`: how the candidate phonetic encoders keep Belgian spelling variants
//!   together and how big their blocks are (the table in `domain::name_search`'s docs).
//! - `search_quality`: recall of `find_candidates` on a generated population, per
//!   corruption kind, against a PostgreSQL `fuzzystrmatch` / `pg_trgm` baseline
//!   (`tests/bench/search_quality.sh`).

#[path = "search_quality/corruption.rs"]
mod corruption;
#[path = "search_quality/encoders.rs"]
mod encoders;

#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn encoders() {
    println!("{}", encoders::compare_encoders());
}

#[path = "search_quality/benchmark.rs"]
mod benchmark;

#[test]
#[ignore = "a benchmark: tests/bench/search_quality.sh"]
fn search_quality() {
    println!("{}", benchmark::run());
}

#[test]
#[ignore]
fn show_pairs() {
    for (kind, pairs) in encoders::corrupted_pairs(5, 3) {
        println!("{:?}: {:?}", kind, pairs);
    }
}
