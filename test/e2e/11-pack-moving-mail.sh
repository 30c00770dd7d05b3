# e2e/11-pack-moving-mail: mail that moves while coldmail pack runs.  The
# pause hook stops the pack just before it opens one message; meanwhile
# the test renames (a flag change, a move from new/ to cur/) and deletes
# messages, as an IMAP server would.  The pack must succeed, count what
# moved and what was expunged (--json moved, gone), hold each moved message
# once under its new name, not hold the deleted one, and lose nothing else.
. "$(dirname "$0")/../lib.sh"

# A newer pack wants a labelled medium: label it on first use, when the
# option is there.
NEWOPTS=()
case $("$COLDMAIL" pack --help 2>&1) in *--init-label*) NEWOPTS+=(--init-label e2e) ;; esac

need age age-keygen zstd tar python3 mkfifo

MAIL=$TESTDATA/mail/spamassassin/t/data/nice
"$COLDMAIL" keygen -o "$T/sign.key" >/dev/null 2>&1 || fail "keygen"
age-keygen -o "$T/id.txt" 2>/dev/null
R=$(age-keygen -y "$T/id.txt")
mkfifo "$T/fifo"
trap '' PIPE   # a write to a FIFO nobody reads fails, and is seen

# A fresh Maildir "box": new/ 1700000001..3 (no flags), cur/ 1700000014..19
# (":2,S"), and a .Sent folder; the walk does new/ before cur/.
make_store() {
    rm -rf "$T/store"
    local B=$T/store/box i=0 f
    mkdir -p "$B/cur" "$B/new" "$B/tmp" "$B/.Sent/cur" "$B/.Sent/new" "$B/.Sent/tmp"
    for f in $(cd "$MAIL" && find . -maxdepth 1 -type f -name '[0-9]*' | LC_ALL=C sort | head -12); do
        f=${f#./}
        i=$((i + 1))
        case $i in
        1 | 2 | 3) cp "$MAIL/$f" "$B/new/170000000$i.M${i}P1.mx" ;;
        4 | 5 | 6 | 7 | 8 | 9) cp "$MAIL/$f" "$B/cur/170000001$i.M${i}P1.mx:2,S" ;;
        *) cp "$MAIL/$f" "$B/.Sent/cur/170000002$i.M${i}P1.mx:2,S" ;;
        esac
    done
    printf '3 V1 N20\n' >"$B/dovecot-uidlist"
}

# pack_paused NAME SEED ACTIONS: pack the store, pausing before the file
# whose path holds NAME; run ACTIONS (shell code, in $T/store/box) while
# paused, then let the pack go on.  Leaves the summary in $T/out, the
# catalog in $T/catalog.jsonl and the extracted set in $T/x.
pack_paused() {
    local at=$1 seed=$2 actions=$3 rc=0 pid
    rm -rf "$T/medium" "$T/x" "$T/state"
    mkdir -p "$T/medium" "$T/x"
    COLDMAIL_TEST_SEED=$seed COLDMAIL_TEST_PAUSE_AT=$at COLDMAIL_TEST_PAUSE_FIFO=$T/fifo \
        "$COLDMAIL" pack "${NEWOPTS[@]}" -o "$T/medium" -r "$R" -s "$T/sign.key" \
        --state-dir "$T/state" --json --threads 2 "$T/store/box" \
        >"$T/out" 2>"$T/err" &
    pid=$!
    # Opening the FIFO to write blocks until the pack opens it to read: at
    # the pause.  Should the pack end without pausing, a watchdog opens it
    # instead, and the pack is found gone.
    ( while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; exec 4<"$T/fifo"; sleep 2 ) &
    local dog=$!
    exec 3>"$T/fifo"
    if ! kill -0 "$pid" 2>/dev/null; then
        exec 3>&-
        wait "$pid" || true
        cat "$T/err" >&2
        fail "the pack never paused at $at"
    fi
    kill "$dog" 2>/dev/null || true
    wait "$dog" 2>/dev/null || true
    (cd "$T/store/box" && eval "$actions") || fail "actions failed: $actions"
    echo go >&3
    exec 3>&-
    wait "$pid" || rc=$?
    if [ "$rc" != 0 ]; then
        cat "$T/err" >&2
        fail "pack with mail moving under it exited $rc (pause at $at)"
    fi
    local set_dir
    set_dir=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["set_dir"])' "$T/out")
    age -d -i "$T/id.txt" "$set_dir/catalog.jsonl.zst.age" | zstd -dq >"$T/catalog.jsonl"
    : >"$T/members"
    for v in "$set_dir"/vol-*.tar.zst.age; do
        age -d -i "$T/id.txt" "$v" | zstd -dq | tar -xvpf - -C "$T/x" >>"$T/members" ||
            fail "extract $v"
    done
}

# check_set MOVED GONE NEWNAME...: the summary counts, and the set equals
# the store as it is now (after the moves): nothing lost, nothing twice.
check_set() {
    local moved=$1 gone=$2 name
    shift 2
    python3 - "$T/out" "$T/catalog.jsonl" "$moved" "$gone" <<'PY' || problem "$case: summary or catalog (above)"
import json, sys
s = json.load(open(sys.argv[1]))
recs = [json.loads(l) for l in open(sys.argv[2])][1:-1]
bad = []
paths = [r["path"] for r in recs]
dups = sorted({p for p in paths if paths.count(p) > 1})
if dups:
    bad.append(f"objects twice in the catalog: {dups}")
if s["moved"] != int(sys.argv[3]):
    bad.append(f"moved = {s['moved']}, want {sys.argv[3]}")
if s["gone"] != int(sys.argv[4]):
    bad.append(f"gone = {s['gone']}, want {sys.argv[4]}")
msgs = sum(1 for r in recs if r["kind"] == "message")
if s["messages"] != msgs:
    bad.append(f"summary messages {s['messages']}, catalog {msgs}")
if not s["verified"]:
    bad.append("not verified")
for b in bad:
    print("  " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
    for name in "$@"; do
        grep -qF "\"path\":\"box/$name\"" "$T/catalog.jsonl" || problem "$case: catalog lacks box/$name"
        [ -f "$T/x/box/$name" ] || problem "$case: the set lacks box/$name"
    done
    sort "$T/members" | uniq -d | grep . >&2 && problem "$case: tar entries twice in the set"
    diff -r "$T/store/box" "$T/x/box" >&2 || problem "$case: the set differs from the store as it is now"
    return 0
}

# Collect every problem, report them all at the end.
problems=0
problem() {
    echo "PROBLEM [$TEST_NAME]: $*" >&2
    problems=$((problems + 1))
}

# A: pause at the first message of new/.  Meanwhile it moves to cur/ (a
# reader saw it: new/ -> cur/ with the S flag), and N2, listed with it,
# is expunged.
case=A
make_store
pack_paused 1700000001.M1P1 21 '
    mv new/1700000001.M1P1.mx cur/1700000001.M1P1.mx:2,S
    rm new/1700000002.M2P1.mx'
check_set 1 1 cur/1700000001.M1P1.mx:2,S
grep -qF 'new/1700000002.M2P1.mx' "$T/catalog.jsonl" && problem "A: the expunged message is in the catalog"
grep -qF 'new/1700000001.M1P1.mx"' "$T/catalog.jsonl" && problem "A: the moved message is under its old name"

# B: pause at a message of cur/.  It gets a flag (S -> RS); the next one
# too (S -> FS); the one after is expunged.
case=B
make_store
pack_paused 1700000015.M5P1 22 '
    mv cur/1700000015.M5P1.mx:2,S cur/1700000015.M5P1.mx:2,RS
    mv cur/1700000016.M6P1.mx:2,S cur/1700000016.M6P1.mx:2,FS
    rm cur/1700000017.M7P1.mx:2,S'
check_set 2 1 cur/1700000015.M5P1.mx:2,RS cur/1700000016.M6P1.mx:2,FS
grep -q '"path":"box/cur/1700000015.M5P1.mx:2,RS".*"flags":"RS"' "$T/catalog.jsonl" ||
    problem "B: flags of the renamed message are not the new ones"
grep -qF '1700000017.M7P1' "$T/catalog.jsonl" && problem "B: the expunged message is in the catalog"

# C: the message the pack is about to open is expunged.
case=C
make_store
pack_paused 1700000018.M8P1 23 'rm cur/1700000018.M8P1.mx:2,S'
check_set 0 1
grep -qF '1700000018.M8P1' "$T/catalog.jsonl" && problem "C: the expunged message is in the catalog"
grep -qF '1700000018.M8P1' "$T/err" || problem "C: no warning names the expunged message"
[ "$problems" = 0 ] || fail "$problems problem(s), above"
echo ok
