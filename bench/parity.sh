#!/usr/bin/env bash
# bench/parity.sh: what Reed-Solomon parity costs and how fast repair is.
#
#   - coldmail pack --parity 0, 5 and 10 on the same corpus: wall time and
#     bytes written (and the parity bytes among them);
#   - par2 create -r5 on the volumes of the --parity 0 set, in the same
#     run (and tar | zstd -T0 -3 | age for scale);
#   - repair of the --parity 10 set: damage spread over the volumes (about
#     1% of the blocks, every stripe hit), then a run of m*S consecutive
#     blocks (the interleaving budget): coldmail-restore repair -o and
#     --in-place, against par2 repair on the same spread damage;
#   - verify of the set, for scale (the scan that repair starts with).
#
# Not a test; run on demand:
#
#     bench/parity.sh [WORKDIR]
#
# Environment: SIZE (corpus size for genmail.py, default 1G), RUNS (timed
# runs of each pack, default 2), BUILD (default build: coldmail and
# coldmail-restore in it), GENMAIL (default ../shared/bench/genmail.py).
# WORKDIR (default /var/tmp/coldmail-bench) caches the corpus and keys, as
# bench/pack.sh does; it should be on a real disk, not tmpfs.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
SIZE=${SIZE:-1G}
RUNS=${RUNS:-2}
BUILD=${BUILD:-$here/build}
COLDMAIL=$BUILD/coldmail
RESTORE=$BUILD/coldmail-restore
GENMAIL=${GENMAIL:-$here/../shared/bench/genmail.py}
WORK=${1:-${BENCH_WORK:-/var/tmp/coldmail-bench}}
TIME=/usr/bin/time

# shellcheck source=bench/common.sh
. "$here/bench/common.sh"
for t in python3 tar zstd age age-keygen par2; do
    command -v "$t" >/dev/null || die "$t is not installed"
done
[ -x "$COLDMAIL" ] && [ -x "$RESTORE" ] || die "$BUILD: not built"
"$TIME" -f %e true 2>/dev/null || die "GNU time is needed as $TIME"
[ -f "$GENMAIL" ] || die "$GENMAIL: not found"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

bench_corpus_and_keys
in_bytes=$(find "$corpus" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
B=$WORK/parity-bench
rm -rf "$B"
mkdir -p "$B"
rows=$B/rows
: >"$rows"
# The medium's tools (a few MB, copied once per medium) are not timed.
mkdir -p "$B/no-tools"
export COLDMAIL_TOOLS_DIR=$B/no-tools

# t NAME CMD...: time CMD (wall seconds) and note it.
t() {
    local name=$1
    shift
    "$TIME" -f %e -o "$B/time" "$@" >"$B/last.out" 2>"$B/last.err" ||
        { cat "$B/last.err" >&2; die "$name failed"; }
    echo "$name $(cat "$B/time")" >>"$rows"
}
bytes() { find "$@" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }

pack() { # PERCENT RUN
    local m=$B/medium-$1
    rm -rf "$m" "$B/state"
    mkdir -p "$m"
    t "pack-$1" "$COLDMAIL" pack --init-label bench --full --parity "$1" \
        -o "$m" -r "$recipient" -s "$keys/signing.key" --state-dir "$B/state" \
        -q "$corpus"
}

echo "warming up ..." >&2
tar -cf - -C "$corpus" . >/dev/null
for r in $(seq 1 "$RUNS"); do
    for p in 0 5 10; do
        echo "run $r/$RUNS: pack --parity $p ..." >&2
        pack "$p"
    done
    echo "run $r/$RUNS: tar | zstd | age ..." >&2
    t pipeline bash -c 'set -o pipefail; tar -cf - -C "$1" . | zstd -T0 -3 -q |
        age -r "$2" >"$3"' pipeline "$corpus" "$recipient" "$B/pipeline.age"
    echo "run $r/$RUNS: par2 create -r5 ..." >&2
    set0=$(ls -d "$B"/medium-0/coldmail-*)
    rm -f "$set0"/*.par2
    t par2-create-r5 bash -c 'cd "$1" && par2 create -q -q -r5 vols.par2 vol-*.tar.zst.age' \
        par2 "$set0"
done
set0=$(ls -d "$B"/medium-0/coldmail-*)
set5=$(ls -d "$B"/medium-5/coldmail-*)
set10=$(ls -d "$B"/medium-10/coldmail-*)
echo "size-0 $(bytes "$set0" -not -name '*.par2') 0" >>"$rows"
echo "size-5 $(bytes "$set5") $(bytes "$set5" -name '*.par')" >>"$rows"
echo "size-10 $(bytes "$set10") $(bytes "$set10" -name '*.par')" >>"$rows"
echo "size-par2 $(bytes "$set0" -not -name '*.par2') $(bytes "$set0" -name '*.par2')" >>"$rows"
echo "layout-10 $(grep '^parity-of vol-' "$set10/MANIFEST" | head -3 | tr '\n' ';')" >>"$rows"

# ------------------------------------------------------------ repair
pub=$keys/signing.key.pub
t verify "$RESTORE" verify -p "$pub" "$set10"
dmg=$B/damaged
# damage SET HOW: spread (every 100th block of each volume, one byte) or
# run (m*S consecutive blocks of the first volume zeroed, from its middle).
damage() {
    rm -rf "$dmg"
    mkdir -p "$dmg"
    cp -a "$1" "$dmg/"
    python3 - "$dmg/$(basename "$1")" "$2" <<'PY'
import glob, os, sys
d, how = sys.argv[1], sys.argv[2]
man = open(os.path.join(d, "MANIFEST")).read().split("\n")
lay = {l.split()[1]: [int(x) for x in l.split()[2:5]] for l in man if l.startswith("parity-of ")}
hit = 0
for v in sorted(glob.glob(os.path.join(d, "vol-*.tar.zst.age"))):
    size = os.path.getsize(v)
    n = (size + (1 << 20) - 1) >> 20
    with open(v, "r+b") as f:
        if how == "spread":
            for b in range(7, n, 100):
                f.seek((b << 20) + 4321)
                c = f.read(1)
                f.seek(-1, 1)
                f.write(bytes([c[0] ^ 0x5A]))
                hit += 1
        elif how == "run":
            if os.path.basename(v) in lay:
                k, m, s = lay[os.path.basename(v)]
                first = n // 2 - m * s // 2
                for b in range(max(0, first), min(n - 1, first + m * s)):
                    f.seek(b << 20)
                    f.write(b"\0" * (1 << 20))
                    hit += 1
            break
print(hit)
PY
}
if [ -n "$set10" ]; then
    hit=$(damage "$set10" spread)
    echo "damage-spread $hit" >>"$rows"
    t repair-spread-o "$RESTORE" repair -p "$pub" "$dmg/$(basename "$set10")" -o "$B/repaired"
    rm -rf "$B/repaired"
    t repair-spread-inplace "$RESTORE" repair -p "$pub" "$dmg/$(basename "$set10")" --in-place
    hit=$(damage "$set10" run)
    echo "damage-run $hit" >>"$rows"
    t repair-run-inplace "$RESTORE" repair -p "$pub" "$dmg/$(basename "$set10")" --in-place
    # par2 on the same spread damage of the --parity 0 set's volumes.
    hit=$(damage "$set0" spread)
    t par2-repair-spread bash -c 'cd "$1" && par2 repair -q -q vols.par2' \
        par2 "$dmg/$(basename "$set0")"
fi

# ------------------------------------------------------------ report
python3 - "$rows" "$in_bytes" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'EOF'
import sys
rows, in_bytes, cores, load = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
times, info = {}, {}
for line in open(rows):
    k, *v = line.split(maxsplit=1)
    v = v[0].strip() if v else ""
    try:
        x = float(v)
    except ValueError:
        info[k] = v
        continue
    times.setdefault(k, []).append(x)
best = {k: min(v) for k, v in times.items()}
MB = 1e6
def size(k):
    total, par = (int(x) for x in info[k].split()[:2])
    return total, par
s0, _ = size("size-0")
print(f"corpus {in_bytes / MB:.0f} MB; {cores} cores; load after {load}; best of runs")
print(f"{'':34}{'wall s':>9}{'vs p0':>8}{'set MB':>10}{'parity MB':>11}{'parity %':>10}")
for p in ("0", "5", "10"):
    tot, par = size("size-" + p)
    w = best["pack-" + p]
    print(f"{'coldmail pack --parity ' + p:34}{w:9.2f}{w / best['pack-0']:8.2f}"
          f"{tot / MB:10.1f}{par / MB:11.1f}{100 * par / max(1, tot - par):10.2f}")
vol, par2 = size("size-par2")
w = best["par2-create-r5"]
print(f"{'par2 create -r5 (volumes of p0)':34}{w:9.2f}{w / best['pack-0']:8.2f}"
      f"{'':>10}{par2 / MB:11.1f}{100 * par2 / vol:10.2f}")
print(f"{'  pack --parity 0 + par2 -r5':34}{best['pack-0'] + w:9.2f}"
      f"{(best['pack-0'] + w) / best['pack-0']:8.2f}")
print(f"{'tar | zstd -T0 -3 | age':34}{best['pipeline']:9.2f}{best['pipeline'] / best['pack-0']:8.2f}")
print(f"layout (--parity 10): {info.get('layout-10', '?')}")
tot10, _ = size("size-10")
if "verify" in best:
    print(f"verify (--parity 10 set, {tot10 / MB:.0f} MB): {best['verify']:.2f} s, "
          f"{tot10 / MB / best['verify']:.0f} MB/s")
for k, what in (("repair-spread-o", "repair -o, spread damage"),
                ("repair-spread-inplace", "repair --in-place, spread damage"),
                ("repair-run-inplace", "repair --in-place, run of m*S blocks"),
                ("par2-repair-spread", "par2 repair, same spread damage (p0 set)")):
    if k in best:
        dmg = "%d" % best.get("damage-run" if "run" in k else "damage-spread", 0)
        print(f"{what + ' (' + dmg + ' blocks)':58}{best[k]:8.2f} s  "
              f"{tot10 / MB / best[k]:6.0f} MB/s of set")
EOF
cp "$rows" "$WORK/parity-rows.txt"
rm -rf "$B"
