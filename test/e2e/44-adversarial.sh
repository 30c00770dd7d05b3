# e2e/44-adversarial: damaged and hostile media, made by
# test/adversarial/gen.py from a good set (see there for every case).  For
# each case:
#   - verify with the trusted key, no identity: the documented status, and
#     the damage named (the file, the block) where it can be seen without
#     keys; where it cannot (an insider's re-signed set), verify --deep
#     with the identity finds it;
#   - restore: the documented status; every file written is right (the
#     source's, or for a hostile set the good files it carries) and whole;
#     everything undamaged is restored, and what is missing is named as
#     lost; no temporary is left; memory stays bounded (a decompression
#     bomb does not inflate);
#   - nothing is written outside the target: not beside it, not in the
#     working directory, not through a symlink into $T/outside, not at an
#     absolute path.
# Prints the table of cases and results.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/restore-common.bash"
need python3 age zstd

make_keys
MAIL=$TESTDATA/mail
mkstore() { # DIR SEED: a small store, two volumes at --volume-size 250k
    local s=$1
    mkdir -p "$s/Maildir/cur" "$s/Maildir/new" "$s/Maildir/tmp" "$s/mail" "$s/empty"
    local i=0 f
    for f in "$MAIL"/mikel-mail/spec/fixtures/emails/plain_emails/*.eml; do
        i=$((i + 1))
        cp "$f" "$s/Maildir/cur/17000000$i.M${i}P1.mx:2,S"
        [ $i -ge 6 ] && break
    done
    cp "$MAIL/mime4j/mbox/src/test/resources/test-1/mbox.rlug" "$s/mail/lists"
    python3 -c 'import random,sys; r=random.Random(int(sys.argv[2])); open(sys.argv[1],"wb").write(r.randbytes(150000))' "$s/Maildir/dovecot.index" "$2"
    python3 -c 'import random,sys; r=random.Random(int(sys.argv[2])); open(sys.argv[1],"wb").write(r.randbytes(140000))' "$s/mail/archive.bin" "$(($2 + 1))"
    printf '3 V1 N9\n' >"$s/Maildir/dovecot-uidlist"
    ln -s Maildir/dovecot-uidlist "$s/uidlist.link"
}
S=$T/src/store
mkstore "$S" 44
pack_set "$S" "$T/medium" --volume-size 250k --full
OLDER=$SET
sleep 1  # set names sort by their second
echo "a change" >"$S/Maildir/new/1800000000.M1P1.mx"
pack_set "$S" "$T/medium" --volume-size 250k --full
[ "$SET" != "$OLDER" ] || fail "no second set"
[ -e "$SET/vol-0002.tar.zst.age" ] || fail "expected two volumes"
mkstore "$T/src2/store" 4400
pack_set "$T/src2/store" "$T/medium2" --volume-size 250k --full
OTHER=$SET
SET=$(ls -d "$T/medium"/coldmail-* | tail -1)

mkdir -p "$T/outside" "$T/cwd" "$T/r"
echo "outside the target" >"$T/outside/precious"
python3 "$SRCDIR/test/adversarial/gen.py" --set "$SET" --older "$OLDER" \
    --other "$OTHER" --key "$T/sign.key" --recipient "$RECIPIENT" \
    --store-name store --outside "$T/outside" --out "$T/cases" \
    --tools "$TOOLDIR" >&2 || fail "gen.py"

python3 - "$COLDMAIL_RESTORE" "$T" "$S" <<'PY' || fail "adversarial media: problems above"
import hashlib, json, os, resource, stat, subprocess, sys

binary, T, src = sys.argv[1:]
cases = json.load(open(os.path.join(T, "cases", "cases.json")))
outside, cwd, rdir, logs = (os.path.join(T, d) for d in ("outside", "cwd", "r", "logs"))
os.makedirs(logs)
KEYS = ["-p", os.path.join(T, "sign.key.pub")]
ID = ["-i", os.path.join(T, "id.txt")]
RSS_MAX = 200 << 10   # KiB; the bomb alone would need 256 MiB
BAD = b"must never be written\n"
problems = []

def sha(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()

def files(root):
    out = {}
    for d, dirs, fs in os.walk(root):
        for n in fs + [x for x in dirs if os.path.islink(os.path.join(d, x))]:
            p = os.path.join(d, n)
            out[os.path.relpath(p, root)] = p
    return out

SRC = {rel: p for rel, p in files(src).items()}
SRC = {"store/" + rel: p for rel, p in SRC.items()}

def run(args):
    p = subprocess.Popen([binary] + args, cwd=cwd, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    out, err = p.communicate()
    return p.returncode, (out + err).decode("utf-8", "replace")

def run_rss(args):
    """Run, and the peak RSS (KiB) of that process alone."""
    pid = os.fork()
    if pid == 0:
        os.chdir(cwd)
        fd = os.open(os.path.join(logs, "last.out"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.execv(binary, [binary] + args)
    _, status, ru = os.wait4(pid, 0)
    text = open(os.path.join(logs, "last.out"), "rb").read().decode("utf-8", "replace")
    return os.waitstatus_to_exitcode(status), text, ru.ru_maxrss

def snapshot():
    snap = {}
    for top in (outside, cwd, T):
        for d, dirs, fs in os.walk(top):
            if top == T and d == T:
                dirs[:] = [x for x in dirs if x not in ("r", "cases", "logs")]
            for n in fs + dirs:
                p = os.path.join(d, n)
                st = os.lstat(p)
                snap[p] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return snap

def check_target(c, target, text):
    bad = []
    got = files(target) if os.path.isdir(target) else {}
    if c["expect"] == "nothing":
        if got:
            bad.append("files written: %s" % sorted(got)[:3])
        return bad
    if c["expect"] == "hostile":
        exp = json.load(open(os.path.join(os.path.dirname(c["dir"]), "expected.json")))
        allowed = dict(exp["may"], **exp["must"])
        for rel, p in got.items():
            if os.path.islink(p):
                continue   # symlinks are restored as links: harmless unless followed
            if rel not in allowed:
                bad.append("not expected: " + rel)
            elif sha(p) != allowed[rel]:
                bad.append("content differs: " + rel)
        for rel in exp["must"]:
            if rel not in got:
                bad.append("good file not restored: " + rel)
        return bad
    for rel, p in got.items():
        if os.path.basename(rel).startswith(".coldmail-tmp"):
            bad.append("temporary left: " + rel)
        elif rel not in SRC:
            bad.append("not in the source: " + rel)
        elif os.path.islink(p) != os.path.islink(SRC[rel]):
            bad.append("kind differs: " + rel)
        elif os.path.islink(p):
            if os.readlink(p) != os.readlink(SRC[rel]):
                bad.append("link differs: " + rel)
        elif sha(p) != sha(SRC[rel]):
            bad.append("content differs: " + rel)
    missing = sorted(set(SRC) - set(got))
    if c["complete"] and missing:
        bad.append("not restored: %s" % missing[:3])
    if "cannot be named" not in text and "THE CATALOG WAS UNUSABLE" not in text:
        for rel in missing:
            if rel not in text:
                bad.append("missing but not named as lost: " + rel)
    return bad

rows = []
root_before = set(os.listdir("/"))
for c in cases:
    name, d = c["name"], c["dir"]
    notes = []
    code, text = run(["verify"] + KEYS + [d])
    v = "%d" % code
    if code not in c["verify"]:
        notes.append("verify: exit %d, expected %s" % (code, c["verify"]))
    if c["verify_has"] and c["verify_has"] not in text:
        notes.append("verify does not name %r" % c["verify_has"])
    dv = "-"
    if c["deep"]:
        code, text = run(["verify", "--deep"] + KEYS + ID + [d])
        dv = "%d" % code
        if code not in c["deep"]:
            notes.append("verify --deep: exit %d, expected %s" % (code, c["deep"]))
    before = snapshot()
    target = os.path.join(rdir, name)
    code, text, rss = run_rss(["restore"] + KEYS + ID + ["-o", target, d])
    r = "%d" % code
    if code not in c["restore"]:
        notes.append("restore: exit %d, expected %s: %s" % (code, c["restore"], text[-300:]))
    notes += ["restore: " + b for b in check_target(c, target, text)]
    if rss > RSS_MAX:
        notes.append("restore: peak RSS %d MiB" % (rss >> 10))
    after = snapshot()
    if before != after:
        changed = sorted(set(before.items()) ^ set(after.items()))[:3]
        notes.append("written outside the target: %s" % (changed,))
    if set(os.listdir(rdir)) - {name} - {c2["name"] for c2 in cases}:
        notes.append("written beside the target")
    got = files(target) if os.path.isdir(target) else {}
    nfiles = sum(1 for p in got.values() if not os.path.islink(p))
    rows.append((name, v, dv, r, nfiles, rss >> 10, "ok" if not notes else "PROBLEM",
                 c["what"]))
    for n in notes:
        problems.append("%s: %s" % (name, n))
        print("PROBLEM [44-adversarial]: %s: %s" % (name, n), file=sys.stderr)
    print("%-28s verify %-3s deep %-3s restore %-3s files %-4d rss %4d MiB  %s"
          % rows[-1][:7], file=sys.stderr)

# Nothing anywhere holds what hostile sets must never write, and nothing
# appeared at the root of the file system.
for d, dirs, fs in os.walk(T):
    for n in fs:
        p = os.path.join(d, n)
        if not os.path.islink(p) and os.path.getsize(p) == len(BAD) and \
                open(p, "rb").read() == BAD:
            problems.append("a hostile file was written: " + p)
if set(os.listdir("/")) != root_before:
    problems.append("something appeared in /: %s" % (set(os.listdir("/")) ^ root_before))
if open(os.path.join(outside, "precious")).read() != "outside the target\n" or \
        sorted(os.listdir(outside)) != ["precious"]:
    problems.append("$T/outside changed: %s" % os.listdir(outside))

print("\n| case | verify | deep | restore | files | what | result |")
print("|---|---|---|---|---|---|---|")
for name, v, dv, r, nfiles, rss, res, what in rows:
    print("| %s | %s | %s | %s | %d | %s | %s |" % (name, v, dv, r, nfiles, what, res))
print("\n%d cases, %d problems" % (len(rows), len(problems)))
for p in problems:
    print("PROBLEM: " + p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
echo ok
