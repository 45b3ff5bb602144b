#!/usr/bin/env bash
# The TCP proxy side by side with haproxy in TCP mode: both in front of
# examples/hello, one thread each, loaded by wrk over keep-alive
# connections in the same run. Prints requests per second and the proxy's
# CPU time per request (user + system, from /proc/PID/stat), and the
# ratios tardy / haproxy. Installs wrk and haproxy with apt-get when they
# are missing (as root).
#
#   bench/proxy/run.sh [--build DIR] [--secs N] [--conns N] [--driver D]
#
# DIR is a built meson build directory (default: build); --secs the
# length of each wrk run (default 10); --conns its connections (default
# 64); --driver the TARDY_DRIVER of the proxy and of hello (default: auto).
set -euo pipefail
cd "$(dirname "$0")/../.."

build=build
secs=10
conns=64
driver=
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$2; shift 2 ;;
    --secs) secs=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --driver) driver=$2; shift 2 ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "proxy bench: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
for tool in wrk haproxy; do
    if ! command -v "$tool" >/dev/null && ! [ -x "/usr/sbin/$tool" ]; then
        apt-get install -y "$tool" >/dev/null
    fi
done
haproxy_bin=$(command -v haproxy || echo /usr/sbin/haproxy)
[ -x "$build/examples/proxy" ] && [ -x "$build/examples/hello" ] ||
    { echo "proxy bench: build $build first (examples/proxy, examples/hello)" >&2; exit 1; }
[ -n "$driver" ] && export TARDY_DRIVER=$driver

tmp=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "proxy bench: nothing listens on $1" >&2
    exit 1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

up_port=$(free_port)
"$build/examples/hello" --port "$up_port" --threads 1 >/dev/null 2>&1 &
pids+=($!)
wait_port "$up_port"

tardy_port=$(free_port)
"$build/examples/proxy" --listen "127.0.0.1:$tardy_port" --to "localhost:$up_port" \
    --threads 1 >/dev/null 2>&1 &
tardy_pid=$!
pids+=("$tardy_pid")

ha_port=$(free_port)
cat >"$tmp/haproxy.cfg" <<CFG
global
    nbthread 1
    maxconn 4096
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend in
    bind 127.0.0.1:$ha_port
    default_backend up
backend up
    server hello 127.0.0.1:$up_port
CFG
"$haproxy_bin" -f "$tmp/haproxy.cfg" -db >/dev/null 2>&1 &
ha_pid=$!
pids+=("$ha_pid")
wait_port "$tardy_port"
wait_port "$ha_port"

hz=$(getconf CLK_TCK)
declare -A rps cpu_us
run() { # name port pid
    local before after out reqs
    before=$([ -n "$3" ] && cpu_ticks "$3" || echo 0)
    out=$(wrk -t1 -c"$conns" -d"${secs}s" "http://127.0.0.1:$2/")
    after=$([ -n "$3" ] && cpu_ticks "$3" || echo 0)
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    grep -q "Non-2xx\|Socket errors" <<<"$out" && echo "proxy bench: $1: $(grep 'Non-2xx\|Socket errors' <<<"$out")" >&2
    rps[$1]=$(awk -v r="$reqs" -v s="$secs" 'BEGIN {printf "%.0f", r / s}')
    cpu_us[$1]=$(awk -v t=$((after - before)) -v hz="$hz" -v r="$reqs" 'BEGIN {printf "%.2f", t / hz * 1e6 / r}')
}
run direct "$up_port" ""
run tardy "$tardy_port" "$tardy_pid"
run haproxy "$ha_port" "$ha_pid"

echo "TCP proxy in front of examples/hello: wrk -t1 -c$conns -d${secs}s, one proxy thread, driver ${driver:-auto}"
printf '%-10s %12s %20s\n' path 'requests/s' 'proxy CPU us/request'
printf '%-10s %12s %20s\n' direct "${rps[direct]}" -
printf '%-10s %12s %20s\n' tardy "${rps[tardy]}" "${cpu_us[tardy]}"
printf '%-10s %12s %20s\n' haproxy "${rps[haproxy]}" "${cpu_us[haproxy]}"
awk -v a="${rps[tardy]}" -v b="${rps[haproxy]}" -v c="${cpu_us[tardy]}" -v d="${cpu_us[haproxy]}" \
    'BEGIN {printf "tardy / haproxy: throughput %.2f, CPU per request %.2f\n", a / b, c / d}'
