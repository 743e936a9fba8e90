#!/usr/bin/env python3
"""Turns one run of search_latency.sh (RUN_DIR/meta.json, RUN_DIR/runs.jsonl) into
RUN_DIR/results.md and RUN_DIR/results.json, and prints the markdown.

The measurements are summed up as report.py does (good answers only; throughput and p50 the
median over the repetitions with the range, p99 the WORST repetition's), per backend, source
size and operation, an operation being `search-N` or `livez-N` at N concurrent clients. Beside
them: the population's load and the phonetic index's size, the server's resident memory, the
share of answers naming the person each query was made from (by kind of corruption: a sanity
check, not the quality benchmark), and how the cost grows with the population.

    python3 tests/bench/search_report.py target/bench/search-latency-…
    python3 tests/bench/search_report.py RUN_DIR EARLIER_RUN_DIR…   # one table of several runs

With several run folders, the report goes to the first; a backend and size measured in several
runs is taken from the first that has it, and the commit of each run is named.
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import fmt, human, median, no_failures, paired_ratios, spread, summarise  # noqa: E402

TARGET_P99_MS = 20.0
# "Cost that grows far slower than the population": the median latency of one client alone (no
# queueing) at the largest source over the smallest, for a population 20 times as large.
TARGET_GROWTH = 2.0
NOISY_OTHER_CORES = 0.25
OP_LABELS = {
    "search": "searchPersonByPhoneticCriteria",
    "livez": "GET /livez",
    "identify": "identifyPerson (the SOAP floor: one person read by number)",
    "commit": "pgbench: one-row insert, durable commit",
}
KINDS = ["exact", "typo", "particle", "initial", "swapped", "month", "year"]


def op_parts(op):
    name, clients = op.rsplit("-", 1)
    return name, int(clients)


def tallies(runs):
    """(backend, size, op) -> {counter: total} over the measured repetitions."""
    out = {}
    for run in runs:
        if run["phase"] == "measure":
            into = out.setdefault((run["backend"], run["size"], run["op"]), {})
            for name, n in run.get("tallies", {}).items():
                into[name] = into.get(name, 0) + n
    return out


def found_share(counts, kinds=None):
    """(found, answered) over the kinds (all when None)."""
    found = answered = 0
    for kind in kinds or KINDS:
        answered += counts.get(kind, 0)
        found += counts.get(kind + ":found", 0)
    return found, answered


def percent(found, answered):
    return "–" if not answered else f"{100 * found / answered:.1f} %"


def peak_rss(runs, backend, size):
    """The server's largest VmHWM (KiB) over the run of one backend and size."""
    values = [r["vmhwm_kib"] for r in runs
              if r["phase"].startswith("rss") and r["backend"] == backend and r["size"] == size]
    return max(values) if values else None


def loads_markdown(runs, sizes, backends):
    imports = {(r["backend"], r["size"]): r for r in runs if r["phase"] == "import"}
    index = {(r["backend"], r["size"]): r for r in runs if r["phase"] == "index"}
    generated = {r["size"]: r for r in runs if r["phase"] == "generate"}
    out = ["## Population and phonetic index", "",
           "| backend | persons | generate s | import s (`raas import persons`) | persons/s | database | index keys | keys a person | index size | import peak RSS |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for backend in backends:
        for size in sizes:
            i, k, g = imports.get((backend, size)), index.get((backend, size)), generated.get(size)
            if not (i or k):
                continue
            out.append(
                f"| {backend} | {human(size)} | {fmt(g['seconds'], 1) if g else '–'} | "
                f"{fmt(i['seconds'], 1) if i else 'reused'} | {fmt(i['rate']) if i else '–'} | "
                f"{fmt(i['database_bytes'] / 2**20) + ' MiB' if i else '–'} | "
                f"{fmt(k['rows']) if k else '–'} | {fmt(k['rows'] / size, 2) if k else '–'} | "
                f"{fmt(k['bytes'] / 2**20) + ' MiB' if k else '–'} | "
                f"{fmt(i['raas_peak_rss_kib'] / 1024) + ' MiB' if i else '–'} |")
    out.append("")
    return out


def measurements_markdown(summary, counts, runs, sizes, backends, ops):
    out = ["## Measurements (good answers only; median over repetitions, range in brackets; p99: the worst repetition)", "",
           "| backend | persons | clients | operation | good answers/s | p50 ms | worst p99 ms | max ms | failed | person found | server peak RSS | cores: client / server / db / other (irq) |",
           "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for backend in backends:
        for size in sizes:
            rss = peak_rss(runs, backend, size)
            for op in ops:
                s = summary.get((backend, size, op))
                if not s:
                    continue
                name, clients = op_parts(op)
                c = s["cores"]
                found = percent(*found_share(counts.get((backend, size, op), {}))) if name == "search" else ""
                label = OP_LABELS[name]
                p50 = fmt(s["p50_ms"], 2) if s["p50_ms"] is not None else f"mean {fmt(s['mean_ms'], 2)}"
                noisy = " ⚠ noisy" if c["other"] >= NOISY_OTHER_CORES else ""
                out.append(
                    f"| {backend} | {human(size)} | {clients} | {label} | "
                    f"{fmt(s['rps'])}{spread(s['rps_all'])} | {p50} | {fmt(s['p99_ms'], 1)} | "
                    f"{fmt(s['max_ms'], 0)} | {'**' + str(s['failures']) + '**' if s['failures'] else 0} | {found} | "
                    f"{fmt(rss / 1024) + ' MiB' if rss else '–'} | "
                    f"{c['client']:.2f} / {c['server']:.2f} / {c['database']:.2f} / {c['other']:.2f} ({c['interrupts']:.2f}){noisy} |")
    out.append("")
    out.append("“person found”: share of the good answers whose candidates include the person the query was "
               "made from (NO_RESULT answers count as not found). Server peak RSS: the largest `VmHWM` of the "
               "server process over the backend's measurements at that size. pgbench gives no percentiles: "
               "its row shows the mean latency.")
    out.append("")
    return out


def kinds_markdown(counts, sizes, backends, search_ops):
    out = ["## Person found, by kind of query (every search measurement of the backend and size)", "",
           "| backend | persons | " + " | ".join(KINDS) + " | all |",
           "|---|---:|" + "---:|" * (len(KINDS) + 1)]
    for backend in backends:
        for size in sizes:
            merged = {}
            for op in search_ops:
                for name, n in counts.get((backend, size, op), {}).items():
                    merged[name] = merged.get(name, 0) + n
            if not merged:
                continue
            cells = [percent(*found_share(merged, [kind])) for kind in KINDS]
            out.append(f"| {backend} | {human(size)} | " + " | ".join(cells) + f" | {percent(*found_share(merged))} |")
    out.append("")
    return out


def by_kind_markdown(summary, counts, sizes, backends):
    """Each kind of query measured alone (op search@KIND-1)."""
    out = ["## Each kind of query alone (1 client, one run)", "",
           "| backend | persons | kind | good answers/s | p50 ms | p99 ms | max ms | failed | person found |",
           "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    rows = 0
    for backend in backends:
        for size in sizes:
            for kind in KINDS:
                op = f"search@{kind}-1"
                s = summary.get((backend, size, op))
                if not s:
                    continue
                rows += 1
                found = percent(*found_share(counts.get((backend, size, op), {}), [kind]))
                out.append(f"| {backend} | {human(size)} | {kind} | {fmt(s['rps'])} | {fmt(s['p50_ms'], 2)} | "
                           f"{fmt(s['p99_ms'], 1)} | {fmt(s['max_ms'], 0)} | "
                           f"{'**' + str(s['failures']) + '**' if s['failures'] else 0} | {found} |")
    out.append("")
    return out if rows else []


def growth_markdown(summary, sizes, backends, search_ops):
    out = ["## Growth with the population (searchPersonByPhoneticCriteria)", "",
           "| backend | clients | p50 ms, " + " → ".join(human(s) for s in sizes) + " | worst p99 ms | good answers/s | p50 largest / smallest |",
           "|---|---:|---|---|---|---:|"]
    for backend in backends:
        for op in search_ops:
            rows = [summary.get((backend, size, op)) for size in sizes]
            if not any(rows):
                continue
            def series(key, digits):
                return " → ".join(fmt(r[key], digits) if r else "–" for r in rows)
            first, last = rows[0], rows[-1]
            ratio = (last["p50_ms"] / first["p50_ms"]) if first and last and first["p50_ms"] else None
            out.append(f"| {backend} | {op_parts(op)[1]} | {series('p50_ms', 2)} | {series('p99_ms', 1)} | "
                       f"{series('rps', 0)} | {fmt(ratio, 2) if ratio else '–'} |")
    out.append("")
    return out


def ratios_markdown(runs, summary, sizes, backends, client_counts):
    out = ["## Search beside the server's constant answer (same run, same clients)", "",
           "| backend | persons | clients | search / livez answers/s | search / identifyPerson answers/s | search p50 − livez p50 ms | search p50 / identifyPerson p50 | one durable commit (pgbench mean) ms |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for backend in backends:
        for size in sizes:
            for clients in client_counts:
                search, livez = f"search-{clients}", f"livez-{clients}"
                ratios = paired_ratios(runs, search, livez).get((backend, size))
                a, b = summary.get((backend, size, search)), summary.get((backend, size, livez))
                if not (a and b):
                    continue
                value = median(ratios) if ratios else None
                floor = summary.get((backend, size, f"identify-{clients}"))
                floor_ratios = paired_ratios(runs, search, f"identify-{clients}").get((backend, size))
                floor_value = median(floor_ratios) if floor_ratios else None
                out.append(f"| {backend} | {human(size)} | {clients} | "
                           f"{'–' if value is None else f'{value:.1%}'}{spread([r * 100 for r in ratios or []], 1)} | "
                           f"{'–' if floor_value is None else f'{floor_value:.1%}'} | "
                           f"{fmt(a['p50_ms'] - b['p50_ms'], 2)} | "
                           f"{fmt(a['p50_ms'] / floor['p50_ms'], 2) if floor and floor['p50_ms'] else '–'} | "
                           f"{fmt((summary.get((backend, size, f'commit-{clients}')) or {}).get('mean_ms'), 2)} |")
    out.append("")
    return out


def targets(summary, sizes, backends, client_counts, search_ops):
    rows = []
    largest, smallest, most = max(sizes), min(sizes), max(client_counts)
    for backend in backends:
        s = summary.get((backend, largest, f"search-{most}"))
        if s:
            ok = s["p99_ms"] is not None and s["p99_ms"] < TARGET_P99_MS and s["failures"] == 0
            rows.append((f"search worst p99, {backend} {human(largest)} persons, {most} clients — target < {TARGET_P99_MS:.0f} ms, no failure",
                         f"{fmt(s['p99_ms'], 1)} ms{spread(s['p99_ms_all'], 1)}", ok))
        if len(sizes) >= 2:
            least = min(client_counts)
            a, b = summary.get((backend, smallest, f"search-{least}")), summary.get((backend, largest, f"search-{least}"))
            if a and b and a["p50_ms"]:
                ratio = b["p50_ms"] / a["p50_ms"]
                rows.append((f"search p50 at {least} client, {backend}: {human(largest)} / {human(smallest)} persons "
                             f"(×{largest // smallest} the population) — target ≤ {TARGET_GROWTH:.0f}",
                             f"{ratio:.2f} ({fmt(b['p50_ms'], 2)} vs {fmt(a['p50_ms'], 2)} ms)",
                             ratio <= TARGET_GROWTH and no_failures(summary, (backend, smallest), *search_ops)
                             and no_failures(summary, (backend, largest), *search_ops)))
    failures = sum(s["failures"] for s in summary.values())
    rows.append(("no failed request (a fault or another status than 200) in any measurement", f"{failures} failed", failures == 0))
    return rows


def markdown(meta, runs, summary, sizes, backends, client_counts):
    ops = [f"{name}-{c}" for c in client_counts for name in ("search", "identify", "livez", "commit")]
    search_ops = [f"search-{c}" for c in client_counts]
    counts = tallies(runs)
    out = [f"# raas search latency benchmark — {meta['started']} (commit {meta['commit']}"
           + (f", {meta['uncommitted_src_files']} uncommitted src files" if meta["uncommitted_src_files"] else "") + ")", ""]
    out.append(f"{meta['cores']} cores ({meta['cpu']}), load average at start {meta['load_at_start']}; "
               f"clients {', '.join(map(str, client_counts))} (client threads: as many, at most {meta['threads']}); "
               f"{meta['duration_s']} s per measurement × {meta['repeat']}, {meta['warmup_s']} s warm-up; "
               f"{fmt(meta['queries'])} queries (search_queries.py, seed {meta['seed']}); wrk {meta['wrk']}, SQLite {meta['sqlite']}"
               + (f"; server args `{meta['server_args']}`" if meta["server_args"] else "")
               + f"; binary sha256 {meta['binary_sha256']}….")
    out.append("")
    if len(meta.get("sources", [])) > 1:
        out += ["Measured in several runs:", ""] + [f"- {source}" for source in meta["sources"]] + [""]
    out.extend(loads_markdown(runs, sizes, backends))
    out.extend(measurements_markdown(summary, counts, runs, sizes, backends, ops))
    out.extend(growth_markdown(summary, sizes, backends, search_ops))
    out.extend(ratios_markdown(runs, summary, sizes, backends, client_counts))
    out.extend(kinds_markdown(counts, sizes, backends, search_ops))
    out.extend(by_kind_markdown(summary, counts, sizes, backends))
    rows = targets(summary, sizes, backends, client_counts, search_ops)
    out += ["## Targets", "", "| target | measured | met |", "|---|---|---|"]
    out += [f"| {name} | {shown} | {'yes' if ok else '**NO**'} |" for name, shown, ok in rows]
    out.append("")
    return "\n".join(out), rows, counts


def main():
    run_dir = Path(sys.argv[1])
    meta = json.loads((run_dir / "meta.json").read_text())
    runs, sources = [], []
    for folder in map(Path, sys.argv[1:]):
        folder_meta = json.loads((folder / "meta.json").read_text())
        taken = {(r["backend"], r["size"]) for r in runs}
        added = [json.loads(line) for line in (folder / "runs.jsonl").read_text().splitlines() if line.strip()]
        added = [r for r in added if (r["backend"], r["size"]) not in taken]
        runs += added
        measured = sorted({(r["backend"], r["size"]) for r in added if r["phase"] == "measure"})
        if measured:
            sources.append(f"{folder.name} (commit {folder_meta['commit']}, binary {folder_meta['binary_sha256']}…, "
                           f"load at start {folder_meta['load_at_start']}): "
                           + ", ".join(f"{b} {human(n)}" for b, n in measured))
        meta["backends"] = meta["backends"] + [b for b in folder_meta["backends"] if b not in meta["backends"]]
    meta["sources"] = sources
    measured = [r for r in runs if r["phase"] == "measure"]
    sizes = sorted({r["size"] for r in measured})
    backends = [b for b in meta["backends"] if any(r["backend"] == b for r in measured)]
    client_counts = sorted({op_parts(r["op"])[1] for r in measured if "@" not in r["op"]})
    summary = summarise(runs)
    text, rows, counts = markdown(meta, runs, summary, sizes, backends, client_counts)
    (run_dir / "results.md").write_text(text)
    results = {
        "meta": meta,
        "measurements": sorted(summary.values(), key=lambda s: (s["backend"], s["size"], s["op"])),
        "tallies": [{"backend": b, "size": s, "op": op, "counts": c} for (b, s, op), c in sorted(counts.items())],
        "targets": [{"target": name, "shown": shown, "met": ok} for name, shown, ok in rows],
        "runs": runs,
    }
    (run_dir / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(text)


if __name__ == "__main__":
    main()
