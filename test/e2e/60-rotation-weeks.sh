# e2e/60-rotation-weeks: eight weeks of rotation on four labelled media
# (week-1..week-4), on a store that changes every week (mutate.py below:
# new mail delivered, flags changed, messages moved between folders and
# expunged, an mbox file appended to and expunged from, dovecot-uidlist
# rewritten), with one more run the day after week 8.  Weeks 1-4 write a
# full set on each medium; weeks 5-8 an incremental on the set of four
# weeks before; the extra run an incremental on week 8's incremental.
#
# After every run, every point in time held on every medium so far is
# restored from its medium alone and compared with the snapshot of the
# store taken that week (names, contents, modes, mtimes): deleted messages
# are absent, flag renames and moves applied, the mbox as it was.  An
# incremental set is much smaller than the full set it rests on (the
# figures are printed; asserted below 20%), and the changed mbox file is
# kept in segments, not stored again.  At the end: restore --at picks the
# right set among all media; verify --deep checks every set, reading held
# objects and segments from the other sets given; verify --chain is clean.
. "$(dirname "$0")/../lib.sh"

need python3 jq

DAY=86400
T0=1790000000
STORE=$T/store

cat >"$T/mutate.py" <<'EOF'
"""A week in the life of a mail store (deterministic per week)."""
import base64, os, random, re, sys

root, week = sys.argv[1], int(sys.argv[2])
r = random.Random(6000 + week)
FOLDERS = ["", ".Sent", ".Archive", ".Lists.dev"]

def text(n):
    raw = base64.b64encode(r.randbytes(n * 3 // 4)).decode()
    return "\n".join(raw[i:i + 76] for i in range(0, len(raw), 76)) + "\n"

def message(uid):
    return ("From: sender%d@example.org\nTo: user@example.org\n"
            "Subject: message %d of week %d\nMessage-ID: <%d.w%d@example.org>\n"
            "Date: Mon, 1 Jan 2029 00:00:00 +0000\n\n" % (uid, uid, week, uid, week)
            + text(r.randint(4000, 12000)))

def listing(folder, sub):
    d = os.path.join(root, folder, sub)
    return sorted(os.listdir(d)) if os.path.isdir(d) else []

def deliver(uid, folder, sub, flags):
    name = "%d.M%dP%d.mail:2,%s" % (1800000000 + uid, uid, week, flags)
    if sub == "new":
        name = name.split(":2,")[0]
    with open(os.path.join(root, folder, sub, name), "w") as f:
        f.write(message(uid))

def mbox_record(i):
    return ("From list%d@example.org Mon Jan  1 00:00:%02d 2029\n"
            "From: list%d@example.org\nSubject: list mail %d\n\n" % (i, i % 60, i, i)
            + text(r.randint(2000, 6000)) + "\n")

state = os.path.join(root, ".uid")
uid = int(open(state).read()) if os.path.exists(state) else 0
mbox = os.path.join(root, "mail", "lists.mbox")
if week == 0:
    for f in FOLDERS:
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(root, f, sub), exist_ok=True)
        if f:
            open(os.path.join(root, f, "maildirfolder"), "w").close()
    os.makedirs(os.path.join(root, "mail"))
    with open(os.path.join(root, "subscriptions"), "w") as f:
        f.write("Sent\nArchive\nLists.dev\n")
    for i in range(260):
        uid += 1
        deliver(uid, r.choice(FOLDERS), "cur", r.choice(["", "S", "RS", "FS"]))
    with open(mbox, "w") as f:
        for i in range(40):
            f.write(mbox_record(i))
else:
    for i in range(6):                      # new mail
        uid += 1
        deliver(uid, r.choice(["", "", ".Lists.dev"]), r.choice(["new", "cur"]), "")
    cur = [(f, n) for f in FOLDERS for n in listing(f, "cur")]
    for f, n in r.sample(cur, 8):           # flag changes
        base = n.split(":2,")[0]
        flags = "".join(sorted(set(n.split(":2,")[1] if ":2," in n else "") | {r.choice("FRS")}))
        os.rename(os.path.join(root, f, "cur", n), os.path.join(root, f, "cur", base + ":2," + flags))
    for n in listing("", "new")[:3]:        # read: new/ -> cur/
        os.rename(os.path.join(root, "new", n), os.path.join(root, "cur", n + ":2,S"))
    cur = [(f, n) for f in FOLDERS for n in listing(f, "cur")]
    for f, n in r.sample([c for c in cur if c[0] != ".Archive"], 5):   # moves
        os.rename(os.path.join(root, f, "cur", n), os.path.join(root, ".Archive", "cur", n))
    cur = [(f, n) for f in FOLDERS for n in listing(f, "cur")]
    for f, n in r.sample(cur, 4):           # expunges
        os.unlink(os.path.join(root, f, "cur", n))
    recs = [x for x in re.split(r"(?m)^(?=From )", open(mbox).read()) if x]
    if week % 2 == 0:                        # an expunge from the mbox
        del recs[r.randrange(1, len(recs) - 1)]
    recs += [mbox_record(100 * week + i) for i in range(2)]   # an append
    with open(mbox, "w") as f:
        f.write("".join(recs))
with open(os.path.join(root, "dovecot-uidlist"), "w") as f:
    f.write("3 V1700000000 N%d G0123456789abcdef\n" % (uid + 1))
with open(state, "w") as f:
    f.write(str(uid))
EOF
mutate() { python3 "$T/mutate.py" "$STORE" "$1" || fail "mutate week $1"; }

mkdir -p "$STORE"
mutate 0
COLDMAIL_TEST_SEED=601 "$COLDMAIL" keygen -o "$T/sign.key" >/dev/null 2>&1 ||
    fail "keygen"
RCPT=$(COLDMAIL_TEST_SEED=602 "$COLDMAIL_RESTORE" keygen -o "$T/id.txt" \
    2>/dev/null) || fail "restore keygen"
K=$(tail -n 1 "$T/sign.key.pub")

# snapshot WEEK, pack: the store as it is, then a set of it
snapshot() {
    rm -rf "${T:?}/snap/$1"
    mkdir -p "$T/snap/$1"
    cp -a "$STORE" "$T/snap/$1/"
    rm -f "$T/snap/$1/store/.uid"
}
pack() { # TIME MEDIUM POINT: JSON in $T/json/POINT
    mkdir -p "$T/m/$2" "$T/json"
    COLDMAIL_TEST_NOW=$1 "$COLDMAIL" pack -q -o "$T/m/$2" --init-label "$2" \
        -r "$RCPT" -s "$T/sign.key" --state-dir "$T/state" --parity 0 \
        --host vm --exclude .uid --json "$STORE" >"$T/json/$3" 2>"$T/pack.err" ||
        { cat "$T/pack.err" >&2; fail "pack of $3 to $2"; }
    set_dir=$(jq -r .set_dir "$T/json/$3")
    printf '%s %s\n' "$(basename "$set_dir")" "$3" >>"$T/points"
}
point_of() { awk -v s="$1" '$1 == s { print $2 }' "$T/points"; }

# Every set of every medium, restored from its medium alone.
check_all() {
    for medium in "$T"/m/*; do
        for set in "$medium"/coldmail-*; do
            [ -d "$set" ] || continue
            p=$(point_of "$(basename "$set")")
            rm -rf "${T:?}/r"
            "$COLDMAIL_RESTORE" restore -q -i "$T/id.txt" -P "$K" -o "$T/r" \
                "$set" 2>"$T/restore.err" ||
                { cat "$T/restore.err" >&2; fail "restore of $p from $medium"; }
            assert_same_tree "$T/snap/$p/store" "$T/r/store"
            checked=$((checked + 1))
        done
    done
}

checked=0
for w in 1 2 3 4 5 6 7 8; do
    [ "$w" = 1 ] || mutate "$w"
    snapshot "w$w"
    pack $((T0 + w * 7 * DAY)) "week-$(((w - 1) % 4 + 1))" "w$w"
    want=full
    [ "$w" -le 4 ] || want=incremental
    [ "$(jq -r .kind "$T/json/w$w")" = "$want" ] ||
        fail "week $w: $(jq -r .kind "$T/json/w$w"), not $want"
    check_all
done
mutate 9
snapshot w8b
pack $((T0 + 57 * DAY)) week-4 w8b
[ "$(jq -r .kind "$T/json/w8b")" = incremental ] || fail "day after week 8: not incremental"
[ "$(jq -r .base_set "$T/json/w8b")" = "$(jq -r .set_id "$T/json/w8")" ] ||
    fail "day after week 8: its base is not week 8's set"
check_all
echo "restored $checked points in time, each equal to its week's store"

# ------------------------------------------------------------ sizes
for w in 5 6 7 8 8b; do
    base=$(( ${w%b} - 4 ))
    [ "$w" = 8b ] && base=8
    full=$(jq .bytes_written "$T/json/w$base")
    [ "$w" = 8b ] && full=$(jq .bytes_written "$T/json/w4")
    inc=$(jq .bytes_written "$T/json/w$w")
    printf 'week %-3s incremental %8d bytes, full set of its medium %8d bytes (%d%%)\n' \
        "$w" "$inc" "$full" $((100 * inc / full))
    [ $((100 * inc)) -lt $((20 * full)) ] ||
        fail "week $w: incremental $inc bytes is not below 20% of $full"
done

# The mbox file of an incremental: kept in segments, only new bytes stored.
S8=$(jq -r .set_dir "$T/json/w8")
"$COLDMAIL_RESTORE" ls --json -i "$T/id.txt" -P "$K" --path store/mail/lists.mbox \
    "$S8" >"$T/ls.json" 2>/dev/null || fail "ls"
jq -e 'select(.mbox_variant != null) | (.segments | length) >= 2 and
       .len < .size / 4' "$T/ls.json" >/dev/null ||
    { cat "$T/ls.json" >&2; fail "the mbox of week 8 is not in segments"; }

# cat and audit read through the base chain too.
"$COLDMAIL_RESTORE" cat -i "$T/id.txt" -P "$K" --path store/mail/lists.mbox \
    "$S8" >"$T/lists.mbox" 2>"$T/cat.err" || { cat "$T/cat.err" >&2; fail "cat"; }
assert_same_file "$T/snap/w8/store/mail/lists.mbox" "$T/lists.mbox"
expect_code 0 "$COLDMAIL_RESTORE" audit -i "$T/id.txt" -P "$K" --sample 40 \
    --seed 60 "$S8"
assert_contains "$T/out" "PASSED: 40 passed, 0 failed"

# ------------------------------------------------------------ --at
# Between weeks 6 and 7, with every medium given: week 6's set.
expect_code 0 "$COLDMAIL_RESTORE" restore -q -i "$T/id.txt" -P "$K" -o "$T/at" \
    --at "$(date -u -d "@$((T0 + 45 * DAY))" +%Y-%m-%d)" "$T"/m/week-*
assert_contains "$T/err" "$(jq -r .set_dir "$T/json/w6" | xargs basename)"
assert_same_tree "$T/snap/w6/store" "$T/at/store"

# A point in time whose base is not given, nor beside it: what it holds is
# listed as lost, the rest restored.
mkdir -p "$T/alone"
cp -a "$S8" "$T/alone/"
expect_code 1 "$COLDMAIL_RESTORE" restore -i "$T/id.txt" -P "$K" -o "$T/partial" \
    "$T/alone/$(basename "$S8")"
assert_contains "$T/err" "which is neither among the sets given nor beside this set"
assert_contains "$T/err" "LOST:"
# ... and with the base's medium given as well, all of it.
expect_code 0 "$COLDMAIL_RESTORE" restore -q -i "$T/id.txt" -P "$K" -o "$T/whole" \
    "$T/alone/$(basename "$S8")" "$T/m/week-4"
assert_same_tree "$T/snap/w8/store" "$T/whole/store"

# ------------------------------------------------------------ verify
expect_code 0 "$COLDMAIL_RESTORE" verify --deep -i "$T/id.txt" -P "$K" "$T"/m/week-*
assert_contains "$T/out" "summary: 9 sets checked: 9 OK, 0 damaged; chain: 0 problems"
grep -E "deep: .* 0 not good" "$T/out" >/dev/null || { cat "$T/out" >&2; fail "deep"; }
assert_not_contains "$T/out" "not checked"
expect_code 0 "$COLDMAIL_RESTORE" verify --chain -P "$K" "$T"/m/week-*
for w in 1 2 3 4 5 6 7 8; do
    grep -E "^  vm +$w  coldmail-vm-[^ ]+  week-$(((w - 1) % 4 + 1)) " "$T/out" \
        >/dev/null || { cat "$T/out" >&2; fail "chain row $w"; }
done
echo "rotation: 8 weeks on 4 media, every point in time restored"
