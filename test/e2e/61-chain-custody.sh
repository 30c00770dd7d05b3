# e2e/61-chain-custody: the chain of custody across rotated media, as
# `coldmail-restore verify --chain` reports it.  Five sets packed in turn
# onto two media (A: 1, 3, 5; B: 2, 4) verify with a table naming each
# set's medium and no problem.  Each fault is then reported precisely:
#   a set removed             the gap ("sequence 3 missing between ...")
#   an older copy of medium B (made after set 2) given in its place: B
#                             rolled back, named with its label and newest
#                             set, and the sequence set 5 says went to it
#   a MANIFEST replaced by one signed by another key: not authentic
#                             (exit 5), and "signed by key K, which is not
#                             the trusted key" in the chain
#   the state directory lost  the next pack is a full set with a recorded
#                             chain-break, reported as a note (exit 0)
. "$(dirname "$0")/../lib.sh"

need jq

T0=1790000000
seed() { COLDMAIL_TEST_SEED=$1 "${@:2}"; }
mkdir -p "$T/store/Maildir/cur" "$T/store/Maildir/new" "$T/store/Maildir/tmp"
for i in 1 2 3; do
    printf 'From: a@example.org\nSubject: %d\nMessage-ID: <c%d@example.org>\n\nbody %d\n' \
        "$i" "$i" "$i" >"$T/store/Maildir/cur/17000000$i.M${i}P1.host:2,S"
done
seed 611 "$COLDMAIL" keygen -o "$T/k1" >/dev/null 2>&1 || fail "keygen"
seed 612 "$COLDMAIL" keygen -o "$T/k2" >/dev/null 2>&1 || fail "keygen"
RCPT=$(seed 613 "$COLDMAIL_RESTORE" keygen -o "$T/id.txt" 2>/dev/null) ||
    fail "keygen"
K1=$(tail -n 1 "$T/k1.pub")
ID1=$(head -n 1 "$T/k1.pub" | grep -o '[0-9A-F]\{16\}$')
ID2=$(head -n 1 "$T/k2.pub" | grep -o '[0-9A-F]\{16\}$')

n=0
pack() { # MEDIUM STATE KEY: one more set, a day later; JSON in $T/pack.json
    n=$((n + 1))
    mkdir -p "$1"
    printf 'mail of day %d\n' "$n" >"$T/store/Maildir/cur/18000000$n.M1P1.host:2,"
    COLDMAIL_TEST_NOW=$((T0 + n * 86400)) seed $((620 + n)) \
        "$COLDMAIL" pack -o "$1" --init-label "$(basename "$1")" \
        -r "$RCPT" -s "$3" --state-dir "$2" --parity 0 --json \
        "$T/store" >"$T/pack.json" 2>"$T/pack.err" ||
        { cat "$T/pack.err" >&2; fail "pack $n to $1"; }
}
set_of() { # MEDIUM SEQUENCE: the set of that sequence on the medium
    grep -l "^sequence $2\$" "$1"/coldmail-*/MANIFEST | xargs dirname
}

pack "$T/A" "$T/state" "$T/k1"
pack "$T/B" "$T/state" "$T/k1"
cp -a "$T/B" "$T/B-old"
pack "$T/A" "$T/state" "$T/k1"
pack "$T/B" "$T/state" "$T/k1"
cp -a "$T/state" "$T/state-after-4"
pack "$T/A" "$T/state" "$T/k1"
for s in 1 2 3 4 5; do
    eval "N$s=\$(basename \"\$(set_of \"\$T/\$( [ \$((s % 2)) = 1 ] && echo A || echo B)\" $s)\")"
done

# ------------------------------------------------------------ all good
expect_code 0 "$COLDMAIL_RESTORE" verify --chain -P "$K1" "$T/A" "$T/B"
for s in 1 3 5; do
    eval "name=\$N$s"
    grep -E "^  vm +$s  $name  A +$ID1  (first|ok)\$" "$T/out" >/dev/null ||
        { cat "$T/out" >&2; fail "row $s"; }
done
for s in 2 4; do
    eval "name=\$N$s"
    grep -E "^  vm +$s  $name  B +$ID1  ok\$" "$T/out" >/dev/null ||
        { cat "$T/out" >&2; fail "row $s"; }
done
assert_not_contains "$T/out" "PROBLEM"
assert_contains "$T/out" "the sets' files were not read"
# --chain reads no volume: a volume cut short goes unnoticed by it, not
# by a full verify.
mkdir -p "$T/cut"
cp -a "$T/A" "$T/cut/A"
: >"$T/cut/A/$N3/vol-0001.tar.zst.age"
expect_code 0 "$COLDMAIL_RESTORE" verify --chain -P "$K1" "$T/cut/A" "$T/B"
expect_code 1 "$COLDMAIL_RESTORE" verify -P "$K1" "$T/cut/A" "$T/B"
expect_code 2 "$COLDMAIL_RESTORE" verify --chain --deep -i "$T/id.txt" "$T/A"

# ------------------------------------------------------------ a set removed
mkdir -p "$T/gap"
cp -a "$T/A" "$T/gap/A"
rm -rf "${T:?}/gap/A/$N3"
expect_code 1 "$COLDMAIL_RESTORE" verify --chain -P "$K1" "$T/gap/A" "$T/B"
assert_contains "$T/out" "PROBLEM: host vm: sequence 3 missing between $N2 (2) and $N4 (4)"
assert_not_contains "$T/out" "rolled back"
expect_code 1 "$COLDMAIL_RESTORE" verify --chain --json -P "$K1" "$T/gap/A" "$T/B"
jq -e '.chain.problems == 1 and .chain.findings[0].kind == "gap" and
       .chain.findings[0].sequence == 3' "$T/out" >/dev/null ||
    { cat "$T/out" >&2; fail "gap JSON"; }

# ------------------------------------------------------------ a rollback
# B as it was after set 2: set 5 says set 4 went to B, and B's newest is 2.
expect_code 1 "$COLDMAIL_RESTORE" verify --chain -P "$K1" "$T/A" "$T/B-old"
assert_contains "$T/out" "PROBLEM: host vm: medium B ($T/B-old) rolled back: its newest set is sequence 2 ($N2), but sequence 4 was written to it (so says $N5, sequence 5)"
assert_contains "$T/out" "PROBLEM: host vm: sequence 4 missing between $N3 (3) and $N5 (5)"
expect_code 1 "$COLDMAIL_RESTORE" verify --chain --json -P "$K1" "$T/A" "$T/B-old"
jq -e '[.chain.findings[] | select(.kind == "rollback")] | length == 1' \
    "$T/out" >/dev/null || { cat "$T/out" >&2; fail "rollback JSON"; }
# Given alone, the old copy is consistent: nothing says more went to it.
expect_code 0 "$COLDMAIL_RESTORE" verify --chain -P "$K1" "$T/B-old"

# ------------------------------------------------------------ another key
# A sequence 5 made with another key (from a copy of the state), its
# MANIFEST and signature put in place of the real set 5's.
pack "$T/X" "$T/state-after-4" "$T/k2"
SX=$(set_of "$T/X" 5)
mkdir -p "$T/forged"
cp -a "$T/A" "$T/forged/A"
cp "$SX/MANIFEST" "$SX/MANIFEST.minisig" "$T/forged/A/$N5/"
expect_code 5 "$COLDMAIL_RESTORE" verify --chain -P "$K1" "$T/forged/A" "$T/B"
assert_contains "$T/out" "MANIFEST.minisig: signed by key $ID2, not by the trusted key $ID1"
assert_contains "$T/out" "is signed by key $ID2, which is not the trusted key"
grep -E "^  vm +5  .*  $ID2  .*UNKNOWN KEY \(signature failed\)\$" "$T/out" \
    >/dev/null || { cat "$T/out" >&2; fail "row of the forged set"; }
expect_code 5 "$COLDMAIL_RESTORE" verify --chain --json -P "$K1" "$T/forged/A" "$T/B"
jq -e '[.chain.findings[] | select(.kind == "unknown-key")] | length == 1' \
    "$T/out" >/dev/null || { cat "$T/out" >&2; fail "unknown-key JSON"; }
# Without a trusted key: the key change is the problem.
expect_code 1 "$COLDMAIL_RESTORE" verify --chain "$T/forged/A" "$T/B"
assert_contains "$T/out" "is signed by key $ID2, $N4 (sequence 4) by key $ID1"

# ------------------------------------------------------------ state lost
rm -rf "${T:?}/state"
pack "$T/A" "$T/state" "$T/k1"
jq -e '.kind == "full" and .chain_break == true and .sequence == 6' \
    "$T/pack.json" >/dev/null || { cat "$T/pack.json" >&2; fail "pack after state loss"; }
S6=$(set_of "$T/A" 6)
grep -q '^chain-break ' "$S6/MANIFEST" || fail "no chain-break in MANIFEST"
expect_code 0 "$COLDMAIL_RESTORE" verify --chain -P "$K1" "$T/A" "$T/B"
assert_contains "$T/out" "note: host vm: chain-break recorded at $(basename "$S6") (sequence 6)"
grep -E "^  vm +6  $(basename "$S6")  A +$ID1  break\$" "$T/out" >/dev/null ||
    { cat "$T/out" >&2; fail "row of the break"; }
assert_not_contains "$T/out" "PROBLEM"
# The whole check too.
expect_code 0 "$COLDMAIL_RESTORE" verify -P "$K1" "$T/A" "$T/B"
echo "chain of custody: gap, rollback, unknown key and chain-break reported"
