#!/usr/bin/env python3
"""Checks that code quoted in the docs is taken from compiled examples.

A code block in README.md or docs/*.md that follows a marker line

    <!-- snippet: examples/<path>.cpp -->

must appear, line for line, as a contiguous run of lines in that file.
Prints each mismatch and exits 1; prints "snippets: N checked" on success.
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
marker = re.compile(r"<!--\s*snippet:\s*(\S+)\s*-->")
pages = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
checked, errors = 0, []

for page in pages:
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = marker.search(lines[i])
        if not m:
            i += 1
            continue
        source = root / m.group(1)
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        k = j + 1
        while k < len(lines) and not lines[k].startswith("```"):
            k += 1
        block = [l.rstrip() for l in lines[j + 1:k]]
        where = f"{page.relative_to(root)}:{i + 1}"
        if not source.is_file():
            errors.append(f"{where}: {m.group(1)} does not exist")
        else:
            src = [l.rstrip() for l in source.read_text(encoding="utf-8").splitlines()]
            n = len(block)
            if not any(src[s:s + n] == block for s in range(len(src) - n + 1)):
                errors.append(f"{where}: the block is not a verbatim part of "
                              f"{m.group(1)}")
        checked += 1
        i = k + 1

for e in errors:
    print(e)
print(f"snippets: {checked} checked, {len(errors)} wrong")
sys.exit(1 if errors or checked == 0 else 0)
