#!/usr/bin/env python3
"""Start-up and fork+exec cost (issue 22): native and Vireo binaries side by side.

CPU time (user + system of the process tree, bench/tools/peakrss.c), interleaved medians:
hello world (median of 30) and fork + exec + wait of a small static program and of busybox
true (200 execs, median of 3), per exec and above native. Compares Vireo builds, e.g. main's
against a branch's: each --vireo PATH is run with the interp and the jit engine. `--vireo "PATH
OPTIONS..."` adds `vireo run` options, e.g. `--vireo "build/vireo --exec=reexec"` to compare
in-place execve with re-executing vireo in one build.

Needs the workloads built by bench/run.py (bench/out/bin).
Usage: bench/startup.py [--vireo PATH]... [--reps N]
"""
import argparse
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import run as bench  # noqa: E402


def medians(cmds, n):
    xs = [[] for _ in cmds]
    for _ in range(n):
        for i, c in enumerate(cmds):
            xs[i].append(bench.run_measured(c)[0])
    return [statistics.median(x) for x in xs]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vireo", action="append", default=[], help="a vireo binary (repeatable; default build/vireo)")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    b = lambda n: os.path.join(bench.BIN, n)
    if not os.path.exists(b("forkexec")):
        sys.exit("startup: run bench/run.py first (it builds the workloads)")
    runners = [("native", [])]
    given = args.vireo or [bench.VIREO]
    for v, copy in zip(given, bench.fresh_copies(given)):
        path, *opts = copy.split()
        for e in ("interp", "jit"):
            runners.append((f"{v} {e}", [path, "run", "--engine", e] + opts))
    print("| case | " + " | ".join(n for n, _ in runners) + " |")
    print("|---|" + "---|" * len(runners))
    hello = medians([p + [b("hello")] for _, p in runners], max(30, args.reps))
    print("| hello world | " + " | ".join(f"{t * 1000:.2f} ms" for t in hello) + " |")
    n = 200
    for name, prog in (("a small static program", [b("true")]), ("busybox true", ["/bin/busybox", "true"])):
        ts = medians([p + [b("forkexec"), str(n)] + prog for _, p in runners], args.reps)
        cells = [f"{ts[0] / n * 1000:.2f} ms"] + [f"{t / n * 1000:.2f} ms (+{(t - ts[0]) / n * 1000:.2f})" for t in ts[1:]]
        print(f"| fork+exec+wait of {name}, per exec | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
