#!/usr/bin/env bash
# A medium that restores itself: pack copies COLDMAIL-TOOLS/ to the medium
# root (a static coldmail-restore, the source archive, README.txt, and
# their SHA-256 signed with the pack's key), once, and again only when a
# tool changes.  Then, in a clean environment, from a copy of the medium
# only: the tools' signature and hashes check, the static binary has no
# shared library beyond the C library's (none at all), and it verifies and
# restores the set byte for byte.  Without the tools, pack warns and still
# succeeds.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/restore-common.bash"
need python3 minisign sha256sum readelf

STATIC=$(ls "$BUILDDIR"/coldmail-restore-*-linux-static 2>/dev/null | head -1 || true)
if [ -z "$STATIC" ]; then
    # Built without it on purpose (or without the static libraries): skip;
    # asked for and missing: that is a failure.
    if grep -q '^COLDMAIL_STATIC_RESTORE:BOOL=ON' "$BUILDDIR/CMakeCache.txt"; then
        fail "COLDMAIL_STATIC_RESTORE is on but $BUILDDIR has no static coldmail-restore"
    fi
    skip "no static coldmail-restore in $BUILDDIR (COLDMAIL_STATIC_RESTORE=OFF)"
fi
BIN=$(basename "$STATIC")
SRCARC=$(ls "$BUILDDIR"/coldmail-*-src.tar.gz 2>/dev/null | head -1 || true)
[ -n "$SRCARC" ] || fail "no source archive in $BUILDDIR"
ARC=$(basename "$SRCARC")

build_stores "$T/src"
# A name that is not UTF-8, and a larger file.
printf 'latin-1\n' >"$T/src/mail/maildir/$(printf 'caf\351.txt')"
head -c 3000000 /dev/urandom >"$T/src/mail/maildir/dovecot.index"
make_keys
KEY=$(cat "$T/sign.b64")
pack_set "$T/src/mail" "$T/medium"
TOOLS=$T/medium/COLDMAIL-TOOLS
for f in "$BIN" "$ARC" README.txt SHA256SUMS SHA256SUMS.minisig; do
    [ -f "$TOOLS/$f" ] || fail "the medium has no COLDMAIL-TOOLS/$f"
done
[ -x "$TOOLS/$BIN" ] || fail "the static binary is not executable"
cmp -s "$TOOLS/$BIN" "$STATIC" || fail "the medium's binary is not the build's"
cmp -s "$TOOLS/$ARC" "$SRCARC" || fail "the medium's source is not the build's"
assert_contains "$SET/RESTORE.txt" "../COLDMAIL-TOOLS/"
assert_contains "$SET/RESTORE.txt" "./$BIN verify -P $KEY ../$(basename "$SET")"
assert_contains "$TOOLS/README.txt" "sha256sum -c SHA256SUMS"
# Verify of the medium ignores COLDMAIL-TOOLS quietly.
expect_code 0 "$COLDMAIL_RESTORE" verify -P "$KEY" "$T/medium"
assert_not_contains "$T/out" "COLDMAIL-TOOLS"

# --- once: a second pack leaves the tools alone.
stamps() { stat -c '%n %Y %i' "$TOOLS"/* | sort; }
stamps >"$T/stamps.1"
sleep 1
pack_set "$T/src/mail" "$T/medium"
stamps >"$T/stamps.2"
diff "$T/stamps.1" "$T/stamps.2" >&2 || fail "unchanged tools were rewritten"

# --- a clean environment with a copy of the medium only.
cp -a "$T/medium" "$T/vault"
cp "$T/id.txt" "$T/vault-id.txt"
SETNAME=$(basename "$SET")
cat >"$T/clean.sh" <<EOF
set -eu
cd "$T/vault/COLDMAIL-TOOLS"
minisign -Vm SHA256SUMS -P "$KEY"
sha256sum -c SHA256SUMS
readelf -d "$BIN" >"$T/readelf.out" 2>&1 || true
./$BIN verify -P "$KEY" "../$SETNAME"
./$BIN repair -P "$KEY" "../$SETNAME" -n
./$BIN restore -i "$T/vault-id.txt" -P "$KEY" "../$SETNAME" -o "$T/restored"
EOF
expect_code 0 env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH= HOME="$T/vault" \
    bash "$T/clean.sh"
assert_contains "$T/out" "Signature and comment signature verified"
assert_contains "$T/out" "$BIN: OK"
assert_contains "$T/out" "OK  $SETNAME"
assert_contains "$T/out" "INTACT $SETNAME"
if grep -q NEEDED "$T/readelf.out"; then
    grep NEEDED "$T/readelf.out" >&2
    grep -Eq 'libarchive|libcrypto|libzstd|libpopt|libjansson|libisal' \
        "$T/readelf.out" && fail "the static binary needs shared libraries"
fi
if command -v ldd >/dev/null; then
    ldd "$T/vault/COLDMAIL-TOOLS/$BIN" >"$T/ldd.out" 2>&1 || true
    grep -Eq 'libarchive|libcrypto|libzstd|libpopt' "$T/ldd.out" &&
        fail "ldd: the static binary needs shared libraries"
fi
assert_same_tree "$T/src/mail" "$T/restored/mail"

# The source archive is this source tree.
mkdir "$T/srcx"
tar -xzf "$T/vault/COLDMAIL-TOOLS/$ARC" -C "$T/srcx"
top=$T/srcx/${ARC%-src.tar.gz}
for f in CMakeLists.txt lib/parity.c lib/repair.c cmd/coldmail-restore/main.c \
    man/coldmail-format.5 scripts/source-archive.sh; do
    cmp -s "$top/$f" "$SRCDIR/$f" || fail "source archive: $f differs"
done
[ -e "$top/build" ] && fail "source archive holds a build directory"

# --- the static binary and damage: it finds what parity can rebuild; it
# repairs if it was built with ISA-L, and otherwise says so (exit 2).
rm -rf "$T/dmgv" && cp -a "$T/vault" "$T/dmgv"
printf 'X' | dd of="$T/dmgv/$SETNAME/vol-0001.tar.zst.age" bs=1 seek=1000 \
    conv=notrunc 2>/dev/null
expect_code 0 "$T/dmgv/COLDMAIL-TOOLS/$BIN" repair -P "$KEY" "$T/dmgv/$SETNAME" -n
assert_contains "$T/out" "REPAIRABLE"
rc=0
"$T/dmgv/COLDMAIL-TOOLS/$BIN" repair -P "$KEY" "$T/dmgv/$SETNAME" -o "$T/rep" \
    >"$T/out" 2>"$T/err" || rc=$?
case $rc in
0) expect_code 0 "$COLDMAIL_RESTORE" verify -P "$KEY" "$T/rep/$SETNAME" ;;
2) assert_contains "$T/err" "built without Intel ISA-L" ;;
*) cat "$T/err" >&2; fail "static repair: exit $rc" ;;
esac

# --- refreshed when it changes: a damaged copy on the medium, then a
# different build's binary.
printf 'X' | dd of="$TOOLS/$BIN" bs=1 seek=5000 conv=notrunc 2>/dev/null
(cd "$TOOLS" && sha256sum -c SHA256SUMS >/dev/null 2>&1) && fail "damage not seen"
pack_set "$T/src/mail" "$T/medium"
cmp -s "$TOOLS/$BIN" "$STATIC" || fail "the damaged binary was not refreshed"
mkdir "$T/other-tools"
cp "$STATIC" "$SRCARC" "$T/other-tools/"
printf 'a different build\n' >>"$T/other-tools/$BIN"
COLDMAIL_TOOLS_DIR=$T/other-tools pack_set "$T/src/mail" "$T/medium"
cmp -s "$TOOLS/$BIN" "$T/other-tools/$BIN" || fail "a changed binary was not copied"
(cd "$TOOLS" && sha256sum -c SHA256SUMS >/dev/null) || fail "SHA256SUMS not updated"
minisign -Vm "$TOOLS/SHA256SUMS" -P "$KEY" >/dev/null || fail "SHA256SUMS not signed again"
ls -a "$TOOLS" | grep -q '\.tmp$' && fail "a temporary was left"

# --- no tools at hand: pack warns, succeeds, and a medium that has them
# keeps them.
mkdir "$T/none"
COLDMAIL_TOOLS_DIR=$T/none pack_set "$T/src/mail" "$T/medium"
assert_contains "$T/pack.out" "$BIN: not found (looked in $T/none): the medium keeps the copy it had"
cmp -s "$TOOLS/$BIN" "$T/other-tools/$BIN" || fail "the medium's copy was removed"
COLDMAIL_TOOLS_DIR=$T/none pack_set "$T/src/mail" "$T/medium2"
assert_contains "$T/pack.out" "this medium does not carry its own restorer"
[ -e "$T/medium2/COLDMAIL-TOOLS" ] && fail "COLDMAIL-TOOLS made without tools"
echo "ok"
