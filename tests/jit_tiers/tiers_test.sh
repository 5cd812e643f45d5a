#!/usr/bin/env bash
# Tier policy tests (src/jit/tiering.h), on counts from `vireo run --stats`, never on time.
# Usage: tiers_test.sh VIREO DIR CASE   (DIR holds tier_loop and smc_storm)
set -uo pipefail
vireo=$1 dir=$2 case=$3
fail() { echo "FAIL: $*"; exit 1; }
# stat NAME FILE: the first number after "NAME:" in a --stats report
stat() { sed -n "s/^  $1: *\([0-9][0-9]*\).*/\1/p" "$2" | head -1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
run() {  # run OUT_PREFIX VIREO_OPTIONS... -- PROGRAM ARGS...
  local out=$1; shift
  "$vireo" run --stats "$@" >"$tmp/$out.out" 2>"$tmp/$out.err" || fail "vireo exited $? ($*)"
}

case $case in
promotion)
  # tier_step is entered 1000 times: translated at its 1000th entry with --translate-after=1000,
  # never with 1001; every tier's output is native's.
  native=$("$dir/tier_loop" 1000)
  step=$(nm "$dir/tier_loop" | awk '$3 == "tier_step" { print $1 }' | sed 's/^0*//')
  [[ -n $step ]] || fail "no tier_step symbol"
  for t in 0 2 32 1000 1001 1000000; do
    # (--no-follow-calls: the loop's block would hold tier_step's code, followed from its call)
    run t$t --translate-after=$t --no-follow-calls -d in_asm -D "$tmp/t$t.log" -- "$dir/tier_loop" 1000
    [[ $(cat "$tmp/t$t.out") == "$native" ]] || fail "output differs with --translate-after=$t"
    total=$(stat "guest instructions" "$tmp/t$t.err")
    interp=$(stat "interpreter tier" "$tmp/t$t.err")
    jit=$(stat "translated tier" "$tmp/t$t.err")
    blocks=$(stat "blocks translated" "$tmp/t$t.err")
    translated_step=no
    grep -q "^IN: 0x$step\$" "$tmp/t$t.log" && translated_step=yes
    echo "translate-after=$t: $total insns = interpreter $interp + translated $jit; $blocks blocks; tier_step translated: $translated_step"
    [[ -n $total && -n $interp && -n $jit && $((interp + jit)) -eq $total ]] || fail "tier counts do not add up"
    case $t in
      0) [[ $interp -eq 0 && $translated_step == yes ]] || fail "--translate-after=0 interpreted code" ;;
      1000000) [[ $jit -eq 0 && $blocks -eq 0 ]] || fail "cold code was translated" ;;
      1001) [[ $translated_step == no && $blocks -gt 0 ]] || fail "tier_step translated before its 1001st entry" ;;
      *) [[ $translated_step == yes && $interp -gt 0 ]] || fail "tier_step not translated after $t entries" ;;
    esac
  done
  b0=$(stat "blocks translated" "$tmp/t0.err") b32=$(stat "blocks translated" "$tmp/t32.err")
  [[ $b32 -lt $((b0 / 4)) ]] || fail "tiering translated $b32 blocks of $b0"
  ;;
smc)
  # The storm's page is demoted after a few write faults; faults stay few for 20,000 rewrites.
  # With the interpreter tier, a version of the function called once is never translated (its
  # count is its decoded bytes'), so nothing faults; called 40 times, each version is
  # translated at its 32nd call and the page is demoted as without the tier.
  for t in 0 32 32x40; do
    calls=1; [[ $t == *x* ]] && calls=${t#*x}
    native=$("$dir/smc_storm" 20000 "$calls")
    run s$t --translate-after=${t%x*} -- "$dir/smc_storm" 20000 "$calls"
    [[ $(cat "$tmp/s$t.out") == "$native" ]] || fail "output differs with --translate-after=$t"
    faults=$(stat "SMC write faults" "$tmp/s$t.err")
    demoted=$(stat "SMC pages demoted" "$tmp/s$t.err")
    echo "translate-after=${t%x*}, $calls calls per version: $faults SMC write faults, $demoted demotions"
    [[ -n $faults && $faults -le 40 ]] || fail "an SMC storm of write faults"
    if [[ $t == 32 ]]; then
      [[ $faults -eq 0 ]] || fail "a version called once was translated"
    else
      [[ -n $demoted && $demoted -ge 2 ]] || fail "the storm's page was not demoted"
    fi
  done
  ;;
checked)
  # A guest JIT's arena (16 pages, 4,000 functions): each page becomes checked after 4 write
  # faults for new code next to translated code, and its blocks verify their bytes at entry
  # from then on; without it, each function cost a fault. The 2,976 functions written over
  # older ones (after the arena wraps) are found stale at entry; every call runs the newest.
  for t in 0 8; do
    native=$("$dir/smc_arena" 4000 50)
    run c$t --translate-after=$t -- "$dir/smc_arena" 4000 50
    [[ $(cat "$tmp/c$t.out") == "$native" ]] || fail "output differs with --translate-after=$t"
    faults=$(stat "SMC write faults" "$tmp/c$t.err")
    checked=$(stat "SMC checked blocks" "$tmp/c$t.err")
    stale=$(sed -n 's/.*found their bytes changed: \([0-9]*\)).*/\1/p' "$tmp/c$t.err")
    echo "translate-after=$t: $faults SMC write faults, $checked checked blocks, $stale stale entries"
    [[ -n $faults && $faults -le 80 ]] || fail "a write fault per function on the arena's pages"
    [[ -n $checked && $checked -ge 3900 ]] || fail "the arena's functions were not translated checked"
    [[ -n $stale && $stale -ge 2800 ]] || fail "rewritten functions were not found stale at entry"
  done
  ;;
startup)
  # Without --translate-after, a thread's first 300,000 interpreter-tier instructions translate
  # at the --startup-translate-after'th entry: tier_step's 1000 entries stay interpreted with
  # 2000; an explicit --translate-after fixes N; a long run leaves the start-up phase (with
  # nothing translated in it, after 4 times its 300,000 instructions: jit/tiering.h).
  native=$("$dir/tier_loop" 1000)
  run a --startup-translate-after=2000 --no-follow-calls -d in_asm -D "$tmp/a.log" -- "$dir/tier_loop" 1000
  [[ $(cat "$tmp/a.out") == "$native" ]] || fail "output differs in the start-up phase"
  grep -q "translated after 8, 2000 in the first 300000 insns" "$tmp/a.err" || fail "--stats does not show the start-up phase"
  grep -q "^IN: 0x$(nm "$dir/tier_loop" | awk '$3 == "tier_step" { print $1 }' | sed 's/^0*//')\$" "$tmp/a.log" &&
    fail "tier_step translated during start-up"
  run b --startup-translate-after=2000 --translate-after=8 -- "$dir/tier_loop" 1000
  grep -q "(translated after 8)" "$tmp/b.err" || fail "--translate-after did not fix N"
  [[ $(stat "translated tier" "$tmp/b.err") -gt 0 ]] || fail "nothing translated with --translate-after=8"
  native=$("$dir/tier_loop" 300000)
  run c --startup-translate-after=1000000 -- "$dir/tier_loop" 300000
  [[ $(cat "$tmp/c.out") == "$native" ]] || fail "output differs after the start-up phase"
  interp=$(stat "interpreter tier" "$tmp/c.err") jit=$(stat "translated tier" "$tmp/c.err")
  echo "startup: 300000 calls: interpreter $interp insns, translated $jit"
  [[ $interp -ge 300000 && $jit -gt 1000000 ]] || fail "the start-up phase did not end after 1,200,000 instructions"
  ;;
startup_budget)
  # In the start-up phase a due block is translated only once its entries times its length
  # reach --startup-translate-insns (default 32,768): tier_step's 1000 entries of 3
  # instructions are due at the 256th, interpreted again and never translated; with 0 it is
  # translated at its 256th entry. Outputs are native's, and --stats shows the deferrals.
  native=$("$dir/tier_loop" 1000)
  step=$(nm "$dir/tier_loop" | awk '$3 == "tier_step" { print $1 }' | sed 's/^0*//')
  for b in default 0; do
    opt=(); [[ $b == 0 ]] && opt=(--startup-translate-insns=0)
    run u$b "${opt[@]}" --no-follow-calls -d in_asm -D "$tmp/u$b.log" -- "$dir/tier_loop" 1000
    [[ $(cat "$tmp/u$b.out") == "$native" ]] || fail "output differs with start-up budget $b"
  done
  grep -q "^IN: 0x$step\$" "$tmp/udefault.log" && fail "tier_step translated below the start-up budget"
  grep -q "^IN: 0x$step\$" "$tmp/u0.log" || fail "tier_step not translated at its 256th entry without a budget"
  deferred=$(stat "start-up deferrals" "$tmp/udefault.err")
  echo "startup_budget: $deferred start-up deferrals"
  [[ -n $deferred && $deferred -ge 3 ]] || fail "--stats shows no start-up deferrals"
  grep -q "start-up deferrals" "$tmp/u0.err" && fail "--stats shows deferrals with the budget off"
  ;;
doubling)
  # N doubles for every --blocks-per-doubling blocks in the translation cache, up to 8 times
  # N: with one block per doubling, once 3 blocks are translated tier_step (40 calls) is not
  # translated at N = 64; without doubling it is, at N = 8. Outputs are native's.
  native=$("$dir/tier_loop" 40)
  step=$(nm "$dir/tier_loop" | awk '$3 == "tier_step" { print $1 }' | sed 's/^0*//')
  for d in 0 1; do
    run d$d --startup-translate-after=0 --blocks-per-doubling=$d --no-follow-calls -d in_asm -D "$tmp/d$d.log" -- \
      "$dir/tier_loop" 40
    [[ $(cat "$tmp/d$d.out") == "$native" ]] || fail "output differs with --blocks-per-doubling=$d"
  done
  grep -q "^IN: 0x$step\$" "$tmp/d0.log" || fail "tier_step not translated at N = 8"
  grep -q "^IN: 0x$step\$" "$tmp/d1.log" && fail "tier_step translated with N doubled"
  grep -q "tier threshold: *64 at exit" "$tmp/d1.err" || fail "--stats does not show N doubled 3 times"
  grep -q "tier threshold" "$tmp/d0.err" && fail "--stats shows a doubling that is off"
  i0=$(stat "interpreter tier" "$tmp/d0.err") i1=$(stat "interpreter tier" "$tmp/d1.err")
  echo "doubling: interpreter tier $i0 insns at N = 8, $i1 with N doubled"
  [[ $i1 -gt $i0 ]] || fail "doubling N interpreted no more"
  ;;
mmap_storm)
  # A storm of MAP_SHARED|MAP_FIXED views of one file (Go's TestMemmoveOverflow's shape) while
  # another thread runs translated code: no thread's cache is flushed (each view's
  # invalidation used to be queued for the other thread until its queue overflowed into a
  # flush, and every view of the file was walked and invalidated at each mmap).
  native=$("$dir/mmap_storm" 4096)
  run m --translate-after=0 -- "$dir/mmap_storm" 4096
  [[ $(cat "$tmp/m.out") == "$native" ]] || fail "output differs"
  flushes=$(stat "cache flushes" "$tmp/m.err")
  threads=$(stat "guest threads" "$tmp/m.err")
  echo "mmap_storm 4096: $flushes cache flushes, $threads threads"
  [[ $threads -eq 2 && $flushes -eq 0 ]] || fail "the storm flushed a translation cache"
  ;;
stats_closed_stderr)
  # A guest that closes its stderr (coreutils do at exit): --stats prints nothing and the exit
  # status stays the guest's (the report used to abort Vireo).
  out=$(echo 12 | "$vireo" run --stats /usr/bin/tr 0-9 a-j 2>"$tmp/err"); rc=$?
  [[ $rc -eq 0 && $out == bc ]] || fail "tr under --stats: exit $rc, output '$out'"
  ;;
*) fail "unknown case $case" ;;
esac
echo PASS
