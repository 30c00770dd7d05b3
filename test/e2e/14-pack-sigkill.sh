# e2e/14-pack-sigkill: coldmail pack killed with SIGKILL at random points,
# again and again (KILL_RUNS, default 52), on one medium with a store that
# grows between runs, so that full and incremental sets, parity, the
# medium's tools and the state all get cut short somewhere.  After each
# kill:
#   - the medium holds only complete sets, each verifying with the trusted
#     key, and the chain across them holds (coldmail-restore verify of the
#     whole medium, exit 0), plus at most one *.incomplete directory;
#   - the state database passes SQLite's integrity check; every set it
#     records on this medium is there with the MANIFEST SHA-256 it records,
#     and every object it keeps for incrementals points into a set that is
#     there (else the next incremental set would point at nothing).
# At the end an unkilled pack succeeds and removes what was incomplete,
# the medium verifies, and the newest set restores to the store exactly.
# The kill points are drawn from a fixed seed, spread over the I/O calls a
# pack makes (lib/io's call log), with a jitter of a few milliseconds.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/restore-common.bash"
need python3 sqlite3

RUNS=${KILL_RUNS:-52}
MAIL=$TESTDATA/mail/mikel-mail/spec/fixtures/emails
make_keys
PUB=$T/sign.key.pub
S=$T/store
M=$T/medium
mkdir -p "$S/Maildir/cur" "$S/Maildir/new" "$S/Maildir/tmp" "$S/mail" "$M"
cp "$TESTDATA/mail/mime4j/mbox/src/test/resources/test-1/mbox.rlug" "$S/mail/lists"
head -c 200000 /dev/urandom >"$S/Maildir/dovecot.index"
msgs=("$MAIL"/plain_emails/*.eml "$MAIL"/mime_emails/*.eml "$MAIL"/attachment_emails/*.eml)

# grow N: one more message, a new file and a changed uidlist, so that each
# pack has something new to write.
grow() {
    local src=${msgs[$(($1 % ${#msgs[@]}))]}
    cp "$src" "$S/Maildir/cur/17100000$1.M$1P1.kill:2,S"
    head -c 30000 /dev/urandom >"$S/mail/blob-$1"
    printf '3 V1 N%d\n' "$1" >"$S/Maildir/dovecot-uidlist"
}

pack() { # ARGS: stdout/stderr to $T/out, $T/err
    "$COLDMAIL" pack -q -o "$M" --init-label kill -r "$RECIPIENT" -s "$T/sign.key" \
        --state-dir "$T/state" --volume-size 600k "$@" "$S" >"$T/out" 2>"$T/err"
}

# check_medium WHEN: the invariants of the header.
check_medium() {
    local got=0 n
    n=$(find "$M" -maxdepth 1 -name 'coldmail-*.incomplete' | wc -l)
    [ "$n" -le 1 ] || fail "$1: $n incomplete sets: $(ls "$M")"
    if [ -n "$(find "$M" -maxdepth 1 -name 'coldmail-*' ! -name '*.incomplete')" ]; then
        "$COLDMAIL_RESTORE" verify -p "$PUB" "$M" >"$T/vout" 2>"$T/verr" || got=$?
        [ "$got" = 0 ] || { cat "$T/vout" "$T/verr" >&2; fail "$1: verify of the medium: exit $got"; }
    fi
    [ -e "$T/state/state.db" ] || return 0
    [ "$(sqlite3 "$T/state/state.db" 'PRAGMA integrity_check')" = ok ] ||
        fail "$1: the state database is damaged"
    python3 - "$T/state/state.db" "$M" <<'PY' || fail "$1: the state does not match the medium"
import hashlib, json, os, sqlite3, sys
db, medium = sys.argv[1:]
c = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
present = {}
for name in os.listdir(medium):
    mf = os.path.join(medium, name, "MANIFEST")
    if name.startswith("coldmail-") and not name.endswith(".incomplete") and os.path.exists(mf):
        text = open(mf, "rb").read()
        sid = [l.split()[1] for l in text.decode().splitlines() if l.startswith("set-id ")][0]
        present[sid] = hashlib.sha256(text).hexdigest()
label = open(os.path.join(medium, "COLDMAIL-MEDIUM")).read()
mid = [l.split()[1] for l in label.splitlines() if l.startswith("medium-id ")][0]
for sid, sha, set_dir in c.execute(
        "SELECT set_id, manifest_sha256, set_dir FROM sets WHERE medium_id = ?", (mid,)):
    assert sid in present, "the state records set %s (%s), not on the medium" % (sid, set_dir)
    assert present[sid] == sha, "set %s: MANIFEST SHA-256 differs from the state" % sid
held = set()
for (line,) in c.execute("SELECT line FROM objects WHERE medium_id = ?", (mid,)):
    # catalog lines (an mbox file's with its messages', one per line), or
    # "SETID VOL TAR_OFF OFF" for a message inside an mbox file
    for l in line.splitlines():
        if l.startswith("{"):
            held.add(json.loads(l)["set"])
        elif l.strip():
            held.add(l.split()[0])
missing = held - set(present)
assert not missing, "objects point into sets not on the medium: %s" % sorted(missing)
PY
}

# The I/O calls of a pack (lib/io's COLDMAIL_TEST_FAULT_LOG), counted on
# an incremental one after a full one.
grow 0
pack || { cat "$T/err" >&2; fail "the first pack failed"; }
grow 1
COLDMAIL_TEST_FAULT_LOG=$T/calls pack || { cat "$T/err" >&2; fail "the second pack failed"; }
calls=$(wc -l <"$T/calls")
echo "an incremental pack makes $calls I/O calls; $RUNS runs killed at random points" >&2
check_medium "after two packs"

# kill_pack SEED ARGS...: run a pack that is killed with SIGKILL once it has
# made a random number of I/O calls (up to 1.15 x $calls, and a random
# 0-3 ms later: not only at I/O calls); prints its exit status.
kill_pack() {
    python3 - "$1" "$calls" "$T/log" "$COLDMAIL" pack -q -o "$M" -r "$RECIPIENT" \
        -s "$T/sign.key" --state-dir "$T/state" --volume-size 600k "${@:2}" "$S" <<'PY'
import os, random, signal, subprocess, sys, time
seed, calls, log, cmd = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
r = random.Random(seed)
k, jitter = r.randint(1, int(calls * 1.15) + 1), r.random() * 0.003
open(log, "w").close()
env = dict(os.environ, COLDMAIL_TEST_FAULT_LOG=log)
with open(os.path.join(os.path.dirname(log), "err"), "wb") as err:
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
    while p.poll() is None:
        with open(log, "rb") as f:
            if f.read().count(b"\n") >= k:
                time.sleep(jitter)
                p.send_signal(signal.SIGKILL)
                break
        time.sleep(0.0005)
    code = p.wait()
print(137 if code == -signal.SIGKILL else code, k)
PY
}

killed=0 finished=0
for run in $(seq 2 $((RUNS + 1))); do
    grow "$run"
    # every 7th run is a full set
    args=()
    [ $((run % 7)) = 0 ] && args+=(--full)
    read -r got k < <(kill_pack $((1400 + run)) "${args[@]}")
    case $got in
    0) finished=$((finished + 1)) ;;
    137) killed=$((killed + 1)) ;;
    *) cat "$T/err" >&2; fail "run $run: the pack failed (exit $got) before it was killed" ;;
    esac
    check_medium "run $run (killed after $k calls, exit $got)"
done
echo "$killed runs killed, $finished finished first" >&2
[ "$killed" -ge 50 ] || [ "$RUNS" -lt 55 ] || fail "only $killed runs were killed"

# The next pack cleans up, and the newest set is the store.
grow $((RUNS + 2))
pack || { cat "$T/err" >&2; fail "the pack after the kills failed"; }
[ -z "$(find "$M" -maxdepth 1 -name '*.incomplete')" ] || fail "an incomplete set is left: $(ls "$M")"
check_medium "the last pack"
SET=$(ls -d "$M"/coldmail-* | tail -1)
R restore "$SET" -o "$T/restored" -q || fail "restore of the newest set"
assert_same_tree "$S" "$T/restored/store"
echo "sets on the medium: $(ls -d "$M"/coldmail-* | wc -l)" >&2
echo ok
