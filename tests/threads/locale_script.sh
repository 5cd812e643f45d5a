# bash-static under LANG=C.UTF-8 (setlocale, multibyte strings), with builtins only: arrays,
# subshells, command substitution, here-documents, a pipeline into a builtin and a trap.
word="héllo wörld"
echo "length ${#word}"
echo "upper ${word^^}"
letters=(c b a)
echo "array ${letters[*]} reversed ${letters[2]}${letters[1]}${letters[0]}"
total=$( (for i in 1 2 3 4; do echo $i; done) | { s=0; while read -r n; do s=$((s + n * n)); done; echo $s; })
echo "total $total"
while read -r line; do echo "read: $line"; done <<DOC
here-doc with $word
DOC
printf -v padded '%-6s|' "ab"
echo "printf $padded"
trap 'echo "trap on exit"' EXIT
exit 3
