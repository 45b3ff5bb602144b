#!/usr/bin/env bash
# Instructions per TLS handshake of zzz's tls example, counted by
# callgrind (valgrind): repeatable where CPU time on a busy machine is
# not. The server runs under callgrind (epoll driver, one thread) while a
# Python client makes N connections, each a GET / with "Connection:
# close": all full handshakes, or all resuming the first one's session.
# Two runs of N1 and N2 connections; the difference of their totals over
# N2 - N1 is the cost of one handshake and its request, without start-up.
#
#   bench/http/tls_callgrind.sh TLS_BINARY [CERT KEY]   (default: a fresh P-256 pair)
#
# Environment: N1 (5) and N2 (25); MODES ("full resumed").
# Build the binary with symbols for a readable profile, e.g.
#   meson setup build-cg --buildtype=debugoptimized -Db_ndebug=true -Dtests=false -Dbench=false
#   ninja -C build-cg examples/tls
set -euo pipefail
bin=$(readlink -f "${1:?usage: tls_callgrind.sh TLS_BINARY [CERT KEY]}")
command -v valgrind >/dev/null || { echo "tls_callgrind: valgrind is missing" >&2; exit 1; }
n1=${N1:-5} n2=${N2:-25}
tmp=$(mktemp -d /tmp/tls-callgrind.XXXXXX)
server_pid=""
cleanup() {
    [ -z "$server_pid" ] || kill -KILL "$server_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
if [ $# -ge 3 ]; then
    cert=$(readlink -f "$2") key=$(readlink -f "$3")
else
    cert=$tmp/cert.pem key=$tmp/key.pem
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=localhost -keyout "$key" -out "$cert" >/dev/null 2>&1
fi

cat >"$tmp/client.py" <<'EOF'
import socket, ssl, sys
port, n, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.options |= ssl.OP_NO_TICKET
sess = None
for i in range(n):
    with socket.create_connection(("127.0.0.1", port), timeout=60) as raw:
        with ctx.wrap_socket(raw, session=sess) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                d = s.recv(4096)
                if not d:
                    break
                data += d
            if b"Hello, World!" not in data:
                sys.exit("bad answer: %r" % data)
            if mode == "resumed":
                if sess is None:
                    sess = s.session
                elif not s.session_reused:
                    sys.exit("a session was not resumed")
EOF

# total MODE N: the server's instruction count for N connections.
total() {
    local mode=$1 n=$2 port=$((20000 + RANDOM % 20000))
    local out=$tmp/cg.$mode.$n
    TARDY_DRIVER=epoll valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$bin" --cert "$cert" --key "$key" --port "$port" --threads 1 >"$out.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 300); do grep -q listening "$out.log" && break; sleep 0.2; done
    grep -q listening "$out.log" || { echo "tls_callgrind: server did not start: $(tail -3 "$out.log")" >&2; exit 1; }
    timeout 600 python3 "$tmp/client.py" "$port" "$n" "$mode"
    kill -TERM "$server_pid"
    wait "$server_pid" || true
    server_pid=""
    awk '/^(summary|totals):/ {print $2; exit}' "$out"
}

for mode in ${MODES:-full resumed}; do
    a=$(total "$mode" "$n1")
    b=$(total "$mode" "$n2")
    echo "$mode: $(((b - a) / (n2 - n1))) instructions per handshake ($n1 connections: $a, $n2: $b)"
done
