#!/usr/bin/env bash
# The man pages are the reference: each is lint-clean, and every long
# option a command's --help lists is documented in its program's page.
. "$(dirname "$0")/../lib.sh"

need mandoc
problems=0

for page in "$SRCDIR"/man/*.[1-9]; do
    if mandoc -Tlint -W warning "$page" 2>&1 | grep -v "mandoc.db" >"$T/lint"; then
        if [ -s "$T/lint" ]; then
            cat "$T/lint" >&2
            echo "PROBLEM: $page is not lint-clean" >&2
            problems=$((problems + 1))
        fi
    fi
done

# check_options PROGRAM PAGE VERB...
check_options() {
    local prog=$1 page=$2
    shift 2
    for verb in "$@"; do
        "$prog" "$verb" --help >"$T/help" 2>&1 ||
            fail "$(basename "$prog") $verb --help failed"
        grep -o -- '--[a-z][a-z0-9-]*' "$T/help" | sort -u >"$T/opts"
        [ -s "$T/opts" ] || fail "$(basename "$prog") $verb --help lists no option"
        while read -r opt; do
            name=${opt#--}
            if ! grep -q -- "Fl -$name\\b" "$page"; then
                echo "PROBLEM: $(basename "$prog") $verb $opt is not in $(basename "$page")" >&2
                problems=$((problems + 1))
            fi
        done <"$T/opts"
    done
}

verbs_of() {
    "$1" --help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p'
}

# shellcheck disable=SC2046
check_options "$COLDMAIL" "$SRCDIR/man/coldmail.1" $(verbs_of "$COLDMAIL")
# shellcheck disable=SC2046
check_options "$COLDMAIL_RESTORE" "$SRCDIR/man/coldmail-restore.1" \
    $(verbs_of "$COLDMAIL_RESTORE")

[ "$problems" = 0 ] || fail "$problems problem(s) in the man pages"
echo "man pages: lint-clean, every option documented"
