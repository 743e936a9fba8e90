#!/usr/bin/env bash
# Creates a fresh register database and seeds it with PERSONS persons of the source (the NISS
# numbers of indexes 0 … PERSONS − 1 of niss.lua) and LINES register lines, one for each of
# the first LINES persons (PERSONS ≥ LINES); or, with `source` for PERSONS, adds LINES lines
# to the empty register of an existing database whose source holds persons already (loaded with
# `raas import persons`), one for each of its first LINES active persons by number.
#
#   seed.sh sqlite   PATH            LINES PERSONS
#   seed.sh postgres DATABASE_URL    LINES PERSONS   (the database is dropped and created again)
#   seed.sh BACKEND  URL             LINES source    (the database stays; no VACUUM, ANALYZE only)
#
# Environment: RAAS_BIN (the raas binary), BENCH_CBE, BENCH_USERNAME, BENCH_PASSWORD,
# BENCH_DOSSIER_TYPE. The organisation, credential and dossier type are created with
# `raas admin` after `raas migrate`, exactly as an operator would; only the persons and the
# register lines are bulk-inserted in SQL (seed-sqlite.sql / seed-postgres.sql, both with
# seed-persons.sql), then VACUUM and ANALYZE. `seed.sh BACKEND URL 0 0` gives an onboarded
# database with an empty source.
set -euo pipefail
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
here=$(cd "$(dirname "$0")" && pwd)
backend=$1 url=$2 lines=$3 persons=$4
fresh=1
if [[ $persons == source ]]; then
  fresh=0 persons=0 # the SQL takes the lines' persons from the source when it seeds none
elif ((persons < lines)); then
  echo "seed.sh: $lines register lines need as many persons at least, not $persons" >&2
  exit 2
fi
: "${RAAS_BIN:?}" "${BENCH_CBE:?}" "${BENCH_USERNAME:?}" "${BENCH_PASSWORD:?}" "${BENCH_DOSSIER_TYPE:?}"

case $backend in
  sqlite)
    url=$(realpath -m "$url") # seed-sqlite.sql runs in this folder (.cd), beside seed-persons.sql
    if ((fresh)); then rm -f "$url" "$url-wal" "$url-shm"; fi
    mkdir -p "$(dirname "$url")"
    ;;
  postgres)
    # Maintenance connection: same server and user, database "postgres".
    db=${url##*/}
    admin_url=${url%/*}/postgres
    if ((fresh)); then
      psql -q -X -v ON_ERROR_STOP=1 "$admin_url" \
        -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" -c "CREATE DATABASE \"$db\"" >/dev/null
    fi
    ;;
  *) echo "seed.sh: unknown backend $backend" >&2; exit 2 ;;
esac

raas() { "$RAAS_BIN" --database-url "$url" "$@" >/dev/null; }
if ((fresh)); then
  raas migrate
  raas admin org add --cbe "$BENCH_CBE" --name Bench
  printf '%s\n' "$BENCH_PASSWORD" | raas admin credential add --cbe "$BENCH_CBE" --username "$BENCH_USERNAME"
  raas admin dossier-type add --cbe "$BENCH_CBE" --code "$BENCH_DOSSIER_TYPE"
fi

# Fresh: VACUUM too. Into a loaded source: its statistics are fresh; VACUUM would rewrite a
# SQLite file of gigabytes.
maintenance=("VACUUM (ANALYZE)" "VACUUM; ANALYZE;")
((fresh)) || maintenance=("ANALYZE relations" "ANALYZE relations;")
case $backend in
  sqlite)
    sqlite3 -batch -cmd ".cd \"$here\"" \
      -cmd ".parameter set @n $lines" -cmd ".parameter set @persons $persons" \
      -cmd ".parameter set @cbe \"'$BENCH_CBE'\"" \
      -cmd ".parameter set @code \"'$BENCH_DOSSIER_TYPE'\"" "$url" < "$here/seed-sqlite.sql" >/dev/null
    sqlite3 -batch "$url" "${maintenance[1]}"
    ;;
  postgres)
    psql -q -X -v ON_ERROR_STOP=1 -v n="$lines" -v persons="$persons" -v cbe="$BENCH_CBE" \
      -v code="$BENCH_DOSSIER_TYPE" -f "$here/seed-postgres.sql" -c "${maintenance[0]}" "$url" >/dev/null
    ;;
esac
counts="SELECT (SELECT count(*) FROM relations) || ' ' || (SELECT count(*) FROM persons)"
case $backend in
  sqlite) count=$(sqlite3 -batch "$url" "$counts") ;;
  postgres) count=$(psql -At -X "$url" -c "$counts") ;;
esac
expected="$lines $persons"
((fresh)) || expected="$lines ${count#* }" # the source's persons are the import's
if [[ $count != "$expected" ]]; then
  echo "seed.sh: expected $expected (register lines, persons), found $count" >&2
  exit 1
fi
