#!/usr/bin/env bash
# The login flood benchmark: a wrong-password flood (wrk, FLOOD_CLIENTS connections, a new
# wrong secret for one username on every request) against the release server while
# login_flood.py times first logins (a credential never used before, each time) from another
# loopback address and from the flood's own, and the calls of a client already logged in.
# Reports their p50/p99, the flood's answers per second by reason code and the server's peak
# RSS (VmHWM). See README.md, "Login flood benchmark".
#
#   tests/bench/login_flood.sh                       # SQLite, 20 s of flood
#   BACKEND=postgres tests/bench/login_flood.sh
#   RAAS_BIN=path/to/raas tests/bench/login_flood.sh # another build (no cargo build)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BACKEND=${BACKEND:-sqlite}
DURATION=${DURATION:-20}
FLOOD_CLIENTS=${FLOOD_CLIENTS:-32}
FLOOD_THREADS=${FLOOD_THREADS:-2}
QUIET=${QUIET:-5}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
SERVER_ARGS=${SERVER_ARGS:-}
say() { printf '%s\n' "$*" >&2; }
die() { say "login_flood: $*"; exit 1; }
for tool in wrk python3 jq curl sqlite3 psql flock; do
  command -v "$tool" >/dev/null || die "$tool is needed"
done

mkdir -p "$ROOT/target/bench"
exec 9>"$ROOT/target/bench/.lock"
flock -n 9 || die "another benchmark is running (target/bench/.lock)"
if [[ -z ${RAAS_BIN:-} ]]; then
  say "== cargo build --release"
  (cd "$ROOT" && cargo build --release --quiet --bin raas)
fi
RUN_DIR=$ROOT/target/bench/login-flood-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RUN_DIR"
cp "${RAAS_BIN:-$ROOT/target/release/raas}" "$RUN_DIR/raas"
RAAS=$RUN_DIR/raas

case $BACKEND in
  sqlite) DB=$RUN_DIR/flood.db ;;
  postgres)
    DB=$PG_URL/raas_flood
    psql -q -X "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS raas_flood WITH (FORCE)" -c "CREATE DATABASE raas_flood" >/dev/null ;;
  *) die "BACKEND is sqlite or postgres" ;;
esac
query() { if [[ $BACKEND == postgres ]]; then psql -X -At "$DB" -c "$1"; else sqlite3 -batch "$DB" "$1"; fi; }

SERVER_PID=
cleanup() {
  [[ -z $SERVER_PID ]] || { kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true; }
  rm -f "$RAAS"
  [[ $BACKEND != postgres ]] || psql -q -X "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS raas_flood WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

export BENCH_CBE=0202239951 BENCH_USERNAME=bench BENCH_PASSWORD=bench-secret-$RANDOM$RANDOM
export FIRST_SECRET=first-secret-$RANDOM$RANDOM
admin() { "$RAAS" --database-url "$DB" admin "$@" >/dev/null; }
"$RAAS" --database-url "$DB" migrate >/dev/null
admin org add --cbe "$BENCH_CBE" --name "Bench"
echo "$BENCH_PASSWORD" | admin credential add --cbe "$BENCH_CBE" --username "$BENCH_USERNAME"
echo "flooded-secret-$RANDOM$RANDOM" | admin credential add --cbe "$BENCH_CBE" --username flooded
echo "$FIRST_SECRET" | admin credential add --cbe "$BENCH_CBE" --username first-template
# Credentials never used, first-1 … first-N, all with the template's secret (and hash).
N=20000
if [[ $BACKEND == postgres ]]; then
  query "INSERT INTO credentials (organisation_id, username, secret_hash, created_at)
    SELECT organisation_id, 'first-' || i, secret_hash, created_at
    FROM credentials, generate_series(1, $N) AS i WHERE username = 'first-template'" >/dev/null
else
  query "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $N)
    INSERT INTO credentials (organisation_id, username, secret_hash, created_at)
    SELECT organisation_id, 'first-' || i, secret_hash, created_at
    FROM credentials, seq WHERE username = 'first-template'"
fi

: >"$RUN_DIR/server.log"
# shellcheck disable=SC2086 # SERVER_ARGS are words
RUST_LOG=warn "$RAAS" --database-url "$DB" serve --listen 127.0.0.1:0 $SERVER_ARGS >"$RUN_DIR/server.log" 2>&1 &
SERVER_PID=$!
PORT=
for _ in $(seq 300); do
  PORT=$(grep -oP 'listening on http://127\.0\.0\.1:\K[0-9]+' "$RUN_DIR/server.log" || true)
  [[ -n $PORT ]] && break
  sleep 0.1
done
[[ -n $PORT ]] || die "the server did not start (see $RUN_DIR/server.log)"
rss() { grep -oP "^$1:\s*\K[0-9]+" "/proc/$SERVER_PID/status"; }
RSS_START=$(rss VmRSS)

say "== $BACKEND: first logins without a flood (${QUIET} s)"
QUIET_RESULT=$(FIRST_FROM=1 python3 "$HERE/login_flood.py" "$PORT" quiet "$QUIET")
RSS_QUIET=$(rss VmRSS)

say "== $BACKEND: wrong-password flood, $FLOOD_CLIENTS connections for $DURATION s, first logins beside it"
BENCH_USERNAME=flooded wrk -t "$FLOOD_THREADS" -c "$FLOOD_CLIENTS" -d "${DURATION}s" --timeout 10s \
  -s "$HERE/flood.lua" "http://127.0.0.1:$PORT/soap/PersonRegisterService" >"$RUN_DIR/flood.wrk" 2>&1 &
WRK_PID=$!
sleep 2 # the flood's burst is spent: what follows is the flood as it lasts
FLOOD_RESULT=$(FIRST_FROM=10000 python3 "$HERE/login_flood.py" "$PORT" flood $((DURATION - 4)))
wait "$WRK_PID" || { cat "$RUN_DIR/flood.wrk" >&2; die "wrk failed"; }
WRK_RESULT=$(grep -m1 '^FLOOD_RESULT ' "$RUN_DIR/flood.wrk" | cut -d' ' -f2-) || die "no result in $RUN_DIR/flood.wrk"
RSS_END=$(rss VmRSS)
RSS_PEAK=$(rss VmHWM)

jq -n --arg backend "$BACKEND" --argjson quiet "$QUIET_RESULT" --argjson flood "$FLOOD_RESULT" \
  --argjson wrk "$WRK_RESULT" --argjson clients "$FLOOD_CLIENTS" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
  --argjson rss_start "$RSS_START" --argjson rss_quiet "$RSS_QUIET" --argjson rss_end "$RSS_END" \
  --argjson rss_peak "$RSS_PEAK" --arg binary "$(sha256sum "$RAAS" | cut -c1-12)" \
  '{backend: $backend, binary_sha256: $binary, flood_clients: $clients, load_at_end: $load,
    without_flood: $quiet, during_flood: $flood, flood: $wrk,
    server_rss_kb: {start: $rss_start, after_quiet_logins: $rss_quiet, end: $rss_end, peak_VmHWM: $rss_peak}}' \
  | tee "$RUN_DIR/result.json"
say "results: $RUN_DIR/result.json"
