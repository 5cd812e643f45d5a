#!/usr/bin/env bash
# run_cases.sh VIREO ENGINE GOROOT BINDIR CASES — every line of CASES (PACKAGE REGEXP) through
# compare_go_tests.sh: BINDIR/<package with / as _>.test, run in GOROOT/src/PACKAGE. All cases
# run; the status is 1 if any differed.
set -u -o pipefail
[[ $# -eq 5 ]] || { echo "usage: $0 VIREO ENGINE GOROOT BINDIR CASES" >&2; exit 2; }
vireo=$1 engine=$2 goroot=$3 bindir=$4 cases=$5
here=$(dirname "$0")
status=0
while read -r pkg regexp; do
  [[ -z $pkg || $pkg == \#* ]] && continue
  echo "== $pkg"
  "$here/compare_go_tests.sh" "$vireo" "$engine" "$goroot/src/$pkg" 50 "$bindir/${pkg//\//_}.test" \
    -test.v -test.short -test.count=1 -test.timeout 45s -test.run "$regexp" || status=1
done <"$cases"
exit $status
