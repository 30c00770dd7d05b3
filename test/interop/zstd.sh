# interop/zstd: what lib/zframe writes is plain zstd to the zstd CLI, and
# random access by the seek table matches the original bytes.
. "$(dirname "$0")/../lib.sh"

need zstd python3 dd cmp
TOOL="$TOOLDIR/tool_zframe"
[ -x "$TOOL" ] || fail "$TOOL is not built"

# Mixed data: mail-like text, random bytes, zeros, in blocks.
python3 - "$T/mixed" <<'EOF'
import random, sys
r = random.Random(7)
words = [b"Received: ", b"from ", b"mail.example.org", b" by ", b"Subject: ",
         b"Message-ID: <", b"@example.com>\n", b"the ", b"and ", b"\n", b"> "]
out = bytearray()
while len(out) < 10 * 1024 * 1024 + 12345:
    kind, n = r.randrange(4), r.randrange(1, 200000)
    if kind == 0:
        out += r.randbytes(n)
    elif kind == 1:
        out += bytes(n)
    else:
        out += b"".join(r.choice(words) for _ in range(n // 8))
open(sys.argv[1], "wb").write(out[:10 * 1024 * 1024 + 12345])
EOF

: >"$T/in-0"
head -c 1 "$T/mixed" >"$T/in-1"
head -c 1048576 "$T/mixed" >"$T/in-1m"
head -c 1048577 "$T/mixed" >"$T/in-1m1"
cp "$T/mixed" "$T/in-10m"

for f in in-0 in-1 in-1m in-1m1 in-10m; do
    for t in 0 2; do
        "$TOOL" compress -t "$t" <"$T/$f" >"$T/$f.$t.zst" ||
            fail "compress $f -t $t"
        zstd -q -d -c "$T/$f.$t.zst" >"$T/$f.back" || fail "zstd -d $f"
        assert_same_file "$T/$f" "$T/$f.back"
        zstd -q -t "$T/$f.$t.zst" || fail "zstd -t $f"
        "$TOOL" decompress <"$T/$f.$t.zst" >"$T/$f.back2" ||
            fail "decompress $f"
        assert_same_file "$T/$f" "$T/$f.back2"
    done
    assert_same_file "$T/$f.0.zst" "$T/$f.2.zst"
done

# zstd -l sees 11 frames, one skippable frame (the seek table), the size.
zstd -lv "$T/in-10m.0.zst" >"$T/listv" 2>&1 || fail "zstd -lv"
assert_contains "$T/listv" "# Zstandard Frames: 11"
assert_contains "$T/listv" "# Skippable Frames: 1"
assert_contains "$T/listv" "(10498105 B)"
assert_contains "$T/listv" "Check: XXH64"

# zstd's own multi-frame output is read by the stream decoder too.
zstd -q -c -B65536 -T2 "$T/in-10m" >"$T/plain.zst"
"$TOOL" decompress <"$T/plain.zst" >"$T/plain.back" || fail "decompress zstd"
assert_same_file "$T/in-10m" "$T/plain.back"

# Random access matches dd of the original.
size=$(stat -c %s "$T/in-10m")
for spec in "0 1" "0 1048576" "1048575 2" "1048576 1" "3000000 4000000" \
            "$((size - 1)) 1" "$((size - 12345)) 12345" "0 $size" \
            "5242879 1048578" "12345 0"; do
    set -- $spec
    "$TOOL" pread "$T/in-10m.2.zst" "$1" "$2" >"$T/range" ||
        fail "pread $1 $2"
    dd if="$T/in-10m" of="$T/range.dd" bs=1M iflag=skip_bytes,count_bytes \
        skip="$1" count="$2" status=none
    assert_same_file "$T/range.dd" "$T/range"
    "$TOOL" scan "$T/in-10m.2.zst" "$1" "$2" >"$T/range.scan" ||
        fail "scan $1 $2"
    assert_same_file "$T/range.dd" "$T/range.scan"
done
expect_code 4 "$TOOL" pread "$T/in-10m.2.zst" "$size" 1
expect_code 4 "$TOOL" pread "$T/in-10m" 0 1

# Plain zstd output has no seek table: refused, but a scan reads it.
zstd -q -c "$T/in-1m1" >"$T/noseek.zst"
expect_code 4 "$TOOL" pread "$T/noseek.zst" 0 1
"$TOOL" scan "$T/noseek.zst" 0 1048577 >"$T/range" || fail "scan plain zstd"
assert_same_file "$T/in-1m1" "$T/range"

# The bomb guard.
head -c 20000000 /dev/zero | "$TOOL" compress >"$T/zeros.zst"
expect_code 4 "$TOOL" decompress -m 1000000 <"$T/zeros.zst"
assert_contains "$T/err" "more than 1000000 bytes"
