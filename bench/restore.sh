#!/usr/bin/env bash
# bench/restore.sh: coldmail-restore against the plain pipeline over the
# same set, in the same run, warm cache.  The generated corpus is packed once
# (coldmail pack --parity 0 into a fresh medium); its volumes are standard
# age files of zstd frames of a pax tar, so the pipeline for each volume is
#
#     age -d -i IDENTITY vol-NNNN.tar.zst.age | zstd -d | tar -x ...
#
#   1. cat of one message from the middle of the set: coldmail-restore cat
#      against age -d | zstd -d | tar -xO MEMBER over the volume holding it;
#      also the bytes coldmail-restore cat reads (strace);
#   2. a full restore into an empty directory against the pipeline over all
#      volumes into another (both must hold as many regular files); and the
#      pipeline once more followed by sync -f (syncfs), since coldmail's
#      restore ends with a syncfs that makes its output durable, while
#      tar -x leaves gigabytes in the page cache on a machine with the RAM;
#   3. a keyless verify (-P public key only) against sha256sum of the set.
#
# Wall time, throughput, CPU time and peak RSS of each, and their ratios
# (coldmail / pipeline).  Issue targets: cat >= 100x faster, reading at most
# a few MiB; restore at least as fast; verify >= 2x sha256sum's speed; peak
# RSS of every coldmail-restore command < 256 MiB.  Not a test; run on demand:
#
#     bench/restore.sh [WORKDIR]
#
# Environment: SIZE (corpus size for genmail.py, default 1G), RUNS (timed
# runs of each, the fastest is kept, default 2; cat runs 5x as often),
# COLDMAIL and COLDMAIL_RESTORE (default build/coldmail, build/coldmail-restore),
# GENMAIL (default ../shared/bench/genmail.py), PACK_ARGS (options for the one
# pack, default "--parity 0"; e.g. "--parity 0 --volume-size 256M").
# WORKDIR (default /var/tmp/coldmail-bench) caches the corpus and keys, as
# bench/pack.sh does; the medium and the restores go there too (real disk).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
SIZE=${SIZE:-1G}
RUNS=${RUNS:-2}
COLDMAIL=${COLDMAIL:-$here/build/coldmail}
COLDMAIL_RESTORE=${COLDMAIL_RESTORE:-$here/build/coldmail-restore}
GENMAIL=${GENMAIL:-$here/../shared/bench/genmail.py}
WORK=${1:-${BENCH_WORK:-/var/tmp/coldmail-bench}}
TIME=/usr/bin/time

# shellcheck source=bench/common.sh
. "$here/bench/common.sh"
for t in python3 tar zstd age age-keygen strace sha256sum; do
    command -v "$t" >/dev/null || die "$t is not installed"
done
tar --version 2>/dev/null | grep -q 'GNU tar' || die "tar is not GNU tar"
for b in "$COLDMAIL" "$COLDMAIL_RESTORE"; do
    [ -x "$b" ] || die "$b: not built (cmake --build build)"
done
"$TIME" -f %e true 2>/dev/null || die "GNU time is needed as $TIME (apt-get install time)"
[ -f "$GENMAIL" ] || die "$GENMAIL: not found"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

# ------------------------------------------------------------ corpus, keys
bench_corpus_and_keys
[ -f "$keys/signing.key.pub" ] || die "$keys/signing.key.pub: missing (remove $keys for new keys)"
id=$keys/identity.txt
pubkey=$(tail -n 1 "$keys/signing.key.pub")
in_bytes=$(find "$corpus" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
in_files=$(find "$corpus" -type f | wc -l)

# ------------------------------------------------------------ the set
medium=$WORK/restore-medium state=$WORK/restore-state
out_cm=$WORK/restore-out-coldmail out_pipe=$WORK/restore-out-pipeline
cleanup() { rm -rf "$medium" "$state" "$out_cm" "$out_pipe" "$WORK"/restore.*; }
cleanup
trap cleanup EXIT
mkdir -p "$medium"
read -r -a extra <<<"${PACK_ARGS---parity 0}"
echo "packing $corpus ($in_files files, $in_bytes bytes) once: coldmail pack ${extra[*]} ..." >&2
"$COLDMAIL" pack -q "${extra[@]}" --init-label bench-restore -o "$medium" -r "$recipient" \
    -s "$keys/signing.key" --state-dir "$state" "$corpus" || die "coldmail pack failed"
set_dir=$(find "$medium" -mindepth 1 -maxdepth 1 -type d -name 'coldmail-*' | head -n 1)
[ -n "$set_dir" ] || die "no set written in $medium"
vols=("$set_dir"/vol-*.tar.zst.age)
[ -f "${vols[0]}" ] || die "no vol-*.tar.zst.age in $set_dir"
set_bytes=$(find "$set_dir" -type f -printf '%s\n' | awk '{s += $1} END {print s}')

# A message from the middle of the set (in volume order), and its volume.
"$COLDMAIL_RESTORE" ls --json -i "$id" -P "$pubkey" "$set_dir" >"$WORK/restore.ls" ||
    die "coldmail-restore ls failed"
read -r msg_vol msg_size msg_sha msg_path < <(python3 - "$WORK/restore.ls" <<'EOF'
import json, sys
m = [r for r in map(json.loads, open(sys.argv[1])) if r["kind"] == "message"]
m.sort(key=lambda r: (r["vol"], r.get("tar_off", 0)))
# a message of median size or less past the middle of the set by bytes
half, acc, med = sum(r["size"] for r in m) / 2, 0, sorted(r["size"] for r in m)[len(m) // 2]
for r in m:
    acc += r["size"]
    if acc >= half and r["size"] <= med:
        break
print(r["vol"], r["size"], r["sha256"], r["path"])
EOF
) || die "no message listed in the set"
msg_volfile=$(printf '%s/vol-%04d.tar.zst.age' "$set_dir" "$msg_vol")
[ -f "$msg_volfile" ] || die "$msg_volfile: not found"

# ------------------------------------------------------------ commands
cm_cat=("$COLDMAIL_RESTORE" cat -i "$id" -P "$pubkey" --path "$msg_path" "$set_dir")
cm_restore=("$COLDMAIL_RESTORE" restore -q -i "$id" -P "$pubkey" -o "$out_cm" "$set_dir")
cm_verify=("$COLDMAIL_RESTORE" verify -P "$pubkey" "$set_dir")
# The pipelines, as bash -c scripts ($1: identity, $2: output directory or
# member, the rest: volumes)
# shellcheck disable=SC2016
pipe_cat='age -d -i "$1" "$3" | zstd -d -q | tar -xO -f - "$2"'
# shellcheck disable=SC2016
pipe_restore='id=$1 out=$2; shift 2; mkdir -p "$out"
    for v; do age -d -i "$id" "$v" | zstd -d -q | tar -x -f - -C "$out" || exit 1; done'
# the same, then made durable as coldmail restore makes its output (syncfs)
# shellcheck disable=SC2016
pipe_restore_sync="$pipe_restore"'
    sync -f "$out"'

# timed OP WHO CMD...: one run of CMD under time, appended to restore.rows as
# "OP WHO wall_us user sys rss_kib"; its stdout into restore.out.OP.WHO
timed() {
    local op=$1 who=$2 t0 t1
    shift 2
    sync
    t0=${EPOCHREALTIME//[.,]/}
    "$TIME" -f '%U %S %M' -o "$WORK/restore.time" "$@" >"$WORK/restore.out.$op.$who" ||
        die "$op ($who) failed: $*"
    t1=${EPOCHREALTIME//[.,]/}
    echo "$op $who $((t1 - t0)) $(cat "$WORK/restore.time")" >>"$WORK/restore.rows"
}

# ------------------------------------------------------------ runs
echo "set: $set_dir, ${#vols[@]} volume(s), $set_bytes bytes" >&2
echo "cat: $msg_path ($msg_size bytes, volume $msg_vol)" >&2
echo "machine: $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "warming the cache ..." >&2
cat "$set_dir"/* "$COLDMAIL_RESTORE" >/dev/null
for r in $(seq 1 "$RUNS"); do
    echo "run $r/$RUNS: cat ..." >&2
    for _ in 1 2 3 4 5; do timed cat coldmail "${cm_cat[@]}"; done
    timed cat pipeline bash -o pipefail -c "$pipe_cat" pipe "$id" "$msg_path" "$msg_volfile"
    for f in coldmail pipeline; do
        [ "$(sha256sum <"$WORK/restore.out.cat.$f" | cut -d' ' -f1)" = "$msg_sha" ] ||
            die "cat ($f): output does not match the catalog's sha256"
    done
    echo "run $r/$RUNS: restore ..." >&2
    rm -rf "$out_cm" "$out_pipe"
    timed restore coldmail "${cm_restore[@]}"
    timed restore pipeline bash -o pipefail -c "$pipe_restore" pipe "$id" "$out_pipe" "${vols[@]}"
    n_cm=$(find "$out_cm" -type f | wc -l)
    n_pipe=$(find "$out_pipe" -type f | wc -l)
    if [ "$n_cm" != "$n_pipe" ] || [ "$n_cm" != "$in_files" ]; then
        die "restore: $n_cm files from coldmail, $n_pipe from the pipeline, $in_files in the corpus"
    fi
    rm -rf "$out_cm" "$out_pipe"
    sync
    timed restoresync pipeline bash -o pipefail -c "$pipe_restore_sync" pipe "$id" "$out_pipe" "${vols[@]}"
    rm -rf "$out_pipe"
    echo "run $r/$RUNS: verify ..." >&2
    timed verify coldmail "${cm_verify[@]}"
    timed verify pipeline sha256sum "$set_dir"/*
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

echo "bytes read by one coldmail-restore cat (strace) ..." >&2
strace -f -qq -e trace=read,pread64,readv,preadv,preadv2 -o "$WORK/restore.strace" \
    "${cm_cat[@]}" >/dev/null || die "strace of coldmail-restore cat failed"
cat_read=$(awk '/= [0-9]+$/ {s += $NF} END {print s + 0}' "$WORK/restore.strace")

# ------------------------------------------------------------ report
python3 - "$WORK/restore.rows" "$in_bytes" "$in_files" "$set_bytes" "${#vols[@]}" \
    "$msg_size" "$msg_vol" "$(stat -c %s "$msg_volfile")" "$cat_read" "$(nproc)" \
    "$load_after" "$RUNS" <<'EOF'
import sys
in_bytes, files, set_bytes, nvols, msg_size, msg_vol, vol_bytes, cat_read, cores = \
    map(int, sys.argv[2:11])
load, runs_n = sys.argv[11], sys.argv[12]
runs = {}
for line in open(sys.argv[1]):
    op, who, wall_us, user, sys_, rss = line.split()
    runs.setdefault((op, who), []).append(dict(
        wall=int(wall_us) / 1e6, cpu=float(user) + float(sys_), rss=int(rss) / 1024))
best = {k: min(v, key=lambda r: r["wall"]) for k, v in runs.items()}
mb, mib = 1e6, 2**20
print(f"corpus: {in_bytes / mb:.1f} MB in {files} files; set: {set_bytes / mb:.1f} MB in "
      f"{nvols} volume(s); {cores} cores; load after: {load}; best of {runs_n} runs")
ops = [("cat", f"cat one message, vol {msg_vol}/{nvols}", "age|zstd|tar -xO", msg_size),
       ("restore", "restore, all volumes", "age|zstd|tar -x", in_bytes),
       ("restoresync", "restore, both made durable", "... ; sync -f", in_bytes),
       ("verify", "verify -P, no key", "sha256sum", set_bytes)]
for op, title, other, nbytes in ops:
    c, p = best[(op.replace("sync", ""), "coldmail")], best[(op, "pipeline")]
    print(f"\n{title:30}{'coldmail-restore':>17}{other:>17}{'ratio':>9}")
    rows = [("wall time (s)", c["wall"], p["wall"], "{:.3f}"),
            ("throughput (MB/s)", nbytes / c["wall"] / mb, nbytes / p["wall"] / mb, "{:.3g}"),
            ("CPU user+sys (s)", c["cpu"], p["cpu"], "{:.2f}"),
            ("peak RSS (MiB)", c["rss"], p["rss"], "{:.1f}")]
    if op == "cat":
        rows.append(("bytes read (MiB)", cat_read / mib, vol_bytes / mib, "{:.2f}"))
    for label, a, b, f in rows:
        ratio = f"{a / b:9.3f}" if b else f"{'-':>9}"
        print(f"{'  ' + label:30}{f.format(a):>17}{f.format(b):>17}{ratio}")
def met(ok): return "met" if ok else "NOT met"
c = {op: best[(op.replace("sync", ""), "coldmail")] for op, *_ in ops}
p = {op: best[(op, "pipeline")] for op, *_ in ops}
sp = {op: p[op]["wall"] / c[op]["wall"] for op in c}
rss = max(r["rss"] for (op, who), v in runs.items() if who == "coldmail" for r in v)
print("\ntargets:")
print(f"  cat >= 100x faster: {sp['cat']:.1f}x ({met(sp['cat'] >= 100)}); "
      f"reads a few MiB: {cat_read / mib:.2f} MiB ({met(cat_read <= 8 * mib)})")
print(f"  restore at least as fast: {sp['restore']:.2f}x ({met(sp['restore'] >= 1)}); "
      f"against the pipeline made durable too: {sp['restoresync']:.2f}x ({met(sp['restoresync'] >= 1)})")
print(f"  verify >= 2x sha256sum: {sp['verify']:.2f}x ({met(sp['verify'] >= 2)})")
print(f"  coldmail-restore peak RSS < 256 MiB: {rss:.1f} MiB, all runs ({met(rss < 256)})")
print("(coldmail restore ends with a syncfs, the plain pipeline does not; pipeline RSS is its largest\n"
      " process; bytes read: strace of coldmail-restore cat, all files, vs the volume's size)")
EOF
