#!/usr/bin/env bash
# The WAL benchmark: consultRegister without a pause through the release server on SQLite
# for DURATION seconds (default 300), the size of the write-ahead log sampled every second.
# Every consultation commits an audit entry (group commit), so reads and writes overlap
# without a break: the case where a log that is only checkpointed PASSIVE never starts again.
# See README.md.
#
#   tests/bench/wal.sh                  # 5 minutes, 32 clients, a register of 10 k lines
#   DURATION=60 tests/bench/wal.sh      # one minute
#   tests/bench/wal.sh --help
set -euo pipefail

BENCH_NAME=wal
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

usage() {
  cat <<'EOF_USAGE'
usage: tests/bench/wal.sh [--no-build] [--duration S] [--clients N] [--threads N] [--lines N]

Every option is also an environment variable (flags win):
  DURATION         seconds of unbroken consultations  (default 300)
  LINES            register lines seeded, one person each; consultations pick one at random
                   (default 10000)
  WAL_BOUND_MIB    the largest log allowed            (default 64)
  CLIENTS, THREADS, SERVER_ARGS, NO_BUILD, RAAS_BIN, KEEP_DB: as for soap.sh (below)
EOF_USAGE
  bench_common_usage
  cat <<'EOF_USAGE'

Results: target/bench/wal-<time>/ (results.md, results.json, samples.tsv, wrk output, server
log), copied to target/bench/wal-latest.{md,json}. Exit status 3 when a request failed or the
log grew past WAL_BOUND_MIB.
EOF_USAGE
}

bench_option() {
  case $1 in
    --lines) LINES=$2 OPTION_ARGS=2 ;;
    *) return 1 ;;
  esac
}

bench_parse_options "$@"
DURATION=${DURATION:-300}
LINES=${LINES:-10000}
WAL_BOUND_MIB=${WAL_BOUND_MIB:-64}
BACKENDS=sqlite
# The checkpointer says at debug level how long each emptying of the log paused the writers.
SERVER_LOG=${SERVER_LOG:-warn,raas::store::checkpoint=debug}
bench_defaults
bench_setup wal wrk sqlite3 jq python3 curl pgrep flock /usr/bin/time

bench_write_meta "$(jq -c -n --argjson lines "$LINES" --argjson bound "$WAL_BOUND_MIB" \
  '{lines: $lines, wal_bound_mib: $bound}')"
db_url=$(bench_database_url sqlite)
say "== results in $RUN_DIR"
say "== SQLite, register of $(human "$LINES") lines; $CLIENTS clients, $THREADS client threads; ${DURATION}s of consultations; load average $(cut -d' ' -f1-3 /proc/loadavg)"
CURRENT_DB=$db_url
"$HERE/seed.sh" sqlite "$db_url" "$LINES" "$LINES"
size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
db_start=$(size_of "$db_url")
start_server "$db_url" "$RUN_DIR/server.log"

# Every second: seconds since the start, WAL bytes, database bytes, server RSS (KiB).
SAMPLES=$RUN_DIR/samples.tsv
printf 't\twal_bytes\tdb_bytes\trss_kib\n' >"$SAMPLES"
(
  started=$(date +%s.%N)
  while kill -0 "$SERVER_PID" 2>/dev/null; do
    printf '%s\t%s\t%s\t%s\n' "$(seconds_since "$started")" "$(size_of "$db_url-wal")" \
      "$(size_of "$db_url")" "$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)" >>"$SAMPLES"
    sleep 1
  done
) &
SAMPLER_PID=$!

run_wrk measure sqlite "$LINES" consult 1 "$DURATION" "$BASE/soap/PersonRegisterService" BENCH_NISS_COUNT="$LINES"
show "$LAST"
kill "$SAMPLER_PID" 2>/dev/null || true
wait "$SAMPLER_PID" 2>/dev/null || true
wal_end=$(size_of "$db_url-wal")
db_end=$(size_of "$db_url")
audited=$(bench_query "$db_url" "SELECT count(*) FROM audit_entries WHERE operation = 'consultRegister'")
stop_server

status=0
python3 - "$RUN_DIR" "$LAST" "$db_start" "$db_end" "$wal_end" "$audited" <<'EOF_PY' || status=$?
import json, re, statistics, sys
from pathlib import Path
run_dir, result = Path(sys.argv[1]), json.loads(sys.argv[2])
db_start, db_end, wal_end, audited = map(int, sys.argv[3:7])
meta = json.loads((run_dir / "meta.json").read_text())
rows = [l.split("\t") for l in (run_dir / "samples.tsv").read_text().splitlines()[1:] if l.strip()]
wal = [int(r[1]) for r in rows]
rss = [int(r[3]) for r in rows]
log = re.sub(r"\x1b\[[0-9;]*m", "", (run_dir / "server.log").read_text())
pauses = [int(p) / 1000 for p in re.findall(r"WAL emptied.*?pause_us=(\d+)", log)]
not_emptied = log.count("WAL not emptied")
mib = lambda b: b / 2**20
bound = meta["wal_bound_mib"]
lat = result["latency_ms"]
ok = result["failures"] == 0 and max(wal, default=0) <= bound * 2**20 and audited >= result["good"]
q = lambda xs, f: sorted(xs)[min(len(xs) - 1, int(f * len(xs)))] if xs else None
figures = {
    "duration_s": result["seconds"], "clients": meta["clients"], "lines": meta["lines"],
    "good_rps": result["rps"], "good": result["good"], "failures": result["failures"],
    "p50_ms": lat["p50"], "p99_ms": lat["p99"], "max_ms": lat["max"],
    "wal_max_bytes": max(wal, default=0), "wal_end_bytes": wal_end, "wal_bound_mib": bound,
    "db_start_bytes": db_start, "db_end_bytes": db_end, "rss_max_kib": max(rss, default=0),
    "rss_end_kib": rss[-1] if rss else 0, "samples": len(rows), "audited_consultations": audited,
    "log_emptied": len(pauses), "log_not_emptied": not_emptied,
    "writer_pause_ms": {"p50": q(pauses, 0.5), "p99": q(pauses, 0.99), "max": max(pauses, default=None)},
    "cpu": result["cpu"], "met": ok,
}
f = lambda v, d=1: "–" if v is None else f"{v:,.{d}f}"
md = f"""# raas WAL benchmark — {meta['started']} (commit {meta['commit']})

{meta['cores']} cores, load average at start {meta['load_at_start']}; consultRegister of a random person
of {meta['lines']:,} for {result['seconds']:.0f} s without a pause, {meta['clients']} clients on {meta['threads']} threads.

| figure | value |
|---|---:|
| largest WAL (sampled every second) | {f(mib(figures['wal_max_bytes']))} MiB (bound {bound} MiB) |
| WAL at the end | {f(mib(wal_end))} MiB |
| database file: start → end | {f(mib(db_start))} → {f(mib(db_end))} MiB |
| server RSS: largest / at the end | {f(figures['rss_max_kib'] / 1024)} / {f(figures['rss_end_kib'] / 1024)} MiB |
| good answers/s | {f(result['rps'], 0)} ({result['good']:,} answers, {audited:,} consultations audited) |
| failed requests | {result['failures']} |
| latency p50 / p99 / max | {f(lat['p50'], 2)} / {f(lat['p99'], 1)} / {f(lat['max'], 0)} ms |
| log started again (RESTART) / not (readers in the way) | {len(pauses)} / {not_emptied} |
| writers paused per restart: p50 / p99 / max | {f(figures['writer_pause_ms']['p50'], 2)} / {f(figures['writer_pause_ms']['p99'], 2)} / {f(figures['writer_pause_ms']['max'], 2)} ms |
| cores: client / server / other | {result['cpu']['client']:.2f} / {result['cpu']['server']:.2f} / {result['cpu']['other']:.2f} of {result['cpu']['cores']} |
| met (no failure, WAL ≤ bound, every answer audited) | {'yes' if ok else '**NO**'} |
"""
(run_dir / "results.md").write_text(md)
(run_dir / "results.json").write_text(json.dumps({"meta": meta, "figures": figures}, indent=2) + "\n")
print(md)
sys.exit(0 if ok else 3)
EOF_PY
cp "$RUN_DIR/results.md" "$ROOT/target/bench/wal-latest.md"
cp "$RUN_DIR/results.json" "$ROOT/target/bench/wal-latest.json"
say "== $RUN_DIR/results.md (copied to target/bench/wal-latest.md)"
exit "$status"
