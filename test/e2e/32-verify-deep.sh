# e2e/32-verify-deep: coldmail-restore verify --deep, with the identity.  A
# good set of Maildir messages and mbox files verifies deep; a byte flipped
# in the middle of a volume loses exactly the objects whose bytes are in
# the zstd frames that hold the age chunks of the damaged 1 MiB block (the
# expectation is computed here from the volume's age layout and seek table
# and the catalog, independently of coldmail); a damaged age header loses
# the whole volume; a catalog tampered with (re-encrypted with age, its
# MANIFEST lines updated and re-signed with the same key) passes keyless
# verify but not deep verify, which names the objects (exit 4: the signed
# catalog and MANIFEST disagree).
. "$(dirname "$0")/../lib.sh"

need age python3 jq zstd mkfifo timeout
[ -x "$TOOLDIR/tool_minisig" ] || fail "tool_minisig not built"
[ -x "$TOOLDIR/tool_zframe" ] || fail "tool_zframe not built"

BS=1048576
seed() { # N CMD...: fixed randomness, so that a failure repeats
    COLDMAIL_TEST_SEED=$1 "${@:2}"
}

# ---------------------------------------------------------------- a set
# Maildir messages and two mbox files with hard-to-compress bodies, so
# that the volumes span several frames, chunks and blocks.
python3 - "$T/store" <<'EOF'
import base64, os, random, sys
root = sys.argv[1]
r = random.Random(32)
def body(n):
    raw = r.randbytes(n)
    b = base64.b64encode(raw).decode()
    return '\n'.join(b[i:i + 76] for i in range(0, len(b), 76)) + '\n'
def message(i, tag):
    return ('From: sender%d@example.org\nTo: rcpt@example.org\n'
            'Subject: %s %d\nMessage-ID: <%s%d@example.org>\n'
            'Date: Mon, 7 Jan 2019 10:%02d:00 +0000\n\n' % (
                i, tag, i, tag, i, i % 60)) + body(r.randint(2000, 9000))
md = os.path.join(root, 'Maildir')
for sub in ('cur', 'new', 'tmp'):
    os.makedirs(os.path.join(md, sub))
for i in range(260):
    sub = 'new' if i % 5 == 0 else 'cur'
    name = '17000%05d.M%dP7.host,S=1:2,S' % (i, i) if sub == 'cur' else \
        '17000%05d.M%dP7.host' % (i, i)
    with open(os.path.join(md, sub, name), 'w') as f:
        f.write(message(i, 'md'))
os.makedirs(os.path.join(root, 'mail'))
for box in ('inbox', 'archive'):
    with open(os.path.join(root, 'mail', box), 'w') as f:
        for i in range(120):
            f.write('From sender%d@example.org Mon Jan  7 10:%02d:00 2019\n'
                    % (i, i % 60))
            f.write(message(i, box))
            f.write('\n')
EOF
seed 321 "$COLDMAIL" keygen -o "$T/sign.key" >/dev/null 2>&1 || fail "keygen"
RCPT=$(seed 322 "$COLDMAIL_RESTORE" keygen -o "$T/id.txt" 2>/dev/null) ||
    fail "keygen"
mkdir -p "$T/medium"
seed 323 "$COLDMAIL" pack -q -o "$T/medium" --init-label deep -r "$RCPT" \
    -s "$T/sign.key" --state-dir "$T/state" --volume-size 2M "$T/store" \
    >/dev/null 2>"$T/pack.err" || { cat "$T/pack.err" >&2; fail "pack"; }
SET=$(ls -d "$T"/medium/coldmail-*)
NAME=$(basename "$SET")
PUB=$(tail -n 1 "$T/sign.key.pub")
VOLS=$(awk '$1 == "volumes" { print $2 }' "$SET/MANIFEST")
[ "$VOLS" -ge 2 ] || fail "expected several volumes, got $VOLS"
age -d -i "$T/id.txt" "$SET/catalog.jsonl.zst.age" | zstd -dq >"$T/catalog.jsonl" ||
    fail "catalog by hand"
RECORDS=$(($(wc -l <"$T/catalog.jsonl") - 2))
grep -q '"mbox_index"' "$T/catalog.jsonl" || fail "no mbox messages catalogued"

deep() { # EXPECTED-EXIT DIR...
    local want=$1
    shift
    expect_code "$want" "$COLDMAIL_RESTORE" verify --json --deep -i "$T/id.txt" \
        -P "$PUB" "$@"
}

# ---------------------------------------------------------------- good
deep 0 "$SET"
jq -e --argjson n "$RECORDS" --argjson v "$VOLS" '
    .deep == true and .sets[0].status == "ok" and .sets[0].findings == [] and
    .sets[0].deep.records == $n and .sets[0].deep.good == $n and
    .sets[0].deep.not_good == 0 and .sets[0].deep.volumes == $v and
    .summary.exit == 0' "$T/out" >/dev/null ||
    { cat "$T/out" >&2; fail "deep verify of a good set"; }
expect_code 0 "$COLDMAIL_RESTORE" verify --deep -i "$T/id.txt" -P "$PUB" "$SET"
assert_contains "$T/out" "OK  $NAME"
assert_contains "$T/out" "deep: $RECORDS catalog records, $RECORDS good, 0 not good"

# ---------------------------------------------------------------- model
# expected_lost VOLFILE PLAINTEXT VOL FLIP: the catalog records of volume
# VOL whose content is in a zstd frame that holds part of an age chunk that
# overlaps the 1 MiB block holding byte FLIP (or every frame from the first
# such one, if the seek table itself is in damaged data).  One line each:
# "path<TAB>off<TAB>len", sorted.
# Optional: CATALOG (default the set's) and SETID (only records it holds).
expected_lost() {
    python3 - "$1" "$2" "$3" "$4" "${5:-$T/catalog.jsonl}" "${6:-}" <<'EOF'
import json, struct, sys
vol_file, plain_file, vol, flip, cat, holder = sys.argv[1:7]
vol, flip = int(vol), int(flip)
BS, CH, CT = 1 << 20, 65536, 65536 + 16
data = open(vol_file, 'rb').read()
i = data.index(b'\n---')
hdr = data.index(b'\n', i + 1) + 1 + 16       # header and nonce
block = (flip // BS) * BS, min((flip // BS + 1) * BS, len(data))
plain = open(plain_file, 'rb').read()
if block[0] < hdr:
    lost_plain = (0, len(plain))
else:
    c0 = (block[0] - hdr) // CT
    c1 = (block[1] - 1 - hdr) // CT
    lost_plain = (c0 * CH, (c1 + 1) * CH)
n, desc, magic = struct.unpack('<IBI', plain[-9:])
assert magic == 0x8F92EAB1
esize = 12 if desc & 0x80 else 8
table_start = len(plain) - 9 - n * esize - 8
frames, c_off, d_off = [], 0, 0
for k in range(n):
    cs, ds = struct.unpack('<II', plain[table_start + 8 + k * esize:
                                        table_start + 16 + k * esize])
    frames.append((c_off, cs, d_off, ds))
    c_off += cs
    d_off += ds
lost = [(d, d + ds) for (c, cs, d, ds) in frames
        if c < lost_plain[1] and lost_plain[0] < c + cs]
if lost and lost_plain[1] > table_start:
    lost = [(lost[0][0], 1 << 62)]
out = []
for line in open(cat):
    r = json.loads(line)
    if r.get('vol') != vol or not r.get('len') or 'sha256' not in r:
        continue
    if holder and r.get('set') != holder:
        continue
    a, b = r['off'], r['off'] + r['len']
    if any(x < b and a < y for x, y in lost):
        out.append('%s\t%d\t%d' % (r['path'], a, r['len']))
print('\n'.join(sorted(out)))
EOF
}
reported_lost() { # [SET-INDEX]
    jq -r --argjson i "${1:-0}" '.sets[$i].findings[] | select(.what == "object" and
        .problem == "lost") | "\(.path)\t\(.off)\t\(.len)"' "$T/out" | sort
}

# ---------------------------------------------------------------- damage
for v in 1 2; do
    VOL=$(printf 'vol-%04d.tar.zst.age' "$v")
    S=$(stat -c %s "$SET/$VOL")
    age -d -i "$T/id.txt" "$SET/$VOL" >"$T/plain$v" || fail "age -d $VOL"
    for off in $((S / 2)) $((S / 3)) 30; do
        rm -rf "$T/case"
        mkdir -p "$T/case"
        cp -a "$SET" "$T/case/"
        C=$T/case/$NAME
        python3 -c "
import sys
with open('$C/$VOL', 'r+b') as f:
    f.seek($off); b = f.read(1); f.seek($off); f.write(bytes([b[0] ^ 1]))"
        deep 1 "$C"
        expected_lost "$SET/$VOL" "$T/plain$v" "$v" "$off" >"$T/want"
        reported_lost >"$T/got"
        [ -s "$T/want" ] || fail "$VOL at $off: the model expects no loss"
        diff "$T/want" "$T/got" >&2 ||
            { head -c 3000 "$T/out" >&2; fail "$VOL flip at $off: lost objects differ"; }
        # Nothing else is wrong with any object; every record is counted.
        jq -e --argjson n "$RECORDS" '
            ([.sets[0].findings[] | select(.what == "object" and
                .problem != "lost" and .problem != "metadata")] | length) == 0
            and ([.sets[0].findings[] | select(.what == "entry")] | length) == 0
            and .sets[0].deep.records == $n
            and ([.sets[0].findings[] | select(.what == "region")] | length) >= 1
            and ([.sets[0].findings[] | select(.what == "blocks")] | length) == 1
            and .summary.exit == 1' "$T/out" >/dev/null ||
            { head -c 3000 "$T/out" >&2; fail "$VOL flip at $off: other findings"; }
        [ "$(jq '.sets[0].deep.not_good' "$T/out")" -ge "$(wc -l <"$T/want")" ] ||
            fail "$VOL flip at $off: not_good count"
    done
done
# The text form names the objects with their Message-IDs.
expect_code 1 "$COLDMAIL_RESTORE" verify --deep -i "$T/id.txt" -P "$PUB" "$C"
grep -E '^  [^ ].* <[a-z]+[0-9]+@example.org>: lost: in damaged data \(vol-0002\.tar\.zst\.age, tar bytes [0-9]+-[0-9]+\)$' \
    "$T/out" >/dev/null || { cat "$T/out" >&2; fail "text of a lost message"; }
# The last case above damaged the age header: the whole volume is lost,
# and what has no content there (directories) has its header in damage.
assert_contains "$T/out" "vol-0002.tar.zst.age: cannot be read at all from tar stream byte 0 on (damaged)"
python3 - "$T/catalog.jsonl" >"$T/want" <<'EOF2'
import json, sys
out = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get('vol') == 2 and not (r.get('len') and 'sha256' in r):
        out.append(r['path'] + '\n')
sys.stdout.write(''.join(sorted(out)))
EOF2
expect_code 1 "$COLDMAIL_RESTORE" verify --json --deep -i "$T/id.txt" -P "$PUB" "$C"
jq -r '.sets[0].findings[] | select(.problem == "metadata") | .path' "$T/out" |
    sort >"$T/got"
diff "$T/want" "$T/got" >&2 || fail "headers in a lost volume"

# A FIFO in a volume's place is never opened: its objects are lost.
rm -rf "$T/case"
mkdir -p "$T/case"
cp -a "$SET" "$T/case/"
C=$T/case/$NAME
rm "$C/vol-0001.tar.zst.age"
mkfifo "$C/vol-0001.tar.zst.age"
expect_code 1 timeout 60 "$COLDMAIL_RESTORE" verify --json --deep -i "$T/id.txt" -P "$PUB" "$C"
python3 - "$T/catalog.jsonl" >"$T/want" <<'EOF2'
import json, sys
out = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get('vol') == 1 and r.get('len') and 'sha256' in r:
        out.append(r['path'] + '\n')
sys.stdout.write(''.join(sorted(out)))
EOF2
jq -r '.sets[0].findings[] | select(.problem == "lost") | .path' "$T/out" |
    sort >"$T/got"
diff "$T/want" "$T/got" >&2 || fail "FIFO volume: lost objects"
jq -e '.sets[0].findings[0].text == "vol-0001.tar.zst.age: not a regular file"' \
    "$T/out" >/dev/null || { head -c 2000 "$T/out" >&2; fail "FIFO volume"; }

# ---------------------------------------------------------------- catalog
# A tampered catalog: one Maildir message's SHA-256 and one mbox message's
# changed, one Maildir message's record removed; re-encrypted to the same
# recipient, MANIFEST updated and re-signed with the signing key.
rm -rf "$T/tamper"
mkdir -p "$T/tamper"
cp -a "$SET" "$T/tamper/"
C=$T/tamper/$NAME
python3 - "$T/catalog.jsonl" "$T/tampered.jsonl" "$T/tampered.want" <<'EOF'
import json, sys
src, dst, want = sys.argv[1:4]
lines = open(src).read().splitlines()
out, notes, done = [], [], set()
for line in lines:
    r = json.loads(line)
    if r.get('kind') == 'message' and 'mbox_index' not in r and 'md' not in done:
        r['sha256'] = 'f' * 64
        done.add('md')
        notes.append('content\t%s' % r['path'])
    elif r.get('kind') == 'message' and 'mbox_index' in r and \
            r['mbox_index'] == 7 and 'mbox' not in done:
        r['sha256'] = '0' * 64
        done.add('mbox')
        notes.append('content\t%s' % r['path'])
    elif r.get('kind') == 'message' and 'mbox_index' not in r and \
            'drop' not in done and 'md' in done:
        done.add('drop')
        notes.append('entry\t%s' % r['path'])
        continue
    out.append(json.dumps(r, separators=(',', ':'), ensure_ascii=False))
n = len(out) - 2
out[-1] = json.dumps({'coldmail_catalog_end': n}, separators=(',', ':'))
open(dst, 'w').write('\n'.join(out) + '\n')
# The record dropped makes the catalog's counts disagree with MANIFEST's.
notes.append('catalog\tnull')
open(want, 'w').write('\n'.join(sorted(notes)) + '\n')
EOF
"$TOOLDIR/tool_zframe" compress <"$T/tampered.jsonl" >"$T/tampered.zst" ||
    fail "tool_zframe compress"
rm "$C/catalog.jsonl.zst.age"
age -r "$RCPT" -o "$C/catalog.jsonl.zst.age" "$T/tampered.zst" || fail "age -r"
python3 - "$C/MANIFEST" "$C/catalog.jsonl.zst.age" <<'EOF'
import hashlib, sys
man, cat = sys.argv[1:3]
data = open(cat, 'rb').read()
BS = 1 << 20
lines = open(man).read().split('\n')
out, skip = [], False
for l in lines:
    if l.startswith('file catalog.jsonl.zst.age '):
        out.append('file catalog.jsonl.zst.age %d %s' % (
            len(data), hashlib.sha256(data).hexdigest()))
        for i in range(0, max(1, (len(data) + BS - 1) // BS)):
            if len(data):
                out.append('block %d %s' % (
                    i, hashlib.sha256(data[i * BS:(i + 1) * BS]).hexdigest()))
        skip = True
        continue
    if skip and l.startswith('block '):
        continue
    skip = False
    out.append(l)
open(man, 'w').write('\n'.join(out))
EOF
COMMENT=$(sed -n 's/^trusted comment: //p' "$C/MANIFEST.minisig")
rm "$C/MANIFEST.minisig"
"$TOOLDIR/tool_minisig" sign "$T/sign.key" "$C/MANIFEST" "$COMMENT" ||
    fail "tool_minisig sign"
expect_code 0 "$COLDMAIL_RESTORE" verify -P "$PUB" "$C"
assert_contains "$T/out" "OK  $NAME"
deep 4 "$C"
jq -r '.sets[0].findings[] | if .what == "object" then
        "\(.problem)\t\(.path)" else "\(.what)\t\(.path)" end' "$T/out" |
    sort >"$T/got"
diff "$T/tampered.want" "$T/got" >&2 ||
    { cat "$T/out" >&2; fail "tampered catalog: findings"; }
jq -e '(.sets[0].findings[] | select(.what == "entry") |
        .text | test("is not in the catalog$")) and
    (.sets[0].findings[] | select(.what == "catalog") |
        .text | test("objects and [0-9]+ messages, MANIFEST says")) and
    .summary.result == "malformed"' "$T/out" >/dev/null ||
    { cat "$T/out" >&2; fail "tampered catalog: texts"; }

# ---------------------------------------------------------------- held elsewhere
# A second pack onto the same medium is incremental: the records of what
# did not change point into the first set.  Alone, they are not checked
# (a note, not a failure); with the first set given, they are checked
# there, and damage there names them.
printf 'From: new@example.org\nSubject: new\nMessage-ID: <new@example.org>\n\nnew\n' \
    >"$T/store/Maildir/new/1800000000.M1P1.host"
seed 324 "$COLDMAIL" pack -q -o "$T/medium" -r "$RCPT" -s "$T/sign.key" \
    --state-dir "$T/state" --volume-size 2M "$T/store" >/dev/null 2>"$T/pack.err" ||
    { cat "$T/pack.err" >&2; fail "second pack"; }
INC=$(grep -l '^sequence 2$' "$T"/medium/coldmail-*/MANIFEST | xargs dirname)
grep -q '^kind incremental$' "$INC/MANIFEST" ||
    { echo "the second pack is not incremental: held-elsewhere not tested" >&2; exit 0; }
BASEID=$(awk '$1 == "set-id" { print $2 }' "$SET/MANIFEST")
age -d -i "$T/id.txt" "$INC/catalog.jsonl.zst.age" | zstd -dq >"$T/inc.jsonl"
HELD=$(grep -c "\"set\":\"$BASEID\"" "$T/inc.jsonl")
[ "$HELD" -gt 0 ] || fail "the incremental set's catalog points nowhere else"
deep 0 "$INC"
jq -e --argjson h "$HELD" --arg b "$BASEID" '
    .sets[0].status == "ok" and .sets[0].deep.held_elsewhere == $h and
    .sets[0].deep.held_elsewhere_checked == 0 and
    ([.sets[0].findings[] | select(.what == "skipped" and .code == 0 and
        (.text | test("^\($h) catalog records held by set \($b), not checked")))]
        | length) == 1' "$T/out" >/dev/null ||
    { cat "$T/out" >&2; fail "incremental alone"; }
deep 0 "$INC" "$SET"
jq -e --argjson h "$HELD" '.sets[0].deep.held_elsewhere_checked == $h and
    .sets[0].findings == [] and .summary.exit == 0' "$T/out" >/dev/null ||
    { cat "$T/out" >&2; fail "incremental with its base"; }
rm -rf "$T/case"
mkdir -p "$T/case/inc" "$T/case/base"
cp -a "$INC" "$T/case/inc/"
cp -a "$SET" "$T/case/base/"
S=$(stat -c %s "$SET/vol-0001.tar.zst.age")
python3 -c "
with open('$T/case/base/$NAME/vol-0001.tar.zst.age', 'r+b') as f:
    f.seek($S // 2); b = f.read(1); f.seek($S // 2); f.write(bytes([b[0] ^ 1]))"
deep 1 "$T/case/inc/$(basename "$INC")" "$T/case/base/$NAME"
expected_lost "$SET/vol-0001.tar.zst.age" "$T/plain1" 1 $((S / 2)) \
    "$T/inc.jsonl" "$BASEID" >"$T/want"
reported_lost 0 >"$T/got"
[ -s "$T/want" ] || fail "held elsewhere: the model expects no loss"
diff "$T/want" "$T/got" >&2 ||
    { head -c 3000 "$T/out" >&2; fail "held elsewhere: lost objects differ"; }
jq -e --arg b "${BASEID:0:8}" '[.sets[0].findings[] | select(.what == "object")
    | .text | test("^.*: held by set \($b): lost: in damaged data")] | all' \
    "$T/out" >/dev/null || { cat "$T/out" >&2; fail "held elsewhere: texts"; }
exit 0
