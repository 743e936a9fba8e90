#!/usr/bin/env bash
# The REST download benchmark: a SIZE_MB file (default 100) published to a mailbox, then
# downloaded REPEAT times (default 5) through GET /api/v1/deliveries/{id}/content with an
# OAuth token, against the same bytes served as a static file by nginx (the limit) in the same
# run; and the server's peak RSS while it streams. Release build; SQLite.
#
#   tests/bench/download.sh                 # needs nginx (apt-get install nginx-light), curl, jq
#   SIZE_MB=1000 REPEAT=3 tests/bench/download.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RAAS=${RAAS_BIN:-$ROOT/target/release/raas}
SIZE_MB=${SIZE_MB:-100}
REPEAT=${REPEAT:-5}
command -v nginx >/dev/null || { echo "download.sh: nginx is needed (apt-get install nginx-light)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/raas-bench-download.XXXXXX)
cleanup() { kill "${SERVE:-}" 2>/dev/null || true; nginx -p "$WORK/nginx" -c nginx.conf -s stop 2>/dev/null || true; }
trap cleanup EXIT
chmod 755 "$WORK"
cd "$WORK"
D=(--database-url "sqlite://$WORK/raas.db" --outbox "$WORK/outbox")
head -c "$((SIZE_MB * 1048576))" /dev/urandom > payload.bin
"$RAAS" "${D[@]}" admin org add --cbe 0202239951 --name Bench >/dev/null
"$RAAS" "${D[@]}" admin publish --cbe 0202239951 --subject bench --file payload.bin --operator bench >/dev/null
"$RAAS" "${D[@]}" admin client add --cbe 0202239951 > client.txt
ID=$(awk '/client_id/{print $2}' client.txt); SECRET=$(awk '/client_secret/{print $2}' client.txt)
"$RAAS" "${D[@]}" serve --listen 127.0.0.1:0 > serve.out 2> serve.log &
SERVE=$!
for _ in $(seq 100); do grep -q "listening on" serve.out 2>/dev/null && break; sleep 0.1; done
BASE=$(sed -n 's/^raas listening on //p' serve.out | head -1)
mkdir -p nginx/logs nginx/www && cp payload.bin nginx/www/
cat > nginx/nginx.conf <<CONF
worker_processes 1; pid nginx.pid; error_log logs/error.log;
events { worker_connections 64; }
http { access_log off; sendfile on; server { listen 127.0.0.1:18193; root $WORK/nginx/www; } }
CONF
nginx -p "$WORK/nginx" -c nginx.conf
TOKEN=$(curl -s -u "$ID:$SECRET" -d grant_type=client_credentials "$BASE/oauth/token" | jq -r .access_token)
rate() { # url [header] → MB/s of one download, checked against the payload's size
  local out; out=$(curl -s -o /dev/null -w '%{size_download} %{speed_download}' ${2:+-H "$2"} "$1")
  [[ ${out%% *} == "$((SIZE_MB * 1048576))" ]] || { echo "download.sh: short download from $1: $out" >&2; exit 1; }
  awk -v s="${out##* }" 'BEGIN { printf "%.0f", s / 1048576 }'
}
raas=(); static=()
for _ in $(seq "$REPEAT"); do
  raas+=("$(rate "$BASE/api/v1/deliveries/1/content" "Authorization: Bearer $TOKEN")")
  static+=("$(rate "http://127.0.0.1:18193/payload.bin")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rss=$(awk '/VmHWM/{print $2}' "/proc/$SERVE/status")
r=$(median "${raas[@]}"); s=$(median "${static[@]}")
printf '{"size_mb": %s, "repeat": %s, "raas_mb_s": %s, "nginx_mb_s": %s, "ratio": %s, "raas_runs": "%s", "nginx_runs": "%s", "serve_peak_rss_kib": %s}\n' \
  "$SIZE_MB" "$REPEAT" "$r" "$s" "$(awk -v a="$r" -v b="$s" 'BEGIN{printf "%.2f", a/b}')" "${raas[*]}" "${static[*]}" "$rss"
