#!/usr/bin/env python3
"""Side-by-side benchmarks: troupe against Python's multiprocessing, raw CAF
0.17 and Erlang/OTP, in one invocation (issue 9).

    python3 benchmarks/compare/run.py [--quick | --smoke] [--only NAME,...]
                                      [--systems NAME,...] [--runs N]
                                      [--out DIR]

What it does, in order:
  1. installs missing Debian packages (python3, erlang-base, gnuplot-nox, and
     through scripts/setup.sh the C++ toolchain and libraries) with apt-get,
     under sudo when not root; --no-install skips this, and a system whose
     tools are missing is then skipped with a note, not failed;
  2. configures and builds build/compare (Ninja, RelWithDebInfo, benchmarks
     on, tests and examples off) for compare_troupe and compare_caf, and
     compiles erlang/compare.erl with erlc into the output directory;
  3. runs every workload --runs times on every system that has it, one
     fresh OS process per run; within a repetition all systems run the
     same workload back to back (their order rotates per repetition), so
     machine noise hits them alike;
  4. checks each run's correctness value against the workload's definition
     (a wrong count or sum fails the invocation, with the run named);
  5. prints medians and troupe/peer ratios, and writes results.json (every
     run, the machine, the versions), results.csv, table.md and, with
     gnuplot, compare.svg into --out (default build/compare/results);
     workloads.md says how each system runs each workload.

Ratios read "how many times faster troupe is": troupe's rate / the peer's
rate, or the peer's latency / troupe's latency; above 1 troupe is ahead.

--quick runs 3 repetitions of one fifth of the sizes (< 2 min on 2 cores);
--smoke runs each workload once over tiny sizes and only checks results
(the ctest `bench.compare.quick`; timings from it mean nothing).

Adding a workload (the extension point): one `Workload(...)` entry in
WORKLOADS below (sizes per system; a system without a size is n/a and gets
a note saying why), plus one function per system, registered by name in
troupe_workloads.cpp / caf_workloads.cpp (`workload_table`),
python/workloads.py (`WORKLOADS`) and erlang/compare.erl (a `run/2`
clause). Each prints the RESULT line of common.hpp. All of issue 9's
workloads are in; PENDING (listed by --list but not measured yet) is empty.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

SYSTEMS = ("troupe", "python", "caf", "erlang", "cpp")
PEERS = ("python", "caf", "erlang", "cpp")

# Packages run.py installs itself (the C++ side comes from scripts/setup.sh).
PACKAGES = {"python": "python3", "erlang": "erlang-base", "plot": "gnuplot-nox"}


def triangle(n: int) -> int:
    """1 + 2 + ... + n."""
    return n * (n + 1) // 2


def squares(m: int) -> int:
    """0^2 + 1^2 + ... + (m - 1)^2."""
    return (m - 1) * m * (2 * m - 1) // 6


MAP_BATCH = 1_000_000  # items per map call in pool_map (the 1M)


def map_check(n: int) -> int:
    """pool_map over n items: maps of at most 1M items (0..m-1 each), the
    sum of all their results."""
    full, rest = divmod(n, MAP_BATCH)
    return full * squares(MAP_BATCH) + squares(rest)


def one_kib_check(n: int) -> int:
    """Sum over items i < n of (1024 + the first byte, ord('a') + i % 26)."""
    return sum(1024 + 97 + i % 26 for i in range(n))


@dataclass
class Workload:
    """One workload: the same definition on every system that has it."""

    name: str
    label: str                      # short name for the table and the plot
    unit: str                       # "ops/s" (higher is better) or "us"
    expected: Callable[[int], int]  # the correctness value for size n
    sizes: dict[str, int]           # default size per system; absent: n/a
    notes: dict[str, str] = field(default_factory=dict)  # how, or why n/a
    quick_sizes: dict[str, int] = field(default_factory=dict)  # overrides
    max_runs: int | None = None     # caps --runs for a long workload


NO_ACTORS = "n/a: multiprocessing has no actors (processes are OS processes)"

# The workloads. Sizes differ between systems only where one is 10x+ slower
# than the others (a rate does not depend on n once a run lasts long
# enough); a default run of one system lasts roughly 0.2-1 s.
WORKLOADS: list[Workload] = [
    Workload(
        "pipe_ping_pong", "(a) pipe ping-pong", "ops/s", triangle,
        {"troupe": 25_000, "python": 10_000, "caf": 20_000, "erlang": 600_000},
        {"troupe": "pipe<int64> between the main process and a process",
         "python": "Pipe() between the main process and a Process",
         "caf": "scoped_actor <-> blocking actor (both own a thread)",
         "erlang": "two processes; the same as actor ping-pong in Erlang"}),
    Workload(
        "queue_ints", "(b) queue 1->1, ints", "ops/s", lambda n: triangle(n - 1),
        {"troupe": 2_000_000, "python": 60_000, "caf": 1_000_000,
         "erlang": 2_000_000},
        {"troupe": "queue<int64>, capacity 1024, producer process -> main",
         "python": "Queue(), producer Process -> main",
         "caf": "blocking actor -> scoped_actor mailbox (unbounded)",
         "erlang": "producer process -> main's mailbox (unbounded)"}),
    Workload(
        "queue_1kib", "(b) queue 1->1, 1 KiB", "ops/s", one_kib_check,
        {"troupe": 500_000, "python": 40_000, "caf": 120_000,
         "erlang": 150_000},
        {"troupe": "queue<troupe::bytes>, capacity 1024",
         "python": "Queue() of 1 KiB bytes (pickled per item)",
         "caf": "1 KiB std::string per message, unbounded mailbox",
         "erlang": "1 KiB binaries: refcounted, shared, not copied"}),
    Workload(
        "joinable_queue", "(c) joinable queue, 2 workers", "ops/s",
        lambda n: triangle(n - 1),
        {"troupe": 2_000_000, "python": 40_000},
        {"troupe": "joinable_queue<int64>: put, 2 processes get + task_done, join",
         "python": "JoinableQueue: put, 2 Processes get + task_done, join",
         "caf": "n/a: no shared multi-consumer queue with task accounting",
         "erlang": "n/a: no shared multi-consumer queue with task accounting"}),
    Workload(
        "process_start_join", "(f) process start+join", "ops/s", lambda n: n,
        {"troupe": 20_000, "python": 30, "caf": 10_000, "erlang": 200_000},
        {"troupe": "process{[]{}}: start + join (a pooled thread)",
         "python": "Process(target=f): start + join (start method in JSON)",
         "caf": "blocking actor (own thread): spawn + wait for its end",
         "erlang": "spawn_monitor + 'DOWN' (a VM process, not a thread)"}),
    Workload(
        "os_process_start_join", "(f) OS process start+join, spawn", "ops/s",
        lambda n: n,
        {"troupe": 100, "python": 20},
        {"troupe": "os_process of a registered entry point (spawn: "
                   "/proc/self/exe again): start + join",
         "python": "get_context('spawn').Process(target=f): start + join",
         "caf": "n/a: CAF 0.17 starts no OS processes",
         "erlang": "n/a: an Erlang process is not an OS process"},
        max_runs=5),
    Workload(
        "os_process_start_join_forkserver",
        "(f) OS process start+join, forkserver", "ops/s", lambda n: n,
        {"troupe": 100, "python": 50},
        {"troupe": "os_process forked by the zygote (forkserver): start + join",
         "python": "get_context('forkserver').Process(target=f): start + join",
         "caf": "n/a: CAF 0.17 starts no OS processes",
         "erlang": "n/a: an Erlang process is not an OS process"},
        max_runs=5),
    Workload(
        "shm_handoff_1mib", "(f) 1 MiB shared memory handed to an OS process",
        "ops/s", lambda n: n,
        {"troupe": 20_000, "python": 500},
        {"troupe": "shared_memory of 1 MiB given to an os_process at its "
                   "start; per round the main process fills it (64-bit "
                   "words), sends a message, the child sums the words in "
                   "place and publishes the sum in the block; 1 op = 1 MiB",
         "python": "SharedMemory of 1 MiB attached by name in a Process; per "
                   "round buf[64:] = word * 131072, a Pipe message, the "
                   "child sums buf.cast('Q') and sends the sum back",
         "caf": "n/a: CAF 0.17 starts no OS processes",
         "erlang": "n/a: an Erlang process is not an OS process"},
        max_runs=5),
    Workload(
        "event_latency", "(h) event set->wake", "us", lambda n: n,
        {"troupe": 20_000, "python": 5_000, "caf": 20_000, "erlang": 200_000},
        {"troupe": "event set() -> wait() returns in another process",
         "python": "Event set() -> wait() returns in another Process",
         "caf": "message -> blocking actor's receive() returns",
         "erlang": "message -> receive returns in another process"}),
    Workload(
        "lock_counter_1", "(i) lock counter, 1 contender", "ops/s", lambda n: n,
        {"troupe": 15_000_000, "python": 1_000_000, "caf": 500_000,
         "erlang": 500_000},
        {"troupe": "lock + int64 counter, 1 process",
         "python": "Lock + Value('q', lock=False), 1 Process",
         "caf": "counter actor; 1 actor: request(inc).then(next)",
         "erlang": "counter process; 1 process: {inc, self()} then await ok"}),
    Workload(
        "lock_counter_2", "(i) lock counter, 2 contenders", "ops/s",
        lambda n: 2 * n,
        {"troupe": 7_500_000, "python": 500_000, "caf": 250_000,
         "erlang": 250_000},
        {"troupe": "lock + int64 counter, 2 processes",
         "python": "Lock + Value('q', lock=False), 2 Processes",
         "caf": "counter actor; 2 actors: request(inc).then(next)",
         "erlang": "counter process; 2 processes: {inc, self()} then await ok"}),
    Workload(
        "lock_counter_2_os", "(i) lock counter, 2 OS processes", "ops/s",
        lambda n: 2 * n,
        {"troupe": 5_000_000, "python": 500_000},
        {"troupe": "lock handed to 2 os_processes + int64 counter in a "
                   "shared_memory block",
         "python": "Lock + Value('q', lock=False), 2 Processes (as (i) "
                   "with 2 contenders: Python's processes are OS processes)",
         "caf": "n/a: CAF 0.17 starts no OS processes",
         "erlang": "n/a: an Erlang process is not an OS process"},
        max_runs=5),
    Workload(
        "actor_ping_pong", "actor ping-pong", "ops/s", triangle,
        {"troupe": 500_000, "caf": 500_000, "erlang": 500_000},
        {"troupe": "troupe::spawn: two event-based actors",
         "python": NO_ACTORS + "; see (a)",
         "caf": "two event-based actors",
         "erlang": "two processes"}),
    Workload(
        "spawn_exit", "spawn+exit of actors", "ops/s", lambda n: n,
        {"troupe": 1_000_000, "caf": 1_000_000, "erlang": 1_000_000},
        {"troupe": "troupe::spawn, handle dropped, end counted (exit hook)",
         "python": NO_ACTORS + "; see (f)",
         "caf": "spawn, end counted (attach_functor)",
         "erlang": "spawn_monitor, end counted ('DOWN'; off-heap mailbox)"},
        quick_sizes={"troupe": 100_000, "caf": 100_000, "erlang": 100_000},
        # 1M spawns take 3-12 s per run and system here: 3 runs keep the
        # default invocation under 10 minutes on a busy 2-core machine.
        max_runs=3),
    Workload(
        "mailbox_n_to_1", "N:1 mailbox (64 senders)", "ops/s",
        lambda n: triangle(n - 1),
        {"troupe": 1_000_000, "caf": 1_000_000, "erlang": 1_000_000},
        {"troupe": "64 sender actors -> 1 receiver actor",
         "python": NO_ACTORS,
         "caf": "64 sender actors -> 1 receiver actor",
         "erlang": "64 sender processes -> 1 receiver process"}),
    Workload(
        "thread_ring", "thread ring (100 actors)", "ops/s", lambda n: n,
        {"troupe": 1_000_000, "caf": 1_000_000, "erlang": 1_000_000},
        {"troupe": "100 actors pass a token n hops",
         "python": NO_ACTORS,
         "caf": "100 actors pass a token n hops",
         "erlang": "100 processes pass a token n hops"}),
    Workload(
        "fork_join", "fork-join throughput (60 workers)", "ops/s",
        lambda n: triangle(n - 1),
        {"troupe": 1_000_000, "caf": 1_000_000, "erlang": 1_000_000},
        {"troupe": "main deals n numbers round-robin to 60 actors",
         "python": NO_ACTORS,
         "caf": "main deals n numbers round-robin to 60 actors",
         "erlang": "main deals n numbers round-robin to 60 processes"}),
    Workload(
        "supervised_restart", "supervised restart", "us", lambda n: n,
        {"troupe": 5_000, "erlang": 50_000},
        {"troupe": "supervisor one_for_one, actor child quits with an error; "
                   "batches of 100 restarts per supervisor",
         "python": "n/a: multiprocessing has no supervision",
         "caf": "n/a: CAF 0.17 has no supervisor (troupe's is built on its "
                "monitors and links)",
         "erlang": "OTP supervisor one_for_one, child exit(crash); batches of "
                   "100 restarts per supervisor"}),
    Workload(
        "supervised_restart_process", "supervised restart, blocking process",
        "us", lambda n: n,
        {"troupe": 2_000, "erlang": 50_000},
        {"troupe": "as supervised restart, the child a blocking process "
                   "(a thread of its own) that throws",
         "python": "n/a: multiprocessing has no supervision",
         "caf": "n/a: CAF 0.17 has no supervisor",
         "erlang": "the same run as supervised restart (Erlang has one kind "
                   "of process)"}),
    Workload(
        "pool_map", "(d) Pool(2).map, 1M tiny tasks", "ops/s", map_check,
        {"troupe": 20_000_000, "python": 1_000_000, "caf": 20_000_000,
         "erlang": 1_000_000},
        {"troupe": "pool{.processes = 2}.map(square, span of 1M int64), "
                   "default chunksize (4 chunks per worker); n = maps of 1M",
         "python": "Pool(2).map(square, range(1M)), default chunksize",
         "caf": "actor_pool of 2 event-based workers (round robin); 8 chunk "
                "messages (begin, end, result address) per 1M map, input "
                "read and a fresh result vector written in place",
         "erlang": "2 worker processes, main deals 8 chunks of a 1M list "
                   "(copied into and out of the workers), 2 in flight each"}),
    Workload(
        "pool_map_10us", "(d) Pool(2).map, 10 us tasks", "ops/s", squares,
        {"troupe": 40_000, "python": 2_000},
        {"troupe": "pool{.processes = 2}.map(f, vector of n int64), default "
                   "chunksize; f: 6,500 steps of a 64-bit LCG + xorshift "
                   "(about 10 us), returns x * x; workers are threads",
         "python": "Pool(2).map(f, range(n)), default chunksize; f: the same "
                   "6,500 steps on Python ints masked to 64 bits",
         "caf": "n/a: measured for troupe's two kinds of worker",
         "erlang": "n/a: measured for troupe's two kinds of worker"},
        max_runs=5),
    Workload(
        "pool_map_10us_isolated", "(d) Pool(2).map, 10 us tasks, OS processes",
        "ops/s", squares,
        {"troupe": 40_000, "python": 2_000},
        {"troupe": "as pool_map_10us, with .isolation = "
                   "troupe::isolation::os_process and f an entry point "
                   "(each chunk crosses as one message each way)",
         "python": "the same run as pool_map_10us (Python's workers are OS "
                   "processes)",
         "caf": "n/a: CAF 0.17 starts no OS processes",
         "erlang": "n/a: an Erlang process is not an OS process"},
        max_runs=5),
    Workload(
        "pool_imap_unordered", "(d) imap_unordered, chunksize 1", "ops/s",
        squares,
        {"troupe": 1_000_000, "python": 5_000, "caf": 100_000,
         "erlang": 100_000},
        {"troupe": "pool.imap_unordered(square, vector, 1), 2 workers",
         "python": "Pool(2).imap_unordered(square, range(n), chunksize=1)",
         "caf": "actor_pool of 2 workers: n messages sent at once, answers "
                "summed as they come",
         "erlang": "2 worker processes, one task per message, 2 in flight "
                   "per worker"}),
    Workload(
        "apply_async", "(e) apply_async(f).get() round trip", "us",
        lambda n: n,
        {"troupe": 20_000, "python": 1_000, "caf": 5_000, "erlang": 50_000},
        {"troupe": "pool.apply_async(square, i).get(), 2 workers",
         "python": "Pool(2).apply_async(square, (i,)).get()",
         "caf": "scoped_actor request(actor_pool, i).receive(...), 2 workers",
         "erlang": "one task message to a pool worker process, await result"}),
    Workload(
        "manager_dict", "(g) manager dict set+get, child", "ops/s",
        lambda n: n,
        {"troupe": 2_000_000, "python": 3_000, "caf": 5_000,
         "erlang": 50_000},
        {"troupe": "manager.dict<int64, int64>(); a child process makes "
                   "set+get pairs on the proxy (uncontended: the caller "
                   "runs each call itself, flat combining, no thread hop)",
         "python": "Manager().dict(); a child Process makes d[k] = i, d[k] "
                   "pairs",
         "caf": "stateful actor holding an unordered_map; a blocking actor "
                "makes request/receive set+get pairs",
         "erlang": "a process holding a map in a plain receive loop (not "
                   "gen_server); another process makes set+get calls"}),
]

# The wordcount workloads (issue 19) run whole programs on a generated input
# (troupe-wordcount --generate, seed 42: n text files and one binary file):
# troupe-wordcount itself (durable state on, --chaos 0), its Python twin
# (python/wordcount.py: Pool + Counters + Manager().dict()) and a bare C++
# baseline (bare_wordcount.cpp: std::threads, the same word counter, no
# durability). The value is files/s over the whole process's wall time; the
# check is the total word count, which this script computes itself.
WORDCOUNT = {"bin": None, "inputs": None, "words": {}}


def wordcount_input(n: int) -> Path:
    """The generated input of n files (made once, kept under --out)."""
    d = WORDCOUNT["inputs"] / f"files-{n}"
    if not (d / ".complete").exists():
        shutil.rmtree(d, ignore_errors=True)
        subprocess.run([str(WORDCOUNT["bin"]), "--generate", str(d),
                        "--files", str(n)], check=True,
                       stdout=subprocess.DEVNULL)
        (d / ".complete").write_text("")
    return d


def wordcount_check(n: int) -> int:
    """The words of the generated input, counted here (the flagship's rule:
    maximal runs of ASCII letters; a file with a NUL byte is not text)."""
    if n not in WORDCOUNT["words"]:
        import re
        word = re.compile(rb"[A-Za-z]+")
        total = 0
        for dirpath, _, names in os.walk(wordcount_input(n)):
            for name in names:
                if name == ".complete":
                    continue
                data = (Path(dirpath) / name).read_bytes()
                if b"\0" not in data:
                    total += len(word.findall(data))
        WORDCOUNT["words"][n] = total
    return WORDCOUNT["words"][n]


WORDCOUNT_NOTES = {
    "troupe": "troupe-wordcount --chaos 0, durable state file, 4 workers "
              "(supervised pool), whole process",
    "python": "Pool(4).imap_unordered over the files, Counters merged, each "
              "file's counts recorded in a Manager().dict(), whole process",
    "cpp": "bare C++: std::threads (one per core) over the file list, the "
           "flagship's word counter, a hash map each, merged; no troupe, "
           "no durability",
    "caf": "n/a: the bare C++ baseline (cpp) stands for no framework",
    "erlang": "n/a",
}

WORKLOADS += [
    Workload("wordcount", "wordcount, 4,000 files", "ops/s", wordcount_check,
             {"troupe": 4_000, "python": 4_000, "cpp": 4_000},
             WORDCOUNT_NOTES, quick_sizes={"troupe": 4_000, "python": 4_000,
                                           "cpp": 4_000}),
    Workload("wordcount_40k", "wordcount, 40,000 files", "ops/s",
             wordcount_check,
             {"troupe": 40_000, "python": 40_000, "cpp": 40_000},
             WORDCOUNT_NOTES, quick_sizes={"troupe": 4_000, "python": 4_000,
                                           "cpp": 4_000},
             max_runs=3),
]

# Workloads of issue 9 not measured yet (none left: (d), (e) and (g) were
# added with modules/pool and modules/manager).
PENDING: dict[str, str] = {}

QUICK_DIVISOR = 5   # --quick sizes: default / 5 unless quick_sizes says
SMOKE_DIVISOR = 1000
SMOKE_MIN = 10


def size_for(w: Workload, system: str, mode: str) -> int:
    n = w.sizes[system]
    if mode == "quick":
        return w.quick_sizes.get(system, max(SMOKE_MIN, n // QUICK_DIVISOR))
    if mode == "smoke":
        return min(n, max(SMOKE_MIN, n // SMOKE_DIVISOR))
    return n


# -- installing and building --------------------------------------------------

def log(msg: str) -> None:
    print(f"compare: {msg}", flush=True)


def is_installed(package: str) -> bool:
    out = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package],
                         capture_output=True, text=True, check=False)
    return "install ok installed" in out.stdout


def install(packages: list[str]) -> None:
    """apt-get install of the missing ones; sudo when not root."""
    missing = [p for p in packages if shutil.which("dpkg-query")
               and not is_installed(p)]
    if not missing:
        return
    prefix = []
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            log(f"need root or sudo to install {' '.join(missing)}; skipping")
            return
        prefix = ["sudo"]
    log(f"installing {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = prefix + ["apt-get", "install", "-y", "--no-install-recommends"]
    if subprocess.run(cmd + missing, env=env, check=False).returncode != 0:
        subprocess.run(prefix + ["apt-get", "update"], env=env, check=False)
        subprocess.run(cmd + missing, env=env, check=False)


def build(build_dir: Path, jobs: int) -> Path:
    """Configures (once) and builds the two C++ programs; returns their dir."""
    if not (build_dir / "build.ninja").exists():
        subprocess.run(
            ["cmake", "-S", str(ROOT), "-B", str(build_dir), "-G", "Ninja",
             "-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DTROUPE_BUILD_TESTS=OFF",
             "-DTROUPE_BUILD_EXAMPLES=ON", "-DTROUPE_BUILD_BENCHMARKS=ON"],
            check=True)
    else:  # examples on: the wordcount workload runs the flagship
        subprocess.run(["cmake", str(build_dir),
                        "-DTROUPE_BUILD_EXAMPLES=ON"], check=True,
                       stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", str(build_dir), "-j", str(jobs),
                    "--target", "compare_troupe", "compare_caf",
                    "bare_wordcount", "example_flagship_troupe-wordcount"],
                   check=True)
    return build_dir / "benchmarks" / "compare"


def compile_erlang(out: Path) -> Path | None:
    ebin = out / "ebin"
    ebin.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["erlc", "-o", str(ebin),
                          str(HERE / "erlang" / "compare.erl")],
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        log("erlc failed:\n" + res.stdout + res.stderr)
        return None
    return ebin


# -- running ------------------------------------------------------------------

class RunError(Exception):
    pass


def command(system: str, workload: str, n: int, ctx: dict) -> list[str]:
    if system in ("troupe", "caf"):
        return [str(ctx["bin_dir"] / f"compare_{system}"),
                "--workload", workload, "--n", str(n)]
    if system == "python":
        return [sys.executable, str(HERE / "python" / "workloads.py"),
                "--workload", workload, "--n", str(n)]
    # +P: room for the 1M processes of spawn_exit (the default limit is 262k).
    return ["erl", "-noshell", "+P", "2000000", "-pa", str(ctx["ebin"]),
            "-run", "compare", "main", workload, str(n)]


def run_wordcount(w: Workload, system: str, n: int, ctx: dict) -> dict:
    """Runs one whole wordcount program; times it; checks its word count."""
    import re
    import tempfile
    src = wordcount_input(n)
    with tempfile.TemporaryDirectory(prefix="compare-wordcount-") as tmp:
        if system == "troupe":
            cmd = [str(WORDCOUNT["bin"]), "--input", str(src), "--state",
                   str(Path(tmp) / "state"), "--chaos", "0", "--top", "0"]
            pattern = r"^throughput: \d+ files, ([\d,]+) words"
        elif system == "python":
            cmd = [sys.executable, str(HERE / "python" / "wordcount.py"),
                   str(src)]
            pattern = r"words (\d+)"
        else:
            cmd = [str(ctx["bin_dir"] / "bare_wordcount"), str(src)]
            pattern = r"words (\d+)"
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=ctx["timeout"], check=False)
        seconds = time.perf_counter() - t0
    m = re.search(pattern, proc.stdout, re.M)
    if proc.returncode != 0 or not m:
        raise RunError(f"exit status {proc.returncode}: {' '.join(cmd)}\n"
                       f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    words = int(m.group(1).replace(",", ""))
    want = w.expected(n)
    if words != want:
        raise RunError(f"wrong result: {words} words, expected {want} "
                       f"({' '.join(cmd)})")
    return {"workload": w.name, "system": system, "n": n, "unit": "ops/s",
            "value": n / seconds, "seconds": seconds, "check": words}


def run_once(w: Workload, system: str, n: int, ctx: dict) -> dict:
    """Runs one workload once; returns its RESULT, checked."""
    if w.name.startswith("wordcount"):
        return run_wordcount(w, system, n, ctx)
    cmd = command(system, w.name, n, ctx)
    # A session of its own, so that a hung run is killed together with the
    # processes it started (Python's workers).
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, start_new_session=True) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=ctx["timeout"])
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise RunError(f"timed out after {ctx['timeout']} s: "
                           f"{' '.join(cmd)}")
    lines = [l for l in stdout.splitlines() if l.startswith("RESULT ")]
    if proc.returncode != 0 or len(lines) != 1:
        raise RunError(f"exit status {proc.returncode}, {len(lines)} RESULT "
                       f"lines: {' '.join(cmd)}\n{stdout}{stderr}")
    try:
        r = json.loads(lines[0][len("RESULT "):])
    except ValueError as e:
        raise RunError(f"malformed RESULT line ({e}): {lines[0]}")
    want = w.expected(n)
    if (r.get("workload"), r.get("system"), r.get("n")) != (w.name, system, n):
        raise RunError(f"RESULT is for another run: {lines[0]}")
    if r.get("unit") != w.unit:
        raise RunError(f"unit {r.get('unit')!r}, expected {w.unit!r}")
    if r.get("check") != want:
        raise RunError(f"wrong result: check {r.get('check')}, expected "
                       f"{want} for n={n} ({' '.join(cmd)})")
    return r


# -- reporting ----------------------------------------------------------------

def si(v: float) -> str:
    for div, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if v >= div:
            return f"{v / div:.3g}{suffix}"
    return f"{v:.3g} "


def duration_us(us: float) -> str:
    return f"{us:.3g} µs" if us < 1000 else f"{us / 1000:.3g} ms"


def fmt_value(s: dict | None, unit: str) -> str:
    if s is None:
        return "n/a"
    if s.get("failed"):
        return "FAILED"
    if unit == "us":
        text = duration_us(s["median"])
        if s.get("p99") is not None:
            text += f" (p99 {duration_us(s['p99'])})"
        return text
    return si(s["median"]) + "/s"


def speedup(w: Workload, troupe_value: float, peer_value: float) -> float:
    """How many times faster troupe is: a rate ratio or a latency ratio."""
    if w.unit == "us":
        return peer_value / troupe_value
    return troupe_value / peer_value


def ratio(peer: dict | None) -> float | None:
    """The reported ratio: the median of the per-repetition ratios (troupe
    and the peer ran back to back in each repetition, under the same load),
    stored by summarize() in the peer's entry."""
    if not peer or peer.get("failed") or "ratio" not in peer:
        return None
    return peer["ratio"]["median"]


def fmt_x(r: float) -> str:
    return f"{r:.2g}x" if r < 10 else f"{r:.0f}x"


def fmt_ratio(peer: dict | None) -> str:
    if not peer or peer.get("failed") or "ratio" not in peer:
        return "—"
    q = peer["ratio"]
    text = fmt_x(q["median"])
    if len(q["per_run"]) > 1:
        text += f" ({fmt_x(q['min'])[:-1]}–{fmt_x(q['max'])})"
    return text


def summarize(runs: dict, failed: set, workloads: list[Workload],
              systems: list[str]) -> dict:
    summary = {}
    for w in workloads:
        row = {}
        for s in systems:
            if s not in w.sizes:
                continue
            if (w.name, s) in failed:
                row[s] = {"failed": True}
                continue
            rs = runs.get((w.name, s), [])
            if not rs:
                continue
            values = [r["value"] for r in rs]
            row[s] = {
                "median": statistics.median(values),
                "min": min(values), "max": max(values), "runs": len(values),
                "n": rs[0]["n"],
                "p99": (statistics.median(r["p99"] for r in rs)
                        if "p99" in rs[0] else None),
            }
        # Ratios inside each repetition, where troupe and the peer ran
        # back to back: their median and range say more than a ratio of
        # medians on a noisy machine.
        troupe_by_rep = {r["rep"]: r["value"]
                         for r in runs.get((w.name, "troupe"), [])}
        for s, st in row.items():
            if s == "troupe" or st.get("failed"):
                continue
            per_run = [speedup(w, troupe_by_rep[r["rep"]], r["value"])
                       for r in runs[(w.name, s)] if r["rep"] in troupe_by_rep]
            if per_run:
                st["ratio"] = {"median": statistics.median(per_run),
                               "min": min(per_run), "max": max(per_run),
                               "per_run": per_run}
        summary[w.name] = row
    return summary


def table_rows(summary: dict, workloads: list[Workload],
               systems: list[str]) -> list[list[str]]:
    peers = [p for p in PEERS if p in systems]
    header = ["workload"] + list(systems) + [f"troupe/{p}" for p in peers]
    rows = [header]
    for w in workloads:
        row = summary[w.name]
        cells = [w.label] + [fmt_value(row.get(s), w.unit) for s in systems]
        cells += [fmt_ratio(row.get(p)) for p in peers]
        rows.append(cells)
    return rows


def print_table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for k, r in enumerate(rows):
        print("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i])
                        for i, c in enumerate(r)))
        if k == 0:
            print("  ".join("-" * wd for wd in widths))


def markdown_table(rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(rows[0]) + " |",
           "|---|" + "---:|" * (len(rows[0]) - 1)]
    out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(out) + "\n"


def notes_table(workloads: list[Workload], systems: list[str]) -> str:
    """How each system runs each workload, or why it cannot (markdown)."""
    out = ["| workload | " + " | ".join(systems) + " |",
           "|---|" + "---|" * len(systems)]
    for w in workloads:
        out.append(f"| {w.label} | "
                   + " | ".join(w.notes.get(s, "") for s in systems) + " |")
    return "\n".join(out) + "\n"


def write_csv(path: Path, summary: dict, workloads: list[Workload],
              systems: list[str]) -> None:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["workload", "system", "n", "runs", "unit", "median",
                      "min", "max", "p99", "troupe_ratio", "ratio_min",
                      "ratio_max", "note"])
        for w in workloads:
            row = summary[w.name]
            for s in systems:
                st = row.get(s)
                note = w.notes.get(s, "")
                if st is None or st.get("failed"):
                    out.writerow([w.name, s, "", "", w.unit,
                                  "FAILED" if st else "n/a", "", "", "", "",
                                  "", "", note])
                    continue
                q = st.get("ratio")
                out.writerow([w.name, s, st["n"], st["runs"], w.unit,
                              f"{st['median']:.6g}", f"{st['min']:.6g}",
                              f"{st['max']:.6g}",
                              "" if st["p99"] is None else f"{st['p99']:.6g}",
                              "" if q is None else f"{q['median']:.4g}",
                              "" if q is None else f"{q['min']:.4g}",
                              "" if q is None else f"{q['max']:.4g}", note])


def plot(out: Path, summary: dict, workloads: list[Workload],
         systems: list[str]) -> Path | None:
    """A grouped bar chart of the ratios, via gnuplot. Bars stand on 1x and
    their height is log10(ratio): up where troupe is faster, down where it
    is slower (bars from the bottom of a log axis would hide that)."""
    if not shutil.which("gnuplot"):
        log("gnuplot not found: no plot (install gnuplot-nox)")
        return None
    peers = [p for p in PEERS if p in systems]
    if not peers:
        return None
    data = out / "ratios.dat"
    with data.open("w") as f:
        f.write("# workload, then log10 of troupe/peer (median, min, max "
                "over the repetitions) for: " + " ".join(peers) + "\n")
        for w in workloads:
            row = summary[w.name]
            cells = []
            for p in peers:
                q = (row.get(p) or {}).get("ratio")
                cells += (["NaN"] * 3 if q is None else
                          [f"{math.log10(q[k]):.4f}"
                           for k in ("median", "min", "max")])
            f.write(json.dumps(w.label) + " " + " ".join(cells) + "\n")
    svg = out / "compare.svg"
    colors = {"python": "#3572A5", "caf": "#e08a2b", "erlang": "#a90533",
              "cpp": "#555555"}
    series = ", ".join(
        f"'{data}' using {3 * i + 2}:{3 * i + 3}:{3 * i + 4}:xtic(1) "
        f"title 'vs {p}' lc rgb '{colors[p]}'"
        for i, p in enumerate(peers))
    script = f"""
set terminal svg size 1100,600 dynamic font 'sans,12' background '#ffffff'
set output '{svg}'
set title "troupe relative to each peer: above 1x troupe is faster\\n(log scale; median of the per-repetition ratios, whiskers: their range; no bar: n/a)"
set datafile missing 'NaN'
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.9 border -1
set boxwidth 0.9
set yrange [-2.3:3.3]
set ytics ('0.01x' -2, '0.1x' -1, '1x' 0, '10x' 1, '100x' 2, '1000x' 3)
set grid ytics
set xtics rotate by 35 right nomirror
set key top right
set xzeroaxis lt -1 lw 2
set bmargin 10
set lmargin 9
plot {series}
"""
    (out / "compare.gp").write_text(script)
    res = subprocess.run(["gnuplot", str(out / "compare.gp")],
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        log("gnuplot failed:\n" + res.stderr)
        return None
    return svg


def machine() -> dict:
    info = {"nproc": os.cpu_count(), "kernel": platform.release()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                info["os"] = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    def first_line(cmd: list[str]) -> str | None:
        try:
            res = subprocess.run(cmd, capture_output=True, text=True,
                                 check=False)
            return (res.stdout or res.stderr).splitlines()[0]
        except (OSError, IndexError):
            return None
    info["compiler"] = first_line(["c++", "--version"])
    info["git"] = first_line(["git", "-C", str(ROOT), "describe", "--always",
                              "--dirty"])
    try:
        for line in Path("/usr/include/caf/config.hpp").read_text().splitlines():
            if line.startswith("#define CAF_VERSION"):
                info["caf_version"] = line.split()[-1]
    except OSError:
        pass
    info["loadavg_at_end"] = os.getloadavg()
    return info


# -- main ---------------------------------------------------------------------

def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="troupe side by side with Python multiprocessing, raw "
                    "CAF and Erlang/OTP (see the module docstring).")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true",
                      help="3 runs of smaller sizes (< 2 min)")
    mode.add_argument("--smoke", action="store_true",
                      help="one run of tiny sizes: correctness only (ctest)")
    p.add_argument("--only", help="comma-separated workload names")
    p.add_argument("--systems", help="comma-separated subset of "
                   + ",".join(SYSTEMS))
    p.add_argument("--runs", type=int, help="repetitions per workload and "
                   "system (default 5, --quick 3, --smoke 1)")
    p.add_argument("--out", type=Path, help="output directory (default "
                   "build/compare/results)")
    p.add_argument("--build-dir", type=Path, default=ROOT / "build" / "compare")
    p.add_argument("--bin-dir", type=Path, help="use compare_troupe and "
                   "compare_caf from here; do not build")
    p.add_argument("--wordcount-bin", type=Path, help="the troupe-wordcount "
                   "program for the wordcount workloads (default: the "
                   "build's examples/flagship/troupe-wordcount)")
    p.add_argument("--no-install", action="store_true",
                   help="never apt-get install; skip systems whose tools "
                        "are missing")
    p.add_argument("--jobs", type=int, default=2, help="build jobs")
    p.add_argument("--timeout", type=float, default=180.0,
                   help="seconds before one run counts as hung")
    p.add_argument("--list", action="store_true",
                   help="list the workloads and exit")
    return p.parse_args()


def select(names: str | None, known: list[str], what: str) -> list[str]:
    if not names:
        return known
    chosen = [x.strip() for x in names.split(",") if x.strip()]
    unknown = [x for x in chosen if x not in known]
    if unknown:
        sys.exit(f"compare: unknown {what}: {', '.join(unknown)} "
                 f"(known: {', '.join(known)})")
    return [k for k in known if k in chosen]


def main() -> int:
    args = parse_args()
    if args.list:
        for w in WORKLOADS:
            print(f"{w.name:20} {w.label}")
        for name, what in PENDING.items():
            print(f"{name:20} (pending) {what}")
        return 0
    mode = "quick" if args.quick else "smoke" if args.smoke else "default"
    runs = args.runs or {"default": 5, "quick": 3, "smoke": 1}[mode]
    names = select(args.only, [w.name for w in WORKLOADS], "workload")
    workloads = [w for w in WORKLOADS if w.name in names]
    systems = select(args.systems, list(SYSTEMS), "system")
    out = (args.out or args.build_dir / "results").resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    load_at_start = os.getloadavg()  # the machine may be shared: say how busy

    # 1. packages.
    notes: list[str] = []
    if not args.no_install:
        wanted = [PACKAGES["python"], PACKAGES["plot"]]
        if "erlang" in systems:
            wanted.append(PACKAGES["erlang"])
        install(wanted)
        if args.bin_dir is None and ("troupe" in systems or "caf" in systems):
            subprocess.run([str(ROOT / "scripts" / "setup.sh")], check=True)

    # 2. building, and what can run.
    ctx: dict = {"timeout": args.timeout}
    available = []
    # The compiled systems and the program each needs from the build.
    programs = {"troupe": "compare_troupe", "caf": "compare_caf",
                "cpp": "bare_wordcount"}
    for s in systems:
        if s in programs:
            if "bin_dir" not in ctx:
                try:
                    ctx["bin_dir"] = (args.bin_dir.resolve() if args.bin_dir
                                      else build(args.build_dir, args.jobs))
                except (OSError, subprocess.CalledProcessError) as e:
                    log(f"building the compiled programs failed: {e}")
                    return 1
            if (ctx["bin_dir"] / programs[s]).exists():
                available.append(s)
            else:
                notes.append(f"{s} skipped: no {programs[s]} in "
                             f"{ctx['bin_dir']}")
        elif s == "python":
            available.append(s)  # this interpreter
        elif s == "erlang":
            if shutil.which("erl") and shutil.which("erlc"):
                ctx["ebin"] = compile_erlang(out)
                if ctx["ebin"]:
                    available.append(s)
                else:
                    notes.append("erlang skipped: erlc failed")
            else:
                notes.append("erlang skipped: erl/erlc not found (Debian "
                             "package erlang-base)")
    if any(w.name.startswith("wordcount") for w in workloads):
        wc = args.wordcount_bin or (
            ctx["bin_dir"].parent.parent / "examples" / "flagship"
            / "troupe-wordcount" if "bin_dir" in ctx else None)
        if wc is not None and Path(wc).exists():
            WORDCOUNT["bin"] = Path(wc).resolve()
            WORDCOUNT["inputs"] = out / "wordcount-inputs"
        else:
            notes.append("wordcount skipped: no troupe-wordcount (build the "
                          "example, or give --wordcount-bin)")
            workloads = [w for w in workloads
                         if not w.name.startswith("wordcount")]
    for n in notes:
        log("note: " + n)
    if "troupe" not in available:
        log("troupe is not available: nothing to compare")
        return 1

    # 3-4. the runs, interleaved.
    runs_by: dict[tuple[str, str], list[dict]] = {}
    failures: list[str] = []
    failed: set[tuple[str, str]] = set()
    log(f"mode {mode}, {runs} run(s), systems {', '.join(available)}, "
        f"output {out}")
    for rep in range(runs):
        for w in workloads:
            if w.max_runs is not None and rep >= w.max_runs:
                continue
            order = [s for s in available if s in w.sizes]
            k = rep % len(order) if order else 0
            for s in order[k:] + order[:k]:
                if (w.name, s) in failed:
                    continue
                n = size_for(w, s, mode)
                try:
                    r = run_once(w, s, n, ctx)
                except RunError as e:
                    failed.add((w.name, s))
                    failures.append(f"{w.name} on {s}: {e}")
                    log(f"FAILED {w.name} on {s}: {e}")
                    continue
                r["rep"] = rep
                runs_by.setdefault((w.name, s), []).append(r)
                shown = (f"{r['value']:.4g} {r['unit']}"
                         + (f", p99 {r['p99']:.4g}" if "p99" in r else ""))
                log(f"run {rep + 1}/{runs} {w.name:18} {s:7} n={n:<9} {shown}")

    # 5. report.
    summary = summarize(runs_by, failed, workloads, available)
    shown_systems = [s for s in systems if s in available]
    rows = table_rows(summary, workloads, shown_systems)
    elapsed = time.time() - started
    print()
    if mode == "smoke":
        print("smoke run: tiny sizes, correctness only; the figures below "
              "mean nothing")
    print_table(rows)
    capped = [f"{w.name} {w.max_runs}" for w in workloads
              if w.max_runs is not None and w.max_runs < runs]
    print(f"\nmedians of {runs} run(s)"
          + (f" (except: {', '.join(capped)})" if capped else "")
          + "; ratio = troupe rate / peer rate, or "
          "peer latency / troupe latency (above 1: troupe faster), the\n"
          "median of the per-repetition ratios (their range in brackets)")
    for w in workloads:
        for s in systems:
            if s not in w.sizes and s in w.notes:
                print(f"  {w.name} on {s}: {w.notes[s]}")
    for n in notes:
        print("  note: " + n)

    (out / "table.md").write_text(markdown_table(rows))
    (out / "workloads.md").write_text(notes_table(workloads, list(systems)))
    write_csv(out / "results.csv", summary, workloads, shown_systems)
    svg = None if mode == "smoke" else plot(out, summary, workloads,
                                            shown_systems)
    report = {
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
        "mode": mode, "runs": runs, "elapsed_s": round(elapsed, 1),
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(), "loadavg_at_start": load_at_start,
        "systems": available, "notes": notes,
        "pending": PENDING,
        "workloads": {w.name: {"label": w.label, "unit": w.unit,
                               "notes": w.notes,
                               "sizes": {s: size_for(w, s, mode)
                                         for s in w.sizes}}
                      for w in workloads},
        "summary": summary,
        "runs_raw": [r for rs in runs_by.values() for r in rs],
        "failures": failures,
    }
    (out / "results.json").write_text(json.dumps(report, indent=1) + "\n")
    log(f"wrote {out}/results.json, results.csv, table.md, workloads.md"
        + (f", {svg.name}" if svg else "") + f" ({elapsed:.0f} s)")
    if failures:
        log(f"{len(failures)} workload(s) FAILED:")
        for f in failures:
            log("  " + f.splitlines()[0])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
