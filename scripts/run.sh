#!/usr/bin/env bash
# Command 1, the main job: installs what is missing, builds and runs the
# main example. Arguments are passed to the example (try --help).
#
# Until the flagship pipeline exists, the main example is the richest
# process example: a process subclass, terminate(), a daemon with
# join(timeout), names and pids (a twin of seed 002).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" \
  --target example_process_subclass_terminate_daemon
exec ./build/default/examples/process/subclass_terminate_daemon "$@"
