#!/usr/bin/env bash
# Builds tardy's benchmarks twice (coro=asm and coro=ucontext, release)
# under build-bench/, runs bench-coro for each backend and bench-echo for
# each driver, and prints a table. Takes about a minute (--quick: under 15
# seconds, for CI); every run has a time limit, so the script always ends.
#
#   bench/run-tardy.sh            full run
#   bench/run-tardy.sh --quick    a fraction of the iterations
#   bench/run-tardy.sh --raw      also print the benchmarks' own lines
#
# Environment: CC picks the compiler (default: meson's choice);
# BENCH_DIR the build root (default: build-bench).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=()
raw=0
for arg in "$@"; do
    case $arg in
    --quick) quick=(--quick) ;;
    --raw) raw=1 ;;
    -h | --help)
        sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "run-tardy: unknown argument '$arg' (try --help)" >&2
        exit 2
        ;;
    esac
done

out=${BENCH_DIR:-build-bench}
backends=(asm ucontext)
drivers=(io_uring epoll busy)
limit=60 # seconds any one benchmark may take
log=$out/results.txt
mkdir -p "$out"
: >"$log"

# Pin single-threaded runs to one CPU so the scheduler does not move them;
# two-thread runs get two CPUs when there are two.
pin1=()
pin2=()
if command -v taskset >/dev/null; then
    pin1=(taskset -c 0)
    if [ "$(nproc)" -ge 2 ]; then
        # shellcheck disable=SC2054 # "0,1" is one argument, a CPU list
        pin2=(taskset -c 0,1)
    fi
fi

build() {
    local dir=$out/$1
    local opts=(--buildtype=release -Db_ndebug=true -Dcoro="$1"
        -Dtests=false -Dexamples=false -Dbench=true)
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "${opts[@]}" >"$dir.setup.log" 2>&1
    else
        meson setup "$dir" "${opts[@]}" >"$dir.setup.log" 2>&1
    fi || {
        cat "$dir.setup.log" >&2
        exit 1
    }
    ninja -C "$dir" bench/bench-coro bench/bench-echo >"$dir.build.log" 2>&1 || {
        cat "$dir.build.log" >&2
        exit 1
    }
}

# Runs one benchmark: appends its result lines, tagged with the backend, to
# the log. A run that fails or times out is recorded as such.
run() {
    local backend=$1
    shift
    local lines
    if lines=$(timeout "$limit" "$@" 2>&1); then
        [ "$raw" = 1 ] && printf '%s\n' "$lines"
        printf '%s\n' "$lines" | sed "s/^/build=$backend /" >>"$log"
    else
        local status=$?
        echo "run-tardy: FAILED (status $status): $*" >&2
        printf '%s\n' "$lines" >&2
        echo "build=$backend failed: TARDY_DRIVER=${TARDY_DRIVER:-} $*" >>"$log"
    fi
}

for b in "${backends[@]}"; do
    echo "building $out/$b (coro=$b, release)..." >&2
    build "$b"
done

for b in "${backends[@]}"; do
    echo "bench-coro, coro=$b..." >&2
    run "$b" "${pin1[@]}" "$out/$b/bench/bench-coro" "${quick[@]}"
done

for b in "${backends[@]}"; do
    for d in "${drivers[@]}"; do
        echo "bench-echo, coro=$b, driver=$d..." >&2
        TARDY_DRIVER=$d run "$b" "${pin1[@]}" "$out/$b/bench/bench-echo" --threads 1 "${quick[@]}"
        # Two runtimes only for the default backend: the switch matters less there.
        if [ "$b" = asm ]; then
            TARDY_DRIVER=$d run "$b" "${pin2[@]}" "$out/$b/bench/bench-echo" --threads 2 \
                "${quick[@]}"
        fi
    done
done

# The table, from the key=value lines in the log.
field() { # field KEY LINE
    printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n1
}

echo
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)," \
    "Linux $(uname -r)${quick:+ (--quick)}"
echo
printf '%-9s %-9s %10s %10s %11s %10s\n' backend driver switch_ns yield_ns yield64_ns spawn_ns
grep ' coro backend=' "$log" | while read -r line; do
    printf '%-9s %-9s %10s %10s %11s %10s\n' "$(field backend "$line")" "$(field driver "$line")" \
        "$(field switch_ns "$line")" "$(field yield_ns "$line")" "$(field yield64_ns "$line")" \
        "$(field spawn_ns "$line")"
done
if grep -q ' coro-variant ' "$log"; then
    echo
    echo "x86-64 switch variants (ns per switch; see bench/switch_x86_64.S):"
    grep ' coro-variant ' "$log" | grep '^build=asm' | while read -r line; do
        printf '  %-14s %6s   %s\n' "$(field variant "$line")" "$(field switch_ns "$line")" \
            "$(printf '%s\n' "$line" | sed -n 's/.*# //p')"
    done
fi
echo
printf '%-9s %-9s %8s %6s %13s\n' backend driver threads conns rtt_per_sec
grep ' echo driver=' "$log" | while read -r line; do
    printf '%-9s %-9s %8s %6s %13s\n' "$(field build "$line")" "$(field driver "$line")" \
        "$(field threads "$line")" "$(field conns "$line")" "$(field rtt_per_sec "$line")"
done
if grep -q ' failed ' "$log"; then
    echo
    echo "some benchmarks failed:"
    grep ' failed ' "$log"
    exit 1
fi
