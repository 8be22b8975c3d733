#!/usr/bin/env bash
# Command 1, the main job: installs what is missing, builds and runs the
# flagship, troupe-wordcount (docs/flagship.md): a supervised word-count
# pipeline over a generated sample, with workers failing at random
# (--chaos 0.05), that ends with the result, the supervision tree and an
# accounting line proving that no file was lost.
#
# Arguments replace the default --chaos 0.05 and go to the program (try
# --help, or --input DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" \
  --target example_flagship_troupe-wordcount
if [ $# -eq 0 ]; then
  set -- --chaos 0.05
fi
exec ./build/default/examples/flagship/troupe-wordcount "$@"
