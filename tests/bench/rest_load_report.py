#!/usr/bin/env python3
"""The report of tests/bench/rest_load.sh: RUN_DIR/runs.jsonl and meta.json into
RUN_DIR/results.md and results.json (see README.md, "REST load benchmark").

Per backend: the mailbox set up; list throughput (req/s, p50, p99) beside GET /livez and nginx
serving a page as a static file, and the ratios; download throughput (MiB/s) of raas and nginx
at each client count, the ratio, the server's RSS; the goals said met or missed:
  - download at the largest client count >= 0.5 x nginx's rate in the same run;
  - constant memory: the server's peak RSS during that download no more than one file's size
    above its RSS before it (32 clients streaming from memory would need 32 files).
"""
import json
import statistics
import sys
from pathlib import Path

DOWNLOAD_GOAL = 0.5


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=1):
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}".replace(",", " ")
    return f"{value:,}".replace(",", " ")


def mib(kib):
    return None if kib is None else round(kib / 1024, 1)


def main(run_dir):
    run_dir = Path(run_dir)
    meta = json.loads((run_dir / "meta.json").read_text())
    runs = [json.loads(line) for line in (run_dir / "runs.jsonl").read_text().splitlines() if line.strip()]
    size_mb = meta["size_mb"]
    results = {"meta": meta, "backends": {}}
    md = [
        "# REST load benchmark",
        "",
        f"Commit {meta['commit']} ({meta['uncommitted_src_files']} uncommitted files in src/, migrations, Cargo.*), "
        f"started {meta['started']}, {meta['cores']} cores ({meta['cpu']}), load average at the start {meta['load_at_start']}; "
        f"wrk {meta['wrk']}, nginx {meta['nginx']} (worker_processes {meta['nginx_workers']}, sendfile).",
        "",
        f"{meta['deliveries']} broadcasts and one {size_mb} MiB delivery in the mailbox; list at {meta['clients']} clients, "
        f"pageSize {meta['page_size']}, random pages; downloads at {', '.join(map(str, meta['download_clients']))} clients; "
        f"{meta['duration_s']} s per list measurement, {meta['download_duration_s']} s per download measurement, "
        f"× {meta['repeat']} (medians), {meta['warmup_s']} s warm-ups; at most {meta['threads']} wrk threads.",
        "",
        f"**The load generator (wrk) runs on the same {meta['cores']} cores as the server** (and PostgreSQL): "
        "every figure is this machine's as a whole; the `cores` columns say who used what "
        "(client = wrk, server = raas or nginx, db = PostgreSQL).",
        "",
    ]
    failed = 0
    for backend in meta["backends"]:
        mine = [r for r in runs if r["backend"] == backend]
        setup = next((r for r in mine if r["phase"] == "setup"), {})

        def measured(op):
            return [r for r in mine if r["phase"] == "measure" and r["op"] == op]

        def rss(op):
            return [r for r in mine if r["phase"] == "rss-measure" and r["op"] == op]

        def summary(op):
            rs = measured(op)
            if not rs:
                return None
            out = {
                "op": op,
                "runs": len(rs),
                "rps": median([r["rps"] for r in rs]),
                "rps_range": [min(r["rps"] for r in rs), max(r["rps"] for r in rs)],
                "p50_ms": median([r["latency_ms"]["p50"] for r in rs]),
                "p99_ms": max(r["latency_ms"]["p99"] for r in rs),
                "max_ms": max(r["latency_ms"]["max"] for r in rs),
                "failures": sum(r["failures"] for r in rs),
                "first_failure": next((r["first_failure"] for r in rs if r["first_failure"]), ""),
                "cpu": {k: median([r["cpu"][k] for r in rs]) for k in ("client", "server", "database", "other", "busy")},
            }
            if "mib_s" in rs[0]:
                out["mib_s"] = median([r["mib_s"] for r in rs])
                out["mib_s_range"] = [min(r["mib_s"] for r in rs), max(r["mib_s"] for r in rs)]
                out["complete_downloads"] = sum(r["good"] for r in rs)
            memory = rss(op)
            if memory:
                out["rss_mib"] = {
                    "before": mib(median([m["before_kib"] for m in memory])),
                    "peak": mib(max(m["peak_kib"] for m in memory)),
                    "last": mib(median([m["last_kib"] for m in memory])),
                    "after": mib(median([m["after_kib"] for m in memory])),
                    "vmhwm": mib(max(m["vmhwm_kib"] for m in memory)),
                }
            return out

        b = {"setup": setup}
        md += [f"## {backend}", ""]
        md.append(
            f"{setup.get('deliveries')} deliveries in the bench mailbox ({setup.get('pages')} pages), as many again in another "
            f"organisation's; published in {setup.get('publish_s')} s; a page of {meta['page_size']}: "
            f"{setup.get('page_bytes')} bytes of JSON; raas RSS idle {mib(setup.get('idle_rss_kib'))} MiB."
        )
        md += ["", "### List", ""]
        md.append("| measurement | req/s (range) | p50 ms | p99 ms | max ms | failures | cores: client / server / db / other |")
        md.append("|---|---:|---:|---:|---:|---:|---|")
        lists = {}
        names = {
            "list": f"raas GET /api/v1/deliveries?page=N&pageSize={meta['page_size']}",
            "livez": "raas GET /livez",
            "static-list": "nginx, the same page as a static file",
        }
        for op in ("list", "livez", "static-list"):
            s = summary(op)
            if not s:
                continue
            lists[op] = s
            failed += s["failures"]
            c = s["cpu"]
            md.append(
                f"| {names[op]} | {fmt(s['rps'])} ({fmt(s['rps_range'][0], 0)}–{fmt(s['rps_range'][1], 0)}) | "
                f"{fmt(s['p50_ms'], 2)} | {fmt(s['p99_ms'], 2)} | {fmt(s['max_ms'], 1)} | {s['failures']} | "
                f"{c['client']:.2f} / {c['server']:.2f} / {c['database']:.2f} / {c['other']:.2f} |"
            )
        ratios = {}
        if "list" in lists:
            for ref in ("livez", "static-list"):
                if ref in lists and lists[ref]["rps"]:
                    ratios[f"list/{ref}"] = round(lists["list"]["rps"] / lists[ref]["rps"], 3)
        b["list"] = lists
        b["list_ratios"] = ratios
        md += ["", "Ratios: " + (", ".join(f"{k} **{v:.2f}**" for k, v in ratios.items()) or "–"), ""]
        if "list" in lists and lists["list"].get("rss_mib"):
            r = lists["list"]["rss_mib"]
            md += [f"raas RSS during the list: {r['before']} MiB before, peak {r['peak']} MiB, {r['after']} MiB after.", ""]

        md += ["### Download", ""]
        md.append(
            "| clients | raas MiB/s (range) | nginx MiB/s (range) | raas / nginx | complete downloads raas / nginx | "
            "one download p50 / p99 s, raas | nginx | failures | raas RSS MiB: before / peak / last / 2 s after | "
            "cores raas run: client / server / other | cores nginx run |"
        )
        md.append("|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
        downloads = {}
        for clients in meta["download_clients"]:
            r, n = summary(f"download-{clients}"), summary(f"static-download-{clients}")
            if not r or not n:
                continue
            failed += r["failures"] + n["failures"]
            ratio = round(r["mib_s"] / n["mib_s"], 3) if n["mib_s"] else None
            downloads[str(clients)] = {"raas": r, "nginx": n, "ratio": ratio}
            m = r.get("rss_mib", {})
            md.append(
                f"| {clients} | {fmt(r['mib_s'], 0)} ({fmt(r['mib_s_range'][0], 0)}–{fmt(r['mib_s_range'][1], 0)}) | "
                f"{fmt(n['mib_s'], 0)} ({fmt(n['mib_s_range'][0], 0)}–{fmt(n['mib_s_range'][1], 0)}) | **{ratio:.2f}** | "
                f"{r['complete_downloads']} / {n['complete_downloads']} | "
                f"{r['p50_ms'] / 1000:.2f} / {r['p99_ms'] / 1000:.2f} | {n['p50_ms'] / 1000:.2f} / {n['p99_ms'] / 1000:.2f} | "
                f"{r['failures'] + n['failures']} | {m.get('before')} / {m.get('peak')} / {m.get('last')} / {m.get('after')} | "
                f"{r['cpu']['client']:.2f} / {r['cpu']['server']:.2f} / {r['cpu']['other']:.2f} | "
                f"{n['cpu']['client']:.2f} / {n['cpu']['server']:.2f} / {n['cpu']['other']:.2f} |"
            )
        b["download"] = downloads
        goals = {}
        if downloads:
            top = str(max(int(k) for k in downloads))
            d = downloads[top]
            goals["download_ratio"] = {
                "clients": int(top),
                "ratio": d["ratio"],
                "goal": DOWNLOAD_GOAL,
                "met": d["ratio"] is not None and d["ratio"] >= DOWNLOAD_GOAL,
            }
            m = d["raas"].get("rss_mib", {})
            if m:
                growth = round(m["peak"] - m["before"], 1)
                goals["constant_memory"] = {
                    "clients": int(top),
                    "rss_before_mib": m["before"],
                    "rss_peak_mib": m["peak"],
                    "growth_mib": growth,
                    "growth_per_client_mib": round(growth / int(top), 2),
                    "bound_mib": size_mb,
                    "if_buffered_mib": size_mb * int(top),
                    "met": growth <= size_mb,
                }
        b["goals"] = goals
        md += [""]
        g = goals.get("download_ratio")
        if g:
            md.append(
                f"- **Goal download ≥ {DOWNLOAD_GOAL} × nginx at {g['clients']} clients: "
                f"{'MET' if g['met'] else 'MISSED'}** (ratio {g['ratio']:.2f})."
            )
        g = goals.get("constant_memory")
        if g:
            md.append(
                f"- **Goal constant memory at {g['clients']} clients: {'MET' if g['met'] else 'MISSED'}**: "
                f"peak RSS {g['rss_peak_mib']} MiB, {g['growth_mib']} MiB above the {g['rss_before_mib']} MiB before the "
                f"download ({g['growth_per_client_mib']} MiB a client; bound: one file, {g['bound_mib']} MiB; "
                f"the files held in memory would be {g['if_buffered_mib']} MiB)."
            )
        md.append("")
        results["backends"][backend] = b

    results["failed_requests"] = failed
    if failed:
        md += [f"**{failed} FAILED REQUESTS: the figures above are not valid.**", ""]
    md += [
        "Raw material in this folder: runs.jsonl (every measurement, warm-ups included), the wrk outputs, "
        "rss-*.tsv (the server's RSS every 0.2 s of each measurement), server and nginx logs, meta.json.",
        "",
    ]
    (run_dir / "results.md").write_text("\n".join(md))
    (run_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main(sys.argv[1])
