#!/usr/bin/env bash
# Fails when a tracked C++ file differs from what clang-format 14 makes of
# it with the repository's .clang-format, and names each such file. The
# version is pinned: another clang-format lays out the same code otherwise.
# Fix with: git ls-files '*.cpp' '*.hpp' | xargs clang-format-14 -i
#
#   scripts/check_format.sh [source-root]
set -euo pipefail
root=${1:-"$(cd "$(dirname "$0")/.." && pwd)"}
cd "$root"
fmt=${CLANG_FORMAT:-clang-format-14}
command -v "$fmt" >/dev/null || {
  echo "check_format: $fmt not found (scripts/setup.sh --dev installs it)" >&2
  exit 1
}
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h')
bad=()
for f in "${files[@]}"; do
  "$fmt" --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  printf '%s\n' "${bad[@]}"
  echo "check_format: ${#bad[@]} file(s) not formatted with $fmt;" \
       "run: git ls-files '*.cpp' '*.hpp' | xargs $fmt -i" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files formatted with $fmt"
