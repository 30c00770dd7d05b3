# bench/common.sh: what every benchmark script shares (sourced, not run).
# shellcheck shell=bash disable=SC2034

die() { echo "bench: $*" >&2; exit 1; }

# bench_corpus_and_keys: the generated store ($SIZE, seed 42) and the keys,
# cached in $WORK so that every benchmark measures the same corpus; sets
# corpus, keys and recipient.  Needs WORK, SIZE, GENMAIL and COLDMAIL.
bench_corpus_and_keys() {
    corpus=$WORK/mail-$SIZE-42
    if [ ! -f "$corpus.done" ]; then
        echo "generating a $SIZE corpus in $corpus (cached) ..." >&2
        rm -rf "$corpus" "$corpus.tmp"
        python3 "$GENMAIL" "$corpus.tmp" --size "$SIZE" --seed 42 >&2
        mv "$corpus.tmp" "$corpus"
        touch "$corpus.done"
    fi
    keys=$WORK/keys
    if [ ! -f "$keys/identity.txt" ]; then
        mkdir -p "$keys"
        age-keygen -o "$keys/identity.txt" 2>/dev/null
        "$COLDMAIL" keygen -o "$keys/signing.key" >/dev/null 2>&1
    fi
    recipient=$(age-keygen -y "$keys/identity.txt")
}
