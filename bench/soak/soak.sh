#!/usr/bin/env bash
# Soak: one zzz server process for plain HTTP and one for HTTPS (the same
# binary, bench/soak/soakserver.c, one thread each), driven by
# bench/soak/soak.c with a mix of keep-alive and pipelined requests, TLS
# handshakes (full and resumed), malformed heads, uploads (Content-Length,
# chunked, 100-continue), WebSocket messages, and resets mid-request,
# mid-response and mid-handshake. Every answer waited for is checked. The
# servers' RSS and open descriptors are sampled at each tenth of the run;
# at the end RSS must be flat (the last sample within max(1 MiB, 10%) of
# the first, taken after a tenth of the run) and the descriptors back to
# their count before the load. Then both servers get SIGTERM and must
# exit 0.
#
#   bench/soak/soak.sh                 10^7 requests (by hand; nice -n 10)
#   bench/soak/soak.sh --quick         10^5 requests, bounded to 30 s (CI;
#                                      a run cut by the bound still passes
#                                      if all it checked was right)
#   bench/soak/soak.sh --requests N --workers N --max-seconds S --seed N
#
# Environment: SOAK_BUILD_DIR (default build-soak) is where the binaries
# are built if SOAK_SERVER / SOAK_CLIENT do not name them; TARDY_DRIVER
# picks the servers' I/O driver. Exit status: soak's (0 passed, 1 failed,
# 3 cut short by the time bound), or 1 when a server did not exit cleanly.
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")/../.."

requests=10000000
workers=4
max_seconds=7200
seed=1
quick=0
while [ $# -gt 0 ]; do
    case $1 in
    --quick) requests=100000 max_seconds=30 quick=1 ;;
    --requests) requests=$2; shift ;;
    --workers) workers=$2; shift ;;
    --max-seconds) max_seconds=$2; shift ;;
    --seed) seed=$2; shift ;;
    -h | --help) sed -n '2,/^set -e/p' "$self" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done

build=${SOAK_BUILD_DIR:-build-soak}
server=${SOAK_SERVER:-$build/bench/zzz-soakserver}
client=${SOAK_CLIENT:-$build/bench/soak}
if [ ! -x "$server" ] || [ ! -x "$client" ]; then
    [ -d "$build" ] || meson setup "$build" -Dtests=false -Dexamples=false >/dev/null
    ninja -C "$build" bench/zzz-soakserver bench/soak >/dev/null
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
tests/zzz/tls/make-certs.sh "$tmp/certs" >/dev/null

# Starts the server with its arguments; sets port and pid.
start() {
    local out=$tmp/server$((${#pids[@]})).out
    "$server" --port 0 "$@" >"$out" 2>&1 &
    pid=$!
    pids+=("$pid")
    for _ in $(seq 100); do
        port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$out")
        [ -n "$port" ] && { sed -n 1p "$out"; return; }
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "soak.sh: the server did not start:" >&2
    cat "$out" >&2
    exit 1
}
start
plain_port=$port plain_pid=$pid
start --tls-cert "$tmp/certs/ec-chain.pem" --tls-key "$tmp/certs/ec-key.pem"
tls_port=$port tls_pid=$pid

status=0
"$client" --plain "$plain_port" --tls "$tls_port" --pid "plain=$plain_pid" --pid "tls=$tls_pid" \
    --requests "$requests" --workers "$workers" --max-seconds "$max_seconds" --seed "$seed" ||
    status=$?
# On a busy CI machine the short run may not reach its count in 60 s:
# what it did is still checked, and that is what CI wants.
if [ "$quick" = 1 ] && [ "$status" = 3 ]; then
    status=0
fi

# A clean shutdown after the load: exit status 0 within the drain timeout.
for p in "$plain_pid" "$tls_pid"; do
    kill -TERM "$p"
    rc=0
    timeout 15 tail --pid="$p" -f /dev/null || rc=$?
    wait "$p" || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "soak.sh: server $p did not exit cleanly after SIGTERM (status $rc)" >&2
        status=1
    fi
done
pids=()
exit "$status"
