# bash itself: pipelines, subshells, here-documents, traps, command substitution, functions,
# arrays and arithmetic. Every external command is a dynamic program execve'd under Vireo.
set -u
trap 'echo "trap EXIT ran, status $?"' EXIT
trap 'echo "got USR1"' USR1
f() { local n=$1; if (( n <= 1 )); then echo 1; else echo $(( n * $(f $((n - 1))) )); fi; }
echo "5! = $(f 5)"
seq 1 10 | grep -v 3 | tr '\n' ' ' | sed 's/ $/\n/'
( cd /; echo "subshell in $PWD"; exit 3 ); echo "subshell status $?"
echo "still in $(basename "$PWD")"
cat <<END
here-doc with $((6 * 7)) and $(echo command substitution)
END
cat <<'END'
quoted here-doc keeps $HOME
END
arr=(one two three); echo "${#arr[@]} items, last ${arr[-1]}"
declare -A m=([k]=v); echo "assoc ${m[k]}"
kill -USR1 $$
{ echo a; echo b >&2; } 2>&1 | sort -r
x=$( (echo nested; echo sub) | wc -l); echo "nested lines: $x"
for i in 1 2 3; do printf '%s-' "$i"; done; echo
while read -r line; do echo "read: $line"; done < <(printf 'p\nq\n')
sh -c 'echo "dash says $0 $1"' arg0 arg1
printf '#!/bin/sh -e\necho "script $0 got $# args: $*"\n' > shebang.sh && chmod +x shebang.sh
./shebang.sh x 'y z'
printf '#!/usr/bin/perl -w\nprint "perl via #! sees @ARGV\\n";\n' > shebang.pl && chmod +x shebang.pl
./shebang.pl 1 2
false || echo "false failed as it should"
exit 7
