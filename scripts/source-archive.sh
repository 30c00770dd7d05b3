#!/usr/bin/env bash
# source-archive.sh SRCDIR OUT VERSION: the source of this coldmail as
# OUT (coldmail-VERSION-src.tar.gz, every path under coldmail-VERSION/),
# for the medium to carry (selfrestore.h).  The files are git's (tracked
# and untracked but not ignored, so build directories stay out) or, outside
# a git work tree, everything but build*/ and .git/.  The archive is
# reproducible (sorted, owner 0, one mtime, gzip -n) and OUT is replaced
# only when its content changes, so the medium's copy is refreshed only
# then.
set -euo pipefail
src=$1 out=$2 version=$3
cd "$src"
list=$(mktemp)
tmp="$out.tmp.$$"
trap 'rm -f "$list" "$tmp"' EXIT
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do
            [ -f "$f" ] && [ ! -L "$f" ] && printf '%s\0' "$f"
        done >"$list"
    stamp=$(git log -1 --format=%ct 2>/dev/null || echo 0)
else
    find . \( -path ./.git -o -path './build*' \) -prune -o -type f -print0 |
        sed -z 's,^\./,,' >"$list"
    stamp=${SOURCE_DATE_EPOCH:-0}
fi
tar --null -T "$list" --sort=name --owner=0 --group=0 --numeric-owner \
    --mode='u+rw,go+r,go-w' --mtime="@$stamp" \
    --transform "s,^,coldmail-$version/," -cf - | gzip -n -9 >"$tmp"
if ! cmp -s "$tmp" "$out"; then
    mv "$tmp" "$out"
fi
