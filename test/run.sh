#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: install the packages,
# build, run ctest; then build again with AddressSanitizer and UBSan (no
# recover) and run ctest again.  Exit status 0 only if both pass.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${COLDMAIL_SKIP_DEPS:-0}" != 1 ]; then
    ./scripts/install-deps.sh
fi

jobs=$(nproc 2>/dev/null || echo 2)

run_suite() {
    local dir=$1; shift
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
    cmake --build "$dir" -j "$jobs"
    ctest --test-dir "$dir" -j "$jobs" --output-on-failure --timeout 1200
}

echo "== plain build"
run_suite build
echo "== sanitizer build (ASan + UBSan, no recover; LeakSanitizer on)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build-san -DCOLDMAIL_SANITIZE=ON
echo "== all tests passed"
