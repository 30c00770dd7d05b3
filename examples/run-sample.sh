#!/usr/bin/env bash
# The main job, end to end, on the sample store shipped in examples/:
# make the keys, pack the store onto a folder standing in for a medium,
# verify the set without any key, restore it with the identity, and compare
# the restored store with the original, byte for byte.
#
# On a fresh Debian 12 machine, as root: ./examples/run-sample.sh
# (installs the build dependencies, builds, runs).  Set
# COLDMAIL_SKIP_DEPS=1 to skip the package installation.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${COLDMAIL_SKIP_DEPS:-0}" != 1 ]; then
    ./scripts/install-deps.sh
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" \
    --target coldmail coldmail-restore >/dev/null
PACK=$PWD/build/coldmail
RESTORE=$PWD/build/coldmail-restore

work=$(mktemp -d "${TMPDIR:-/tmp}/coldmail-sample.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/store" "$work/medium" "$work/vault" "$work/restored"
tar -xpf examples/sample-store.tar -C "$work/store"
store=$work/store

step() { printf '\n== %s\n' "$*"; }

step "1. keys: a signing key on the mail host, an identity in the vault"
"$PACK" keygen -o "$work/signing.key" >"$work/signing.pub.b64"
recipient=$("$RESTORE" keygen -o "$work/vault/identity.txt")
echo "signing public key: $(cat "$work/signing.pub.b64")"
echo "recipient:          $recipient"

step "2. pack the sample store onto the 'medium' (a folder here)"
"$PACK" pack -o "$work/medium" -r "$recipient" -s "$work/signing.key" \
    --state-dir "$work/state" --init-label sample-disk --label sample \
    --volume-size 64k "$store"
set_dir=$(ls -d "$work"/medium/coldmail-*)
ls -l "$set_dir"

step "3. verify the set, without any decryption key"
"$RESTORE" verify -p "$work/signing.key.pub" "$set_dir"

step "4. list what it holds, with the identity"
"$RESTORE" ls -p "$work/signing.key.pub" -i "$work/vault/identity.txt" "$set_dir"

step "5. restore it, and compare with the original"
"$RESTORE" restore -p "$work/signing.key.pub" -i "$work/vault/identity.txt" \
    "$set_dir" \
    -o "$work/restored"
diff -r --no-dereference "$store" "$work/restored/store"
(cd "$store" && find . ! -type d -printf '%p %m %T@\n' | sort) >"$work/a"
(cd "$work/restored/store" && find . ! -type d -printf '%p %m %T@\n' | sort) \
    >"$work/b"
diff "$work/a" "$work/b"
echo "restored store is identical: contents, modes and mtimes"

if command -v age >/dev/null && command -v zstd >/dev/null; then
    step "6. and by hand, with age, zstd and tar only"
    mkdir -p "$work/by-hand"
    for v in "$set_dir"/vol-*.tar.zst.age; do
        age -d -i "$work/vault/identity.txt" "$v" | zstd -dq |
            tar -xpf - -C "$work/by-hand"
    done
    diff -r --no-dereference "$store" "$work/by-hand/store"
    echo "restored by hand: identical"
fi

printf '\nsample: OK\n'
