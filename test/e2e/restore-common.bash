# test/e2e/restore-common.bash: sourced (after test/lib.sh) by the restore,
# audit and Dovecot tests.  Builds mail stores from the real corpora in
# test/data/mail, makes keys, packs a set.
#
#   build_stores DIR     DIR/mail: a Maildir++ tree (flags, sub-folders,
#                        dovecot-uidlist, subscriptions, an empty folder),
#                        a provider tree vmail/example.org/alice/Maildir, mbox
#                        files (mimekit, mime4j), an MH folder with
#                        .mh_sequences and a sub-folder, and a symlink;
#                        varied modes and mtimes with nanoseconds
#   make_keys            $T/sign.key(.pub), $T/id.txt, $RECIPIENT
#   pack_set SRC MEDIUM [ARGS...]  pack SRC; $SET is the new set directory
#   R ARGS...            $COLDMAIL_RESTORE with -i and the trusted key

MAILDATA=$TESTDATA/mail

build_stores() {
    python3 - "$1" "$MAILDATA" <<'PY'
import os, sys, glob, shutil

root, data = sys.argv[1], sys.argv[2]
mail = os.path.join(root, "mail")
T0 = 1600000000
counter = [0]

def stamp(path, mode):
    counter[0] += 1
    n = counter[0]
    if not os.path.islink(path):
        os.chmod(path, mode)
    ns = (T0 + 7919 * n) * 10**9 + (123456789 * n) % 10**9
    os.utime(path, ns=(ns, ns), follow_symlinks=False)

def mkdir(path, mode=0o700):
    os.makedirs(path, exist_ok=True)
    return path

def sources(pattern):
    return sorted(p for p in glob.glob(os.path.join(data, pattern))
                  if os.path.isfile(p))

FLAGS = ["S", "RS", "FS", "", "T", "DS", "FRS"]

def maildir_folder(path, files, uid0, new_every=0, marker=True):
    for sub in ("cur", "new", "tmp"):
        mkdir(os.path.join(path, sub))
    lines = []
    for i, src in enumerate(files):
        body = open(src, "rb").read()
        base = "%d.M%dP%d.coldtest" % (T0 + 1000 * uid0 + i, i, 4000 + i)
        if new_every and i % new_every == 0:
            name, sub = base, "new"
        else:
            name = "%s,S=%d:2,%s" % (base, len(body), FLAGS[i % len(FLAGS)])
            sub = "cur"
        dst = os.path.join(path, sub, name)
        open(dst, "wb").write(body)
        stamp(dst, 0o600 if i % 3 else 0o640)
        lines.append("%d :%s" % (uid0 + 3 * i, name.split(":")[0]))
    uidlist = os.path.join(path, "dovecot-uidlist")
    with open(uidlist, "w") as f:
        f.write("3 V%d N%d G%032x\n" % (T0 + uid0, uid0 + 3 * len(files), uid0))
        f.write("".join(l + "\n" for l in lines))
    stamp(uidlist, 0o600)
    if marker:
        m = os.path.join(path, "maildirfolder")
        open(m, "w").close()
        stamp(m, 0o600)
    for sub in ("cur", "new", "tmp"):
        stamp(os.path.join(path, sub), 0o700)

# A Maildir++ tree.
md = mkdir(os.path.join(mail, "maildir"))
E = "mikel-mail/spec/fixtures/emails/"
maildir_folder(md, sources(E + "plain_emails/*"), 100, marker=False)
maildir_folder(os.path.join(md, ".Sent"), sources(E + "attachment_emails/*"),
               200)
maildir_folder(os.path.join(md, ".Lists.coldmail"),
               sources(E + "mime_emails/*") + sources(E + "rfc2822/*"), 300,
               new_every=4)
maildir_folder(os.path.join(md, ".Drafts"), [], 400)
with open(os.path.join(md, "subscriptions"), "w") as f:
    f.write("Sent\nLists.coldmail\nDrafts\n")
stamp(os.path.join(md, "subscriptions"), 0o644)

# A provider tree.
pv = mkdir(os.path.join(mail, "vmail", "example.org", "alice", "Maildir"))
S = "spamassassin/t/data/nice/"
maildir_folder(pv, sources(S + "0*") + sources(S + "crlf-endings") +
               sources(S + "unicode*"), 500, new_every=5, marker=False)
maildir_folder(os.path.join(pv, ".Junk"), sources(S + "cjk/*"), 600)

# mbox files, as found.
mb = mkdir(os.path.join(mail, "mbox"))
for src in sources("mimekit/UnitTests/TestData/mbox/*.mbox.txt") + \
           sources("mime4j/mbox/src/test/resources/test-1/mbox.rlug*"):
    dst = os.path.join(mb, os.path.basename(src))
    shutil.copyfile(src, dst)
    stamp(dst, 0o600)

# MH: a folder with sequences and a sub-folder.
mh = mkdir(os.path.join(mail, "mh", "inbox"))
msgs = sources("mimekit/UnitTests/TestData/messages/*.txt")
for i, src in enumerate(msgs[:20]):
    dst = os.path.join(mh, str(i + 1))
    shutil.copyfile(src, dst)
    stamp(dst, 0o600)
with open(os.path.join(mh, ".mh_sequences"), "w") as f:
    f.write("unseen: 3-5 8\nflagged: 2\nreplied: 1 6\n")
stamp(os.path.join(mh, ".mh_sequences"), 0o600)
sub = mkdir(os.path.join(mh, "archive"))
for i, src in enumerate(msgs[20:26]):
    dst = os.path.join(sub, str(i + 1))
    shutil.copyfile(src, dst)
    stamp(dst, 0o600)

os.symlink("maildir/subscriptions", os.path.join(mail, "subscriptions.link"))
stamp(os.path.join(mail, "subscriptions.link"), 0o777)

# Directories last, deepest first, so their mtimes stay.
for dirpath, dirs, _ in sorted(os.walk(mail), key=lambda w: -w[0].count("/")):
    stamp(dirpath, 0o755 if "mbox" in dirpath else 0o700)
PY
}

make_keys() {
    "$COLDMAIL" keygen -o "$T/sign.key" >"$T/sign.b64" 2>/dev/null
    RECIPIENT=$("$COLDMAIL_RESTORE" keygen -o "$T/id.txt" 2>/dev/null)
    export RECIPIENT
}

# pack_set SRC MEDIUM [ARGS...]: $SET is the set written.
pack_set() {
    local src=$1 medium=$2
    shift 2
    mkdir -p "$medium"
    "$COLDMAIL" pack -q -o "$medium" --init-label test -r "$RECIPIENT" -s "$T/sign.key" \
        --state-dir "$T/state" "$@" "$src" >"$T/pack.out" 2>&1 ||
        { cat "$T/pack.out" >&2; fail "pack failed"; }
    SET=$(ls -d "$medium"/coldmail-* | tail -1)
    export SET
}

R() {
    "$COLDMAIL_RESTORE" "$1" -i "$T/id.txt" -p "$T/sign.key.pub" "${@:2}"
}

# Modes and mtimes (ns) of everything below $1, directories included.
tree_meta() {
    (cd "$1" && find . -printf '%p %y %m %T@\n' | LC_ALL=C sort)
}
