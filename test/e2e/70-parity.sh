#!/usr/bin/env bash
# parity and repair: a set packed with --parity has a parity file per volume
# and for the catalog, listed and signed in MANIFEST.  Damage within the
# parity budget (single bytes, whole blocks, a run of consecutive blocks,
# several stripes, the catalog, parity itself, a missing parity file) is
# repaired, without any identity, into a copy or in place, to a set that
# verify accepts and that restores byte for byte.  Damage beyond the budget
# is reported block by block, the rest is still repaired, and the rest of
# the mail still restores.  Damaged parity is reported and never used.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/restore-common.bash"
need python3

build_stores "$T/src"
# Incompressible data, so that the volume has more than 64 blocks: two
# stripes (interleaved: even blocks in one, odd in the other).
for i in 1 2 3; do
    head -c $((28 << 20)) /dev/urandom >"$T/src/mail/maildir/dovecot.index.$i"
done
make_keys
pack_set "$T/src/mail" "$T/medium" --parity 20
VOL=vol-0001.tar.zst.age
CAT=catalog.jsonl.zst.age
[ -f "$SET/$VOL.par" ] || fail "no parity file for the volume"
[ -f "$SET/$CAT.par" ] || fail "no parity file for the catalog"
grep -q "^file $VOL.par " "$SET/MANIFEST" || fail "parity not listed"
read -r N K M S < <(python3 - "$SET/MANIFEST" "$VOL" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
vol = sys.argv[2]
for i, l in enumerate(lines):
    f = l.split(" ")
    if f[0] == "file" and f[1] == vol:
        size = int(f[2])
    if f[0] == "parity-of" and f[1] == vol:
        k, m, s = int(f[2]), int(f[3]), int(f[4])
n = (size + (1 << 20) - 1) >> 20
print(n, k, m, s)
PY
)
echo "volume: $N blocks, k $K, m $M, $S stripes"
[ "$S" -ge 2 ] || fail "expected at least two stripes"
[ $((M * 100 / K)) -ge 15 ] && [ $((M * 100 / K)) -le 25 ] || fail "m/k is not about 20%"
[ "$(stat -c %s "$SET/$VOL.par")" = $((S * M << 20)) ] || fail "parity file size"
expect_code 0 "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" "$SET"

# damaged NAME: a fresh copy of the set to damage, in $D.
damaged() {
    rm -rf "$T/dmg-$1"
    mkdir -p "$T/dmg-$1"
    cp -a "$SET" "$T/dmg-$1/"
    D=$T/dmg-$1/$(basename "$SET")
}
# hit FILE BLOCK HOW: damage block BLOCK of FILE: "byte" flips one byte in
# it, "zero" overwrites the whole block with zeros.
hit() {
    python3 - "$@" <<'PY'
import os, sys
path, block, how = sys.argv[1], int(sys.argv[2]), sys.argv[3]
size = os.path.getsize(path)
off = block << 20
assert off < size, (path, block)
with open(path, "r+b") as f:
    if how == "byte":
        f.seek(off + 4321 % max(1, min(1 << 20, size - off)))
        c = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([c[0] ^ 0x5A]))
    else:
        f.seek(off)
        f.write(b"\0" * min(1 << 20, size - off))
PY
}
# stripe_of BLOCK
stripe_of() { echo $(($1 % S)); }
# restored NAME SETDIR: restore SETDIR and compare with the source.
restored() {
    expect_code 0 R restore "$2" -o "$T/out-$1"
    assert_same_tree "$T/src/mail" "$T/out-$1/mail"
}
# keyless ARGS...: coldmail-restore with no identity anywhere.
mkdir -p "$T/nohome"
keyless() {
    env -i PATH=/usr/bin:/bin HOME="$T/nohome" "$COLDMAIL_RESTORE" "$@"
}

# --- within the budget, all kinds at once: single bytes, a whole block, a
# run of consecutive blocks, both stripes, a parity block, the catalog.
damaged mixed
hit "$D/$VOL" 1 byte
hit "$D/$VOL" $((N - 2)) byte
hit "$D/$VOL" $((2 * S)) zero
for b in $(seq 10 $((10 + 2 * S - 1))); do hit "$D/$VOL" "$b" zero; done
hit "$D/$VOL.par" $((1 * M + 0)) byte           # stripe 1's first fragment
hit "$D/$CAT" 0 byte
expect_code 1 "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" "$D"
assert_contains "$T/out" "$VOL: block 1 "
assert_contains "$T/out" "repair can rebuild"
expect_code 0 keyless repair -p "$T/sign.key.pub" "$D" -n
assert_contains "$T/out" "REPAIRABLE"
expect_code 0 keyless repair -p "$T/sign.key.pub" "$D" -o "$T/rep-mixed"
assert_contains "$T/out" "REPAIRED"
assert_contains "$T/out" "$VOL: rebuilt blocks 1, $((2 * S)), 10-$((10 + 2 * S - 1)), $((N - 2)) from parity"
assert_contains "$T/out" "$VOL.par: rebuilt block $M (parity, computed again)"
assert_contains "$T/out" "$CAT: rebuilt block 0 from parity"
assert_contains "$T/out" ", 0 beyond repair"
R2=$T/rep-mixed/$(basename "$SET")
expect_code 0 "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" "$R2"
for f in "$SET"/*; do cmp -s "$f" "$R2/$(basename "$f")" || fail "$(basename "$f") differs after repair"; done
[ "$(ls "$R2" | wc -l)" = "$(ls "$SET" | wc -l)" ] || fail "the copy has other files"
restored mixed "$R2"
# The damaged set itself was not touched; a second -o to the same place
# is refused.
cmp -s "$D/$CAT" "$SET/$CAT" && fail "repair -o changed the original"
expect_code 2 keyless repair -p "$T/sign.key.pub" "$D" -o "$T/rep-mixed"
assert_contains "$T/err" "already exists"

# --- a run of m*S consecutive blocks (the budget of interleaving), in
# place; no identity, and no temporary left.
damaged run
first=$((N - M * S - 1))
for b in $(seq "$first" $((first + M * S - 1))); do hit "$D/$VOL" "$b" zero; done
expect_code 0 keyless repair -p "$T/sign.key.pub" "$D" --in-place
assert_contains "$T/out" "$VOL: rebuilt blocks $first-$((first + M * S - 1)) from parity"
assert_contains "$T/out" "every damaged file was replaced"
ls "$D" | grep -q repairing && fail "a temporary was left"
expect_code 0 "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" "$D"
cmp -s "$D/$VOL" "$SET/$VOL" || fail "in-place repair is not the original"

# --- a missing parity file is computed again; a damaged one is reported.
damaged nopar
rm "$D/$VOL.par"
hit "$D/$CAT.par" 0 byte
expect_code 1 "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" "$D"
assert_contains "$T/out" "$VOL.par: missing"
expect_code 0 keyless repair -p "$T/sign.key.pub" "$D/." --in-place
assert_contains "$T/out" "REPAIRED $(basename "$SET")"
assert_contains "$T/out" "$VOL.par: rebuilt blocks 0-$((S * M - 1)) (parity, computed again)"
assert_contains "$T/out" "$CAT.par: rebuilt block 0 (parity"
expect_code 0 "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" "$D"

# --- damaged parity is never used: with m data blocks of stripe 0 bad and
# one of its parity fragments damaged, stripe 0 is beyond repair (using
# the damaged fragment would have "rebuilt" it); stripe 1 is repaired.
damaged parbad
lost=()
for j in $(seq 0 $((M - 1))); do
    hit "$D/$VOL" $((j * S)) byte
    lost+=($((j * S)))
done
hit "$D/$VOL.par" 0 byte
hit "$D/$VOL" 1 byte
expect_code 1 keyless repair -p "$T/sign.key.pub" "$D" -n
assert_contains "$T/out" "PARTLY REPAIRABLE"
expect_code 1 keyless repair -p "$T/sign.key.pub" "$D" -o "$T/rep-parbad"
want=$(python3 -c "
import sys
b = [int(x) for x in sys.argv[1:]]
print(', '.join(str(x) for x in b))" "${lost[@]}")
assert_contains "$T/out" "$VOL: blocks $want beyond repair (a stripe has more bad blocks than parity)"
assert_contains "$T/out" "$VOL: rebuilt block 1 from parity"
assert_contains "$T/out" "$VOL.par: block 0 beyond repair"
assert_contains "$T/out" "PARTLY REPAIRED"

# --- beyond the budget: m+1 bad blocks in stripe 0 (in the middle of the
# volume, where the large files are).  Reported precisely, stripe 1 still
# repaired, in place nothing replaced that is not whole, and the rest of
# the mail restores from the repaired copy.
damaged over
lost=()
j0=$(((K - M - 1) / 2))
for j in $(seq "$j0" $((j0 + M))); do
    hit "$D/$VOL" $((j * S)) byte
    lost+=($((j * S)))
done
hit "$D/$VOL" $((S + 1)) byte
want=$(python3 -c "print(', '.join(__import__('sys').argv[1:]))" "${lost[@]}")
expect_code 1 "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" "$D"
assert_contains "$T/out" "$VOL: repair can rebuild 1 of $((M + 2)) bad blocks; blocks $want are beyond repair"
expect_code 1 keyless repair -p "$T/sign.key.pub" "$D" -o "$T/rep-over"
assert_contains "$T/out" "$VOL: blocks $want beyond repair"
assert_contains "$T/out" "$VOL: rebuilt block $((S + 1)) from parity"
assert_contains "$T/out" "$((M + 1)) beyond repair"
R2=$T/rep-over/$(basename "$SET")
expect_code 1 "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" "$R2"
assert_not_contains "$T/out" "block $((S + 1)) "
cp "$D/$VOL" "$T/over.before"
expect_code 1 keyless repair -p "$T/sign.key.pub" "$D" --in-place
assert_contains "$T/out" "the file is left as it was"
cmp -s "$D/$VOL" "$T/over.before" || fail "an unrepairable file was replaced"
ls "$D" | grep -q repairing && fail "a temporary was left"
# The repaired copy restores everything outside the lost blocks.
expect_code 1 R restore "$R2" -o "$T/out-over"
python3 - "$T/src/mail" "$T/out-over/mail" "$T/err" <<'PY' || fail "restore of the partly repaired copy"
import os, sys
src, out, err = sys.argv[1:]
text = open(err, encoding="utf-8", errors="replace").read()
same = lost = 0
for d, dirs, fs in os.walk(src):
    for n in fs:
        p = os.path.join(d, n)
        rel = os.path.relpath(p, src)
        q = os.path.join(out, rel)
        if os.path.islink(p):
            continue
        if os.path.exists(q):
            assert open(p, "rb").read() == open(q, "rb").read(), rel
            same += 1
        else:
            assert rel in text, "not restored and not listed: " + rel
            lost += 1
assert same > 50 and lost >= 1, (same, lost)
print("%d restored, %d lost" % (same, lost))
PY

# --- a set whose MANIFEST signature does not verify is not repaired.
damaged badsig
sed -i 's/^objects /objects 1/' "$D/MANIFEST"
expect_code 5 keyless repair -p "$T/sign.key.pub" "$D" -o "$T/rep-badsig"
[ -e "$T/rep-badsig/$(basename "$SET")" ] && fail "repaired an unauthentic set"

# --- usage: exactly one mode.
expect_code 2 keyless repair "$SET"
expect_code 2 keyless repair "$SET" -n --in-place
# An intact set: nothing to do, exit 0; without a trusted key it says so.
expect_code 0 keyless repair "$SET" -n
assert_contains "$T/out" "INTACT"
assert_contains "$T/err" "AUTHENTICITY NOT CHECKED"

# --- --parity 0: no parity files.
pack_set "$T/src/mail/mh" "$T/medium0" --parity 0
ls "$SET" | grep -q '\.par$' && fail "--parity 0 wrote parity"
expect_code 2 "$COLDMAIL" pack --parity 101 -o "$T/medium0" -r "$RECIPIENT" \
    -s "$T/sign.key" --state-dir "$T/state" "$T/src/mail/mh"
assert_contains "$T/err" "--parity"
echo "ok"
