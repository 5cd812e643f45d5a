#!/usr/bin/env bash
# compare-run.sh — run a program natively and under Vireo (or another runner) and require
# byte-identical stdout, stderr, exit status and working-directory contents.
#
# Usage:
#   compare-run.sh [options] -- PROGRAM [ARGS...]
#
# Options:
#   --vireo PATH        the vireo binary; the guest side runs `PATH run --engine ENGINE PROGRAM ARGS...`
#   --engine NAME       engine for --vireo (default: interp)
#   --runner "CMD ..."  instead of --vireo: a whitespace-separated command prefix for the guest
#                       side (e.g. "qemu-x86_64"), used to validate the test material itself
#   --stdin FILE        stdin for both runs (default: /dev/null); a relative FILE is taken in
#                       the working directory, after --setup ran (so setup can generate it)
#   --env VAR=VAL       add to the fixed environment (repeatable)
#   --setup CMD         bash command run natively in each fresh working directory before the
#                       program (e.g. to generate input files); must succeed
#   --expect-status N   the native run must exit with N (default 0); a test whose oracle fails
#                       natively would otherwise "pass" by failing identically
#   --timeout SECS      per-run time limit (default 50); a hang fails with status 124
#   --no-files          do not compare the files left in the working directory
#   --keep              keep the scratch directory and print where it is
#
# Both runs see exactly the same world: an empty environment plus a fixed set of variables
# (`env -i`), the same stdin, and the same absolute working directory path (the runs happen one
# after the other in SCRATCH/work, which is moved aside between them), so a program may print
# paths relative to its working directory, or even getcwd(), without creating a false mismatch.
#
# Vireo's own diagnostics are not guest output: with --vireo, lines of the guest side's stderr
# that start with "vireo: guest terminated by " (printed when the guest dies by a signal, like
# qemu's "uncaught target signal") are removed before comparing. The death itself still has to
# match: the exit status (128+N from the shell) is compared as always. Native stderr and other
# runners' stderr are left untouched.
set -u -o pipefail

die() { echo "compare-run: $*" >&2; exit 2; }

vireo="" engine="interp" runner="" stdin_file="/dev/null" setup="" expect_status=0
timeout_secs=50 compare_files=1 keep=0
extra_env=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --vireo) vireo="$2"; shift 2 ;;
    --engine) engine="$2"; shift 2 ;;
    --runner) runner="$2"; shift 2 ;;
    --stdin) stdin_file="$2"; shift 2 ;;
    --env) extra_env+=("$2"); shift 2 ;;
    --setup) setup="$2"; shift 2 ;;
    --expect-status) expect_status="$2"; shift 2 ;;
    --timeout) timeout_secs="$2"; shift 2 ;;
    --no-files) compare_files=0; shift ;;
    --keep) keep=1; shift ;;
    --) shift; break ;;
    *) die "unknown option '$1' (see the header of $0)" ;;
  esac
done
[[ $# -ge 1 ]] || die "missing PROGRAM after --"
[[ -n "$vireo" || -n "$runner" ]] || die "need --vireo PATH or --runner CMD"
[[ "$stdin_file" != /* || -r "$stdin_file" ]] || die "stdin file '$stdin_file' not readable"

guest_prefix=()
if [[ -n "$vireo" ]]; then
  [[ -x "$vireo" ]] || die "vireo binary '$vireo' not executable"
  guest_prefix=("$vireo" run --engine "$engine")
  # The guest side runs under `env -i`: Vireo's own settings from the test's environment
  # become options (they must not reach the guest's environment, which native compares).
  if [[ -n "${VIREO_CPU:-}" ]]; then guest_prefix+=(--cpu "$VIREO_CPU"); fi
  if [[ -n "${VIREO_TRANSLATE_AFTER:-}" && "$engine" == jit ]]; then
    guest_prefix+=(--translate-after "$VIREO_TRANSLATE_AFTER")
  fi
  guest_label="vireo"
else
  read -r -a guest_prefix <<<"$runner"
  guest_label="$(basename "${guest_prefix[0]}")"
fi

# The fixed environment. LANG=C and TZ=UTC keep libc formatting and time conversion stable;
# TEST_VAR gives programs something with a space in it to print.
fixed_env=(PATH=/usr/bin:/bin HOME=/tmp LANG=C TZ=UTC "TEST_VAR=hello vireo" "${extra_env[@]}")

scratch=$(mktemp -d "${TMPDIR:-/tmp}/vireo-compare.XXXXXX") || die "mktemp failed"
if [[ $keep -eq 0 ]]; then trap 'rm -rf "$scratch"' EXIT; fi
work="$scratch/work"

# A listing of the working directory that does not depend on timestamps or inode numbers:
# type, permissions, size and content hash of every entry, sorted.
manifest() {
  (cd "$1" && find . -mindepth 1 -printf '%y %m %s %p\n' | sort -k4 |
    while read -r type mode size path; do
      if [[ $type == f ]]; then
        echo "$type $mode $size $path $(sha256sum <"$path" | cut -c1-16)"
      elif [[ $type == l ]]; then
        echo "$type $path -> $(readlink "$path")"
      else
        echo "$type $mode $path"
      fi
    done)
}

# run_side NAME CMD... : run in a fresh $work, leave NAME.out/.err/.status/.files in $scratch.
run_side() {
  local name="$1"; shift
  rm -rf "$work" && mkdir "$work" || die "cannot create $work"
  if [[ -n "$setup" ]]; then
    (cd "$work" && env -i "${fixed_env[@]}" bash -c "$setup") ||
      die "setup command failed ($name side): $setup"
  fi
  if [[ "$stdin_file" != /* && ! -r "$work/$stdin_file" ]]; then
    die "stdin file '$stdin_file' not found in the working directory after setup"
  fi
  # No core files: they would land in the working directory and cost time.
  (cd "$work" && ulimit -c 0 && exec <"$stdin_file" &&
    exec timeout -k 5 "$timeout_secs" env -i "${fixed_env[@]}" "$@") \
    >"$scratch/$name.out" 2>"$scratch/$name.err"
  echo $? >"$scratch/$name.status"
  if [[ $compare_files -eq 1 ]]; then manifest "$work" >"$scratch/$name.files"; fi
  mv "$work" "$scratch/$name.work"
}

run_side native "$@"
run_side guest "${guest_prefix[@]}" "$@"
if [[ -n "$vireo" ]]; then
  # sed (not grep -v): it keeps a missing final newline missing.
  sed -i '/^vireo: guest terminated by /d' "$scratch/guest.err"
fi

native_status=$(cat "$scratch/native.status")
guest_status=$(cat "$scratch/guest.status")
describe_status() {
  local s=$1
  if [[ $s -eq 124 ]]; then echo "$s (timed out after ${timeout_secs}s)"
  elif [[ $s -gt 128 ]]; then echo "$s (killed by signal $((s - 128)): $(kill -l $((s - 128)) 2>/dev/null))"
  else echo "$s"; fi
}

# show_diff WHAT : unified diff of native.WHAT vs guest.WHAT, bounded so a runaway output does
# not flood the CTest log; binary data is shown as a hex dump diff.
show_diff() {
  local what="$1" a="$scratch/native.$1" b="$scratch/guest.$1"
  echo "---- $what differs ----"
  # Text unless either side holds bytes outside printable ASCII and whitespace.
  if ! LC_ALL=C grep -q '[^[:print:][:space:]]' "$a" "$b"; then
    diff -u --text --label "native $what" --label "$guest_label $what" "$a" "$b" | head -n 200
  else
    cmp "$a" "$b" | head -n 1
    diff -u --label "native $what (hex)" --label "$guest_label $what (hex)" \
      <(od -An -tx1 -v "$a") <(od -An -tx1 -v "$b") | head -n 100
  fi
}

fail=0
for what in out err; do
  if ! cmp -s "$scratch/native.$what" "$scratch/guest.$what"; then
    show_diff "$what"
    fail=1
  fi
done
if [[ $compare_files -eq 1 ]] && ! cmp -s "$scratch/native.files" "$scratch/guest.files"; then
  show_diff files
  fail=1
fi
if [[ "$native_status" != "$guest_status" ]]; then
  echo "---- exit status differs ----"
  fail=1
fi
if [[ "$native_status" != "$expect_status" ]]; then
  echo "---- native run exited with $native_status, expected $expect_status: the test itself is broken ----"
  echo "native stderr:"; head -n 40 "$scratch/native.err"
  fail=1
fi

cmdline="$*"
if [[ $fail -ne 0 ]]; then
  echo "command:       $cmdline"
  echo "guest runner:  ${guest_prefix[*]}"
  echo "native status: $(describe_status "$native_status")"
  echo "$guest_label status: $(describe_status "$guest_status")"
  if [[ $keep -eq 1 ]]; then echo "scratch kept:  $scratch"; fi
  exit 1
fi
echo "OK: $cmdline — stdout $(wc -c <"$scratch/native.out") bytes, stderr $(wc -c <"$scratch/native.err") bytes, status $native_status identical"
if [[ $keep -eq 1 ]]; then echo "scratch kept:  $scratch"; fi
exit 0
