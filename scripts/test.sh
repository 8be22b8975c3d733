#!/usr/bin/env bash
# Command 2: the checks, then every test in three builds.
#  1. modules include no framework internals (before anything is installed);
#  2. installs what is missing (scripts/setup.sh --dev);
#  3. every C++ file is formatted with clang-format 14;
#  4. default preset: build, clang-tidy on the framework, every test;
#  5. ASan+UBSan preset: build, every test;
#  6. TSan preset: build, every test.
# Each ctest run prints its summary; the exit status is 0 only when all pass.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/check_includes.sh
./scripts/setup.sh --dev
./scripts/check_format.sh
jobs=$(nproc)
status=0
for preset in default asan tsan; do
  echo "== troupe: ${preset} preset"
  cmake --preset "$preset"
  cmake --build --preset "$preset" -j "$jobs"
  if [ "$preset" = default ]; then
    ./scripts/check_tidy.sh build/default || status=1
  fi
  ctest --preset "$preset" -j "$jobs" || status=1
done
exit $status
