#!/usr/bin/env bash
# The search latency benchmark: searchPersonByPhoneticCriteria (PersonIdentificationService)
# through the real release server, on SQLite and PostgreSQL, with sources of 1 M, 5 M and 20 M
# generated persons, at 1 and at 32 concurrent clients, beside GET /livez (and on PostgreSQL
# pgbench committing one-row inserts: the audit commit's floor) measured in the same run. The criteria are drawn from the loaded persons with a documented mix of corruptions
# (search_queries.py). See README.md, "Search latency benchmark".
#
#   tests/bench/search_latency.sh                          # 1 M, 5 M, 20 M persons (≈ 1 h, ≈ 20 GB of disk at 20 M)
#   SIZES=1000000 tests/bench/search_latency.sh            # 1 M only (≈ 6 minutes)
#   KEEP_DB=1 SIZES=20000000 tests/bench/search_latency.sh # keep the 20 M databases…
#   REUSE_DB=1 SIZES=20000000 tests/bench/search_latency.sh  # …and measure them again
#   tests/bench/search_latency.sh --help
set -euo pipefail

BENCH_NAME=search_latency
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

usage() {
  cat <<'EOF_USAGE'
usage: tests/bench/search_latency.sh [--quick] [--no-build] [--sizes "N …"] [--clients "N …"]
                                     [--backends "sqlite postgres"] [--duration S] [--repeat N]

Every option is also an environment variable (flags win):
  QUICK=1          100 000 persons, 5 s runs, 1 repetition, 2 s warm-up
  SIZES            source sizes in persons            (default "1000000 5000000 20000000")
  CLIENTS          concurrent connections, each measured in turn (default "1 32")
  QUERIES          search requests drawn from the source (default 20000)
  SEED             the population's and the queries' seed (default 1)
  BY_KIND=0        skip the measurement of each kind of query alone (1 client, DURATION s each,
                   after the rounds; default on)
  PROFILE=1        `perf record` the server (on PostgreSQL also its backends) during the first
                   repetition of each search measurement: RUN_DIR/perf-*.txt (self time by
                   symbol, and inclusive time; *-postgres*.txt: the PostgreSQL processes)
  REUSE_DB=1       measure the databases a KEEP_DB=1 run left when they hold as many persons as
                   the size asks (only `raas migrate` then, no generation nor import)
EOF_USAGE
  bench_common_usage | grep -v '^  CLIENTS'
  cat <<'EOF_USAGE'
  PG_DB            the PostgreSQL database (default raas_bench_search_latency)
(THREADS is the client threads' ceiling: a measurement with fewer clients uses as many threads.)
The SQLite file is target/bench/search-latency.db.

Results: target/bench/search-latency-<time>/ (results.md, results.json, the queries, raw logs),
and a copy of the results in target/bench/search_latency.{md,json}. The population files are
deleted once loaded; the databases at the end unless KEEP_DB=1. Exit status 3 when any
request failed (a fault or another status than 200).
EOF_USAGE
}

bench_option() {
  case $1 in
    --quick) QUICK=1 ;;
    --sizes) SIZES=$2 OPTION_ARGS=2 ;;
    *) return 1 ;;
  esac
}

bench_parse_options "$@"

if [[ ${QUICK:-0} == 1 ]]; then
  SIZES=${SIZES:-100000} DURATION=${DURATION:-5} REPEAT=${REPEAT:-1} WARMUP=${WARMUP:-2}
fi
SIZES=${SIZES:-"1000000 5000000 20000000"}
CLIENT_COUNTS=${CLIENTS:-"1 32"}
QUERIES=${QUERIES:-20000}
SEED=${SEED:-1}
export RAAS_GENERATED_AT=${RAAS_GENERATED_AT:-2026-01-01T00:00:00Z}
# lib.sh knows one client count: the largest (meta.json); each measurement sets its own.
CLIENTS=$(tr ' ' '\n' <<<"$CLIENT_COUNTS" | sort -n | tail -n1)
REQUESTED_PG_DB=${PG_DB:-}
bench_defaults
MAX_THREADS=$THREADS
# Databases of their own: other benchmarks drop raas_bench.
PG_DB=${REQUESTED_PG_DB:-raas_bench_search_latency}

bench_setup search-latency wrk psql pgbench sqlite3 jq python3 curl pgrep flock /usr/bin/time

bench_database_url() { # backend
  case $1 in
    sqlite) echo "$ROOT/target/bench/search-latency.db" ;;
    postgres) echo "$PG_URL/$PG_DB" ;;
  esac
}

# One wrk measurement (measure_rounds): op is livez-N, identify-N, search-N or search@KIND-N,
# N the concurrent clients, KIND one kind of query alone (search_queries.py). identify-N is
# identifyPerson of the persons the queries were made from: the same SOAP pipeline (security
# header, grant, audit commit) reading one person by number, the floor of a search.
measure_op() { # phase op rep seconds
  local script=${2%-*} url=$BASE/soap/PersonIdentificationService queries=$QUERY_FILE
  if [[ $script == *@* ]]; then
    queries=${QUERY_FILE%.tsv}-${script#*@}.tsv
    awk -F'\t' -v kind="${script#*@}" '$1 == kind' "$QUERY_FILE" >"$queries"
    script=${script%@*}
  fi
  [[ $script == livez ]] && url=$BASE/livez
  CLIENTS=${2##*-}
  THREADS=$((CLIENTS < MAX_THREADS ? CLIENTS : MAX_THREADS))
  local profile=
  if [[ ${PROFILE:-0} == 1 && $1 == measure && $3 == 1 && $2 == search* ]]; then
    profile=$RUN_DIR/perf-$backend-$(human "$size")-$2
    # On PostgreSQL the whole machine, so that its backends' time is seen too.
    local target=(-p "$SERVER_PID")
    [[ $backend == postgres ]] && target=(-a)
    perf record -q -F 499 -g "${target[@]}" -o "$profile.data" -- sleep "$4" >/dev/null 2>&1 &
    PERF_PID=$!
  fi
  WRK_SCRIPT=$HERE/$script.lua run_wrk "$1" "$backend" "$size" "$2" "$3" "$4" "$url" \
    BENCH_QUERIES="$queries" BENCH_SAMPLE="$SAMPLE_FILE"
  server_memory "$1" "$2" "$3"
  if [[ -n $profile ]]; then
    wait "$PERF_PID" || true
    local part
    for part in server postgres; do
      local only=(--pid "$SERVER_PID") name=$profile
      if [[ $part == postgres ]]; then
        [[ $backend == postgres ]] || continue
        only=(--comm postgres) name=$profile-postgres
      fi
      perf report -i "$profile.data" "${only[@]}" --no-children --sort dso,symbol --percent-limit 0.5 \
        --stdio -g none 2>/dev/null | sed 's/ *$//' | grep -v '^$' | head -n 100 >"$name.txt" || true
      perf report -i "$profile.data" "${only[@]}" --children --sort symbol --percent-limit 1 \
        --stdio -g none 2>/dev/null | sed 's/ *$//' | grep -v '^$' | head -n 150 >"$name-children.txt" || true
    done
    rm -f "$profile.data"
    say "   profile of the server: $profile.txt, $profile-children.txt"
  fi
}

# On PostgreSQL, after each round: pgbench committing one-row inserts (search-commit.sql) at
# each client count, the floor of the audit commit every search waits for (op commit-N).
after_round() { # rep
  [[ $backend == postgres ]] || return 0
  PGOPTIONS="-c client_min_messages=warning" bench_query "$db_url" 'CREATE TABLE IF NOT EXISTS bench_commit_floor (id BIGSERIAL PRIMARY KEY, at TIMESTAMPTZ NOT NULL)' >/dev/null
  local c
  for c in $CLIENT_COUNTS; do
    CLIENTS=$c THREADS=$((c < MAX_THREADS ? c : MAX_THREADS))
    run_pgbench measure "$backend" "$size" "commit-$c" "$1" "$DURATION" "$db_url" "$HERE/search-commit.sql"
    show "$LAST"
  done
}

# Each kind of query alone, one client, one run of DURATION: which kinds make the tail.
measure_kinds() {
  local kind
  for kind in $(cut -f1 "$QUERY_FILE" | sort -u); do
    measure_op measure "search@$kind-1" 1 "$DURATION"
    show "$LAST"
  done
}

# The server's resident memory after a measurement (now and its peak), recorded as phase rss.
server_memory() { # phase op rep
  local rss hwm
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status")
  hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status")
  local saved=$LAST
  record "rss-$1" "$backend" "$size" "$2" "$3" "{\"vmrss_kib\":$rss,\"vmhwm_kib\":$hwm}" '{}'
  LAST=$saved
}

# The phonetic index of the loaded source: rows, bytes (table and its primary key), recorded
# as phase index.
index_figures() { # backend db_url
  local rows bytes
  rows=$(bench_query "$2" 'SELECT count(*) FROM person_search_keys')
  case $1 in
    sqlite) bytes=$(bench_query "$2" "SELECT sum(pgsize) FROM dbstat WHERE name = 'person_search_keys'") ;;
    postgres) bytes=$(bench_query "$2" "SELECT pg_total_relation_size('person_search_keys')") ;;
  esac
  record index "$1" "$size" index 0 "{\"rows\":$rows,\"bytes\":${bytes:-0}}" '{}'
  say "   index: $rows keys ($(awk -v r="$rows" -v n="$size" 'BEGIN { printf "%.2f", r / n }') a person), $((${bytes:-0} >> 20)) MiB"
}

# Whether REUSE_DB=1 may measure the database as it is: it holds `size` persons.
reusable() { # db_url
  [[ ${REUSE_DB:-0} == 1 ]] || return 1
  local count
  count=$(bench_query "$1" 'SELECT count(*) FROM persons' 2>/dev/null) || return 1
  [[ $count == "$size" ]]
}

# Disk: a population file (≈ 450 bytes a person) and one database at a time (≈ 400 bytes).
largest=$(tr ' ' '\n' <<<"$SIZES" | sort -n | tail -n1)
available=$(df --output=avail -B1 "$ROOT/target/bench" | tail -n1)
((largest * 900 < available || ${REUSE_DB:-0} == 1)) ||
  die "$(human "$largest") persons need about $((largest * 900 >> 30)) GiB of disk, $((available >> 30)) GiB free"

bench_write_meta "$(jq -c -n --arg sizes "$SIZES" --arg clients "$CLIENT_COUNTS" --argjson queries "$QUERIES" \
  --argjson seed "$SEED" --arg generated_at "$RAAS_GENERATED_AT" \
  '{sizes: ($sizes | split(" ") | map(select(. != "") | tonumber)),
    client_counts: ($clients | split(" ") | map(select(. != "") | tonumber)),
    queries: $queries, seed: $seed, generated_at: $generated_at}')"

say "== results in $RUN_DIR"
say "== sizes: $SIZES; backends: $BACKENDS; clients: $CLIENT_COUNTS (at most $MAX_THREADS client threads); $QUERIES queries; ${DURATION}s × $REPEAT per measurement, ${WARMUP}s warm-up; load average $(cut -d' ' -f1-3 /proc/loadavg)"

ops=()
for c in $CLIENT_COUNTS; do ops+=("livez-$c" "identify-$c" "search-$c"); done

for size in $SIZES; do
  POPULATION=$ROOT/target/bench/search-population-$size-$SEED.xml
  QUERY_FILE=$RUN_DIR/queries-$(human "$size").tsv
  SAMPLE_FILE=$RUN_DIR/sample-$(human "$size").tsv
  for backend in $BACKENDS; do
    db_url=$(bench_database_url "$backend")
    say "== $backend, source of $(human "$size") persons"
    CURRENT_DB=$db_url
    if reusable "$db_url"; then
      say "   reusing the database as it is ($(human "$size") persons)"
      "$RAAS_BIN" --database-url "$db_url" migrate >"$RUN_DIR/$backend-$(human "$size")-migrate.log" 2>&1
      # This run's secret is new: a credential of its own for the organisation (granted).
      BENCH_USERNAME=bench-$(date +%s)
      printf '%s\n' "$BENCH_PASSWORD" | "$RAAS_BIN" --database-url "$db_url" admin credential add \
        --cbe "$BENCH_CBE" --username "$BENCH_USERNAME" >/dev/null
      "$RAAS_BIN" --database-url "$db_url" admin grant --cbe "$BENCH_CBE" --operation identifyPerson >/dev/null
    else
      if [[ ! -s $POPULATION ]]; then
        BENCH_TEMPORARY_FILES+=("$POPULATION")
        generate_population "$size" "$SEED" "$POPULATION"
        record generate all "$size" generate 0 "{\"seconds\":$GENERATE_S,\"bytes\":$(stat -c %s "$POPULATION")}" '{}'
      fi
      # A fresh database with the bench organisation and its credential, no persons.
      "$HERE/seed.sh" "$backend" "$db_url" 0 0
      "$RAAS_BIN" --database-url "$db_url" admin grant --cbe "$BENCH_CBE" \
        --operation searchPersonByPhoneticCriteria >/dev/null
      "$RAAS_BIN" --database-url "$db_url" admin grant --cbe "$BENCH_CBE" --operation identifyPerson >/dev/null
      import_population "$backend" "$db_url" "$POPULATION" "$size"
      # Fresh planner statistics (the server runs no autovacuum of its own here).
      if [[ $backend == postgres ]]; then bench_query "$db_url" 'ANALYZE persons, person_search_keys' >/dev/null; fi
    fi
    index_figures "$backend" "$db_url"
    if [[ ! -s $QUERY_FILE ]]; then
      started=$(date +%s.%N)
      python3 "$HERE/search_queries.py" "$db_url" "$QUERIES" --seed "$SEED" >"$QUERY_FILE"
      say "   drew $(wc -l <"$QUERY_FILE") queries in $(seconds_since "$started") s"
    fi
    # identify-N's persons (sample.lua): number, last name, first name, birth date, gender.
    awk -F'\t' -v OFS='\t' '{ print $2, $3, $4, $6, $8 }' "$QUERY_FILE" >"$SAMPLE_FILE"
    start_server "$db_url" "$RUN_DIR/server-$backend-$(human "$size").log"

    measure_rounds "${ops[@]}"
    if [[ ${BY_KIND:-1} == 1 ]]; then measure_kinds; fi

    stop_server
    if [[ ${KEEP_DB:-0} != 1 ]]; then drop_database "$db_url"; fi
    CURRENT_DB=
  done
  # The next size needs the disk.
  rm -f "$POPULATION"
done

bench_finish search_latency "$HERE/search_report.py"
