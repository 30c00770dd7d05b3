#!/usr/bin/env bash
# restore, ls, cat: round trips on stores built from the real corpora
# (Maildir++ with flags and sub-folders, a provider tree, mbox files, MH),
# byte for byte with modes and mtimes; --format mbox parsed back; filters;
# refusal of a non-empty target; --merge; cat reads only what it needs.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/restore-common.bash"
need python3

build_stores "$T/src"
make_keys
pack_set "$T/src/mail" "$T/medium" --volume-size 1M
[ "$(ls "$SET"/vol-*.tar.zst.age | wc -l)" -ge 2 ] || fail "expected several volumes"

# --- the whole set, byte for byte, with modes and mtimes (ns), directories
# and the symlink included.
expect_code 0 R restore "$SET" -o "$T/restored"
assert_contains "$T/err" "restored "
assert_not_contains "$T/err" "AUTHENTICITY NOT CHECKED"
assert_same_tree "$T/src/mail" "$T/restored/mail"
tree_meta "$T/src/mail" >"$T/meta.src"
tree_meta "$T/restored/mail" >"$T/meta.out"
diff "$T/meta.src" "$T/meta.out" >&2 || fail "modes or mtimes differ"
[ "$(readlink "$T/restored/mail/subscriptions.link")" = maildir/subscriptions ] ||
    fail "symlink not restored as a link"

# Without a trusted key it still works, and says so loudly.
expect_code 0 "$COLDMAIL_RESTORE" restore -i "$T/id.txt" "$SET" -o "$T/out-untrusted"
assert_contains "$T/err" "AUTHENTICITY NOT CHECKED"
assert_same_tree "$T/src/mail" "$T/out-untrusted/mail"

# --- a non-empty target is refused and left alone.
mkdir "$T/busy"
echo keep >"$T/busy/file"
expect_code 2 R restore "$SET" -o "$T/busy"
assert_contains "$T/err" "not empty"
[ "$(ls "$T/busy")" = file ] || fail "non-empty target was written to"

# --- --merge: identical files are fine; a different one is left untouched.
expect_code 0 R restore "$SET" -o "$T/restored" --merge
assert_contains "$T/err" "already there and identical"
victim="$T/restored/mail/maildir/.Sent/dovecot-uidlist"
echo "changed by the operator" >"$victim"
cp "$victim" "$T/victim.before"
rm "$T/restored/mail/maildir/subscriptions"
expect_code 11 R restore "$SET" -o "$T/restored" --merge
assert_contains "$T/err" "left untouched"
assert_contains "$T/err" "mail/maildir/.Sent/dovecot-uidlist"
assert_same_file "$victim" "$T/victim.before"
assert_same_file "$T/restored/mail/maildir/subscriptions" \
    "$T/src/mail/maildir/subscriptions"
[ "$(grep -c '^  ' "$T/err")" = 1 ] || fail "only one conflict expected"

# --- ls: every object once, JSON records as in the catalog.
expect_code 0 R ls "$SET" --json
cp "$T/out" "$T/all.jsonl"
python3 - "$T/all.jsonl" "$T/src" <<'PY' || fail "ls --json does not list the store"
import json, os, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
src = sys.argv[2]
files = set()
for d, dirs, fs in os.walk(src):
    for n in dirs + fs:
        files.add(os.path.relpath(os.path.join(d, n), src))
files.add("mail")
listed = {r["path"] for r in recs if r.get("mbox_index") is None}
assert listed == files, (listed ^ files)
msgs = [r for r in recs if r["kind"] == "message"]
assert len(msgs) >= 100, len(msgs)
assert any(r.get("mbox_index") is not None for r in msgs)
assert {r.get("store") for r in msgs} == {"maildir", "mbox", "mh"}
PY
expect_code 0 R ls "$SET"
assert_contains "$T/out" "mail/maildir/.Sent/cur/"
assert_contains "$T/out" "<dir>"

# --- filters give exactly the expected objects.
ls_paths() { # ls_paths ARGS...: the paths listed (mbox messages as PATH[i])
    R ls "$SET" --json "$@" | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    i = r.get("mbox_index")
    print(r["path"] + ("" if i is None else "[%d]" % i))' | LC_ALL=C sort
}
expected() { # expected PY-EXPR: message files below src/mail/maildir whose
             # header h (email.message) makes PY-EXPR true
    python3 - "$T/src" "$1" <<'PY' | LC_ALL=C sort
import email, email.header, email.utils, os, sys, datetime
src, expr = sys.argv[1], sys.argv[2]
for d, _, fs in os.walk(os.path.join(src, "mail", "maildir")):
    if os.path.basename(d) not in ("cur", "new"):
        continue
    for n in fs:
        p = os.path.join(d, n)
        h = email.message_from_binary_file(open(p, "rb"))
        def text(name):
            v = h.get(name)
            if v is None:
                return ""
            return str(email.header.make_header(email.header.decode_header(str(v))))
        def date():
            try:
                return email.utils.parsedate_to_datetime(h.get("Date")).astimezone(datetime.timezone.utc)
            except Exception:
                return None
        def utc(*a):
            return datetime.datetime(*a, tzinfo=datetime.timezone.utc)
        if eval(expr):
            print(os.path.relpath(p, src))
PY
}

ls_paths --path mail/maildir --from JAMIS >"$T/got"
expected '"jamis" in text("From").lower()' >"$T/want"
[ -s "$T/want" ] || fail "test data: no From jamis"
diff "$T/want" "$T/got" >&2 || fail "--from"

ls_paths --path mail/maildir --subject "testing" >"$T/got"
expected '"testing" in text("Subject").lower()' >"$T/want"
[ -s "$T/want" ] || fail "test data: no Subject testing"
diff "$T/want" "$T/got" >&2 || fail "--subject"

ls_paths --path mail/maildir --since 2005-05-01 --until 2005-05-10 >"$T/got"
expected 'date() and utc(2005,5,1) <= date() < utc(2005,5,11)' >"$T/want"
[ "$(wc -l <"$T/want")" -ge 10 ] || fail "test data: too few dated"
diff "$T/want" "$T/got" >&2 || fail "--since/--until (a bare --until date includes its day)"
ls_paths --path mail/maildir --since 2005-05-01 --until 2005-05-10T18:00:00Z >"$T/got"
expected 'date() and utc(2005,5,1) <= date() <= utc(2005,5,10,18)' >"$T/want"
diff "$T/want" "$T/got" >&2 || fail "--until with a time"

ls_paths --message-id 3456@example.net >"$T/got"
expected 'h.get("Message-ID","").strip() == "<3456@example.net>"' >"$T/want"
[ "$(wc -l <"$T/want")" = 1 ] || fail "test data: Message-ID not unique"
diff "$T/want" "$T/got" >&2 || fail "--message-id without <>"
ls_paths --message-id '<3456@example.net>' >"$T/got2"
diff "$T/got" "$T/got2" >&2 || fail "--message-id with <>"

# --folder Sent: the folder's directory, cur/ new/ tmp/, its files; nothing
# of other folders.
ls_paths --folder Sent >"$T/got"
(cd "$T/src" && find mail/maildir/.Sent | LC_ALL=C sort) >"$T/want"
diff "$T/want" "$T/got" >&2 || fail "--folder Sent"
ls_paths --folder INBOX >"$T/got"
for p in mail/maildir mail/maildir/cur mail/maildir/dovecot-uidlist \
    mail/maildir/subscriptions mail/vmail/example.org/alice/Maildir/new \
    mail/mh/inbox/.mh_sequences mail/mh/inbox/1; do
    grep -qxF "$p" "$T/got" || fail "--folder INBOX lacks $p"
done
for p in mail/maildir/.Sent mail/maildir/.Drafts mail/mh/inbox/archive/1 \
    mail/mbox/simple.mbox.txt mail/subscriptions.link; do
    if grep -qxF "$p" "$T/got"; then fail "--folder INBOX has $p"; fi
done
ls_paths --folder mbox/simple.mbox.txt >"$T/got"
printf '%s\n' mail/mbox/simple.mbox.txt 'mail/mbox/simple.mbox.txt[0]' \
    'mail/mbox/simple.mbox.txt[1]' 'mail/mbox/simple.mbox.txt[2]' >"$T/want"
diff "$T/want" "$T/got" >&2 || fail "--folder of an mbox file"
expect_code 2 R ls "$SET" --since yesterday
assert_contains "$T/err" "--since"

# --- a filtered restore: the folder, and the directories above it with
# their own modes and mtimes.
expect_code 0 R restore "$SET" -o "$T/sent" --folder Sent
(cd "$T/sent" && find . | LC_ALL=C sort) >"$T/got"
(cd "$T/src" && { echo .; echo ./mail; echo ./mail/maildir; find ./mail/maildir/.Sent; } | LC_ALL=C sort) >"$T/want"
diff "$T/want" "$T/got" >&2 || fail "restore --folder Sent"
diff <(tree_meta "$T/src/mail/maildir/.Sent") <(tree_meta "$T/sent/mail/maildir/.Sent") >&2 ||
    fail "restore --folder: metadata"
[ "$(stat -c '%a %Y' "$T/sent/mail/maildir")" = "$(stat -c '%a %Y' "$T/src/mail/maildir")" ] ||
    fail "the folder's parent directory lost its mode or mtime"

# --- some messages of an mbox file: a partial mbox at the same path.
expect_code 0 R restore "$SET" -o "$T/part" --path mail/mbox/content-length.mbox.txt \
    --since 1970-01-01
python3 - "$T/all.jsonl" "$T/src" "$T/part" <<'PY' || fail "partial mbox"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
src, part = sys.argv[2], sys.argv[3]
p = "mail/mbox/content-length.mbox.txt"
data = open(src + "/" + p, "rb").read()
want = b""
for r in recs:
    if r["path"] == p and r.get("mbox_index") is not None and \
            r.get("date", "") >= "1970-01-01":
        m = data[r["mbox_off"]:r["mbox_off"] + r["size"]]
        want += r["mbox_from"].encode() + b"\n" + m + (b"" if m.endswith(b"\n") else b"\n") + b"\n"
got = open(part + "/" + p, "rb").read()
assert want and got == want, (len(want), len(got))
PY

# --- --format mbox: one mboxrd file per folder, parsed back.
expect_code 0 R restore "$SET" -o "$T/mbox" --format mbox
python3 - "$T/all.jsonl" "$T/src" "$T/mbox" <<'PY' || fail "--format mbox"
import json, os, re, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
src, out = sys.argv[2], sys.argv[3]

def parse_rd(data):
    """Messages of an mboxrd file, unquoted."""
    msgs, cur, prev_blank = [], None, True
    for line in data.split(b"\n")[:-1]:
        if line.startswith(b"From ") and prev_blank:
            if cur is not None:
                msgs.append(cur)
            cur = []
        else:
            cur.append(re.sub(rb"^>(>*From )", rb"\1", line))
        prev_blank = line == b""
    if cur is not None:
        msgs.append(cur)
    # each message ends with the separating empty line
    return [b"\n".join(m[:-1]) + b"\n" for m in msgs]

files = {}
for r in recs:
    if r["kind"] != "message":
        continue
    if r.get("store") == "mbox":
        key = r["path"]
        data = open(os.path.join(src, r["path"]), "rb").read()
        m = data[r["mbox_off"]:r["mbox_off"] + r["size"]]
        files.setdefault(key, []).append(("mbox", r, m))
    else:
        key = r["mailbox"] + "/" + r["folder"] + ".mbox"
        m = open(os.path.join(src, r["path"]), "rb").read()
        files.setdefault(key, []).append(("rd", r, m))
made = set()
for d, _, fs in os.walk(out):
    for n in fs:
        made.add(os.path.relpath(os.path.join(d, n), out))
assert made == set(files), made ^ set(files)
total = 0
for key, msgs in files.items():
    data = open(os.path.join(out, key), "rb").read()
    if msgs[0][0] == "mbox":
        want = b"".join(r["mbox_from"].encode() + b"\n" + m +
                        (b"" if m.endswith(b"\n") else b"\n") + b"\n"
                        for _, r, m in msgs)
        assert data == want, key
    else:
        got = parse_rd(data)
        want = [m if m.endswith(b"\n") else m + b"\n" for _, _, m in msgs]
        assert len(got) == len(want), (key, len(got), len(want))
        assert sorted(got) == sorted(want), key
        assert data.startswith(b"From "), key
    total += len(msgs)
assert total == sum(1 for r in recs if r["kind"] == "message")
PY
[ "$(stat -c %a "$T/mbox/mail/maildir/INBOX.mbox")" = 600 ] || fail "mbox mode"

# --- cat: the stored bytes, by path and by Message-ID.
f=$(cd "$T/src" && ls mail/maildir/.Sent/cur/* | head -1)
R cat "$SET" --path "$f" >"$T/cat.out" || fail "cat --path"
assert_same_file "$T/cat.out" "$T/src/$f"
R cat "$SET" --path mail/mbox/mbox.rlug >"$T/cat.out" || fail "cat mbox file"
assert_same_file "$T/cat.out" "$T/src/mail/mbox/mbox.rlug"
R cat "$SET" --message-id 3456@example.net >"$T/cat.out" || fail "cat --message-id"
assert_same_file "$T/cat.out" "$T/src/$(expected 'h.get("Message-ID","").strip() == "<3456@example.net>"')"
expect_code 0 R cat "$SET" --message-id '<e85734b90505081209eaaa17b@mail.gmail.com>'
assert_contains "$T/err" "messages match"
expect_code 2 R cat "$SET" --message-id nosuch@example.org
assert_contains "$T/err" "no object matches"
expect_code 2 R cat "$SET"

# --- cat from a large set touches only a few MiB of it.
if command -v strace >/dev/null 2>&1; then
    big=$T/big/pad/Maildir
    mkdir -p "$big/cur" "$big/new" "$big/tmp"
    for i in $(seq -w 1 150); do
        {
            printf 'From: pad%s@example.org\nTo: x@example.org\n' "$i"
            printf 'Message-ID: <pad%s@example.org>\nSubject: pad %s\n' "$i" "$i"
            printf 'Date: Mon, 1 Jan 2024 00:00:00 +0000\n\n'
            head -c 786432 /dev/urandom | base64
        } >"$big/cur/17000000$i.M1P1.pad:2,S"
    done
    pack_set "$T/big/pad" "$T/bigmedium" --level 1
    size=$(du -sb "$SET" | cut -f1)
    [ "$size" -ge $((100 << 20)) ] || fail "big set is only $size bytes"
    # (LeakSanitizer cannot run under ptrace.)
    ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 \
        strace -f -e trace=read,pread64,readv,preadv,preadv2 -o "$T/strace" \
        "$COLDMAIL_RESTORE" cat -i "$T/id.txt" -p "$T/sign.key.pub" "$SET" \
        --message-id pad075@example.org >"$T/cat.out" 2>"$T/err" ||
        { cat "$T/err" >&2; fail "cat in the big set"; }
    assert_same_file "$T/cat.out" "$big/cur/17000000075.M1P1.pad:2,S"
    read_bytes=$(awk '/= [0-9]+$/ { s += $NF } END { print s + 0 }' "$T/strace")
    echo "cat read $read_bytes bytes of a $size-byte set" >&2
    [ "$read_bytes" -le $((8 << 20)) ] || fail "cat read $read_bytes bytes"
fi

echo "PASS [$TEST_NAME]"
