# e2e/31-verify-chain: the hash chain across sets.  Three sets packed with
# one state directory onto two media verify with a chain table (first, ok,
# ok); without the middle set, the gap is named; with the middle set's
# MANIFEST replaced by one of another host, or by a forged sequence 2
# signed with another key, the broken link is named; two sets claiming the
# same sequence (a pack from a copied state directory) are a fork; the
# same set on two media is a note; a chain-break recorded by a pack host
# that lost its state is a note, not a problem.
. "$(dirname "$0")/../lib.sh"

need jq

seed() { # N CMD...: fixed randomness, so that a failure repeats
    COLDMAIL_TEST_SEED=$1 "${@:2}"
}
mkdir -p "$T/store/Maildir/cur" "$T/store/Maildir/new" "$T/store/Maildir/tmp"
for i in 1 2 3 4 5; do
    printf 'From: a@example.org\nSubject: %d\nMessage-ID: <c%d@example.org>\n\nbody %d\n' \
        "$i" "$i" "$i" >"$T/store/Maildir/cur/17000000$i.M${i}P1.host:2,S"
done
seed 311 "$COLDMAIL" keygen -o "$T/k1" >/dev/null 2>&1 || fail "keygen"
seed 312 "$COLDMAIL" keygen -o "$T/k2" >/dev/null 2>&1 || fail "keygen"
RCPT=$(seed 313 "$COLDMAIL_RESTORE" keygen -o "$T/id.txt" 2>/dev/null) ||
    fail "keygen"
K1=$(tail -n 1 "$T/k1.pub")
ID1=$(head -n 1 "$T/k1.pub" | grep -o '[0-9A-F]\{16\}$')
ID2=$(head -n 1 "$T/k2.pub" | grep -o '[0-9A-F]\{16\}$')

n=0
pack() { # MEDIUM STATE KEY [HOST]: one more set, created a minute later
    n=$((n + 1))
    mkdir -p "$1"
    COLDMAIL_TEST_NOW=$((1790000000 + n * 60)) seed $((320 + n)) \
        "$COLDMAIL" pack -q -o "$1" --init-label "$(basename "$1")" \
        -r "$RCPT" -s "$3" --state-dir "$2" --parity 0 ${4:+--host "$4"} \
        "$T/store" >/dev/null 2>"$T/pack.err" ||
        { cat "$T/pack.err" >&2; fail "pack to $1"; }
}
set_of() { # MEDIUM SEQUENCE: the set of that sequence on the medium
    grep -l "^sequence $2\$" "$1"/coldmail-*/MANIFEST | xargs dirname
}

pack "$T/a" "$T/state" "$T/k1"
cp -a "$T/state" "$T/state-after-1"
pack "$T/a" "$T/state" "$T/k1"
cp -a "$T/state" "$T/state-after-2"
pack "$T/b" "$T/state" "$T/k1"
S1=$(set_of "$T/a" 1)
S2=$(set_of "$T/a" 2)
S3=$(set_of "$T/b" 3)
N1=$(basename "$S1")
N2=$(basename "$S2")
N3=$(basename "$S3")

# ---------------------------------------------------------------- good
# The table names each set's medium (its label, from MANIFEST).
expect_code 0 "$COLDMAIL_RESTORE" verify -P "$K1" "$T/a" "$T/b"
for s in "$N1" "$N2" "$N3"; do assert_contains "$T/out" "OK  $s"; done
grep -E "^  vm +1  $N1  a +$ID1  first\$" "$T/out" >/dev/null || fail "row 1"
grep -E "^  vm +2  $N2  a +$ID1  ok\$" "$T/out" >/dev/null || fail "row 2"
grep -E "^  vm +3  $N3  b +$ID1  ok\$" "$T/out" >/dev/null || fail "row 3"
assert_not_contains "$T/out" "PROBLEM"
assert_contains "$T/out" "summary: 3 sets checked: 3 OK, 0 damaged; chain: 0 problems"
# The sets in any order, given one by one: the same table.
expect_code 0 "$COLDMAIL_RESTORE" verify --json -P "$K1" "$S3" "$S1" "$S2"
jq -e '[.chain.sets[] | [.sequence, .link]] == [[1,"first"],[2,"ok"],[3,"ok"]]
       and .chain.problems == 0 and .summary.exit == 0' "$T/out" >/dev/null ||
    { cat "$T/out" >&2; fail "chain JSON"; }
# Only the newest: its predecessor is simply not given.
expect_code 0 "$COLDMAIL_RESTORE" verify -P "$K1" "$T/b"
grep -E "^  vm +3  $N3  b +$ID1  unknown \(sequence 2 not given\)\$" "$T/out" \
    >/dev/null || fail "row of a lone set"

# ---------------------------------------------------------------- gap
mkdir -p "$T/gap"
cp -a "$T/a" "$T/gap/a"
rm -rf "$T/gap/a/$N2"
expect_code 1 "$COLDMAIL_RESTORE" verify -P "$K1" "$T/gap/a" "$T/b"
assert_contains "$T/out" "OK  $N1"
assert_contains "$T/out" "OK  $N3"
assert_contains "$T/out" "PROBLEM: host vm: sequence 2 missing between $N1 (1) and $N3 (3)"
expect_code 1 "$COLDMAIL_RESTORE" verify --json -P "$K1" "$T/gap/a" "$T/b"
# Set 2 was a's newest, and set 3 says it went to a: a was also rolled back
# (lib/chain.h).
jq -e '.chain.problems == 2 and .chain.findings[0].kind == "gap" and
       .chain.findings[0].sequence == 2 and
       .chain.findings[1].kind == "rollback" and .summary.ok == 2 and
       .summary.exit == 1' "$T/out" >/dev/null ||
    { cat "$T/out" >&2; fail "gap JSON"; }

# ---------------------------------------------------------------- replaced
# The middle set's MANIFEST and signature replaced by another host's.
pack "$T/c" "$T/state-other" "$T/k2" otherhost
SO=$(ls -d "$T"/c/coldmail-*)
mkdir -p "$T/rep"
cp -a "$T/a" "$T/rep/a"
cp "$SO/MANIFEST" "$SO/MANIFEST.minisig" "$T/rep/a/$N2/"
expect_code 1 "$COLDMAIL_RESTORE" verify "$T/rep/a" "$T/b"
assert_contains "$T/out" "DAMAGED $N2"
assert_contains "$T/out" "the directory name does not match its MANIFEST, which names the set $(basename "$SO")"
assert_contains "$T/out" "PROBLEM: host vm: sequence 2 missing between $N1 (1) and $N3 (3)"
grep -E "^  otherhost +1  $N2  c +$ID2  first\$" "$T/out" >/dev/null ||
    { cat "$T/out" >&2; fail "row of the other host's MANIFEST"; }
# With the trusted key it is not authentic at all.
expect_code 5 "$COLDMAIL_RESTORE" verify -P "$K1" "$T/rep/a" "$T/b"
assert_contains "$T/out" "MANIFEST.minisig: signed by key $ID2, not by the trusted key $ID1"

# A forged sequence 2 of the same host, signed with another key, put in
# place of the real one: set 3 no longer follows it, and the key changes.
pack "$T/d" "$T/state-after-1" "$T/k2"
SF=$(set_of "$T/d" 2)
mkdir -p "$T/forged"
cp -a "$T/a" "$T/forged/a"
rm -rf "$T/forged/a/$N2"
cp -a "$SF" "$T/forged/a/"
NF=$(basename "$SF")
expect_code 1 "$COLDMAIL_RESTORE" verify "$T/forged/a" "$T/b"
for s in "$N1" "$NF" "$N3"; do assert_contains "$T/out" "OK  $s"; done
assert_contains "$T/out" "PROBLEM: host vm: $N3 (sequence 3) does not follow $NF (sequence 2)"
assert_contains "$T/out" "(replaced or forged predecessor)"
assert_contains "$T/out" "PROBLEM: host vm: $NF (sequence 2) is signed by key $ID2, $N1 (sequence 1) by key $ID1"
grep -E "^  vm +3  $N3  b +$ID1  MISMATCH, KEY CHANGE\$" "$T/out" >/dev/null ||
    { cat "$T/out" >&2; fail "row of the set after the forged one"; }
expect_code 5 "$COLDMAIL_RESTORE" verify -P "$K1" "$T/forged/a" "$T/b"

# ---------------------------------------------------------------- fork
# A pack from a copy of the state after set 2: a second sequence 3.
pack "$T/e" "$T/state-after-2" "$T/k1"
SK=$(set_of "$T/e" 3)
NK=$(basename "$SK")
expect_code 1 "$COLDMAIL_RESTORE" verify -P "$K1" "$T/a" "$T/b" "$T/e"
for s in "$N1" "$N2" "$N3" "$NK"; do assert_contains "$T/out" "OK  $s"; done
assert_contains "$T/out" "PROBLEM: host vm: sequence 3 is claimed by two sets, $N3 and $NK (fork)"
grep -E "^  vm +3  $NK  e +$ID1  ok, FORK\$" "$T/out" >/dev/null ||
    { cat "$T/out" >&2; fail "fork row"; }

# The same set given twice (a copy on another medium) is no fork.
mkdir -p "$T/copy"
cp -a "$S3" "$T/copy/"
expect_code 0 "$COLDMAIL_RESTORE" verify -P "$K1" "$T/a" "$T/b" "$T/copy"
assert_contains "$T/out" "note: host vm: $N3 is given twice (in $T/b and in $T/copy): the same MANIFEST"

# A pack host that lost its state records a chain-break: a note, not a
# problem.
pack "$T/f" "$T/state-f1" "$T/k1"
pack "$T/f" "$T/state-f2" "$T/k1"
grep -q '^chain-break ' "$T"/f/coldmail-*/MANIFEST ||
    skip "pack wrote no chain-break for a lost state"
SB=$(grep -l '^chain-break ' "$T"/f/coldmail-*/MANIFEST | xargs dirname)
NB=$(basename "$SB")
expect_code 0 "$COLDMAIL_RESTORE" verify -P "$K1" "$T/f"
assert_contains "$T/out" "note: host vm: chain-break recorded at $NB"
grep -E "^  vm +[0-9]+  $NB  f +$ID1  break\$" "$T/out" >/dev/null ||
    { cat "$T/out" >&2; fail "chain-break row"; }
assert_not_contains "$T/out" "PROBLEM"
exit 0
