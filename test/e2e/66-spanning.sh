#!/usr/bin/env bash
# Spanning media: a set across three small media (ext4 images on loop
# devices where mount -o loop is permitted, else directories with the
# COLDMAIL_TEST_MEDIUM_SIZE hook); the --next-medium hook hands out the next
# one; each part verifies alone and says where the others are; restore
# with all parts gives the store back; restore with a part missing lists
# exactly the objects on it, as on that part; a run that gets no next
# medium stops cleanly with an incomplete set; without a hook a full
# medium fails the run and commits nothing.  SPAN_NO_LOOP=1 forces the
# directories.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/restore-common.bash"
need python3 age zstd tar

make_keys
mkdir -p "$T/spool" "$T/tmp"
export TMPDIR=$T/tmp

# --- three media.
MOUNTED=()
unmount_all() {
    for m in "${MOUNTED[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
}
trap 'unmount_all; cleanup' EXIT
LOOP=0
if [ "${SPAN_NO_LOOP:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v mkfs.ext4 >/dev/null 2>&1; then
    LOOP=1
    for n in 1 2 3; do
        mkdir -p "$T/m$n"
        truncate -s 16M "$T/img$n"
        mkfs.ext4 -q -m 0 "$T/img$n" &&
            mount -o loop "$T/img$n" "$T/m$n" 2>/dev/null || { LOOP=0; break; }
        MOUNTED+=("$T/m$n")
    done
fi
if [ "$LOOP" = 0 ]; then
    unmount_all
    MOUNTED=()
    echo "mount -o loop not permitted: directories with a size limit" >&2
    export COLDMAIL_TEST_MEDIUM_SIZE=14000000
    for n in 1 2 3; do mkdir -p "$T/m$n"; done
fi
for n in 1 2 3; do
    "$COLDMAIL" media init "$T/m$n" --label "span-$n" -s "$T/sign.key" >/dev/null 2>&1 ||
        fail "media init m$n"
done
free=$(python3 -c "import os,sys; v=os.statvfs(sys.argv[1]); print(v.f_bavail*v.f_frsize)" "$T/m1")
[ "$LOOP" = 1 ] || free=14000000

# --- a store of incompressible mail worth about two and a half media.
python3 - "$T/src/mail" "$free" <<'PY'
import os, random, sys
root, free = sys.argv[1], int(sys.argv[2])
rnd = random.Random(66)
for sub in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(root, sub), exist_ok=True)
total, i, want = 0, 0, int(free * 1.75)
while total < want:
    size = rnd.randrange(40000, 400000)
    name = "%d.M%dP%d.span:2,S" % (1600000000 + i, i, 7000 + i)
    with open(os.path.join(root, "cur", name), "wb") as f:
        f.write(b"From: a@example.org\nSubject: %d\n\n" % i)
        f.write(rnd.randbytes(size))
    os.utime(os.path.join(root, "cur", name), ns=(1600000000123456789 + i, 1600000000123456789 + i))
    total += size
    i += 1
PY

cat >"$T/next.sh" <<EOF
#!/bin/sh
echo "\$COLDMAIL_PART \$COLDMAIL_FULL_LABEL \$COLDMAIL_SET" >>"$T/hook.log"
[ "\$COLDMAIL_PART" -le 3 ] || { echo "no medium for part \$COLDMAIL_PART" >&2; exit 1; }
echo "$T/m\$COLDMAIL_PART"
EOF
chmod +x "$T/next.sh"

PACK=("$COLDMAIL" pack -r "$RECIPIENT" -s "$T/sign.key" --state-dir "$T/state"
      --spool-dir "$T/spool" --volume-size 4M)
expect_code 0 "${PACK[@]}" -o "$T/m1" --next-medium "$T/next.sh" "$T/src/mail"
cp "$T/err" "$T/pack.err"
assert_contains "$T/pack.err" 'medium "span-1" is full: part 1 of the set is committed on it'
assert_contains "$T/pack.err" 'medium "span-2" is full: part 2 of the set is committed on it'
assert_contains "$T/pack.err" "the set spans 3 media"
NAME=$(basename "$(ls -d "$T"/m3/coldmail-*)")
[ "$(cut -d' ' -f1,2 "$T/hook.log" | tr '\n' ' ')" = "2 span-1 3 span-2 " ] ||
    fail "hook calls: $(cat "$T/hook.log")"
grep -q " $NAME\$" "$T/hook.log" || fail "COLDMAIL_SET not given to the hook"
P1=$T/m1/$NAME P2=$T/m2/$NAME P3=$T/m3/$NAME
for p in "$P1" "$P2" "$P3"; do [ -d "$p" ] || fail "no part at $p"; done
ls "$T"/m*/ | grep -q incomplete && fail "an incomplete directory was left"
[ -z "$(ls -A "$T/spool")" ] || fail "the spool is not empty"
# MANIFEST: each part its own medium, the last one the total.
grep -qx "part 1" "$P1/MANIFEST" && ! grep -q "^parts-total" "$P1/MANIFEST" || fail "part 1 MANIFEST"
grep -qx "part 2" "$P2/MANIFEST" && ! grep -q "^parts-total" "$P2/MANIFEST" || fail "part 2 MANIFEST"
grep -qx "part 3" "$P3/MANIFEST" && grep -qx "parts-total 3" "$P3/MANIFEST" || fail "part 3 MANIFEST"
grep -q "^part-medium 3 [0-9a-f]* [0-9]* span-3\$" "$P3/MANIFEST" || fail "no part-medium 3"
grep -qx "medium span-2" "$P2/MANIFEST" || fail "part 2 is not on span-2"
[ -f "$P3/catalog.jsonl.zst.age" ] || fail "the catalog is not on the last part"
for p in "$P1" "$P2"; do
    [ ! -e "$p/catalog.jsonl.zst.age" ] && [ ! -e "$p/RESTORE.txt" ] || fail "$p: catalog or RESTORE.txt"
done
# Volumes numbered across the parts, each on one medium only.
v1=$(ls "$P1" | grep -c '^vol-[0-9]*\.tar\.zst\.age$')
v2=$(ls "$P2" | grep -c '^vol-[0-9]*\.tar\.zst\.age$')
[ "$v1" -ge 1 ] && [ "$v2" -ge 1 ] || fail "parts 1 and 2 hold no volume"
[ -f "$P2/$(printf 'vol-%04d.tar.zst.age' $((v1 + 1)))" ] || fail "part 2 does not go on with volume $((v1 + 1))"
[ "$(ls "$T"/m*/"$NAME"/vol-*.age | xargs -n1 basename | sort | uniq -d)" = "" ] || fail "a volume on two media"

# --- each part verifies alone, and says where the others are.
expect_code 0 "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" "$P1"
assert_contains "$T/out" "OK  $NAME"
assert_contains "$T/out" "part 1 of a set that spans media; the parts after it, with the catalog, are on other media"
expect_code 0 "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" "$T/m2"
assert_contains "$T/out" "part 2 of a set that spans media; part 1 (medium span-1) is on another medium"
expect_code 0 "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" "$P3"
assert_contains "$T/out" "part 3 of 3 of a set that spans media (the last, with the catalog); parts 1 (medium span-1) and 2 (medium span-2) are on other media"
assert_not_contains "$T/out" "missing"
# Together, with the chain: one set.
expect_code 0 "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" "$P1" "$P2" "$P3"
assert_contains "$T/out" "3 sets checked: 3 OK"
assert_contains "$T/out" "chain: 0 problems"
[ "$(grep -c "$NAME  span-3" "$T/out")" = 1 ] || fail "the chain does not show the set once, on span-3"
# Deep, on the last part with the others given.
expect_code 0 "$COLDMAIL_RESTORE" verify --deep -i "$T/id.txt" -p "$T/sign.key.pub" "$P1" "$P2" "$P3"
assert_contains "$T/out" "0 not good"
# Damage on part 2 is found on part 2.
cp "$(ls "$P2"/vol-*.age | head -1)" "$T/vol.saved"
victim=$(ls "$P2"/vol-*.age | head -1)
python3 -c "
import sys
f = open(sys.argv[1], 'r+b'); f.seek(3000); b = f.read(1); f.seek(3000); f.write(bytes([b[0] ^ 1]))" "$victim"
expect_code 1 "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" "$P2"
assert_contains "$T/out" "$(basename "$victim"): block 0"
# ... and repaired from its parity, without the other parts (into a copy:
# the medium is full).
expect_code 0 "$COLDMAIL_RESTORE" repair -p "$T/sign.key.pub" "$P2" -o "$T/repaired"
cat "$T/out" "$T/err" >"$T/both"
assert_contains "$T/both" "$(basename "$victim"): rebuilt block 0 from parity"
assert_contains "$T/both" "rebuilt and checked, 0 beyond repair"
cmp -s "$T/vol.saved" "$T/repaired/$NAME/$(basename "$victim")" || fail "the repaired volume differs"
expect_code 0 "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" "$T/repaired/$NAME"
cp "$T/vol.saved" "$victim"

# --- restore with every part (given in any order): the store.
expect_code 0 R restore -o "$T/restored" "$P1" "$P3" "$P2"
assert_same_tree "$T/src/mail" "$T/restored/mail"

# --- restore with part 2 missing: exactly what part 2 holds is lost.
for v in "$P2"/vol-*.tar.zst.age; do
    age -d -i "$T/id.txt" "$v" | zstd -dq | tar -tf - | grep -v '/$' || true
done | LC_ALL=C sort >"$T/on-part2"
[ -s "$T/on-part2" ] || fail "part 2 holds no file"
set +e
R restore -o "$T/partial" "$P3" "$T/m1" >"$T/out" 2>"$T/err"
code=$?
set -e
[ "$code" = 1 ] || { cat "$T/err" >&2; fail "restore without part 2: exit $code"; }
grep '^  mail/' "$T/err" | sed 's/: .*//; s/^  //' | LC_ALL=C sort >"$T/lost"
diff "$T/on-part2" "$T/lost" >&2 || fail "the objects listed as lost are not those on part 2"
[ "$(grep -c '^  mail/' "$T/err")" = "$(grep -c 'is on part 2 of the set (medium span-2), which was not given' "$T/err")" ] ||
    fail "a lost object not said to be on part 2 (medium span-2)"
# Everything else is there, byte for byte.
(cd "$T/src" && find mail -type f | LC_ALL=C sort) | comm -23 - "$T/on-part2" >"$T/expected"
while read -r f; do cmp -s "$T/src/$f" "$T/partial/$f" || fail "$f not restored"; done <"$T/expected"
# Without the last part, restore asks for it.
expect_code 2 R restore -o "$T/none" "$P1" "$P2"
assert_contains "$T/err" "is part 1 of a set that spans media; its catalog is on the last part"

# --- no next medium: the run stops; part 1 stays, marked as unfinished.
for n in 4 5; do mkdir "$T/d$n"; "$COLDMAIL" media init "$T/d$n" --label "dir-$n" -s "$T/sign.key" >/dev/null 2>&1; done
cat >"$T/none.sh" <<'EOF'
#!/bin/sh
echo "no more media" >&2
exit 3
EOF
chmod +x "$T/none.sh"
export COLDMAIL_TEST_MEDIUM_SIZE=14000000
expect_code 7 "${PACK[@]}" -o "$T/d4" --next-medium "$T/none.sh" "$T/src/mail"
assert_contains "$T/err" "exited with status 3"
assert_contains "$T/err" "is INCOMPLETE: its parts 1-1 are committed on"
part=$(ls -d "$T"/d4/coldmail-*)
grep -qx "part 1" "$part/MANIFEST" || fail "the committed part is not part 1"
expect_code 0 "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" "$part"
assert_contains "$T/out" "or the set was never finished"
expect_code 2 R restore -o "$T/none2" "$part"
# Without a hook (and not at a terminal) a full medium commits nothing.
expect_code 7 "${PACK[@]}" -o "$T/d5" "$T/src/mail" </dev/null
assert_contains "$T/err" "--next-medium"
[ -z "$(ls -d "$T"/d5/coldmail-* 2>/dev/null)" ] || fail "a set was left on d5"
# The chain did not advance for either: the next set is sequence 2.
unset COLDMAIL_TEST_MEDIUM_SIZE
mkdir "$T/big"
"$COLDMAIL" media init "$T/big" --label big -s "$T/sign.key" >/dev/null 2>&1
# (With a hook that is never needed: the catalog goes through the spool,
# and the set is an ordinary one.)
expect_code 0 "${PACK[@]}" -o "$T/big" --next-medium "$T/none.sh" "$T/src/mail"
grep -qx "sequence 2" "$T"/big/coldmail-*/MANIFEST || fail "the chain advanced for an incomplete set"
grep -q "^part" "$T"/big/coldmail-*/MANIFEST && fail "a set on one medium has part lines"
[ -z "$(ls -A "$T/spool")" ] || fail "the spool is not empty"
expect_code 0 R restore -o "$T/restored-big" "$T"/big/coldmail-*
assert_same_tree "$T/src/mail" "$T/restored-big/mail"
expect_code 0 "$COLDMAIL_RESTORE" verify --chain -p "$T/sign.key.pub" "$P3" "$T/big"
assert_contains "$T/out" "chain: 0 problems"
# --- prune: a part is not a restorable point of its medium.  Alone on
# span-1, part 1 is kept (no point is kept there) and counts as no point.
expect_code 0 "$COLDMAIL" prune "$T/m1" --keep 1 --dry-run -s "$T/sign.key" --state-dir "$T/state"
assert_contains "$T/out" "keep"
assert_contains "$T/out" "part of a set that spans media"
assert_contains "$T/out" "would remove 0 sets"
assert_contains "$T/out" "0 restorable points"
# On span-3, an ordinary set newer than part 3 is the point kept, and the
# part, older than it, goes.
mkdir -p "$T/tiny/cur" "$T/tiny/new" "$T/tiny/tmp"
printf 'From: a@example.org\nSubject: tiny\n\nhello\n' >"$T/tiny/cur/1700000000.M1P1.tiny:2,S"
sleep 1 # set names sort by their second
expect_code 0 "${PACK[@]}" --full -o "$T/m3" "$T/tiny"
TINY=$(basename "$(ls -d "$T"/m3/coldmail-* | grep -v "/$NAME\$")")
expect_code 0 "$COLDMAIL" prune "$T/m3" --keep 1 -s "$T/sign.key" --state-dir "$T/state"
assert_contains "$T/out" "one of the 1 newest restorable points"
grep -q "^remove .* $NAME\$" "$T/out" || fail "prune kept part 3, older than the point kept: $(cat "$T/out")"
assert_contains "$T/out" "kept 1 set, 1 restorable point"
[ ! -e "$P3" ] && [ -d "$T/m3/$TINY" ] || fail "prune of span-3 removed the wrong set"
echo "spanning: ok ($([ "$LOOP" = 1 ] && echo "ext4 on loop devices" || echo "directories"))"
