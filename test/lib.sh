# test/lib.sh: sourced by every e2e and interop test.
#
# Gives: $T, a scratch directory removed on exit (kept if KEEP_SCRATCH=1);
# fail, skip, need, expect_code, assert_* helpers.  Paths to the binaries
# come from ctest's environment (tests.cmake); running a script by hand
# needs COLDMAIL, COLDMAIL_RESTORE, SRCDIR, TOOLDIR and TESTDATA.

set -euo pipefail

: "${SRCDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${TESTDATA:=$SRCDIR/test/data}"
: "${BUILDDIR:=$SRCDIR/build}"
: "${COLDMAIL:=$BUILDDIR/coldmail}"
: "${COLDMAIL_RESTORE:=$BUILDDIR/coldmail-restore}"
: "${TOOLDIR:=$BUILDDIR/test-tools}"
export SRCDIR TESTDATA BUILDDIR COLDMAIL COLDMAIL_RESTORE TOOLDIR

T=$(mktemp -d "${TMPDIR:-/tmp}/coldmail-test.XXXXXX")
cleanup() {
    if [ "${KEEP_SCRATCH:-0}" = 1 ]; then
        echo "scratch kept: $T" >&2
    else
        chmod -R u+rwX "$T" 2>/dev/null || true
        rm -rf "$T"
    fi
}
trap cleanup EXIT

TEST_NAME=$(basename "$0" .sh)

fail() {
    echo "FAIL [$TEST_NAME]: $*" >&2
    exit 1
}

skip() {
    echo "SKIP [$TEST_NAME]: $*" >&2
    exit 77
}

# need TOOL...: skip unless every tool is on PATH.
need() {
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
    done
}

# expect_code N CMD...: run CMD (stdout to $T/out, stderr to $T/err) and
# fail unless it exits with N.
expect_code() {
    local want=$1 got=0
    shift
    "$@" >"$T/out" 2>"$T/err" || got=$?
    if [ "$got" != "$want" ]; then
        echo "--- stdout:" >&2; head -c 4000 "$T/out" >&2 || true
        echo "--- stderr:" >&2; head -c 4000 "$T/err" >&2 || true
        fail "exit $got, expected $want: $*"
    fi
}

# assert_contains FILE TEXT: FILE holds TEXT (fixed string).
assert_contains() {
    grep -qF -- "$2" "$1" || {
        echo "--- $1:" >&2; head -c 4000 "$1" >&2
        fail "$1 does not contain: $2"
    }
}

assert_not_contains() {
    if grep -qF -- "$2" "$1"; then
        echo "--- $1:" >&2; head -c 4000 "$1" >&2
        fail "$1 contains: $2"
    fi
}

# assert_same_file A B: byte-identical.
assert_same_file() {
    cmp -s "$1" "$2" || fail "$1 and $2 differ"
}

# assert_same_tree A B: same names, kinds, contents, modes and mtimes.
assert_same_tree() {
    diff -r --no-dereference "$1" "$2" >"$T/tree.diff" 2>&1 || {
        head -50 "$T/tree.diff" >&2
        fail "trees differ: $1 $2"
    }
    (cd "$1" && find . -printf '%p %y %m %T@\n' | sort) >"$T/tree.a"
    (cd "$2" && find . -printf '%p %y %m %T@\n' | sort) >"$T/tree.b"
    # Directory mtimes change as entries are created; compare them apart.
    grep -v ' d ' "$T/tree.a" >"$T/tree.a.f" || true
    grep -v ' d ' "$T/tree.b" >"$T/tree.b.f" || true
    diff "$T/tree.a.f" "$T/tree.b.f" >&2 || fail "modes or mtimes differ: $1 $2"
}
