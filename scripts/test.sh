#!/usr/bin/env bash
# Command 2: checks that modules include no framework internals, installs
# what is missing, builds everything, runs every test
# (default preset, then the ASan+UBSan preset) and prints ctest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
# Fails fast, before any build: modules include no framework internals.
./scripts/check_includes.sh
./scripts/setup.sh
jobs=$(nproc)
status=0
for preset in default asan; do
  echo "== troupe: ${preset} preset"
  cmake --preset "$preset"
  cmake --build --preset "$preset" -j "$jobs"
  ctest --preset "$preset" -j "$jobs" || status=1
done
exit $status
