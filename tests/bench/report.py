#!/usr/bin/env python3
"""Turns one benchmark run (RUN_DIR/meta.json, RUN_DIR/runs.jsonl, written by soap.sh or
identity.sh) into RUN_DIR/results.md and RUN_DIR/results.json, and prints the markdown.

Requests/s count good answers only (HTTP 200 with the expected status); failures are counted
apart, and a target is met only when no request of the measurements it is judged on failed.
Throughput and p50 are the median over the repetitions, with the range beside it (the machine is
shared, so single runs are not to be trusted); p99 is the WORST of the repetitions' p99s, and
the latency target is judged on it. Ratios between two measurements taken back to back
(registerPerson/pgbench, consultRegister/livez) are the median of the per-repetition ratios;
the size ratio compares medians.

    python3 tests/bench/report.py target/bench/run-…
"""

import json
import statistics
import sys
from pathlib import Path

TARGET_REGISTER_VS_PGBENCH = 0.50
TARGET_CONSULT_VS_LIVEZ = 0.25
TARGET_P99_MS = 20.0
TARGET_SIZE_SLOWDOWN = 0.10
# A measurement during which other processes used this many cores (median) is marked noisy.
NOISY_OTHER_CORES = 0.25

OPS = ["register", "consult", "identify", "register-verified", "livez", "pgbench", "pgbench-consult"]
OP_NAMES = {
    "register": "registerPerson",
    "consult": "consultRegister",
    "identify": "identifyPerson",
    "register-verified": "registerPerson with personData",
    "livez": "GET /livez",
    "pgbench": "pgbench, a registration's SQL (locks, person and lines, line and audit inserts)",
    "pgbench-consult": "pgbench, a consultation's SQL (person, lines, audit insert)",
}
# The SOAP operations, held to the latency target.
SOAP_OPS = ["register", "consult", "identify", "register-verified"]
TITLES = {"soap": "raas SOAP benchmark", "identity": "raas identity benchmark"}
# What the size of a measurement counts.
SIZE_LABELS = {"soap": "register", "identity": "persons"}


def human(n):
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=0):
    return "–" if value is None else f"{value:,.{digits}f}"


def spread(values, digits=0):
    values = [v for v in values if v is not None]
    if len(values) < 2:
        return ""
    return f" ({fmt(min(values), digits)}–{fmt(max(values), digits)})"


def summarise(runs):
    """Median figures per (backend, size, op) over the measured repetitions."""
    groups = {}
    for run in runs:
        if run["phase"] == "measure":
            groups.setdefault((run["backend"], run["size"], run["op"]), []).append(run)
    summary = {}
    for key, group in groups.items():
        latency = [r.get("latency_ms", {}) for r in group]
        cpu = [r["cpu"] for r in group]
        summary[key] = {
            "backend": key[0],
            "size": key[1],
            "op": key[2],
            "repetitions": len(group),
            "rps": median([r["rps"] for r in group]),
            "rps_all": [r["rps"] for r in group],
            "p50_ms": median([l.get("p50") for l in latency]),
            # The worst repetition: a tail that shows once is a tail users meet.
            "p99_ms": max((l["p99"] for l in latency if l.get("p99") is not None), default=None),
            "p99_ms_all": [l.get("p99") for l in latency],
            "mean_ms": median([l.get("mean") for l in latency]),
            "max_ms": max((l.get("max") or 0) for l in latency) or None,
            "requests": sum(r["requests"] for r in group),
            "failures": sum(r["failures"] for r in group),
            "cores": {k: median([c.get(k, 0.0) for c in cpu]) for k in ("client", "server", "database", "interrupts", "other", "busy")},
            "cores_total": cpu[0]["cores"],
        }
    return summary


def paired_ratios(runs, numerator, denominator):
    """(backend, size) -> per-repetition ratios of two ops measured in the same repetition."""
    by_rep = {}
    for run in runs:
        if run["phase"] == "measure":
            by_rep[(run["backend"], run["size"], run["op"], run["rep"])] = run["rps"]
    ratios = {}
    for (backend, size, op, rep), rps in by_rep.items():
        if op != numerator:
            continue
        base = by_rep.get((backend, size, denominator, rep))
        if base:
            ratios.setdefault((backend, size), []).append(rps / base)
    return ratios


def no_failures(summary, where, *ops):
    """Whether no request failed in the measurements of these ops at (backend, size)."""
    return all(summary.get(where + (op,), {}).get("failures", 0) == 0 for op in ops)


def check(name, value, ok, shown, detail=""):
    return {
        "target": name,
        "value": value,
        "shown": shown,
        "met": None if value is None or ok is None else ok,
        "detail": detail,
    }


def targets(runs, summary, sizes, backends):
    """The target rows of the operations measured in this run."""
    rows = []
    measured = {op for (_, _, op) in summary}
    reg_pg = paired_ratios(runs, "register", "pgbench")
    for size in sizes if {"register", "pgbench"} <= measured else []:
        ratios = reg_pg.get(("postgres", size))
        value = median(ratios) if ratios else None
        ok = value is not None and value >= TARGET_REGISTER_VS_PGBENCH
        rows.append(check(
            f"registerPerson(PostgreSQL) / pgbench of the same SQL, {human(size)} — target ≥ {TARGET_REGISTER_VS_PGBENCH:.0%}",
            value, ok and no_failures(summary, ("postgres", size), "register", "pgbench"),
            "–" if value is None else f"{value:.0%}{spread([r * 100 for r in ratios or []])}"))
    consult_pg = paired_ratios(runs, "consult", "pgbench-consult")
    for size in sizes if {"consult", "pgbench-consult"} <= measured else []:
        ratios = consult_pg.get(("postgres", size))
        value = median(ratios) if ratios else None
        rows.append(check(
            f"consultRegister(PostgreSQL) / pgbench of the same SQL, {human(size)} — shown, no target "
            "(the service commits audit entries in groups, pgbench one by one)",
            value, None,
            "–" if value is None else f"{value:.0%}{spread([r * 100 for r in ratios or []])}"))
    consult_livez = paired_ratios(runs, "consult", "livez")
    for backend in backends if {"consult", "livez"} <= measured else []:
        for size in sizes:
            ratios = consult_livez.get((backend, size))
            value = median(ratios) if ratios else None
            rows.append(check(
                f"consultRegister / livez, {backend} {human(size)} — target ≥ {TARGET_CONSULT_VS_LIVEZ:.0%}",
                value, value is not None and value >= TARGET_CONSULT_VS_LIVEZ
            and no_failures(summary, (backend, size), "consult", "livez"),
                "–" if value is None else f"{value:.1%}{spread([r * 100 for r in ratios or []], 1)}"))
    for backend in backends:
        for size in sizes:
            for op in (op for op in SOAP_OPS if op in measured):
                s = summary.get((backend, size, op))
                value = s["p99_ms"] if s else None
                rows.append(check(
                    f"{OP_NAMES[op]} worst p99, {backend} {human(size)} — target < {TARGET_P99_MS:.0f} ms, no failure",
                    value, value is not None and value < TARGET_P99_MS and s["failures"] == 0,
                    "–" if value is None else f"{value:.1f} ms{spread(s['p99_ms_all'], 1)}"
                    + (f", **{s['failures']} failed**" if s["failures"] else "")))
    if len(sizes) >= 2:
        small, large = min(sizes), max(sizes)
        for backend in backends:
            for op in (op for op in SOAP_OPS if op in measured):
                a, b = summary.get((backend, small, op)), summary.get((backend, large, op))
                value = (1 - b["rps"] / a["rps"]) if a and b and a["rps"] else None
                rows.append(check(
                    f"{OP_NAMES[op]} {human(large)} vs {human(small)} slowdown, {backend} — target ≤ {TARGET_SIZE_SLOWDOWN:.0%}",
                    value, value is not None and value <= TARGET_SIZE_SLOWDOWN
                    and a["failures"] == 0 and b["failures"] == 0,
                    "–" if value is None else f"{value:+.1%} ({fmt(b['rps'])} vs {fmt(a['rps'])} req/s)"))
    return rows


def imports_markdown(runs):
    """The population loads of the run (identity.sh), if any."""
    imports = [r for r in runs if r["phase"] == "import"]
    if not imports:
        return []
    out = ["## Import of the population (`raas import persons FILE --quiet`)", ""]
    out.append("| backend | persons | seconds | persons/s | database | raas CPU s | raas peak RSS | cores: raas / db / other |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in imports:
        c = r["cpu"]
        out.append(
            f"| {r['backend']} | {fmt(r['persons'])} | {fmt(r['seconds'], 1)} | {fmt(r['rate'])} | "
            f"{fmt(r['database_bytes'] / 2**20)} MiB | {fmt(r['raas_cpu_s'], 1)} | {fmt(r['raas_peak_rss_kib'] / 1024)} MiB | "
            f"{c['client']:.2f} / {c['database']:.2f} / {c['other']:.2f} of {c['cores']} |")
    out.append("")
    return out


def population_line(meta):
    """What identity.sh measured against: the generated population and the sample."""
    if "persons" not in meta:
        return []
    generated = ("given" if meta.get("generate_s") is None
                 else f"generated in {meta['generate_s']:.1f} s")
    return [f"Population: {fmt(meta['persons'])} persons (seed {meta['seed']}, "
            f"`raas generate population`, {fmt(meta['population_bytes'] / 2**20)} MiB, {generated}); "
            f"a register of {fmt(meta.get('lines', 0))} lines (the first persons, seeded before the run); "
            f"requests use a random sample of {fmt(meta['sample'])} persons.", ""]


def markdown(meta, summary, rows, sizes, backends, runs):
    out = []
    benchmark = meta.get("benchmark", "soap")
    out.append(f"# {TITLES.get(benchmark, 'raas benchmark')} — {meta['started']} (commit {meta['commit']}"
               + (f", {meta['uncommitted_src_files']} uncommitted src files" if meta["uncommitted_src_files"] else "")
               + ")")
    out.append("")
    out.append(f"{meta['cores']} cores ({meta['cpu']}), load average at start {meta['load_at_start']}; "
               f"{meta['clients']} concurrent clients on {meta['threads']} client threads; "
               f"{meta['duration_s']} s per measurement × {meta['repeat']}, {meta['warmup_s']} s warm-up; "
               f"wrk {meta['wrk']}" + (f", {meta['pgbench']}" if "pgbench" in meta else "") + f", SQLite {meta['sqlite']}"
               + (f"; server args `{meta['server_args']}`" if meta["server_args"] else "")
               + (f"; binary {meta['binary_source']} (sha256 {meta['binary_sha256']}…)" if "binary_source" in meta else "")
               + ".")
    out.append("")
    out.extend(population_line(meta))
    out.extend(imports_markdown(runs))
    out.append("## Measurements (good answers only; median over repetitions, range in brackets; p99: the worst repetition)")
    out.append("")
    out.append(f"| backend | {SIZE_LABELS.get(benchmark, 'size')} | operation | good answers/s | p50 ms | worst p99 ms | max ms | failed | cores: client / server / db / other (irq) |")
    out.append("|---|---|---|---:|---:|---:|---:|---:|---|")
    for backend in backends:
        for size in sizes:
            for op in OPS:
                s = summary.get((backend, size, op))
                if not s:
                    continue
                c = s["cores"]
                failed = f"**{s['failures']}**" if s["failures"] else "0"
                noisy = " ⚠ noisy" if c["other"] >= NOISY_OTHER_CORES else ""
                p50 = fmt(s["p50_ms"], 2) if s["p50_ms"] is not None else f"mean {fmt(s['mean_ms'], 2)}"
                out.append(
                    f"| {backend} | {human(size)} | {OP_NAMES[op]} | {fmt(s['rps'])}{spread(s['rps_all'])} | "
                    f"{p50} | {fmt(s['p99_ms'], 1)} | {fmt(s['max_ms'], 0)} | {failed} | "
                    f"{c['client']:.2f} / {c['server']:.2f} / {c['database']:.2f} / {c['other']:.2f} ({c['interrupts']:.2f}) of {s['cores_total']}{noisy} |")
    out.append("")
    out.append("Cores: average CPU over the measurement of the client (wrk or pgbench), the raas server, "
               "every PostgreSQL process and everything else on the machine (“other”: noise, e.g. compilations); "
               "“irq” is interrupt time (mostly loopback networking), which the kernel mostly charges to the "
               "process that was running, so it overlaps the other columns. “⚠ noisy”: other processes used "
               f"≥ {NOISY_OTHER_CORES} cores, so compare with care. pgbench gives no percentiles, "
               "only its mean latency.")
    out.append("")
    out.append("## Targets")
    out.append("")
    out.append("| target | measured | met |")
    out.append("|---|---|---|")
    for row in rows:
        met = {True: "yes", False: "**NO**", None: "–"}[row["met"]]
        out.append(f"| {row['target']} | {row['shown']} | {met} |")
    failures = sum(s["failures"] for s in summary.values())
    if failures:
        out.append("")
        out.append(f"**WARNING: {failures} requests failed during the measurements: the figures are not valid.**")
    out.append("")
    return "\n".join(out)


def main():
    run_dir = Path(sys.argv[1])
    meta = json.loads((run_dir / "meta.json").read_text())
    runs = [json.loads(line) for line in (run_dir / "runs.jsonl").read_text().splitlines() if line.strip()]
    sizes = sorted({r["size"] for r in runs})
    backends = [b for b in meta["backends"] if any(r["backend"] == b for r in runs)]
    summary = summarise(runs)
    rows = targets(runs, summary, sizes, backends)
    text = markdown(meta, summary, rows, sizes, backends, runs)
    (run_dir / "results.md").write_text(text)
    results = {
        "meta": meta,
        "measurements": sorted(summary.values(), key=lambda s: (s["backend"], s["size"], OPS.index(s["op"]))),
        "targets": rows,
        "runs": runs,
    }
    (run_dir / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(text)


if __name__ == "__main__":
    main()
