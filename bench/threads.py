#!/usr/bin/env python3
"""Thread benchmark: native, qemu-x86_64 and the Vireo engines side by side, interleaved.

- par_matmul: a matrix multiply on 1 and on 2 threads; the figure of merit is the speed-up
  from the second thread, which should be as large under the jit as natively.
- mutex_pingpong: two threads handing a token over through a mutex and condition variables
  (every hand-over is a futex wait and wake); ratios to native.
- thread_start: 1,000 threads created and joined one after another, each doing almost nothing
  (what starting a thread costs).

Usage: bench/threads.py [--reps N] [--engines jit,interp]   (prints a Markdown table)
"""
import argparse
import os
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "bench", "out", "bin")
VIREO = os.path.join(ROOT, "build", "vireo")


def build():
    os.makedirs(BIN, exist_ok=True)
    for name in ("par_matmul", "mutex_pingpong", "thread_start"):
        src = os.path.join(ROOT, "bench", "threads", name + ".c")
        out = os.path.join(BIN, name)
        if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
            subprocess.run(["gcc", "-O2", "-static", "-pthread", "-o", out, src], check=True)


def timed(cmd):
    t0 = time.monotonic()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return time.monotonic() - t0, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--engines", default="jit")
    args = ap.parse_args()
    build()
    runners = [("native", [])]
    if subprocess.run(["which", "qemu-x86_64"], capture_output=True).returncode == 0:
        runners.append(("qemu-x86_64", ["qemu-x86_64"]))
    for e in args.engines.split(","):
        runners.append((f"vireo-{e}", [VIREO, "run", f"--engine={e}"]))
    cases = [("par_matmul 1 thread", ["par_matmul", "800", "1"]),
             ("par_matmul 2 threads", ["par_matmul", "800", "2"]),
             ("mutex_pingpong", ["mutex_pingpong", "20000"]),
             ("thread_start 1000", ["thread_start", "1000"])]
    times = {(r, c): [] for r, _ in runners for c, _ in cases}
    expected = {}
    for _ in range(args.reps):  # interleaved: noise spreads over every runner
        for case, argv in cases:
            for name, prefix in runners:
                t, out = timed(prefix + [os.path.join(BIN, argv[0])] + argv[1:])
                if name == "native":
                    expected[case] = out
                elif out != expected.get(case, out):
                    raise SystemExit(f"{name} {case}: wrong output {out!r}")
                times[(name, case)].append(t)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"Command: `bench/threads.py --reps {args.reps} --engines {args.engines}` — medians of "
          f"{args.reps} interleaved runs; ratio = time / native time.\n")
    print("| case | " + " | ".join(n for n, _ in runners) + " |")
    print("|---|" + "---|" * len(runners))
    for case, _ in cases:
        cells = []
        for name, _ in runners:
            t = med[(name, case)]
            cells.append(f"{t:.3f}s" if name == "native" else f"{t:.3f}s ×{t / med[('native', case)]:.1f}")
        print(f"| {case} | " + " | ".join(cells) + " |")
    cells = []
    for name, _ in runners:
        s = med[(name, "par_matmul 1 thread")] / med[(name, "par_matmul 2 threads")]
        cells.append(f"×{s:.2f}")
    print("| **speed-up from the 2nd thread** | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
