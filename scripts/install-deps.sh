#!/usr/bin/env bash
# Installs everything Vireo needs to build, test and benchmark, from Debian 12 packages only.
# Idempotent: safe to run on every build (it skips apt when all packages are present).
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config
  # libraries (design.md, "Dependencies")
  libzydis-dev libxbyak-dev libcli11-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev
  # test material: real programs and a second libc
  busybox-static musl-tools
  # thread tests: Go's runtime, Debian's static programs that need futex, their inputs
  golang-go bash-static e2fsck-static gpgv-static e2fsprogs gnupg
  # dynamic programs under test: Debian's userland and CPython's test modules
  libpython3.11-testsuite git make sqlite3 xz-utils perl tar findutils
  # openssl on its AES-NI, PCLMULQDQ and SHA-NI paths (tests/dynamic, issue 17)
  openssl
  # ps reading guest processes' /proc/PID (tests/dynamic proc-ps, issue 19)
  procps
  # bench/run.py's script-interpreter workloads
  lua5.4
  # network tests (tests/linux_api): Go (above) for an HTTP server and client; curl to fetch
  # from python3's http.server
  curl
  # system mode: Debian's stock kernel booted to a busybox initramfs (tests/linux_boot), and
  # the host-side unpacking of its XZ or gzip payload
  linux-image-amd64 cpio liblzma-dev zlib1g-dev
  # references: qemu-user for benchmarks, qemu-system for bare-metal guests
  qemu-user qemu-system-x86
  # bench runner and its charts
  python3 gnuplot-nox
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "install-deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "install-deps: all dependencies present"
