#!/usr/bin/env python3
"""The side-by-side workloads on Python's multiprocessing.

One workload per invocation, printing one RESULT line (the format of
benchmarks/compare/common.hpp):

    python3 workloads.py --workload NAME --n N

Written as a Python user would write them: real OS processes (the platform's
default start method, reported in the RESULT line) talking through Pipe,
Queue, JoinableQueue, Event, Lock, Value, Pool and Manager. Only the measured part is timed;
starting the peer process is not, unless starting processes is the workload.
Python has no actors: the actor workloads are n/a here (see run.py).
"""

import argparse
import json
import math
import multiprocessing as mp
from multiprocessing import shared_memory
import sys
import time


def rate(ops, seconds, check):
    return {"value": ops / seconds, "unit": "ops/s", "seconds": seconds,
            "check": check}


# -- (a) pipe ping-pong -------------------------------------------------------

def _echo(conn):
    while True:
        x = conn.recv()
        if x is None:
            return
        conn.send(x)


def pipe_ping_pong(n):
    """The main process sends 1..n through a duplex Pipe to a process that
    echoes them; check: the sum of the answers."""
    mine, theirs = mp.Pipe()
    p = mp.Process(target=_echo, args=(theirs,))
    p.start()
    total = 0
    start = time.perf_counter()
    for i in range(1, n + 1):
        mine.send(i)
        total += mine.recv()
    seconds = time.perf_counter() - start
    mine.send(None)
    p.join()
    return rate(n, seconds, total)


# -- (b) queue 1 -> 1 ---------------------------------------------------------

def _produce_ints(q, n):
    for i in range(n):
        q.put(i)


def _produce_1kib(q, n):
    for i in range(n):
        q.put(bytes([ord("a") + i % 26]) * 1024)


def queue_ints(n):
    """A producer process puts 0..n-1 into a Queue; the main process gets
    them. Timed from the producer's start; check: the sum."""
    q = mp.Queue()
    p = mp.Process(target=_produce_ints, args=(q, n))
    total = 0
    start = time.perf_counter()
    p.start()
    for _ in range(n):
        total += q.get()
    seconds = time.perf_counter() - start
    p.join()
    return rate(n, seconds, total)


def queue_1kib(n):
    """As queue_ints with 1 KiB bytes items ('a' + i % 26 repeated); check:
    the sum of (length + first byte)."""
    q = mp.Queue()
    p = mp.Process(target=_produce_1kib, args=(q, n))
    total = 0
    start = time.perf_counter()
    p.start()
    for _ in range(n):
        item = q.get()
        total += len(item) + item[0]
    seconds = time.perf_counter() - start
    p.join()
    return rate(n, seconds, total)


# -- (c) joinable queue, 2 workers --------------------------------------------

def _worker(tasks, sums):
    total = 0
    while True:
        x = tasks.get()
        if x is None:
            tasks.task_done()
            sums.put(total)
            return
        total += x
        tasks.task_done()


def joinable_queue(n):
    """The main process puts 0..n-1 and waits in join() until two worker
    processes have got each item and called task_done(); then each worker
    gets a None and reports its sum. Check: the total of both sums."""
    tasks = mp.JoinableQueue()
    sums = mp.Queue()
    workers = [mp.Process(target=_worker, args=(tasks, sums))
               for _ in range(2)]
    for w in workers:
        w.start()
    start = time.perf_counter()
    for i in range(n):
        tasks.put(i)
    tasks.join()
    seconds = time.perf_counter() - start
    for _ in workers:
        tasks.put(None)
    total = sums.get() + sums.get()
    for w in workers:
        w.join()
    return rate(n, seconds, total)


# -- (f) process start + join -------------------------------------------------

def _nothing():
    pass


def process_start_join(n):
    """n times: start a process with an empty target and join it; check:
    how many ended with exit code 0."""
    ok = 0
    start = time.perf_counter()
    for _ in range(n):
        p = mp.Process(target=_nothing)
        p.start()
        p.join()
        ok += p.exitcode == 0
    return rate(n, time.perf_counter() - start, ok)


def os_process_start_join(n, method="spawn"):
    """As process_start_join, with the start method named (the children are
    OS processes under every method; this names which one)."""
    ctx = mp.get_context(method)
    ok = 0
    start = time.perf_counter()
    for _ in range(n):
        p = ctx.Process(target=_nothing)
        p.start()
        p.join()
        ok += p.exitcode == 0
    return rate(n, time.perf_counter() - start, ok)


# -- (h) event set -> wake latency --------------------------------------------

def _wait_loop(go, back, woke_at, wakes, stop):
    while True:
        go.wait()
        woke_at.value = time.monotonic_ns()
        go.clear()
        if stop.value:
            return
        wakes.value += 1
        back.set()


def percentile(sorted_samples, q):
    idx = min(max(math.ceil(q * len(sorted_samples)), 1), len(sorted_samples))
    return sorted_samples[idx - 1]


def event_latency(n):
    """n times: the main process sets `go`; a waiting process records when
    its wait() returned (time.monotonic_ns, the same clock in every
    process) and sets `back`. Sample: wake time minus set time. Check: the
    number of wake-ups."""
    go, back = mp.Event(), mp.Event()
    woke_at = mp.Value("q", 0, lock=False)  # written by the waiter only
    wakes = mp.Value("q", 0, lock=False)
    stop = mp.Value("b", 0, lock=False)
    p = mp.Process(target=_wait_loop, args=(go, back, woke_at, wakes, stop))
    p.start()
    samples = []
    start = time.perf_counter()
    for _ in range(n):
        t0 = time.monotonic_ns()
        go.set()
        back.wait()
        back.clear()
        samples.append(woke_at.value - t0)
    seconds = time.perf_counter() - start
    stop.value = 1
    go.set()
    p.join()
    samples.sort()
    return {"value": percentile(samples, 0.5) / 1000.0, "unit": "us",
            "seconds": seconds, "check": wakes.value,
            "p99": percentile(samples, 0.99) / 1000.0}


# -- (i) lock-protected counter -----------------------------------------------

def _increment(lock, counter, go, n):
    go.wait()
    for _ in range(n):
        with lock:
            counter.value += 1


def lock_counter(n, contenders):
    """`contenders` processes each make n increments of a shared Value under
    a Lock; they start together on an Event. Timed from the event to the
    last join; check: the counter."""
    lock = mp.Lock()
    counter = mp.Value("q", 0, lock=False)  # protected by `lock`
    go = mp.Event()
    ps = [mp.Process(target=_increment, args=(lock, counter, go, n))
          for _ in range(contenders)]
    for p in ps:
        p.start()
    start = time.perf_counter()
    go.set()
    for p in ps:
        p.join()
    seconds = time.perf_counter() - start
    return rate(n * contenders, seconds, counter.value)


# -- (d) pool map / imap_unordered, (e) apply_async ----------------------------

def square(x):
    """The tiny task of (d) and (e)."""
    return x * x


MAP_BATCH = 1_000_000


def pool_map(n):
    """n tasks as Pool(2).map calls of at most 1M items each (range(m)),
    the default chunksize; check: the sum of all results."""
    total = 0
    with mp.Pool(2) as pool:
        start = time.perf_counter()
        done = 0
        while done < n:
            m = min(MAP_BATCH, n - done)
            total += sum(pool.map(square, range(m)))
            done += m
        seconds = time.perf_counter() - start
        pool.close()
        pool.join()
    return rate(n, seconds, total)


def work_square(x):
    """The task of pool_map_10us: the same 6,500 steps of a 64-bit LCG and
    an xorshift as troupe's (about 10 us in C++), then x * x."""
    h = x
    for _ in range(6500):
        h = (h * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 29
    return x * x + (1 if h == 0 else 0)


def pool_map_10us(n):
    """Pool(2).map of work_square over range(n), the default chunksize;
    check: the sum of the results."""
    with mp.Pool(2) as pool:
        start = time.perf_counter()
        total = sum(pool.map(work_square, range(n)))
        seconds = time.perf_counter() - start
        pool.close()
        pool.join()
    return rate(n, seconds, total)


def pool_imap_unordered(n):
    """Pool(2).imap_unordered over range(n), chunksize 1; check: the sum."""
    total = 0
    with mp.Pool(2) as pool:
        start = time.perf_counter()
        for x in pool.imap_unordered(square, range(n), chunksize=1):
            total += x
        seconds = time.perf_counter() - start
        pool.close()
        pool.join()
    return rate(n, seconds, total)


def apply_async(n):
    """n times apply_async(square, (i,)).get() on a Pool(2). Sample: the
    round trip; check: how many results were i * i."""
    samples = []
    right = 0
    with mp.Pool(2) as pool:
        start = time.perf_counter()
        for i in range(n):
            t0 = time.monotonic_ns()
            r = pool.apply_async(square, (i,)).get()
            samples.append(time.monotonic_ns() - t0)
            right += r == i * i
        seconds = time.perf_counter() - start
        pool.close()
        pool.join()
    samples.sort()
    return {"value": percentile(samples, 0.5) / 1000.0, "unit": "us",
            "seconds": seconds, "check": right,
            "p99": percentile(samples, 0.99) / 1000.0}


# -- (g) manager dict ---------------------------------------------------------

def _dict_pairs(d, n, out):
    ok = 0
    start = time.perf_counter()
    for i in range(n):
        d[i % 1024] = i
        ok += d[i % 1024] == i
    out.put((ok, time.perf_counter() - start))


def manager_dict(n):
    """A child Process makes n set+get pairs (key i % 1024, value i) on a
    Manager().dict() proxy, timed inside the child. Check: the gets that
    returned the value just set."""
    with mp.Manager() as manager:
        d = manager.dict()
        out = mp.Queue()
        p = mp.Process(target=_dict_pairs, args=(d, n, out))
        p.start()
        ok, seconds = out.get()
        p.join()
    return rate(n, seconds, ok)


# -- (f) a shared memory block handed to another OS process ------------------

def _shm_reader(name, conn):
    shm = shared_memory.SharedMemory(name=name)
    words = shm.buf[64:].cast("Q")
    while True:
        g = conn.recv()
        if g is None:
            break
        conn.send(sum(words))
    words.release()
    shm.close()


def shm_handoff_1mib(n):
    """n times: the main process fills a 1 MiB SharedMemory block with the
    round's number g (as 64-bit words) and sends g through a Pipe to a
    Process that attached to the block by name; it sums the words in place
    and sends the sum back. Check: the rounds whose sum was g * 131072."""
    payload = 1 << 20
    count = payload // 8
    shm = shared_memory.SharedMemory(create=True, size=64 + payload)
    mine, theirs = mp.Pipe()
    p = mp.Process(target=_shm_reader, args=(shm.name, theirs))
    p.start()

    def round_trip(g):
        shm.buf[64:] = g.to_bytes(8, "little") * count
        mine.send(g)
        return mine.recv() == g * count

    round_trip(1)
    right = 0
    start = time.perf_counter()
    for g in range(2, n + 2):
        right += round_trip(g)
    seconds = time.perf_counter() - start
    mine.send(None)
    p.join()
    shm.close()
    shm.unlink()
    return rate(n, seconds, right)


WORKLOADS = {
    "pipe_ping_pong": pipe_ping_pong,
    "queue_ints": queue_ints,
    "queue_1kib": queue_1kib,
    "joinable_queue": joinable_queue,
    "process_start_join": process_start_join,
    "os_process_start_join": os_process_start_join,
    "os_process_start_join_forkserver":
        lambda n: os_process_start_join(n, "forkserver"),
    "shm_handoff_1mib": shm_handoff_1mib,
    "event_latency": event_latency,
    "lock_counter_1": lambda n: lock_counter(n, 1),
    "lock_counter_2": lambda n: lock_counter(n, 2),
    "lock_counter_2_os": lambda n: lock_counter(n, 2),
    "pool_map": pool_map,
    "pool_map_10us": pool_map_10us,
    # Python's workers are OS processes either way.
    "pool_map_10us_isolated": pool_map_10us,
    "pool_imap_unordered": pool_imap_unordered,
    "apply_async": apply_async,
    "manager_dict": manager_dict,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", required=True, choices=sorted(WORKLOADS))
    parser.add_argument("--n", type=int, required=True)
    args = parser.parse_args()
    if args.n <= 0:
        parser.error("--n must be positive")
    result = WORKLOADS[args.workload](args.n)
    line = {"workload": args.workload, "system": "python", "n": args.n}
    line.update(result)
    line["start_method"] = mp.get_start_method()
    line["python"] = sys.version.split()[0]
    print("RESULT " + json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
