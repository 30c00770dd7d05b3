#!/usr/bin/env bash
# audit: a seeded, reproducible sample of messages, each read by random
# access and checked against the catalog; the JSON report's fields; failure
# when a sampled message's block is damaged.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/restore-common.bash"
need python3

build_stores "$T/src"
pad=$T/src/mail/maildir/.Pad
mkdir -p "$pad/cur" "$pad/new" "$pad/tmp"
for i in $(seq -w 1 8); do
    {
        printf 'From: pad@example.org\nMessage-ID: <pad%s@example.org>\n\n' "$i"
        head -c 300000 /dev/urandom | base64
    } >"$pad/cur/17000000$i.M1P1.pad:2,S"
done
make_keys
pack_set "$T/src/mail" "$T/medium"

# --- a good set: exit 0, and a report whose fields hold.
expect_code 0 R audit "$SET" --sample 12 --seed 7 --report "$T/r1.json"
assert_contains "$T/out" "PASSED: 12 passed, 0 failed"
assert_contains "$T/out" "seed:            7"
python3 - "$T/r1.json" "$SET" "$T/src" <<'PY' || fail "report fields"
import hashlib, json, os, sys
rep = json.load(open(sys.argv[1]))
setdir, src = sys.argv[2], sys.argv[3]
manifest = open(os.path.join(setdir, "MANIFEST"), "rb").read()
fields = dict(l.split(" ", 1) for l in manifest.decode().splitlines() if " " in l)
assert rep["coldmail_audit"] == 1
assert rep["set_id"] == fields["set-id"], rep["set_id"]
assert rep["manifest_sha256"] == hashlib.sha256(manifest).hexdigest()
assert rep["signer_key_id"] == fields["signer-key-id"]
assert rep["trusted"] is True
assert rep["seed"] == "7" and rep["sample"] == 12
assert rep["population"] >= 100, rep["population"]
assert rep["summary"] == {"sampled": 12, "passed": 12, "failed": 0}
msgs = rep["messages"]
assert len(msgs) == 12
idx = [m["index"] for m in msgs]
assert idx == sorted(idx) and len(set(idx)) == 12
for m in msgs:
    assert m["result"] == "ok", m
    assert set(m) >= {"index", "path", "sha256", "result", "size"}, m
    if "mbox_index" not in m:
        # Independently: the SHA-256 of the source file.
        data = open(os.path.join(src, m["path"]), "rb").read()
        assert hashlib.sha256(data).hexdigest() == m["sha256"], m["path"]
        assert len(data) == m["size"]
    if "date" in m:
        assert m["date"].endswith("Z") and m["date"][4] == "-", m["date"]
PY

# --- reproducible with --seed; another seed, another sample.
expect_code 0 R audit "$SET" --sample 12 --seed 7 --report "$T/r2.json"
expect_code 0 R audit "$SET" --sample 12 --seed 8 --report "$T/r3.json"
python3 - "$T/r1.json" "$T/r2.json" "$T/r3.json" <<'PY' || fail "reproducibility"
import json, sys
a, b, c = (json.load(open(p))["messages"] for p in sys.argv[1:])
assert a == b
assert [m["index"] for m in a] != [m["index"] for m in c]
PY
# The report file is replaced, never left half-written.
[ "$(ls "$T" | grep -c 'r1.json.tmp')" = 0 ] || fail "temporary report left"

# --- a sample larger than the set takes every message; a random seed is
# printed so that the audit can be repeated.
expect_code 0 R audit "$SET" --sample 100000 --report "$T/all.json"
seed=$(sed -n 's/^seed: *\([0-9]*\) .*/\1/p' "$T/out")
[ -n "$seed" ] || fail "no seed printed"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["summary"]["sampled"] == r["population"]' \
    "$T/all.json" || fail "sample of all"
expect_code 0 R audit "$SET" --sample 5 --seed "$seed" --report "$T/again.json"

# --- without a trusted key: still checked, but said loudly.
expect_code 0 "$COLDMAIL_RESTORE" audit -i "$T/id.txt" "$SET" --sample 3 --seed 1 \
    --report "$T/untrusted.json"
assert_contains "$T/err" "AUTHENTICITY NOT CHECKED"
assert_contains "$T/out" "NOT checked against a trusted key"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["trusted"] is False' \
    "$T/untrusted.json" || fail "trusted should be false"

# --- usage errors.
expect_code 2 R audit "$SET"
expect_code 2 R audit "$SET" --sample 0
expect_code 2 R audit "$SET" --sample 3 --seed -1

# --- a damaged block under sampled messages: exit 1, failures reported.
dmg=$T/dmg/$(basename "$SET")
mkdir -p "$T/dmg"
cp -a "$SET" "$dmg"
python3 - "$dmg/vol-0001.tar.zst.age" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
assert len(b) > (1 << 20) + 4096, len(b)
b[(1 << 20) + 1000] ^= 0x01
open(p, "wb").write(b)
PY
expect_code 1 R audit "$dmg" --sample 100000 --seed 3 --report "$T/bad.json"
assert_contains "$T/out" "FAILED:"
assert_contains "$T/out" "unreadable"
python3 - "$T/bad.json" <<'PY' || fail "damaged report"
import json, sys
rep = json.load(open(sys.argv[1]))
bad = [m for m in rep["messages"] if m["result"] != "ok"]
assert bad and rep["summary"]["failed"] == len(bad)
assert rep["summary"]["passed"] == len(rep["messages"]) - len(bad) > 0
for m in bad:
    assert m["result"] == "unreadable", m
    assert "block 1" in m["error"], m["error"]
PY

echo "PASS [$TEST_NAME]"
