#!/usr/bin/env bash
# test/fuzz/fuzz.sh [SECONDS] [TARGET...]: run libFuzzer targets.
#
# Builds the clang fuzz build (libFuzzer + ASan + UBSan, no recover) in
# $FUZZ_BUILD (default build-fuzz) if needed, then runs each TARGET (default:
# every test/fuzz/fuzz_*.c) for SECONDS (default 60) of wall time, and stops
# at the first crash, leak or timeout.  New inputs go to a work corpus in
# $FUZZ_BUILD/fuzz-corpus/<target> (the seeds in test/fuzz/corpus/<target>
# are read, never written); a crashing input is left in
# $FUZZ_BUILD/fuzz-artifacts/<target>/ -- minimize it and copy it into the
# seed corpus as a regression case.
#
# Environment:
#   FUZZ_JOBS=N        targets run N at a time (default 1)
#   FUZZ_MIN_CPU=S     go on (resuming from the work corpus) until each
#                      target has had S CPU seconds, not only SECONDS of
#                      wall time: on a shared machine wall time is not CPU
#   FUZZ_BUILD=DIR     the build directory; FUZZ_BIN=DIR runs the binaries
#                      found in DIR instead (e.g. a copy, so that a rebuild
#                      does not disturb a long run)
#   FUZZ_NO_BUILD=1    do not (re)build
#   FUZZ_ARGS="..."    extra libFuzzer flags
#
# Prints one line per target: target, wall seconds, CPU seconds, executions,
# result.  Exit status 0 if no target found anything, 1 otherwise.
set -euo pipefail

SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$SRCDIR"
SECONDS_EACH=${1:-60}
[ $# -gt 0 ] && shift
BUILD=${FUZZ_BUILD:-$SRCDIR/build-fuzz}
JOBS=${FUZZ_JOBS:-1}
MIN_CPU=${FUZZ_MIN_CPU:-0}

case $SECONDS_EACH in
'' | *[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac

if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for f in test/fuzz/fuzz_*.c; do
        t=$(basename "$f" .c)
        targets+=("${t#fuzz_}")
    done
fi

if [ -z "${FUZZ_BIN:-}" ] && [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
    if [ ! -f "$BUILD/CMakeCache.txt" ]; then
        CC=${CC:-clang} cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DCOLDMAIL_FUZZ=ON -DCOLDMAIL_SANITIZE=ON \
            -DCOLDMAIL_STATIC_RESTORE=OFF >/dev/null
    fi
    build_targets=()
    for t in "${targets[@]}"; do build_targets+=(--target "fuzz_$t"); done
    cmake --build "$BUILD" -j "$(nproc)" "${build_targets[@]}" >/dev/null
fi
BIN=${FUZZ_BIN:-$BUILD/fuzz}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
LOGS=$BUILD/fuzz-logs
mkdir -p "$LOGS"

# run_one TARGET: fuzz it; one result line on stdout.
run_one() {
    local t=$1 wall=0 cpu=0 execs=0 result=ok rc start left
    local corpus=$BUILD/fuzz-corpus/$t art=$BUILD/fuzz-artifacts/$t
    local log=$LOGS/$t.log
    [ -x "$BIN/fuzz_$t" ] || { printf '%-16s missing binary %s\n' "$t" "$BIN/fuzz_$t"; return 1; }
    mkdir -p "$corpus" "$art"
    : >"$log"
    left=$SECONDS_EACH
    while :; do
        start=$(date +%s)
        rc=0
        # shellcheck disable=SC2086
        /usr/bin/time -f 'cpu %U %S' -a -o "$log.time" \
            "$BIN/fuzz_$t" -max_total_time="$left" -print_final_stats=1 \
            -timeout=25 -rss_limit_mb=2048 -artifact_prefix="$art/" \
            ${FUZZ_ARGS:-} "$corpus" "test/fuzz/corpus/$t" >>"$log" 2>&1 || rc=$?
        wall=$((wall + $(date +%s) - start))
        execs=$((execs + $(awk '/^stat::number_of_executed_units:/ {n = $2} END {print n + 0}' "$log")))
        cpu=$(awk '/^cpu / {s += $2 + $3} END {printf "%d", s}' "$log.time")
        # the log accumulates: count each run's stats once
        sed -i 's/^stat::number_of_executed_units:/counted::number_of_executed_units:/' "$log"
        if [ "$rc" != 0 ]; then
            result="FOUND (exit $rc): $(grep -m1 -E 'ERROR|runtime error|deadly signal|Test unit written' "$log" || true)"
            result="$result; $(ls -t "$art" | head -1)"
            break
        fi
        [ "$cpu" -ge "$MIN_CPU" ] && break
        left=$((MIN_CPU - cpu))
        [ "$left" -lt 10 ] && left=10
    done
    rm -f "$log.time"
    printf '%-16s wall %5ds cpu %5ds execs %12d  %s\n' "$t" "$wall" "$cpu" "$execs" "$result"
    [ "$result" = ok ]
}

printf '%-16s %s\n' target "result (logs in $LOGS)"
status=0
running=0
for t in "${targets[@]}"; do
    rm -f "$LOGS/$t.log.time"
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then
        wait -n || status=1
        running=$((running - 1))
    fi
    # the first finding stops the run (targets already running finish)
    [ "$status" = 0 ] || break
done
while [ "$running" -gt 0 ]; do
    wait -n || status=1
    running=$((running - 1))
done
exit $status
