#!/usr/bin/env bash
# Soak: runs every thread test (ctest -L threads) N times (default 20) and reports how many
# runs failed. Kept out of CI (issue 14: output must not depend on scheduling).
# Usage: scripts/soak-threads.sh [N] [extra ctest arguments, e.g. -E pattern]
set -uo pipefail
cd "$(dirname "$0")/../build"
n=${1:-20}
shift || true
fails=0
for i in $(seq 1 "$n"); do
  if ! ctest -L threads -j"$(nproc)" --output-on-failure "$@" >"/tmp/vireo-soak-threads.$i.log" 2>&1; then
    fails=$((fails + 1))
    echo "run $i: FAILED (log /tmp/vireo-soak-threads.$i.log)"
  else
    echo "run $i: passed"
    rm -f "/tmp/vireo-soak-threads.$i.log"
  fi
done
echo "$((n - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
