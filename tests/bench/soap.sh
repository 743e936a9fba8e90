#!/usr/bin/env bash
# The SOAP benchmark: registerPerson and consultRegister through the real release server, on
# SQLite and PostgreSQL, for registers of several sizes, beside the machine's own limits
# (pgbench running the SQL of a registration and of a consultation, wrk on GET /livez). See
# README.md.
#
#   tests/bench/soap.sh              # full run (≈ 10 minutes on 2 cores, plus the build)
#   tests/bench/soap.sh --quick      # smoke test (≈ 2 minutes), same as QUICK=1
#   tests/bench/soap.sh --help
set -euo pipefail

BENCH_NAME=soap
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

usage() {
  cat <<'EOF_USAGE'
usage: tests/bench/soap.sh [--quick] [--no-build] [--sizes "N …"] [--backends "sqlite postgres"]
                           [--duration S] [--repeat N] [--clients N] [--threads N]

Every option is also an environment variable (flags win):
  QUICK=1          small sizes (1000 10000), 5 s runs, 1 repetition, 2 s warm-up
  SIZES            register sizes in lines           (default "10000 1000000")
EOF_USAGE
  bench_common_usage
  cat <<'EOF_USAGE'

Results: target/bench/run-<time>/ (results.md, results.json, raw logs), and a copy of the
results in target/bench/latest.{md,json}. Exit status 3 when any request failed.
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
  SIZES=${SIZES:-"1000 10000"} DURATION=${DURATION:-5} REPEAT=${REPEAT:-1} WARMUP=${WARMUP:-2}
fi
SIZES=${SIZES:-"10000 1000000"}
bench_defaults

# NISS indexes (niss.lua) handed to each wrk thread of a registration run; runs never share
# one. Enough for 5 000 registrations per second and thread (a run that runs out counts its
# requests as failed, niss_exhausted). Every index a run may use is a person of the source
# (seed.sh), so the register's number check passes.
NISS_BLOCK=$((5000 * (DURATION > WARMUP ? DURATION : WARMUP)))
NISS_CAPACITY=33499200

bench_setup run wrk psql pgbench sqlite3 jq python3 curl pgrep flock /usr/bin/time

# pgbench running the SQL of one operation without the service: op pgbench (a registration's,
# pgbench-register.sql) or pgbench-consult (a consultation's, pgbench-consult.sql).
soap_pgbench() { # phase backend size rep seconds db_url op
  local script=$HERE/pgbench-register.sql org type
  [[ $7 == pgbench ]] || script=$HERE/pgbench-${7#pgbench-}.sql
  read -r org type < <(psql -X -At -F' ' "$6" -c "SELECT organisation_id, id FROM dossier_types
    WHERE code = '$BENCH_DOSSIER_TYPE'")
  run_pgbench "$1" "$2" "$3" "$7" "$4" "$5" "$6" "$script" \
    -D lines="$3" -D persons="$persons" -D org="$org" -D type="$type" -D code="$BENCH_DOSSIER_TYPE" \
    -D cbe="$BENCH_CBE"
}

NISS_NEXT=0

# One wrk measurement of the current backend and size (measure_rounds calls it).
measure_op() { # phase op rep seconds
  local op=$2 url=$BASE/soap/PersonRegisterService
  local -a env=(BENCH_NISS_COUNT="$size")
  case $op in
    livez) url=$BASE/livez ;;
    register)
      ((NISS_NEXT + THREADS * NISS_BLOCK <= NISS_CAPACITY)) || die "no NISS numbers left"
      env+=(BENCH_NISS_BASE="$NISS_NEXT" BENCH_NISS_BLOCK="$NISS_BLOCK")
      NISS_NEXT=$((NISS_NEXT + THREADS * NISS_BLOCK))
      ;;
  esac
  run_wrk "$1" "$backend" "$size" "$op" "$3" "$4" "$url" "${env[@]}"
}

after_round() { # rep
  if [[ $backend == postgres ]]; then
    soap_pgbench measure "$backend" "$size" "$1" "$DURATION" "$db_url" pgbench
    show "$LAST"
    soap_pgbench measure "$backend" "$size" "$1" "$DURATION" "$db_url" pgbench-consult
    show "$LAST"
  fi
}

bench_write_meta "$(jq -c -n --arg sizes "$SIZES" --arg pgbench "$(pgbench --version)" --argjson block "$NISS_BLOCK" \
  '{sizes: ($sizes | split(" ") | map(select(. != "") | tonumber)), pgbench: $pgbench, niss_block: $block}')"

say "== results in $RUN_DIR"
say "== sizes: $SIZES; backends: $BACKENDS; $CLIENTS clients, $THREADS client threads; ${DURATION}s × $REPEAT per measurement, ${WARMUP}s warm-up; load average $(cut -d' ' -f1-3 /proc/loadavg)"

for backend in $BACKENDS; do
  for size in $SIZES; do
    ((size > 0 && size + 1 < NISS_CAPACITY)) || die "size $size out of range"
    db_url=$(bench_database_url "$backend")
    # Registration numbers start above the seeded ones, in blocks of their own for every run
    # (warm-up and repetitions); the source knows every number up to the last block.
    NISS_NEXT=$(((size + 999) / 1000 * 1000))
    persons=$((NISS_NEXT + (REPEAT + 1) * THREADS * NISS_BLOCK))
    ((persons <= NISS_CAPACITY)) || die "size $size: not enough NISS numbers for the registrations"
    say "== $backend, register of $(human "$size") lines, $(human "$persons") persons in the source"
    CURRENT_DB=$db_url
    seeded_at=$(date +%s.%N)
    "$HERE/seed.sh" "$backend" "$db_url" "$size" "$persons"
    say "   seeded in $(seconds_since "$seeded_at") s"
    start_server "$db_url" "$RUN_DIR/server-$backend-$(human "$size").log"

    measure_rounds livez consult register

    stop_server
    say "   register now holds $(bench_query "$db_url" 'SELECT count(*) FROM relations') lines"
    if [[ ${KEEP_DB:-0} != 1 ]]; then drop_database "$db_url"; fi
    CURRENT_DB=
  done
done

bench_finish latest
