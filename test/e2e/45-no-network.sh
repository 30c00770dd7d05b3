#!/usr/bin/env bash
# No network, ever: coldmail-restore imports no socket, resolver or
# connection symbol, and the restore tests pass inside a network namespace
# without interfaces (where unshare -n is permitted).
. "$(dirname "$0")/../lib.sh"

[ -x "$COLDMAIL_RESTORE" ] || fail "no binary at $COLDMAIL_RESTORE"
if command -v nm >/dev/null 2>&1; then
    nm -D --undefined-only "$COLDMAIL_RESTORE" | awk '{ print $NF }' |
        sed 's/@.*//' | sort -u >"$T/symbols"
elif command -v readelf >/dev/null 2>&1; then
    readelf --dyn-syms -W "$COLDMAIL_RESTORE" | awk '$7 == "UND" { print $8 }' |
        sed 's/@.*//' | sort -u >"$T/symbols"
else
    skip "neither nm nor readelf is installed"
fi
[ "$(wc -l <"$T/symbols")" -gt 20 ] || fail "too few symbols read: $(wc -l <"$T/symbols")"
grep -qx 'open\|openat\|open64' "$T/symbols" || fail "symbol listing looks wrong"
network='socket socketpair connect bind listen accept accept4 getaddrinfo
getnameinfo gethostbyname gethostbyname2 gethostbyname_r gethostbyaddr
getservbyname sendto sendmsg sendmmsg recvfrom recvmsg recvmmsg send recv
setsockopt getsockopt getpeername getsockname shutdown res_query res_search
res_init inet_pton inet_aton inet_addr if_nametoindex SSL_connect
BIO_new_connect BIO_do_connect curl_easy_init'
for s in $network; do
    if grep -qx "$s" "$T/symbols"; then
        fail "coldmail-restore imports $s"
    fi
done
echo "no network symbol among $(wc -l <"$T/symbols") imports" >&2

# The restore suite in a namespace with no interfaces.
if ! unshare -n true 2>/dev/null; then
    echo "SKIP part [$TEST_NAME]: unshare -n is not permitted here" >&2
    echo "PASS [$TEST_NAME]"
    exit 0
fi
here=$(cd "$(dirname "$0")" && pwd)
for t in 40-restore-roundtrip 41-restore-damaged 42-audit; do
    # /proc/net/dev is per namespace: only lo (down) may be there.
    unshare -n bash -c '[ "$(awk "NR > 2 { print \$1 }" /proc/net/dev)" = lo: ] &&
        exec bash "$0"' "$here/$t.sh" >"$T/$t.log" 2>&1 ||
        { tail -20 "$T/$t.log" >&2; fail "$t inside unshare -n"; }
    echo "$t: passed without a network" >&2
done
if command -v dovecot >/dev/null 2>&1; then
    got=0
    unshare -n bash "$here/../interop/dovecot.sh" >"$T/dovecot.log" 2>&1 || got=$?
    [ "$got" = 0 ] || [ "$got" = 77 ] ||
        { tail -20 "$T/dovecot.log" >&2; fail "interop/dovecot inside unshare -n"; }
fi

echo "PASS [$TEST_NAME]"
