#!/usr/bin/env bash
# Runs `vireo boot` and checks for exit status 1 (an error, or a guest that exited with code 0)
# and a stderr line matching a pattern (an error message, a --stats line).
#   check_vireo_stderr.sh NEEDS_KVM PATTERN VIREO ARGS...
set -u
needs_kvm=$1 pattern=$2
shift 2
if [[ $needs_kvm == 1 ]]; then
  if [[ ! -e /dev/kvm ]]; then echo "SKIP: /dev/kvm is missing on this host"; exit 77; fi
  if [[ ! -r /dev/kvm || ! -w /dev/kvm ]]; then echo "SKIP: no permission to use /dev/kvm"; exit 77; fi
fi
err=$(timeout 30 "$@" </dev/null 2>&1 >/dev/null)
status=$?
echo "$err"
if [[ $needs_kvm == 1 ]] && grep -q "cannot use KVM" <<<"$err"; then echo "SKIP: KVM unusable"; exit 77; fi
[[ $status == 1 ]] || { echo "FAIL: exit status $status, expected 1"; exit 1; }
grep -Eq -e "$pattern" <<<"$err" || { echo "FAIL: stderr does not match: $pattern"; exit 1; }
