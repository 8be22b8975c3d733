#!/usr/bin/env bash
# Installs what troupe needs from Debian packages (apt-get; sudo when not
# root). Idempotent: installs only what is missing. `--dev` adds the tools
# the test command's checks use (clang-format and clang-tidy, version 14).
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache python3
  libcaf-dev libboost-serialization-dev libgtest-dev libbenchmark-dev
)
if [ "${1:-}" = "--dev" ]; then
  packages+=(clang-format-14 clang-tidy-14)
fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null \
      | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || {
    echo "setup: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  }
  sudo="sudo"
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get install -y --no-install-recommends "${missing[@]}"; then
  $sudo apt-get update
  $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi
