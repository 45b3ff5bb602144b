#!/usr/bin/env bash
# What a TLS scanner sees: Debian's sslscan against the test server, once
# with the EC certificate and once with the RSA one. It must find TLS 1.2
# alone (no SSL 2/3, TLS 1.0, 1.1 or 1.3), no renegotiation, and only
# ECDHE suites with AEAD ciphers (AES-GCM, ChaCha20-Poly1305): no static
# RSA or DHE key exchange, no CBC, RC4 or NULL. Prints the suites found.
#
#   tests/zzz/sslscan.sh TESTSERVER CERT_DIR
set -uo pipefail
server=${1:?usage: sslscan.sh TESTSERVER CERT_DIR}
certs=${2:?usage: sslscan.sh TESTSERVER CERT_DIR}
command -v sslscan >/dev/null || { echo "sslscan is not installed (scripts/install-deps)"; exit 77; }
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fail=0

scan() { # KIND CHAIN KEY
    local kind=$1
    "$server" --port 0 --threads 1 --tls-cert "$certs/$2" --tls-key "$certs/$3" >"$tmp/out" &
    pid=$!
    local port=
    for _ in $(seq 100); do
        port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$tmp/out")
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] || { echo "FAIL: the server did not start"; fail=1; return; }
    local t0=$(date +%s%N)
    timeout 120 sslscan --no-colour --connect-timeout=5 --no-groups --no-heartbleed \
        --no-compression --no-fallback --no-check-certificate "127.0.0.1:$port" >"$tmp/scan" 2>&1
    local rc=$? took=$((($(date +%s%N) - t0) / 1000000))
    kill "$pid"
    wait "$pid" 2>/dev/null
    pid=
    if [ $rc -ne 0 ]; then
        echo "FAIL: sslscan exited $rc"; cat "$tmp/scan"; fail=1; return
    fi
    echo "sslscan ($kind certificate, ${took} ms):"
    for proto in SSLv2 SSLv3 TLSv1.0 TLSv1.1 TLSv1.3; do
        grep -Eq "^$proto +disabled" "$tmp/scan" ||
            { echo "FAIL: $proto is not reported disabled:"; grep "^$proto" "$tmp/scan"; fail=1; }
    done
    grep -Eq '^TLSv1\.2 +enabled' "$tmp/scan" || { echo "FAIL: TLSv1.2 is not enabled"; fail=1; }
    grep -q 'Session renegotiation not supported' "$tmp/scan" ||
        { echo "FAIL: renegotiation is not reported unsupported"; fail=1; }
    local suites
    suites=$(grep -E '^(Preferred|Accepted) ' "$tmp/scan")
    [ -n "$suites" ] || { echo "FAIL: no suite accepted"; cat "$tmp/scan"; fail=1; return; }
    while read -r _ version _ _ name _; do
        echo "  $version $name"
        [ "$version" = TLSv1.2 ] || { echo "FAIL: $name on $version"; fail=1; }
        case $name in
            ECDHE-*-AES128-GCM-SHA256 | ECDHE-*-AES256-GCM-SHA384 | ECDHE-*-CHACHA20-POLY1305) ;;
            *) echo "FAIL: $name is not ECDHE with an AEAD cipher"; fail=1 ;;
        esac
        case $name in
            *CBC* | *RC4* | *NULL* | *-SHA | DHE-* | AES* | *3DES*)
                echo "FAIL: $name is a weak suite"; fail=1 ;;
        esac
    done <<<"$suites"
}

scan EC ec-chain.pem ec-key.pem
scan RSA rsa-chain.pem rsa-key.pem
[ $fail -eq 0 ] && echo "sslscan: TLS 1.2 only, ECDHE with AEAD only, no renegotiation"
exit $fail
