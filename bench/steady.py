#!/usr/bin/env python3
"""Steady state of jit builds side by side: the core workloads of bench/run.py under native and
under each --vireo binary's jit, interleaved (repetition-major), CPU-time medians, ratios to
native and their geometric mean. For before/after measurements of a translator change, e.g.
main's build against a branch's, in one run (the machine is shared: only ratios from one run
compare).

--scale F runs each C workload's first argument scaled by F (matmul's size by F^(1/3)) and
the busybox ones on a 6 MiB file, to fit a busy machine; the default is bench/run.py's input.

--qemu adds qemu-x86_64 (issue 22 asks the jit to be faster than it everywhere).

--extended adds bench/run.py's user-facing workloads that run long enough to have a steady
state (python_dict, lua_table, sqlite, xz, cpp_virtual), at their full input.

Needs the workloads built by bench/run.py (bench/out/bin).
Usage: bench/steady.py --vireo OLD/vireo --vireo build/vireo [--reps N] [--scale F] [--only a,b] [--qemu]
"""
import argparse
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import run as bench  # noqa: E402


EXTENDED = ("python_dict", "lua_table", "sqlite", "xz", "cpp_virtual")


def scaled(w, args, scale):
    if scale == 1 or w.kind != "C" or w.group != "core":
        return args
    f = scale ** (1 / 3) if w.name == "matmul" else scale
    return [str(max(1, int(int(args[0]) * f)))] + args[1:]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vireo", action="append", default=[], help="a vireo binary (repeatable; default build/vireo)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--only", default="", help="comma-separated workload names")
    ap.add_argument("--qemu", action="store_true", help="also run qemu-x86_64")
    ap.add_argument("--extended", action="store_true", help="also the steady user-facing workloads")
    args = ap.parse_args()
    if not os.path.exists(os.path.join(bench.BIN, "peakrss")):
        sys.exit("steady: run bench/run.py first (it builds the workloads)")
    data = bench.make_data(6 if args.scale != 1 else 24, 512)
    only = set(filter(None, args.only.split(",")))
    work = [w for w in bench.workloads(data)
            if (w.group == "core" and w.kind != "startup" or args.extended and w.name in EXTENDED)
            and (not only or w.name in only)]
    vireos = args.vireo or [bench.VIREO]
    copies = bench.fresh_copies(vireos)
    names = ["native"] + [f"jit {i + 1}" for i in range(len(vireos))] + (["qemu"] if args.qemu else [])
    times = {(w.name, n): [] for w in work for n in names}
    for _ in range(args.reps):
        for w in work:
            argv = [w.program] + scaled(w, w.full, args.scale)
            cmds = [argv] + [[v, "run", "--engine", "jit"] + argv for v in copies]
            if args.qemu:
                cmds.append(["qemu-x86_64"] + argv)
            for n, c in zip(names, cmds):
                secs, _, code = bench.run_measured(c)
                if code != 0:
                    sys.exit(f"steady: {w.name} under {n} exited with {code}")
                times[(w.name, n)].append(secs)
    for i, v in enumerate(vireos):
        print(f"jit {i + 1}: {v}")
    print("| workload | native s | " + " | ".join(f"{n} s (×native)" for n in names[1:]) + " |")
    print("|---|---|" + "---|" * (len(names) - 1))
    ratios = {n: [] for n in names[1:]}
    for w in work:
        base = statistics.median(times[(w.name, "native")])
        cells = []
        for n in names[1:]:
            t = statistics.median(times[(w.name, n)])
            ratios[n].append(t / base)
            cells.append(f"{t:.3f} (×{t / base:.2f})")
        print(f"| {w.name} | {base:.3f} | " + " | ".join(cells) + " |")
    print("| geomean | | " + " | ".join(f"×{bench.geomean(ratios[n]):.2f}" for n in names[1:]) + " |")


if __name__ == "__main__":
    main()
