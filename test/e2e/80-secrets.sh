# e2e/80-secrets: what is secret stays secret.
#   - Key files (coldmail keygen's signing key, coldmail-restore keygen's
#     identity, plain or passphrase-encrypted) are created mode 0600 even
#     under umask 000, and never overwritten: not a second time, not
#     through a symlink put at their path, not a dangling one.  The public
#     halves and the medium label are not secret, but are not overwritten
#     either.
#   - The decryption identity (its AGE-SECRET-KEY-1 string and its raw
#     32-byte scalar), the identity file's passphrase and the signing key's
#     seed never appear in any output of a full run (keygen, pack, verify,
#     verify --deep, ls, cat, restore, audit, decrypt): not on stdout or
#     stderr, nor in any file under the medium, the state, the targets or
#     TMPDIR.
#   - The packer cannot decrypt: its binary holds none of the functions
#     that load an identity or open age files for reading.
#   - Passphrase prompts do not echo: coldmail-restore keygen -p driven
#     through a pseudo-terminal; the terminal's echo is off when the
#     passphrase is typed, and what the terminal shows has no passphrase.
# (test_secrets checks that the key structs and buffers are wiped.)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/restore-common.bash"
need python3

export TMPDIR=$T/tmp
mkdir -p "$TMPDIR" "$T/out"
OUT=$T/out
n=0
run() { # NAME CMD...: stdout and stderr kept in $OUT/NAME.{out,err}
    local name=$1 got=0
    shift
    "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" </dev/null || got=$?
    [ "$got" = 0 ] || { cat "$OUT/$name.err" >&2; fail "$name: exit $got"; }
}
mode() { stat -c %a "$1"; }
sum() { sha256sum "$1" | cut -d' ' -f1; }

# ------------------------------------------------------------- key files
(
    umask 000
    run keygen-sign "$COLDMAIL" keygen -o "$T/sign.key"
    run keygen-id "$COLDMAIL_RESTORE" keygen -o "$T/id.txt"
    printf 'a passphrase for the identity 42\n' >"$T/pass"
    run keygen-id-pass "$COLDMAIL_RESTORE" keygen -o "$T/id-pass.age" --passphrase-file "$T/pass"
)
[ "$(mode "$T/sign.key")" = 600 ] || fail "signing key mode $(mode "$T/sign.key")"
[ "$(mode "$T/id.txt")" = 600 ] || fail "identity mode $(mode "$T/id.txt")"
[ "$(mode "$T/id-pass.age")" = 600 ] || fail "encrypted identity mode $(mode "$T/id-pass.age")"
case $(mode "$T/sign.key.pub") in 6?4 | 644) ;; *) fail "public key mode $(mode "$T/sign.key.pub")" ;; esac
SECRET=$(grep '^AGE-SECRET-KEY-1' "$T/id.txt")
RECIPIENT=$(cat "$OUT/keygen-id.out")
RECIPIENT2=$(cat "$OUT/keygen-id-pass.out")
PASS=$(cat "$T/pass")
[ -n "$SECRET" ] && [ -n "$RECIPIENT" ] && [ -n "$RECIPIENT2" ] || fail "keygen output"
! grep -q 'AGE-SECRET-KEY-1' "$T/id-pass.age" || fail "the encrypted identity file holds the identity in clear"
# The second identity, opened with its passphrase (outside $T's searched
# directories), is searched for too.
"$COLDMAIL_RESTORE" decrypt --passphrase-file "$T/pass" -o "$T/id-pass.plain" "$T/id-pass.age" \
    >/dev/null 2>&1 || fail "decrypt of the passphrase-encrypted identity"
SECRET2=$(grep '^AGE-SECRET-KEY-1' "$T/id-pass.plain")
rm "$T/id-pass.plain"

for f in sign.key sign.key.pub id.txt id-pass.age; do
    eval "before_$(echo $f | tr .- __)=\$(sum \"\$T/\$f\")"
done
again() { # NAME CMD...: must fail and leave every key file as it was
    local name=$1 got=0
    shift
    "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" </dev/null || got=$?
    [ "$got" != 0 ] || fail "$name: a key file was overwritten (exit 0)"
    for f in sign.key sign.key.pub id.txt id-pass.age; do
        eval "want=\$before_$(echo $f | tr .- __)"
        [ "$(sum "$T/$f")" = "$want" ] || fail "$name: $f changed"
    done
}
again keygen-sign-again "$COLDMAIL" keygen -o "$T/sign.key"
again keygen-id-again "$COLDMAIL_RESTORE" keygen -o "$T/id.txt"
again keygen-id-pass-again "$COLDMAIL_RESTORE" keygen -o "$T/id-pass.age" --passphrase-file "$T/pass"
# A public key file in the way stops the signing keygen too, and leaves no
# secret half behind.
touch "$T/other.key.pub"
again keygen-pub-in-the-way "$COLDMAIL" keygen -o "$T/other.key"
[ ! -e "$T/other.key" ] || fail "keygen left a secret key beside a refused public one"
# Symlinks at the key path: to an existing file, and dangling.
echo precious >"$T/precious"
ln -s "$T/precious" "$T/link.key"
ln -s "$T/precious" "$T/link.txt"
ln -s "$T/nowhere" "$T/dangling.txt"
again keygen-sign-symlink "$COLDMAIL" keygen -o "$T/link.key"
again keygen-id-symlink "$COLDMAIL_RESTORE" keygen -o "$T/link.txt"
again keygen-id-dangling "$COLDMAIL_RESTORE" keygen -o "$T/dangling.txt"
[ "$(cat "$T/precious")" = precious ] || fail "keygen wrote through a symlink"
[ ! -e "$T/nowhere" ] || fail "keygen created a file through a dangling symlink"

# The medium label: written once, never replaced.
mkdir -p "$T/medium"
run media-init "$COLDMAIL" media init "$T/medium" --label secrets -s "$T/sign.key"
label_sum=$(sum "$T/medium/COLDMAIL-MEDIUM")
sig_sum=$(sum "$T/medium/COLDMAIL-MEDIUM.minisig")
got=0
"$COLDMAIL" media init "$T/medium" --label other -s "$T/sign.key" >"$OUT/media-again.out" 2>"$OUT/media-again.err" || got=$?
[ "$got" != 0 ] || fail "media init relabelled a medium"
[ "$(sum "$T/medium/COLDMAIL-MEDIUM")" = "$label_sum" ] &&
    [ "$(sum "$T/medium/COLDMAIL-MEDIUM.minisig")" = "$sig_sum" ] ||
    fail "media init changed the label"

# ------------------------------------------------------ a full run, then grep
build_stores "$T/src"
run pack "$COLDMAIL" pack -o "$T/medium" -r "$RECIPIENT" -r "$RECIPIENT2" -s "$T/sign.key" \
    --state-dir "$T/state" --volume-size 2M "$T/src/mail"
SET=$(ls -d "$T/medium"/coldmail-* | tail -1)
K=(-p "$T/sign.key.pub")
run verify "$COLDMAIL_RESTORE" verify "${K[@]}" "$SET"
run verify-deep "$COLDMAIL_RESTORE" verify "${K[@]}" --deep -i "$T/id.txt" "$SET"
run verify-deep-pass "$COLDMAIL_RESTORE" verify "${K[@]}" --deep -i "$T/id-pass.age" \
    --passphrase-file "$T/pass" "$SET"
run ls "$COLDMAIL_RESTORE" ls -i "$T/id.txt" "${K[@]}" --json "$SET"
run cat "$COLDMAIL_RESTORE" cat -i "$T/id-pass.age" --passphrase-file "$T/pass" "${K[@]}" \
    --path mail/maildir/subscriptions "$SET"
run restore "$COLDMAIL_RESTORE" restore -i "$T/id.txt" "${K[@]}" -o "$T/target" "$SET"
run restore-mbox "$COLDMAIL_RESTORE" restore -i "$T/id-pass.age" --passphrase-file "$T/pass" \
    "${K[@]}" -o "$T/target-mbox" --format mbox "$SET"
run audit "$COLDMAIL_RESTORE" audit -i "$T/id.txt" "${K[@]}" --sample 5 --seed 7 \
    --report "$T/audit.json" "$SET"
run decrypt "$COLDMAIL_RESTORE" decrypt -i "$T/id.txt" -o "$T/catalog.zst" \
    "$SET/catalog.jsonl.zst.age"
# An identity that does not match, and a wrong passphrase: the errors must
# not quote what they were given.
printf 'wrong passphrase\n' >"$T/wrong"
got=0
"$COLDMAIL_RESTORE" ls -i "$T/id-pass.age" --passphrase-file "$T/wrong" "$SET" \
    >"$OUT/wrong-pass.out" 2>"$OUT/wrong-pass.err" || got=$?
[ "$got" != 0 ] || fail "a wrong passphrase was accepted"
got=0
"$COLDMAIL_RESTORE" ls -i "$T/sign.key" "$SET" >"$OUT/bad-id.out" 2>"$OUT/bad-id.err" || got=$?
[ "$got" != 0 ] || fail "a signing key was taken as an identity"
# An identity the set is not encrypted to: "no identity opens the files"
# (6), not damage, and nothing written.
run other-id "$COLDMAIL_RESTORE" keygen -o "$T/other-id.txt"
for cmd in "restore -o $T/target-other" "restore -o $T/target-other-mbox --format mbox" \
    "verify --deep" "cat --path mail/maildir/subscriptions" "audit --sample 2"; do
    got=0
    # shellcheck disable=SC2086
    "$COLDMAIL_RESTORE" $cmd -i "$T/other-id.txt" "${K[@]}" "$SET" \
        >"$OUT/other-id-${cmd%% *}.out" 2>"$OUT/other-id-${cmd%% *}.err" || got=$?
    [ "$got" = 6 ] || { cat "$OUT/other-id-${cmd%% *}.err" >&2; fail "$cmd with another identity: exit $got, expected 6"; }
done
[ -z "$(find "$T/target-other" "$T/target-other-mbox" -type f 2>/dev/null)" ] ||
    fail "a restore with another identity wrote files"

python3 - "$T" "$SECRET" "$SECRET2" "$PASS" <<'PY' || fail "a secret was found (above)"
import base64, os, sys

T, secret, secret2, passphrase = sys.argv[1:]
CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

def bech32_data(s):
    s = s.lower()
    data = [CHARSET.index(c) for c in s[s.rindex("1") + 1:-6]]
    acc = bits = 0
    out = bytearray()
    for v in data:
        acc = (acc << 5) | v
        bits += 5
        while bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xff)
    return bytes(out)

# The signing key's seed: minisign secret key, unencrypted (kdf "\0\0"):
# sig_alg(2) kdf_alg(2) cksum_alg(2) salt(32) opslimit(8) memlimit(8),
# then keynum_sk: key id (8), Ed25519 secret key (64: seed, public key).
sk = base64.b64decode(open(os.path.join(T, "sign.key")).read().splitlines()[1])
seed = sk[54 + 8:54 + 8 + 32]
needles = {
    "the identity": secret.encode(),
    "the identity (lower case)": secret.lower().encode(),
    "the identity's scalar": bech32_data(secret),
    "the second identity": secret2.encode(),
    "the second identity's scalar": bech32_data(secret2),
    "the passphrase": passphrase.encode(),
    "the signing key's seed": seed,
    "the signing key's seed (base64)": base64.b64encode(seed)[:40],
}
assert len(needles["the identity's scalar"]) == 32
keys = {os.path.join(T, n) for n in ("id.txt", "id-pass.age", "sign.key", "pass")}
found, files = [], 0
for top in ("out", "medium", "state", "target", "target-mbox", "tmp", "catalog.zst",
            "audit.json"):
    p = os.path.join(T, top)
    paths = [p] if os.path.isfile(p) else \
        [os.path.join(d, f) for d, _, fs in os.walk(p) for f in fs]
    for q in paths:
        if q in keys or os.path.islink(q):
            continue
        files += 1
        data = open(q, "rb").read()
        for what, n in needles.items():
            if n in data:
                found.append("%s in %s" % (what, os.path.relpath(q, T)))
print("%d files searched" % files, file=sys.stderr)
for f in found:
    print("SECRET FOUND: " + f, file=sys.stderr)
tmp = os.listdir(os.path.join(T, "tmp"))
if tmp:
    print("left in TMPDIR: %s" % tmp, file=sys.stderr)
sys.exit(1 if found or files < 50 else 0)
PY

# ------------------------------------------------ the packer cannot decrypt
# (Not in a libFuzzer build: its coverage tables keep every function.)
if grep -q '^COLDMAIL_FUZZ:BOOL=ON' "$BUILDDIR/CMakeCache.txt" 2>/dev/null; then
    echo "note: a COLDMAIL_FUZZ build: the packer's symbols are not checked" >&2
elif command -v nm >/dev/null 2>&1; then
    nm "$COLDMAIL" >"$T/nm.txt" 2>/dev/null || fail "nm $COLDMAIL"
    if [ -s "$T/nm.txt" ]; then
        for f in agekey_identities_load agekey_identity_parse age_header_unwrap \
            age_stream_open age_decrypt_stream age_reader_open age_reader_open_fd \
            age_reader_open_src catalog_reader_open setr_volume_pread; do
            ! grep -qE " [TtWw] $f\$" "$T/nm.txt" ||
                fail "the packer holds $f: it could load an identity or decrypt"
        done
        grep -qE " [Tt] age_writer_new\$" "$T/nm.txt" ||
            fail "nm: no age_writer_new in the packer (stripped binary?)"
    fi
fi

# -------------------------------------------- passphrase prompts do not echo
python3 - "$COLDMAIL_RESTORE" "$T/id-tty.age" <<'PY' || fail "passphrase prompt (above)"
import os, pty, select, sys, termios, time

binary, out = sys.argv[1:]
secret = "tty passphrase that must not echo 99"
pid, fd = pty.fork()
if pid == 0:
    os.execv(binary, [binary, "keygen", "-p", "-o", out])
seen, sent, deadline = b"", 0, time.time() + 30
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    # Answer each prompt (the passphrase, then its confirmation) once it
    # shows and the terminal's echo is off.
    prompts = seen.lower().count(b"passphrase")
    if sent < 2 and prompts > sent:
        attrs = termios.tcgetattr(fd)
        if attrs[3] & termios.ECHO:
            continue
        os.write(fd, (secret + "\n").encode())
        sent += 1
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
print("terminal showed: %r" % seen, file=sys.stderr)
ok = True
if sent < 1:
    print("no passphrase prompt seen", file=sys.stderr); ok = False
if secret.encode() in seen or secret[:8].encode() in seen:
    print("THE PASSPHRASE WAS ECHOED", file=sys.stderr); ok = False
if code != 0 or not os.path.exists(out):
    print("keygen -p failed: exit %d" % code, file=sys.stderr); ok = False
elif oct(os.stat(out).st_mode & 0o777) != "0o600":
    print("mode %o" % (os.stat(out).st_mode & 0o777), file=sys.stderr); ok = False
sys.exit(0 if ok else 1)
PY
# The identity made through the terminal opens with that passphrase.
printf 'tty passphrase that must not echo 99\n' >"$T/ttypass"
run decrypt-tty-id "$COLDMAIL_RESTORE" decrypt --passphrase-file "$T/ttypass" \
    -o "$T/ttyid.plain" "$T/id-tty.age"
grep -q '^AGE-SECRET-KEY-1' "$T/ttyid.plain" || fail "the terminal-made identity does not open"
echo ok
