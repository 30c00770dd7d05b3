#!/usr/bin/env bash
# restore from damaged media: a flipped byte in a middle chunk, a truncated
# volume, a deleted volume, a damaged or missing catalog.  Everything
# outside the damage is restored byte for byte, exactly the objects missing
# are listed as lost (with their Message-ID), nothing unauthenticated or
# partial is written, and the exit status is 1.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/restore-common.bash"
need python3

build_stores "$T/src"
# Incompressible padding, so that volumes span several 1 MiB blocks.
pad=$T/src/mail/maildir/.Pad
mkdir -p "$pad/cur" "$pad/new" "$pad/tmp"
for i in $(seq -w 1 12); do
    {
        printf 'From: pad@example.org\nMessage-ID: <pad%s@example.org>\n' "$i"
        printf 'Subject: pad %s\nDate: Mon, 1 Jan 2024 00:00:%s +0000\n\n' "$i" "$i"
        head -c 300000 /dev/urandom | base64
    } >"$pad/cur/17000000$i.M1P1.pad:2,S"
done
make_keys
pack_set "$T/src/mail" "$T/medium" --volume-size 3M
R ls "$SET" --json >"$T/catalog.jsonl" || fail "ls"
vol1=$SET/vol-0001.tar.zst.age
[ "$(stat -c %s "$vol1")" -gt $((2 << 20)) ] || fail "vol-0001 should span 3 blocks"
[ -e "$SET/vol-0002.tar.zst.age" ] || fail "expected two volumes"

# damaged NAME: a fresh copy of the set to damage, in $D.
damaged() {
    rm -rf "$T/dmg-$1"
    mkdir -p "$T/dmg-$1"
    cp -a "$SET" "$T/dmg-$1/"
    D=$T/dmg-$1/$(basename "$SET")
}

# check_losses TARGET: the restored files are the source's, byte for byte;
# the lost list names exactly the objects missing; no temporary is left.
check_losses() {
    python3 - "$T/src" "$1" "$T/err" "$T/catalog.jsonl" <<'PY'
import json, os, re, sys
src, out, errf, catf = sys.argv[1:]
recs = [json.loads(l) for l in open(catf)]
mids = {r["path"]: r.get("message_id") for r in recs if "mbox_index" not in r}
err = open(errf, encoding="utf-8", errors="replace").read()
lost, section = {}, ""
for line in err.splitlines():
    if not line.startswith("  "):
        section = line
        continue
    m = re.match(r"  (.*?)(?: \(Message-ID (.*?)\))?: (.*)$", line)
    if m and section.startswith("lost ("):
        lost[m.group(1)] = m.group(2)
missing, written = set(), 0
for d, dirs, fs in os.walk(os.path.join(src, "mail")):
    for n in fs:
        p = os.path.join(d, n)
        rel = os.path.relpath(p, src)
        q = os.path.join(out, rel)
        if os.path.islink(p):
            assert os.readlink(q) == os.readlink(p), rel
        elif os.path.exists(q):
            assert open(p, "rb").read() == open(q, "rb").read(), "differs: " + rel
            written += 1
        else:
            missing.add(rel)
for d, dirs, fs in os.walk(out):
    for n in fs:
        assert not n.startswith(".coldmail-tmp"), "temporary left: " + n
        rel = os.path.relpath(os.path.join(d, n), out)
        assert os.path.lexists(os.path.join(src, rel)), "not in the source: " + rel
assert missing, "nothing was lost"
assert written, "nothing was restored"
assert set(lost) == missing, ("listed", set(lost) - missing, "missing", missing - set(lost))
for p, mid in lost.items():
    assert mid == mids.get(p), (p, mid)
print("%d restored, %d lost" % (written, len(missing)))
PY
}

# --- a flipped byte in a middle chunk of vol-0001 (block 1 of 0-2).
damaged flip
python3 - "$D/vol-0001.tar.zst.age" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[(1 << 20) + 300000] ^= 0x40
open(p, "wb").write(b)
PY
expect_code 1 R restore "$D" -o "$T/r-flip"
assert_contains "$T/err" "vol-0001.tar.zst.age: block 1"
assert_contains "$T/err" "completed with losses"
assert_contains "$T/err" "(Message-ID <pad"
check_losses "$T/r-flip" || fail "flipped byte"
# Objects of vol-0002 are all there.
python3 - "$T/catalog.jsonl" "$T/r-flip" <<'PY' || fail "vol-0002 objects"
import json, os, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("vol") == 2 and r["kind"] in ("file", "message") and "mbox_index" not in r:
        assert os.path.exists(os.path.join(sys.argv[2], r["path"])), r["path"]
PY
# cat of a lost object fails and names the damage; of another, works.
lost=$(sed -n 's/^  \(mail\/maildir\/\.Pad[^ ]*\) (Message-ID.*/\1/p' "$T/err" | head -1)
[ -n "$lost" ] || fail "no lost padding message"
expect_code 5 R cat "$D" --path "$lost"
assert_contains "$T/err" "block 1"
R cat "$D" --path mail/maildir/subscriptions >"$T/cat.out" ||
    fail "cat outside the damage"
assert_same_file "$T/cat.out" "$T/src/mail/maildir/subscriptions"

# --format mbox from the same damage: every message not lost is in an
# mbox file, the lost ones are listed, and only they are missing.
expect_code 1 R restore "$D" -o "$T/r-flip-mbox" --format mbox
python3 - "$T/catalog.jsonl" "$T/r-flip-mbox" "$T/err" <<'PY' || fail "--format mbox with damage"
import json, os, re, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
out, err = sys.argv[2], open(sys.argv[3]).read()
lost = set(re.findall(r"^  (.*?) \(Message-ID (.*?)\)", err, re.M))
msgs = [r for r in recs if r["kind"] == "message"]
assert lost, "nothing lost"
# The summary counts the messages written.
written = int(re.search(r"restored (\d+) messages", err).group(1))
assert written == len(msgs) - len(lost), (written, len(msgs), len(lost))
# Maildir and MH messages are quoted: their From_ lines count exactly.
want = {}
for r in msgs:
    if r.get("store") != "mbox" and (r["path"], r.get("message_id")) not in lost:
        key = r["mailbox"] + "/" + r["folder"] + ".mbox"
        want[key] = want.get(key, 0) + 1
for key, n in want.items():
    data = open(os.path.join(out, key), "rb").read()
    got = len(re.findall(rb"(?:^|\n\n)From ", data))
    assert got == n, (key, got, n)
for d, _, fs in os.walk(out):
    for f in fs:
        assert not f.startswith(".coldmail-tmp"), f
for path, mid in lost:
    assert any(r["path"] == path and r.get("message_id") == mid for r in msgs), path
PY

# --- a truncated volume: what precedes the cut is restored.
damaged trunc
truncate -s $(($(stat -c %s "$vol1") * 2 / 3)) "$D/vol-0001.tar.zst.age"
expect_code 1 R restore "$D" -o "$T/r-trunc"
check_losses "$T/r-trunc" || fail "truncated volume"

# --- a deleted volume: exactly its objects are lost.
damaged gone
rm "$D/vol-0002.tar.zst.age"
expect_code 1 R restore "$D" -o "$T/r-gone"
assert_contains "$T/err" "vol-0002.tar.zst.age"
check_losses "$T/r-gone" || fail "deleted volume"
python3 - "$T/catalog.jsonl" "$T/r-gone" <<'PY' || fail "deleted volume: not exactly its objects"
import json, os, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["kind"] in ("file", "message") and "mbox_index" not in r:
        there = os.path.exists(os.path.join(sys.argv[2], r["path"]))
        assert there == (r["vol"] != 2 or r["size"] == 0), r["path"]
PY

# --- a damaged catalog: the volumes are read instead, everything restored.
damaged cat
python3 - "$D/catalog.jsonl.zst.age" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 1
open(p, "wb").write(b)
PY
expect_code 1 R restore "$D" -o "$T/r-cat"
assert_contains "$T/err" "the catalog is unusable"
assert_contains "$T/err" "no per-object SHA-256 check"
assert_contains "$T/err" "THE CATALOG WAS UNUSABLE"
assert_same_tree "$T/src/mail" "$T/r-cat/mail"
diff <(tree_meta "$T/src/mail") <(tree_meta "$T/r-cat/mail") >&2 ||
    fail "fallback: modes or mtimes"
# Filters other than --path need the catalog.
expect_code 5 R restore "$D" -o "$T/r-cat-filter" --folder Sent
assert_contains "$T/err" "--folder needs a readable catalog"
expect_code 4 R restore "$D" -o "$T/r-cat-filter2" --since 2000-01-01
assert_contains "$T/err" "only"
expect_code 1 R restore "$D" -o "$T/r-cat-path" --path mail/maildir/.Sent
(cd "$T/r-cat-path" && find . -type f | LC_ALL=C sort) >"$T/got"
(cd "$T/src" && find ./mail/maildir/.Sent -type f | LC_ALL=C sort) >"$T/want"
diff "$T/want" "$T/got" >&2 || fail "fallback with --path"

# --- a missing catalog, and a damaged volume with it: what the damaged
# frames held is lost (unnamed), reading resumes at the next entry after
# them; about what the catalog-driven restore recovers.  One
# volume, the padding early in it and many small objects after.
medium1=$SET
pack_set "$T/src/mail" "$T/medium-one" --volume-size 8M
[ ! -e "$SET/vol-0002.tar.zst.age" ] || fail "expected one volume"
damaged one
python3 - "$D/vol-0001.tar.zst.age" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[(2 << 20) + 300000] ^= 0x40
open(p, "wb").write(b)
PY
expect_code 1 R restore "$D" -o "$T/r-one-cat"
rm "$D/catalog.jsonl.zst.age"
expect_code 1 R restore "$D" -o "$T/r-one-nocat"
assert_contains "$T/err" "the catalog is unusable"
assert_contains "$T/err" "vol-0001.tar.zst.age: tar stream bytes"
assert_contains "$T/err" "reading goes on at the next entry"
python3 - "$T/src" "$T/r-one-nocat" "$T/r-one-cat" <<'PY' || fail "missing catalog + damage"
import os, sys
src, out, withcat_dir = sys.argv[1:]
def files(root):
    got = set()
    for d, _, fs in os.walk(root):
        for f in fs:
            assert not f.startswith(".coldmail-tmp"), f
            q = os.path.join(d, f)
            rel = os.path.relpath(q, root)
            if not os.path.islink(q):
                assert open(os.path.join(src, rel), "rb").read() == \
                    open(q, "rb").read(), q
            got.add(rel)
    return got
nocat, withcat = files(out), files(withcat_dir)
# The stream also yields what precedes the damage in a frame it breaks:
# either side may keep an object or two near the damage that the other
# loses.
assert len(withcat - nocat) <= 3, sorted(withcat - nocat)
assert len(nocat - withcat) <= 3, sorted(nocat - withcat)
assert any(p.startswith("mail/vmail/") for p in nocat), "nothing after the damage"
print("without the catalog: %d restored (with it: %d)"
      % (len(nocat), len(withcat)))
PY
SET=$medium1

# A truncated volume without the catalog: the rest of it is lost.
damaged nocat-trunc
rm "$D/catalog.jsonl.zst.age"
truncate -s $(($(stat -c %s "$vol1") / 2)) "$D/vol-0001.tar.zst.age"
expect_code 1 R restore "$D" -o "$T/r-nocat-trunc"
assert_contains "$T/err" "vol-0001.tar.zst.age: the rest of this volume is lost"
[ -e "$T/r-nocat-trunc/mail/maildir/.Drafts/dovecot-uidlist" ] ||
    fail "objects before the cut should be there"

echo "PASS [$TEST_NAME]"
