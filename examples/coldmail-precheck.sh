#!/bin/sh
# coldmail-precheck.sh MEDIUM_DIR [STATUS_OPTIONS...]
#
# Before the weekly pack (ExecStartPre= of coldmail-weekly.service, or
# first in the cron line): check that a medium is mounted at MEDIUM_DIR,
# that it is a coldmail medium, and that its label is the one due by the
# rotation, as `coldmail status --json` says.  Exits 0 if the run may go
# on; otherwise says what to do on standard error and exits 1.
# STATUS_OPTIONS (e.g. --config FILE) are passed to coldmail status.
#
# Environment: COLDMAIL, the coldmail program (default: coldmail on PATH);
# COLDMAIL_PRECHECK_ALLOW_DIR=1 accepts a plain directory that is not a
# mount point (tests, or media that are directories on a mounted volume).
# Uses jq if it is installed, else sed on coldmail's compact JSON.
set -eu

me="coldmail-precheck"
die() {
    echo "$me: $*" >&2
    exit 1
}

[ $# -ge 1 ] || die "usage: $me MEDIUM_DIR [coldmail status options]"
medium=$1
shift
coldmail=${COLDMAIL:-coldmail}

[ -d "$medium" ] ||
    die "$medium: no such directory: plug in the medium due and mount it"
if [ "${COLDMAIL_PRECHECK_ALLOW_DIR:-0}" != 1 ]; then
    mountpoint -q "$medium" ||
        die "$medium: nothing is mounted there: plug in the medium due and mount it"
fi
[ -f "$medium/COLDMAIL-MEDIUM" ] ||
    die "$medium: not a coldmail medium (no COLDMAIL-MEDIUM label); label a new disk with: coldmail media init $medium --label NAME -s SIGNING_KEY"
label=$(sed -n 's/^label //p' "$medium/COLDMAIL-MEDIUM")
[ -n "$label" ] || die "$medium/COLDMAIL-MEDIUM: no label line"

rc=0
json=$("$coldmail" status --json "$@") || rc=$?
if [ "$rc" = 2 ]; then
    # No state yet: the first run.  Anything labelled will do.
    echo "$me: no coldmail state yet (first run?): medium \"$label\" accepted" >&2
    exit 0
fi
[ "$rc" = 0 ] || die "coldmail status failed (exit $rc)"

if command -v jq >/dev/null 2>&1; then
    due=$(printf '%s\n' "$json" | jq -r '.due_next.label // empty')
else
    due=$(printf '%s\n' "$json" |
        sed -n 's/^{"due_next":{"label":"\([^"]*\)".*/\1/p')
fi
if [ -z "$due" ]; then
    echo "$me: no rotation order to check against: medium \"$label\" accepted" >&2
    exit 0
fi
[ "$label" = "$due" ] ||
    die "the medium at $medium is \"$label\", but \"$due\" is due: plug in \"$due\" (or, to write to \"$label\" anyway, run coldmail pack by hand)"
echo "$me: medium \"$label\" at $medium is the one due" >&2
