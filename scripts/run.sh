#!/usr/bin/env bash
# Command 1, the main job: installs what is missing, builds and runs the
# flagship example. Arguments are passed to the example.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" --target troupe_flagship
exec ./build/default/examples/troupe_flagship "$@"
