# e2e/13-pack-faults: I/O faults injected into coldmail pack through
# lib/io's test hook (COLDMAIL_TEST_FAULT=KIND:N:WHAT).  First the calls of
# a small pack are counted (COLDMAIL_TEST_FAULT_LOG); then the Nth write,
# fsync, rename, open and read fails in turn (every call, or a sample
# spread over them when there are many).  A failed call must fail the run
# with the documented status and a clear message, leave no set (neither
# final-named nor *.incomplete), not touch the set already there, and the
# next pack must succeed.  A short or interrupted call (short, EINTR) must
# not matter: the set is complete and verifies with minisign, sha256sum,
# age, zstd and tar; so must an interrupted open, fsync or rename.
# Problems are collected and reported together.
. "$(dirname "$0")/../lib.sh"

# A newer pack wants a labelled medium: label it on first use, when the
# option is there.  Full sets only, never incremental ones: each set must
# hold the whole store, and each pack must make the same calls.
NEWOPTS=()
case $("$COLDMAIL" pack --help 2>&1) in *--init-label*) NEWOPTS+=(--init-label e2e) ;; esac
case $("$COLDMAIL" pack --help 2>&1) in *--full*) NEWOPTS+=(--full) ;; esac

need age age-keygen minisign zstd tar sha256sum python3

MAIL=$TESTDATA/mail
"$COLDMAIL" keygen -o "$T/sign.key" >/dev/null 2>&1 || fail "keygen"
age-keygen -o "$T/id.txt" 2>/dev/null
R=$(age-keygen -y "$T/id.txt")

# A small store: a Maildir, an mbox, a file spanning a few age chunks, and
# a volume size that makes two volumes.
S=$T/store
mkdir -p "$S/Maildir/cur" "$S/Maildir/new" "$S/Maildir/tmp" "$S/mail"
i=0
for f in "$MAIL"/mikel-mail/spec/fixtures/emails/plain_emails/*.eml; do
    i=$((i + 1))
    cp "$f" "$S/Maildir/cur/17000000$i.M${i}P1.mx:2,S"
    [ $i -ge 8 ] && break
done
cp "$MAIL/mime4j/mbox/src/test/resources/test-1/mbox.rlug" "$S/mail/lists"
head -c 300000 /dev/urandom >"$S/Maildir/dovecot.index"
head -c 150000 /dev/urandom >"$S/Maildir/dovecot.index.log"
printf '3 V1 N9\n' >"$S/Maildir/dovecot-uidlist"
M=$T/medium
mkdir -p "$M"
OPTS=(-r "$R" -s "$T/sign.key" --state-dir "$T/state" --volume-size 420k --json)

n=0
pack() { # ARGS: a pack with a fresh seed; stdout/stderr to $T/out, $T/err
    n=$((n + 1))
    COLDMAIL_TEST_SEED=$((1300 + n)) "$COLDMAIL" pack "${NEWOPTS[@]}" -o "$M" "${OPTS[@]}" "$@" "$S" \
        >"$T/out" 2>"$T/err"
}
snapshot() { # what is on the medium: names, sizes, mtimes (the sets pile
    # up, so no checksums here; 12-pack-errors checksums)
    (cd "$M" && find . -mindepth 1 -printf '%y %p %s %T@\n' | LC_ALL=C sort)
}
problems=0
problem() {
    echo "PROBLEM [$TEST_NAME]: $*" >&2
    problems=$((problems + 1))
}

# The reference set, and the number of calls of each kind it takes (after
# a first pack, which may also label the medium: later ones do not).
pack || { cat "$T/err" >&2; fail "the first pack failed"; }
COLDMAIL_TEST_FAULT_LOG=$T/calls pack || { cat "$T/err" >&2; fail "the reference pack failed"; }
ref_messages=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["messages"])' "$T/out")
[ "$(ls -d "$M"/coldmail-* | wc -l)" = 2 ] || fail "reference sets missing"
grep -q '"volumes":[2-9]' "$T/out" || fail "the reference set should have two volumes: $(cat "$T/out")"
count() { grep -c "^$1 " "$T/calls" || true; }
# sample N: every call up to 60, else 40 spread over them (first and last
# included).
sample() {
    local total=$1
    if [ "$total" -le 60 ]; then
        seq 1 "$total"
    else
        python3 -c 'import sys; t=int(sys.argv[1]); print(*sorted({1 + (t - 1) * k // 39 for k in range(40)}))' "$total" | tr ' ' '\n'
    fi
}
for k in write fsync rename open read; do
    echo "calls: $k $(count $k)" >&2
done
[ "$(count write)" -gt 5 ] || fail "too few writes counted: $(count write)"
snapshot >"$T/before"

# verify_last: the newest set verifies with the real tools and holds the
# store.
verify_last() {
    local set_dir x=$T/x
    set_dir=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["set_dir"])' "$T/out")
    (cd "$set_dir" && minisign -Vqm MANIFEST -p "$T/sign.key.pub") || { problem "$1: minisign"; return; }
    (cd "$set_dir" && awk '$1=="file"{print $4"  "$2}' MANIFEST | sha256sum -c --quiet) ||
        { problem "$1: sha256sum -c"; return; }
    rm -rf "$x"
    mkdir -p "$x"
    for v in "$set_dir"/vol-*.tar.zst.age; do
        age -d -i "$T/id.txt" "$v" | zstd -dq | tar -xpf - -C "$x" || { problem "$1: extract $v"; return; }
    done
    diff -r "$S" "$x/store" >/dev/null || problem "$1: the set differs from the store"
    grep -q "\"messages\":$ref_messages," "$T/out" || problem "$1: message count differs: $(cat "$T/out")"
}

# must_fail SPEC CODE REGEX [NEXT]: the pack with SPEC fails with CODE and
# a message matching REGEX that names a file, leaves the medium as it was,
# and (unless NEXT is "no") a pack afterwards succeeds.
fails=0
must_fail() {
    local spec=$1 want=$2 text=$3 next=${4:-yes} got=0
    COLDMAIL_TEST_FAULT=$spec pack || got=$?
    if [ "$got" = 0 ]; then
        # Some calls may fail harmlessly (a retried or optional one); then
        # the set must be complete and right.
        echo "note: $spec: the pack succeeded" >&2
        verify_last "$spec"
        snapshot >"$T/before"
        return
    fi
    if [ "$got" != "$want" ]; then
        problem "$spec: exit $got, expected $want: $(head -c 300 "$T/err")"
    elif ! grep -qE '^coldmail: error: .*(/|\.age|MANIFEST|RESTORE\.txt)' "$T/err" ||
        ! grep -qE "$text" "$T/err"; then
        problem "$spec: unclear message: $(head -c 300 "$T/err")"
    fi
    snapshot >"$T/after"
    if ! diff "$T/before" "$T/after" >"$T/snap.diff"; then
        if grep -q '^> f .*coldmail-[^/]*[0-9a-f]\{8\}/MANIFEST ' "$T/snap.diff"; then
            problem "$spec: a final-named set was left after a failed run"
        elif grep -q 'incomplete' "$T/snap.diff"; then
            problem "$spec: an .incomplete directory was left"
        else
            problem "$spec: the medium changed: $(head -3 "$T/snap.diff")"
        fi
    fi
    fails=$((fails + 1))
    if [ "$next" = yes ] || [ $((fails % 4)) = 0 ]; then
        pack || problem "$spec: the next pack failed: $(head -c 300 "$T/err")"
    fi
    snapshot >"$T/before"
}

for N in $(sample "$(count write)"); do
    must_fail "write:$N:ENOSPC" 7 "No space left on device"
    must_fail "write:$N:EIO" 3 "Input/output error"
done
for N in $(sample "$(count fsync)"); do
    must_fail "fsync:$N:EIO" 3 "Input/output error"
done
# A full medium may show only at fsync (delayed allocation, thin volumes).
for N in $(sample "$(count fsync)" | awk 'NR % 2 == 1'); do
    must_fail "fsync:$N:ENOSPC" 7 "No space left on device"
done
for N in $(sample "$(count rename)"); do
    must_fail "rename:$N:EIO" 3 "Input/output error"
done
# Opens and reads, of the store, the medium (read-back) and the state.
# Some may fail harmlessly; the set must then still be complete and right.
for N in $(sample "$(count open)"); do
    must_fail "open:$N:EIO" 3 "Input/output error" no
done
for N in $(sample "$(count read)"); do
    must_fail "read:$N:EIO" 3 "Input/output error|read-back" no
done
pack || problem "a pack after the fault sweep failed: $(head -c 300 "$T/err")"

# Short and interrupted calls are absorbed.
for N in $(sample "$(count write)" | awk 'NR % 3 == 1'); do
    for what in short EINTR; do
        if COLDMAIL_TEST_FAULT="write:$N:$what" pack; then
            verify_last "write:$N:$what"
        else
            problem "write:$N:$what: the pack failed: $(head -c 300 "$T/err")"
        fi
    done
done
for N in $(sample "$(count read)" | awk 'NR % 6 == 1'); do
    for what in short EINTR; do
        if COLDMAIL_TEST_FAULT="read:$N:$what" pack; then
            verify_last "read:$N:$what"
        else
            problem "read:$N:$what: the pack failed: $(head -c 300 "$T/err")"
        fi
    done
done
# An interrupted open, fsync or rename is retried (or, for fsync and
# rename, harmless): the pack succeeds.
for spec in $(for N in $(sample "$(count open)" | awk 'NR % 8 == 1'); do echo "open:$N:EINTR"; done) \
    $(for N in $(sample "$(count fsync)" | awk 'NR % 4 == 1'); do echo "fsync:$N:EINTR"; done) \
    "rename:$(count rename):EINTR"; do
    if COLDMAIL_TEST_FAULT=$spec pack; then
        verify_last "$spec"
    else
        problem "$spec: the pack failed: $(head -c 300 "$T/err")"
    fi
done
# Several at once.
spec="write:2:short,write:3:EINTR,read:5:short,read:6:EINTR,fsync:1:EINTR"
if COLDMAIL_TEST_FAULT=$spec pack; then
    verify_last "$spec"
else
    problem "$spec: the pack failed: $(head -c 300 "$T/err")"
fi

[ "$problems" = 0 ] || fail "$problems problem(s), above"
echo ok
