#!/usr/bin/env python3
"""AVX2 paths before and after the jit translated VEX (docs/performance.md, "AVX2 paths:
before and after").

The seven C core workloads of bench/run.py built with -O3 -march=x86-64-v3 (the compiler's
auto-vectorised AVX2/FMA loops, and static glibc's AVX2 string functions), plus string_mem
as bench/run.py builds it (-O2: only glibc's IFUNCs choose AVX2), run natively, under
qemu-x86_64 -cpu max, and under Vireo with --cpu max: the interpreter, the jit before (VEX
through its interpreter fallback: VIREO_BEFORE, a build without frontend/avx.cpp) and the jit
after. Times are user + system CPU seconds, medians of --reps runs. The interpreter and the
jit before run the scaled-down inputs, compared with native on the same input.

With --models A,B instead: bench/run.py's core workloads (as it builds them) natively and under
the jit with each CPU model, interleaved (whether the default model can offer AVX2: glibc then
takes its AVX2 paths).

Usage: VIREO_BEFORE=/path/to/old/vireo bench/avx_paths.py [--reps N] [--only a,b]
       bench/avx_paths.py --models max,x86-64-v2 [--reps N]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402  (bench/run.py: workloads, inputs, the measuring launcher)

BIN_V3 = os.path.join(bench.OUT, "bin-v3")
NAMES = ["int_heavy", "nbody", "sieve", "qsort_cb", "switch_interp", "matmul", "string_mem"]


def build():
    bench.build_workloads()  # (the -O2 programs and the peakrss launcher)
    os.makedirs(BIN_V3, exist_ok=True)
    for n in NAMES:
        src = os.path.join(bench.ROOT, "bench", "workloads", n + ".c")
        subprocess.run(["gcc", "-O3", "-march=x86-64-v3", "-static", "-o", os.path.join(BIN_V3, n), src, "-lm"],
                       check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default="")
    ap.add_argument("--models", default="", help="compare the jit under these CPU models instead")
    args = ap.parse_args()
    if args.models:
        return compare_models(args)
    before = os.environ.get("VIREO_BEFORE", "")
    build()
    wl = {w.name: w for w in bench.workloads(bench.make_data(24, 512))}
    progs = [(n + " (v3)", os.path.join(BIN_V3, n), wl[n]) for n in NAMES] + \
            [("string_mem (-O2)", os.path.join(bench.BIN, "string_mem"), wl["string_mem"])]
    if args.only:
        progs = [p for p in progs if p[0].split()[0] in args.only.split(",")]
    vireo = lambda extra: (lambda prog, a: [bench.VIREO, "run", "--cpu", "max"] + extra + [prog] + a)
    runners = [("native", lambda prog, a: [prog] + a, False)]
    if shutil.which("qemu-x86_64"):
        runners.append(("qemu-x86_64", lambda prog, a: ["qemu-x86_64", "-cpu", "max", prog] + a, False))
    runners.append(("vireo-interp", vireo(["--engine", "interp"]), True))
    if before:
        runners.append(("jit before", lambda prog, a: [before, "run", "--cpu", "max", "--engine", "jit", prog] + a,
                        True))
    runners.append(("jit after", vireo(["--engine", "jit"]), False))

    times = {}
    ok = {}
    for name, prog, w in progs:
        for rname, mk, slow in runners:
            a = w.small if slow else w.full
            ref = subprocess.run([prog] + a, capture_output=True).stdout
            got = subprocess.run(mk(prog, a), capture_output=True)
            ok[(name, rname)] = got.returncode == 0 and got.stdout == ref
    for rep in range(args.reps):
        for name, prog, w in progs:
            for rname, mk, slow in runners:
                a = w.small if slow else w.full
                times.setdefault((name, rname), []).append(bench.run_measured(mk(prog, a))[0])
                if slow:
                    times.setdefault((name, "native-small"), []).append(bench.run_measured([prog] + a)[0])
        print(f"avx_paths: rep {rep + 1}/{args.reps} done", file=sys.stderr)
    med = {k: statistics.median(v) for k, v in times.items()}
    names = [r[0] for r in runners]
    print("| workload | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    ratios = {n: [] for n in names}
    for name, prog, w in progs:
        row = [name]
        for rname, _, slow in runners:
            t = med[(name, rname)]
            base = med[(name, "native-small")] if slow else med[(name, "native")]
            r = t / base if base > 0 else float("nan")
            if rname != "native":
                ratios[rname].append(r)
            mark = "" if ok[(name, rname)] else " **wrong output**"
            scaled = " (scaled)" if slow and w.small != w.full else ""
            row.append(f"{t:.3f}s" if rname == "native" else f"{t:.3f}s ×{r:.1f}{scaled}{mark}")
        print("| " + " | ".join(row) + " |")
    print("| **geometric mean (ratio)** | 1.0 | " +
          " | ".join(f"×{bench.geomean(ratios[n]):.2f}" for n in names[1:]) + " |")


def compare_models(args):
    bench.build_workloads()
    wl = [w for w in bench.workloads(bench.make_data(24, 512)) if w.group == "core" and w.kind != "startup"]
    if args.only:
        wl = [w for w in wl if w.name in args.only.split(",")]
    models = args.models.split(",")
    runners = [("native", lambda prog, a: [prog] + a)] + [
        (f"jit --cpu {m}", (lambda m: lambda prog, a: [bench.VIREO, "run", "--engine", "jit", "--cpu", m, prog] + a)(m))
        for m in models]
    ok, times = {}, {}
    for w in wl:
        ref = subprocess.run([w.program] + w.full, capture_output=True).stdout
        for rname, mk in runners[1:]:
            got = subprocess.run(mk(w.program, w.full), capture_output=True)
            ok[(w.name, rname)] = got.returncode == 0 and got.stdout == ref
    for rep in range(args.reps):
        for w in wl:
            for rname, mk in runners:
                times.setdefault((w.name, rname), []).append(bench.run_measured(mk(w.program, w.full))[0])
        print(f"avx_paths: rep {rep + 1}/{args.reps} done", file=sys.stderr)
    med = {k: statistics.median(v) for k, v in times.items()}
    names = [r[0] for r in runners]
    print("| workload | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    ratios = {n: [] for n in names}
    for w in wl:
        row = [w.name]
        for rname in names:
            t = med[(w.name, rname)]
            r = t / med[(w.name, "native")]
            if rname != "native":
                ratios[rname].append(r)
                row.append(f"{t:.3f}s ×{r:.2f}" + ("" if ok[(w.name, rname)] else " **wrong output**"))
            else:
                row.append(f"{t:.3f}s")
        print("| " + " | ".join(row) + " |")
    print("| **geometric mean (ratio)** | 1.0 | " + " | ".join(f"×{bench.geomean(ratios[n]):.2f}" for n in names[1:]) + " |")


if __name__ == "__main__":
    main()
