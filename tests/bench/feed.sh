#!/usr/bin/env bash
# The feed benchmark: a population loaded as the baseline, then a synthetic authentic-source
# feed (`raas generate nr-mutations`) applied with `raas import nr-mutations`, on a fresh
# SQLite file and a fresh PostgreSQL database, and applied a second time (nothing changes).
# See README.md.
#
#   tests/bench/feed.sh                                  # 1 000 000 records over 1 000 000 persons
#   RECORDS=100000 POPULATION=0 tests/bench/feed.sh      # smaller, on an empty source
#   tests/bench/feed.sh --help
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

usage() {
  cat <<'EOF'
usage: tests/bench/feed.sh [--records N] [--population N] [--backends "sqlite postgres"] [--no-build]

Every option is also an environment variable (flags win):
  RECORDS     records in the feed                          (default 1000000)
  POPULATION  persons loaded before the feed (0: none)     (default 1000000)
  BACKENDS    "sqlite postgres", or one of them            (default both)
  SEED        the generators' seed                         (default 1)
  PG_URL      PostgreSQL server, without database (default postgres://postgres@127.0.0.1:5432);
              the database raas_bench_feed is created for the run and dropped after
  WORK_DIR    where the files and the SQLite database go  (default target/bench/feed)
  NO_BUILD=1  use target/release/raas as it is (default: cargo build --release first)
  RAAS_BIN    benchmark this raas binary instead (no build)

Results: target/bench/feed.md (a markdown table) and, beside it, feed-<time>.log (the
commands' outputs). The files and databases are deleted at the end.
EOF
}

while (($#)); do
  case $1 in
    --records) RECORDS=$2; shift ;;
    --population) POPULATION=$2; shift ;;
    --backends) BACKENDS=$2; shift ;;
    --no-build) NO_BUILD=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done

RECORDS=${RECORDS:-1000000}
POPULATION=${POPULATION:-1000000}
BACKENDS=${BACKENDS:-"sqlite postgres"}
SEED=${SEED:-1}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_URL=${PG_URL%/}
PG_DB=raas_bench_feed
WORK_DIR=${WORK_DIR:-$ROOT/target/bench/feed}
# The population and the feed are generated for the same day: the feed's new numbers then
# leave out the population's.
export RAAS_GENERATED_AT=${RAAS_GENERATED_AT:-2026-11-21T06:00:00Z}

say() { printf '%s\n' "$*" >&2; }
die() { say "feed.sh: $*"; exit 1; }

for backend in $BACKENDS; do
  [[ $backend == sqlite || $backend == postgres ]] || die "unknown backend $backend"
done
if [[ " $BACKENDS " == *" postgres "* ]]; then
  command -v psql >/dev/null || die "psql is needed (Debian: postgresql-client)"
  psql -X -At "$PG_URL/postgres" -c 'SELECT 1' >/dev/null 2>&1 ||
    die "no PostgreSQL at $PG_URL (set PG_URL)"
fi
[[ -x /usr/bin/time ]] || die "GNU time is needed for the peak RSS (Debian: time)"

# One benchmark at a time: they share the machine and would measure each other.
mkdir -p "$ROOT/target/bench" "$WORK_DIR"
exec 9>"$ROOT/target/bench/.lock"
flock -n 9 || die "another benchmark is running (target/bench/.lock)"

if [[ -z ${RAAS_BIN:-} && ${NO_BUILD:-0} != 1 ]]; then
  say "== cargo build --release"
  (cd "$ROOT" && cargo build --release --quiet --bin raas)
fi
# A private copy: others may rebuild target/release meanwhile.
RAAS=$WORK_DIR/raas
cp "${RAAS_BIN:-$ROOT/target/release/raas}" "$RAAS"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
LOG=$ROOT/target/bench/feed-$STAMP.log
REPORT=$ROOT/target/bench/feed.md
POP_FILE=$WORK_DIR/population.xml
FEED_FILE=$WORK_DIR/feed.xml
SQLITE_DB=$WORK_DIR/raas.db

drop_postgres() {
  PGOPTIONS="-c client_min_messages=warning" psql -q -X "$PG_URL/postgres" \
    -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
}
cleanup() {
  rm -f "$POP_FILE" "$FEED_FILE" "$SQLITE_DB" "$SQLITE_DB-wal" "$SQLITE_DB-shm" "$RAAS"
  if [[ " $BACKENDS " == *" postgres "* ]]; then drop_postgres; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

seconds_since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.0f MiB", b / 1048576 }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }

# Runs a command under GNU time, output appended to the log; sets ELAPSED (s), CPU_S (user +
# system s) and RSS_MIB (peak resident set).
measure() {
  local start times user system rss
  times=$(mktemp)
  start=$(date +%s.%N)
  /usr/bin/time -f '%U %S %M' -o "$times" "$@" >>"$LOG" 2>&1 ||
    { tail -n 20 "$LOG" >&2; rm -f "$times"; die "failed: $*"; }
  ELAPSED=$(seconds_since "$start")
  read -r user system rss < <(tail -n 1 "$times")
  CPU_S=$(awk -v u="$user" -v s="$system" 'BEGIN { printf "%.1f", u + s }')
  RSS_MIB=$(awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')
  rm -f "$times"
}

db_bytes() { # backend url
  if [[ $1 == sqlite ]]; then
    echo $(($(stat -c %s "$SQLITE_DB") + $(stat -c %s "$SQLITE_DB-wal" 2>/dev/null || echo 0)))
  else
    psql -X -At "$2" -c "SELECT pg_database_size(current_database())"
  fi
}

say "== log: $LOG"
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
if ((POPULATION > 0)); then
  say "== generate a population of $POPULATION persons (seed $SEED)"
  "$RAAS" generate population --persons "$POPULATION" --seed "$SEED" -o "$POP_FILE" >>"$LOG" 2>&1
fi
say "== generate a feed of $RECORDS records (seed $SEED)"
echo "== generate feed" >>"$LOG"
measure "$RAAS" generate nr-mutations --records "$RECORDS" --seed "$SEED" \
  --population "$POPULATION" -o "$FEED_FILE"
generate_s=$ELAPSED
feed_bytes=$(stat -c %s "$FEED_FILE")
say "   $(mib "$feed_bytes") in $generate_s s: $(tail -n 1 "$LOG")"

ROWS=()
for backend in $BACKENDS; do
  if [[ $backend == sqlite ]]; then
    rm -f "$SQLITE_DB" "$SQLITE_DB-wal" "$SQLITE_DB-shm"
    url=$SQLITE_DB
  else
    drop_postgres
    psql -q -X "$PG_URL/postgres" -c "CREATE DATABASE $PG_DB" >/dev/null
    url=$PG_URL/$PG_DB
  fi
  "$RAAS" --database-url "$url" migrate >>"$LOG" 2>&1
  if ((POPULATION > 0)); then
    say "== $backend: load the population"
    "$RAAS" --database-url "$url" import persons "$POP_FILE" --quiet >>"$LOG" 2>&1
  fi
  if [[ $backend == postgres ]]; then
    psql -q -X "$url" -c "VACUUM ANALYZE" >/dev/null
  fi
  before=$(db_bytes "$backend" "$url")
  say "== $backend: apply the feed"
  echo "== import $backend" >>"$LOG"
  measure "$RAAS" --database-url "$url" import nr-mutations "$FEED_FILE"
  reported=$(grep -E ': applied [0-9]+ records' "$LOG" | tail -n 1)
  [[ $reported == *"applied $RECORDS records"* ]] || die "unexpected report: $reported"
  apply_s=$ELAPSED apply_cpu=$CPU_S apply_rss=$RSS_MIB
  after=$(db_bytes "$backend" "$url")
  say "   $apply_s s, $(rate "$RECORDS" "$apply_s") records/s, peak RSS $apply_rss MiB: $reported"
  echo "== again $backend" >>"$LOG"
  measure "$RAAS" --database-url "$url" import nr-mutations "$FEED_FILE"
  [[ $(tail -n 1 "$LOG") == *"already applied, nothing changed" ]] || die "applied twice"
  say "   again: $ELAPSED s, peak RSS $RSS_MIB MiB"
  ROWS+=("| $backend | $RECORDS | $POPULATION | $apply_s | $(rate "$RECORDS" "$apply_s") | $apply_cpu | $apply_rss MiB | $(mib $((after - before))) | $ELAPSED | $RSS_MIB MiB |")
  if [[ $backend == sqlite ]]; then
    rm -f "$SQLITE_DB" "$SQLITE_DB-wal" "$SQLITE_DB-shm"
  else
    drop_postgres
  fi
done

{
  echo "# Feed: raas generate nr-mutations, raas import nr-mutations"
  echo
  echo "$(date -u +%FT%TZ), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)," \
    "$(nproc) cores, load average at the start $LOAD, seed $SEED; the feed: $(mib "$feed_bytes")," \
    "generated in $generate_s s. Times are wall-clock seconds of the whole command (both passes" \
    "over the file, one transaction, commit); CPU is raas's own; growth is the database's size" \
    "after the feed minus before (SQLite: file and WAL)."
  echo
  echo "| backend | records | population | apply s | records/s | raas CPU s | raas peak RSS | database growth | again s | again peak RSS |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${ROWS[@]}"
} >"$REPORT"
say "== $REPORT"
cat "$REPORT"
