#!/usr/bin/env python3
"""Side-by-side benchmark: native, qemu-x86_64 and every Vireo engine on the same workloads.

Runs are interleaved (repetition-major) so that machine noise spreads over all runners, and
medians are reported. Runners that would take too long on the full input (the interpreter)
run a scaled-down input, marked as such, and their ratio is computed against native on that
same input. Writes bench/out/results.md, bench/out/results.json and bench/out/chart.png; with
--update-docs also the table and chart in docs/.

Two groups of workloads: "core", the ten compute kernels measured since the first sessions (plus
hello, start-up, outside the means), and "user", what users feel (issue 22): exec- and fork-heavy
shell work, a compiler, script interpreters, sqlite, xz, C++ with virtual calls and exceptions,
run-time code generation and a large program of cold functions. Times are user + system CPU
seconds of the whole process tree (the machine is shared: wall time counts other people's work);
--wall reports wall-clock time instead. qemu-x86_64 runs only the first process of an exec-heavy
workload under emulation (it does not follow execve; its children run natively): its figures
there are marked "(first process)". gcc_compile is the exception: under qemu the driver runs with
gcc's `-wrapper bench/out/bin/qemu_wrapper` (bench/tools/qemu_wrapper.c), which runs cc1 and as
under qemu-x86_64 too, so the whole compile is emulated; its figures are marked "(every process,
gcc -wrapper)". The native and Vireo command lines are the same as ever.

Usage: bench/run.py [--quick] [--reps N] [--engines interp,...] [--only a,b] [--group core|user] [--update-docs]
       [--baseline OTHER/vireo]
"""
import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
BIN = os.path.join(OUT, "bin")
DATA = os.path.join(OUT, "data")
VIREO = os.environ.get("VIREO_BIN", os.path.join(ROOT, "build", "vireo"))  # (run from a fresh_copy)
BASELINE = ""  # --baseline: another build's vireo, run beside this one's
BUSYBOX = "/bin/busybox"

# Engines whose speed calls for the scaled-down inputs.
SLOW_ENGINES = {"interp"}


class Workload:
    def __init__(self, name, program, full, small, quick=None, kind="C", group="core", execs=False, qemu_args=()):
        self.name, self.program, self.kind, self.group = name, program, kind, group
        self.full, self.small = full, small
        self.quick = quick if quick is not None else small
        self.execs = execs  # runs other programs (qemu-x86_64 emulates only the first process)
        # Arguments put before the input's under qemu-x86_64 only: they make the program run its
        # children under qemu too (gcc's -wrapper), so that no process of the workload runs natively.
        self.qemu_args = list(qemu_args)


PYTHON = "/usr/bin/python3"
LUA = "/usr/bin/lua5.4"
SQLITE = "/usr/bin/sqlite3"
XZ = "/usr/bin/xz"
BASH = "/bin/bash"
GCC = "/usr/bin/gcc"
# gcc -wrapper PROG runs each subprocess (cc1, as) as `PROG subprocess args`; this one runs it under
# qemu-x86_64, looking `as` up in PATH (gcc passes it without a path, and qemu does not search).
QEMU_WRAPPER = os.path.join(BIN, "qemu_wrapper")

BASH_SCRIPT = ('for i in $(seq {n}); do x=$(echo $i | tr 0-9 a-j); y=$( (echo "$x"; echo $i) | wc -l); '
               'echo "$x $y"; done | sort | uniq -c | wc -l')
SH_LOOP = 'i=0; while [ $i -lt {n} ]; do /bin/busybox true; i=$((i+1)); done; echo $i'
XARGS = 'busybox seq {n} | busybox xargs -P4 -n1 /bin/busybox true; echo done'
PY_COMPUTE = ("d = {{}}\nfor i in range({n}):\n    k = i % 1000\n    d[k] = d.get(k, 0) + i * i\n"
              "print(sum(d.values()), len(str(d)))")
LUA_COMPUTE = ("local t = {{}} for i = 1, {n} do local k = i % 1000 t[k] = (t[k] or 0) + i end "
               "local s = 0 for _, v in pairs(t) do s = s + v end print(s)")
SQL = ("create table t(a integer primary key, b text, c integer); "
       "with recursive n(i) as (select 1 union all select i + 1 from n where i < {n}) "
       "insert into t select i, printf('row%d', i), i * 7 % 1000 from n; create index ic on t(c); "
       "select count(*), sum(c) from t where c < 500; select b from t where a = 777; "
       "select c, count(*) from t group by c order by 2 desc, 1 limit 3;")


def workloads(data):
    """Each workload: (argv after the program) for the full, scaled-down and quick inputs."""
    c = lambda n: os.path.join(BIN, n)
    big, small = data["big"], data["small"]
    return [
        Workload("sha256sum", BUSYBOX, ["sha256sum", big], ["sha256sum", small], kind="busybox"),
        Workload("gzip", BUSYBOX, ["gzip", "-c", big], ["gzip", "-c", small], kind="busybox"),
        Workload("bzip2", BUSYBOX, ["bzip2", "-c", big], ["bzip2", "-c", small], kind="busybox"),
        Workload("int_heavy", c("int_heavy"), ["150000000"], ["3000000"]),
        Workload("nbody", c("nbody"), ["5000000"], ["100000"]),
        Workload("sieve", c("sieve"), ["50000000", "3"], ["2000000", "1"]),
        Workload("qsort_cb", c("qsort_cb"), ["2000000", "3"], ["100000", "1"]),
        Workload("switch_interp", c("switch_interp"), ["10000000"], ["200000"]),
        Workload("matmul", c("matmul"), ["700"], ["150"]),
        Workload("string_mem", c("string_mem"), ["400000"], ["8000"]),
        Workload("hello", c("hello"), [], [], kind="startup"),
        # issue 22: what users feel. Exec-heavy runs use the same input under every engine.
        Workload("forkexec_true", c("forkexec"), ["200", c("true")], ["200", c("true")], ["50", c("true")],
                 group="user", execs=True),
        Workload("forkexec_busybox", c("forkexec"), ["200", BUSYBOX, "true"], ["200", BUSYBOX, "true"],
                 ["50", BUSYBOX, "true"], group="user", execs=True),
        Workload("sh_exec_loop", BUSYBOX, ["sh", "-c", SH_LOOP.format(n=150)], ["sh", "-c", SH_LOOP.format(n=150)],
                 ["sh", "-c", SH_LOOP.format(n=30)], group="user", execs=True),
        Workload("xargs_p4", BUSYBOX, ["sh", "-c", XARGS.format(n=100)], ["sh", "-c", XARGS.format(n=100)],
                 ["sh", "-c", XARGS.format(n=20)], group="user", execs=True),
        Workload("bash_script", BASH, ["-c", BASH_SCRIPT.format(n=30)], ["-c", BASH_SCRIPT.format(n=30)],
                 ["-c", BASH_SCRIPT.format(n=5)], group="user", execs=True),
        Workload("gcc_compile", GCC, ["-O2", "-c", os.path.join(ROOT, "bench", "workloads", "nbody.c"), "-o", "/dev/null"],
                 ["-O2", "-c", os.path.join(ROOT, "bench", "workloads", "nbody.c"), "-o", "/dev/null"],
                 ["-O0", "-c", os.path.join(ROOT, "bench", "workloads", "hello.c"), "-o", "/dev/null"],
                 group="user", execs=True, qemu_args=["-wrapper", QEMU_WRAPPER]),
        Workload("python_start", PYTHON, ["-c", "pass"], ["-c", "pass"], group="user"),
        Workload("python_dict", PYTHON, ["-c", PY_COMPUTE.format(n=1000000)], ["-c", PY_COMPUTE.format(n=20000)],
                 group="user"),
        Workload("lua_table", LUA, ["-e", LUA_COMPUTE.format(n=5000000)], ["-e", LUA_COMPUTE.format(n=100000)],
                 group="user"),
        Workload("sqlite", SQLITE, [":memory:", SQL.format(n=200000)], [":memory:", SQL.format(n=5000)], group="user"),
        Workload("xz", XZ, ["-c", "-3", data["mid"]], ["-c", "-3", small], group="user"),
        Workload("cpp_virtual", c("cpp_virtual"), ["5000000"], ["100000"], group="user"),
        Workload("codegen", c("codegen"), ["20000", "2000"], ["1000", "200"], group="user"),
        Workload("cold_funcs", c("cold_funcs"), [], [], group="user"),
    ]


COLD_FUNCS = 8000  # functions in the generated cold_funcs program, each called once


def gen_cold_funcs(path):
    """A large program of cold code: COLD_FUNCS different small functions, each run once."""
    with open(path, "w") as f:
        f.write("// Generated by bench/run.py: a large program whose code runs once (cold).\n#include <stdio.h>\n")
        for i in range(COLD_FUNCS):
            f.write(f"__attribute__((noinline)) unsigned long f{i}(unsigned long x) {{ x = x * {2 * i + 3}u + {i}u; "
                    f"if (x & {1 << (i % 13)}u) x ^= x >> {i % 7 + 1}; else x += {i * 7}u; return x; }}\n")
        f.write(f"typedef unsigned long (*fn)(unsigned long);\nstatic fn const table[{COLD_FUNCS}] = {{")
        f.write(",".join(f"f{i}" for i in range(COLD_FUNCS)))
        f.write("};\nint main(void) { unsigned long s = 1; for (int i = 0; i < %d; ++i) s = table[i](s); "
                "printf(\"%%lu\\n\", s); return 0; }\n" % COLD_FUNCS)


def build_workloads():
    os.makedirs(BIN, exist_ok=True)
    gen = os.path.join(OUT, "gen")
    os.makedirs(gen, exist_ok=True)
    cold = os.path.join(gen, "cold_funcs.c")
    if not os.path.exists(cold) or os.path.getmtime(cold) < os.path.getmtime(__file__):
        gen_cold_funcs(cold)
    sources = [(os.path.join(gen, "cold_funcs.c"), "gcc", "-O1")]
    for folder in ("workloads", "tools"):
        src = os.path.join(ROOT, "bench", folder)
        for f in sorted(os.listdir(src)):
            if f.endswith(".c"):
                sources.append((os.path.join(src, f), "gcc", "-O2"))
            elif f.endswith(".cpp"):
                sources.append((os.path.join(src, f), "g++", "-O2"))
    for path, cc, opt in sources:
        out = os.path.join(BIN, os.path.splitext(os.path.basename(path))[0])
        if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(path):
            continue
        subprocess.run([cc, opt, "-static", "-o", out, path, "-lm"], check=True)


def make_data(big_mb, small_kb):
    """Deterministic, compressible text (words from an LCG), so gzip/bzip2 do real work."""
    os.makedirs(DATA, exist_ok=True)
    words = [w for w in "the quick brown fox jumps over lazy dog vireo emulates x86 code "
             "with an interpreter translator and hardware virtualization of guest memory "
             "pages blocks flags registers".split()]

    def gen(path, size):
        if os.path.exists(path) and os.path.getsize(path) == size:
            return path
        state, out, n = 12345, [], 0
        while n < size:
            state = (state * 1103515245 + 12345) & 0x7FFFFFFF
            w = words[state % len(words)] + (" " if state & 0x30 else "\n")
            if state % 97 == 0:
                w = str(state) + " "
            out.append(w)
            n += len(w)
        with open(path, "w") as f:
            f.write("".join(out)[:size])
        return path

    return {"big": gen(os.path.join(DATA, f"text-{big_mb}M.txt"), big_mb << 20),
            "mid": gen(os.path.join(DATA, f"text-{min(big_mb, 4)}M.txt"), min(big_mb, 4) << 20),
            "small": gen(os.path.join(DATA, f"text-{small_kb}K.txt"), small_kb << 10)}


WALL = False  # --wall: wall-clock seconds instead of user + system CPU seconds


def fresh_copy(path):
    """A copy of a vireo binary in bench/out/vireo-bins, made afresh for every run.

    Every binary compared runs from such a copy. The same bytes started ~3% slower from the
    file the linker wrote than from a `cp` of it (hello under the jit: 3.38 against 3.29 ms,
    the copy faster in 86 of 100 interleaved pairs; the kernel's page-fault path,
    next_uptodate_folio, took the difference), so a baseline copied aside looked faster than
    the build under test for that alone. The copy also lets the build go on meanwhile."""
    d = os.path.join(OUT, "vireo-bins")
    os.makedirs(d, exist_ok=True)
    n = len(os.listdir(d))
    dst = os.path.join(d, f"vireo-{n}")
    shutil.copy2(path, dst)
    return dst


def fresh_copies(paths):
    """fresh_copy of each path (each a binary, or "BINARY OPTIONS..."), the old copies removed."""
    d = os.path.join(OUT, "vireo-bins")
    shutil.rmtree(d, ignore_errors=True)
    out = []
    for p in paths:
        binary, *opts = p.split()
        out.append(" ".join([fresh_copy(binary)] + opts))
    return out


def run_measured(argv):
    """Runs argv with output discarded through the peakrss launcher (bench/tools/peakrss.c);
    returns (seconds, peak RSS in KiB, exit code)."""
    r, w = os.pipe()
    p = subprocess.Popen([os.path.join(BIN, "peakrss"), str(w)] + argv, pass_fds=(w,))
    os.close(w)
    with os.fdopen(r) as f:
        code, maxrss, secs, cpu = f.read().split()
    p.wait()
    return float(secs if WALL else cpu), int(maxrss), int(code)


def runners(engines, have_qemu):
    """(name, command maker, slow): the maker turns a workload and its input's arguments into argv."""
    r = [("native", lambda w, args: [w.program] + args, False)]
    if have_qemu:
        r.append(("qemu-x86_64", lambda w, args: ["qemu-x86_64", w.program] + w.qemu_args + args, False))
    for e in engines:
        r.append((f"vireo-{e}", (lambda e: lambda w, args: [VIREO, "run", "--engine", e, w.program] + args)(e),
                  e in SLOW_ENGINES))
        if BASELINE:  # the same engine of another build, interleaved with this one's
            r.append((f"base-{e}", (lambda e: lambda w, args: [BASELINE, "run", "--engine", e, w.program] + args)(e),
                      e in SLOW_ENGINES))
    return r


def qemu_mark(w):
    """How qemu-x86_64 ran an exec-heavy workload: all of it, or its first process only."""
    if w.qemu_args:
        return " (every process, gcc -wrapper)"
    return " (first process)" if w.execs else ""


def parse_stats(text):
    stats = {}
    for line in text.splitlines():
        m = re.match(r"\s+([a-zA-Z][a-zA-Z \-/()]+?):\s+([0-9.]+)", line)
        if m:
            stats[m.group(1).strip()] = m.group(2)
    return stats


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small inputs, one repetition (< 2 minutes)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--engines", default="interp")
    ap.add_argument("--only", default="", help="comma-separated workload names")
    ap.add_argument("--group", default="", help="core (the ten compute kernels and hello) or user (issue 22's)")
    ap.add_argument("--wall", action="store_true", help="wall-clock time instead of user + system CPU time")
    ap.add_argument("--update-docs", action="store_true")
    ap.add_argument("--replot", action="store_true", help="redraw the chart from bench/out/results.json")
    ap.add_argument("--baseline", default="", help="another vireo binary (e.g. main's): its engines run as "
                    "base-ENGINE beside this build's, interleaved (before/after comparisons in one run)")
    args = ap.parse_args()
    global WALL, BASELINE, VIREO
    WALL = args.wall
    BASELINE = os.path.abspath(args.baseline) if args.baseline else ""
    if args.replot:
        with open(os.path.join(OUT, "results.json")) as f:
            results = json.load(f)
        chart = make_chart(results, results["runners"])
        if args.update_docs and chart:
            shutil.copy(chart, os.path.join(ROOT, "docs", "perf-chart.png"))
        return
    if not os.path.exists(VIREO):
        sys.exit("bench: build/vireo not found; run scripts/build.sh first")
    VIREO, *rest = fresh_copies([VIREO] + ([BASELINE] if BASELINE else []))
    BASELINE = rest[0] if rest else ""
    engines = [e for e in args.engines.split(",") if e]
    reps = 1 if args.quick else args.reps
    build_workloads()
    data = make_data(2 if args.quick else 24, 256 if args.quick else 512)
    wl = workloads(data)
    if args.only:
        wl = [w for w in wl if w.name in args.only.split(",")]
    if args.group:
        wl = [w for w in wl if w.group == args.group]
    have_qemu = shutil.which("qemu-x86_64") is not None
    rs = runners(engines, have_qemu)

    def inputs(w, slow):
        if args.quick:
            return w.quick
        return w.small if slow else w.full

    # Correctness first: every runner's stdout must equal native's on the same input.
    outputs_ok = {}
    for w in wl:
        for name, mk, slow in rs:
            a = inputs(w, slow)
            ref = subprocess.run([w.program] + a, capture_output=True).stdout
            got = subprocess.run(mk(w, a), capture_output=True)
            outputs_ok[(w.name, name)] = got.stdout == ref and got.returncode == 0

    times, rss = {}, {}
    for rep in range(reps):
        for w in wl:
            for name, mk, slow in rs:
                a = inputs(w, slow)
                secs, maxrss, _ = run_measured(mk(w, a))
                times.setdefault((w.name, name), []).append(secs)
                rss[(w.name, name)] = max(rss.get((w.name, name), 0), maxrss)
                if slow and not args.quick:  # native on the scaled input, for the ratio
                    secs, _, _ = run_measured([w.program] + a)
                    times.setdefault((w.name, "native-small"), []).append(secs)
            print(f"bench: rep {rep + 1}/{reps} {w.name} done", file=sys.stderr)

    # --stats figures that explain the time, from one extra run per Vireo engine.
    stats = {}
    for w in wl:
        for name, mk, slow in rs:
            if not name.startswith(("vireo-", "base-")):
                continue
            cmd = mk(w, inputs(w, slow))
            cmd.insert(cmd.index("run") + 1, "--stats")
            err = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).stderr
            stats[(w.name, name)] = parse_stats(err.decode(errors="replace"))

    med = {k: statistics.median(v) for k, v in times.items()}
    names = [n for n, _, _ in rs]
    results = {"workloads": [], "runners": names, "quick": args.quick, "reps": reps}
    lines = ["| workload | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    ratios = {n: [] for n in names}
    core_ratios = {n: [] for n in names}
    for w in wl:
        row = [w.name]
        entry = {"name": w.name, "runners": {}}
        for name, _, slow in rs:
            t = med[(w.name, name)]
            base = med[(w.name, "native-small")] if (slow and not args.quick) else med[(w.name, "native")]
            ratio = t / base if base > 0 else float("nan")
            ok = outputs_ok[(w.name, name)]
            if name != "native" and w.kind != "startup":
                ratios[name].append(ratio if ok else None)
                if w.group == "core":
                    core_ratios[name].append(ratio if ok else None)
            mark = "" if ok else " **wrong output**"
            if name == "qemu-x86_64":
                mark += qemu_mark(w)
            scaled = " (scaled)" if (slow and not args.quick and w.small != w.full) else ""
            row.append(f"{t:.3f}s" if name == "native" else f"{t:.3f}s ×{ratio:.1f}{scaled}{mark}")
            entry["runners"][name] = {"seconds": t, "ratio": ratio, "ok": ok, "scaled": bool(scaled),
                                      "max_rss_kib": rss[(w.name, name)], "stats": stats.get((w.name, name), {})}
        lines.append("| " + " | ".join(row) + " |")
        results["workloads"].append(entry)
    lines.append("| **geometric mean (ratio), all** | 1.0 | " +
                 " | ".join(f"×{geomean(ratios[n]):.2f}" for n in names[1:]) + " |")
    if any(core_ratios[n] for n in names[1:]) and any(w.group == "user" for w in wl):
        lines.append("| **geometric mean, the ten core workloads** | 1.0 | " +
                     " | ".join(f"×{geomean(core_ratios[n]):.2f}" for n in names[1:]) + " |")
        user = {n: [r for r, c in zip(ratios[n], [w for w in wl if w.kind != "startup"]) if c.group == "user"]
                for n in names}
        lines.append("| **geometric mean, the user-facing workloads** | 1.0 | " +
                     " | ".join(f"×{geomean(user[n]):.2f}" for n in names[1:]) + " |")

    rss_lines = ["| workload | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for w in wl:
        rss_lines.append("| " + w.name + " | " + " | ".join(
            f"{rss[(w.name, n)] / 1024:.1f} MiB" + (qemu_mark(w) if n == "qemu-x86_64" else "") for n in names) + " |")

    stat_lines = []
    for name in names:
        if not name.startswith(("vireo-", "base-")):
            continue
        keys = sorted({k for w in wl for k in stats.get((w.name, name), {})})
        keep = [k for k in keys if k in ("guest instructions", "MIPS", "decode cache misses", "syscalls",
                                         "blocks translated", "interpreter fallbacks", "chains patched",
                                         "jump cache hit rate", "cache flushes", "interpreter tier",
                                         "translated tier", "translation time")]
        if not keep:
            continue
        stat_lines += [f"\n{name} `--stats`:\n", "| workload | " + " | ".join(keep) + " |",
                       "|---|" + "---|" * len(keep)]
        for w in wl:
            s = stats.get((w.name, name), {})
            stat_lines.append("| " + w.name + " | " + " | ".join(s.get(k, "") for k in keep) + " |")

    cmd = "bench/run.py " + " ".join(a for a in sys.argv[1:] if a != "--update-docs")
    what = "wall-clock seconds" if WALL else "user + system CPU seconds of the process tree"
    header = (f"Command: `{cmd.strip()}` — {reps} repetition(s), medians of {what}; ratio = time / native "
              f"time on the same input. Runs marked (scaled) used the scaled-down input and are compared "
              f"with native on that input. qemu-x86_64 (first process): it emulates the first program "
              f"only; the programs it execs run natively. qemu-x86_64 (every process, gcc -wrapper): "
              f"gcc_compile's driver runs under qemu with `-wrapper` bench/tools/qemu_wrapper, which runs "
              f"cc1 and as under qemu-x86_64 as well, so the whole compile is emulated.\n")
    md = "\n".join([header, *lines, "", "Peak RSS:", "", *rss_lines, *stat_lines, ""])
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write(md)
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    chart = make_chart(results, names)
    print(md)
    if args.update_docs:
        update_docs(md, chart)


def make_chart(results, names):
    """A clustered bar chart of ratio to native per workload and runner, log scale."""
    if not shutil.which("gnuplot"):
        print("bench: gnuplot not found; no chart", file=sys.stderr)
        return None
    dat = os.path.join(OUT, "chart.dat")
    others = [n for n in names if n != "native"]
    with open(dat, "w") as f:
        f.write("# workload " + " ".join(others) + "\n")
        for w in results["workloads"]:
            vals = []
            for n in others:
                r = w["runners"][n]
                vals.append(f"{r['ratio']:.4f}" if r["ok"] else "NaN")
            f.write(w["name"] + " " + " ".join(vals) + "\n")
    png = os.path.join(OUT, "chart.png")
    plot = ", ".join(f"'{dat}' using {i + 2}:xtic(1) title '{n}'" for i, n in enumerate(others))
    script = f"""
set terminal pngcairo size 1100,500 noenhanced
set output '{png}'
set style data histogram
set style histogram cluster gap 1
set style fill solid border -1
set logscale y
set ylabel 'time / native (log scale)'
set xtics rotate by -30
set key top left
set grid ytics
set title 'Vireo vs native and qemu-x86_64 (lower is better)'
plot {plot}
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    return png


def update_docs(md, chart):
    doc = os.path.join(ROOT, "docs", "performance.md")
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    text = open(doc).read() if os.path.exists(doc) else f"# Performance\n\n{begin}\n{end}\n"
    if begin not in text:
        text += f"\n{begin}\n{end}\n"
    body = md + ("\n![ratio to native](perf-chart.png)\n" if chart else "")
    pre, rest = text.split(begin, 1)
    _, post = rest.split(end, 1)
    with open(doc, "w") as f:
        f.write(pre + begin + "\n" + body + end + post)
    if chart:
        shutil.copy(chart, os.path.join(ROOT, "docs", "perf-chart.png"))


if __name__ == "__main__":
    main()
