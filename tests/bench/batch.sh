#!/usr/bin/env bash
# The batch benchmark: the whole daily run (`raas batch run --date D --quiet`, release build)
# over a source of generated persons, bulk-loaded registers and subscriptions, and days of
# real mutations applied by the real importers. See README.md, "Batch benchmark".
#
#   tests/bench/batch.sh              # a quick try: 200 k persons, 500 k lines (≈ 3 min the first time)
#   FULL=1 tests/bench/batch.sh       # the target: 20 M persons, 50 M lines in 2 000 registers
#   tests/bench/batch.sh --help
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

usage() {
  cat <<'EOF'
usage: tests/bench/batch.sh [--backends "sqlite postgres"] [--no-build] [--prepare-only]

Every setting is an environment variable (FULL=1 sets the full-size defaults, in brackets):
  PERSONS           persons of the source                          200000   [20000000]
  RELATIONS         register lines                                 500000   [50000000]
  REGISTERS         organisations holding them (harmonic skew)     200      [2000]
  ORGANISATIONS     organisations in all (≥ every subscriber count) 2000    [20000]
  SUBSCRIBERS       subscribers of the headline figure             200      [2000]
  SUBSCRIBER_SIZES  subscriber counts measured on the headline day "20 200 2000" ["200 2000 20000"]
  MUTATIONS         mutations of the headline day                  10000    [100000]
  MUTATION_SIZES    the days of mutations, in order (MUTATIONS among them)
                                                                   "1000 10000 100000" ["10000 100000 1000000"]
  DIMONA            Dimona declarations of the headline day (other days in proportion)
                                                                   5000     [50000]
  REPEAT            measured runs per figure (the median is shown) 3
  MEASURE           which figures: "headline subscribers mutations" or some of them (default all)
  BACKENDS          "sqlite postgres" or one of them               both
  SEED              the generators' seed                           1
  PG_URL            PostgreSQL server without database (default postgres://postgres@127.0.0.1:5432);
                    the benchmark's database is PG_DB (default raas_bench_batch)
  DATA_DIR          the cached data sets                           target/bench/batch-data
  NO_BUILD=1        use target/release/raas as it is (default: cargo build --release first)
  RAAS_BIN          benchmark this raas binary instead (no build)
  PREPARE_ONLY=1    build (or check) the cached data sets, measure nothing
  MIN_FREE_GB       while a data set is built, stop and remove it when the disk of DATA_DIR
                    (or PostgreSQL's) has less free space than this          2

The data set of each backend (the SQLite file, the PostgreSQL database) is built once per
scale and reused: a run with other PERSONS, RELATIONS, REGISTERS, ORGANISATIONS,
MUTATION_SIZES, DIMONA or SEED rebuilds it. Results: target/bench/batch-<time>.md (a
markdown table), batch-<time>.log (the commands' outputs) and batch-<time>.jsonl (one line
per measured run).
EOF
}

while (($#)); do
  case $1 in
    --backends) BACKENDS=$2; shift ;;
    --no-build) NO_BUILD=1 ;;
    --prepare-only) PREPARE_ONLY=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done

if [[ ${FULL:-0} == 1 ]]; then
  PERSONS=${PERSONS:-20000000} RELATIONS=${RELATIONS:-50000000} REGISTERS=${REGISTERS:-2000}
  ORGANISATIONS=${ORGANISATIONS:-20000} SUBSCRIBERS=${SUBSCRIBERS:-2000}
  SUBSCRIBER_SIZES=${SUBSCRIBER_SIZES:-"200 2000 20000"} MUTATIONS=${MUTATIONS:-100000}
  MUTATION_SIZES=${MUTATION_SIZES:-"10000 100000 1000000"} DIMONA=${DIMONA:-50000}
fi
PERSONS=${PERSONS:-200000}
RELATIONS=${RELATIONS:-500000}
REGISTERS=${REGISTERS:-200}
ORGANISATIONS=${ORGANISATIONS:-2000}
SUBSCRIBERS=${SUBSCRIBERS:-200}
SUBSCRIBER_SIZES=${SUBSCRIBER_SIZES:-"20 200 2000"}
MUTATIONS=${MUTATIONS:-10000}
MUTATION_SIZES=${MUTATION_SIZES:-"1000 10000 100000"}
DIMONA=${DIMONA:-5000}
REPEAT=${REPEAT:-3}
MEASURE=${MEASURE:-"headline subscribers mutations"}
for what in $MEASURE; do
  [[ $what == headline || $what == subscribers || $what == mutations ]] ||
    { printf 'batch.sh: MEASURE: unknown figure %s\n' "$what" >&2; exit 1; }
done
BACKENDS=${BACKENDS:-"sqlite postgres"}
SEED=${SEED:-1}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_URL=${PG_URL%/}
PG_DB=${PG_DB:-raas_bench_batch}
DATA_DIR=${DATA_DIR:-$ROOT/target/bench/batch-data}
MIN_FREE_GB=${MIN_FREE_GB:-2}

say() { printf '%s\n' "$*" >&2; }
die() { say "batch.sh: $*"; exit 1; }
is_count() { [[ $1 =~ ^[0-9]+$ ]]; }

for name in PERSONS RELATIONS REGISTERS ORGANISATIONS SUBSCRIBERS MUTATIONS DIMONA REPEAT SEED MIN_FREE_GB; do
  is_count "${!name}" || die "$name=${!name} is not a whole number"
done
read -r -a SUBSCRIBER_LIST <<<"$SUBSCRIBER_SIZES"
read -r -a DAY_LIST <<<"$MUTATION_SIZES"
for n in "${SUBSCRIBER_LIST[@]}" "${DAY_LIST[@]}"; do is_count "$n" || die "$n is not a whole number"; done
((REGISTERS >= 1 && REGISTERS <= ORGANISATIONS)) || die "REGISTERS must be 1 … ORGANISATIONS"
for s in "$SUBSCRIBERS" "${SUBSCRIBER_LIST[@]}"; do
  ((s >= 1 && s <= ORGANISATIONS)) || die "a subscriber count ($s) must be 1 … ORGANISATIONS ($ORGANISATIONS)"
done
((RELATIONS <= PERSONS * REGISTERS)) || die "RELATIONS cannot exceed PERSONS × REGISTERS"
# The days in the order they are made: the headline day last (see add_dimona).
OTHER_DAYS=()
for n in "${DAY_LIST[@]}"; do [[ $n == "$MUTATIONS" ]] || OTHER_DAYS+=("$n"); done
((${#OTHER_DAYS[@]} < ${#DAY_LIST[@]})) || die "MUTATIONS ($MUTATIONS) must be one of MUTATION_SIZES ($MUTATION_SIZES)"
DAY_LIST=("${OTHER_DAYS[@]}" "$MUTATIONS")
HEADLINE_DAY=${#DAY_LIST[@]}
for backend in $BACKENDS; do
  [[ $backend == sqlite || $backend == postgres ]] || die "unknown backend $backend"
done
command -v sqlite3 >/dev/null || die "sqlite3 is needed"
[[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) is needed"
if [[ " $BACKENDS " == *" postgres "* ]]; then
  command -v psql >/dev/null || die "psql is needed (Debian: postgresql-client)"
  psql -X -At "$PG_URL/postgres" -c 'SELECT 1' >/dev/null 2>&1 || die "no PostgreSQL at $PG_URL (set PG_URL)"
fi

# One benchmark at a time: they share the machine and would measure each other.
mkdir -p "$ROOT/target/bench" "$DATA_DIR"
exec 9>"$ROOT/target/bench/.lock"
flock -n 9 || die "another benchmark is running (target/bench/.lock)"

if [[ -z ${RAAS_BIN:-} && ${NO_BUILD:-0} != 1 ]]; then
  say "== cargo build --release"
  (cd "$ROOT" && cargo build --release --quiet --bin raas)
fi
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
WORK=$DATA_DIR/work-$STAMP
mkdir -p "$WORK"
# A private copy: others may rebuild target/release meanwhile.
RAAS=$WORK/raas
cp "${RAAS_BIN:-$ROOT/target/release/raas}" "$RAAS"
LOG=$ROOT/target/bench/batch-$STAMP.log
JSONL=$ROOT/target/bench/batch-$STAMP.jsonl
REPORT=$ROOT/target/bench/batch-$STAMP.md
: >"$JSONL"
GENERATOR_PID=
GUARD_PID=
PREPARING=

cleanup() {
  set +e
  [[ -n $GENERATOR_PID ]] && kill "$GENERATOR_PID" 2>/dev/null
  [[ -n $GUARD_PID ]] && kill "$GUARD_PID" 2>/dev/null
  if [[ -n $PREPARING && -f $WORK/disk-full ]]; then
    say "== the disk is nearly full: the $PREPARING data set being built is removed"
    drop_data_set "$PREPARING"
  fi
  rm -rf "$WORK"
}

drop_data_set() {
  if [[ $1 == sqlite ]]; then
    rm -f "$SQLITE_DB" "$SQLITE_DB-wal" "$SQLITE_DB-shm" "$SQLITE_DB-journal"
  else
    PGOPTIONS="-c client_min_messages=warning" psql -q -X "$PG_URL/postgres" \
      -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
  fi
}

# Stops the processes started by process $1, and theirs, but $2 (the guard).
stop_tree() {
  local child
  for child in $(ps -o pid= --ppid "$1"); do
    [[ $child == "$2" ]] && continue
    stop_tree "$child" "$2"
    kill "$child" 2>/dev/null || true
  done
}

# While a data set is built: every 5 s the free space of the folders it fills; below
# MIN_FREE_GB, the script is stopped (its cleanup removes the data set: the disk is shared).
guard_disk() {
  local main=$$ dirs=("$DATA_DIR") pgdir
  pgdir=$(psql -X -At "$PG_URL/postgres" -c 'SHOW data_directory' 2>/dev/null || true)
  [[ -n $pgdir && -d $pgdir ]] && dirs+=("$pgdir")
  (
    while sleep 5; do
      for dir in "${dirs[@]}"; do
        if (($(df --output=avail -k "$dir" | tail -n 1) < MIN_FREE_GB * 1048576)); then
          say "batch.sh: less than $MIN_FREE_GB GB free on the disk of $dir: stopping"
          : >"$WORK/disk-full"
          # The commands the script started first (it waits for them), then the script.
          stop_tree "$main" "$BASHPID"
          kill -TERM "$main"
          exit 0
        fi
      done
    done
  ) &
  GUARD_PID=$!
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The Dimona source, when this build has it.
HAVE_DIMONA=0
if "$RAAS" generate dimona --help >/dev/null 2>&1 && "$RAAS" import dimona --help >/dev/null 2>&1; then
  HAVE_DIMONA=1
else
  say "== this raas has no Dimona generator or import: the days get no Dimona declarations (the"
  say "   headline day gets them on a later run with a raas that has them)"
fi
# Whether the days made now get Dimona declarations too (not only the headline day).
DAYS_DIMONA=$HAVE_DIMONA

# The data set's key: what the cached databases were built from.
KEY="v1-p$PERSONS-r$RELATIONS-g$REGISTERS-o$ORGANISATIONS-m${DAY_LIST[*]}-d$DIMONA-s$SEED"
KEY=${KEY// /_}
SQLITE_DB=$DATA_DIR/raas.db

seconds_since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }'; }
day_shift() { date -u -d "$1 $2 days" +%F; }

# sql BACKEND STATEMENTS: runs SQL on the backend's benchmark database, prints the rows
# (tab-separated, no header).
sql() {
  if [[ $1 == sqlite ]]; then
    sqlite3 -batch -bail -separator $'\t' "$SQLITE_DB" "$2"
  else
    PGOPTIONS="-c client_min_messages=warning" psql -q -X -At -F $'\t' -v ON_ERROR_STOP=1 \
      "$PG_URL/$PG_DB" -c "$2"
  fi
}
url_of() { if [[ $1 == sqlite ]]; then echo "$SQLITE_DB"; else echo "$PG_URL/$PG_DB"; fi; }
logged() { echo "\$ $*" >>"$LOG"; "$@" >>"$LOG" 2>&1 || { tail -n 20 "$LOG" >&2; die "failed: $*"; }; }

# The anchor date of the backend's data set of this KEY ('' when there is none, or its base
# was not completed).
anchor_of() {
  if [[ $1 == sqlite ]]; then
    [[ -f $SQLITE_DB ]] || return 0
  else
    [[ $(psql -X -At "$PG_URL/postgres" -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'") == 1 ]] || return 0
  fi
  sql "$1" "SELECT anchor FROM bench_meta WHERE key = '$KEY'" 2>/dev/null || true
}

fresh_database() {
  if [[ $1 == sqlite ]]; then
    rm -f "$SQLITE_DB" "$SQLITE_DB-wal" "$SQLITE_DB-shm"
  else
    PGOPTIONS="-c client_min_messages=warning" psql -q -X "$PG_URL/postgres" \
      -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" -c "CREATE DATABASE $PG_DB" >/dev/null
  fi
  logged "$RAAS" --database-url "$(url_of "$1")" migrate
  # The benchmark's own bookkeeping, beside the product's tables.
  sql "$1" "CREATE TABLE bench_meta (key TEXT NOT NULL, anchor TEXT NOT NULL);
            CREATE TABLE bench_days (day INTEGER PRIMARY KEY, mutations BIGINT NOT NULL,
              dimona BIGINT NOT NULL, reference_date TEXT NOT NULL, journal_before BIGINT NOT NULL,
              journal_after BIGINT NOT NULL, dimona_before BIGINT NOT NULL, dimona_after BIGINT NOT NULL,
              feed_bytes BIGINT NOT NULL, dimona_bytes BIGINT NOT NULL, import_s REAL NOT NULL);"
}

# The population, generated for a day before the first day (so every number is born by then)
# into a named pipe the import reads: no file of the whole population on disk (9 GB at 20 M).
import_population() {
  local backend=$1 anchor=$2 pipe=$WORK/population.pipe status=0
  rm -f "$pipe"
  mkfifo "$pipe"
  RAAS_GENERATED_AT="$(day_shift "$anchor" -$((${#DAY_LIST[@]} + 2)))T06:00:00Z" \
    "$RAAS" generate population --persons "$PERSONS" --seed "$SEED" -o "$pipe" >>"$LOG" 2>&1 &
  GENERATOR_PID=$!
  logged "$RAAS" --database-url "$(url_of "$backend")" import persons "$pipe" --quiet
  wait "$GENERATOR_PID" || status=$?
  GENERATOR_PID=
  rm -f "$pipe"
  ((status == 0)) || die "raas generate population failed (see $LOG)"
}

prepare_base() {
  local backend=$1 anchor=$2 start
  say "== $backend: a new data set ($KEY)"
  fresh_database "$backend"
  say "   generate and import $PERSONS persons"
  start=$(date +%s.%N)
  import_population "$backend" "$anchor"
  say "   ($(seconds_since "$start") s) load $ORGANISATIONS organisations, $RELATIONS lines in $REGISTERS registers"
  start=$(date +%s.%N)
  # The indexes of relations as the migrations made them: dropped for the load, made again
  # after it.
  local indexes names
  if [[ $backend == sqlite ]]; then
    indexes=$(sql "$backend" "SELECT sql || ';' FROM sqlite_master
                              WHERE type = 'index' AND tbl_name = 'relations' AND sql IS NOT NULL")
    names=$(sql "$backend" "SELECT name FROM sqlite_master
                            WHERE type = 'index' AND tbl_name = 'relations' AND sql IS NOT NULL")
  else
    indexes=$(sql "$backend" "SELECT indexdef || ';' FROM pg_indexes WHERE schemaname = 'public'
                              AND tablename = 'relations' AND indexname <> 'relations_pkey'")
    names=$(sql "$backend" "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'
                            AND tablename = 'relations' AND indexname <> 'relations_pkey'")
  fi
  echo "indexes of relations: $indexes" >>"$LOG"
  for name in $names; do sql "$backend" "DROP INDEX $name"; done
  if [[ $backend == sqlite ]]; then
    (cd "$HERE" && logged sqlite3 -batch -bail -cmd ".parameter set @organisations $ORGANISATIONS" \
      -cmd ".parameter set @registers $REGISTERS" -cmd ".parameter set @relations $RELATIONS" \
      "$SQLITE_DB" ".read batch_load_sqlite.sql")
    logged sqlite3 -batch -bail "$SQLITE_DB" "PRAGMA journal_mode = DELETE; $indexes ANALYZE; PRAGMA journal_mode = WAL;"
  else
    logged psql -q -X -v ON_ERROR_STOP=1 -v organisations="$ORGANISATIONS" -v registers="$REGISTERS" \
      -v relations="$RELATIONS" -f "$HERE/batch_load_postgres.sql" "$PG_URL/$PG_DB"
    logged psql -q -X -v ON_ERROR_STOP=1 "$PG_URL/$PG_DB" -c "SET maintenance_work_mem = '512MB'" \
      -c "$indexes"
    logged psql -q -X -v ON_ERROR_STOP=1 "$PG_URL/$PG_DB" -c "VACUUM ANALYZE"
  fi
  say "   ($(seconds_since "$start") s)"
  sql "$backend" "INSERT INTO bench_meta VALUES ('$KEY', '$anchor')"
}

# The numbers the source knows, ascending: alone on its line a person the day may mutate
# (active, with a register line), else followed by " -". (On PostgreSQL persons.ssin is
# COLLATE "C" and relations.ssin is not: the comparison names the collation of the index.)
dump_known() {
  local backend=$1 out=$2
  local query="SELECT ssin || CASE WHEN status = 'ACTIVE' AND EXISTS (SELECT 1 FROM relations r
                 WHERE r.ssin = p.ssin$(same_collation "$backend")) THEN '' ELSE ' -' END
               FROM persons p ORDER BY ssin"
  if [[ $backend == sqlite ]]; then
    sqlite3 -batch -bail "$SQLITE_DB" "$query" >"$out"
  else
    psql -q -X -v ON_ERROR_STOP=1 "$PG_URL/$PG_DB" -c "\\copy ($query) TO '$out'"
  fi
}

# SQL after a persons.ssin compared with relations.ssin: their collations agree.
same_collation() { if [[ $1 == postgres ]]; then echo ' COLLATE "default"'; fi; }

# Dimona workers: COUNT living active persons with a register line, spread over the whole
# source (those whose check digits are at most K, K set for about 1.3 × COUNT of them), one
# NISS a line.
dump_workers() {
  local backend=$1 out=$2 count=$3 k
  k=$(((97 * count * 13 / 10 + PERSONS - 1) / PERSONS))
  ((k <= 97)) || k=97
  local query="SELECT ssin FROM persons p WHERE status = 'ACTIVE' AND decease_date IS NULL
                 AND CAST(substr(ssin, 10, 2) AS INTEGER) <= $k
                 AND EXISTS (SELECT 1 FROM relations r WHERE r.ssin = p.ssin$(same_collation "$backend"))
               ORDER BY ssin LIMIT $count"
  if [[ $backend == sqlite ]]; then
    sqlite3 -batch -bail "$SQLITE_DB" "$query" >"$out"
  else
    psql -q -X -v ON_ERROR_STOP=1 "$PG_URL/$PG_DB" -c "\\copy ($query) TO '$out'"
  fi
}

max_seq() { sql "$1" "SELECT coalesce(max(seq), 0) FROM $2"; }

# One day of mutations, made by the real generator and importer, then dated on its reference
# date (the imports run now; the journal entries of day i are moved to day i, keeping their
# time of day, so that each day can be run again on its own).
prepare_day() {
  local backend=$1 day=$2 date=$3 mutations=$4
  local jb ja start import_s feed=$WORK/day-$day.xml
  say "== $backend: day $day ($date): $mutations mutations"
  jb=$(max_seq "$backend" mutation_journal)
  dump_known "$backend" "$WORK/known.txt"
  RAAS_GENERATED_AT="${date}T08:00:00Z" logged "$RAAS" generate nr-mutations --existing "$WORK/known.txt" \
    --records "$mutations" --seed $((SEED * 1000 + day)) --file-id "BENCH-$SEED-DAY-$day" -o "$feed"
  rm -f "$WORK/known.txt"
  start=$(date +%s.%N)
  logged "$RAAS" --database-url "$(url_of "$backend")" import nr-mutations "$feed"
  import_s=$(seconds_since "$start")
  ja=$(max_seq "$backend" mutation_journal)
  local db
  db=$(max_seq "$backend" dimona_declarations)
  sql "$backend" "UPDATE mutation_journal SET recorded_at = $(redate "$backend" "$date") WHERE seq > $jb AND seq <= $ja;
                  INSERT INTO bench_days VALUES ($day, $mutations, 0, '$date', $jb, $ja, $db, $db,
                    $(stat -c %s "$feed"), 0, $import_s);"
  say "   journal entries $jb … $ja (nr-mutations import $import_s s)"
  rm -f "$feed"
}

# SQL: recorded_at moved to the day $2, its time of day kept.
redate() {
  if [[ $1 == sqlite ]]; then
    echo "'$2' || substr(recorded_at, 11)"
  else
    echo "('$2'::date + recorded_at::time)"
  fi
}

# The Dimona declarations of a day, by the real generator and importer, dated on the day. Only
# for the last day made (its journal entries and declarations must stay the last ones).
add_dimona() {
  local backend=$1 day=$2 date=$3 count=$4
  local jb ja db da file=$WORK/dimona-$day.xml
  say "== $backend: day $day ($date): $count Dimona declarations"
  jb=$(max_seq "$backend" mutation_journal)
  db=$(max_seq "$backend" dimona_declarations)
  dump_workers "$backend" "$WORK/workers.txt" $((count * 2))
  RAAS_GENERATED_AT="${date}T09:00:00Z" logged "$RAAS" generate dimona --declarations "$count" \
    --workers "$WORK/workers.txt" --seed $((SEED * 1000 + day)) -o "$file"
  logged "$RAAS" --database-url "$(url_of "$backend")" import dimona "$file"
  ja=$(max_seq "$backend" mutation_journal)
  da=$(max_seq "$backend" dimona_declarations)
  sql "$backend" "UPDATE mutation_journal SET recorded_at = $(redate "$backend" "$date") WHERE seq > $jb AND seq <= $ja;
                  UPDATE dimona_declarations SET recorded_at = $(redate "$backend" "$date") WHERE seq > $db AND seq <= $da;
                  UPDATE bench_days SET dimona = $count, journal_after = $ja, dimona_before = $db,
                    dimona_after = $da, dimona_bytes = $(stat -c %s "$file") WHERE day = $day;"
  say "   journal entries … $ja, Dimona declarations $db … $da"
  rm -f "$WORK/workers.txt" "$file"
}

# The day's date: day i of n is the ANCHOR's eve for the last, the days before it for the
# others.
day_date() { day_shift "$1" -$((${#DAY_LIST[@]} + 1 - $2)); }

prepare() {
  local backend=$1 anchor day date count last=${#DAY_LIST[@]} changed=0
  PREPARING=$backend
  anchor=$(anchor_of "$backend")
  if [[ -z $anchor ]]; then
    anchor=$(TZ=Europe/Brussels date +%F)
    prepare_base "$backend" "$anchor"
    changed=1
  else
    # A newer raas may bring migrations: the cached data set gets them.
    logged "$RAAS" --database-url "$(url_of "$backend")" migrate
  fi
  for day in $(seq 1 "$last"); do
    date=$(day_date "$anchor" "$day")
    count=${DAY_LIST[$((day - 1))]}
    if [[ -z $(sql "$backend" "SELECT day FROM bench_days WHERE day = $day") ]]; then
      prepare_day "$backend" "$day" "$date" "$count"
      changed=1
      # Dimona while the days are made: in proportion to the day's mutations.
      if ((HAVE_DIMONA && DIMONA > 0 && (day == last || DAYS_DIMONA))); then
        add_dimona "$backend" "$day" "$date" $((DIMONA * count / MUTATIONS))
      fi
    fi
  done
  # A data set made before the Dimona source existed: the headline (last) day gets its
  # declarations now.
  if ((HAVE_DIMONA && DIMONA > 0)) &&
    [[ $(sql "$backend" "SELECT dimona FROM bench_days WHERE day = $last") == 0 ]]; then
    add_dimona "$backend" "$last" "$(day_date "$anchor" "$last")" "$DIMONA"
    changed=1
  fi
  if ((changed)); then
    say "== $backend: ANALYZE"
    if [[ $backend == sqlite ]]; then
      sqlite3 "$SQLITE_DB" "ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
    else
      sql "$backend" "VACUUM ANALYZE"
    fi
  else
    say "== $backend: the cached data set ($KEY)"
  fi
  PREPARING=
}

# The subscriptions of S subscribers: with S ≤ REGISTERS every (REGISTERS / S)-th register (a
# sample of large and small ones), else every register and S − REGISTERS organisations without
# lines. Each one PERSON_MUTATIONS (one in four, of those with several dossier types, limited
# to its first); one in ten also DIMONA_MUTATIONS, authorised 2020 … 2030.
subscribe() {
  local backend=$1 s=$2 step=$((REGISTERS / $2))
  local chosen rank
  if ((s <= REGISTERS)); then
    chosen="id <= $REGISTERS AND (id - 1) % $step = 0 AND (id - 1) / $step < $s"
    rank="((organisation_id - 1) / $step)"
  else
    chosen="id <= $s"
    rank="(organisation_id - 1)"
  fi
  sql "$backend" "DELETE FROM batch_files; DELETE FROM batch_runs;
    DELETE FROM subscription_dossier_types; DELETE FROM subscriptions;
    INSERT INTO subscriptions (organisation_id, file_type, authorisation, authorised_from,
        authorised_to, starts_on, ends_on, created_at)
      SELECT id, 'PERSON_MUTATIONS', NULL, NULL, NULL, '2020-01-01', NULL, '2020-01-01 00:00:00.000000'
      FROM organisations WHERE $chosen ORDER BY id;
    INSERT INTO subscriptions (organisation_id, file_type, authorisation, authorised_from,
        authorised_to, starts_on, ends_on, created_at)
      SELECT id, 'DIMONA_MUTATIONS', 'BENCH-AUTH-' || id, '2020-01-01', '2030-12-31', '2020-01-01',
        NULL, '2020-01-01 00:00:00.000000'
      FROM organisations WHERE $chosen AND ${rank//organisation_id/id} % 10 = 0 ORDER BY id;
    INSERT INTO subscription_dossier_types (subscription_id, dossier_type_id)
      SELECT s.id, (SELECT min(t.id) FROM dossier_types t WHERE t.organisation_id = s.organisation_id)
      FROM subscriptions s
      WHERE s.file_type = 'PERSON_MUTATIONS' AND s.organisation_id <= $REGISTERS
        AND s.organisation_id % 3 <> 0 AND ${rank//organisation_id/s.organisation_id} % 4 = 3;"
}

# Forgets every run and records the eve of DAY as run up to the day's first entries, so the
# run of DAY makes the files of the day's entries alone.
reset_runs() {
  local backend=$1 date=$2 jb=$3 db=$4 eve
  eve=$(day_shift "$date" -1)
  sql "$backend" "DELETE FROM batch_files; DELETE FROM batch_runs;
    INSERT INTO batch_runs (reference_date, journal_after, journal_upto, dimona_after, dimona_upto,
        started_at, finished_at, files, records, trigger_name)
      VALUES ('$eve', 0, $jb, 0, $db, '$eve 03:00:00.000000', '$eve 03:00:01.000000', 0, 0, 'command');"
}

median() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The floor of a day: reading its journal entries and Dimona declarations out of the database
# into a file (sqlite3 / psql \copy), then writing as many bytes as the run wrote to one file
# with an fsync (dd conv=fsync). Sets FLOOR_READ_S, FLOOR_WRITE_S, FLOOR_ROWS.
floor() {
  local backend=$1 jb=$2 ja=$3 db=$4 da=$5 bytes=$6 start out=$WORK/floor
  local q1="SELECT * FROM mutation_journal WHERE seq > $jb AND seq <= $ja"
  local q2="SELECT * FROM dimona_declarations WHERE seq > $db AND seq <= $da"
  sync
  start=$(date +%s.%N)
  if [[ $backend == sqlite ]]; then
    sqlite3 -batch -bail "$SQLITE_DB" "$q1; $q2;" >"$out.rows"
  else
    psql -q -X -v ON_ERROR_STOP=1 "$PG_URL/$PG_DB" -c "\\copy ($q1) TO '$out.rows'" \
      -c "\\copy ($q2) TO '$out.dimona'"
    cat "$out.dimona" >>"$out.rows"
  fi
  FLOOR_READ_S=$(seconds_since "$start")
  FLOOR_ROWS=$(wc -l <"$out.rows")
  start=$(date +%s.%N)
  head -c "$bytes" /dev/zero | dd of="$out.bytes" bs=1M iflag=fullblock conv=fsync status=none
  FLOOR_WRITE_S=$(seconds_since "$start")
  rm -f "$out.rows" "$out.dimona" "$out.bytes"
}

ROWS=()
RUN_FAILED=0

# measure BACKEND WHAT SUBSCRIBERS DAY: REPEAT runs of the day, each from an empty outbox and
# run tables reset; one row of the report.
measure() {
  local backend=$1 what=$2 s=$3 day=$4
  local date mutations dimona jb ja db da url outbox=$WORK/outbox
  IFS=$'\t' read -r date mutations dimona jb ja db da < <(sql "$backend" \
    "SELECT reference_date, mutations, dimona, journal_before, journal_after, dimona_before, dimona_after
     FROM bench_days WHERE day = $day")
  url=$(url_of "$backend")
  say "== $backend: $what — $s subscribers, day $day ($date, $mutations mutations, $dimona Dimona)"
  subscribe "$backend" "$s"
  local subs times=() rss=() files=0 records=0 bytes=0 failed=0
  subs=$(sql "$backend" "SELECT count(*) FROM subscriptions")
  for rep in $(seq 1 "$REPEAT"); do
    reset_runs "$backend" "$date" "$jb" "$db"
    rm -rf "$outbox"
    mkdir -p "$outbox"
    sync
    local tfile=$WORK/time summary
    echo "\$ raas batch run --date $date --quiet ($backend, $s subscribers, repetition $rep)" >>"$LOG"
    if ! RAAS_OUTBOX=$outbox RAAS_SIGNING_KEY=$([[ -f $KEYFILE ]] && echo "$KEYFILE") RUST_LOG=${RUST_LOG:-info} \
      /usr/bin/time -f '%e %M' -o "$tfile" \
      "$RAAS" --database-url "$url" batch run --date "$date" --quiet >"$WORK/summary" 2>>"$LOG"; then
      tail -n 5 "$LOG" >&2
      say "   the run failed (see $LOG)"
      failed=1
      RUN_FAILED=1
      break
    fi
    cat "$WORK/summary" >>"$LOG"
    summary=$(tail -n 1 "$WORK/summary")
    read -r elapsed peak < <(tail -n 1 "$tfile")
    times+=("$elapsed")
    rss+=("$peak")
    files=$(find "$outbox" -type f -name '*.xml' ! -name '*.voucher.xml' | wc -l)
    bytes=$(find "$outbox" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
    records=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("records", "?"))' "$summary" 2>/dev/null || echo "?")
    printf '{"backend":"%s","what":"%s","subscribers":%s,"day":%s,"date":"%s","mutations":%s,"dimona":%s,"repetition":%s,"seconds":%s,"peak_rss_kib":%s,"data_files":%s,"outbox_bytes":%s,"summary":%s}\n' \
      "$backend" "$what" "$s" "$day" "$date" "$mutations" "$dimona" "$rep" "$elapsed" "$peak" "$files" "$bytes" \
      "${summary:-null}" >>"$JSONL"
    say "   run $rep: $elapsed s, peak RSS $((peak / 1024)) MiB, $files data files, $records records, $bytes bytes"
  done
  if ((failed)); then
    ROWS+=("| $backend | $what | $s ($subs) | $mutations | $dimona | $((ja - jb)) | run failed | | | | | | | | |")
    return
  fi
  floor "$backend" "$jb" "$ja" "$db" "$da" "$bytes"
  local files_floor
  files_floor=$(python3 "$HERE/batch_files_floor.py" "$outbox" "$WORK/files-floor" | cut -f3)
  rm -rf "$outbox"
  local med peak_max floor_s ratio goal
  med=$(echo "${times[*]}" | median)
  peak_max=$(printf '%s\n' "${rss[@]}" | sort -n | tail -n 1)
  floor_s=$(awk -v r="$FLOOR_READ_S" -v w="$FLOOR_WRITE_S" 'BEGIN { printf "%.2f", r + w }')
  ratio=$(awk -v m="$med" -v f="$floor_s" 'BEGIN { printf "%.1f", (f > 0 ? m / f : 0) }')
  goal=$(awk -v m="$med" -v k="$peak_max" 'BEGIN { print (m < 30 && k < 512 * 1024) ? "yes" : "**no**" }')
  say "   median $med s; floor $floor_s s (read $FLOOR_READ_S s, write $FLOOR_WRITE_S s); ratio $ratio; the files alone $files_floor s"
  ROWS+=("| $backend | $what | $s ($subs) | $mutations | $dimona | $((ja - jb)) | $files | $records | $(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }') | $med ($(printf '%s\n' "${times[@]}" | sort -g | head -n 1)–$(printf '%s\n' "${times[@]}" | sort -g | tail -n 1)) | $((peak_max / 1024)) | $FLOOR_READ_S + $FLOOR_WRITE_S = $floor_s | $ratio | $files_floor | $goal |")
}

say "== log: $LOG"
guard_disk
for backend in $BACKENDS; do
  prepare "$backend"
done
kill "$GUARD_PID" 2>/dev/null || true
GUARD_PID=
if [[ ${PREPARE_ONLY:-0} == 1 ]]; then
  say "== the data sets are ready"
  exit 0
fi

KEYFILE=$WORK/signing-key.pem
"$RAAS" batch keygen -o "$KEYFILE" >>"$LOG" 2>&1 || say "== raas batch keygen failed: the runs go without a signing key (see $LOG)"
wanted() { [[ " $MEASURE " == *" $1 "* ]]; }
for backend in $BACKENDS; do
  if wanted headline; then measure "$backend" headline "$SUBSCRIBERS" "$HEADLINE_DAY"; fi
  if wanted subscribers; then
    for s in "${SUBSCRIBER_LIST[@]}"; do
      [[ $s == "$SUBSCRIBERS" ]] || measure "$backend" subscribers "$s" "$HEADLINE_DAY"
    done
  fi
  if wanted mutations; then
    for day in $(seq 1 ${#DAY_LIST[@]}); do
      [[ $day == "$HEADLINE_DAY" ]] || measure "$backend" mutations "$SUBSCRIBERS" "$day"
    done
  fi
done

{
  echo "# Batch benchmark: the daily run (raas batch run --date D --quiet)"
  echo
  echo "$(date -u +%FT%TZ), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)," \
    "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg). Data set: $PERSONS persons," \
    "$RELATIONS register lines in $REGISTERS registers, $ORGANISATIONS organisations, seed $SEED" \
    "(key $KEY)."
  echo
  echo "Run: wall-clock seconds of the whole command (median of $REPEAT, range), release build," \
    "outbox emptied and run tables reset before each; peak RSS: the largest of the repetitions" \
    "(GNU time). Subscribers: organisations subscribed (subscription rows). Floor: reading the" \
    "day's journal entries and Dimona declarations out of the database into a file" \
    "(sqlite3 / psql \\copy) + writing the run's byte count to one file with dd conv=fsync." \
    "Files s: writing files of the sizes the run wrote (data files, vouchers, signatures), then" \
    "one syncfs (batch_files_floor.py): what the number of files costs. Goal: under 30 s and" \
    "under 512 MiB."
  echo
  echo "| backend | measured | subscribers (rows) | mutations | Dimona | journal entries | data files | records | MiB written | run s | peak RSS MiB | floor s (read + write) | run / floor | files s | < 30 s, < 512 MiB |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  printf '%s\n' "${ROWS[@]}"
} >"$REPORT"
say "== $REPORT"
cat "$REPORT"
((RUN_FAILED == 0)) || exit 3
