#!/usr/bin/env bash
# The main job: build Vireo, then run Debian's busybox-static sha256sum on a generated file
# under the default engine with --stats, next to the native answer.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
data=$(mktemp /tmp/vireo-demo.XXXXXX)
trap 'rm -f "$data"' EXIT
head -c 2000000 /dev/urandom >"$data"
echo "native:  $(/bin/busybox sha256sum "$data")"
echo "vireo:   $(./build/vireo run --stats /bin/busybox sha256sum "$data")"
