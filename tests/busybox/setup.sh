#!/usr/bin/env bash
# Prepares a busybox test's working directory (run natively, once before each side):
# generated inputs from gen_data, plus derived files made with the same busybox natively
# (compressed and encoded copies, a tar archive) for the decompress/decode/extract tests.
# Usage: setup.sh GEN_DATA BUSYBOX
set -euo pipefail
gen="$1" bb="$2"
"$gen"
"$bb" gzip -c -9 data.bin >data.bin.gz
"$bb" bzip2 -c -9 words.txt >words.txt.bz2
"$bb" base64 table.txt >table.b64
"$bb" tar cf tree.tar tree
mkdir extract
