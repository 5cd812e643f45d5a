#!/usr/bin/env bash
# python_http.sh VIREO ENGINE — `python3 -m http.server --bind 127.0.0.1` under Vireo, fetched by
# curl under Vireo: the page (and a 1 MB file) must arrive intact, and neither side may print a
# Vireo diagnostic ("vireo: unimplemented syscall ...").
#
# Both are dynamically linked Debian programs: until Vireo runs dynamic programs, the test
# reports itself skipped (exit 77) instead of failing. Ports are chosen at random and retried.
set -u
vireo="$1" engine="$2"
# Debian's programs, not a PATH shim (pyenv puts a shell script first).
export PATH=/usr/bin:/bin
command -v python3 >/dev/null && command -v curl >/dev/null || { echo "python3 or curl missing"; exit 77; }
python=$(readlink -f "$(command -v python3)")
curl=$(readlink -f "$(command -v curl)")
if ! timeout 60 "$vireo" run --engine "$engine" "$python" -c pass >/dev/null 2>&1; then
  echo "skipped: vireo does not run dynamic programs such as $python yet"
  exit 77
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/vireo-pyhttp.XXXXXX") || exit 2
server=""
cleanup() {
  if [[ -n "$server" ]]; then kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; fi
  rm -rf "$dir"
}
trap cleanup EXIT
cd "$dir" || exit 2
mkdir www && echo '<p>served by python3 under vireo</p>' > www/index.html && seq 1 150000 > www/big.txt

for attempt in 1 2 3; do
  port=$((20000 + RANDOM % 30000))
  timeout 280 "$vireo" run --engine "$engine" "$python" -m http.server --bind 127.0.0.1 \
    --directory www "$port" >server.out 2>server.err &
  server=$!
  for _ in $(seq 1 300); do
    if timeout 60 "$vireo" run --engine "$engine" "$curl" -sS -o page.html \
         "http://127.0.0.1:$port/index.html" 2>curl.err; then
      break 2
    fi
    kill -0 "$server" 2>/dev/null || break  # the server died (port taken?): next port
    sleep 0.2
  done
  kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; server=""
done
[[ -n "$server" ]] || { echo "FAIL: the server never answered"; cat server.err; exit 1; }

fail=0
cmp -s page.html www/index.html || { echo "FAIL: index.html differs"; fail=1; }
timeout 60 "$vireo" run --engine "$engine" "$curl" -sS -o big.txt "http://127.0.0.1:$port/big.txt" 2>>curl.err
cmp -s big.txt www/big.txt || { echo "FAIL: big.txt differs"; fail=1; }
if grep -h '^vireo:' server.err curl.err; then echo "FAIL: Vireo printed diagnostics"; fail=1; fi
[[ $fail -eq 0 ]] && echo "OK: python3 http.server and curl under vireo --engine $engine"
exit $fail
