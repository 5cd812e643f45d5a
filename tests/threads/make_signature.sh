#!/usr/bin/env bash
# Makes a throw-away key, a file signed with it (detached), a tampered copy and the public
# keyring gpgv reads, in DIR (for the gpgv-static tests).
set -euo pipefail
dir=$1
home=$(mktemp -d)
trap 'gpgconf --homedir "$home" --kill all >/dev/null 2>&1 || true; rm -rf "$home"' EXIT
export GNUPGHOME=$home
gpg --batch --quiet --passphrase '' --quick-gen-key 'Vireo Test <test@vireo.invalid>' ed25519 sign never
printf 'Vireo signs this line.\n' >"$dir/signed.txt"
printf 'Vireo signs this 1ine.\n' >"$dir/tampered.txt"
rm -f "$dir/signed.txt.sig" "$dir/keyring.gpg"
gpg --batch --quiet --detach-sign -o "$dir/signed.txt.sig" "$dir/signed.txt"
gpg --batch --quiet --export -o "$dir/keyring.gpg"
