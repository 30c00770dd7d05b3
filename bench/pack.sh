#!/usr/bin/env bash
# bench/pack.sh: coldmail pack against the plain pipeline
#
#     tar -cf - -C STORE . | zstd -T0 -3 | age -r RECIPIENT > out.age
#
# (and that pipeline followed by sync of its output, since coldmail makes
# its set durable before reading it back) on the same generated corpus, in
# the same run, warm cache: wall time,
# throughput, CPU time, peak RSS and output size of each, and their ratios
# (issue 3 targets: throughput ratio >= 1.0, size ratio <= 1.03, coldmail
# peak RSS < 256 MiB).  Not a test; run on demand:
#
#     bench/pack.sh [WORKDIR]
#
# Environment: SIZE (corpus size for genmail.py, default 1G), RUNS (timed
# runs of each, default 2), COLDMAIL (the binary, default build/coldmail),
# GENMAIL (default ../shared/bench/genmail.py), PACK_ARGS (more options
# for coldmail pack, e.g. "--parity 0"), PERF=1 (also record a
# `perf record -g` profile of one coldmail run, in WORKDIR/perf.data).
# WORKDIR (default /var/tmp/coldmail-bench) caches the corpus and keys; the
# outputs go there too, so it should be on a real disk, not tmpfs.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
SIZE=${SIZE:-1G}
RUNS=${RUNS:-2}
COLDMAIL=${COLDMAIL:-$here/build/coldmail}
GENMAIL=${GENMAIL:-$here/../shared/bench/genmail.py}
WORK=${1:-${BENCH_WORK:-/var/tmp/coldmail-bench}}
TIME=/usr/bin/time

# shellcheck source=bench/common.sh
. "$here/bench/common.sh"
for t in python3 tar zstd age age-keygen; do
    command -v "$t" >/dev/null || die "$t is not installed"
done
[ -x "$COLDMAIL" ] || die "$COLDMAIL: not built (cmake --build build)"
"$TIME" -f %e true 2>/dev/null || die "GNU time is needed as $TIME (apt-get install time)"
[ -f "$GENMAIL" ] || die "$GENMAIL: not found"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

# ------------------------------------------------------------ corpus, keys
bench_corpus_and_keys
in_bytes=$(find "$corpus" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
in_files=$(find "$corpus" -type f | wc -l)

# A newer pack wants a labelled medium, and would write incremental sets.
read -r -a extra <<<"${PACK_ARGS:-}"
help=$("$COLDMAIL" pack --help 2>&1 || true)
case $help in *--init-label*) extra+=(--init-label bench) ;; esac
case $help in *--full*) extra+=(--full) ;; esac

medium=$WORK/medium
out=$WORK/pipeline.age
run_coldmail() { # PREFIX...: one pack into an empty medium
    rm -rf "$medium" "$WORK/state"
    mkdir -p "$medium"
    "$@" "$COLDMAIL" pack "${extra[@]}" -o "$medium" -r "$recipient" \
        -s "$keys/signing.key" --state-dir "$WORK/state" -q "$corpus"
}
run_pipeline() { # PREFIX...
    rm -f "$out"
    "$@" bash -c 'set -o pipefail; tar -cf - -C "$1" . | zstd -T0 -3 -q | age -r "$2" >"$3"' \
        pipeline "$corpus" "$recipient" "$out"
}
# The same, then the output made durable (fsync), as coldmail makes its set
# durable before it reads it back: on a machine with the RAM, the plain
# pipeline ends with its output still in the page cache.
run_pipesync() { # PREFIX...
    rm -f "$out"
    "$@" bash -c 'set -o pipefail; tar -cf - -C "$1" . | zstd -T0 -3 -q | age -r "$2" >"$3" && sync "$3"' \
        pipeline "$corpus" "$recipient" "$out"
}
coldmail_size() {
    find "$medium" -path "$medium/coldmail-*" -type f -printf '%s\n' | awk '{s += $1} END {print s}'
}

# ------------------------------------------------------------ runs
echo "corpus: $corpus, $in_files files, $in_bytes bytes" >&2
echo "coldmail: $COLDMAIL pack ${extra[*]}" >&2
echo "machine: $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "warming up (one untimed run of each) ..." >&2
tar -cf - -C "$corpus" . >/dev/null
run_coldmail
run_pipeline

fmt='%e %U %S %M'
declare -a rows=()
for r in $(seq 1 "$RUNS"); do
    echo "run $r/$RUNS: coldmail pack ..." >&2
    run_coldmail "$TIME" -f "$fmt" -o "$WORK/time.coldmail"
    rows+=("coldmail $(cat "$WORK/time.coldmail") $(coldmail_size)")
    echo "run $r/$RUNS: tar | zstd -T0 -3 | age ..." >&2
    run_pipeline "$TIME" -f "$fmt" -o "$WORK/time.pipeline"
    rows+=("pipeline $(cat "$WORK/time.pipeline") $(stat -c %s "$out")")
    echo "run $r/$RUNS: tar | zstd -T0 -3 | age, then sync ..." >&2
    run_pipesync "$TIME" -f "$fmt" -o "$WORK/time.pipesync"
    rows+=("pipesync $(cat "$WORK/time.pipesync") $(stat -c %s "$out")")
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

rm -f "$WORK/perf.top"
if [ "${PERF:-0}" = 1 ]; then
    if command -v perf >/dev/null && perf record -o /dev/null true 2>/dev/null; then
        echo "profiling one coldmail run: $WORK/perf.data" >&2
        run_coldmail perf record -g -o "$WORK/perf.data" --
        perf report -i "$WORK/perf.data" --no-children --stdio 2>/dev/null |
            grep -E '^ +[0-9.]+%' | head -25 >"$WORK/perf.top" || true
    else
        echo "perf does not work here; try valgrind --tool=callgrind on a small SIZE" >&2
    fi
fi

# ------------------------------------------------------------ report
printf '%s\n' "${rows[@]}" >"$WORK/rows"
python3 - "$WORK/rows" "$in_bytes" "$in_files" "$(nproc)" "$load_after" <<'EOF'
import sys
in_bytes, files, cores, load = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
runs = {"coldmail": [], "pipeline": [], "pipesync": []}
for line in open(sys.argv[1]):
    name, wall, user, sys_, rss, size = line.split()
    runs[name].append(dict(wall=float(wall), cpu=float(user) + float(sys_),
                           rss=int(rss) * 1024, size=int(size)))
def best(name):  # the fastest run of each (least disturbed by other load)
    return min(runs[name], key=lambda r: r["wall"])
c, p, q = best("coldmail"), best("pipeline"), best("pipesync")
mb = 1e6
print(f"input: {in_bytes / mb:.1f} MB in {files} files; {cores} cores; load after: {load}")
print(f"{'':22}{'coldmail pack':>16}{'tar|zstd|age':>16}{'ratio':>9}{'...; sync':>14}{'ratio':>9}")
rows = [
    ("wall time (s)", lambda r: r["wall"], "{:.2f}"),
    ("throughput (MB/s)", lambda r: in_bytes / r["wall"] / mb, "{:.1f}"),
    ("CPU user+sys (s)", lambda r: r["cpu"], "{:.2f}"),
    ("peak RSS (MiB)", lambda r: r["rss"] / 2**20, "{:.1f}"),
    ("output (MB)", lambda r: r["size"] / mb, "{:.2f}"),
]
for label, get, f in rows:
    a, b, d = get(c), get(p), get(q)
    print(f"{label:22}{f.format(a):>16}{f.format(b):>16}{a / b:>9.3f}{f.format(d):>14}{a / d:>9.3f}")
print(f"targets: throughput ratio >= 1.0 ({'met' if c['wall'] <= p['wall'] else 'NOT met'}; "
      f"against the pipeline made durable: {q['wall'] / c['wall']:.2f}x), "
      f"size ratio <= 1.03 ({'met' if c['size'] <= 1.03 * p['size'] else 'NOT met'}), "
      f"coldmail RSS < 256 MiB ({'met' if c['rss'] < 256 * 2**20 else 'NOT met'})")
if len(runs["coldmail"]) > 1:
    print("all runs, wall s (coldmail / pipeline / pipeline; sync): " +
          ", ".join(f"{a['wall']:.2f}/{b['wall']:.2f}/{d['wall']:.2f}"
                    for a, b, d in zip(runs["coldmail"], runs["pipeline"], runs["pipesync"])))
print("(pipeline: no hashing, catalog, signature or read-back, and fsync only in the third column; "
      "RSS of the pipeline is its largest process)")
EOF
[ -f "$WORK/perf.top" ] && { echo "perf, top self time:"; cat "$WORK/perf.top"; }
rm -rf "$medium" "$WORK/state" "$out" "$WORK/rows"
