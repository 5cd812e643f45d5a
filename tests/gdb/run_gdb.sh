#!/bin/bash
# Drives a Vireo guest with real gdb in batch mode and checks gdb's output.
#   run_gdb.sh VIREO run|boot ENGINE GUEST SYMBOLS SCRIPT EXPECTED [VIREO OPTIONS...]
# Vireo listens on a Unix socket in a fresh temporary directory (parallel runs never collide);
# SCRIPT's @SOCK@ is that socket. EXPECTED holds lines "gdb: TEXT" and "guest: TEXT": each
# TEXT must appear in gdb's output (or the guest's stdout), in that order, as a substring;
# and lines "stats: REGEX": each extended regex must match a line of Vireo's stderr (its
# --stats report), in any order.
# Every step is bounded by timeout.
set -u
vireo=$1 mode=$2 engine=$3 guest=$4 symbols=$5 script=$6 expected=$7
shift 7
dir=$(mktemp -d)
vpid=
cleanup() {
  [ -n "$vpid" ] && kill -9 "$vpid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
sock=$dir/gdb.sock
if [ "$mode" = run ]; then
  timeout 60 "$vireo" run --engine "$engine" -g "$sock" "$@" "$guest" >"$dir/guest.out" 2>"$dir/guest.err" &
else
  timeout 60 "$vireo" boot --engine "$engine" -S -g "$sock" "$@" "$guest" >"$dir/guest.out" 2>"$dir/guest.err" &
fi
vpid=$!
for _ in $(seq 200); do
  [ -S "$sock" ] && break
  if ! kill -0 "$vpid" 2>/dev/null; then
    # kvm without guest debugging on this host: one line, and the test is skipped.
    if grep -q "^vireo: gdb: .*cannot debug" "$dir/guest.err"; then
      echo "SKIP: $(head -1 "$dir/guest.err")"
      exit 77
    fi
    echo "FAIL: vireo ended before listening:"; cat "$dir/guest.err"; exit 1
  fi
  sleep 0.05
done
sed "s|@SOCK@|$sock|g" "$script" >"$dir/script.gdb"
# SYMBOLS "-": gdb is given no file and must find the program through the stub (qXfer:exec-file).
if [ "$symbols" = - ]; then symbols=(); else symbols=("$symbols"); fi
timeout 60 gdb -batch -nx -x "$dir/script.gdb" "${symbols[@]}" >"$dir/gdb.out" 2>&1
gdb_status=$?
wait "$vpid" 2>/dev/null
vpid=

# The test kernel takes a software interrupt: a KVM back end that cannot deliver events to a
# guest (PVM) ends it with Vireo's one-line reason, and the test is skipped with that line.
if grep -q "^vireo: host KVM cannot deliver events" "$dir/guest.err"; then
  echo "SKIP: $(head -1 "$dir/guest.err" | cut -d';' -f1)"
  exit 77
fi

fail=0
# check FILE STREAM: the EXPECTED lines of STREAM appear in FILE in order.
check() {
  local file=$1 stream=$2 line=0 text found
  while IFS= read -r text; do
    found=$(tail -n +$((line + 1)) "$file" | grep -n -F -m1 -- "$text" | cut -d: -f1)
    if [ -z "$found" ]; then
      echo "FAIL: $stream output lacks (after line $line): $text"
      fail=1
      return
    fi
    line=$((line + found))
  done < <(sed -n "s/^$stream: //p" "$expected")
}
check "$dir/gdb.out" gdb
check "$dir/guest.out" guest
while IFS= read -r re; do
  if ! grep -q -E -- "$re" "$dir/guest.err"; then echo "FAIL: Vireo's stderr has no line matching: $re"; fail=1; fi
done < <(sed -n "s/^stats: //p" "$expected")
if [ $gdb_status -ne 0 ] && [ $gdb_status -ne 1 ]; then echo "FAIL: gdb status $gdb_status"; fail=1; fi
if [ $fail -ne 0 ]; then
  echo "--- gdb output"; cat "$dir/gdb.out"
  echo "--- guest stdout"; cat "$dir/guest.out"
  echo "--- guest stderr"; cat "$dir/guest.err"
  exit 1
fi
cat "$dir/gdb.out"; echo "PASS ($(wc -l <"$dir/gdb.out") lines of gdb output checked against $(wc -l <"$expected") expectations)"
