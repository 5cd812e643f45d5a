#!/bin/sh
# -L DIR / VIREO_LD_PREFIX: guest paths are looked up under DIR first (files, execve'd
# programs, the ELF interpreter), the host's otherwise; a missing interpreter is one clear line.
# Usage: sysroot_test.sh VIREO ENGINE
set -eu
vireo=$1 engine=$2
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$d/etc" "$d/lib64"
echo inside > "$d/etc/vireo-sysroot-probe"
out=$("$vireo" run --engine "$engine" -L "$d" /bin/cat /etc/vireo-sysroot-probe) || fail "-L cat"
[ "$out" = inside ] || fail "-L: got '$out'"
out=$(VIREO_LD_PREFIX=$d "$vireo" run --engine "$engine" /bin/sh -c 'cat /etc/vireo-sysroot-probe') || fail "VIREO_LD_PREFIX"
[ "$out" = inside ] || fail "VIREO_LD_PREFIX through execve: got '$out'"
out=$("$vireo" run --engine "$engine" -L "$d" /bin/echo host files still there) || fail "fallback"
[ "$out" = "host files still there" ] || fail "fallback: got '$out'"
# A program whose PT_INTERP exists only inside the sysroot.
cp /bin/true "$d/prog"
python3 - "$d/prog" <<'PY'
import sys
p = sys.argv[1]
d = bytearray(open(p, 'rb').read())
i = d.find(b'/lib64/ld-linux-x86-64.so.2\0')
d[i:i + 28] = b'/lib64/ld-vireo-test.so.2\0\0\0'
open(p, 'wb').write(d)
PY
cp -L /lib64/ld-linux-x86-64.so.2 "$d/lib64/ld-vireo-test.so.2"
"$vireo" run --engine "$engine" -L "$d" "$d/prog" || fail "interpreter from the sysroot"
err=$("$vireo" run --engine "$engine" "$d/prog" 2>&1) && fail "ran without its interpreter"
case "$err" in
  *"cannot load its ELF interpreter /lib64/ld-vireo-test.so.2: No such file or directory") ;;
  *) fail "missing interpreter message: $err" ;;
esac
[ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "more than one line: $err"
echo "sysroot ok"
