#!/bin/bash
# Checks that Debian's openssl, under `vireo run`, takes its AES-NI, PCLMULQDQ and SHA-NI code
# (openssl_crypto.sh compares the results with native). libcrypto picks its code from CPUID,
# and OPENSSL_ia32cap masks CPUID bits out of that choice (OpenSSL's OPENSSL_ia32cap(3)): the
# same job run with a feature masked out must give the same output and take many more guest
# instructions (--stats).
#   openssl_paths.sh VIREO ENGINE
set -eu
vireo=$1 engine=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
K=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
IV=0f0e0d0c0b0a09080706050403020100
head -c 262144 /dev/zero | openssl enc -aes-128-ctr -K ${K:0:32} -iv $IV -out data.bin
: > empty.bin

# run NAME IA32CAP openssl-args...: output in NAME.out, guest instruction count in NAME.n
run() {
  local name=$1 cap=$2
  shift 2
  if [ -n "$cap" ]; then
    OPENSSL_ia32cap=$cap "$vireo" run --engine "$engine" --stats /usr/bin/openssl "$@" > $name.out 2> $name.stats
  else
    "$vireo" run --engine "$engine" --stats /usr/bin/openssl "$@" > $name.out 2> $name.stats
  fi
  sed -n 's/^ *guest instructions: *\([0-9]*\)$/\1/p' $name.stats > $name.n
  [ -s $name.n ] || { echo "no instruction count in $name.stats"; cat $name.stats; exit 1; }
}
# check WHAT FAST SLOW BASE: same output; beyond BASE (the same command over an empty file:
# loading and setting up), SLOW ran at least 3 times the instructions FAST did.
check() {
  local what=$1 fast=$2 slow=$3 base=$4
  cmp -s $fast.out $slow.out || { echo "$what: outputs differ"; exit 1; }
  local f s b
  f=$(cat $fast.n) s=$(cat $slow.n) b=$(cat $base.n)
  echo "$what: $((f - b)) guest instructions for 256 KiB, $((s - b)) without it"
  [ $(((f - b) * 3)) -lt $((s - b)) ] || { echo "$what: the accelerated path was not taken"; exit 1; }
}

# AES-NI: CPUID.1:ECX bit 25 is bit 57 of the first word.
run aes "" enc -aes-128-cbc -K ${K:0:32} -iv $IV -in data.bin
run aes_off "~0x200000000000000" enc -aes-128-cbc -K ${K:0:32} -iv $IV -in data.bin
run aes_base "" enc -aes-128-cbc -K ${K:0:32} -iv $IV -in empty.bin
check AES-NI aes aes_off aes_base
# PCLMULQDQ (GHASH): CPUID.1:ECX bit 1 is bit 33. GMAC is almost all GHASH.
run gmac "" mac -cipher AES-256-GCM -macopt hexkey:$K -macopt hexiv:$IV -in data.bin GMAC
run gmac_off "~0x200000000" mac -cipher AES-256-GCM -macopt hexkey:$K -macopt hexiv:$IV -in data.bin GMAC
run gmac_base "" mac -cipher AES-256-GCM -macopt hexkey:$K -macopt hexiv:$IV -in empty.bin GMAC
check PCLMULQDQ gmac gmac_off gmac_base
# SHA-NI: CPUID.7.0:EBX bit 29 is bit 29 of the second word.
run sha256 "" dgst -sha256 data.bin
run sha256_off ":~0x20000000" dgst -sha256 data.bin
run sha256_base "" dgst -sha256 empty.bin
check SHA-256 sha256 sha256_off sha256_base
run sha1 "" dgst -sha1 data.bin
run sha1_off ":~0x20000000" dgst -sha1 data.bin
run sha1_base "" dgst -sha1 empty.bin
check SHA-1 sha1 sha1_off sha1_base

echo "openssl paths ok"
