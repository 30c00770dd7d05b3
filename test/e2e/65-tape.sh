#!/usr/bin/env bash
# Tape and other sequential media: pack -o - into a pipe and --tape into a
# file standing in for a device; the stream is written in whole blocks,
# GNU tar lists it and extracts the set directory, which verifies; verify -
# and verify FILE read it in order (from a FIFO, so no seek is possible,
# and under strace when it is there) and fail precisely on a flipped byte;
# restore - gives the store back byte for byte; tape sets are in the chain.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/restore-common.bash"
need python3 tar mkfifo
tar --version 2>/dev/null | grep -q 'GNU tar' || skip "tar is not GNU tar"

build_stores "$T/src"
make_keys
mkdir -p "$T/spool" "$T/tmp"
export TMPDIR=$T/tmp
PACK=("$COLDMAIL" pack -q -r "$RECIPIENT" -s "$T/sign.key" --state-dir "$T/state"
      --spool-dir "$T/spool" --volume-size 1M)

# --- to a pipe, in 64 KiB blocks.
set +e
"${PACK[@]}" -o - --block-size 64k --tape-label tape-A "$T/src/mail" 2>"$T/pack1.err" |
    cat >"$T/stream1"
status=("${PIPESTATUS[@]}")
set -e
[ "${status[0]}" = 0 ] || { cat "$T/pack1.err" >&2; fail "pack -o - failed"; }
size=$(stat -c %s "$T/stream1")
[ "$size" -gt 0 ] && [ $((size % 65536)) = 0 ] || fail "stream size $size: not whole 64 KiB blocks"
[ -z "$(ls -A "$T/spool")" ] || fail "the spool is not empty: $(ls -A "$T/spool")"

# --- to a file standing in for a device, in the default 256 KiB blocks.
expect_code 0 "${PACK[@]}" --tape "$T/tape.dev" "$T/src/mail"
size=$(stat -c %s "$T/tape.dev")
[ $((size % 262144)) = 0 ] || fail "tape size $size: not whole 256 KiB blocks"

# --- GNU tar: the set directory first, the volumes each with its parity,
# the catalog, RESTORE.txt, then MANIFEST.minisig and MANIFEST last.
tar -tf "$T/stream1" >"$T/list1" || fail "GNU tar cannot list the stream"
python3 - "$T/list1" <<'PY' || fail "unexpected member order"
import re, sys
names = [l.rstrip("\n") for l in open(sys.argv[1])]
top = names[0].rstrip("/")
assert re.fullmatch(r"coldmail-[^/]+", top), names[0]
files = [n[len(top) + 1:] for n in names[1:]]
assert all(n.startswith(top + "/") for n in names[1:]), names
assert files[-2:] == ["MANIFEST.minisig", "MANIFEST"], files[-2:]
assert files[-3] == "RESTORE.txt", files
vols = [f for f in files if f.startswith("vol-")]
assert len(vols) >= 4, vols
for i in range(0, len(vols), 2):
    assert vols[i + 1] == vols[i] + ".par", vols
assert files.index("catalog.jsonl.zst.age") > files.index(vols[-1])
PY
mkdir "$T/x1" "$T/x2"
tar -xf "$T/stream1" -C "$T/x1" || fail "GNU tar cannot extract the stream"
tar -xf "$T/tape.dev" -C "$T/x2" || fail "GNU tar cannot extract the tape file"
SET1=$(ls -d "$T"/x1/coldmail-*)
SET2=$(ls -d "$T"/x2/coldmail-*)
expect_code 0 "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" "$SET1"
assert_contains "$T/out" "OK  $(basename "$SET1")"
grep -qx "medium tape-A" "$SET1/MANIFEST" || fail "--tape-label not in MANIFEST"
grep -qx "kind full" "$SET2/MANIFEST" || fail "a tape set is not full"

# --- verify - and verify FILE: as the directory verify reports it.
expect_code 0 "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" - <"$T/stream1"
assert_contains "$T/out" "OK  $(basename "$SET1")"
assert_contains "$T/out" "1 set checked: 1 OK"
expect_code 0 "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" "$T/tape.dev"
assert_contains "$T/out" "OK  $(basename "$SET2")"
# From a FIFO, which cannot seek at all.
mkfifo "$T/fifo"
cat "$T/tape.dev" >"$T/fifo" &
expect_code 0 "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" "$T/fifo"
wait
assert_contains "$T/out" "OK  $(basename "$SET2")"
# A set signed with another key is not authentic.
"$COLDMAIL" keygen -o "$T/other.key" >/dev/null 2>&1
expect_code 5 "$COLDMAIL_RESTORE" verify -p "$T/other.key.pub" - <"$T/stream1"

# --- one flipped byte in the content of vol-0002: exactly that block.
read -r off vsize < <(python3 - "$T/stream1" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    for m in t.getmembers():
        if m.name.endswith("/vol-0002.tar.zst.age"):
            print(m.offset_data, m.size)
PY
)
[ -n "$off" ] || fail "no vol-0002 in the stream"
cp "$T/stream1" "$T/bad"
flip=$((off + 5000))
python3 -c "
import sys
f = open(sys.argv[1], 'r+b'); f.seek(int(sys.argv[2])); b = f.read(1)
f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0x40]))" "$T/bad" "$flip"
expect_code 1 "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" - <"$T/bad"
assert_contains "$T/out" "DAMAGED $(basename "$SET1")"
last=$((vsize < 1048576 ? vsize - 1 : 1048575))
assert_contains "$T/out" "vol-0002.tar.zst.age: block 0 (bytes 0-$last) does not match"
[ "$(grep -c 'does not match' "$T/out")" = 1 ] || fail "more than one block reported"
assert_not_contains "$T/out" "vol-0001"
assert_not_contains "$T/out" "vol-0003"
assert_not_contains "$T/out" "MANIFEST"
# The same through a FIFO.
cat "$T/bad" >"$T/fifo" &
expect_code 1 "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" "$T/fifo"
wait
assert_contains "$T/out" "vol-0002.tar.zst.age: block 0"
# A stream cut short: what is missing is reported, not a crash.
head -c $((off + 100000)) "$T/stream1" >"$T/short"
expect_code 1 "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" - <"$T/short"
assert_contains "$T/out" "the stream breaks off"
assert_contains "$T/out" "MANIFEST: missing"

# --- no seek backwards: verify and restore read standard input with
# read(2) only (strace, when it is there and allowed; LeakSanitizer cannot
# run under ptrace, the same runs elsewhere here have it).
if command -v strace >/dev/null 2>&1 &&
    strace -f -o /dev/null true 2>/dev/null; then
    ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
    export ASAN_OPTIONS
    strace -f -e trace=read,lseek,pread64,preadv,preadv2 -o "$T/strace" \
        "$COLDMAIL_RESTORE" verify -p "$T/sign.key.pub" - <"$T/stream1" >/dev/null 2>&1 ||
        fail "verify under strace"
    grep -q 'read(0,' "$T/strace" || fail "strace saw no read of standard input"
    if grep -E '(lseek|pread64|preadv2?)\(0,' "$T/strace"; then
        fail "verify - seeks on standard input"
    fi
    strace -f -e trace=lseek,pread64,preadv,preadv2 -o "$T/strace" \
        "$COLDMAIL_RESTORE" restore -i "$T/id.txt" -p "$T/sign.key.pub" \
        -o "$T/out-strace" - <"$T/stream1" >/dev/null 2>&1 ||
        fail "restore under strace"
    if grep -E '(lseek|pread64|preadv2?)\(0,' "$T/strace"; then
        fail "restore - seeks on standard input"
    fi
    ASAN_OPTIONS=${ASAN_OPTIONS%:detect_leaks=0}
fi

# --- restore -: byte for byte, modes and mtimes; and from a FIFO.
expect_code 0 R restore -o "$T/restored" - <"$T/stream1"
assert_same_tree "$T/src/mail" "$T/restored/mail"
tree_meta "$T/src/mail" >"$T/meta.src"
tree_meta "$T/restored/mail" >"$T/meta.out"
diff "$T/meta.src" "$T/meta.out" >&2 || fail "modes or mtimes differ"
[ -z "$(ls -A "$T/tmp")" ] || fail "restore - left its spool: $(ls -A "$T/tmp")"
cat "$T/tape.dev" >"$T/fifo" &
expect_code 0 R restore -o "$T/restored2" --spool-dir "$T/spool" "$T/fifo"
wait
assert_same_tree "$T/src/mail" "$T/restored2/mail"
[ -z "$(ls -A "$T/spool")" ] || fail "restore left its spool"
# A damaged stream still restores what is intact, and says what is not.
set +e
R restore -o "$T/restored3" - <"$T/bad" >"$T/out" 2>"$T/err"
code=$?
set -e
[ "$code" = 1 ] || { cat "$T/err" >&2; fail "restore of a damaged stream: exit $code"; }
assert_contains "$T/err" "LOST"

# --- the chain: both tape sets, then a set on a medium, link up.
mkdir "$T/medium"
expect_code 0 "${PACK[@]}" -o "$T/medium" --init-label disk "$T/src/mail"
expect_code 0 "$COLDMAIL_RESTORE" verify --chain -p "$T/sign.key.pub" \
    "$SET1" "$SET2" "$T/medium"
assert_contains "$T/out" "chain: 0 problems"
grep -qx "sequence 3" "$T"/medium/coldmail-*/MANIFEST || fail "the medium's set is not sequence 3"

# --- refusals.
expect_code 2 "${PACK[@]}" -o - --tape "$T/t2" "$T/src/mail"
expect_code 2 "${PACK[@]}" -o - --json "$T/src/mail"
expect_code 2 "${PACK[@]}" -o "$T/medium" --block-size 64k "$T/src/mail"
expect_code 2 "${PACK[@]}" --tape "$T/t3" --block-size 1000 "$T/src/mail"
echo "tape: ok"
