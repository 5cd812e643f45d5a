#!/bin/sh
# Process creation end to end: a raw-syscall fork/exec/wait/vfork/kill program, and (when
# busybox-static is installed) `busybox sh -c` pipelines compared with the native run.
# usage: exec_test.sh VIREO FORK_EXEC SEED
vireo=$1 fork_exec=$2 seed=$3
fail=0
out=$("$vireo" run "$fork_exec" "$seed" 2>/tmp/vireo-exec-test.$$); rc=$?
err=$(cat /tmp/vireo-exec-test.$$); rm -f /tmp/vireo-exec-test.$$
if [ "$out" != "all ok" ] || [ $rc -ne 143 ]; then echo "FAIL fork_exec: rc=$rc out=$out err=$err"; fail=1; fi
# SIGTERM does not dump core: the guest dies silently, as natively.
if [ -n "$err" ]; then echo "FAIL fork_exec: expected nothing on stderr, got: $err"; fail=1; fi
if [ -x /bin/busybox ]; then
  script='echo hello | tr a-z A-Z; x=$(echo sub | cat); echo "got $x"; false || echo "status $?"; yes | head -2; /bin/busybox sh -c "exit 5"; echo "inner $?"; exit 7'
  native=$(/bin/busybox sh -c "$script" 2>&1); nrc=$?
  ours=$("$vireo" run /bin/busybox sh -c "$script" 2>&1); orc=$?
  if [ "$native" != "$ours" ] || [ $nrc -ne $orc ]; then
    echo "FAIL busybox sh -c: native ($nrc):"; echo "$native"; echo "vireo ($orc):"; echo "$ours"; fail=1
  fi
fi
[ $fail -eq 0 ] && echo "exec tests passed"
exit $fail
