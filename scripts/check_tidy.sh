#!/usr/bin/env bash
# Runs clang-tidy 14 with the repository's .clang-tidy on every framework
# source (and, through HeaderFilterRegex, the troupe headers they include)
# and fails on any finding. Needs a configured build with
# compile_commands.json (the default preset exports one).
#
#   scripts/check_tidy.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/default}
[ -f "$build/compile_commands.json" ] || {
  echo "check_tidy: no $build/compile_commands.json (cmake --preset default)" >&2
  exit 1
}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# run-clang-tidy's exit status ignores warnings; count them instead.
run-clang-tidy-14 -p "$build" -quiet -j "$(nproc)" "$PWD/framework/src/" \
  >"$log" 2>&1 || true
# Without colour codes, each finding once (headers are reached many times).
findings=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '(warning|error): ' \
  | sort -u || true)
if [ -n "$findings" ]; then
  echo "$findings"
  echo "check_tidy: $(printf '%s\n' "$findings" | wc -l) finding(s)" >&2
  exit 1
fi
echo "check_tidy: framework/src and the headers it includes are clean"
