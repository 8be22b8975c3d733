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
failed=()
tidy_ok=yes
for preset in default asan tsan; do
  echo "== troupe: ${preset} preset"
  cmake --preset "$preset"
  cmake --build --preset "$preset" -j "$jobs"
  if [ "$preset" = default ]; then
    ./scripts/check_tidy.sh build/default || { status=1; tidy_ok=no; }
  fi
  ctest --preset "$preset" -j "$jobs" 2>&1 | tee "build/${preset}/ctest.log" \
    || { status=1; failed+=("$preset"); }
done
# A run's log is long and is often read from its end: repeat what failed.
for preset in "${failed[@]}"; do
  echo "== troupe: ${preset} preset: failed tests"
  cat "build/${preset}/Testing/Temporary/LastTestsFailed.log" 2>/dev/null \
    || echo "(no list: ctest did not finish)"
  grep -E -A 40 '\*\*\*(Failed|Exception|Timeout)' "build/${preset}/ctest.log" \
    | grep -v -E '^ +Start [0-9]+:|Test +#[0-9]+: .* Passed' | head -n 150 || true
done
[ "$tidy_ok" = yes ] || echo "== troupe: clang-tidy reported findings (see above)"
echo "== troupe: $([ $status = 0 ] && echo all passed || echo FAILED)"
exit $status
