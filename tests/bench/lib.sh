# shellcheck shell=bash
# The machinery the benchmark scripts share (sourced by soap.sh, identity.sh and
# search_latency.sh; see README.md): options and defaults, the checks before a run, the lock,
# the private copy of the binary, a generated population and its import, the server's start
# and stop, one wrk measurement with its CPU split, and the record of every measurement in
# RUN_DIR/runs.jsonl.
#
# The sourcing script sets BENCH_NAME (its name, for messages) first, and defines `usage`
# (printing `bench_common_usage` among its own lines) and `bench_option` (its own options: it
# sets OPTION_ARGS to how many words it used, or returns 1 for an unknown option).

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) # this folder
ROOT=$(cd "$HERE/../.." && pwd)                    # the repository

# shellcheck source=cpu.sh
source "$HERE/cpu.sh"

say() { printf '%s\n' "$*" >&2; }
die() { say "$BENCH_NAME: $*"; exit 1; }
loud() {
  say ""
  say "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  say "!!! $*"
  say "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  say ""
}

bench_common_usage() {
  cat <<'EOF'
  BACKENDS         "sqlite postgres", or one of them (default both)
  DURATION         seconds per measurement           (default 10)
  REPEAT           repetitions of every measurement  (default 3; medians are reported)
  WARMUP           seconds of warm-up per operation  (default 5)
  CLIENTS          concurrent connections (wrk -c, pgbench -c)  (default 32)
  THREADS          client threads (wrk -t, pgbench -j)          (default 2)
  PG_URL           PostgreSQL server, without database (default: postgres://postgres@127.0.0.1:5432,
                   else postgres://root@127.0.0.1:5432); the database raas_bench is dropped and
                   created again for every database the benchmark needs
  SERVER_ARGS      extra `raas serve` arguments, e.g. "--workers 2 --db-connections 16"
  SERVER_LOG       the server's RUST_LOG                  (default warn)
  NO_BUILD=1       use target/release/raas as it is (default: cargo build --release first)
  RAAS_BIN         benchmark this raas binary instead (no build), e.g. to compare two builds
  KEEP_DB=1        keep the last databases after the run
EOF
}

bench_parse_options() { # "$@"
  while (($#)); do
    OPTION_ARGS=1
    case $1 in
      --no-build) NO_BUILD=1 ;;
      --backends) BACKENDS=$2 OPTION_ARGS=2 ;;
      --duration) DURATION=$2 OPTION_ARGS=2 ;;
      --repeat) REPEAT=$2 OPTION_ARGS=2 ;;
      --clients) CLIENTS=$2 OPTION_ARGS=2 ;;
      --threads) THREADS=$2 OPTION_ARGS=2 ;;
      -h | --help) usage; exit 0 ;;
      *) bench_option "$@" || { usage >&2; exit 2; } ;;
    esac
    shift "$OPTION_ARGS"
  done
}

# The defaults of the common options (after the script's own, e.g. QUICK's), the bench
# organisation and its credential.
bench_defaults() {
  BACKENDS=${BACKENDS:-"sqlite postgres"}
  DURATION=${DURATION:-10}
  REPEAT=${REPEAT:-3}
  WARMUP=${WARMUP:-5}
  CLIENTS=${CLIENTS:-32}
  THREADS=${THREADS:-2}
  SERVER_ARGS=${SERVER_ARGS:-}
  export BENCH_CBE=0202239951 BENCH_USERNAME=bench BENCH_DOSSIER_TYPE=EMPLOYEE
  export BENCH_PASSWORD=bench-secret-$RANDOM$RANDOM
  PG_DB=raas_bench
}

# Checks the tools and backends, finds PostgreSQL, takes the lock, builds, and makes
# RUN_DIR=target/bench/<run_prefix>-<time> with a private copy of the binary.
bench_setup() { # run_prefix tool…
  local run_prefix=$1 tool backend candidate
  shift
  for tool in "$@"; do
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

  # Build, and a private copy of the binary: others may rebuild target/release meanwhile.
  if [[ -z ${RAAS_BIN:-} && ${NO_BUILD:-0} != 1 ]]; then
    say "== cargo build --release"
    (cd "$ROOT" && cargo build --release --quiet --bin raas)
  fi
  RUN_DIR=$ROOT/target/bench/$run_prefix-$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p "$RUN_DIR"
  BINARY_SOURCE=${RAAS_BIN:-$ROOT/target/release/raas}
  cp "$BINARY_SOURCE" "$RUN_DIR/raas"
  export RAAS_BIN=$RUN_DIR/raas
  RUNS=$RUN_DIR/runs.jsonl
  : >"$RUNS"

  SERVER_PID=
  FAILED_RUNS=0
  CURRENT_DB=
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

# Files removed at exit, whatever happens (large intermediate files).
BENCH_TEMPORARY_FILES=()

bench_cleanup() {
  stop_server
  if [[ ${KEEP_DB:-0} != 1 && -n $CURRENT_DB ]]; then drop_database "$CURRENT_DB"; fi
  rm -f "$RUN_DIR/raas" "${BENCH_TEMPORARY_FILES[@]}" # the binary: 60+ MB a run; meta.json keeps its checksum
}

# meta.json: what was run, where and how loaded the machine was, with `extra` (a JSON object)
# merged in.
bench_write_meta() { # extra_json
  jq -n --arg started "$(date -u +%FT%TZ)" --arg commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    --arg dirty "$(git -C "$ROOT" status --porcelain -- src migrations Cargo.toml Cargo.lock 2>/dev/null | wc -l)" \
    --arg benchmark "$BENCH_NAME" --arg backends "$BACKENDS" --argjson duration "$DURATION" \
    --argjson repeat "$REPEAT" --argjson warmup "$WARMUP" --argjson clients "$CLIENTS" \
    --argjson threads "$THREADS" --arg server_args "$SERVER_ARGS" --argjson cores "$(nproc)" \
    --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)" \
    --arg wrk "$(wrk -v 2>&1 | head -n1 | cut -d' ' -f2)" \
    --arg sqlite "$(sqlite3 --version | cut -d' ' -f1)" --arg binary "$(sha256sum "$RAAS_BIN" | cut -c1-12)" \
    --arg binary_source "$BINARY_SOURCE" --argjson extra "$1" \
    '{started: $started, benchmark: $benchmark, commit: $commit, uncommitted_src_files: ($dirty | tonumber),
      backends: ($backends | split(" ") | map(select(. != ""))), duration_s: $duration, repeat: $repeat,
      warmup_s: $warmup, clients: $clients, threads: $threads, server_args: $server_args,
      cores: $cores, cpu: $cpu, load_at_start: $load, wrk: $wrk, sqlite: $sqlite,
      binary_source: $binary_source, binary_sha256: $binary} + $extra' \
    >"$RUN_DIR/meta.json"
}

# Where a backend's benchmark database lives.
bench_database_url() { # backend
  case $1 in
    sqlite) echo "$ROOT/target/bench/raas-bench.db" ;;
    postgres) echo "$PG_URL/$PG_DB" ;;
  esac
}

drop_database() {
  case $1 in
    postgres://*) PGOPTIONS="-c client_min_messages=warning" psql -q -X "$PG_URL/postgres" \
      -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 || true ;;
    *) rm -f "$1" "$1-wal" "$1-shm" ;;
  esac
}

# One query's rows, unaligned (sqlite3's and psql's defaults: fields separated by |).
bench_query() { # database_url sql
  case $1 in
    postgres://*) psql -X -At "$1" -c "$2" ;;
    *) sqlite3 -batch "$1" "$2" ;;
  esac
}

# Writes a population file of `persons` persons (`raas generate population`; the caller fixes
# RAAS_GENERATED_AT, so the same size and seed give the same persons); GENERATE_S: seconds.
generate_population() { # persons seed file
  say "== raas generate population --persons $1 --seed $2"
  local started log=$RUN_DIR/generate-$(human "$1").log
  started=$(date +%s.%N)
  "$RAAS_BIN" generate population --persons "$1" --seed "$2" -o "$3" >"$log" 2>&1 ||
    { cat "$log" >&2; die "generate population failed"; }
  GENERATE_S=$(seconds_since "$started")
  say "   $(($(stat -c %s "$3") >> 20)) MiB in $GENERATE_S s"
}

# Loads a population file into a fresh database (`raas import persons FILE --quiet`), checks
# that it holds `persons` persons, and records how long it took (phase import).
import_population() { # backend db_url file persons
  local tag=$RUN_DIR/$1-$(human "$4")-import before after started seconds count bytes
  before=$(cpu_snapshot "")
  started=$(date +%s.%N)
  /usr/bin/time -f '%U %S %M' -o "$tag.time" \
    "$RAAS_BIN" --database-url "$2" import persons "$3" --quiet >"$tag.log" 2>&1 ||
    { cat "$tag.log" >&2; die "the import into $1 failed"; }
  seconds=$(seconds_since "$started")
  after=$(cpu_snapshot "")
  count=$(bench_query "$2" 'SELECT count(*) FROM persons')
  [[ $count == "$4" ]] || die "$1: $count persons imported, not $4"
  case $1 in
    sqlite) bytes=$(du -cb "$2"* | tail -n1 | cut -f1) ;;
    postgres) bytes=$(bench_query "$2" 'SELECT pg_database_size(current_database())') ;;
  esac
  local user system rss cpu_s result
  read -r user system rss <"$tag.time"
  cpu_s=$(awk -v u="$user" -v s="$system" 'BEGIN { print u + s }')
  result=$(jq -c -n --argjson persons "$4" --argjson seconds "$seconds" --argjson bytes "$bytes" \
    --argjson cpu "$cpu_s" --argjson rss "$rss" \
    --arg said "$(grep -m1 '^imported' "$tag.log" || true)" \
    '{persons: $persons, seconds: $seconds, rate: ($persons / $seconds), raas_cpu_s: $cpu,
      raas_peak_rss_kib: $rss, database_bytes: $bytes, raas_says: $said}')
  record import "$1" "$4" import 0 "$result" "$(cpu_json "$before" "$after" "$cpu_s")"
  say "   imported $(human "$4") persons in $seconds s ($(jq -r '.rate | floor' <<<"$result") persons/s), database $((bytes >> 20)) MiB"
}

start_server() { # database_url log
  # shellcheck disable=SC2086 # SERVER_ARGS are words
  RUST_LOG=${SERVER_LOG:-warn} "$RAAS_BIN" --database-url "$1" serve --listen 127.0.0.1:0 $SERVER_ARGS >"$2" 2>&1 &
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

seconds_since() { # start (date +%s.%N)
  awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'
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
top_snapshot_later() { # phase rep seconds file
  TOP_PID=
  [[ $1 == measure && $2 == 1 ]] || return 0
  (sleep "$(($3 / 2))" && top -b -n1 -w 200 | head -n 25 >"$4") &
  TOP_PID=$!
}

# One wrk measurement of RUN_DIR/../<op>.lua (or of WRK_SCRIPT, when set: several
# measurements of one script) against url, with the given environment (NAME=value words) for
# the script. WRK_TIMEOUT: wrk's --timeout (default 5s; also the ceiling of its latency
# histogram). CPU_PIDS: the processes counted as the server (default SERVER_PID; e.g. the
# master and workers of an nginx measured instead).
run_wrk() { # phase backend size op rep seconds url [NAME=value …]
  local phase=$1 backend=$2 size=$3 op=$4 rep=$5 seconds=$6 url=$7
  shift 7
  local tag=$RUN_DIR/$backend-$(human "$size")-$op-$phase-$rep
  top_snapshot_later "$phase" "$rep" "$seconds" "$RUN_DIR/top-$backend-$(human "$size")-$op.txt"
  local before after
  before=$(cpu_snapshot "${CPU_PIDS:-$SERVER_PID}")
  env "$@" /usr/bin/time -f '%U %S' -o "$tag.time" \
    wrk -t "$THREADS" -c "$CLIENTS" -d "${seconds}s" --timeout "${WRK_TIMEOUT:-5s}" -s "${WRK_SCRIPT:-$HERE/$op.lua}" "$url" >"$tag.wrk" 2>&1 ||
    { cat "$tag.wrk" >&2; die "wrk failed"; }
  after=$(cpu_snapshot "${CPU_PIDS:-$SERVER_PID}")
  [[ -z $TOP_PID ]] || wait "$TOP_PID" || true
  local result
  result=$(grep -m1 '^BENCH_RESULT ' "$tag.wrk" | cut -d' ' -f2-) || die "no result in $tag.wrk"
  record "$phase" "$backend" "$size" "$op" "$rep" "$result" \
    "$(cpu_json "$before" "$after" "$(awk 'END { print $1 + $2 }' "$tag.time")")"
}

# One pgbench measurement of `script` (CLIENTS connections, THREADS threads, prepared
# statements) against db_url, the extra pgbench words given (e.g. -D name=value), recorded
# as op. pgbench gives no percentiles: latency_ms holds its mean only.
run_pgbench() { # phase backend size op rep seconds db_url script [pgbench words…]
  local phase=$1 backend=$2 size=$3 op=$4 rep=$5 seconds=$6 db_url=$7 script=$8
  shift 8
  local tag=$RUN_DIR/$backend-$(human "$size")-$op-$phase-$rep
  top_snapshot_later "$phase" "$rep" "$seconds" "$RUN_DIR/top-$backend-$(human "$size")-$op.txt"
  local before after
  before=$(cpu_snapshot "$SERVER_PID")
  /usr/bin/time -f '%U %S' -o "$tag.time" \
    pgbench -n -M prepared -c "$CLIENTS" -j "$THREADS" -T "$seconds" -f "$script" "$@" "$db_url" >"$tag.pgbench" 2>&1 ||
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
  record "$phase" "$backend" "$size" "$op" "$rep" "$result" \
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

# Warm-up of every operation, then REPEAT rounds of all of them back to back; `measure_op`
# (the script's) runs one: measure_op phase op rep seconds. After each round, `after_round rep`
# if the script defines it.
measure_rounds() { # op…
  local op rep
  for op in "$@"; do
    measure_op warmup "$op" 0 "$WARMUP"
    show "$LAST"
  done
  for rep in $(seq "$REPEAT"); do
    for op in "$@"; do
      measure_op measure "$op" "$rep" "$DURATION"
      show "$LAST"
    done
    if declare -F after_round >/dev/null; then after_round "$rep"; fi
  done
}

# The report (report.py, or the script given) of the run, copied to
# target/bench/<latest>.{md,json}; exit status 3 when any measured request failed.
bench_finish() { # latest [report_script]
  python3 "${2:-$HERE/report.py}" "$RUN_DIR"
  cp "$RUN_DIR/results.md" "$ROOT/target/bench/$1.md"
  cp "$RUN_DIR/results.json" "$ROOT/target/bench/$1.json"
  say "== $RUN_DIR/results.md (copied to target/bench/$1.md)"
  if ((FAILED_RUNS > 0)); then
    loud "$FAILED_RUNS MEASUREMENT(S) HAD FAILED REQUESTS: the figures above are not valid"
    exit 3
  fi
}
