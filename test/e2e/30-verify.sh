# e2e/30-verify: coldmail-restore verify without any decryption key.  A
# good set verifies (with -p, with -P, and without a trusted key, which is
# said loudly); then the damage matrix: copies of the set with one byte
# flipped at many places in every file (MANIFEST, MANIFEST.minisig, each
# volume's age header, nonce, first, middle and last chunks, the seek table
# at the end, the catalog, RESTORE.txt), truncated at several lengths, a
# missing volume, a zero-length volume, a volume from another set, extra
# files, a wrong trusted key.  For each, verify must name exactly that
# damage: the file, the 1 MiB block and its byte range (computed here from
# the offset), and the exit status (0 good, 1 damaged, 5 not authentic).
. "$(dirname "$0")/../lib.sh"

need python3 jq mkfifo timeout
[ -x "$TOOLDIR/tool_minisig" ] || fail "tool_minisig not built"

BS=1048576

# ---------------------------------------------------------------- a set
# Small messages, and incompressible files so that each volume spans
# several 1 MiB blocks and many age chunks.
mkstore() { # DIR
    mkdir -p "$1/Maildir/cur" "$1/Maildir/new" "$1/Maildir/tmp" "$1/files"
    for i in $(seq 1 12); do
        printf 'From: a%d@example.org\nTo: b@example.org\nSubject: test %d\nMessage-ID: <m%d@example.org>\nDate: Mon, 7 Jan 2019 10:00:00 +0000\n\nbody %d\n' \
            "$i" "$i" "$i" "$i" >"$1/Maildir/cur/17000000$i.M${i}P1.host,S=120:2,S"
    done
    python3 - "$1/files" <<'EOF'
import random, sys
r = random.Random(30)
for i in range(1, 5):
    with open('%s/blob%d' % (sys.argv[1], i), 'wb') as f:
        f.write(r.randbytes(1600000))
EOF
}
mkstore "$T/store"
# Fixed randomness per command, each its own, so that a failure repeats.
seed() { # N CMD...
    COLDMAIL_TEST_SEED=$1 "${@:2}"
}
seed 301 "$COLDMAIL" keygen -o "$T/sign.key" >/dev/null 2>&1 || fail "keygen"
seed 302 "$COLDMAIL" keygen -o "$T/other.key" >/dev/null 2>&1 || fail "keygen"
RCPT=$(seed 303 "$COLDMAIL_RESTORE" keygen -o "$T/id.txt" 2>/dev/null) ||
    fail "keygen"
PUB=$(tail -n 1 "$T/sign.key.pub")
OTHER_PUB=$(tail -n 1 "$T/other.key.pub")
mkdir -p "$T/medium" "$T/medium2"
# Without parity (issue 7's repair advice is checked at the end), so that
# the matrix sees exactly verify's own findings.
pack() { # MEDIUM STATE LABEL SEED [PARITY]
    seed "$4" "$COLDMAIL" pack -q -o "$1" --init-label "$3" -r "$RCPT" \
        -s "$T/sign.key" --state-dir "$2" --parity "${5:-0}" \
        --volume-size 4M "$T/store" >/dev/null 2>&1 || fail "pack to $1"
}
pack "$T/medium" "$T/state" disk1 304
pack "$T/medium2" "$T/state2" disk2 305
SET=$(ls -d "$T"/medium/coldmail-*)
NAME=$(basename "$SET")
OTHER_SET=$(ls -d "$T"/medium2/coldmail-*)
KEYID=$(awk '$1 == "signer-key-id" { print $2 }' "$SET/MANIFEST")
VOLS=$(awk '$1 == "volumes" { print $2 }' "$SET/MANIFEST")
[ "$VOLS" -ge 2 ] || fail "expected several volumes, got $VOLS"

size_of() { stat -c %s "$1"; }
flip() { # FILE OFFSET: flip the lowest bit of one byte
    python3 - "$1" "$2" <<'EOF'
import sys
path, off = sys.argv[1], int(sys.argv[2])
with open(path, 'r+b') as f:
    f.seek(off)
    b = f.read(1)
    f.seek(off)
    f.write(bytes([b[0] ^ 1]))
EOF
}

# fresh: a copy of the good set, same name, as $C
fresh() {
    rm -rf "$T/case"
    mkdir -p "$T/case"
    cp -a "$SET" "$T/case/"
    C=$T/case/$NAME
}
# findings: the indented lines under the set's OK/DAMAGED line
findings() {
    awk '/^(OK |DAMAGED) / { on = 1; next }
         on && /^  / { print substr($0, 3); next }
         { on = 0 }' "$T/out"
}
# expect_findings TEXT: the findings are exactly TEXT (lines)
expect_findings() {
    findings >"$T/got"
    if [ -n "$1" ]; then printf '%s\n' "$1"; fi >"$T/want"
    diff "$T/want" "$T/got" >&2 || {
        cat "$T/out" >&2
        fail "findings differ ($CASE)"
    }
}
# block_range FILE SIZE FIRST LAST: the line for bad blocks FIRST..LAST
block_range() {
    local last_byte=$((($4 + 1) * BS - 1))
    [ "$last_byte" -lt "$2" ] || last_byte=$(($2 - 1))
    if [ "$3" = "$4" ]; then
        echo "$1: block $3 (bytes $(($3 * BS))-$last_byte) does not match"
    else
        echo "$1: blocks $3-$4 (bytes $(($3 * BS))-$last_byte) do not match"
    fi
}
nblocks() { echo $((($1 + BS - 1) / BS)); }

# ---------------------------------------------------------------- good
CASE=good
expect_code 0 "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" "$SET"
assert_contains "$T/out" "OK  $NAME"
assert_contains "$T/out" "authenticity: checked against the trusted key $KEYID"
assert_not_contains "$T/err" "NOT CHECKED"
expect_findings ""
expect_code 0 "$COLDMAIL_RESTORE" verify -P "$PUB" "$SET"
assert_contains "$T/out" "OK  $NAME"
expect_code 0 "$COLDMAIL_RESTORE" verify "$SET"
assert_contains "$T/out" "OK  $NAME"
assert_contains "$T/err" "warning: AUTHENTICITY IS NOT CHECKED: no trusted key was given"
assert_contains "$T/out" "authenticity: NOT CHECKED"
# A medium directory: its sets, with an unfinished one left out (noted).
mkdir "$T/medium/${NAME%-*}-deadbeef.incomplete"
expect_code 0 "$COLDMAIL_RESTORE" verify -P "$PUB" "$T/medium/"
assert_contains "$T/out" "OK  $NAME"
assert_contains "$T/out" "ignored $T/medium/${NAME%-*}-deadbeef.incomplete: an unfinished set"
assert_contains "$T/out" "summary: 1 set checked: 1 OK, 0 damaged"
rmdir "$T/medium/${NAME%-*}-deadbeef.incomplete"
# JSON.
expect_code 0 "$COLDMAIL_RESTORE" verify --json -P "$PUB" "$SET"
jq -e --arg n "$NAME" --arg k "$KEYID" '
    .coldmail_verify == 1 and .trusted_key == $k and .deep == false and
    (.sets | length) == 1 and .sets[0].set == $n and
    .sets[0].status == "ok" and .sets[0].signature == "trusted" and
    .sets[0].findings == [] and .sets[0].sequence == 1 and
    .chain.sets[0].link == "first" and .chain.problems == 0 and
    .summary.exit == 0 and .summary.result == "ok"' "$T/out" >/dev/null ||
    { cat "$T/out" >&2; fail "JSON of a good set"; }
# Usage errors.
expect_code 2 "$COLDMAIL_RESTORE" verify
expect_code 2 "$COLDMAIL_RESTORE" verify -P "$PUB" -p "$T/sign.key.pub" "$SET"
expect_code 2 "$COLDMAIL_RESTORE" verify --deep "$SET"
expect_code 2 "$COLDMAIL_RESTORE" verify -i "$T/id.txt" "$SET"
expect_code 2 "$COLDMAIL_RESTORE" verify "$T/store"
assert_contains "$T/err" "neither a set"
expect_code 2 "$COLDMAIL_RESTORE" verify "$T/nonexistent"

# ---------------------------------------------------------------- wrong key
CASE=wrong-key
OTHER_ID=$(head -n 1 "$T/other.key.pub" | grep -o '[0-9A-F]\{16\}$')
expect_code 5 "$COLDMAIL_RESTORE" verify -P "$OTHER_PUB" "$SET"
expect_findings "MANIFEST.minisig: signed by key $KEYID, not by the trusted key $OTHER_ID
MANIFEST: not authentic; the files are checked against it as it stands"
assert_contains "$T/out" "DAMAGED $NAME"

# ---------------------------------------------------------------- volumes
# Byte flips: the age header, the nonce, the first chunk, a chunk
# boundary, the middle, the last chunk, the seek table at the end, the
# very last byte.  Each must be exactly one bad block.
for v in $(seq 1 "$VOLS"); do
    VOL=$(printf 'vol-%04d.tar.zst.age' "$v")
    S=$(size_of "$SET/$VOL")
    HDR=$(python3 -c "
d = open('$SET/$VOL', 'rb').read(4096)
i = d.index(b'\n---')
print(d.index(b'\n', i + 1) + 1)")
    for off in 5 40 $((HDR - 5)) $((HDR + 3)) $((HDR + 16 + 100)) \
        $((HDR + 16 + 65552)) $((HDR + 16 + 65552 * 17 + 9)) $((S / 2)) \
        $((BS - 1)) $((BS)) $((S - 2000)) $((S - 30)) $((S - 1)); do
        CASE="$VOL flip at $off"
        fresh
        flip "$C/$VOL" "$off"
        expect_code 1 "$COLDMAIL_RESTORE" verify -P "$PUB" "$C"
        assert_contains "$T/out" "DAMAGED $NAME"
        expect_findings "$(block_range "$VOL" "$S" $((off / BS)) $((off / BS)))"
    done
done

# Truncations, and a zero-length volume.
VOL=vol-0001.tar.zst.age
S=$(size_of "$SET/$VOL")
N=$(nblocks "$S")
for len in 0 1 100 $((BS - 1)) $((BS)) $((BS + 1)) $((2 * BS + 7)) $((S - 1)); do
    CASE="$VOL truncated to $len"
    fresh
    truncate -s "$len" "$C/$VOL"
    expect_code 1 "$COLDMAIL_RESTORE" verify -P "$PUB" "$C"
    expect_findings "$VOL: size is $len bytes, MANIFEST says $S
$(block_range "$VOL" "$S" $((len / BS)) $((N - 1)))"
done

CASE="missing volume"
fresh
rm "$C/vol-0002.tar.zst.age"
expect_code 1 "$COLDMAIL_RESTORE" verify -P "$PUB" "$C"
expect_findings "vol-0002.tar.zst.age: missing"

CASE="volume from another set"
fresh
cp "$OTHER_SET/$VOL" "$C/$VOL"
L=$(size_of "$C/$VOL")
if [ "$L" = "$S" ]; then
    expect_code 1 "$COLDMAIL_RESTORE" verify -P "$PUB" "$C"
    expect_findings "$(block_range "$VOL" "$S" 0 $((N - 1)))"
else
    expect_code 1 "$COLDMAIL_RESTORE" verify -P "$PUB" "$C"
    expect_findings "$VOL: size is $L bytes, MANIFEST says $S
$(block_range "$VOL" "$S" 0 $((N - 1)))"
fi

CASE="a directory in a volume's place"
fresh
rm "$C/vol-0002.tar.zst.age"
mkdir "$C/vol-0002.tar.zst.age"
expect_code 1 "$COLDMAIL_RESTORE" verify -P "$PUB" "$C"
expect_findings "vol-0002.tar.zst.age: not a regular file"

# FIFOs are never opened (that would wait forever).
CASE="a FIFO in a volume's place"
fresh
rm "$C/vol-0002.tar.zst.age"
mkfifo "$C/vol-0002.tar.zst.age"
expect_code 1 timeout 60 "$COLDMAIL_RESTORE" verify -P "$PUB" "$C"
expect_findings "vol-0002.tar.zst.age: not a regular file"
CASE="a FIFO in MANIFEST's place"
fresh
rm "$C/MANIFEST"
mkfifo "$C/MANIFEST"
expect_code 1 timeout 60 "$COLDMAIL_RESTORE" verify -P "$PUB" "$C"
expect_findings "MANIFEST: not a regular file"

CASE="extra files"
fresh
echo junk >"$C/junk.txt"
mkdir "$C/extra"
ln -s MANIFEST "$C/link"
expect_code 1 "$COLDMAIL_RESTORE" verify -P "$PUB" "$C"
expect_findings "extra: unexpected directory, not in MANIFEST
junk.txt: unexpected file, not in MANIFEST
link: unexpected symbolic link, not in MANIFEST"

# ---------------------------------------------------------------- others
for f in catalog.jsonl.zst.age RESTORE.txt; do
    S=$(size_of "$SET/$f")
    for off in 0 $((S / 2)) $((S - 1)); do
        CASE="$f flip at $off"
        fresh
        flip "$C/$f" "$off"
        expect_code 1 "$COLDMAIL_RESTORE" verify -P "$PUB" "$C"
        expect_findings "$(block_range "$f" "$S" 0 0)"
    done
done

# MANIFEST: any change breaks the signature (exit 5), with or without a
# trusted key.
S=$(size_of "$SET/MANIFEST")
for off in 0 30 $((S / 3)) $((S / 2)) $((S - 2)) $((S - 1)); do
    CASE="MANIFEST flip at $off"
    fresh
    flip "$C/MANIFEST" "$off"
    expect_code 5 "$COLDMAIL_RESTORE" verify -P "$PUB" "$C"
    findings | head -n 1 >"$T/first"
    assert_contains "$T/first" "MANIFEST.minisig: signature does not verify"
    expect_code 5 "$COLDMAIL_RESTORE" verify "$C"
    findings | head -n 1 >"$T/first"
    assert_contains "$T/first" "MANIFEST.minisig: "
done
# A block hash changed in MANIFEST: the signature fails, and that block of
# the file no longer matches the MANIFEST as it stands.
CASE="MANIFEST block hash"
fresh
python3 - "$C/MANIFEST" <<'EOF'
import sys
p = sys.argv[1]
lines = open(p).read().split('\n')
n = 0
for i, l in enumerate(lines):
    if l.startswith('file vol-0002'):
        n = i
lines[n + 2] = lines[n + 2][:-1] + ('0' if lines[n + 2][-1] != '0' else '1')
open(p, 'w').write('\n'.join(lines))
EOF
S=$(size_of "$SET/vol-0002.tar.zst.age")
expect_code 5 "$COLDMAIL_RESTORE" verify -P "$PUB" "$C"
expect_findings "MANIFEST.minisig: signature does not verify (MANIFEST or its signature was changed)
MANIFEST: not authentic; the files are checked against it as it stands
$(block_range vol-0002.tar.zst.age "$S" 1 1)"

# MANIFEST.minisig: the untrusted comment is not signed (a change there is
# harmless); anything else fails.
SIG=$SET/MANIFEST.minisig
L1=$(head -n 1 "$SIG" | wc -c)
L2=$(head -n 2 "$SIG" | wc -c)
L3=$(head -n 3 "$SIG" | wc -c)
S=$(size_of "$SIG")
CASE="MANIFEST.minisig untrusted comment"
fresh
flip "$C/MANIFEST.minisig" 22
expect_code 0 "$COLDMAIL_RESTORE" verify -P "$PUB" "$C"
for off in $L1 $((L1 + 1)) $((L1 + 5)) $((L1 + 40)) $((L2 - 2)) \
    $((L2 + 20)) $((L3 - 2)) $((L3 + 10)) $((S - 3)); do
    CASE="MANIFEST.minisig flip at $off"
    fresh
    flip "$C/MANIFEST.minisig" "$off"
    expect_code 5 "$COLDMAIL_RESTORE" verify -P "$PUB" "$C"
    findings | head -n 1 >"$T/first"
    assert_contains "$T/first" "MANIFEST.minisig: "
    findings | tail -n +2 >"$T/rest"
    [ "$(cat "$T/rest")" = "MANIFEST: not authentic; the files are checked against it as it stands" ] ||
        { cat "$T/out" >&2; fail "$CASE: other findings"; }
done

CASE="missing signature"
fresh
rm "$C/MANIFEST.minisig"
expect_code 5 "$COLDMAIL_RESTORE" verify -P "$PUB" "$C"
expect_findings "MANIFEST.minisig: No such file or directory: the set cannot be authenticated
MANIFEST: not authentic; the files are checked against it as it stands"

CASE="missing MANIFEST"
fresh
rm "$C/MANIFEST"
expect_code 1 "$COLDMAIL_RESTORE" verify -P "$PUB" "$C"
expect_findings "MANIFEST: missing: nothing in this set can be checked"

CASE="signature of another set"
fresh
cp "$OTHER_SET/MANIFEST.minisig" "$C/MANIFEST.minisig"
expect_code 5 "$COLDMAIL_RESTORE" verify -P "$PUB" "$C"
findings | head -n 1 >"$T/first"
assert_contains "$T/first" "MANIFEST.minisig: signature does not verify"

CASE="a signature moved between sets (trusted comment)"
fresh
rm "$C/MANIFEST.minisig"
"$TOOLDIR/tool_minisig" sign "$T/sign.key" "$C/MANIFEST" \
    "$(printf 'timestamp:1\tfile:MANIFEST\tcoldmail-set:00000000000000000000000000000000\tseq:9')" ||
    fail "tool_minisig sign"
expect_code 5 "$COLDMAIL_RESTORE" verify -P "$PUB" "$C"
findings | head -n 1 >"$T/first"
assert_contains "$T/first" "MANIFEST.minisig: its trusted comment "
assert_contains "$T/first" "does not describe this MANIFEST"

# ---------------------------------------------------------------- JSON
CASE="JSON of a flipped block"
fresh
S=$(size_of "$SET/vol-0002.tar.zst.age")
flip "$C/vol-0002.tar.zst.age" $((2 * BS + 5))
expect_code 1 "$COLDMAIL_RESTORE" verify --json -P "$PUB" "$C"
jq -e --argjson s "$S" --argjson bs "$BS" '
    .sets[0].status == "damaged" and .sets[0].code == 1 and
    (.sets[0].findings | length) == 1 and
    .sets[0].findings[0].what == "blocks" and
    .sets[0].findings[0].file == "vol-0002.tar.zst.age" and
    .sets[0].findings[0].first_block == 2 and
    .sets[0].findings[0].last_block == 2 and
    .sets[0].findings[0].first_byte == 2 * $bs and
    .sets[0].findings[0].last_byte == ([3 * $bs - 1, $s - 1] | min) and
    .summary.exit == 1 and .summary.result == "damaged" and
    .summary.damaged == 1' "$T/out" >/dev/null ||
    { cat "$T/out" >&2; fail "JSON of a flipped block"; }

# ---------------------------------------------------------------- parity
# A set with parity (the default): its parity files are files of the set
# like any other, and damage comes with a word on whether repair can fix it.
mkdir -p "$T/medium3"
pack "$T/medium3" "$T/state3" disk3 306 5
PSET=$(ls -d "$T"/medium3/coldmail-*)
PNAME=$(basename "$PSET")
ls "$PSET"/*.par >/dev/null 2>&1 || fail "no parity files"
expect_code 0 "$COLDMAIL_RESTORE" verify -P "$PUB" "$PSET"
assert_contains "$T/out" "OK  $PNAME"
pfresh() {
    rm -rf "$T/case"
    mkdir -p "$T/case"
    cp -a "$PSET" "$T/case/"
    C=$T/case/$PNAME
}
S=$(size_of "$PSET/vol-0001.tar.zst.age")
CASE="parity set: volume flip"
pfresh
flip "$C/vol-0001.tar.zst.age" $((BS + 3))
expect_code 1 "$COLDMAIL_RESTORE" verify -P "$PUB" "$C"
findings | head -n 1 >"$T/first"
[ "$(cat "$T/first")" = "$(block_range vol-0001.tar.zst.age "$S" 1 1)" ] ||
    { cat "$T/out" >&2; fail "$CASE"; }
findings | grep -q '^vol-0001\.tar\.zst\.age: .*repair' ||
    { cat "$T/out" >&2; fail "$CASE: no word on repair"; }
for par in "$PSET"/*.par; do
    P=$(basename "$par")
    PS=$(size_of "$par")
    CASE="parity set: $P flip"
    pfresh
    flip "$C/$P" $((PS / 2))
    expect_code 1 "$COLDMAIL_RESTORE" verify -P "$PUB" "$C"
    findings | head -n 1 >"$T/first"
    [ "$(cat "$T/first")" = "$(block_range "$P" "$PS" $((PS / 2 / BS)) $((PS / 2 / BS)))" ] ||
        { cat "$T/out" >&2; fail "$CASE"; }
done
CASE="parity set: missing parity file"
pfresh
rm "$C/vol-0002.tar.zst.age.par"
expect_code 1 "$COLDMAIL_RESTORE" verify -P "$PUB" "$C"
findings | head -n 1 >"$T/first"
assert_contains "$T/first" "vol-0002.tar.zst.age.par: missing"

# Several sets at once, one damaged: exit 1, both reported, in order.
CASE="two sets"
fresh
flip "$C/RESTORE.txt" 3
expect_code 1 "$COLDMAIL_RESTORE" verify -P "$PUB" "$SET" "$C"
[ "$(grep -c "^OK  $NAME\$" "$T/out")" = 1 ] || fail "$CASE: the good set"
[ "$(grep -c "^DAMAGED $NAME\$" "$T/out")" = 1 ] || fail "$CASE: the bad set"
assert_contains "$T/out" "is given twice"
exit 0
