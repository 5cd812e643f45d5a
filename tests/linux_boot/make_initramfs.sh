#!/bin/sh
# Builds the test initramfs from Debian's busybox-static: OUT/initramfs.cpio (newc, as the
# kernel reads it) and OUT/initramfs.cpio.gz. /init is tests/linux_boot/init; /sbin/test-init
# is a copy for the init= test.
set -eu
out=$1
src=$(dirname "$0")
busybox=/bin/busybox  # busybox-static's; a dynamically linked one would need its libraries
if ! [ -x $busybox ] || ! file -L $busybox | grep -q "statically linked"; then
  echo "make_initramfs: $busybox is not busybox-static (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
root=$out/initramfs.root
rm -rf "$root"
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$src/init" "$root/init"
cp "$src/init" "$root/sbin/test-init"
chmod 755 "$root/init" "$root/sbin/test-init"
(cd "$root" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) > "$out/initramfs.cpio"
gzip -n -9 -c "$out/initramfs.cpio" > "$out/initramfs.cpio.gz"
rm -rf "$root"
echo "make_initramfs: $out/initramfs.cpio ($(wc -c < "$out/initramfs.cpio") bytes) and .gz"
