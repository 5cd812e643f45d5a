# A handful of CPython's own test modules (Debian's libpython3.11-testsuite), through CPython's
# own test runner (`python3 -m test`, which starts a faulthandler watchdog thread). Only the
# verdict lines are kept: the runner also prints timings and the load average.
out=$(/usr/bin/python3 -m test "$@" 2>&1)
status=$?
printf '%s\n' "$out" | grep -E '^(== Tests result: |All [0-9]+ tests? OK|[0-9]+ tests? (failed|skipped)|    test_)'
exit $status
