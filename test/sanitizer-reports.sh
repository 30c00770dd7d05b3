#!/bin/sh
# test/sanitizer-reports.sh LOGDIR: fail if any sanitizer log in LOGDIR
# holds a report (ctest's sanitizer/no-reports, after every other test).
#
# One line is not a report: LeakSanitizer's "Unable to get registers from
# thread N", written when a process is killed (the SIGKILL tests kill packs
# at random points) while its exit-time leak check has it stopped.  A log
# holding only such lines is listed as a note; anything else fails.
dir=$1
bad=0
for f in "$dir"/*; do
    [ -e "$f" ] || continue
    if grep -v -e '^$' -e 'Unable to get registers from thread' "$f" | grep -q .; then
        echo "--- $f"
        head -80 "$f"
        bad=1
    else
        echo "note: $f: a process killed during its leak check (no report)"
    fi
done
[ "$bad" = 0 ] && echo "no sanitizer reports"
exit "$bad"
