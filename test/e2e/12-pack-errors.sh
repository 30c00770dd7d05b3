# e2e/12-pack-errors: every error case of coldmail pack, each with the exit
# status coldmail(1) documents and a message naming the culprit.  After
# each failure: no set on the medium that looks valid (no final-named
# directory, no *.incomplete left), the sets already there untouched, and
# the next pack succeeds.  Problems are collected and reported together.
. "$(dirname "$0")/../lib.sh"

# A newer pack wants a labelled medium: label it on first use, when the
# option is there.  Full sets only: an incremental one would not read (or
# write) what did not change, and every case here needs that.
NEWOPTS=()
case $("$COLDMAIL" pack --help 2>&1) in *--init-label*) NEWOPTS+=(--init-label e2e) ;; esac
case $("$COLDMAIL" pack --help 2>&1) in *--full*) NEWOPTS+=(--full) ;; esac

need age-keygen python3 mkfifo sha256sum

export COLDMAIL_TEST_SEED=12
MAIL=$TESTDATA/mail/mikel-mail/spec/fixtures/emails/plain_emails
chmod 0755 "$T"   # so that an unprivileged user can reach what it may
mounted=
trap '[ -z "$mounted" ] || umount "$mounted" 2>/dev/null || true; cleanup' EXIT
trap '' PIPE      # a write to a FIFO nobody reads fails, and is seen

# ---------------------------------------------------------------- setup
"$COLDMAIL" keygen -o "$T/sign.key" >/dev/null 2>&1 || fail "keygen"
age-keygen -o "$T/id.txt" 2>/dev/null
R=$(age-keygen -y "$T/id.txt")
SECRET=$(grep '^AGE-SECRET-KEY-1' "$T/id.txt")

make_maildir() { # DIR: a small Maildir from the fixtures
    mkdir -p "$1/cur" "$1/new" "$1/tmp"
    local i=0 f
    for f in "$MAIL"/*.eml; do
        i=$((i + 1))
        cp "$f" "$1/cur/17000000$i.M${i}P1.mx:2,S"
        [ $i -ge 6 ] && break
    done
    printf '3 V1 N7\n' >"$1/dovecot-uidlist"
}
STORE=$T/store
make_maildir "$STORE"
mkdir -p "$T/medium"
M=$T/medium

seq_no=0
pack() { # ARGS...: coldmail pack with the usual keys, extra ARGS first
    seq_no=$((seq_no + 1))
    COLDMAIL_TEST_SEED=$((1200 + seq_no)) \
        "$COLDMAIL" pack "${NEWOPTS[@]}" -r "$R" -s "$T/sign.key" --state-dir "$T/state" -q "$@"
}

problems=0
problem() {
    echo "PROBLEM [$TEST_NAME]: $*" >&2
    problems=$((problems + 1))
}

snapshot() { # MEDIUM: the medium's files and their checksums
    (cd "$1" && find . -mindepth 1 \( -type f -exec sha256sum {} + \) -o \
        \( -type d -printf 'dir %p\n' \) | LC_ALL=C sort)
}

# A first set, so that there is something that must not be touched.
pack -o "$M" "$STORE" || fail "the first pack failed"
snapshot "$M" >"$T/before"

# after_failure WHAT MEDIUM: the medium is as before, then a pack succeeds
# (and becomes part of what must not be touched).
after_failure() {
    local what=$1 med=${2:-$M}
    snapshot "$med" >"$T/after"
    if ! diff "$T/before" "$T/after" >"$T/snap.diff"; then
        problem "$what: the medium changed:"
        head -20 "$T/snap.diff" >&2
    fi
    if ls "$med" | grep -q '\.incomplete$'; then
        problem "$what: an .incomplete directory remains"
    fi
    if ! pack -o "$med" "$STORE" >"$T/next.out" 2>"$T/next.err"; then
        problem "$what: the next pack failed:"
        cat "$T/next.err" >&2
    fi
    snapshot "$med" >"$T/before"
}

# case WHAT CODE TEXT CMD...: CMD exits CODE, stderr holds TEXT.
case_() {
    local what=$1 want=$2 text=$3 got=0
    shift 3
    "$@" >"$T/out" 2>"$T/err" || got=$?
    if [ "$got" != "$want" ]; then
        problem "$what: exit $got, expected $want"
        sed 's/^/    /' "$T/err" | head -5 >&2
    elif ! grep -qF -- "$text" "$T/err"; then
        problem "$what: the message does not say \"$text\":"
        sed 's/^/    /' "$T/err" | head -5 >&2
    fi
}

# As an unprivileged user (root reads and writes anything).
if [ "$(id -u)" = 0 ]; then
    if setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
        as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
    else
        echo "note: running as root without setpriv: permission cases skipped" >&2
    fi
else
    as_user() { "$@"; }
fi

# ---------------------------------------------------------------- stores
case_ "store missing" 3 "$T/no-such-store" pack -o "$M" "$T/no-such-store"
after_failure "store missing"

printf 'x\n' >"$T/a-file"
case_ "store not a directory" 2 "$T/a-file" pack -o "$M" "$T/a-file"
after_failure "store not a directory"

mkdir -p "$T/empty/cur" "$T/empty/new" "$T/empty/sub/dir"
case_ "store empty" 2 "$T/empty" pack -o "$M" "$T/empty"
after_failure "store empty"

# One good store and one bad: nothing is written either.
case_ "second store missing" 3 "$T/no-such-store" pack -o "$M" "$STORE" "$T/no-such-store"
after_failure "second store missing"

# ---------------------------------------------------------------- permissions
if declare -F as_user >/dev/null; then
    U=$T/u
    mkdir -p "$U/medium" "$U/state"
    make_maildir "$U/store"
    cp "$T/sign.key" "$U/sign.key"
    chmod 0644 "$U/sign.key"
    chown -R 65534:65534 "$U/medium" "$U/state" 2>/dev/null || true
    upack() {
        seq_no=$((seq_no + 1))
        COLDMAIL_TEST_SEED=$((1200 + seq_no)) as_user \
            "$COLDMAIL" pack "${NEWOPTS[@]}" -r "$R" -q "$@"
    }
    upack -o "$U/medium" -s "$U/sign.key" --state-dir "$U/state" "$U/store" ||
        fail "a pack as an unprivileged user failed"
    snapshot "$U/medium" >"$T/before.u"
    uafter() { # WHAT: like after_failure, on the user's medium
        snapshot "$U/medium" >"$T/after.u"
        diff "$T/before.u" "$T/after.u" >/dev/null || problem "$1: the medium changed"
        ls "$U/medium" | grep -q '\.incomplete$' && problem "$1: an .incomplete directory remains"
        upack -o "$U/medium" -s "$U/sign.key" --state-dir "$U/state" "$U/store" ||
            problem "$1: the next pack failed"
        snapshot "$U/medium" >"$T/before.u"
    }
    ugo() { upack -o "$U/medium" -s "$U/sign.key" --state-dir "$U/state" "$@"; }

    chmod 000 "$U/store"
    case_ "unreadable store" 3 "$U/store" ugo "$U/store"
    chmod 755 "$U/store"
    uafter "unreadable store"

    victim=$(ls "$U/store/cur" | head -3 | tail -1)
    chmod 000 "$U/store/cur/$victim"
    case_ "unreadable file" 3 "$victim" ugo "$U/store"
    chmod 644 "$U/store/cur/$victim"
    uafter "unreadable file"

    chmod 000 "$U/store/new"
    case_ "unreadable directory" 3 "store/new" ugo "$U/store"
    chmod 755 "$U/store/new"
    uafter "unreadable directory"

    chmod 0555 "$U/medium"
    case_ "medium not writable (permissions)" 3 "$U/medium" ugo "$U/store"
    chmod 0755 "$U/medium"
    uafter "medium not writable (permissions)"

    mkdir -p "$U/root-state"
    chmod 0755 "$U/root-state"
    [ "$(id -u)" = 0 ] || chmod 0555 "$U/root-state"
    case_ "state dir unwritable" 3 "$U/root-state" \
        upack -o "$U/medium" -s "$U/sign.key" --state-dir "$U/root-state" "$U/store"
    uafter "state dir unwritable"

    cp "$T/sign.key" "$U/secret.key"
    chmod 0600 "$U/secret.key"   # root's, not the user's
    [ "$(id -u)" = 0 ] || chmod 000 "$U/secret.key"
    case_ "signing key unreadable" 3 "$U/secret.key" \
        upack -o "$U/medium" -s "$U/secret.key" --state-dir "$U/state" "$U/store"
    uafter "signing key unreadable"
else
    echo "note: unreadable store/file, unwritable medium/state by permissions: skipped (root without setpriv)" >&2
fi

# ---------------------------------------------------------------- medium
case_ "medium missing" 3 "$T/no-medium" pack -o "$T/no-medium" "$STORE"
after_failure "medium missing"

case_ "medium not a directory" 2 "$T/a-file" pack -o "$T/a-file" "$STORE"
after_failure "medium not a directory"

if [ "$(id -u)" = 0 ] && mkdir -p "$T/ro" && mount -t tmpfs -o ro,size=1M tmpfs "$T/ro" 2>/dev/null; then
    mounted="$T/ro"
    case_ "read-only medium" 3 "$T/ro" pack -o "$T/ro" "$STORE"
    [ -z "$(ls -A "$T/ro")" ] || problem "read-only medium: something appeared on it"
    # The state directory on a read-only filesystem.
    case_ "state dir on a read-only filesystem" 3 "$T/ro/state" \
        "$COLDMAIL" pack "${NEWOPTS[@]}" -o "$M" -r "$R" -s "$T/sign.key" --state-dir "$T/ro/state" -q "$STORE"
    after_failure "state dir on a read-only filesystem"
    umount "$T/ro"
    mounted=
else
    echo "note: read-only medium (mount -o ro): skipped, mount not permitted" >&2
fi

# A state "directory" that is a file.
case_ "state dir is a file" 3 "$T/a-file" \
    "$COLDMAIL" pack "${NEWOPTS[@]}" -o "$M" -r "$R" -s "$T/sign.key" --state-dir "$T/a-file" -q "$STORE"
after_failure "state dir is a file"

# Medium full: a small filesystem, then the write hook.
BIG=$T/bigstore
make_maildir "$BIG"
head -c 1500000 /dev/urandom >"$BIG/dovecot.index"
if [ "$(id -u)" = 0 ] && mkdir -p "$T/full" && mount -t tmpfs -o size=1M tmpfs "$T/full" 2>/dev/null; then
    mounted="$T/full"
    pack -o "$T/full" "$STORE" || problem "medium full: the first small set failed"
    snapshot "$T/full" >"$T/before.full"
    cp "$T/before" "$T/before.keep"
    cp "$T/before.full" "$T/before"
    case_ "medium full (tmpfs)" 7 "vol-0001.tar.zst.age" pack -o "$T/full" "$BIG"
    after_failure "medium full (tmpfs)" "$T/full"
    cp "$T/before.keep" "$T/before"
    umount "$T/full"
    mounted=
else
    echo "note: medium full on a small tmpfs: skipped, mount not permitted" >&2
fi
COLDMAIL_TEST_FAULT_LOG=$T/writes.log pack -o "$T/medium" "$STORE" >/dev/null 2>&1 ||
    fail "counting writes"
snapshot "$M" >"$T/before"
nw=$(grep -c '^write ' "$T/writes.log")
[ "$nw" -gt 4 ] || fail "only $nw writes counted"
COLDMAIL_TEST_FAULT="write:$((nw / 2)):ENOSPC" case_ "medium full (write hook)" 7 \
    "No space left" pack -o "$M" "$STORE"
after_failure "medium full (write hook)"

# ---------------------------------------------------------------- options
case_ "volume size below the largest object" 2 "store/dovecot.index" \
    pack -o "$M" --volume-size 1M "$BIG"
after_failure "volume size below the largest object"
case_ "volume size 0" 2 "volume-size" pack -o "$M" --volume-size 0 "$STORE"
after_failure "volume size 0"
case_ "volume size nonsense" 2 "volume-size" pack -o "$M" --volume-size 12Q "$STORE"
after_failure "volume size nonsense"

# ---------------------------------------------------------------- recipients
case_ "bad recipient" 4 "age1notakey" \
    "$COLDMAIL" pack "${NEWOPTS[@]}" -o "$M" -r age1notakey -s "$T/sign.key" --state-dir "$T/state" "$STORE"
after_failure "bad recipient"
case_ "ssh key as recipient" 4 "invalid age recipient" \
    "$COLDMAIL" pack "${NEWOPTS[@]}" -o "$M" -r "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHXv" -s "$T/sign.key" \
    --state-dir "$T/state" "$STORE"
after_failure "ssh key as recipient"
printf '# ok\n%s\nage1zzzz\n' "$R" >"$T/recips"
case_ "bad recipients file" 4 "$T/recips" \
    "$COLDMAIL" pack "${NEWOPTS[@]}" -o "$M" -R "$T/recips" -s "$T/sign.key" --state-dir "$T/state" "$STORE"
after_failure "bad recipients file"
case_ "missing recipients file" 3 "$T/no-recips" \
    "$COLDMAIL" pack "${NEWOPTS[@]}" -o "$M" -R "$T/no-recips" -s "$T/sign.key" --state-dir "$T/state" "$STORE"
after_failure "missing recipients file"
case_ "no recipient" 2 "recipient" \
    "$COLDMAIL" pack "${NEWOPTS[@]}" -o "$M" -s "$T/sign.key" --state-dir "$T/state" "$STORE"
after_failure "no recipient"
# The packer never takes an identity: refused on -r and in -R files.
case_ "identity as -r" 4 "recipient" \
    "$COLDMAIL" pack "${NEWOPTS[@]}" -o "$M" -r "$SECRET" -s "$T/sign.key" --state-dir "$T/state" "$STORE"
# Refused, and not copied into the message (stderr ends up in cron mail
# and journals, which must not hold a decryption key).
grep -qF "$SECRET" "$T/err" && problem "identity as -r: the secret key is echoed on stderr"
after_failure "identity as -r"
case_ "identity file as -R" 4 "$T/id.txt" \
    "$COLDMAIL" pack "${NEWOPTS[@]}" -o "$M" -R "$T/id.txt" -s "$T/sign.key" --state-dir "$T/state" "$STORE"
grep -qF "$SECRET" "$T/err" && problem "identity file as -R: the secret key is echoed"
after_failure "identity file as -R"

# ---------------------------------------------------------------- signing key
case_ "signing key missing" 3 "$T/no.key" \
    "$COLDMAIL" pack "${NEWOPTS[@]}" -o "$M" -r "$R" -s "$T/no.key" --state-dir "$T/state" "$STORE"
after_failure "signing key missing"
case_ "signing key is an age identity" 4 "$T/id.txt" \
    "$COLDMAIL" pack "${NEWOPTS[@]}" -o "$M" -r "$R" -s "$T/id.txt" --state-dir "$T/state" "$STORE"
after_failure "signing key is an age identity"
case_ "signing key is the public key" 4 "$T/sign.key.pub" \
    "$COLDMAIL" pack "${NEWOPTS[@]}" -o "$M" -r "$R" -s "$T/sign.key.pub" --state-dir "$T/state" "$STORE"
after_failure "signing key is the public key"
head -c 300 /dev/urandom >"$T/junk.key"
case_ "signing key is junk" 4 "$T/junk.key" \
    "$COLDMAIL" pack "${NEWOPTS[@]}" -o "$M" -r "$R" -s "$T/junk.key" --state-dir "$T/state" "$STORE"
after_failure "signing key is junk"
case_ "signing key is a directory" 4 "$T/store" \
    "$COLDMAIL" pack "${NEWOPTS[@]}" -o "$M" -r "$R" -s "$T/store" --state-dir "$T/state" "$STORE"
after_failure "signing key is a directory"

# ---------------------------------------------------------------- read-back
COLDMAIL_TEST_READBACK_FLIP=vol-0001.tar.zst.age case_ "read-back mismatch (volume)" 3 \
    "read-back" pack -o "$M" "$STORE"
grep -qF "vol-0001.tar.zst.age" "$T/err" || problem "read-back mismatch: the message does not name the volume"
after_failure "read-back mismatch (volume)"
COLDMAIL_TEST_READBACK_FLIP=catalog.jsonl.zst.age case_ "read-back mismatch (catalog)" 3 \
    "read-back" pack -o "$M" "$STORE"
after_failure "read-back mismatch (catalog)"
COLDMAIL_TEST_READBACK_FLIP=RESTORE.txt case_ "read-back mismatch (RESTORE.txt)" 3 \
    "read-back" pack -o "$M" "$STORE"
after_failure "read-back mismatch (RESTORE.txt)"

# ---------------------------------------------------------------- concurrency
# Hold a first pack at the pause hook; a second on the same state
# directory gets 8; an interrupt of a held pack gets 10 and leaves nothing.
mkfifo "$T/fifo"
first_msg=$(ls "$STORE/cur" | head -1)
hold() { # start a pack held before reading the first message; sets $held
    seq_no=$((seq_no + 1))
    COLDMAIL_TEST_SEED=$((1200 + seq_no)) COLDMAIL_TEST_PAUSE_AT=$first_msg COLDMAIL_TEST_PAUSE_FIFO=$T/fifo \
        "$COLDMAIL" pack "${NEWOPTS[@]}" -o "$M" -r "$R" -s "$T/sign.key" --state-dir "$T/state" \
        --json "$STORE" >"$T/held.out" 2>"$T/held.err" &
    held=$!
    ( while kill -0 "$held" 2>/dev/null; do sleep 0.1; done; exec 4<"$T/fifo"; sleep 2 ) &
    dog=$!
    exec 3>"$T/fifo"
    kill "$dog" 2>/dev/null || true
    wait "$dog" 2>/dev/null || true
    kill -0 "$held" 2>/dev/null || { cat "$T/held.err" >&2; fail "the held pack did not pause"; }
}
hold
case_ "two packs at once" 8 "$T/state" pack -o "$M" "$STORE"
echo go >&3
exec 3>&-
rc=0
wait "$held" || rc=$?
[ "$rc" = 0 ] || { cat "$T/held.err" >&2; problem "the held pack failed ($rc) after the second was refused"; }
ls "$M" | grep -q '\.incomplete$' && problem "two packs at once: an .incomplete directory remains"
snapshot "$M" >"$T/before"

hold
kill -TERM "$held"
exec 3>&-     # EOF on the FIFO, should the signal not end the wait
rc=0
wait "$held" || rc=$?
[ "$rc" = 10 ] || { cat "$T/held.err" >&2; problem "interrupted pack: exit $rc, expected 10"; }
after_failure "interrupted pack"

# ---------------------------------------------------------------- leftovers
# coldmail(1): "Leftover *.incomplete directories of earlier, interrupted
# runs are removed."  Other directories are not touched.
left=$M/coldmail-old-20250101T000000Z-deadbeef.incomplete
mkdir -p "$left" "$M/not-a-set.incomplete"
echo partial >"$left/vol-0001.tar.zst.age"
pack -o "$M" "$STORE" || problem "pack with a leftover .incomplete failed"
[ -e "$left" ] && problem "a leftover .incomplete set directory was not removed (coldmail(1) says it is)"
[ -d "$M/not-a-set.incomplete" ] || problem "a directory that is not a set was removed"

[ "$problems" = 0 ] || fail "$problems problem(s), above"
echo ok
