# e2e/50-rotation-ops: the operator's view of a weekly rotation.  Four
# media (directories) labelled week-1..4 are packed in turn from a config
# file, with the clock moved a week at a time (COLDMAIL_TEST_NOW).  status
# --json names the medium due next and warns about an overdue one (and
# --check exits 1 then, 0 before); the examples' pre-check script accepts
# only the medium due.  Config values are overridden by the
# command line.  On a medium holding three chains, prune --keep 2 removes
# exactly the oldest chain: the dry run names it and removes nothing, the
# real run removes what the dry run named; a held set (and so its chain)
# is never pruned, even when its hold file was tampered with, and is
# pruned once released.  After the state directory is lost, state rebuild
# restores the chain records (status shows them again) and the next pack
# on a medium is a full set continuing the chain.
. "$(dirname "$0")/../lib.sh"

need jq tar

DAY=86400
T0=1790000000
at() { # DAYS CMD...: run CMD with the clock at T0 + DAYS days (+ $BUMP s)
    local d=$1
    shift
    COLDMAIL_TEST_NOW=$((T0 + d * DAY + ${BUMP:-0})) "$@"
}

mkdir -p "$T/store"
tar -xf "$SRCDIR/examples/sample-store.tar" -C "$T/store"
COLDMAIL_TEST_SEED=50 "$COLDMAIL" keygen -o "$T/sign.key" >/dev/null 2>&1 ||
    fail "keygen"
RCPT=$(COLDMAIL_TEST_SEED=51 "$COLDMAIL_RESTORE" keygen -o "$T/id.txt" \
    2>/dev/null) || fail "restore keygen"
printf '# the vault\n%s\n' "$RCPT" >"$T/recipients"
cat >"$T/coldmail.conf" <<EOF
# coldmail.conf for the test
stores = $T/store
recipients-file = $T/recipients
signing-key = $T/sign.key
state-dir = $T/state
media = week-1 week-2 week-3 week-4   # rotation order
rotation = 7d
max-chain = 1
label = weekly
EOF
C=(--config "$T/coldmail.conf")
: >"$T/empty.conf"

pack() { # DAYS MEDIUM [OPTIONS...]: one pack from the config; JSON in $T/pack.json
    local d=$1 m=$2
    shift 2
    mkdir -p "$T/m/$m"
    at "$d" "$COLDMAIL" pack "${C[@]}" -o "$T/m/$m" --init-label "$m" \
        --json "$@" >"$T/pack.json" 2>"$T/pack.err" ||
        { cat "$T/pack.err" >&2; fail "pack to $m on day $d"; }
}
kind_of_pack() { jq -r .kind "$T/pack.json"; }

# ------------------------------------------------------------ config errors
printf 'rotation = 7d\nrotaton = 7d\n' >"$T/bad.conf"
expect_code 4 "$COLDMAIL" status --config "$T/bad.conf" --state-dir "$T/state"
assert_contains "$T/err" "$T/bad.conf: line 2: unknown key \"rotaton\""
expect_code 3 "$COLDMAIL" pack --config "$T/nonexistent.conf" -o "$T/x"

# ------------------------------------------------------------ four weeks
for w in 1 2 3 4; do
    pack $(((w - 1) * 7)) "week-$w"
    [ "$(kind_of_pack)" = full ] || fail "week-$w: $(kind_of_pack), not full"
done
# The config's label, and the command line over it.
grep -qx 'label weekly' "$T"/m/week-1/coldmail-*/MANIFEST ||
    fail "config label not used"
# A pack with no store on the command line packed the config's store.
grep -q "^store store $T/store\$" "$T"/m/week-1/coldmail-*/MANIFEST ||
    fail "config store not used"

BUMP=3600 at 21 "$COLDMAIL" status "${C[@]}" --json >"$T/s1.json" ||
    fail "status"
[ "$(jq -r .due_next.label "$T/s1.json")" = week-1 ] || fail "due: $(cat "$T/s1.json")"
[ "$(jq -r .due_next.overdue "$T/s1.json")" = false ] || fail "overdue early"
[ "$(jq -r .ok "$T/s1.json")" = true ] ||
    fail "warnings in week 4: $(jq -c .warnings "$T/s1.json")"
[ "$(jq -r '.media | length' "$T/s1.json")" = 4 ] || fail "media count"
[ "$(jq -r '.media[3].newest_set.kind' "$T/s1.json")" = full ] ||
    fail "week-4 newest kind"
[ "$(jq -r '.media[0].verified_at' "$T/s1.json")" != null ] ||
    fail "the pack's read-back is a verification"
BUMP=3600 expect_code 0 at 21 "$COLDMAIL" status "${C[@]}" --check
assert_contains "$T/out" "due next: week-1 (after week-4 in the rotation)"
assert_contains "$T/out" "no warnings"

# The examples' pre-check: the medium mounted must be the one due.
PRE=$SRCDIR/examples/coldmail-precheck.sh
export COLDMAIL_PRECHECK_ALLOW_DIR=1
BUMP=3600 expect_code 1 at 21 env COLDMAIL="$COLDMAIL" sh "$PRE" \
    "$T/m/week-2" "${C[@]}"
assert_contains "$T/err" "is \"week-2\", but \"week-1\" is due"
BUMP=3600 expect_code 0 at 21 env COLDMAIL="$COLDMAIL" sh "$PRE" \
    "$T/m/week-1" "${C[@]}"
assert_contains "$T/err" "medium \"week-1\" at $T/m/week-1 is the one due"
mkdir "$T/unlabelled"
expect_code 1 env COLDMAIL="$COLDMAIL" sh "$PRE" "$T/unlabelled" "${C[@]}"
assert_contains "$T/err" "not a coldmail medium"
unset COLDMAIL_PRECHECK_ALLOW_DIR
expect_code 1 env COLDMAIL="$COLDMAIL" sh "$PRE" "$T/m/week-1" "${C[@]}"
assert_contains "$T/err" "nothing is mounted there"

# Week 6, nothing written since week 4: week-1 is overdue, week-2 is not.
at 35 "$COLDMAIL" status "${C[@]}" --json >"$T/s2.json" || fail "status"
[ "$(jq -r .due_next.label "$T/s2.json")" = week-1 ] || fail "due week 6"
[ "$(jq -r .due_next.overdue "$T/s2.json")" = true ] || fail "not overdue"
jq -e '.warnings[] | select(.kind == "overdue" and .medium == "week-1")' \
    "$T/s2.json" >/dev/null || fail "no overdue warning for week-1"
jq -e '.warnings[] | select(.kind == "overdue" and .medium == "week-2")' \
    "$T/s2.json" >/dev/null && fail "week-2 reported overdue"
jq -e '.warnings[] | select(.kind == "run-overdue")' "$T/s2.json" \
    >/dev/null || fail "no run-overdue warning"
[ "$(jq -r '.media[0].warnings[0]' "$T/s2.json")" = overdue ] ||
    fail "week-1's own warnings"
expect_code 1 at 35 "$COLDMAIL" status "${C[@]}" --check
assert_contains "$T/out" "overdue: week-1: not written for 35d (its turn comes every 28d)"

# ------------------------------------------------------------ three chains
# max-chain 1: full, incremental, full, incremental, full on week-1.
BUMP=0 pack 35 week-1
[ "$(kind_of_pack)" = incremental ] || fail "second set on week-1 not incremental"
BUMP=3600 pack 35 week-1
[ "$(kind_of_pack)" = full ] || fail "max-chain 1 from the config not honoured"
BUMP=7200 pack 35 week-1
[ "$(kind_of_pack)" = incremental ] || fail "4th set"
# The command line wins over the config: --max-chain 5 allows a 2nd
# incremental; --label overrides.
BUMP=9000 pack 35 week-1 --max-chain 5 --label override
[ "$(kind_of_pack)" = incremental ] || fail "--max-chain did not override"
grep -qx 'label override' "$(jq -r .set_dir "$T/pack.json")/MANIFEST" ||
    fail "--label did not override"
BUMP=10800 pack 35 week-1
[ "$(kind_of_pack)" = full ] || fail "6th set"
M1=$T/m/week-1
mapfile -t SETS < <(cd "$M1" && ls -d coldmail-*)
[ ${#SETS[@]} = 6 ] || fail "expected 6 sets on week-1, got ${#SETS[@]}"
# Chains: [0 1] [2 3 4] [5].  Keeping 2 restorable points keeps sets 4
# and 5, hence chains 2 and 3: exactly the oldest chain goes.
ls "$M1" >"$T/before.ls"
expect_code 0 "$COLDMAIL" prune "$M1" --keep 2 --dry-run "${C[@]}"
cp "$T/out" "$T/dry.out"
ls "$M1" >"$T/after-dry.ls"
assert_same_file "$T/before.ls" "$T/after-dry.ls"
awk '$1 == "would" && $2 == "remove" {print $NF}' "$T/dry.out" >"$T/dry.names"
printf '%s\n' "${SETS[0]}" "${SETS[1]}" >"$T/want.names"
assert_same_file "$T/want.names" "$T/dry.names"
assert_contains "$T/dry.out" "dry run: would remove 2 sets (1 whole chain)"

# A hold on the oldest chain's incremental keeps the whole chain.
expect_code 0 "$COLDMAIL" hold "$M1/${SETS[1]}" --reason "case 2026-17" "${C[@]}"
assert_contains "$T/out" "recorded in the state"
HOLD=$M1/COLDMAIL-HOLD.${SETS[1]}
{ [ -f "$HOLD" ] && [ -f "$HOLD.minisig" ]; } || fail "no hold file"
assert_contains "$HOLD" "reason case 2026-17"
expect_code 2 "$COLDMAIL" hold "$M1/${SETS[1]}" --reason again "${C[@]}"
assert_contains "$T/err" "already held (reason: case 2026-17)"
expect_code 0 "$COLDMAIL" prune "$M1" --keep 2 "${C[@]}"
assert_contains "$T/out" "held: case 2026-17"
assert_contains "$T/out" "removed 0 sets"
for s in "${SETS[@]}"; do [ -d "$M1/$s" ] || fail "$s removed under hold"; done
# Without the state, the hold file alone still protects.
expect_code 0 "$COLDMAIL" prune "$M1" --keep 2 --dry-run \
    --state-dir "$T/no-state" --config "$T/empty.conf"
assert_contains "$T/out" "would remove 0 sets"
assert_contains "$T/out" "no state: worked from the medium alone"
# A tampered hold file does not verify, and still protects.
cp "$HOLD" "$T/hold.orig"
sed -i 's/^reason .*/reason forged/' "$HOLD"
expect_code 0 "$COLDMAIL" prune "$M1" --keep 2 "${C[@]}"
assert_contains "$T/err" "${SETS[1]}: kept: its hold file does not verify"
for s in "${SETS[@]}"; do [ -d "$M1/$s" ] || fail "$s removed under hold"; done
# The hold file alone protects it, without the state.
expect_code 0 "$COLDMAIL" prune "$M1" --keep 2 --dry-run -s "$T/sign.key" \
    --state-dir "$T/no-state" --config "$T/empty.conf"
assert_contains "$T/err" "${SETS[1]}: kept: its hold file does not verify"
assert_contains "$T/out" "would remove 0 sets"
# ... and cannot be released with the key.
expect_code 5 "$COLDMAIL" hold "$M1/${SETS[1]}" --release "${C[@]}"
assert_contains "$T/err" "not released"
# A genuine hold file copied to name another set holds that set too, but
# is no hold of it that can be released.
cp "$T/hold.orig" "$M1/COLDMAIL-HOLD.${SETS[3]}"
cp "$HOLD.minisig" "$M1/COLDMAIL-HOLD.${SETS[3]}.minisig"
expect_code 4 "$COLDMAIL" hold "$M1/${SETS[3]}" --release "${C[@]}"
assert_contains "$T/err" "names another set than ${SETS[3]}"
rm "$M1/COLDMAIL-HOLD.${SETS[3]}" "$M1/COLDMAIL-HOLD.${SETS[3]}.minisig"
cp "$T/hold.orig" "$HOLD"
expect_code 0 "$COLDMAIL" hold "$M1/${SETS[1]}" --release "${C[@]}"
assert_contains "$T/out" "the release is recorded in the state"
[ ! -e "$HOLD" ] || fail "hold file left"
[ ! -e "$HOLD.minisig" ] || fail "hold signature left"
expect_code 2 "$COLDMAIL" hold "$M1/${SETS[1]}" --release "${C[@]}"
assert_contains "$T/err" "is not held"

# Released: the real run removes what the dry run named, and no more.
expect_code 0 "$COLDMAIL" prune "$M1" --keep 2 "${C[@]}"
awk '$1 == "remove" {print $NF}' "$T/out" >"$T/real.names"
assert_same_file "$T/dry.names" "$T/real.names"
assert_contains "$T/out" "removed 2 sets (1 whole chain)"
mapfile -t LEFT < <(cd "$M1" && ls -d coldmail-*)
[ "${LEFT[*]}" = "${SETS[*]:2}" ] || fail "left on week-1: ${LEFT[*]}"
for f in "$M1"/*.removing; do
    if [ -e "$f" ]; then fail "left: $f"; fi
done
# Prune again: nothing more to remove; and the rest verifies.
expect_code 0 "$COLDMAIL" prune "$M1" --keep 2 "${C[@]}"
assert_contains "$T/out" "removed 0 sets"
expect_code 0 "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" "$M1"
# An interrupted prune's leftover is finished by the next prune.
mkdir "$M1/${SETS[0]}.removing" && : >"$M1/${SETS[0]}.removing/vol-0001.tar.zst.age"
expect_code 0 "$COLDMAIL" prune "$M1" --keep 2 "${C[@]}"
assert_contains "$T/err" "${SETS[0]}.removing: finishing the removal"
[ ! -e "$M1/${SETS[0]}.removing" ] || fail "leftover not removed"
expect_code 2 "$COLDMAIL" prune "$M1" --keep 0 "${C[@]}"

# The state marks the removed sets.
at 36 "$COLDMAIL" status "${C[@]}" --json >"$T/s3.json" || fail "status"
[ "$(jq -r '.media[0].sets' "$T/s3.json")" = 4 ] ||
    fail "week-1 sets after prune: $(jq -c '.media[0]' "$T/s3.json")"

# ------------------------------------------------------------ state rebuild
HEAD=$(jq -r .chain_head "$T/s3.json")
rm -rf "$T/state"
expect_code 2 at 36 "$COLDMAIL" status "${C[@]}"
assert_contains "$T/err" "coldmail state rebuild"
expect_code 0 "$COLDMAIL" state rebuild "$T"/m/week-* "${C[@]}"
assert_contains "$T/out" "medium \"week-1\": 4 sets, 4 recorded anew"
assert_contains "$T/out" "chain head: sequence $HEAD on week-1"
assert_contains "$T/out" "a full set (no object listing)"
at 36 "$COLDMAIL" status "${C[@]}" --json >"$T/s4.json" || fail "status"
[ "$(jq -r .chain_head "$T/s4.json")" = "$HEAD" ] || fail "chain head"
for i in 0 1 2 3; do
    [ "$(jq -r ".media[$i].label" "$T/s4.json")" = "week-$((i + 1))" ] ||
        fail "medium $i after rebuild"
    [ "$(jq -r ".media[$i].newest_set.sequence" "$T/s4.json")" = \
        "$(jq -r ".media[$i].newest_set.sequence" "$T/s3.json")" ] ||
        fail "medium $i: newest set after rebuild"
done
[ "$(jq -r .due_next.label "$T/s4.json")" = week-2 ] || fail "due after rebuild"
# Rebuilding again adds nothing.
expect_code 0 "$COLDMAIL" state rebuild "$T"/m/week-* "${C[@]}"
assert_contains "$T/out" "7 sets, 0 recorded anew"
# The next pack on week-2 is full (no listing), and continues the chain.
pack 42 week-2
[ "$(kind_of_pack)" = full ] || fail "pack after rebuild: $(kind_of_pack)"
[ "$(jq -r .chain_break "$T/pack.json")" = false ] || fail "chain break"
[ "$(jq -r .sequence "$T/pack.json")" = $((HEAD + 1)) ] || fail "sequence"
# ... and the one after it is incremental again.
BUMP=60 pack 42 week-2
[ "$(kind_of_pack)" = incremental ] || fail "no incremental after a full"
exit 0
