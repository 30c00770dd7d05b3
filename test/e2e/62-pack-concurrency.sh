# e2e/62-pack-concurrency: two packs at once on one state directory, and
# packs killed at random points.
#
# A pack paused (COLDMAIL_TEST_PAUSE_AT) while it holds the state: a
# second pack is refused with exit 8, naming the first one's pid, and
# leaves nothing behind; the first then finishes.  Then packs killed with
# SIGKILL at random points (at least 20; COLDMAIL_TEST_KILLS for more):
# after each, at most one *.incomplete directory is on the medium, every
# set there verifies, and the state database is intact; the next pack
# removes the leftover and succeeds.  At the end the chain across every set
# written holds (no sequence claimed twice, no gap), and the newest set
# restores to the store as it is.
. "$(dirname "$0")/../lib.sh"

need python3 jq

KILLS=${COLDMAIL_TEST_KILLS:-24}
STORE=$T/store
mkdir -p "$STORE/Maildir/cur" "$STORE/Maildir/new" "$STORE/Maildir/tmp"
python3 - "$STORE" <<'EOF'
import base64, os, random, sys
r = random.Random(62)
for i in range(150):
    body = base64.b64encode(r.randbytes(9000)).decode()
    with open(os.path.join(sys.argv[1], "Maildir", "cur",
                           "17000%05d.M%dP1.host:2,S" % (i, i)), "w") as f:
        f.write("From: a@example.org\nSubject: %d\n\n%s\n" % (i, body))
with open(os.path.join(sys.argv[1], "lists.mbox"), "w") as f:
    for i in range(30):
        f.write("From l@example.org Mon Jan  1 00:00:00 2029\nSubject: %d\n\n%s\n\n"
                % (i, base64.b64encode(r.randbytes(3000)).decode()))
EOF
COLDMAIL_TEST_SEED=621 "$COLDMAIL" keygen -o "$T/sign.key" >/dev/null 2>&1 ||
    fail "keygen"
RCPT=$(COLDMAIL_TEST_SEED=622 "$COLDMAIL_RESTORE" keygen -o "$T/id.txt" \
    2>/dev/null) || fail "restore keygen"
K=$(tail -n 1 "$T/sign.key.pub")
mkdir -p "$T/M"
"$COLDMAIL" media init "$T/M" --label disk -s "$T/sign.key" --host vm \
    >/dev/null 2>&1 || fail "media init"
PACK=("$COLDMAIL" pack -q -o "$T/M" -r "$RCPT" -s "$T/sign.key"
      --state-dir "$T/state" --parity 0 --host vm "$STORE")

# ------------------------------------------------------------ two at once
mkfifo "$T/fifo"
COLDMAIL_TEST_PAUSE_AT=Maildir/cur COLDMAIL_TEST_PAUSE_FIFO="$T/fifo" \
    "${PACK[@]}" >"$T/first.out" 2>&1 &
first=$!
for _ in $(seq 200); do
    [ "$(cat "$T/state/lock" 2>/dev/null)" = "$first" ] && break
    sleep 0.05
done
[ "$(cat "$T/state/lock" 2>/dev/null)" = "$first" ] ||
    { kill "$first"; fail "the first pack did not take the lock"; }
expect_code 8 "${PACK[@]}"
assert_contains "$T/err" "another coldmail run holds the lock (pid $first)"
echo go >"$T/fifo"
wait "$first" || { cat "$T/first.out" >&2; fail "the first pack failed"; }
[ "$(find "$T/M" -maxdepth 1 -name 'coldmail-*' | wc -l)" = 1 ] ||
    fail "not exactly one set after two packs at once"

# ------------------------------------------------------------ killed packs
consistent() { # RUN: the medium and the state as they must be after a kill
    local n
    n=$(find "$T/M" -maxdepth 1 -name 'coldmail-*.incomplete' | wc -l)
    [ "$n" -le 1 ] || fail "run $1: $n incomplete sets"
    for s in "$T"/M/coldmail-*; do
        case "$s" in *.incomplete) continue ;; esac
        "$COLDMAIL_RESTORE" verify -P "$K" "$s" >"$T/v.out" 2>&1 ||
            { cat "$T/v.out" >&2; fail "run $1: $(basename "$s") does not verify"; }
    done
    if command -v sqlite3 >/dev/null; then
        [ "$(sqlite3 "$T/state/state.db" 'pragma integrity_check')" = ok ] ||
            fail "run $1: the state database is damaged"
    else
        "$COLDMAIL" status --state-dir "$T/state" >/dev/null 2>&1 ||
            fail "run $1: the state does not open"
    fi
}

# How long a pack takes here (a full one, the longest), to kill inside it.
start=$EPOCHREALTIME
"${PACK[@]}" --full >/dev/null 2>&1 || fail "pack"
ms=$(python3 -c "print(max(50, int(1000 * ($EPOCHREALTIME - $start))))")
echo "a full pack takes ${ms} ms; killing $KILLS packs within that"
RANDOM=62
killed=0
for run in $(seq "$KILLS"); do
    full=()
    [ $((run % 3)) = 0 ] && full=(--full)
    delay=$((RANDOM % ms))
    # Each run has something new to pack, and an mbox that grew.
    printf 'From: b@example.org\nSubject: run %d\n\nrun %d\n' "$run" "$run" \
        >"$STORE/Maildir/new/18000$run.M${run}P9.host"
    printf 'From r@example.org Mon Jan  1 00:00:00 2029\nSubject: run %d\n\nx\n\n' \
        "$run" >>"$STORE/lists.mbox"
    "${PACK[@]}" "${full[@]}" >/dev/null 2>&1 &
    pid=$!
    sleep "$((delay / 1000)).$(printf %03d $((delay % 1000)))"
    kill -KILL "$pid" 2>/dev/null || true
    status=0
    wait "$pid" 2>/dev/null || status=$?
    [ "$status" = 137 ] && killed=$((killed + 1))
    consistent "$run"
done
"${PACK[@]}" --json >"$T/last.json" 2>"$T/last.err" ||
    { cat "$T/last.err" >&2; fail "the pack after the kills"; }
[ "$(find "$T/M" -maxdepth 1 -name 'coldmail-*.incomplete' | wc -l)" = 0 ] ||
    fail "an incomplete set is left after a pack that succeeded"
consistent last

# The chain of every set written holds, and the newest restores.
expect_code 0 "$COLDMAIL_RESTORE" verify --chain -P "$K" "$T/M"
assert_not_contains "$T/out" "PROBLEM"
sets=$(find "$T/M" -maxdepth 1 -name 'coldmail-*' | wc -l)
expect_code 0 "$COLDMAIL_RESTORE" restore -q -i "$T/id.txt" -P "$K" -o "$T/r" \
    "$(jq -r .set_dir "$T/last.json")"
assert_same_tree "$STORE" "$T/r/store"
echo "concurrency: one pack refused; $killed of $KILLS packs killed before" \
    "they ended; $sets good sets on the medium"
