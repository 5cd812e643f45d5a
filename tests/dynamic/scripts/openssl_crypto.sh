#!/bin/bash
# Debian's openssl (dynamically linked; libcrypto picks its AES-NI, PCLMULQDQ (GHASH) and
# SHA-NI code from CPUID): AES-128/256-CBC and AES-256-CTR encryption and decryption, GMAC,
# SHA-1, SHA-256 and HMAC-SHA256 over generated data with fixed keys. Run natively and under
# Vireo by compare-run.sh: every output and file must be identical. openssl_paths.sh checks
# that the accelerated paths are the ones taken. (Each openssl start is some 14 M guest
# instructions: the commands are few, on purpose.)
set -e
K=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
IV=0f0e0d0c0b0a09080706050403020100
# 256 KiB + 1000 bytes of pseudo-random data (AES-CTR of zeros): CBC pads the odd tail.
head -c 263144 /dev/zero | openssl enc -aes-128-ctr -K ${K:0:32} -iv $IV -out data.bin
openssl enc -aes-128-cbc -K ${K:0:32} -iv $IV -in data.bin -out data.cbc128
openssl enc -aes-256-cbc -K $K -iv $IV -in data.bin -out data.cbc256
openssl enc -aes-256-ctr -K $K -iv $IV -in data.bin -out data.ctr256
openssl enc -d -aes-128-cbc -K ${K:0:32} -iv $IV -in data.cbc128 -out data.back128
openssl enc -d -aes-256-cbc -K $K -iv $IV -in data.cbc256 -out data.back256
cmp data.bin data.back128
cmp data.bin data.back256
openssl mac -cipher AES-256-GCM -macopt hexkey:$K -macopt hexiv:$IV -in data.bin GMAC
openssl mac -digest SHA256 -macopt hexkey:$K -in data.bin HMAC
openssl dgst -sha1 data.bin data.cbc256
openssl dgst -sha256 data.bin data.cbc128 data.cbc256 data.ctr256
echo openssl ok
