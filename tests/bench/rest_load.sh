#!/usr/bin/env bash
# The REST load benchmark: the mailbox API at 32 concurrent clients, on the release server,
# against references measured in the same run. See README.md, "REST load benchmark".
#
#   1. a mailbox of DELIVERIES broadcasts (1 000) and one SIZE_MB (100) MB delivery, an OAuth
#      client, one token for the whole run (the server started with a 1 h token lifetime);
#   2. list: GET /api/v1/deliveries?page=N&pageSize=50, N random over every page, beside
#      GET /livez (the server's floor) and nginx serving one such page as a static file;
#   3. download: GET /api/v1/deliveries/{id}/content of the large delivery, by 32 clients at
#      once (and by 1), beside nginx serving the same bytes (sendfile) to as many clients;
#      the server's RSS sampled all along;
#   4. target/bench/rest-load-<time>/results.{md,json} (copied to target/bench/rest_load.*):
#      req/s, p50, p99, MiB/s, the ratios, the goal (download ≥ 0.5 × nginx at 32 clients,
#      constant memory) said met or missed. Exit status 3 only when requests failed.
#
#   tests/bench/rest_load.sh                          # SQLite (≈ 4 min)
#   BACKENDS="sqlite postgres" tests/bench/rest_load.sh
#   QUICK=1 tests/bench/rest_load.sh                  # smoke test (≈ 1 min)
#   tests/bench/rest_load.sh --help
set -euo pipefail

BENCH_NAME=rest_load
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

usage() {
  cat <<'EOF_USAGE'
usage: tests/bench/rest_load.sh [--quick] [--no-build] [--backends "sqlite postgres"]
                                [--duration S] [--repeat N] [--clients N] [--threads N]

Every option is also an environment variable (flags win):
  QUICK=1            200 deliveries, 5 s runs, 1 s warm-ups, 20 MB file
  DELIVERIES         broadcasts in the mailbox, each published with `raas admin publish`
                     (default 1000; with the large file, 21 pages of 50)
  PAGE_SIZE          pageSize of the list requests              (default 50)
  SIZE_MB            the large delivery, MiB of random bytes    (default 100)
  DOWNLOAD_CLIENTS   client counts of the download measurements (default "1 32"; the
                     1-client run is the memory baseline)
  DOWNLOAD_DURATION  seconds per download measurement           (default DURATION)
  NGINX_WORKERS      worker_processes of the reference nginx    (default auto: one per core)
  PUBLISH_JOBS       `raas admin publish` run this many at a time (default 1; on SQLite more
                     fail: "database is locked" when the file is opened)
EOF_USAGE
  bench_common_usage | sed -e 's/(default both)/(default sqlite)/' \
    -e 's/(default 10)/(default 20)/' -e 's/(default 3; medians are reported)/(default 1; medians are reported)/' \
    -e 's/(default 5)$/(default 3)/'
  cat <<'EOF_USAGE'
  PG_DB              the PostgreSQL database (default raas_bench_rest_load)
The SQLite file is target/bench/rest-load.db; the outbox is in the run folder, removed at the end.

Needs wrk, nginx (Debian: apt-get install nginx-light), curl, jq, python3, sqlite3, flock,
GNU time; psql and a PostgreSQL server for the postgres backend.
Results: target/bench/rest-load-<time>/ (results.md, results.json, runs.jsonl, wrk outputs,
RSS samples, server and nginx logs), copied to target/bench/rest_load.{md,json}.
EOF_USAGE
}

bench_option() {
  case $1 in
    --quick) QUICK=1 ;;
    *) return 1 ;;
  esac
}

bench_parse_options "$@"

if [[ ${QUICK:-0} == 1 ]]; then
  DELIVERIES=${DELIVERIES:-200} DURATION=${DURATION:-5} WARMUP=${WARMUP:-1} SIZE_MB=${SIZE_MB:-20}
fi
BACKENDS=${BACKENDS:-sqlite}
DURATION=${DURATION:-20}
REPEAT=${REPEAT:-1}
WARMUP=${WARMUP:-3}
DELIVERIES=${DELIVERIES:-1000}
PAGE_SIZE=${PAGE_SIZE:-50}
SIZE_MB=${SIZE_MB:-100}
DOWNLOAD_CLIENTS=${DOWNLOAD_CLIENTS:-"1 32"}
DOWNLOAD_DURATION=${DOWNLOAD_DURATION:-$DURATION}
NGINX_WORKERS=${NGINX_WORKERS:-auto}
PUBLISH_JOBS=${PUBLISH_JOBS:-1}
REQUESTED_PG_DB=${PG_DB:-}
bench_defaults
MAX_THREADS=$THREADS
LIST_CLIENTS=$CLIENTS
PG_DB=${REQUESTED_PG_DB:-raas_bench_rest_load}

tools=(wrk nginx curl jq python3 sqlite3 flock /usr/bin/time)
[[ " $BACKENDS " == *" postgres "* ]] && tools+=(psql)
bench_setup rest-load "${tools[@]}"

bench_database_url() { # backend
  case $1 in
    sqlite) echo "$ROOT/target/bench/rest-load.db" ;;
    postgres) echo "$PG_URL/$PG_DB" ;;
  esac
}

SIZE_BYTES=$((SIZE_MB * 1048576))
OTHER_CBE=0403019261
# Every raas command of the run (admin and serve) reads these.
export RAAS_OUTBOX RAAS_TOKEN_LIFETIME_SECONDS=3600
NGINX_DIR=$RUN_DIR/nginx
NGINX_PIDS=
SAMPLER_PID=

rest_cleanup() {
  [[ -z $SAMPLER_PID ]] || kill "$SAMPLER_PID" 2>/dev/null || true
  if [[ -s $NGINX_DIR/nginx.pid ]]; then nginx -p "$NGINX_DIR" -c nginx.conf -s stop 2>/dev/null || true; fi
  rm -rf "$RUN_DIR"/outbox-* "$NGINX_DIR/www"
  bench_cleanup
}
trap rest_cleanup EXIT

# The reference: nginx on a free loopback port, serving RUN_DIR/nginx/www (sendfile on,
# keep-alive connections never closed by it, as raas's).
start_nginx() {
  mkdir -p "$NGINX_DIR/logs" "$NGINX_DIR/www"
  NGINX_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  local user=
  ((EUID == 0)) && user="user root;"
  cat >"$NGINX_DIR/nginx.conf" <<CONF
$user
worker_processes $NGINX_WORKERS;
pid nginx.pid;
error_log logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 120s;
  keepalive_requests 100000000;
  types { application/json json; application/octet-stream bin; }
  server { listen 127.0.0.1:$NGINX_PORT; root $NGINX_DIR/www; }
}
CONF
  nginx -p "$NGINX_DIR" -c nginx.conf || die "nginx did not start (see $NGINX_DIR/logs/error.log)"
  for _ in $(seq 50); do [[ -s $NGINX_DIR/nginx.pid ]] && break; sleep 0.1; done
  local master
  master=$(cat "$NGINX_DIR/nginx.pid")
  NGINX_PIDS="$master $(pgrep -P "$master" | xargs)"
  STATIC=http://127.0.0.1:$NGINX_PORT
  say "   nginx $(nginx -v 2>&1 | cut -d/ -f2), $(wc -w <<<"$NGINX_PIDS") processes (worker_processes $NGINX_WORKERS) on $STATIC"
}

# The server's RSS every 0.2 s while a measurement runs: RUN_DIR/rss-<tag>.tsv (seconds, KiB).
start_sampler() { # tag
  local file=$RUN_DIR/rss-$1.tsv pid=$SERVER_PID
  (
    started=$(date +%s.%N)
    while kill -0 "$pid" 2>/dev/null; do
      printf '%s\t%s\n' "$(seconds_since "$started")" "$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)"
      sleep 0.2
    done
  ) >"$file" &
  SAMPLER_PID=$!
}

stop_sampler() {
  kill "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=
}

rss_now() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status"; }

# Records the server's memory (phase rss-<phase>): before, largest sample and last sample
# during, and 2 s after the measurement `op`.
record_rss() { # phase op rep before_kib
  local tag=$backend-$2-$1-$3 peak last after hwm saved=$LAST
  peak=$(awk -F'\t' '$2 > m { m = $2 } END { print m + 0 }' "$RUN_DIR/rss-$tag.tsv")
  last=$(awk -F'\t' '$2 != "" { l = $2 } END { print l + 0 }' "$RUN_DIR/rss-$tag.tsv")
  sleep 2
  after=$(rss_now)
  hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status")
  record "rss-$1" "$backend" "$SIZE_MB" "$2" "$3" \
    "{\"before_kib\":$4,\"peak_kib\":$peak,\"last_kib\":$last,\"after_kib\":$after,\"vmhwm_kib\":$hwm,\"samples\":$(wc -l <"$RUN_DIR/rss-$tag.tsv")}" '{}'
  say "      raas RSS: $(($4 >> 10)) MiB before, peak $((peak >> 10)) MiB, last $((last >> 10)) MiB, $((after >> 10)) MiB 2 s after (VmHWM $((hwm >> 10)) MiB)"
  LAST=$saved
}

# One measurement (measure_rounds): op is
#   list / livez / static-list     32 clients (CLIENTS): raas's list, raas's /livez, nginx's page
#   download-N / static-download-N N clients: the large delivery from raas / the file from nginx
measure_op() { # phase op rep seconds
  local phase=$1 op=$2 rep=$3 seconds=$4
  local script=$HERE/rest_list.lua url env=() clients=$LIST_CLIENTS timeout=5s cpu_pids=$SERVER_PID
  case $op in
    list) url=$BASE env=(BENCH_TOKEN="$TOKEN" BENCH_PAGES="$PAGES" BENCH_PAGE_SIZE="$PAGE_SIZE") ;;
    livez) url=$BASE/livez script=$HERE/livez.lua ;;
    static-list) url=$STATIC env=(BENCH_PATH=/page.json) cpu_pids=$NGINX_PIDS ;;
    download-*) url=$BASE env=(BENCH_PATH="/api/v1/deliveries/$LARGE_ID/content" BENCH_TOKEN="$TOKEN" BENCH_SIZE="$SIZE_BYTES") ;;
    static-download-*) url=$STATIC env=(BENCH_PATH=/payload.bin BENCH_SIZE="$SIZE_BYTES") cpu_pids=$NGINX_PIDS ;;
    *) die "unknown measurement $op" ;;
  esac
  if [[ $op == *download-* ]]; then
    script=$HERE/rest_download.lua clients=${op##*-} timeout=300s
    seconds=$((seconds == DURATION ? DOWNLOAD_DURATION : seconds))
  fi
  local before
  before=$(rss_now)
  start_sampler "$backend-$op-$phase-$rep"
  CLIENTS=$clients THREADS=$((clients < MAX_THREADS ? clients : MAX_THREADS)) WRK_TIMEOUT=$timeout \
    CPU_PIDS=$cpu_pids WRK_SCRIPT=$script run_wrk "$phase" "$backend" "$SIZE_MB" "$op" "$rep" "$seconds" "$url" "${env[@]}"
  stop_sampler
  if [[ $op == *download* ]]; then
    say "      $(jq -r '"\(.mib_s) MiB/s, \(.good) complete downloads, \(.bytes / 1048576 | floor) MiB received"' <<<"$LAST")"
  fi
  record_rss "$phase" "$op" "$rep" "$before" # keeps LAST, the measurement's result
}

# One broadcast of the mailbox (xargs runs it PUBLISH_JOBS at a time): notice-N.txt.
publish_one() { # n
  local file=$PUBLISH_DIR/notice-$1.txt
  printf 'Bench notice %s: the register is closed for maintenance on Sunday.\n' "$1" >"$file"
  "$RAAS_BIN" --database-url "$db_url" admin publish --cbe "$BENCH_CBE" --cbe "$OTHER_CBE" \
    --subject "Bench notice $1" --file "$file" --operator bench >/dev/null
}

bench_write_meta "$(jq -c -n --argjson deliveries "$DELIVERIES" --argjson page_size "$PAGE_SIZE" \
  --argjson size_mb "$SIZE_MB" --arg download_clients "$DOWNLOAD_CLIENTS" \
  --argjson download_duration "$DOWNLOAD_DURATION" --arg nginx_workers "$NGINX_WORKERS" \
  --arg nginx "$(nginx -v 2>&1 | cut -d/ -f2)" \
  '{deliveries: $deliveries, page_size: $page_size, size_mb: $size_mb,
    download_clients: ($download_clients | split(" ") | map(select(. != "") | tonumber)),
    download_duration_s: $download_duration, nginx_workers: $nginx_workers, nginx: $nginx}')"

say "== results in $RUN_DIR"
say "== backends: $BACKENDS; $DELIVERIES broadcasts + one ${SIZE_MB} MiB delivery; list at $LIST_CLIENTS clients, download at $DOWNLOAD_CLIENTS clients ($MAX_THREADS wrk threads at most); ${DURATION}s per measurement (downloads ${DOWNLOAD_DURATION}s) × $REPEAT, ${WARMUP}s warm-ups; load average $(cut -d' ' -f1-3 /proc/loadavg)"
say "== the load generator (wrk) shares the machine's $(nproc) cores with the server: see the CPU split"

start_nginx
head -c "$SIZE_BYTES" /dev/urandom >"$NGINX_DIR/www/payload.bin"
PAYLOAD_SHA=$(sha256sum "$NGINX_DIR/www/payload.bin" | cut -d' ' -f1)

ops=(static-list livez list)
for c in $DOWNLOAD_CLIENTS; do ops+=("static-download-$c" "download-$c"); done

for backend in $BACKENDS; do
  db_url=$(bench_database_url "$backend")
  say "== $backend"
  drop_database "$db_url"
  if [[ $backend == postgres ]]; then
    PGOPTIONS="-c client_min_messages=warning" psql -q -X "$PG_URL/postgres" -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
  fi
  CURRENT_DB=$db_url
  RAAS_OUTBOX=$RUN_DIR/outbox-$backend
  PUBLISH_DIR=$RUN_DIR/outbox-$backend-source
  mkdir -p "$PUBLISH_DIR"
  "$RAAS_BIN" --database-url "$db_url" migrate >"$RUN_DIR/$backend-migrate.log" 2>&1 ||
    { cat "$RUN_DIR/$backend-migrate.log" >&2; die "raas migrate failed"; }
  "$RAAS_BIN" --database-url "$db_url" admin org add --cbe "$BENCH_CBE" --name "Bench" >/dev/null
  # Another organisation, receiving the same broadcasts: half the deliveries are not the
  # bench mailbox's, as in a register with many mailboxes.
  "$RAAS_BIN" --database-url "$db_url" admin org add --cbe "$OTHER_CBE" --name "Other" >/dev/null

  # 1. The mailbox: DELIVERIES broadcasts, and the large delivery last.
  started=$(date +%s.%N)
  export -f publish_one
  export RAAS_BIN db_url BENCH_CBE OTHER_CBE PUBLISH_DIR
  seq "$DELIVERIES" | xargs -P "$PUBLISH_JOBS" -I{} bash -c 'publish_one {}' ||
    die "raas admin publish failed"
  "$RAAS_BIN" --database-url "$db_url" admin publish --to all --subject "Bench notice to all" \
    --file "$PUBLISH_DIR/notice-1.txt" --operator bench >/dev/null
  "$RAAS_BIN" --database-url "$db_url" admin publish --cbe "$BENCH_CBE" --subject "Bench large file" \
    --file "$NGINX_DIR/www/payload.bin" --operator bench >/dev/null
  publish_s=$(seconds_since "$started")
  rm -rf "$PUBLISH_DIR"
  "$RAAS_BIN" --database-url "$db_url" admin client add --cbe "$BENCH_CBE" >"$RUN_DIR/$backend-client.txt"
  client_id=$(awk '/client_id/ { print $2 }' "$RUN_DIR/$backend-client.txt")
  client_secret=$(awk '/client_secret/ { print $2 }' "$RUN_DIR/$backend-client.txt")
  [[ -n $client_id && -n $client_secret ]] || die "no client id or secret in $RUN_DIR/$backend-client.txt"
  if [[ $backend == postgres ]]; then bench_query "$db_url" 'ANALYZE' >/dev/null; fi
  say "   $((DELIVERIES + 2)) deliveries published in $publish_s s ($PUBLISH_JOBS at a time)"

  start_server "$db_url" "$RUN_DIR/server-$backend.log"
  TOKEN=$(curl -fsS -u "$client_id:$client_secret" -d grant_type=client_credentials "$BASE/oauth/token" | jq -r .access_token)
  [[ -n $TOKEN && $TOKEN != null ]] || die "no access token from $BASE/oauth/token"
  auth=(-H "Authorization: Bearer $TOKEN")
  total=$(curl -fsS "${auth[@]}" "$BASE/api/v1/deliveries?pageSize=1" | jq .totalItems)
  ((total == DELIVERIES + 2)) || die "the mailbox lists $total deliveries, not $((DELIVERIES + 2))"
  PAGES=$(((total + PAGE_SIZE - 1) / PAGE_SIZE))
  LARGE_ID=$(curl -fsS "${auth[@]}" "$BASE/api/v1/deliveries?page=$PAGES&pageSize=$PAGE_SIZE" |
    jq -r --argjson size "$SIZE_BYTES" '.items[] | select(.size == $size) | .id')
  [[ -n $LARGE_ID ]] || die "the large delivery is not on the last page"
  # The static page: page 1 as raas answers it (the size the list's answers have).
  curl -fsS "${auth[@]}" -o "$NGINX_DIR/www/page.json" "$BASE/api/v1/deliveries?page=1&pageSize=$PAGE_SIZE"
  page_bytes=$(stat -c %s "$NGINX_DIR/www/page.json")
  # Both copies of the large file read once (page cache) and checked.
  got=$(curl -fsS "${auth[@]}" "$BASE/api/v1/deliveries/$LARGE_ID/content" | sha256sum | cut -d' ' -f1)
  [[ $got == "$PAYLOAD_SHA" ]] || die "the delivery's content is not the file published"
  got=$(curl -fsS "$STATIC/payload.bin" | sha256sum | cut -d' ' -f1)
  [[ $got == "$PAYLOAD_SHA" ]] || die "nginx does not serve the file"
  record setup "$backend" "$SIZE_MB" setup 0 "$(jq -c -n --argjson deliveries "$total" --argjson pages "$PAGES" \
    --argjson page_bytes "$page_bytes" --argjson publish_s "$publish_s" --argjson large_id "$LARGE_ID" \
    --argjson idle_rss "$(rss_now)" \
    '{deliveries: $deliveries, pages: $pages, page_bytes: $page_bytes, publish_s: $publish_s,
      large_delivery_id: $large_id, idle_rss_kib: $idle_rss}')" '{}'
  say "   $total deliveries in $PAGES pages of $PAGE_SIZE (page 1: $page_bytes bytes); large delivery $LARGE_ID; raas RSS $(($(rss_now) >> 10)) MiB idle"

  measure_rounds "${ops[@]}"

  stop_server
  if [[ ${KEEP_DB:-0} != 1 ]]; then drop_database "$db_url"; fi
  CURRENT_DB=
  rm -rf "$RAAS_OUTBOX"
done

bench_finish rest_load "$HERE/rest_load_report.py"
