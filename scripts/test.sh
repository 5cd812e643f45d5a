#!/usr/bin/env bash
# Installs dependencies, builds Vireo and runs every test (CTest).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
