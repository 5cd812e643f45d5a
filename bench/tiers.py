#!/usr/bin/env python3
"""The jit's tiers (issue 22): start-up, fork+exec, an SMC storm, and the translation threshold.

CPU time (user + system of the process tree, through bench/tools/peakrss.c), medians, native /
qemu-x86_64 / interp / jit side by side, interleaved. Prints Markdown tables:

1. hello world (median of 20) and the SMC storm (rewrite + call a function 100,000 times);
2. fork + exec + wait of a small static program and of busybox true (200 times), per exec;
3. `--translate-after N` swept over start-up-bound and exec-heavy workloads (how the default
   was chosen).

Needs build/vireo (or $VIREO_BIN) and the workloads built by bench/run.py (bench/out/bin).
Usage: bench/tiers.py [--reps N]
"""
import argparse
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VIREO = os.environ.get("VIREO_BIN", os.path.join(ROOT, "build", "vireo"))
BIN = os.path.join(ROOT, "bench", "out", "bin")
sys.path.insert(0, os.path.join(ROOT, "bench"))
import run as bench  # noqa: E402  (the workloads and the measuring launcher)


def cpu(argv):
    return bench.run_measured(argv)[0]


def median_of(cmds, n):
    """Interleaved: rep-major over the commands; returns the medians."""
    xs = [[] for _ in cmds]
    for _ in range(n):
        for i, c in enumerate(cmds):
            xs[i].append(cpu(c))
    return [statistics.median(x) for x in xs]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    if not os.path.exists(os.path.join(BIN, "forkexec")):
        sys.exit("tiers: run bench/run.py first (it builds the workloads)")
    b = lambda n: os.path.join(BIN, n)
    smc = os.path.join(ROOT, "bench", "out", "gen", "smc_storm")
    subprocess.run(["gcc", "-O2", "-static", "-o", smc, os.path.join(ROOT, "tests", "jit_tiers", "src", "smc_storm.c")],
                   check=True)
    runners = [("native", []), ("qemu-x86_64", ["qemu-x86_64"]), ("vireo-interp", [VIREO, "run", "--engine", "interp"]),
               ("vireo-jit", [VIREO, "run"]), ("vireo-jit, all translated", [VIREO, "run", "--translate-after=0"])]
    print("| case | " + " | ".join(n for n, _ in runners) + " |")
    print("|---|" + "---|" * len(runners))
    hello = median_of([p + [b("hello")] for _, p in runners], max(args.reps, 20))
    print("| hello world | " + " | ".join(f"{t * 1000:.1f} ms" for t in hello) + " |")
    storm = median_of([p + [smc, "100000"] for _, p in runners], args.reps)
    print("| SMC storm, 100,000 rewrites | " + " | ".join(f"{t * 1000:.0f} ms" for t in storm) + " |")
    for name, prog in (("small static program", [b("true")]), ("busybox true", ["/bin/busybox", "true"])):
        n = 200
        ts = median_of([p + [b("forkexec"), str(n)] + prog for n_, p in runners if n_ != "qemu-x86_64"], args.reps)
        cells = [f"{ts[0] / n * 1000:.2f} ms", "—"] + [f"{t / n * 1000:.2f} ms (+{(t - ts[0]) / n * 1000:.2f})" for t in ts[1:]]
        print(f"| fork + exec + wait of a {name}, per exec | " + " | ".join(cells) + " |")

    data = bench.make_data(2, 256)
    wl = {w.name: w for w in bench.workloads(data)}
    names = ["hello", "cold_funcs", "python_start", "forkexec_busybox", "bash_script", "sqlite", "codegen", "int_heavy"]
    thresholds = [0, 2, 8, 32, 128]
    print()
    print("| workload (CPU time) | native | " + " | ".join(f"jit N={t}" for t in thresholds) + " |")
    print("|---|---|" + "---|" * len(thresholds))
    for name in names:
        w = wl[name]
        a = w.small if name in ("sqlite", "int_heavy", "codegen") else w.full
        cmds = [[w.program] + a] + [[VIREO, "run", f"--translate-after={t}", w.program] + a for t in thresholds]
        ts = median_of(cmds, args.reps)
        print(f"| {name} | {ts[0]:.3f}s | " + " | ".join(f"{t:.3f}s ×{t / ts[0]:.1f}" for t in ts[1:]) + " |")


if __name__ == "__main__":
    main()
