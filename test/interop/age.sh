#!/bin/bash
# coldmail's age implementation (through test-tools/tool_age) against the
# real age and age-keygen: both directions, binary and armored, several
# recipients, passphrases (age reads those only from a terminal, so it
# runs under a pty), and passphrase-protected identity files.
. "$(dirname "$0")/../lib.sh"
need age age-keygen cmp
TOOL=$TOOLDIR/tool_age
[ -x "$TOOL" ] || fail "$TOOL is not built"

# pty_run ANSWER CMD...: run CMD on a pty, typing ANSWER at every
# passphrase prompt.
pty_run() {
    python3 - "$@" <<'EOF'
import os, pty, sys
answer, argv = sys.argv[1].encode(), sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
seen = b''
while True:
    try:
        data = os.read(fd, 1024)
    except OSError:
        break
    if not data:
        break
    seen += data
    if b'passphrase' in seen.lower() and seen.rstrip().endswith(b':'):
        os.write(fd, answer + b'\n')
        seen = b''
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
EOF
}

age-keygen -o "$T/id1.txt" 2>/dev/null
R1=$(age-keygen -y "$T/id1.txt")
"$TOOL" keygen >"$T/id2.txt"
R2=$(sed -n 's/^# public key: //p' "$T/id2.txt")
# Our identity format is age's: age-keygen derives the same recipient.
[ "$(age-keygen -y "$T/id2.txt")" = "$R2" ] || fail "recipient mismatch"
age-keygen -o "$T/id3.txt" 2>/dev/null

for size in 0 1 65535 65536 65537 5242880; do
    head -c "$size" /dev/urandom >"$T/pt"

    # age -> coldmail, binary and armored.
    age -r "$R1" -o "$T/a.age" "$T/pt"
    expect_code 0 "$TOOL" decrypt -i "$T/id1.txt" <"$T/a.age"
    assert_same_file "$T/out" "$T/pt"
    age -a -r "$R1" -o "$T/a.asc" "$T/pt"
    expect_code 0 "$TOOL" decrypt -i "$T/id1.txt" <"$T/a.asc"
    assert_same_file "$T/out" "$T/pt"

    # coldmail -> age.
    "$TOOL" encrypt -r "$R1" <"$T/pt" >"$T/c.age"
    age -d -i "$T/id1.txt" -o "$T/out" "$T/c.age"
    assert_same_file "$T/out" "$T/pt"

    # Random access into age's file: a range across a chunk boundary.
    if [ "$size" -gt 65536 ]; then
        expect_code 0 "$TOOL" pread -i "$T/id1.txt" "$T/a.age" 65000 537
        dd if="$T/pt" of="$T/want" iflag=skip_bytes,count_bytes skip=65000 \
            count=537 bs=4096 2>/dev/null
        assert_same_file "$T/out" "$T/want"
    fi
done

# Several recipients, both ways; a recipients file; a wrong identity.
head -c 100000 /dev/urandom >"$T/pt"
age -r "$R1" -r "$R2" -o "$T/m.age" "$T/pt"
for id in id1 id2; do
    expect_code 0 "$TOOL" decrypt -i "$T/$id.txt" <"$T/m.age"
    assert_same_file "$T/out" "$T/pt"
done
printf '# team\n%s\n\n%s\n' "$R1" "$R2" >"$T/recipients.txt"
"$TOOL" encrypt -R "$T/recipients.txt" <"$T/pt" >"$T/m2.age"
for id in id1 id2; do
    age -d -i "$T/$id.txt" -o "$T/out" "$T/m2.age"
    assert_same_file "$T/out" "$T/pt"
done
expect_code 6 "$TOOL" decrypt -i "$T/id3.txt" <"$T/m.age"
assert_contains "$T/err" "no identity matches"
if age -d -i "$T/id3.txt" -o "$T/out" "$T/m2.age" 2>/dev/null; then
    fail "age decrypted with a wrong identity"
fi

# A flipped bit in age's payload: authentication fails, exit 5.
cp "$T/m.age" "$T/bad.age"
printf '\x00' | dd of="$T/bad.age" bs=1 seek=70000 conv=notrunc 2>/dev/null
expect_code 5 "$TOOL" decrypt -i "$T/id1.txt" <"$T/bad.age"
assert_contains "$T/err" "chunk 1: authentication failed"

if ! command -v python3 >/dev/null 2>&1; then
    echo "NOTE [$TEST_NAME]: no python3, passphrase interop not run" >&2
    exit 0
fi

# Passphrases: age -p -> coldmail, and coldmail -> age -d.
printf 'correct horse battery staple\n' >"$T/pass"
pty_run 'correct horse battery staple' age -p -o "$T/p.age" "$T/pt" \
    >/dev/null || fail "age -p failed"
expect_code 0 "$TOOL" decrypt --passphrase-file "$T/pass" <"$T/p.age"
assert_same_file "$T/out" "$T/pt"
pty_run 'correct horse battery staple' age -p -a -o "$T/p.asc" "$T/pt" \
    >/dev/null || fail "age -p -a failed"
expect_code 0 "$TOOL" decrypt --passphrase-file "$T/pass" <"$T/p.asc"
assert_same_file "$T/out" "$T/pt"
"$TOOL" encrypt --passphrase-file "$T/pass" --work-factor 14 \
    <"$T/pt" >"$T/cp.age"
rm -f "$T/out"
pty_run 'correct horse battery staple' age -d -o "$T/out" "$T/cp.age" \
    >/dev/null || fail "age -d of a passphrase file failed"
assert_same_file "$T/out" "$T/pt"
printf 'wrong\n' >"$T/wrong"
expect_code 6 "$TOOL" decrypt --passphrase-file "$T/wrong" <"$T/p.age"

# A passphrase-protected identity file, binary and armored.
pty_run 'correct horse battery staple' age -p -o "$T/id1.age" "$T/id1.txt" \
    >/dev/null || fail "age -p of the identity failed"
pty_run 'correct horse battery staple' age -p -a -o "$T/id1.asc" \
    "$T/id1.txt" >/dev/null || fail "age -p -a of the identity failed"
for f in id1.age id1.asc; do
    expect_code 0 "$TOOL" pread -i "$T/$f" --passphrase-file "$T/pass" \
        "$T/m.age" 0 100000
    assert_same_file "$T/out" "$T/pt"
done
expect_code 5 "$TOOL" decrypt -i "$T/id1.age" --passphrase-file "$T/wrong" \
    <"$T/m.age"
assert_contains "$T/err" "wrong passphrase"
exit 0
