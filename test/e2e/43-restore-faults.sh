# e2e/43-restore-faults: I/O faults injected into coldmail-restore through
# lib/io's test hook (COLDMAIL_TEST_FAULT=KIND:N:WHAT).  The calls of a
# restore of a small two-volume set are counted first; then the Nth open,
# read, write, fsync (with --fsync) and rename fails in turn with EIO (and
# ENOSPC for writes and opens), every call or 40 spread over them.  For
# each run:
#   - exit 0 only if the target is exactly the source (contents, symlinks,
#     modes): a restore never reports success with a missing or wrong file;
#   - otherwise a documented status (1, 3, 5, 7) and an error message; every
#     file that is in the target is right (a file appears whole or not at
#     all), and no temporary is left;
#   - nothing is written outside the target (the set, the directory around
#     the target and the working directory are unchanged).
# Short reads and writes and EINTR must not matter (exit 0, complete).
# Then verify under each failed open and read: a documented status that
# names the I/O error, and on a copy with a flipped byte never exit 0 (a
# fault must not turn "damaged" into "OK").  Problems are collected and
# reported together.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/restore-common.bash"
need python3

MAIL=$TESTDATA/mail
make_keys

# A small store: Maildir messages with flags, an mbox, a file over several
# age chunks, a symlink, an empty directory; two volumes.
S=$T/src/store
mkdir -p "$S/Maildir/cur" "$S/Maildir/new" "$S/Maildir/tmp" "$S/mail" "$S/empty"
i=0
for f in "$MAIL"/mikel-mail/spec/fixtures/emails/plain_emails/*.eml; do
    i=$((i + 1))
    cp "$f" "$S/Maildir/cur/17000000$i.M${i}P1.mx:2,S"
    [ $i -ge 6 ] && break
done
cp "$MAIL/mime4j/mbox/src/test/resources/test-1/mbox.rlug" "$S/mail/lists"
head -c 150000 /dev/urandom >"$S/Maildir/dovecot.index"
head -c 140000 /dev/urandom >"$S/mail/archive.bin"
printf '3 V1 N9\n' >"$S/Maildir/dovecot-uidlist"
chmod 0640 "$S/Maildir/dovecot-uidlist"
ln -s Maildir/dovecot-uidlist "$S/uidlist.link"
pack_set "$S" "$T/medium" --volume-size 250k
[ -e "$SET/vol-0002.tar.zst.age" ] || fail "expected two volumes"

# The sweep, in one python3 process (a restore takes milliseconds; a
# process per check would take longer than the restores).
python3 - "$COLDMAIL_RESTORE" "$T" "$S" "$SET" <<'PY' || fail "the sweep found problems (above)"
import hashlib, os, shutil, stat, subprocess, sys

restore_bin, T, src, set_dir = sys.argv[1:]
box, cwd = os.path.join(T, "box"), os.path.join(T, "box", "cwd")
target = os.path.join(box, "t")
os.makedirs(cwd)
problems = []

def problem(spec, text):
    problems.append("%s: %s" % (spec, text))
    print("PROBLEM [43-restore-faults]: %s: %s" % (spec, text), file=sys.stderr)

def tree_sums(root):
    out = {}
    for d, dirs, fs in os.walk(root):
        for n in fs:
            p = os.path.join(d, n)
            out[os.path.relpath(p, root)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    return out

def walk(root):
    got = {}
    for d, dirs, fs in os.walk(root):
        for n in dirs + fs:
            p = os.path.join(d, n)
            got[os.path.relpath(p, root)] = p
    return got

SRC = walk(src)

def run(args, spec, log=None):
    env = dict(os.environ)
    env.pop("COLDMAIL_TEST_FAULT", None)
    env.pop("COLDMAIL_TEST_FAULT_LOG", None)
    if spec:
        env["COLDMAIL_TEST_FAULT"] = spec
    if log:
        env["COLDMAIL_TEST_FAULT_LOG"] = log
    r = subprocess.run(args, cwd=cwd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    return r.returncode, r.stdout.decode("utf-8", "replace"), \
        r.stderr.decode("utf-8", "replace")

def restore(spec, extra=(), log=None):
    shutil.rmtree(target, ignore_errors=True)
    return run([restore_bin, "restore", "-i", os.path.join(T, "id.txt"),
                "-p", os.path.join(T, "sign.key.pub"), set_dir, "-o", target,
                *extra], spec, log)

def check(spec, code, err):
    """The rules of the header, for the restore just made."""
    if code not in (0, 1, 3, 5, 7):
        problem(spec, "exit %d: %s" % (code, err[:300]))
    low = err.lower()
    if code != 0 and not any(w in low for w in ("error", "lost", "cannot", "failed")):
        problem(spec, "exit %d without a message: %s" % (code, err[:300]))
    out = os.path.join(target, os.path.basename(src))
    got = walk(out) if os.path.isdir(out) else {}
    for rel, q in got.items():
        if os.path.basename(rel).startswith(".coldmail-tmp"):
            problem(spec, "temporary left: " + rel)
            continue
        p = SRC.get(rel)
        if p is None:
            problem(spec, "not in the source: " + rel)
            continue
        sp, sq = os.lstat(p), os.lstat(q)
        if stat.S_IFMT(sp.st_mode) != stat.S_IFMT(sq.st_mode):
            problem(spec, "kind differs: " + rel)
        elif stat.S_ISLNK(sp.st_mode):
            if os.readlink(p) != os.readlink(q):
                problem(spec, "link differs: " + rel)
        elif stat.S_ISREG(sp.st_mode):
            if open(p, "rb").read() != open(q, "rb").read():
                problem(spec, "exit %d, content differs: %s" % (code, rel))
            elif code == 0 and stat.S_IMODE(sp.st_mode) != stat.S_IMODE(sq.st_mode):
                problem(spec, "mode differs: " + rel)
    if code == 0:
        for rel in sorted(set(SRC) - set(got)):
            problem(spec, "exit 0, but missing: " + rel)
    if os.listdir(cwd):
        problem(spec, "wrote into the working directory")
    if set(os.listdir(box)) - {"cwd", "t"}:
        problem(spec, "wrote beside the target: %s" % os.listdir(box))
    if os.path.isdir(target) and set(os.listdir(target)) - {os.path.basename(src)}:
        problem(spec, "unexpected in the target: %s" % os.listdir(target))

def counts(log):
    c = {}
    for line in open(log):
        k = line.split()[0]
        c[k] = c.get(k, 0) + 1
    return c

def sample(total):
    if total <= 40:
        return list(range(1, total + 1))
    return sorted({1 + (total - 1) * k // 39 for k in range(40)})

set_before = tree_sums(set_dir)
code, out, err = restore("", log=os.path.join(T, "calls"))
if code != 0:
    sys.exit("the reference restore failed: " + err)
check("reference", code, err)
code, out, err = restore("", ["--fsync"], log=os.path.join(T, "calls-fsync"))
if code != 0:
    sys.exit("the reference restore --fsync failed: " + err)
calls, calls_fsync = counts(os.path.join(T, "calls")), counts(os.path.join(T, "calls-fsync"))
for k in ("open", "read", "write", "fsync", "rename"):
    print("restore calls: %s %d (--fsync: %d)" % (k, calls.get(k, 0),
          calls_fsync.get(k, 0)), file=sys.stderr)
if problems or calls.get("write", 0) < 5 or calls.get("rename", 0) < 5 or \
        calls_fsync.get("fsync", 0) < 5:
    sys.exit("reference runs: too few calls counted, or problems")

runs = 0
for kind in ("open", "read", "write", "rename"):
    whats = ("EIO", "ENOSPC") if kind in ("open", "write") else ("EIO",)
    for n in sample(calls.get(kind, 0)):
        for what in whats:
            spec = "%s:%d:%s" % (kind, n, what)
            code, out, err = restore(spec)
            check(spec, code, err)
            runs += 1
for n in sample(calls_fsync.get("fsync", 0)):
    spec = "fsync:%d:EIO" % n
    code, out, err = restore(spec, ["--fsync"])
    check(spec + " --fsync", code, err)
    if code == 0:
        problem(spec, "a failed fsync was not reported")
    runs += 1
# Short and interrupted calls are absorbed: the restore is complete.
for n in sample(calls.get("read", 0))[::4]:
    for what in ("short", "EINTR"):
        spec = "read:%d:%s,write:%d:%s" % (n, what, n, what)
        code, out, err = restore(spec)
        check(spec, code, err)
        if code != 0:
            problem(spec, "exit %d: %s" % (code, err[:300]))
        runs += 1
print("restore: %d faulted runs" % runs, file=sys.stderr)
if tree_sums(set_dir) != set_before:
    problem("restore", "the set changed")

# verify under faults, of the set and of a copy with one flipped byte in
# the middle of vol-0001, which must never pass.
damaged = os.path.join(T, "damaged")
shutil.copytree(set_dir, damaged)
vol = os.path.join(damaged, "vol-0001.tar.zst.age")
b = bytearray(open(vol, "rb").read())
b[len(b) // 2] ^= 0x10
open(vol, "wb").write(b)

def verify(spec, d, log=None):
    return run([restore_bin, "verify", "-p", os.path.join(T, "sign.key.pub"), d],
               spec, log)

code, out, err = verify("", set_dir, os.path.join(T, "vcalls"))
if code != 0:
    sys.exit("verify of the good set failed: " + out + err)
code, out, err = verify("", damaged)
if code != 1:
    sys.exit("verify of the damaged set: exit %d" % code)
vcalls = counts(os.path.join(T, "vcalls"))
vruns = 0
for kind in ("open", "read"):
    print("verify calls: %s %d" % (kind, vcalls.get(kind, 0)), file=sys.stderr)
    for n in sample(vcalls.get(kind, 0)):
        spec = "verify %s:%d:EIO" % (kind, n)
        code, out, err = verify(spec.split()[1], set_dir)
        if code not in (0, 1, 3, 5):
            problem(spec, "exit %d: %s" % (code, err[:300]))
        if code != 0 and "Input/output error" not in out + err and \
                "I/O error" not in out + err:
            problem(spec, "exit %d without naming the fault: %s" % (code, (out + err)[:300]))
        code, out, err = verify(spec.split()[1], damaged)
        if code == 0:
            problem(spec, "passed a damaged set")
        vruns += 2
print("verify: %d faulted runs" % vruns, file=sys.stderr)
sys.exit(1 if problems else 0)
PY

# --- interrupted: SIGTERM while a restore is paused before an object (the
# test hook), then the restore goes on and must stop at once with exit 10,
# a message saying so, every file it wrote whole and right, no temporary
# left; a --merge restore afterwards completes the target.
mkfifo "$T/fifo"
mkdir -p "$T/intr"
pause_at=$(cd "$S" && find Maildir/cur -type f | LC_ALL=C sort | sed -n 4p)
[ -n "$pause_at" ] || fail "no message to pause at"
COLDMAIL_TEST_PAUSE_AT=$pause_at COLDMAIL_TEST_PAUSE_FIFO=$T/fifo \
    "$COLDMAIL_RESTORE" restore -i "$T/id.txt" -p "$T/sign.key.pub" -o "$T/intr/t" "$SET" \
    >"$T/intr.out" 2>"$T/intr.err" &
pid=$!
# The restore opens the FIFO for reading when it reaches the object; our
# open for writing returns then (or the restore ended without pausing).
( while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; exec 4<"$T/fifo"; sleep 2 ) &
dog=$!
exec 3>"$T/fifo"
kill "$dog" 2>/dev/null || true
wait "$dog" 2>/dev/null || true
kill -0 "$pid" 2>/dev/null || { cat "$T/intr.err" >&2; fail "the restore did not pause at $pause_at"; }
kill -TERM "$pid"
exec 3>&-
rc=0
wait "$pid" || rc=$?
[ "$rc" = 10 ] || { cat "$T/intr.err" >&2; fail "interrupted restore: exit $rc, expected 10"; }
assert_contains "$T/intr.err" "interrupted"
[ ! -e "$T/intr/t/store/$pause_at" ] || fail "the object the restore stopped before was written"
n=0
while IFS= read -r -d '' f; do
    rel=${f#"$T/intr/t/"}
    case $rel in *.coldmail-tmp.*) fail "a temporary was left: $rel" ;; esac
    cmp -s "$f" "$T/src/$rel" || fail "interrupted restore wrote $rel wrong"
    n=$((n + 1))
done < <(find "$T/intr/t" -type f -print0)
[ "$n" -gt 0 ] || fail "the interrupted restore wrote nothing before the pause"
expect_code 0 R restore --merge -o "$T/intr/t" "$SET"
assert_same_tree "$S" "$T/intr/t/store"
echo "interrupted restore: exit 10 after $n files; --merge completed it" >&2
echo ok
