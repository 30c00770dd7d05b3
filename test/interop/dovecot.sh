#!/usr/bin/env bash
# A restored Maildir tree served by a real Dovecot: every message, fetched
# through Dovecot (doveadm fetch, no network: the throw-away instance has no
# listeners), is byte-identical to the original, with the same IMAP UIDs as
# the source's dovecot-uidlist and the same flags as its file name.  Two
# users: a Maildir++ tree with sub-folders, and a provider tree's Maildir
# (with CRLF messages).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../e2e/restore-common.bash"
command -v dovecot >/dev/null 2>&1 || skip "dovecot is not installed"
command -v doveadm >/dev/null 2>&1 || skip "doveadm is not installed"
need python3

build_stores "$T/src"
make_keys
pack_set "$T/src/mail" "$T/medium" --volume-size 1M
expect_code 0 R restore "$SET" -o "$T/restored"

# Dovecot refuses UID 0 for mail users: as root, serve a copy as nobody.
if [ "$(id -u)" = 0 ]; then
    mailuser=nobody
    id nobody >/dev/null 2>&1 || skip "no user nobody to serve mail as"
else
    mailuser=$(id -un)
fi
uid=$(id -u "$mailuser")
gid=$(id -g "$mailuser")
D=$T/dovecot
# Dovecot's auth and mail processes run as other users: let them through.
chmod 711 "$T"
mkdir -p "$D/run" "$D/state" "$D/mail" "$D/home/alice" "$D/home/bob" \
    "$D/index/alice" "$D/index/bob"
cp -a "$T/restored/mail/maildir" "$D/mail/alice"
cp -a "$T/restored/mail/vmail/example.org/alice/Maildir" "$D/mail/bob"
chown -R "$uid:$gid" "$D/mail" "$D/home" "$D/index"
chmod 755 "$D"
if [ "$(id -u)" = 0 ]; then
    run_as=
else # an unprivileged Dovecot runs everything as its own user
    run_as="default_internal_user = $mailuser
default_login_user = $mailuser"
fi

cat >"$D/dovecot.conf" <<EOF
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
ssl = no
protocols =
first_valid_uid = $uid
last_valid_uid = 0
mail_location = maildir:~/Maildir
$run_as
passdb {
  driver = passwd-file
  args = $D/passwd
}
userdb {
  driver = passwd-file
  args = $D/passwd
}
EOF
cat >"$D/passwd" <<EOF
alice:{PLAIN}unused:$uid:$gid::$D/home/alice::userdb_mail=maildir:$D/mail/alice:INDEX=$D/index/alice
bob:{PLAIN}unused:$uid:$gid::$D/home/bob::userdb_mail=maildir:$D/mail/bob:INDEX=$D/index/bob
EOF

stop_dovecot() {
    if [ -f "$D/run/master.pid" ]; then
        doveadm -c "$D/dovecot.conf" stop >/dev/null 2>&1 ||
            kill "$(cat "$D/run/master.pid")" 2>/dev/null || true
        for _ in $(seq 50); do
            [ -e "$D/run/master.pid" ] || break
            sleep 0.1
        done
    fi
}
trap 'stop_dovecot; cleanup' EXIT

dovecot -c "$D/dovecot.conf" || { cat "$D/dovecot.log" >&2; fail "dovecot did not start"; }
for _ in $(seq 50); do
    [ -S "$D/run/auth-userdb" ] && break
    sleep 0.1
done

DA() { doveadm -c "$D/dovecot.conf" "$@"; }

# check USER MAILDIR_SOURCE FOLDER: UIDs, flags and bytes of one folder.
check_folder() {
    local user=$1 src=$2 folder=$3 dir
    dir=$src
    [ "$folder" = INBOX ] || dir=$src/.$folder
    DA -f tab fetch -u "$user" 'uid flags' mailbox "$folder" all \
        >"$T/fetch.tab" 2>"$T/fetch.err" ||
        { cat "$T/fetch.err" "$D/dovecot.log" >&2; fail "doveadm fetch $user $folder"; }
    python3 - "$dir" "$T/fetch.tab" >"$T/uids" <<'PY' || fail "$user $folder: UIDs or flags differ"
import os, sys
src, tab = sys.argv[1], sys.argv[2]
want = {}
names = {}
for sub in ("cur", "new"):
    for n in os.listdir(os.path.join(src, sub)):
        names[n.split(":")[0]] = (sub, n)
lines = open(os.path.join(src, "dovecot-uidlist")).read().splitlines()[1:]
for l in lines:
    uid, base = l.split(" :", 1)
    sub, n = names[base]
    letters = n.split(":2,")[1] if ":2," in n else ""
    imap = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered",
            "S": "\\Seen", "T": "\\Deleted"}
    want[int(uid)] = (sorted(imap[c] for c in letters), os.path.join(sub, n))
got = {}
for l in open(tab).read().splitlines()[1:]:
    uid, flags = (l.split("\t") + [""])[:2]
    got[int(uid)] = sorted(f for f in flags.split() if f != "\\Recent")
assert want, "no messages in the source folder"
assert sorted(got) == sorted(want), ("uids", sorted(got), sorted(want))
for uid in want:
    assert got[uid] == want[uid][0], (uid, got[uid], want[uid])
    print(uid, want[uid][1])
PY
    while read -r u rel; do
        DA fetch -u "$user" text mailbox "$folder" uid "$u" >"$T/text" ||
            fail "fetch $user $folder $u"
        python3 - "$T/text" "$dir/$rel" <<'PY' || fail "$user $folder uid $u: bytes differ"
import sys
got = open(sys.argv[1], "rb").read()
want = open(sys.argv[2], "rb").read()
assert got.startswith(b"text:\n"), got[:20]
got = got[6:]
assert got == want or (not want.endswith(b"\n") and got == want + b"\n"), \
    (len(got), len(want))
PY
    done <"$T/uids"
    echo "$user $folder: $(wc -l <"$T/uids") messages, UIDs, flags and bytes identical" >&2
}

for f in INBOX Sent Lists.coldmail Drafts; do
    [ "$f" = Drafts ] && continue # empty: checked below
    check_folder alice "$T/src/mail/maildir" "$f"
done
DA mailbox list -u alice >"$T/boxes"
for f in INBOX Sent Lists.coldmail Drafts; do
    grep -qxF "$f" "$T/boxes" || fail "folder $f not served"
done
DA mailbox status -u alice messages Drafts | grep -q 'messages=0' ||
    fail "Drafts should be empty"
check_folder bob "$T/src/mail/vmail/example.org/alice/Maildir" INBOX
check_folder bob "$T/src/mail/vmail/example.org/alice/Maildir" Junk
grep -q $'\r$' "$T/src/mail/vmail/example.org/alice/Maildir/cur/"* ||
    grep -q $'\r$' "$T/src/mail/vmail/example.org/alice/Maildir/new/"* ||
    fail "test data: expected a CRLF message"

echo "PASS [$TEST_NAME]"
