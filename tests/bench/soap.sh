#!/usr/bin/env bash
# The SOAP benchmark: registerPerson and consultRegister through the real release server, on
# SQLite and PostgreSQL, for registers of several sizes, beside the machine's own limits
# (pgbench doing a registration's transaction, wrk on GET /livez). See README.md.
#
#   tests/bench/soap.sh              # full run (≈ 10 minutes on 2 cores, plus the build)
#   tests/bench/soap.sh --quick      # smoke test (≈ 2 minutes), same as QUICK=1
#   tests/bench/soap.sh --help
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

usage() {
  cat <<'EOF'
usage: tests/bench/soap.sh [--quick] [--no-build] [--sizes "N …"] [--backends "sqlite postgres"]
                           [--duration S] [--repeat N] [--clients N] [--threads N]

Every option is also an environment variable (flags win):
  QUICK=1          small sizes (1000 10000), 5 s runs, 1 repetition, 2 s warm-up
  SIZES            register sizes in lines           (default "10000 1000000")
  BACKENDS         "sqlite postgres", or one of them (default both)
  DURATION         seconds per measurement           (default 10)
  REPEAT           repetitions of every measurement  (default 3; medians are reported)
  WARMUP           seconds of warm-up per operation  (default 5)
  CLIENTS          concurrent connections (wrk -c, pgbench -c)  (default 32)
  THREADS          client threads (wrk -t, pgbench -j)          (default 2)
  PG_URL           PostgreSQL server, without database (default: postgres://postgres@127.0.0.1:5432,
                   else postgres://root@127.0.0.1:5432); the database raas_bench is dropped and
                   created again for every size
  SERVER_ARGS      extra `raas serve` arguments, e.g. "--workers 2 --db-connections 16"
  NO_BUILD=1       use target/release/raas as it is (default: cargo build --release first)
  RAAS_BIN         benchmark this raas binary instead (no build), e.g. to compare two builds
  KEEP_DB=1        keep the last databases after the run

Results: target/bench/run-<time>/ (results.md, results.json, raw logs), and a copy of the
results in target/bench/latest.{md,json}. Exit status 3 when any request failed.
EOF
}

while (($#)); do
  case $1 in
    --quick) QUICK=1 ;;
    --no-build) NO_BUILD=1 ;;
    --sizes) SIZES=$2; shift ;;
    --backends) BACKENDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --repeat) REPEAT=$2; shift ;;
    --clients) CLIENTS=$2; shift ;;
    --threads) THREADS=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done

if [[ ${QUICK:-0} == 1 ]]; then
  SIZES=${SIZES:-"1000 10000"} DURATION=${DURATION:-5} REPEAT=${REPEAT:-1} WARMUP=${WARMUP:-2}
fi
SIZES=${SIZES:-"10000 1000000"}
BACKENDS=${BACKENDS:-"sqlite postgres"}
DURATION=${DURATION:-10}
REPEAT=${REPEAT:-3}
WARMUP=${WARMUP:-5}
CLIENTS=${CLIENTS:-32}
THREADS=${THREADS:-2}
SERVER_ARGS=${SERVER_ARGS:-}

export BENCH_CBE=0202239951 BENCH_USERNAME=bench BENCH_DOSSIER_TYPE=EMPLOYEE
export BENCH_PASSWORD=bench-secret-$RANDOM$RANDOM
# NISS indexes (niss.lua) handed to each wrk thread of a registration run; runs never share one.
NISS_BLOCK=300000
NISS_CAPACITY=33499200
PG_DB=raas_bench

# shellcheck source=cpu.sh
source "$HERE/cpu.sh"

say() { printf '%s\n' "$*" >&2; }
die() { say "soap.sh: $*"; exit 1; }
loud() {
  say ""
  say "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  say "!!! $*"
  say "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  say ""
}

for tool in wrk psql pgbench sqlite3 jq python3 curl pgrep flock /usr/bin/time; do
  command -v "$tool" >/dev/null || die "$tool is needed (Debian: wrk postgresql-client sqlite3 jq python3 curl procps time)"
done
for backend in $BACKENDS; do
  [[ $backend == sqlite || $backend == postgres ]] || die "unknown backend $backend"
done

if [[ " $BACKENDS " == *" postgres "* ]]; then
  if [[ -z ${PG_URL:-} ]]; then
    for candidate in postgres://postgres@127.0.0.1:5432 postgres://root@127.0.0.1:5432; do
      if psql -X -At "$candidate/postgres" -c 'SELECT 1' >/dev/null 2>&1; then
        PG_URL=$candidate
        break
      fi
    done
    [[ -n ${PG_URL:-} ]] || die "no PostgreSQL on 127.0.0.1:5432 for user postgres or root (set PG_URL)"
  fi
  PG_URL=${PG_URL%/}
fi

# One benchmark at a time: they share the database names and would measure each other.
mkdir -p "$ROOT/target/bench"
exec 9>"$ROOT/target/bench/.lock"
flock -n 9 || die "another benchmark is running (target/bench/.lock)"

# ---------------------------------------------------------------------------------------------
# Build, and a private copy of the binary: others may rebuild target/release meanwhile.
if [[ -z ${RAAS_BIN:-} && ${NO_BUILD:-0} != 1 ]]; then
  say "== cargo build --release"
  (cd "$ROOT" && cargo build --release --quiet --bin raas)
fi
RUN_DIR=$ROOT/target/bench/run-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RUN_DIR"
BINARY_SOURCE=${RAAS_BIN:-$ROOT/target/release/raas}
cp "$BINARY_SOURCE" "$RUN_DIR/raas"
export RAAS_BIN=$RUN_DIR/raas
RUNS=$RUN_DIR/runs.jsonl
: >"$RUNS"

SERVER_PID=
FAILED_RUNS=0
CURRENT_DB=

cleanup() {
  stop_server
  if [[ ${KEEP_DB:-0} != 1 && -n $CURRENT_DB ]]; then drop_database "$CURRENT_DB"; fi
  rm -f "$RUN_DIR/raas" # 60+ MB a run; meta.json keeps its checksum
}
trap cleanup EXIT
trap 'exit 130' INT TERM

drop_database() {
  case $1 in
    postgres://*) PGOPTIONS="-c client_min_messages=warning" psql -q -X "$PG_URL/postgres" \
      -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 || true ;;
    *) rm -f "$1" "$1-wal" "$1-shm" ;;
  esac
}

start_server() { # database_url log
  RUST_LOG=warn "$RAAS_BIN" --database-url "$1" serve --listen 127.0.0.1:0 $SERVER_ARGS >"$2" 2>&1 &
  SERVER_PID=$!
  local port=
  for _ in $(seq 300); do
    port=$(grep -oP 'listening on http://127\.0\.0\.1:\K[0-9]+' "$2" || true)
    [[ -n $port ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$2" >&2; die "the server did not start"; }
    sleep 0.1
  done
  [[ -n $port ]] || die "the server did not say where it listens (see $2)"
  BASE=http://127.0.0.1:$port
  curl -fsS "$BASE/livez" >/dev/null || die "GET $BASE/livez failed"
}

stop_server() {
  [[ -n $SERVER_PID ]] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

human() { # 10000 -> 10k, 1000000 -> 1M
  awk -v n="$1" 'BEGIN { if (n >= 1e6 && n % 1e6 == 0) print n / 1e6 "M";
    else if (n >= 1e3 && n % 1e3 == 0) print n / 1e3 "k"; else print n }'
}

# Records one measurement, the tool's JSON result completed with where, what and the CPU
# split, in runs.jsonl and in LAST.
record() { # phase backend size op rep result_json cpu_json
  LAST=$(jq -c -n --arg phase "$1" --arg backend "$2" --argjson size "$3" --arg op "$4" \
    --argjson rep "$5" --argjson result "$6" --argjson cpu "$7" \
    '{phase: $phase, backend: $backend, size: $size, op: $op, rep: $rep} + $result + {cpu: $cpu}')
  printf '%s\n' "$LAST" >>"$RUNS"
}

# Takes `top` half-way through the first measured repetition of each operation.
top_snapshot_later() { # seconds file
  (sleep "$1" && top -b -n1 -w 200 | head -n 25 >"$2") &
  TOP_PID=$!
}

NISS_NEXT=0

run_wrk() { # phase backend size op rep seconds
  local phase=$1 backend=$2 size=$3 op=$4 rep=$5 seconds=$6
  local tag=$RUN_DIR/$backend-$(human "$size")-$op-$phase-$rep
  local url=$BASE/soap/PersonRegisterService script=$HERE/$op.lua
  local -a env=(BENCH_NISS_COUNT="$size")
  case $op in
    livez) url=$BASE/livez ;;
    register)
      ((NISS_NEXT + THREADS * NISS_BLOCK <= NISS_CAPACITY)) || die "no NISS numbers left"
      env+=(BENCH_NISS_BASE="$NISS_NEXT" BENCH_NISS_BLOCK="$NISS_BLOCK")
      NISS_NEXT=$((NISS_NEXT + THREADS * NISS_BLOCK))
      ;;
  esac
  TOP_PID=
  if [[ $phase == measure && $rep == 1 ]]; then
    top_snapshot_later $((seconds / 2)) "$RUN_DIR/top-$backend-$(human "$size")-$op.txt"
  fi
  local before after
  before=$(cpu_snapshot "$SERVER_PID")
  env "${env[@]}" /usr/bin/time -f '%U %S' -o "$tag.time" \
    wrk -t "$THREADS" -c "$CLIENTS" -d "${seconds}s" --timeout 5s -s "$script" "$url" >"$tag.wrk" 2>&1 ||
    { cat "$tag.wrk" >&2; die "wrk failed"; }
  after=$(cpu_snapshot "$SERVER_PID")
  [[ -z $TOP_PID ]] || wait "$TOP_PID" || true
  local result
  result=$(grep -m1 '^BENCH_RESULT ' "$tag.wrk" | cut -d' ' -f2-) || die "no result in $tag.wrk"
  record "$phase" "$backend" "$size" "$op" "$rep" "$result" \
    "$(cpu_json "$before" "$after" "$(awk 'END { print $1 + $2 }' "$tag.time")")"
}

run_pgbench() { # phase backend size rep seconds db_url
  local phase=$1 backend=$2 size=$3 rep=$4 seconds=$5 db_url=$6
  local tag=$RUN_DIR/$backend-$(human "$size")-pgbench-$phase-$rep
  TOP_PID=
  if [[ $phase == measure && $rep == 1 ]]; then
    top_snapshot_later $((seconds / 2)) "$RUN_DIR/top-$backend-$(human "$size")-pgbench.txt"
  fi
  local org type before after
  read -r org type < <(psql -X -At -F' ' "$db_url" -c "SELECT organisation_id, id FROM dossier_types
    WHERE code = '$BENCH_DOSSIER_TYPE'")
  before=$(cpu_snapshot "$SERVER_PID")
  /usr/bin/time -f '%U %S' -o "$tag.time" \
    pgbench -n -M prepared -c "$CLIENTS" -j "$THREADS" -T "$seconds" -f "$HERE/pgbench-register.sql" \
    -D lines="$size" -D org="$org" -D type="$type" "$db_url" >"$tag.pgbench" 2>&1 ||
    { cat "$tag.pgbench" >&2; die "pgbench failed"; }
  after=$(cpu_snapshot "$SERVER_PID")
  [[ -z $TOP_PID ]] || wait "$TOP_PID" || true
  local tps processed failed latency result
  tps=$(grep -oP '^tps = \K[0-9.]+' "$tag.pgbench") || die "no tps in $tag.pgbench"
  processed=$(grep -oP '^number of transactions actually processed: \K[0-9]+' "$tag.pgbench")
  failed=$(grep -oP '^number of failed transactions: \K[0-9]+' "$tag.pgbench" || echo 0)
  latency=$(grep -oP '^latency average = \K[0-9.]+' "$tag.pgbench")
  result=$(jq -c -n --argjson tps "$tps" --argjson n "$processed" --argjson failed "$failed" \
    --argjson latency "$latency" --argjson seconds "$seconds" \
    '{requests: $n, seconds: $seconds, rps: $tps, good: $n, failures: $failed,
      latency_ms: {mean: $latency}, first_failure: ""}')
  record "$phase" "$backend" "$size" pgbench "$rep" "$result" \
    "$(cpu_json "$before" "$after" "$(awk 'END { print $1 + $2 }' "$tag.time")")"
}

# Prints one line per measurement and flags failures loudly.
show() { # json
  local line
  line=$(jq -r '"\(.phase) \(.backend) \(.size) \(.op) #\(.rep): \(.rps) req/s, p50 \(.latency_ms.p50 // "-") ms (mean \(.latency_ms.mean)), p99 \(.latency_ms.p99 // "-") ms, failures \(.failures) | cores: client \(.cpu.client) server \(.cpu.server) db \(.cpu.database) other \(.cpu.other) irq \(.cpu.interrupts) (busy \(.cpu.busy)/\(.cpu.cores))"' <<<"$1")
  say "   $line"
  if [[ $(jq -r '.failures' <<<"$1") != 0 ]]; then
    loud "$(jq -r '"\(.failures) FAILED REQUESTS in \(.backend) \(.size) \(.op) (\(.phase)): \(.first_failure) \(.socket_errors // {} | tostring)"' <<<"$1")"
    if [[ $(jq -r .phase <<<"$1") == measure ]]; then FAILED_RUNS=$((FAILED_RUNS + 1)); fi
    if [[ $(jq -r .good <<<"$1") == 0 ]]; then die "nothing succeeded: stopping"; fi
  fi
}

jq -n --arg started "$(date -u +%FT%TZ)" --arg commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  --arg dirty "$(git -C "$ROOT" status --porcelain -- src migrations Cargo.toml Cargo.lock 2>/dev/null | wc -l)" \
  --arg sizes "$SIZES" --arg backends "$BACKENDS" --argjson duration "$DURATION" \
  --argjson repeat "$REPEAT" --argjson warmup "$WARMUP" --argjson clients "$CLIENTS" \
  --argjson threads "$THREADS" --arg server_args "$SERVER_ARGS" --argjson cores "$(nproc)" \
  --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)" \
  --arg wrk "$(wrk -v 2>&1 | head -n1 | cut -d' ' -f2)" --arg pgbench "$(pgbench --version)" \
  --arg sqlite "$(sqlite3 --version | cut -d' ' -f1)" --arg binary "$(sha256sum "$RAAS_BIN" | cut -c1-12)" \
  --arg binary_source "$BINARY_SOURCE" \
  '{started: $started, commit: $commit, uncommitted_src_files: ($dirty | tonumber), sizes: ($sizes | split(" ") | map(select(. != "") | tonumber)),
    backends: ($backends | split(" ") | map(select(. != ""))), duration_s: $duration, repeat: $repeat,
    warmup_s: $warmup, clients: $clients, threads: $threads, server_args: $server_args,
    cores: $cores, cpu: $cpu, load_at_start: $load, wrk: $wrk, pgbench: $pgbench, sqlite: $sqlite,
    binary_source: $binary_source, binary_sha256: $binary}' \
  >"$RUN_DIR/meta.json"

say "== results in $RUN_DIR"
say "== sizes: $SIZES; backends: $BACKENDS; $CLIENTS clients, $THREADS client threads; ${DURATION}s × $REPEAT per measurement, ${WARMUP}s warm-up; load average $(cut -d' ' -f1-3 /proc/loadavg)"

for backend in $BACKENDS; do
  for size in $SIZES; do
    ((size > 0 && size + 1 < NISS_CAPACITY)) || die "size $size out of range"
    case $backend in
      sqlite) db_url=$ROOT/target/bench/raas-bench.db ;;
      postgres) db_url=$PG_URL/$PG_DB ;;
    esac
    say "== $backend, register of $(human "$size") lines"
    CURRENT_DB=$db_url
    seeded_at=$(date +%s.%N)
    "$HERE/seed.sh" "$backend" "$db_url" "$size"
    say "   seeded in $(awk -v a="$seeded_at" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
    # Registration numbers start above the seeded ones, in blocks of their own for every run.
    NISS_NEXT=$(((size + 999) / 1000 * 1000))
    start_server "$db_url" "$RUN_DIR/server-$backend-$(human "$size").log"

    for op in livez consult register; do
      run_wrk warmup "$backend" "$size" "$op" 0 "$WARMUP"
      show "$LAST"
    done
    for rep in $(seq "$REPEAT"); do
      for op in livez consult register; do
        run_wrk measure "$backend" "$size" "$op" "$rep" "$DURATION"
        show "$LAST"
      done
      if [[ $backend == postgres ]]; then
        run_pgbench measure "$backend" "$size" "$rep" "$DURATION" "$db_url"
        show "$LAST"
      fi
    done

    stop_server
    case $backend in
      sqlite) lines=$(sqlite3 "$db_url" 'SELECT count(*) FROM relations') ;;
      postgres) lines=$(psql -X -At "$db_url" -c 'SELECT count(*) FROM relations') ;;
    esac
    say "   register now holds $lines lines"
    if [[ ${KEEP_DB:-0} != 1 ]]; then drop_database "$db_url"; fi
    CURRENT_DB=
  done
done

python3 "$HERE/report.py" "$RUN_DIR"
cp "$RUN_DIR/results.md" "$ROOT/target/bench/latest.md"
cp "$RUN_DIR/results.json" "$ROOT/target/bench/latest.json"
say "== $RUN_DIR/results.md (copied to target/bench/latest.md)"
if ((FAILED_RUNS > 0)); then
  loud "$FAILED_RUNS MEASUREMENT(S) HAD FAILED REQUESTS: the figures above are not valid"
  exit 3
fi
