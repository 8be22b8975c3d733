#!/usr/bin/env python3
"""Turns bench_process JSON reports into the Markdown tables of
docs/benchmarks.md.

    bench_process --benchmark_repetitions=5 \\
        --benchmark_report_aggregates_only=true \\
        --benchmark_enable_random_interleaving=true \\
        --benchmark_out=run1.json --benchmark_out_format=json
    ...  (run2.json, run3.json: separate invocations)
    benchmarks/summarize.py run1.json run2.json run3.json

Each invocation gives one median per case (of its repetitions). With
several invocations, a case's figure is the median of those medians, and a
ratio is computed within each invocation (troupe and baseline ran side by
side) and then the median ratio is shown with its range: on a shared
machine, ratios travel better than absolute times.
"""

import json
import statistics
import sys


def si(x, unit=""):
    """Formats x with an SI prefix: 1.2e-5, 's' -> '12 µs'."""
    for factor, prefix in ((1e6, "M"), (1e3, "k"), (1, ""), (1e-3, "m"),
                           (1e-6, "µ"), (1e-9, "n")):
        if abs(x) >= factor:
            return f"{x / factor:.3g} {prefix}{unit}".strip()
    return f"{x:.3g} {unit}".strip()


def load(path):
    """Returns (context, {case: median row}) in registration order."""
    with open(path) as f:
        report = json.load(f)
    rows = sorted(report["benchmarks"],
                  key=lambda b: (b["family_index"],
                                 b["per_family_instance_index"]))
    cases = {}
    for b in rows:
        if b.get("run_type") == "aggregate" and b["aggregate_name"] == "median":
            cases[b["run_name"].removesuffix("/real_time")] = b
    return report["context"], cases


# (label, troupe case, baseline case, target ratio or None[, field]); the
# field compared is items_per_second unless given.
RATIOS = [
    ("spawn+exit (handles kept, joined)", "spawn/troupe/10000",
     "spawn/caf_troupe_settings/10000", 0.9),
    ("spawn+exit (handles dropped)", "spawn/troupe_no_handles/10000",
     "spawn/caf_troupe_settings/10000", 0.9),
    ("spawn+exit vs CAF also keeping handles", "spawn/troupe/10000",
     "spawn/caf_troupe_settings_keep_handles/10000", 0.9),
    ("spawn+exit vs CAF defaults", "spawn/troupe/10000",
     "spawn/caf_defaults/10000", None),
    ("event ping-pong", "event_ping_pong/troupe/100000",
     "event_ping_pong/caf_troupe_settings/100000", 0.9),
    ("event ping-pong vs CAF defaults", "event_ping_pong/troupe/100000",
     "event_ping_pong/caf_defaults/100000", None),
    ("main <-> process vs scoped <-> blocking actor",
     "blocking_ping_pong/troupe_main_process",
     "blocking_ping_pong/scoped_blocking/caf_troupe_settings", None),
    ("process <-> process vs scoped <-> blocking actor",
     "blocking_ping_pong/troupe_process_process/10000",
     "blocking_ping_pong/scoped_blocking/caf_troupe_settings", None),
    ("main <-> actor vs scoped request, same settings",
     "blocking_ping_pong/troupe_main_actor",
     "blocking_ping_pong/scoped_request_event/caf_troupe_settings", None),
    ("main <-> actor vs scoped request, CAF defaults",
     "blocking_ping_pong/troupe_main_actor",
     "blocking_ping_pong/scoped_request_event/caf_defaults", None),
    ("process start+join vs std::thread create+join",
     "process_start_join/troupe", "process_start_join/std_thread", None),
    ("main <-> process, cores oversubscribed, vs scoped <-> blocking",
     "blocking_oversubscribed/troupe_main_process",
     "blocking_oversubscribed/scoped_blocking/caf_troupe_settings", None),
    ("one request per ms: process CPU per request (troupe / CAF)",
     "blocking_sparse/troupe_main_process",
     "blocking_sparse/scoped_blocking/caf_troupe_settings", None,
     "cpu_per_item"),
]


# The scheduler study: settings labels as process_bench.cpp registers them.
STUDY = [
    "caf_defaults", "caf_defaults/max_threads_2", "moderate_sleep_0",
    "moderate_sleep_0/max_threads_2", "moderate_sleep_0/max_threads_4",
    "sharing", "sharing/max_threads_2",
]


def study_table(runs):
    def med(name, field):
        xs = [cases[name][field] for _, cases in runs if name in cases]
        return statistics.median(xs) if xs else None

    def fmt(x, unit):
        return "" if x is None else si(x, unit)

    print("| settings | workers | scoped_actor -> actor round trip "
          "| process CPU per round trip | event ping-pong | spawn+exit "
          "| process CPU per sparse request (1/ms) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label in STUDY:
        rt = f"study/scoped_request_event/{label}"
        pp = f"study/event_ping_pong/{label}/100000"
        sp = f"study/spawn/{label}/10000"
        sr = f"study/sparse_requests/{label}"
        workers = med(rt, "workers")
        print(f"| `{label}` | {'' if workers is None else int(workers)} "
              f"| {fmt(med(rt, 'per_item'), 's')} "
              f"| {fmt(med(rt, 'cpu_per_item'), 's')} "
              f"| {fmt(med(pp, 'items_per_second'), '/s')} "
              f"| {fmt(med(sp, 'items_per_second'), '/s')} "
              f"| {fmt(med(sr, 'cpu_per_item'), 's')} |")
    detached = "study/scoped_request_event/caf_defaults_detached"
    if med(detached, "per_item") is not None:
        print(f"| `caf_defaults`, detached actor | | "
              f"{si(med(detached, 'per_item'), 's')} "
              f"| {si(med(detached, 'cpu_per_item'), 's')} | | | |")


def main():
    runs = [load(path) for path in sys.argv[1:]]
    for context, _ in runs:
        load_avg = ", ".join(f"{x:.1f}" for x in context.get("load_avg", []))
        print(f"<!-- {context['date']}: {context['num_cpus']} CPUs, "
              f"load average at start {load_avg} -->")
    names = list(runs[0][1])

    def values(name, field):
        return [cases[name][field] for _, cases in runs if name in cases]

    print()
    print("| case | items/s | time/item | process CPU/item "
          "| items/s range over runs |")
    print("|---|---:|---:|---:|---|")
    for name in names:
        ips = values(name, "items_per_second")
        print(f"| `{name}` | {si(statistics.median(ips), '/s')} "
              f"| {si(statistics.median(values(name, 'per_item')), 's')} "
              f"| {si(statistics.median(values(name, 'cpu_per_item')), 's')} "
              f"| {si(min(ips))} – {si(max(ips))} |")
    print()
    print("| comparison | troupe | baseline | median ratio | ratio per run "
          "| target |")
    print("|---|---:|---:|---:|---|---|")
    for label, mine, base, target, *field in RATIOS:
        field = field[0] if field else "items_per_second"
        unit = "/s" if field == "items_per_second" else "s"
        pairs = [(cases[mine][field], cases[base][field])
                 for _, cases in runs if mine in cases and base in cases]
        if not pairs:
            continue
        ratios = [a / b for a, b in pairs]
        ratio = statistics.median(ratios)
        verdict = "" if target is None else (
            f"≥ {target}x: {'met' if ratio >= target else 'not met'}")
        print(f"| {label} "
              f"| {si(statistics.median(a for a, _ in pairs), unit)} "
              f"| {si(statistics.median(b for _, b in pairs), unit)} "
              f"| {ratio:.2f}x "
              f"| {', '.join(f'{r:.2f}' for r in ratios)} | {verdict} |")
    print()
    study_table(runs)


if __name__ == "__main__":
    main()
