#!/usr/bin/env bash
# Creates a fresh register database and seeds it with LINES lines (one per person).
#
#   seed.sh sqlite   PATH            LINES
#   seed.sh postgres DATABASE_URL    LINES    (the database is dropped and created again)
#
# Environment: RAAS_BIN (the raas binary), BENCH_CBE, BENCH_USERNAME, BENCH_PASSWORD,
# BENCH_DOSSIER_TYPE. The organisation, credential and dossier type are created with
# `raas admin` after `raas migrate`, exactly as an operator would; only the register lines are
# bulk-inserted in SQL (seed-sqlite.sql / seed-postgres.sql), then VACUUM and ANALYZE.
set -euo pipefail
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
here=$(cd "$(dirname "$0")" && pwd)
backend=$1 url=$2 lines=$3
: "${RAAS_BIN:?}" "${BENCH_CBE:?}" "${BENCH_USERNAME:?}" "${BENCH_PASSWORD:?}" "${BENCH_DOSSIER_TYPE:?}"

case $backend in
  sqlite)
    rm -f "$url" "$url-wal" "$url-shm"
    mkdir -p "$(dirname "$url")"
    ;;
  postgres)
    # Maintenance connection: same server and user, database "postgres".
    db=${url##*/}
    admin_url=${url%/*}/postgres
    psql -q -X -v ON_ERROR_STOP=1 "$admin_url" \
      -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" -c "CREATE DATABASE \"$db\"" >/dev/null
    ;;
  *) echo "seed.sh: unknown backend $backend" >&2; exit 2 ;;
esac

raas() { "$RAAS_BIN" --database-url "$url" "$@" >/dev/null; }
raas migrate
raas admin org add --cbe "$BENCH_CBE" --name Bench
printf '%s\n' "$BENCH_PASSWORD" | raas admin credential add --cbe "$BENCH_CBE" --username "$BENCH_USERNAME"
raas admin dossier-type add --cbe "$BENCH_CBE" --code "$BENCH_DOSSIER_TYPE"

case $backend in
  sqlite)
    sqlite3 -batch -cmd ".parameter set @n $lines" -cmd ".parameter set @cbe \"'$BENCH_CBE'\"" \
      -cmd ".parameter set @code \"'$BENCH_DOSSIER_TYPE'\"" "$url" < "$here/seed-sqlite.sql" >/dev/null
    count=$(sqlite3 -batch "$url" "SELECT count(*) FROM relations")
    ;;
  postgres)
    psql -q -X -v ON_ERROR_STOP=1 -v n="$lines" -v cbe="$BENCH_CBE" -v code="$BENCH_DOSSIER_TYPE" \
      -f "$here/seed-postgres.sql" "$url" >/dev/null
    count=$(psql -At -X "$url" -c "SELECT count(*) FROM relations")
    ;;
esac
if [[ $count != "$lines" ]]; then
  echo "seed.sh: expected $lines register lines, found $count" >&2
  exit 1
fi
