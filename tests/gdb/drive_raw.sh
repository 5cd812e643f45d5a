#!/bin/bash
# Drives Vireo's gdb stub with raw_client (bad input, disconnects, Ctrl-C) and checks how the
# guest ends.   ctrl_c.sh VIREO RAW_CLIENT ENGINE GUEST MODE [VIREO OPTIONS...]
# MODE: bad (the guest must end normally with its usual output), disconnect-run (it must run
# to its end), disconnect-kill (it must die by SIGKILL), interrupt (Ctrl-C stops it).
set -u
vireo=$1 client=$2 engine=$3 guest=$4 mode=$5
shift 5
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sock=$dir/gdb.sock
timeout 60 "$vireo" run --engine "$engine" -g "$sock" "$@" "$guest" >"$dir/out" 2>"$dir/err" &
vpid=$!
# (up to the guest's own 60 s bound: under a loaded machine vireo's start can take seconds,
# and a client started before the socket exists fails the test for nothing)
for _ in $(seq 1200); do [ -S "$sock" ] && break; kill -0 $vpid 2>/dev/null || break; sleep 0.05; done
case $mode in
  bad) timeout 60 "$client" "$sock" bad || { kill -9 $vpid; exit 1; } ;;
  disconnect-*) timeout 60 "$client" "$sock" disconnect || { kill -9 $vpid; exit 1; } ;;
  interrupt) timeout 60 "$client" "$sock" interrupt || { kill -9 $vpid; exit 1; } ;;
esac
wait $vpid 2>/dev/null
status=$?
echo "vireo exit status $status"
case $mode in
  bad | disconnect-run)
    expected="counter=6 local=42
outer=16
setting=1
after raise handled=1
after fault handled=2"
    if [ $status -ne 0 ] || [ "$(cat "$dir/out")" != "$expected" ]; then
      echo "FAIL: the guest did not run to its normal end:"; cat "$dir/out" "$dir/err"; exit 1
    fi ;;
  disconnect-kill | interrupt)
    if [ $status -ne 137 ]; then echo "FAIL: expected death by SIGKILL (137)"; cat "$dir/out" "$dir/err"; exit 1; fi ;;
esac
echo PASS
