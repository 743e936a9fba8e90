#!/usr/bin/env bash
# The phonetic search's quality benchmark: recall per corruption kind of raas's search
# (find_candidates, the function behind searchPersonByPhoneticCriteria and `raas search`)
# on a generated population, side by side with a PostgreSQL fuzzystrmatch/pg_trgm
# baseline on the same data and queries. Report: target/bench/search_quality.md.
#
#   tests/bench/search_quality.sh [PERSONS] [QUERIES_PER_KIND]
#
# PERSONS defaults to 1000000, QUERIES_PER_KIND to 200. SEARCH_QUALITY_SEED (1) picks the
# population; the imported SQLite file is kept in target/bench/search_quality for reruns
# (delete it to regenerate). The baseline needs a PostgreSQL server:
# SEARCH_QUALITY_POSTGRES or TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres);
# it creates and drops the database raas_bench_quality_baseline.
set -euo pipefail
cd "$(dirname "$0")/../.."

export SEARCH_QUALITY_PERSONS="${1:-${SEARCH_QUALITY_PERSONS:-1000000}}"
export SEARCH_QUALITY_QUERIES="${2:-${SEARCH_QUALITY_QUERIES:-200}}"
export SEARCH_QUALITY_POSTGRES="${SEARCH_QUALITY_POSTGRES:-${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}}"

cargo test --release --test search_quality -- --ignored --nocapture search_quality
echo "report: target/bench/search_quality.md"
