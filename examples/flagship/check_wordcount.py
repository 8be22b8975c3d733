#!/usr/bin/env python3
"""Checks troupe-wordcount against a reference computed here, without troupe.

It writes its own input (text files in nested folders, upper case, digits,
punctuation, UTF-8, CRLF, an empty file, a binary file, a dangling link and,
when not root, a file nobody may read), counts its words with Python, runs
the program, and compares: the exit status, the accounting line
(produced = processed + failed), every per-file outcome, every word count
(from --report) and the top words it prints.

Modes:
  plain   one run, no chaos: exactly the bad files fail
  chaos   one run with --chaos: nothing is lost, the counts are exact for
          every file reported processed, the others failed for a reason
  errors  a missing folder, a file given as folder, an empty folder and bad
          options give clear messages and the documented exit statuses
  resume  a second run with the same --state skips what the first counted
  kill    runs killed with SIGKILL at random moments, each rerun with the
          same --state: every file a run reported counted is skipped by the
          next, and the final counts are exact (no file lost or counted
          twice)
"""

import argparse
import collections
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

WORD = re.compile(rb"[A-Za-z]+")
ACCOUNTING = re.compile(
    r"^accounting: produced (\d+) = processed (\d+) \+ failed (\d+)", re.M)
TOP_LINE = re.compile(r"^ *(\d+)\. (\S+) +(\d+)$", re.M)

VOCABULARY = ("alpha beta gamma delta epsilon zeta eta theta iota kappa "
              "lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi "
              "omega queue worker actor supervisor").split()


class Failure(Exception):
    pass


# The program's --isolation arguments (empty: its default, threads).
ISOLATION = []


def check(cond, what):
    if not cond:
        raise Failure(what)


def write_input(root, rng, files):
    """Writes the test input; returns the paths (relative) of all entries."""
    entries = []
    for i in range(files):
        sub = os.path.join(root, "a" if i % 3 else "b", "deep" if i % 5 == 0 else "")
        os.makedirs(sub, exist_ok=True)
        words = []
        for _ in range(rng.randrange(50, 400)):
            w = rng.choice(VOCABULARY) if rng.random() < 0.9 else \
                "".join(rng.choice("abcdefghijklmnopqrstuvwxyz")
                        for _ in range(rng.randrange(1, 9)))
            r = rng.random()
            if r < 0.1:
                w = w.upper()
            elif r < 0.2:
                w = w.capitalize()
            elif r < 0.25:
                w = w + str(rng.randrange(100)) + w  # digits split words
            words.append(w)
            words.append(rng.choice([" ", " ", " ", ", ", ".\n", "\r\n", "--",
                                     " caf\u00e9 ", "'s "]))
        text = "".join(words)
        if i % 7 == 0:
            text = text.rstrip()  # a word right at the end of the file
        path = os.path.join(sub, "doc-%03d.txt" % i)
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    open(os.path.join(root, "empty.txt"), "w").close()
    with open(os.path.join(root, "a", "image.bin"), "wb") as f:
        f.write(b"GIF89a\x00\x01binary words here")
    os.symlink("does-not-exist.txt", os.path.join(root, "b", "dangling.txt"))
    if os.geteuid() != 0:
        locked = os.path.join(root, "locked.txt")
        with open(locked, "w") as f:
            f.write("secret words")
        os.chmod(locked, 0)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            entries.append(os.path.relpath(os.path.join(dirpath, name), root))
    return sorted(entries)


def reference(root, entries):
    """Per file: a Counter of words, or the expected failure's kind."""
    out = {}
    for rel in entries:
        try:
            with open(os.path.join(root, rel), "rb") as f:
                data = f.read()
        except OSError:
            out[rel] = "unreadable"
            continue
        if b"\0" in data:
            out[rel] = "binary file"
            continue
        out[rel] = collections.Counter(w.lower().decode() for w in WORD.findall(data))
    return out


def run(program, args, timeout=60):
    proc = subprocess.run([program] + args, capture_output=True, text=True,
                          timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def read_report(path):
    ok, failed, words = set(), {}, {}
    accounting = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts[0] == "accounting":
                accounting = {parts[i]: int(parts[i + 1]) for i in range(1, len(parts), 2)}
            elif parts[0] == "ok":
                ok.add(parts[1])
            elif parts[0] == "failed":
                failed[parts[1]] = parts[2]
            elif parts[0] == "word":
                words[parts[1]] = int(parts[2])
    return accounting, ok, failed, words


def check_run(program, root, entries, ref, work, extra, chaos):
    report = os.path.join(work, "report.tsv")
    state = os.path.join(work, "state")
    args = ["--input", root, "--workers", "3", "--queue-capacity", "4",
            "--state", state, "--report", report] + ISOLATION + extra
    code, out, err = run(program, args)
    sys.stdout.write(out)
    check(code == 0, "exit status %d, stderr:\n%s" % (code, err))
    m = ACCOUNTING.search(out)
    check(m, "no accounting line")
    produced, processed, failed = map(int, m.groups())
    check(produced == len(entries),
          "produced %d, but the input has %d files" % (produced, len(entries)))
    check(processed + failed == produced, "accounting does not balance")
    accounting, ok, failures, words = read_report(report)
    check(accounting == {"produced": produced, "processed": processed,
                         "failed": failed, "skipped": 0},
          "report accounting %s differs from the printed line" % accounting)
    check(ok | set(failures) == set(entries) and not ok & set(failures),
          "files missing or reported twice: %s"
          % sorted(set(entries) ^ (ok | set(failures))))
    check(len(ok) == processed and len(failures) == failed,
          "per-file outcomes do not match the counts")
    # Which files fail, and why.
    bad = {rel: kind for rel, kind in ref.items() if isinstance(kind, str)}
    for rel, kind in bad.items():
        check(rel in failures, "%s (%s) was not reported failed" % (rel, kind))
        check(failures[rel].startswith(kind),
              "%s failed as '%s', expected '%s'" % (rel, failures[rel], kind))
    for rel, why in failures.items():
        if rel in bad:
            continue
        check(chaos, "%s failed without chaos: %s" % (rel, why))
        check("retries used up" in why or "pool broken" in why,
              "%s failed for an unexpected reason: %s" % (rel, why))
    # The counts: exactly those of the files reported processed.
    expected = collections.Counter()
    for rel in ok:
        expected.update(ref[rel])
    check(words == dict(expected),
          "word counts differ: %d words expected, %d reported; e.g. %s"
          % (len(expected), len(words),
             sorted((set(expected.items()) ^ set(words.items())))[:5]))
    top = sorted(expected.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    printed = [(w, int(n)) for _, w, n in TOP_LINE.findall(out)]
    check(printed == top, "top words %s, expected %s" % (printed, top))
    # The failures by reason add up.
    listed = sum(int(n) for n in re.findall(r"^  failed: (\d+) x ", out, re.M))
    check(listed == failed, "failures listed by reason: %d of %d" % (listed, failed))
    return out, state


def mode_plain(program, root, entries, ref, work):
    check_run(program, root, entries, ref, work, [], False)


def mode_chaos(program, root, entries, ref, work, chaos_seed):
    out, _ = check_run(program, root, entries, ref, work,
                       ["--chaos", "0.15", "--seed", str(chaos_seed), "--task-timeout",
                        "300", "--grace", "150"], True)
    m = re.search(r"^chaos: \d+ attempts, faults injected: (.*?);", out, re.M)
    check(m, "no chaos line")
    # Chaos is decided per (seed, file, attempt): with this input and seed
    # every kind of fault strikes at least once.
    kinds = re.findall(r"([A-Za-z()0-9]+) (\d+)", m.group(1))
    check(len(kinds) == 5, "five kinds of fault expected: %s" % m.group(1))
    for kind, n in kinds:
        check(int(n) > 0, "no fault of kind %s was injected" % kind)
    if ISOLATION:
        # Crashes end only the worker's OS process, which says why.
        for why in ("killed by SIGSEGV", "killed by SIGABRT",
                    "killed by SIGKILL", "exit(3)"):
            check(re.search(r"^  workers ended: \d+ x .*OS process ended: "
                            + re.escape(why), out, re.M),
                  "no worker ended with '%s'" % why)
    else:
        check(re.search(r"^  watchdog: .* killed after its grace", out, re.M),
              "the watchdog did not end a stuck worker")
    check(re.search(r"supervisor 'fleet' .* restarts=[1-9]", out),
          "the supervision tree shows no restart of the fleet")


def mode_resume(program, root, entries, ref, work):
    _, state = check_run(program, root, entries, ref, work, [], False)
    # New files: the second run counts only them (and the failed ones again).
    extra = os.path.join(root, "later.txt")
    with open(extra, "w") as f:
        f.write("Omega omega OMEGA, late words.\n")
    entries2 = sorted(entries + ["later.txt"])
    ref2 = reference(root, entries2)
    report = os.path.join(work, "report2.tsv")
    code, out, err = run(program, ISOLATION + ["--input", root,
                                               "--state", state,
                                               "--report", report])
    sys.stdout.write(out)
    check(code == 0, "second run: exit status %d: %s" % (code, err))
    counted_before = sum(1 for v in ref.values() if not isinstance(v, str))
    bad = [rel for rel, v in ref2.items() if isinstance(v, str)]
    m = ACCOUNTING.search(out)
    check(m and int(m.group(1)) == 1 + len(bad),
          "second run produced %s, expected %d" % (m and m.group(1), 1 + len(bad)))
    check("(and %d skipped" % counted_before in out, "no skipped count")
    _, ok, _, words = read_report(report)
    expected = collections.Counter()
    for rel, c in ref2.items():
        if not isinstance(c, str):
            expected.update(c)
    check(ok == {rel for rel, c in ref2.items() if not isinstance(c, str)},
          "the state does not hold every counted file")
    check(words == dict(expected), "resumed counts differ")
    # The state belongs to its input.
    other = os.path.join(work, "other")
    os.makedirs(other)
    code, out, err = run(program, ["--input", other, "--state", state])
    check(code == 1 and "belongs to another input" in err,
          "a state of another input: status %d, %r" % (code, err))


PROGRESS = re.compile(r"^progress: (\d+)/\d+\+? files, .* (\d+) failed$", re.M)
RESUMING = re.compile(r"^  resuming: (\d+) files were counted", re.M)


def mode_kill(program, root, entries, ref, work, rounds=6, seed=7):
    """SIGKILL at random moments, then reruns with the same state."""
    rng = random.Random(seed)
    state = os.path.join(work, "state")
    args = ["--input", root, "--state", state, "--workers", "3",
            "--progress", "10"] + ISOLATION
    counted = 0   # files the state holds, as the last run said at its start
    reported = 0  # files the killed run reported counted (progress lines)
    kills = 0
    for r in range(rounds):
        proc = subprocess.Popen([program] + args, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        # Most kills land while it counts: after its first progress line
        # (its start-up takes longer on a loaded machine, so a fixed delay
        # from the launch would often kill it before it opened the state).
        # One round in three kills it at a moment counted from the launch,
        # which may fall in the start-up.
        lines = []
        counting = threading.Event()

        def collect(stream=proc.stdout, lines=lines, counting=counting):
            for line in stream:
                lines.append(line)
                if line.startswith("progress:"):
                    counting.set()
            counting.set()  # it ended

        reader = threading.Thread(target=collect)
        reader.start()
        if r % 3 == 2:
            time.sleep(rng.uniform(0.02, 0.2))
        else:
            counting.wait(timeout=30)
            # A 3,000-file run counts in about 0.15 s when optimised (much
            # longer under the sanitizers): kill within that.
            time.sleep(rng.uniform(0.0, 0.1))
        proc.send_signal(signal.SIGKILL)
        err = proc.stderr.read()
        proc.wait(timeout=60)
        reader.join(timeout=60)
        out = "".join(lines)
        m = RESUMING.search(out)
        progress = PROGRESS.findall(out)
        if m is None and not progress and proc.returncode == -signal.SIGKILL:
            # Killed before it began: it reported nothing, and what the
            # runs before it reported is checked by the next one. (A run
            # that began prints "resuming:" whenever the state holds files.)
            print("round %d: killed before it began counting" % r)
            continue
        at_start = int(m.group(1)) if m else 0
        check(at_start >= counted + reported,
              "round %d: the state holds %d counted files, but %d were "
              "reported counted before the kill" % (r, at_start,
                                                     counted + reported))
        counted = at_start
        reported = 0
        if progress:
            done, failed = map(int, progress[-1])
            reported = done - failed
        if proc.returncode == -signal.SIGKILL:
            kills += 1
        else:  # it finished before the kill
            check(proc.returncode == 0, "round %d: exit status %d: %s"
                  % (r, proc.returncode, err))
        print("round %d: %s; %d counted before, %d more reported counted"
              % (r, "killed" if proc.returncode == -signal.SIGKILL
                 else "finished", counted, reported))
    check(kills > 0, "no run was killed mid-way; use a bigger input")
    report = os.path.join(work, "report.tsv")
    code, out, err = run(program, args + ["--report", report])
    sys.stdout.write(out)
    check(code == 0, "final run: exit status %d: %s" % (code, err))
    m = RESUMING.search(out)
    check((int(m.group(1)) if m else 0) >= counted + reported,
          "the final run skipped fewer files than were reported counted")
    _, ok, _, words = read_report(report)
    good = {rel for rel, c in ref.items() if not isinstance(c, str)}
    check(ok == good, "the state does not hold exactly the countable files: "
          "%s" % sorted(ok ^ good)[:5])
    expected = collections.Counter()
    for rel in good:
        expected.update(ref[rel])
    check(words == dict(expected),
          "after %d kills the counts differ (a file lost or counted twice): "
          "e.g. %s" % (kills, sorted(set(expected.items())
                                      ^ set(words.items()))[:5]))


def mode_errors(program, root, entries, ref, work):
    cases = [
        (["--input", os.path.join(work, "missing")], 1, "does not exist"),
        (["--input", os.path.join(root, "empty.txt")], 1, "is not a folder"),
        (["--workers", "zero"], 2, "is not a number"),
        (["--workers", "0"], 2, "out of range"),
        (["--chaos", "2"], 2, "not a probability"),
        (["--frobnicate"], 2, "unknown option '--frobnicate'"),
        (["stray"], 2, "unexpected argument 'stray'"),
        (["--input"], 2, "needs a value"),
    ]
    for args, status, message in cases:
        code, out, err = run(program, args)
        check(code == status and message in err,
              "%s: status %d (expected %d), stderr %r" % (args, code, status, err))
        print("ok: %s -> %d: %s" % (" ".join(args), code, err.strip()))
    empty = os.path.join(work, "empty")
    os.makedirs(empty)
    code, out, err = run(program, ["--input", empty, "--state",
                                   os.path.join(work, "s")])
    check(code == 0 and "nothing to count" in out
          and "accounting: produced 0 = processed 0 + failed 0" in out,
          "empty folder: status %d, %r %r" % (code, out, err))
    code, out, _ = run(program, ["--help"])
    check(code == 0 and "--chaos RATE" in out, "--help")
    print("ok: empty folder, --help")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--program", required=True)
    ap.add_argument("--mode", required=True,
                    choices=["plain", "chaos", "errors", "resume", "kill"])
    ap.add_argument("--files", type=int, default=60)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--chaos-seed", type=int, default=6)
    ap.add_argument("--isolation", choices=["thread", "process"],
                    default="thread",
                    help="the program's --isolation (its workers' kind)")
    opts = ap.parse_args()
    if opts.isolation == "process":
        ISOLATION.extend(["--isolation", "process"])
    work = tempfile.mkdtemp(prefix="troupe-wordcount-check-")
    try:
        root = os.path.join(work, "input")
        os.makedirs(root)
        entries = write_input(root, random.Random(opts.seed), opts.files)
        ref = reference(root, entries)
        if opts.mode == "chaos":
            mode_chaos(opts.program, root, entries, ref, work, opts.chaos_seed)
        else:
            globals()["mode_" + opts.mode](opts.program, root, entries, ref, work)
    except Failure as e:
        print("FAILED:", e)
        return 1
    finally:
        for dirpath, _, names in os.walk(work):
            for name in names:  # the unreadable file, to remove it
                p = os.path.join(dirpath, name)
                if not os.path.islink(p):
                    os.chmod(p, 0o600)
        shutil.rmtree(work, ignore_errors=True)
    print("PASSED: %s" % opts.mode)
    return 0


if __name__ == "__main__":
    sys.exit(main())
