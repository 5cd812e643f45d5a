#!/usr/bin/env python3
"""Side-by-side Linux boot timing (docs/system-mode.md): the same kernel, initramfs and
command line under Vireo's interpreter and under QEMU's TCG, one after the other in one run.
For each: seconds from start to the first serial line of /init ("init: /init started") and to
the exit (ACPI power-off), plus the process's user and system CPU time.

  time_boot.py VIREO KERNEL INITRD [--skip-qemu] [--only jit,interp,guest-dc,qemu] [--repeat N]
               [--baseline VIREO2]

--only runs the named boots alone; --repeat N runs each N times, interleaved, and prints
every run (on a shared machine the spread says how far one figure can be trusted).
--baseline VIREO2 adds "baseline jit", the same jit boot with another binary (e.g. main's
build), in the same run.

"vireo guest-dc" is the same boot with --guest-decompress (the kernel's own XZ decompressor).
"""
import os
import re
import resource
import subprocess
import sys
import time


def timed(cmd):
    t0 = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    t_init = None
    for raw in p.stdout:
        if t_init is None and re.search(rb"^init: /init started", raw):
            t_init = time.monotonic() - t0
    status = p.wait()
    t_exit = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return t_init, t_exit, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime, status


def main():
    vireo, kernel, initrd = sys.argv[1:4]
    runs = [("vireo jit", [vireo, "boot", "--engine", "jit", "--initrd", initrd,
                           "--append", "console=ttyS0", kernel]),
            ("vireo interp", [vireo, "boot", "--engine", "interp", "--initrd", initrd,
                              "--append", "console=ttyS0", kernel]),
            ("vireo guest-dc", [vireo, "boot", "--engine", "interp", "--guest-decompress", "--initrd", initrd,
                                "--append", "console=ttyS0", kernel])]
    if "--baseline" in sys.argv:
        base = sys.argv[sys.argv.index("--baseline") + 1]
        runs.insert(0, ("baseline jit", [base] + runs[0][1][1:]))
    if "--skip-qemu" not in sys.argv:
        runs.append(("qemu tcg", ["qemu-system-x86_64", "-accel", "tcg", "-m", "128", "-nographic", "-no-reboot",
                                  "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0"]))
    if "--only" in sys.argv:
        only = sys.argv[sys.argv.index("--only") + 1].split(",")
        runs = [(name, cmd) for name, cmd in runs if any(w in only for w in name.split())]
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 1
    print(f"{'':16} {'to /init':>10} {'to exit':>10} {'user CPU':>10} {'sys CPU':>9}  status  command")
    for name, cmd in [r for _ in range(repeat) for r in runs]:
        t_init, t_exit, cpu, sys_cpu, status = timed(cmd)
        init = f"{t_init:.1f} s" if t_init is not None else "-"
        print(f"{name:16} {init:>10} {t_exit:>8.1f} s {cpu:>8.2f} s {sys_cpu:>7.2f} s  {status:>6}  {' '.join(cmd)}")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} (2 cores)")


if __name__ == "__main__":
    main()
