# Our minisign keys and signatures against the real minisign, both ways:
# keys from tool_minisig sign and verify with minisign, keys from
# `minisign -G -W` sign and verify with tool_minisig; prehashed and legacy
# signatures; empty, one-byte and multi-MiB files; tampering caught by both.
. "$(dirname "$0")/../lib.sh"

need minisign
TOOL=$TOOLDIR/tool_minisig
[ -x "$TOOL" ] || fail "$TOOL is not built"

# minisign only reads a password when the key is encrypted; </dev/null
# makes any prompt fail instead of hanging.
ms() { minisign "$@" </dev/null; }

cd "$T"
: >empty
printf 'x' >one
head -c 3145728 /dev/urandom >big
FILES="empty one big"

# Keys: ours, and minisign's unencrypted ones.
expect_code 0 "$TOOL" keygen ck
read -r CK_ID CK_B64 <"$T/out"
assert_contains ck.pub "$CK_B64"
assert_contains ck.pub "minisign public key $CK_ID"
[ "$(stat -c %a ck)" = 600 ] || fail "secret key mode is $(stat -c %a ck)"
expect_code 3 "$TOOL" keygen ck
assert_contains "$T/err" "already exists, refusing to overwrite"
expect_code 0 ms -G -W -p mk.pub -s mk
MK_B64=$(sed -n 2p mk.pub)

# minisign reads our secret key: -R recreates the very same public key.
expect_code 0 ms -R -s ck -p ck-again.pub
[ "$(sed -n 2p ck-again.pub)" = "$CK_B64" ] || fail "minisign -R differs"

for f in $FILES; do
    # Signed by minisign with our key, verified by both.
    expect_code 0 ms -S -s ck -m "$f" -t "minisign with ck: $f"
    expect_code 0 ms -Vm "$f" -p ck.pub
    expect_code 0 "$TOOL" verify ck.pub "$f"
    [ "$(cat "$T/out")" = "minisign with ck: $f" ] || fail "comment: $f"

    # Signed by us, verified by minisign with -p and -P, comment intact.
    expect_code 0 "$TOOL" sign ck "$f" "tool with ck:	$f"
    expect_code 0 ms -Vm "$f" -p ck.pub
    assert_contains "$T/out" "Trusted comment: tool with ck:	$f"
    expect_code 0 ms -Vm "$f" -P "$CK_B64" -Q
    [ "$(cat "$T/out")" = "tool with ck:	$f" ] || fail "minisign -Q: $f"
    expect_code 0 ms -Vm "$f" -p ck.pub -H
    expect_code 0 "$TOOL" verify-P "$CK_B64" "$f"

    # minisign's key, signing with us; minisign's signatures, both kinds.
    expect_code 0 "$TOOL" sign mk "$f" "tool with mk: $f"
    expect_code 0 ms -Vm "$f" -p mk.pub
    assert_contains "$T/out" "Trusted comment: tool with mk: $f"
    expect_code 0 ms -S -s mk -m "$f" -t "prehashed: $f"
    expect_code 0 "$TOOL" verify mk.pub "$f"
    [ "$(cat "$T/out")" = "prehashed: $f" ] || fail "comment: $f"
    expect_code 0 ms -S -l -s mk -m "$f" -t "legacy: $f"
    head -2 "$f.minisig" | tail -1 | grep -q '^RW' || fail "-l not legacy"
    expect_code 0 "$TOOL" verify-P "$MK_B64" "$f"
    [ "$(cat "$T/out")" = "legacy: $f" ] || fail "comment: $f"

    # A signature by the other key: wrong key id for both tools.
    expect_code 6 "$TOOL" verify ck.pub "$f"
    assert_contains "$T/err" "signature is by key "
    assert_contains "$T/err" "but the public key is $CK_ID"
    expect_code 1 ms -Vm "$f" -p ck.pub
done

# Tampering: one byte appended, or the trusted comment edited.
for f in $FILES; do
    expect_code 0 "$TOOL" sign ck "$f" "before tampering"
    cp "$f" "$f.orig"
    printf 'y' >>"$f"
    expect_code 5 "$TOOL" verify ck.pub "$f"
    assert_contains "$T/err" "signature does not verify"
    expect_code 1 ms -Vm "$f" -p ck.pub
    mv "$f.orig" "$f"
    sed -i 's/^trusted comment: before/trusted comment: after/' "$f.minisig"
    expect_code 5 "$TOOL" verify ck.pub "$f"
    assert_contains "$T/err" "trusted comment signature does not verify"
    expect_code 1 ms -Vm "$f" -p ck.pub
done

# CRLF line ends, as a signature copied through Windows would have.
expect_code 0 "$TOOL" sign ck one "crlf"
sed -i 's/$/\r/' one.minisig
expect_code 0 "$TOOL" verify ck.pub one
[ "$(cat "$T/out")" = crlf ] || fail "CRLF comment"
expect_code 0 ms -Vm one -p ck.pub

# A password-protected minisign key is refused with a way out.
printf 'pw\npw\n' | minisign -G -p ek.pub -s ek >/dev/null 2>&1 ||
    fail "minisign -G with a password"
expect_code 2 "$TOOL" sign ek one
assert_contains "$T/err" "minisign -G -W"
assert_contains "$T/err" "coldmail keygen"
# Unwrapped by minisign -C -W, it carries minisign's real checksum.
printf 'pw\n' | minisign -C -W -s ek >/dev/null 2>&1 || fail "minisign -C -W"
expect_code 0 "$TOOL" sign ek one "unwrapped"
expect_code 0 ms -Vm one -p ek.pub
assert_contains "$T/out" "Trusted comment: unwrapped"

echo "ok"
