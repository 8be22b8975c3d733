#!/usr/bin/env python3
"""The Python twin of troupe-wordcount for benchmarks/compare/run.py.

    python3 wordcount.py DIR [--workers N]

The same job with multiprocessing: a Pool(N).imap_unordered over the files
under DIR (sorted walk), each worker counting one file's words (maximal runs
of ASCII letters, lower-cased) into a Counter; the parent merges the Counters
and records each file's counts in a Manager().dict(), as a program that must
know which files it has counted would. A file with a NUL byte is binary and
fails, as in the flagship. Prints one line: "files F failed X words W".
"""

import collections
import multiprocessing
import os
import re
import sys

WORD = re.compile(rb"[A-Za-z]+")


def count(path):
    with open(path, "rb") as f:
        data = f.read()
    if b"\0" in data:
        return path, None
    return path, collections.Counter(w.lower() for w in WORD.findall(data))


def files_under(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        out += [os.path.join(dirpath, n) for n in sorted(filenames)]
    return out


def main():
    root = sys.argv[1]
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    files = files_under(root)
    totals = collections.Counter()
    counted = failed = 0
    with multiprocessing.Manager() as manager:
        per_file = manager.dict()
        with multiprocessing.Pool(workers) as pool:
            for path, counts in pool.imap_unordered(count, files):
                if counts is None:
                    failed += 1
                    continue
                totals.update(counts)
                per_file[os.path.relpath(path, root)] = dict(counts)
                counted += 1
    print("files %d failed %d words %d" % (counted, failed,
                                           sum(totals.values())))


if __name__ == "__main__":
    main()
