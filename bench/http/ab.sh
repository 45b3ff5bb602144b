#!/usr/bin/env bash
# A/B comparison of two zzz hello servers that cancels the machine's noise:
# both run at the same time, pinned to CPU 0, each loaded by its own
# `wrk -t1 -c64` on CPU 1, and each one's CPU time (utime + stime from
# /proc) is divided by the requests it served. Whatever slows CPU 0 down
# during a round (other tenants, frequency) slows both alike, so the ratio
# B/A holds to about 1% where back-to-back runs swing by 10-20%. Use it to
# decide whether a change pays; use run.sh for figures against other
# servers. (Interrupt and softirq time is not in a process's CPU time, so
# the ratio covers the server's own work, not the kernel's network work
# done in softirq.)
#
#   bench/http/ab.sh [--rounds N] [--secs N] [--pipelined] A B
#
# --pipelined loads both with pipeline.lua (16 requests per write, as
# run.sh's pipelined scenario) instead of one request per write.
#
# A and B are "[VAR=value ...] path/to/hello", e.g.
#   bench/http/ab.sh "TARDY_DRIVER=epoll build/examples/hello" \
#                    "TARDY_DRIVER=io_uring build/examples/hello"
# Prints each round's requests and ns of CPU per request, then the median
# of B/A (below 1: B costs less). Needs wrk, curl and taskset; ports 18601
# and 18602 on 127.0.0.1 (BENCH_PORT moves them).
set -euo pipefail

rounds=5
secs=3
wrk_extra=()
here=$(cd "$(dirname "$0")" && pwd)
while [ $# -gt 0 ]; do
    case $1 in
    --pipelined) wrk_extra=(-s "$here/pipeline.lua") ;;
    --rounds) rounds=${2:?--rounds needs a number}; shift ;;
    --secs) secs=${2:?--secs needs a number}; shift ;;
    -h | --help)
        awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
        exit 0
        ;;
    *) break ;;
    esac
    shift
done
die() {
    echo "bench-ab: $*" >&2
    exit 1
}
[ $# -eq 2 ] || die "needs two servers, A and B (try --help)"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer"
[[ $secs =~ ^[1-9][0-9]*$ ]] || die "--secs must be a positive integer"
[ "$(nproc)" -ge 2 ] || die "needs two CPUs"
for t in wrk curl taskset; do command -v $t >/dev/null || die "$t is missing"; done

port_a=${BENCH_PORT:-18601}
port_b=$((port_a + 1))
hz=$(getconf CLK_TCK)
tmp=$(mktemp -d /tmp/bench-ab.XXXXXX)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

start() { # "spec" port -> pid on stdout
    local -a words envs=()
    read -r -a words <<<"$1"
    while [ ${#words[@]} -gt 1 ] && [[ ${words[0]} == *=* ]]; do
        envs+=("${words[0]}")
        words=("${words[@]:1}")
    done
    [ -x "${words[0]}" ] || die "'${words[0]}' is not an executable"
    if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$2/"; then die "127.0.0.1:$2 is in use (set BENCH_PORT)"; fi
    taskset -c 0 env "${envs[@]}" "${words[@]}" --port "$2" --threads 1 --conn-limit 10000 \
        >"$tmp/$2.log" 2>&1 &
    echo $!
}
cpu_jiffies() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
wait_up() {
    local i
    for ((i = 0; i < 100; i++)); do
        curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/" && return 0
        sleep 0.1
    done
    die "no answer on 127.0.0.1:$1: $(tail -3 "$tmp/$1.log")"
}

pa=$(start "$1" "$port_a")
pids+=("$pa")
pb=$(start "$2" "$port_b")
pids+=("$pb")
wait_up "$port_a"
wait_up "$port_b"
load() { # secs -> both wrk runs at once
    taskset -c 1 wrk -t1 -c64 "${wrk_extra[@]}" -d"$1"s "http://127.0.0.1:$port_a/" >"$tmp/a.wrk" 2>&1 &
    local wa=$!
    taskset -c 1 wrk -t1 -c64 "${wrk_extra[@]}" -d"$1"s "http://127.0.0.1:$port_b/" >"$tmp/b.wrk" 2>&1 &
    local wb=$!
    wait $wa $wb || die "wrk failed: $(tail -3 "$tmp/a.wrk" "$tmp/b.wrk")"
}
load 1 # warm-up
ratios=()
for ((r = 1; r <= rounds; r++)); do
    a0=$(cpu_jiffies "$pa")
    b0=$(cpu_jiffies "$pb")
    load "$secs"
    a1=$(cpu_jiffies "$pa")
    b1=$(cpu_jiffies "$pb")
    ra=$(awk '/requests in/ { print $1 }' "$tmp/a.wrk")
    rb=$(awk '/requests in/ { print $1 }' "$tmp/b.wrk")
    if [ "${ra:-0}" -eq 0 ] || [ "${rb:-0}" -eq 0 ]; then die "a server served nothing in round $r"; fi
    if grep -q "Non-2xx" "$tmp/a.wrk" "$tmp/b.wrk"; then die "non-2xx answers in round $r"; fi
    line=$(awk -v ja=$((a1 - a0)) -v jb=$((b1 - b0)) -v ra="$ra" -v rb="$rb" -v hz="$hz" 'BEGIN {
        na = ja * 1e9 / hz / ra; nb = jb * 1e9 / hz / rb
        printf "%d %d %.0f %.0f %.3f", ra, rb, na, nb, nb / na }')
    read -r qa qb na nb ratio <<<"$line"
    printf 'round %d: A %d requests, %d ns/req; B %d requests, %d ns/req; B/A %s\n' \
        "$r" "$qa" "$na" "$qb" "$nb" "$ratio"
    ratios+=("$ratio")
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "median B/A over %d rounds: %.3f\n", NR, m }'
