#!/usr/bin/env bash
# bench/incremental.sh: coldmail's incremental pack against restic and borg
# on the same week of change, in the same run:
#
#   1. the generated store (genmail.py --size 1G --seed 42), packed full by
#      coldmail, and given to restic and borg (repositories initialised on
#      the same disk) and to tar -g as their first state;
#   2. one simulated week (genmail.py --mutate --days 7);
#   3. each tool's incremental of that change: wall time and bytes added to
#      its medium or repository;
#   4. each tool again with no change: the rescan time (tar -g too).
#
# Issue 5 targets: coldmail's incremental at least 3x faster than restic's,
# adding no more bytes than borg; a rescan with no change under 0.3 s.
# Not a test; run on demand:
#
#     bench/incremental.sh [WORKDIR]
#
# Each timing is the best of RUNS runs (default 3; the least disturbed by
# other load): before each run of an incremental, the medium, state and
# repositories are put back as they were before it.
#
# Environment: SIZE (default 1G), RUNS, COLDMAIL (default build/coldmail),
# GENMAIL (default ../shared/bench/genmail.py), PERF=1 (also profile
# coldmail's incremental and its rescan with perf, into WORKDIR).  restic and
# borg are installed with apt-get if missing.  WORKDIR (default
# /var/tmp/coldmail-bench-inc) caches the generated store; the copy that
# changes, the medium and the repositories are made there afresh each run.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
SIZE=${SIZE:-1G}
RUNS=${RUNS:-3}
COLDMAIL=${COLDMAIL:-$here/build/coldmail}
GENMAIL=${GENMAIL:-$here/../shared/bench/genmail.py}
WORK=${1:-${BENCH_WORK:-/var/tmp/coldmail-bench-inc}}

# shellcheck source=bench/common.sh
. "$here/bench/common.sh"
for t in python3 tar age-keygen; do
    command -v "$t" >/dev/null || die "$t is not installed"
done
if ! command -v restic >/dev/null || ! command -v borg >/dev/null; then
    echo "installing restic and borgbackup ..." >&2
    apt-get install -y restic borgbackup >&2 || die "cannot install restic and borg"
fi
[ -x "$COLDMAIL" ] || die "$COLDMAIL: not built (cmake --build build)"
[ -f "$GENMAIL" ] || die "$GENMAIL: not found"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

# ------------------------------------------------------------ corpus, keys
bench_corpus_and_keys
export RESTIC_PASSWORD=bench BORG_PASSPHRASE=bench
export RESTIC_CACHE_DIR=$WORK/restic-cache BORG_BASE_DIR=$WORK/borg-base
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes

store=$WORK/store
medium=$WORK/medium
echo "fresh copies: store, medium, repositories ..." >&2
rm -rf "$store" "$medium" "$WORK/state" "$WORK/restic" "$WORK/borg" \
    "$WORK/tar" "$RESTIC_CACHE_DIR" "$BORG_BASE_DIR"
cp -a "$corpus" "$store"
mkdir -p "$medium" "$WORK/tar"

bytes_of() { du -sb "$1" | cut -f1; }
now() { date +%s.%N; }
# timed NAME CMD...: run CMD; its wall time into $T_NAME and its CPU time
# (user + system) into $C_NAME, in seconds, for the fastest run so far
timed() {
    local name=$1 t0 t1 t var=T_$1 cpu=C_$1
    shift
    t0=$(now)
    /usr/bin/time -f '%U %S' -o "$WORK/$name.time" "$@" >"$WORK/$name.out" \
        2>"$WORK/$name.log" || { cat "$WORK/$name.log" >&2; die "$name failed"; }
    t1=$(now)
    t=$(echo "$t1 - $t0" | bc)
    if [ -z "${!var:-}" ] || [ "$(echo "$t < ${!var}" | bc)" = 1 ]; then
        printf -v "$var" '%.3f' "$t"
        printf -v "$cpu" '%.3f' "$(awk '{print $1 + $2}' "$WORK/$name.time")"
    fi
}
pack=("$COLDMAIL" pack -q -o "$medium" --init-label bench -r "$recipient"
      -s "$keys/signing.key" --state-dir "$WORK/state" --max-chain 1000
      --json "$store")
# keep DIR... / put_back DIR...: copies of what an incremental changes
keep() { for d in "$@"; do rm -rf "$d.pre"; cp -a "$d" "$d.pre"; done; }
put_back() { for d in "$@"; do rm -rf "$d"; cp -a "$d.pre" "$d"; done; }
medium_bytes() { find "$medium" -path "$medium/coldmail-*" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }

# ------------------------------------------------------------ first state
echo "first state: coldmail full pack, restic and borg first backups, tar -g level 0 ..." >&2
timed cm_full "${pack[@]}"
restic init -r "$WORK/restic" >/dev/null 2>&1 || die "restic init"
timed restic_full restic backup -q -r "$WORK/restic" "$store"
borg init -e repokey "$WORK/borg" >/dev/null 2>&1 || die "borg init"
timed borg_full borg create "$WORK/borg::w0" "$store"
timed tar_full tar -g "$WORK/tar/snar" -cf "$WORK/tar/level0.tar" -C "$WORK" store

echo "one simulated week: genmail.py --mutate --days 7 ..." >&2
python3 "$GENMAIL" "$store" --mutate --days 7 >"$WORK/mutate.log" 2>&1 ||
    { cat "$WORK/mutate.log" >&2; die "genmail --mutate"; }
# Everything reads the store from the page cache, as each would on a host
# that just delivered the mail.
find "$store" -type f -exec cat {} + >/dev/null

# ------------------------------------------------------------ the change
cm0=$(medium_bytes); r0=$(bytes_of "$WORK/restic"); b0=$(bytes_of "$WORK/borg")
parts=("$medium" "$WORK/state" "$WORK/restic" "$RESTIC_CACHE_DIR" "$WORK/borg"
       "$BORG_BASE_DIR" "$WORK/tar/snar")
keep "${parts[@]}"
for r in $(seq "$RUNS"); do
    echo "incrementals of the week, run $r/$RUNS ..." >&2
    [ "$r" = 1 ] || put_back "${parts[@]}"
    sync
    timed cm_inc "${pack[@]}"
    timed restic_inc restic backup -q -r "$WORK/restic" "$store"
    timed borg_inc borg create "$WORK/borg::w1" "$store"
    timed tar_inc tar -g "$WORK/tar/snar" -cf "$WORK/tar/level1.tar" -C "$WORK" store
done
cm_kind=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kind"])' "$WORK/cm_inc.out")
cm1=$(medium_bytes)
r1=$(bytes_of "$WORK/restic")
b1=$(bytes_of "$WORK/borg")
t1=$(stat -c %s "$WORK/tar/level1.tar")
for d in "${parts[@]}"; do rm -rf "$d.pre"; done

# ------------------------------------------------------------ no change
for r in $(seq "$RUNS"); do
    echo "rescans with no change, run $r/$RUNS ..." >&2
    timed cm_none "${pack[@]}"
    timed restic_none restic backup -q -r "$WORK/restic" "$store"
    timed borg_none borg create "$WORK/borg::w2-$r" "$store"
    timed tar_none tar -g "$WORK/tar/snar" -cf "$WORK/tar/level2.tar" -C "$WORK" store
done

if [ "${PERF:-0}" = 1 ] && command -v perf >/dev/null; then
    echo "profiling coldmail's rescan: $WORK/perf.none.data" >&2
    perf record -g -o "$WORK/perf.none.data" -- "$COLDMAIL" pack -q -o "$medium" \
        -r "$recipient" -s "$keys/signing.key" --state-dir "$WORK/state" "$store" \
        >/dev/null 2>&1 || true
    perf report -i "$WORK/perf.none.data" --no-children --stdio 2>/dev/null |
        grep -E '^ +[0-9.]+%' | head -25 >"$WORK/perf.none.top" || true
fi

# ------------------------------------------------------------ report
in_bytes=$(bytes_of "$store")
files=$(find "$store" -type f | wc -l)
python3 - <<EOF
mb = 1e6
rows = [
    ("coldmail pack ($cm_kind)", $T_cm_inc, $cm1 - $cm0, $T_cm_none, $C_cm_inc, $C_cm_none),
    ("restic backup", $T_restic_inc, $r1 - $r0, $T_restic_none, $C_restic_inc, $C_restic_none),
    ("borg create", $T_borg_inc, $b1 - $b0, $T_borg_none, $C_borg_inc, $C_borg_none),
    ("tar -g (no crypto)", $T_tar_inc, $t1, $T_tar_none, $C_tar_inc, $C_tar_none),
]
print(f"store: {$in_bytes / mb:.0f} MB in $files files; $(nproc) cores; "
      f"load after: $(cut -d' ' -f1-3 /proc/loadavg); best of $RUNS runs")
print(f"first state: coldmail {$T_cm_full:.1f} s, restic {$T_restic_full:.1f} s, "
      f"borg {$T_borg_full:.1f} s, tar {$T_tar_full:.1f} s")
print(f"{'':26}{'one week of change':>32}{'rescan, no change':>22}")
print(f"{'':26}{'wall (s)':>10}{'cpu (s)':>9}{'added':>13}{'wall (s)':>11}{'cpu (s)':>9}")
for name, t, b, n, ct, cn in rows:
    print(f"{name:26}{t:>10.2f}{ct:>9.2f}{b / mb:>10.2f} MB{n:>11.2f}{cn:>9.2f}")
cm, restic, borg = rows[0], rows[1], rows[2]
print(f"targets: incremental >= 3x faster than restic: {restic[1] / cm[1]:.1f}x "
      f"({'met' if restic[1] >= 3 * cm[1] else 'NOT met'}); bytes <= borg's: "
      f"{cm[2] / mb:.2f} vs {borg[2] / mb:.2f} MB ({'met' if cm[2] <= borg[2] else 'NOT met'}); "
      f"rescan < 0.3 s: {cm[3]:.2f} s ({'met' if cm[3] < 0.3 else 'NOT met'})")
EOF
[ -f "$WORK/perf.none.top" ] && { echo "perf, coldmail rescan, top self time:"; cat "$WORK/perf.none.top"; }
exit 0
