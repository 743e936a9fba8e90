#!/usr/bin/env bash
# The identity benchmark: identifyPerson (PersonIdentificationService) and registerPerson with
# personData verified against the authentic source, through the real release server, on
# SQLite and PostgreSQL, with a source of PERSONS persons (a generated population loaded with
# `raas import persons`), beside GET /livez. See README.md.
#
#   tests/bench/identity.sh                       # 1 M persons (≈ 5 minutes on 2 cores)
#   PERSONS=20000000 tests/bench/identity.sh      # 20 M persons (≈ 20 GB of disk, ≈ 15 minutes)
#   tests/bench/identity.sh --quick               # smoke test: 100 k persons, 5 s runs, once
#   tests/bench/identity.sh --help
set -euo pipefail

BENCH_NAME=identity
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

usage() {
  cat <<'EOF_USAGE'
usage: tests/bench/identity.sh [--quick] [--no-build] [--persons N] [--lines N] [--sample N]
                               [--backends "sqlite postgres"] [--duration S] [--repeat N]
                               [--clients N] [--threads N]

Every option is also an environment variable (flags win):
  QUICK=1          100 000 persons, 5 s runs, 1 repetition, 2 s warm-up
  PERSONS          persons in the source                (default 1000000)
  LINES            register lines seeded before the run, one for each of the first LINES
                   persons of the source                (default 1000000, at most PERSONS)
  SAMPLE           persons sampled for the requests     (default 50000)
  SEED             the population's seed                (default 1)
  POPULATION       an existing population file to import instead of generating one (kept)
EOF_USAGE
  bench_common_usage
  cat <<'EOF_USAGE'

Results: target/bench/identity-<time>/ (results.md, results.json, raw logs, the sample), and a
copy of the results in target/bench/identity-latest.{md,json}. The population file and the
databases are deleted at the end. Exit status 3 when any request failed.
EOF_USAGE
}

bench_option() {
  case $1 in
    --quick) QUICK=1 ;;
    --persons) PERSONS=$2 OPTION_ARGS=2 ;;
    --lines) LINES=$2 OPTION_ARGS=2 ;;
    --sample) SAMPLE=$2 OPTION_ARGS=2 ;;
    *) return 1 ;;
  esac
}

bench_parse_options "$@"

if [[ ${QUICK:-0} == 1 ]]; then
  PERSONS=${PERSONS:-100000} DURATION=${DURATION:-5} REPEAT=${REPEAT:-1} WARMUP=${WARMUP:-2}
fi
PERSONS=${PERSONS:-1000000}
LINES=${LINES:-$((PERSONS < 1000000 ? PERSONS : 1000000))}
SAMPLE=${SAMPLE:-50000}
SEED=${SEED:-1}
# The population's "now": the same PERSONS and SEED give the same persons in every run.
export RAAS_GENERATED_AT=${RAAS_GENERATED_AT:-2026-01-01T00:00:00Z}
bench_defaults
# Passes of a registration run through its thread's share of the sample (register-verified.lua).
PASSES=16

((PERSONS >= SAMPLE && SAMPLE >= THREADS && PERSONS >= LINES)) || die "need PERSONS ≥ SAMPLE ≥ THREADS and PERSONS ≥ LINES"

bench_setup identity wrk psql sqlite3 jq python3 curl pgrep flock /usr/bin/time

# Disk: the file (≈ 450 bytes a person) and one database at a time (≈ 250 bytes a person).
if [[ -z ${POPULATION:-} ]]; then
  needed=$((PERSONS * 800))
  available=$(df --output=avail -B1 "$ROOT/target/bench" | tail -n1)
  ((needed < available)) ||
    die "$(human "$PERSONS") persons need about $((needed >> 30)) GiB of disk, $((available >> 30)) GiB free"
fi

SAMPLE_FILE=$RUN_DIR/sample.tsv
REGISTER_RUN=0

# One wrk measurement of the current backend (measure_rounds calls it).
measure_op() { # phase op rep seconds
  local url=$BASE/soap/PersonIdentificationService
  local -a env=(BENCH_SAMPLE="$SAMPLE_FILE")
  case $2 in
    livez) url=$BASE/livez ;;
    register-verified)
      url=$BASE/soap/PersonRegisterService
      env+=(BENCH_THREADS="$THREADS" BENCH_PASSES="$PASSES" BENCH_RUN="$REGISTER_RUN")
      REGISTER_RUN=$((REGISTER_RUN + 1))
      ;;
  esac
  run_wrk "$1" "$backend" "$PERSONS" "$2" "$3" "$4" "$url" "${env[@]}"
}

# A random sample of active persons (ssin, last name, first first name, birth date, gender),
# the same for every backend: taken from the first one.
extract_sample() { # db_url
  case $1 in
    postgres://*) psql -X -At -F $'\t' "$1" -c "SELECT ssin, last_name, split_part(first_names, ';', 1),
      birth_date, coalesce(gender, '') FROM persons WHERE status = 'ACTIVE' ORDER BY random() LIMIT $SAMPLE" ;;
    *) sqlite3 -batch -separator $'\t' "$1" "SELECT ssin, last_name,
      CASE WHEN instr(first_names, ';') > 0 THEN substr(first_names, 1, instr(first_names, ';') - 1)
      ELSE first_names END, birth_date, coalesce(gender, '') FROM persons WHERE status = 'ACTIVE'
      ORDER BY random() LIMIT $SAMPLE" ;;
  esac >"$SAMPLE_FILE"
  (($(wc -l <"$SAMPLE_FILE") >= THREADS)) || die "no sample: $(wc -l <"$SAMPLE_FILE") active persons"
}

say "== results in $RUN_DIR"
say "== $(human "$PERSONS") persons, register of $(human "$LINES") lines, sample of $(human "$SAMPLE"); backends: $BACKENDS; $CLIENTS clients, $THREADS client threads; ${DURATION}s × $REPEAT per measurement, ${WARMUP}s warm-up; load average $(cut -d' ' -f1-3 /proc/loadavg)"

if [[ -n ${POPULATION:-} ]]; then
  [[ -s $POPULATION ]] || die "no population file $POPULATION"
  generate_s=null
  say "== population: $POPULATION (given)"
else
  POPULATION=$ROOT/target/bench/identity-population-$PERSONS-$SEED.xml
  BENCH_TEMPORARY_FILES+=("$POPULATION")
  generate_population "$PERSONS" "$SEED" "$POPULATION"
  generate_s=$GENERATE_S
fi

bench_write_meta "$(jq -c -n --argjson persons "$PERSONS" --argjson lines "$LINES" --argjson sample "$SAMPLE" --argjson seed "$SEED" \
  --arg generated_at "$RAAS_GENERATED_AT" --arg population "$POPULATION" \
  --argjson population_bytes "$(stat -c %s "$POPULATION")" --argjson generate_s "$generate_s" \
  '{sizes: [$persons], persons: $persons, lines: $lines, sample: $sample, seed: $seed, generated_at: $generated_at,
    population: $population, population_bytes: $population_bytes, generate_s: $generate_s}')"

for backend in $BACKENDS; do
  db_url=$(bench_database_url "$backend")
  say "== $backend, source of $(human "$PERSONS") persons"
  CURRENT_DB=$db_url
  # A fresh database with the bench organisation, its credential and dossier type, no persons.
  "$HERE/seed.sh" "$backend" "$db_url" 0 0
  "$RAAS_BIN" --database-url "$db_url" admin grant --cbe "$BENCH_CBE" --operation identifyPerson >/dev/null
  import_population "$backend" "$db_url" "$POPULATION" "$PERSONS"
  # A register that is not empty, as in soap.sh: its statistics and the plans PostgreSQL
  # caches are those of a register in use (an empty register, analysed empty, on a server
  # without autovacuum, keeps sequential-scan plans while it grows).
  started=$(date +%s.%N)
  "$HERE/seed.sh" "$backend" "$db_url" "$LINES" source
  say "   seeded $(human "$LINES") register lines in $(seconds_since "$started") s"
  if [[ ! -s $SAMPLE_FILE ]]; then
    started=$(date +%s.%N)
    extract_sample "$db_url"
    say "   sampled $(wc -l <"$SAMPLE_FILE") persons in $(seconds_since "$started") s"
  fi
  start_server "$db_url" "$RUN_DIR/server-$backend.log"

  measure_rounds livez identify register-verified

  stop_server
  say "   the register now holds $(bench_query "$db_url" 'SELECT count(*) FROM relations') lines"
  if [[ ${KEEP_DB:-0} != 1 ]]; then drop_database "$db_url"; fi
  CURRENT_DB=
done

bench_finish identity-latest
