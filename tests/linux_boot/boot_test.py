#!/usr/bin/env python3
"""Runs `vireo boot` and checks what it printed and how it ended (tests/linux_boot).

  boot_test.py [--status N | --nonzero] [--expect REGEX]... [--expect-count REGEX N]...
               [--stderr REGEX]... [--pty] [--send-after REGEX TEXT]... [--timeout S] -- CMD...

--expect: each regex must match a line of the serial output (stdout), in the given order.
--expect-count: the regex matches exactly N lines of stdout.
--stderr: the regex matches a line of stderr.
--skip-on: when a line of stderr matches, the test is skipped (status 77) with that line.
--pty: stdin and stdout are a pseudo-terminal (an interactive console, as a user's); then
  --send-after waits for a line matching REGEX and types TEXT (\\n, \\x01 escapes allowed).
Exits 0 when every check holds, 1 otherwise, printing what was seen.
"""
import argparse
import os
import pty
import re
import select
import subprocess
import sys
import time


def run_pipes(cmd, timeout):
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def run_pty(cmd, timeout, sends):
    master, slave = pty.openpty()
    err_r, err_w = os.pipe()
    p = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=err_w, close_fds=True)
    os.close(slave)
    os.close(err_w)
    out, err = b"", b""
    pending = list(sends)
    searched = 0  # output before this offset was already matched against the pending send
    deadline = time.monotonic() + timeout
    open_fds = {master, err_r}
    while open_fds and time.monotonic() < deadline:
        ready, _, _ = select.select(list(open_fds), [], [], 0.5)
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                open_fds.discard(fd)
                continue
            if fd == master:
                out += chunk
            else:
                err += chunk
        text = out.decode(errors="replace")
        if pending and re.search(pending[0][0], text[searched:], re.M):
            searched = len(text)
            os.write(master, pending.pop(0)[1].encode())
        if p.poll() is not None and not ready:
            break
    if p.poll() is None:
        p.kill()
        p.wait()
        err += b"\nboot_test: timed out\n"
    for fd in open_fds:
        os.close(fd)
    return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--status", type=int)
    ap.add_argument("--nonzero", action="store_true")
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--expect-count", nargs=2, action="append", default=[])
    ap.add_argument("--stderr", action="append", default=[])
    ap.add_argument("--skip-on", action="append", default=[])
    ap.add_argument("--pty", action="store_true")
    ap.add_argument("--send-after", nargs=2, action="append", default=[])
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    sends = [(r, t.encode().decode("unicode_escape")) for r, t in a.send_after]
    t0 = time.monotonic()
    try:
        if a.pty:
            status, out, err = run_pty(cmd, a.timeout, sends)
        else:
            status, out, err = run_pipes(cmd, a.timeout)
    except subprocess.TimeoutExpired as e:
        status, out, err = None, (e.stdout or b"").decode(errors="replace"), (e.stderr or b"").decode(errors="replace")
        err += "\nboot_test: timed out\n"
    elapsed = time.monotonic() - t0
    failures = []
    if a.status is not None and status != a.status:
        failures.append(f"exit status {status}, expected {a.status}")
    if a.nonzero and (status is None or status == 0):
        failures.append(f"exit status {status}, expected non-zero")
    lines = out.replace("\r", "").split("\n")  # the kernel's console ends lines with \r\n
    at = 0
    for rx in a.expect:
        r = re.compile(rx)
        while at < len(lines) and not r.search(lines[at]):
            at += 1
        if at == len(lines):
            failures.append(f"no serial line matching {rx!r} (in order)")
            break
        at += 1
    for rx, n in a.expect_count:
        got = sum(1 for line in lines if re.search(rx, line))
        if got != int(n):
            failures.append(f"{got} serial lines match {rx!r}, expected {n}")
    err_lines = err.split("\n")
    for rx in a.skip_on:
        for line in err_lines:
            if re.search(rx, line):
                print("SKIP: " + line)
                return 77
    for rx in a.stderr:
        if not any(re.search(rx, line) for line in err_lines):
            failures.append(f"no stderr line matching {rx!r}")
    if failures:
        sys.stdout.write(out[-6000:])
        sys.stdout.write("\n--- stderr ---\n" + err[-4000:])
        for f in failures:
            print("boot_test: FAIL: " + f)
        return 1
    print(f"boot_test: ok in {elapsed:.1f} s: {' '.join(cmd)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
