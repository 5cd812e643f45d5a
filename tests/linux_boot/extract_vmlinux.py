#!/usr/bin/env python3
"""Writes the uncompressed vmlinux (ELF) inside a bzImage: the payload at payload_offset /
payload_length of the setup header (boot protocol 2.08+), XZ or gzip as Debian builds it.
Used by the PVH test (an ELF vmlinux booted directly, as `qemu -kernel vmlinux` does).

  extract_vmlinux.py BZIMAGE OUT
"""
import gzip
import lzma
import struct
import sys


def main():
    src, out = sys.argv[1], sys.argv[2]
    f = open(src, "rb").read()
    if f[0x202:0x206] != b"HdrS":
        sys.exit(f"extract_vmlinux: {src} is not a bzImage")
    setup = ((f[0x1F1] or 4) + 1) * 512
    off, length = struct.unpack_from("<II", f, 0x248)
    payload = f[setup + off:setup + off + length]
    if payload.startswith(b"\xfd7zXZ\x00"):
        data = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(payload)
    elif payload.startswith(b"\x1f\x8b"):
        data = gzip.GzipFile(fileobj=__import__("io").BytesIO(payload)).read()
    else:
        sys.exit(f"extract_vmlinux: {src}: payload is neither XZ nor gzip")
    open(out, "wb").write(data)
    print(f"extract_vmlinux: {out} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
