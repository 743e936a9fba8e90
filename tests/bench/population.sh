#!/usr/bin/env bash
# The population benchmark: `raas generate population` then `raas import persons` into a fresh
# SQLite file and a fresh PostgreSQL database, for populations of several sizes, with the
# phonetic search index the load builds (its rows, its size on disk) and its rebuild
# (`raas admin search-index rebuild`: the index build time on its own). See README.md.
#
#   tests/bench/population.sh                      # 100 000 and 1 000 000 persons (≈ 1 minute)
#   SIZES="20000000" tests/bench/population.sh     # 20 million persons (≈ 4 min, 17 GB of disk)
#   tests/bench/population.sh --help
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

usage() {
  cat <<'EOF'
usage: tests/bench/population.sh [--sizes "N …"] [--backends "sqlite postgres"] [--no-build]

Every option is also an environment variable (flags win):
  SIZES      population sizes in persons                 (default "100000 1000000")
  BACKENDS   "sqlite postgres", or one of them            (default both)
  SEED       the generator's seed                          (default 1)
  PG_URL     PostgreSQL server, without database (default postgres://postgres@127.0.0.1:5432);
             the database raas_bench_population is created for each import and dropped after
  WORK_DIR   where the population file and the SQLite database go (default target/bench/population)
  NO_BUILD=1 use target/release/raas as it is (default: cargo build --release first)
  RAAS_BIN   benchmark this raas binary instead (no build); a raas without the search index
             (before issue 9) gives the rate without the index, its index columns are "-"
  REBUILD=0  skip the timed `raas admin search-index rebuild` after each import
  BASE_BIN   also import each file with this other raas (e.g. one built before the search
             index) into a fresh database: the rate without the index, side by side

Results: target/bench/population.md (a markdown table) and, beside it, population-<time>.log
(the commands' outputs). Each size's file and databases are deleted once measured.
EOF
}

while (($#)); do
  case $1 in
    --sizes) SIZES=$2; shift ;;
    --backends) BACKENDS=$2; shift ;;
    --no-build) NO_BUILD=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done

SIZES=${SIZES:-"100000 1000000"}
BACKENDS=${BACKENDS:-"sqlite postgres"}
SEED=${SEED:-1}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_URL=${PG_URL%/}
PG_DB=raas_bench_population
WORK_DIR=${WORK_DIR:-$ROOT/target/bench/population}

# shellcheck source=cpu.sh
source "$HERE/cpu.sh"

say() { printf '%s\n' "$*" >&2; }
die() { say "population.sh: $*"; exit 1; }

for backend in $BACKENDS; do
  [[ $backend == sqlite || $backend == postgres ]] || die "unknown backend $backend"
done
if [[ " $BACKENDS " == *" postgres "* ]]; then
  command -v psql >/dev/null || die "psql is needed (Debian: postgresql-client)"
  psql -X -At "$PG_URL/postgres" -c 'SELECT 1' >/dev/null 2>&1 ||
    die "no PostgreSQL at $PG_URL (set PG_URL)"
fi
if [[ " $BACKENDS " == *" sqlite "* ]]; then
  command -v sqlite3 >/dev/null || die "sqlite3 is needed for the index's size (Debian: sqlite3)"
fi
TIME=
[[ -x /usr/bin/time ]] && TIME=/usr/bin/time
REBUILD=${REBUILD:-1}

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
BINARIES=("$RAAS")
if [[ -n ${BASE_BIN:-} ]]; then
  cp "$BASE_BIN" "$WORK_DIR/raas-base"
  BINARIES+=("$WORK_DIR/raas-base")
fi
# Whether a raas has the phonetic search index (issue 9).
has_index() { "$1" admin search-index --help >/dev/null 2>&1; }
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
LOG=$ROOT/target/bench/population-$STAMP.log
REPORT=$ROOT/target/bench/population.md
FILE=
SQLITE_DB=$WORK_DIR/raas.db

drop_postgres() {
  PGOPTIONS="-c client_min_messages=warning" psql -q -X "$PG_URL/postgres" \
    -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
}
cleanup() {
  [[ -n $FILE ]] && rm -f "$FILE"
  rm -f "$SQLITE_DB" "$SQLITE_DB-wal" "$SQLITE_DB-shm" "$RAAS" "$WORK_DIR/raas-base"
  if [[ " $BACKENDS " == *" postgres "* ]]; then drop_postgres; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

seconds_since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.0f MiB", b / 1048576 }'; }
bytes_per() { awk -v b="$1" -v n="$2" 'BEGIN { printf "%.1f", (n > 0 ? b / n : 0) }'; }

# The search index of the database at $1 ($2: sqlite or postgres): sets INDEX_ROWS and
# INDEX_BYTES (SQLite: the pages of the WITHOUT ROWID table, from dbstat; PostgreSQL: the
# table and its primary key, pg_total_relation_size), "-" without an index.
index_size() {
  INDEX_ROWS=- INDEX_BYTES=-
  ((HAS_INDEX)) || return 0
  if [[ $2 == sqlite ]]; then
    INDEX_ROWS=$(sqlite3 "$1" "SELECT COUNT(*) FROM person_search_keys")
    INDEX_BYTES=$(sqlite3 "$1" "SELECT SUM(pgsize) FROM dbstat WHERE name = 'person_search_keys'")
  else
    INDEX_ROWS=$(psql -X -At "$1" -c "SELECT COUNT(*) FROM person_search_keys")
    INDEX_BYTES=$(psql -X -At "$1" -c "SELECT pg_total_relation_size('person_search_keys')")
  fi
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }

# Runs a command under GNU time (when there is one), output appended to the log; sets
# ELAPSED (s), CPU_S (user + system s) and RSS (peak resident set, KiB; "-" without GNU time).
measure() {
  local start times
  times=$(mktemp)
  start=$(date +%s.%N)
  if [[ -n $TIME ]]; then
    "$TIME" -f '%U %S %M' -o "$times" "$@" >>"$LOG" 2>&1 || { tail -n 20 "$LOG" >&2; rm -f "$times"; die "failed: $*"; }
  else
    "$@" >>"$LOG" 2>&1 || { tail -n 20 "$LOG" >&2; die "failed: $*"; }
    echo "- - -" >"$times"
  fi
  ELAPSED=$(seconds_since "$start")
  read -r user system RSS < <(tail -n 1 "$times")
  CPU_S=$(awk -v u="$user" -v s="$system" 'BEGIN { if (u == "-") print "-"; else printf "%.1f", u + s }')
  rm -f "$times"
}

ROWS=()
say "== log: $LOG"
for size in $SIZES; do
  FILE=$WORK_DIR/population-$size-$SEED.xml
  say "== $size persons: generate (seed $SEED)"
  echo "== generate $size" >>"$LOG"
  measure "$RAAS" generate population --persons "$size" --seed "$SEED" -o "$FILE"
  generate_s=$ELAPSED
  file_bytes=$(stat -c %s "$FILE")
  say "   $(mib "$file_bytes") in $generate_s s ($(rate "$size" "$generate_s") persons/s)"
  for backend in $BACKENDS; do
    for binary in "${BINARIES[@]}"; do
      HAS_INDEX=0
      has_index "$binary" && HAS_INDEX=1
      if [[ $backend == sqlite ]]; then
        rm -f "$SQLITE_DB" "$SQLITE_DB-wal" "$SQLITE_DB-shm"
        url=$SQLITE_DB
      else
        drop_postgres
        psql -q -X "$PG_URL/postgres" -c "CREATE DATABASE $PG_DB" >/dev/null
        url=$PG_URL/$PG_DB
      fi
      # The schema first, so that the import's time is the load's.
      "$binary" --database-url "$url" migrate >>"$LOG" 2>&1
      say "== $size persons: import into $backend ($(basename "$binary"))"
      echo "== import $size $backend" >>"$LOG"
      before=$(cpu_snapshot 0)
      measure "$binary" --database-url "$url" import persons "$FILE" --quiet
      after=$(cpu_snapshot 0)
      reported=$(grep -E '^imported [0-9]+ persons' "$LOG" | tail -n 1)
      [[ $reported == "imported $size persons"* ]] || die "unexpected report: $reported"
      # Database CPU (PostgreSQL processes) and the rest of the machine, in seconds.
      read -r db_s other_s < <(awk -v hz="$CPU_TICKS_PER_S" -v ours="$CPU_S" \
        -v busy=$(($(cut -d' ' -f1 <<<"$after") - $(cut -d' ' -f1 <<<"$before"))) \
        -v db=$(($(cut -d' ' -f5 <<<"$after") - $(cut -d' ' -f5 <<<"$before"))) 'BEGIN {
          o = busy / hz - db / hz - (ours == "-" ? 0 : ours); if (o < 0) o = 0
          printf "%.1f %.1f\n", db / hz, o }')
      import_s=$ELAPSED import_cpu=$CPU_S import_rss=$RSS
      index_size "$url" "$backend"
      # The index alone: rebuilt from the persons in one transaction, timed.
      rebuild_s=- build_s=-
      if ((HAS_INDEX)) && [[ $REBUILD == 1 ]]; then
        say "== $size persons: search index rebuild on $backend"
        echo "== rebuild $size $backend" >>"$LOG"
        measure "$binary" --database-url "$url" admin search-index rebuild
        rebuild_s=$ELAPSED
        built=$(grep -E '^search index rebuilt' "$LOG" | tail -n 1)
        build_s=$(sed -E 's/.*index build ([0-9.]+) s.*/\1/' <<<"$built")
        rebuilt_rows=$INDEX_ROWS
        index_size "$url" "$backend"
        [[ $INDEX_ROWS == "$rebuilt_rows" ]] || die "the rebuild made $INDEX_ROWS keys, the load $rebuilt_rows"
        say "   rebuilt in $rebuild_s s ($built)"
      fi
      ELAPSED=$import_s CPU_S=$import_cpu RSS=$import_rss
      index_cols="- | - | - | - | -"
      if ((HAS_INDEX)); then
        index_cols="$INDEX_ROWS | $(mib "$INDEX_BYTES") | $(bytes_per "$INDEX_BYTES" "$INDEX_ROWS") | $rebuild_s | $build_s"
      fi
      if [[ $backend == sqlite ]]; then
        db_bytes=$(($(stat -c %s "$SQLITE_DB") + $(stat -c %s "$SQLITE_DB-wal" 2>/dev/null || echo 0)))
        db_s=-
        rm -f "$SQLITE_DB" "$SQLITE_DB-wal" "$SQLITE_DB-shm"
      else
        db_bytes=$(psql -X -At "$url" -c "SELECT pg_database_size(current_database())")
        drop_postgres
      fi
      rss=-
      if [[ $RSS != - ]]; then rss=$(awk -v k="$RSS" 'BEGIN { printf "%.0f MiB", k / 1024 }'); fi
      say "   $ELAPSED s, $(rate "$size" "$ELAPSED") persons/s (raas: $reported)"
      ROWS+=("| $size | $(mib "$file_bytes") | $generate_s | $backend | $( ((HAS_INDEX)) && echo yes || echo no) | $ELAPSED | $(rate "$size" "$ELAPSED") | $CPU_S | $db_s | $other_s | $rss | $(mib "$db_bytes") | $index_cols |")
    done
  done
  rm -f "$FILE"
  FILE=
done

{
  echo "# Population load: raas generate population, raas import persons"
  echo
  echo "$(date -u +%FT%TZ), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)," \
    "$(nproc) cores, seed $SEED. Times are wall-clock seconds of the whole command (opening the" \
    "database, reading, loading, index build, commit, SQLite checkpoint); CPU columns are seconds" \
    "of CPU during the import: raas (all its threads), PostgreSQL (every postgres process) and" \
    "the rest of the machine (noise). Peak RSS is the raas process's. The import builds the" \
    "phonetic search index with the persons (its rows and size on disk: SQLite dbstat pages," \
    "PostgreSQL pg_total_relation_size, table and primary key); \"rebuild s\" times" \
    "\`raas admin search-index rebuild\` afterwards (read every person, compute the keys, build)," \
    "\"build s\" the sorted build at its end. \"index\": whether the raas measured builds it" \
    "(no: \`BASE_BIN\`, a raas from before the index, importing the same file)."
  echo
  echo "| persons | file | generate s | backend | index | import s | persons/s | raas CPU s | PostgreSQL CPU s | other CPU s | raas peak RSS | database | index rows | index size | bytes/row | rebuild s | build s |"
  echo "|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${ROWS[@]}"
} >"$REPORT"
say "== $REPORT"
cat "$REPORT"
