#!/usr/bin/env bash
# Runs one bare-metal guest and compares its serial output and exit status with expectations.
#   run_guest.sh MODE RUNNER KERNEL EXPECTED_OUT EXPECTED_STATUS NEEDS_EVENTS [INPUT] [APPEND] [QEMU_CPU]
# MODE kvm:  RUNNER is vireo (--engine kvm); the test is skipped (status 77) only where /dev/kvm is missing or
#            unusable, or where the host's KVM cannot deliver events (PVM) to a guest needing them
#            (NEEDS_EVENTS 1). NEEDS_EVENTS 2: the guest also relies on what PVM (which runs the
#            guest kernel in ring 3 itself) does not virtualize faithfully: privilege changes
#            through gates, the TSS or SYSENTER, IST stacks, faults during event delivery,
#            32-bit paging. Skipped up front where the kvm_pvm module is loaded.
# MODE interp: RUNNER is vireo, run with the interpreter (--engine interp); never skipped.
# MODE jit:  RUNNER is vireo, run with the system-mode translator (--engine jit); never skipped.
# MODE jitcheck: the same with --check interp (each block replayed under the interpreter).
# MODE qemu: RUNNER is qemu-system-x86_64 (TCG), with the isa-debug-exit device at 0xf4;
#            skipped when QEMU is not installed. QEMU_CPU, if given, is its -cpu model.
set -u
mode=$1 runner=$2 kernel=$3 expected=$4 want_status=$5 needs_events=$6 input=${7:-} append=${8:-} qemu_cpu=${9:-}
[[ -n $input ]] || input=/dev/null
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

case $mode in
  kvm)
    if [[ ! -e /dev/kvm ]]; then echo "SKIP: /dev/kvm is missing on this host"; exit 77; fi
    if [[ ! -r /dev/kvm || ! -w /dev/kvm ]]; then echo "SKIP: no permission to use /dev/kvm"; exit 77; fi
    if [[ $needs_events == 2 && -e /sys/module/kvm_pvm ]]; then
      echo "SKIP: host KVM is PVM, which does not virtualize this guest's privilege changes and event delivery"
      exit 77
    fi
    timeout 30 "$runner" boot --engine kvm --append "$append" "$kernel" <"$input" >"$out" 2>"$err"
    status=$?
    if grep -q "host KVM cannot deliver events" "$err"; then
      if [[ $needs_events != 0 ]]; then
        echo "SKIP: host KVM cannot deliver events to this guest (PVM back end?)"
        exit 77
      fi
    elif grep -q "cannot use KVM" "$err"; then
      echo "SKIP: $(grep -m1 "cannot use KVM" "$err")"
      exit 77
    fi
    ;;
  interp)
    timeout 30 "$runner" boot --engine interp --append "$append" "$kernel" <"$input" >"$out" 2>"$err"
    status=$?
    ;;
  jit)
    timeout 30 "$runner" boot --engine jit --append "$append" "$kernel" <"$input" >"$out" 2>"$err"
    status=$?
    ;;
  jitcheck)
    # The lockstep self-check: every block replayed under the interpreter (slower).
    timeout 60 "$runner" boot --engine jit --check interp --append "$append" "$kernel" <"$input" >"$out" 2>"$err"
    status=$?
    ;;
  qemu)
    if ! command -v "$runner" >/dev/null; then echo "SKIP: $runner is not installed"; exit 77; fi
    timeout 30 "$runner" -machine pc -accel tcg -m 128 -nodefaults -display none -serial stdio -monitor none \
      -device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot ${qemu_cpu:+-cpu "$qemu_cpu"} -kernel "$kernel" -append "$append" \
      <"$input" >"$out" 2>"$err"
    status=$?
    ;;
  *) echo "unknown mode $mode"; exit 2 ;;
esac

ok=1
if ! diff -u "$expected" "$out" >&2; then echo "FAIL: serial output differs from $expected"; ok=0; fi
if [[ $status != "$want_status" ]]; then echo "FAIL: exit status $status, expected $want_status"; ok=0; fi
if [[ $ok == 0 || -s $err ]]; then echo "--- stderr:"; cat "$err"; fi
[[ $ok == 1 ]]
