# A handful of CPython's own test modules (Debian's libpython3.11-testsuite). They run under
# unittest rather than `python3 -m test`, whose runner starts a watchdog thread (faulthandler)
# and Vireo has no guest threads yet. Only the verdict lines are kept (timings vary).
status=0
for t in "$@"; do
  out=$(python3 -m unittest "test.$t" 2>&1) || status=$?
  printf '%s: %s\n' "$t" "$(printf '%s\n' "$out" | grep -E '^(OK|FAILED)' | tail -1)"
  printf '%s\n' "$out" | grep -E '^Ran [0-9]+ tests' | sed 's/ in .*//'
done
exit $status
