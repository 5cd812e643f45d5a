# Debian's dynamic coreutils, find, tar and xz on a small tree made here. Times are fixed with
# touch -d so that `ls -l` prints the same natively and under Vireo; -n keeps user names out
# (no passwd lookups).
set -e
mkdir -p tree/sub/deeper
printf 'banana\napple\ncherry\napple\n' > tree/fruit.txt
seq 1 200 > tree/sub/numbers.txt
printf 'deep\n' > tree/sub/deeper/leaf.txt
ln -s fruit.txt tree/link
touch -h -d '2024-01-02 03:04:05 UTC' tree/link tree/fruit.txt tree/sub/numbers.txt tree/sub/deeper/leaf.txt tree/sub/deeper tree/sub tree
ls -ln --time-style=full-iso tree tree/sub
cat tree/fruit.txt tree/sub/deeper/leaf.txt
sort tree/fruit.txt
sort -u tree/fruit.txt
sort -rn tree/sub/numbers.txt | head -3
# A writer that outlives its reader dies of SIGPIPE (GNU sort raises it itself) silently.
seq 1 100000 | sort -n | head -1
find tree | sort
find tree -name '*.txt' -newer tree/link -o -type f -print | sort
wc -l tree/sub/numbers.txt
tar --sort=name --mtime='2024-01-02 UTC' --owner=0 --group=0 --numeric-owner -cJf tree.tar.xz tree
xz -dc tree.tar.xz | tar -tvf - --numeric-owner | sort
mkdir out && xz -dk tree.tar.xz && tar -xf tree.tar -C out && diff -r tree out/tree && echo same tree
sha256sum tree.tar.xz | cut -c1-16
