#!/usr/bin/env bash
# compare_go_tests.sh — run a Go standard-library test binary (built with `go test -c`)
# natively and under Vireo, and require the same verdict for every test: the sets of
# "--- PASS/FAIL/SKIP: Name" lines (subtests included, durations dropped) and the exit status.
# Test output other than the verdicts (timings, temporary paths, pids) may differ and is not
# compared. The native run must pass, so a test broken on the host is not "confirmed" by Vireo.
#
# Usage: compare_go_tests.sh VIREO ENGINE PKGDIR TIMEOUT BINARY [TEST FLAGS...]
#   PKGDIR   the package's source directory (GOROOT/src/PKG): `go test` runs a test binary
#            there, and tests read their testdata relative to it
#   TIMEOUT  seconds for each run
set -u -o pipefail

[[ $# -ge 5 ]] || { echo "usage: $0 VIREO ENGINE PKGDIR TIMEOUT BINARY [FLAGS...]" >&2; exit 2; }
vireo=$1 engine=$2 pkgdir=$3 timeout_secs=$4 binary=$5
shift 5

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# The same small environment for both runs; temporary files go to the scratch directory.
run() {
  local side=$1
  shift
  mkdir -p "$scratch/tmp.$side"
  (cd "$pkgdir" && env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$scratch" LANG=C \
     TMPDIR="$scratch/tmp.$side" timeout -k 5 "$timeout_secs" "$@") >"$scratch/$side.log" 2>&1
  echo $? >"$scratch/$side.status"
  grep -E '^ *--- (PASS|FAIL|SKIP): ' "$scratch/$side.log" | sed -E 's/ \([0-9.]+s\)$//' | sort \
    >"$scratch/$side.verdicts"
}

run native "$binary" "$@"
run vireo "$vireo" run --engine "$engine" "$binary" "$@"

native_status=$(cat "$scratch/native.status")
vireo_status=$(cat "$scratch/vireo.status")
count() { grep -c -- "--- $1:" "$scratch/$2.verdicts"; }
summary() {
  echo "$1: exit $(cat "$scratch/$1.status"), $(count PASS "$1") passed, $(count FAIL "$1") failed," \
       "$(count SKIP "$1") skipped"
}
summary native
summary vireo
if [[ $native_status -ne 0 || $(count PASS native) -eq 0 ]]; then
  echo "the native run did not pass: the test material is wrong for this host" >&2
  cat "$scratch/native.log" >&2
  exit 1
fi
status=0
if ! diff -u "$scratch/native.verdicts" "$scratch/vireo.verdicts"; then
  echo "verdicts differ (- native, + vireo)" >&2
  status=1
fi
if [[ $native_status -ne $vireo_status ]]; then
  echo "exit status differs: native $native_status, vireo $vireo_status" >&2
  status=1
fi
if [[ $status -ne 0 ]]; then
  echo "---- vireo's output:" >&2
  cat "$scratch/vireo.log" >&2
fi
exit $status
