#!/usr/bin/env python3
"""What the jit's direct block chaining and jump cache buy, and start-up cost.

Runs native and `vireo run --engine jit` with and without --no-chain / --no-jump-cache on
three workloads (median of 3), and hello world under native, qemu-x86_64, interp and jit
(median of 20). Prints Markdown tables. Needs build/vireo and the workloads built by
bench/run.py (bench/out/bin).
"""
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VIREO = os.path.join(ROOT, "build", "vireo")
BIN = os.path.join(ROOT, "bench", "out", "bin")


def median_time(cmd, n=3):
    xs = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        xs.append(time.perf_counter() - start)
    return statistics.median(xs)


def main():
    if not os.path.exists(os.path.join(BIN, "qsort_cb")):
        sys.exit("ablation: run bench/run.py first (it builds the workloads)")
    work = {
        "qsort_cb": [os.path.join(BIN, "qsort_cb"), "2000000", "3"],
        "switch_interp": [os.path.join(BIN, "switch_interp"), "10000000"],
        "int_heavy": [os.path.join(BIN, "int_heavy"), "150000000"],
    }
    variants = [[], ["--no-jump-cache"], ["--no-chain"], ["--no-chain", "--no-jump-cache"]]
    print("| workload | native | jit | jit --no-jump-cache | jit --no-chain | jit --no-chain --no-jump-cache |")
    print("|---|---|---|---|---|---|")
    for name, w in work.items():
        native = median_time(w)
        row = [name, f"{native:.2f}s"]
        for flags in variants:
            x = median_time([VIREO, "run", "--engine", "jit", *flags, *w])
            row.append(f"{x:.2f}s ×{x / native:.1f}")
        print("| " + " | ".join(row) + " |")
    hello = [os.path.join(BIN, "hello")]
    times = [median_time(hello, 20), median_time(["qemu-x86_64", *hello], 20),
             median_time([VIREO, "run", "--engine", "interp", *hello], 20),
             median_time([VIREO, "run", "--engine", "jit", *hello], 20)]
    print()
    print("| hello world, start to exit (median of 20) | native | qemu-x86_64 | vireo interp | vireo jit |")
    print("|---|---|---|---|---|")
    print("| wall time | " + " | ".join(f"{t * 1000:.1f} ms" for t in times) + " |")


if __name__ == "__main__":
    main()
