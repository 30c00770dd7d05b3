#!/usr/bin/env bash
# test/valgrind.sh [--quick] [BUILD_DIR]: the end-to-end tests under
# valgrind memcheck, on a plain (not sanitized) build (default: build).
#
# Both programs are replaced by wrappers that run them under
#   valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect
#            --error-exitcode=99
# with a log per process.  First the end-to-end sample (examples/
# sample-store.tar: keygen, pack, verify, verify --deep, ls, cat, restore,
# restore --format mbox, audit, decrypt, and the restored store compared
# with the original); then, unless --quick, the e2e scripts in
# $VALGRIND_TESTS (default below) with the wrappers as $COLDMAIL and
# $COLDMAIL_RESTORE.  At the end every log is read: any memcheck error or
# definite/indirect leak fails the run, even in a run whose exit status a
# test expected to be non-zero.  ctest runs --quick (valgrind/sample).
#
# Exit status 0 if clean, 1 if not, 77 if valgrind is not installed.
set -euo pipefail

quick=0
if [ "${1:-}" = --quick ]; then
    quick=1
    shift
fi
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$SRCDIR/build}" && pwd)
: "${VALGRIND_TESTS:=30-verify 41-restore-damaged 42-audit 44-adversarial 12-pack-errors}"
# (Not 40-restore-roundtrip: it counts the bytes cat reads with strace,
# which under valgrind sees valgrind's own reads.)

command -v valgrind >/dev/null 2>&1 || { echo "SKIP: valgrind is not installed" >&2; exit 77; }
for b in coldmail coldmail-restore; do
    [ -x "$BUILD/$b" ] || { echo "$BUILD/$b: not built" >&2; exit 1; }
done
if grep -q '^COLDMAIL_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
    echo "SKIP: $BUILD is a sanitizer build (valgrind needs a plain one)" >&2
    exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/coldmail-valgrind.XXXXXX")
trap 'chmod -R u+rwX "$work" 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/logs"
# 12-pack-errors runs the pack as another user too: the wrappers must be
# reachable, the logs writable.
chmod 0755 "$work" "$work/bin"
chmod 1777 "$work/logs"
for b in coldmail coldmail-restore; do
    cat >"$work/bin/$b" <<EOF
#!/bin/sh
exec valgrind -q --tool=memcheck --leak-check=full \\
    --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \\
    --error-exitcode=99 --num-callers=30 \\
    --suppressions="$SRCDIR/test/valgrind.supp" \\
    --log-file="$work/logs/$b.%p.log" "$BUILD/$b" "\$@"
EOF
    chmod +x "$work/bin/$b"
done
PACK=$work/bin/coldmail
RESTORE=$work/bin/coldmail-restore

# ------------------------------------------------------------- the sample
s=$work/sample
mkdir -p "$s/store" "$s/medium" "$s/restored"
tar -xpf "$SRCDIR/examples/sample-store.tar" -C "$s/store"
step() { echo "== $*" >&2; }
step "keys"
"$PACK" keygen -o "$s/signing.key" >/dev/null
recipient=$("$RESTORE" keygen -o "$s/identity.txt")
step "pack (full, then incremental)"
"$PACK" pack -q -o "$s/medium" -r "$recipient" -s "$s/signing.key" --state-dir "$s/state" \
    --init-label sample --volume-size 64k "$s/store"
echo "one more" >"$s/store/$(ls "$s/store" | head -1)/valgrind-extra"
sleep 1
"$PACK" pack -q -o "$s/medium" -r "$recipient" -s "$s/signing.key" --state-dir "$s/state" \
    --volume-size 64k "$s/store"
"$PACK" status --state-dir "$s/state" >/dev/null
"$PACK" media ls "$s/medium" >/dev/null
set_dir=$(ls -d "$s/medium"/coldmail-* | tail -1)
K=(-p "$s/signing.key.pub")
step "verify, verify --deep"
"$RESTORE" verify "${K[@]}" "$s/medium" >/dev/null
"$RESTORE" verify "${K[@]}" --deep -i "$s/identity.txt" "$s/medium" >/dev/null
step "ls, cat, restore, audit, decrypt"
"$RESTORE" ls "${K[@]}" -i "$s/identity.txt" --json "$set_dir" >"$s/ls.json"
path=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["kind"] == "message": print(r["path"]); break' "$s/ls.json")
"$RESTORE" cat "${K[@]}" -i "$s/identity.txt" --path "$path" "$set_dir" >/dev/null
"$RESTORE" restore "${K[@]}" -i "$s/identity.txt" -q -o "$s/restored" "$set_dir"
"$RESTORE" restore "${K[@]}" -i "$s/identity.txt" -q -o "$s/mbox" --format mbox "$set_dir"
"$RESTORE" audit "${K[@]}" -i "$s/identity.txt" --sample 5 --seed 1 "$set_dir" >/dev/null
"$RESTORE" decrypt -i "$s/identity.txt" -o "$s/catalog.zst" "$set_dir/catalog.jsonl.zst.age"
diff -r --no-dereference "$s/store" "$s/restored/$(basename "$s/store")" >&2 ||
    { echo "FAIL: the restored sample differs" >&2; exit 1; }
# A damaged copy: the error paths.
cp -a "$set_dir" "$s/damaged"
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=1; open(p,"wb").write(b)' \
    "$s/damaged/vol-0001.tar.zst.age"
rc=0
"$RESTORE" verify "${K[@]}" --deep -i "$s/identity.txt" "$s/damaged" >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || { echo "FAIL: verify --deep of a damaged set: exit $rc" >&2; exit 1; }
rc=0
"$RESTORE" restore "${K[@]}" -i "$s/identity.txt" -q -o "$s/restored-damaged" "$s/damaged" 2>/dev/null || rc=$?
[ "$rc" = 1 ] || { echo "FAIL: restore of a damaged set: exit $rc" >&2; exit 1; }

# --------------------------------------------------------- the e2e subset
failed=
if [ "$quick" = 0 ]; then
    for t in $VALGRIND_TESTS; do
        step "e2e/$t"
        if ! COLDMAIL=$PACK COLDMAIL_RESTORE=$RESTORE SRCDIR=$SRCDIR BUILDDIR=$BUILD \
            TOOLDIR=$BUILD/test-tools TESTDATA=$SRCDIR/test/data \
            bash "$SRCDIR/test/e2e/$t.sh" >"$work/logs/e2e-$t.out" 2>&1; then
            tail -20 "$work/logs/e2e-$t.out" >&2
            failed="$failed $t"
        fi
    done
fi

# ------------------------------------------------------------- the logs
n=$(find "$work/logs" -name 'coldmail*.log' | wc -l)
bad=$(grep -lE '^==[0-9]+== (Invalid|Conditional|Use of uninit|Syscall param|Mismatched|Source and destination|Argument|.*definitely lost|.*indirectly lost|Process terminating)' \
    "$work/logs"/coldmail*.log 2>/dev/null || true)
echo "valgrind: $n processes checked" >&2
if [ -n "$bad" ]; then
    for f in $bad; do
        echo "--- $f" >&2
        head -60 "$f" >&2
    done
    echo "FAIL: memcheck errors or leaks in $(echo "$bad" | wc -l) process(es)" >&2
    exit 1
fi
[ -z "$failed" ] || { echo "FAIL: e2e under valgrind:$failed" >&2; exit 1; }
echo "valgrind: clean" >&2
