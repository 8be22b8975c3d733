#!/usr/bin/env bash
# Fails when a file under modules/ includes the framework's internals:
# troupe/detail/ headers or anything under framework/src/. Modules reach the
# framework through its public headers only, troupe/ext/ included (see
# docs/ext.md); a module's own detail headers (troupe/<module>/detail/) are
# fine. Prints each offending include as file:line: text.
#
#   scripts/check_includes.sh [source-root]
set -euo pipefail
root=${1:-"$(cd "$(dirname "$0")/.." && pwd)"}
cd "$root"

# `#include` or `#include_next`, any spacing around `#`, quoted or angled,
# the path possibly reached through `../` or a longer prefix.
pattern='^[[:space:]]*#[[:space:]]*include(_next)?[[:space:]]*[<"]([^">]*/)?(troupe/detail|framework/src)/'

if hits=$(grep -rnIE "$pattern" modules); then
  echo "$hits"
  count=$(printf '%s\n' "$hits" | wc -l)
  echo "check_includes: ${count} include(s) of framework internals under" \
       "modules/; use the public headers and troupe/ext/ (docs/ext.md)" >&2
  exit 1
fi
echo "check_includes: modules/ includes no framework internals"
