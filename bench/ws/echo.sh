#!/usr/bin/env bash
# WebSocket echo benchmark: zzz's echo server against two peers, in one
# run on this machine: node's ws package (bench/ws/echo_ws.mjs) and
# Python's websockets (bench/ws/echo_websockets.py, Debian's
# python3-websockets). Each echoes every message, permessage-deflate off,
# in one process and thread, pinned to CPU 0; the load client, wsload
# (bench/ws/wsload.c, one thread), runs on CPU 1. Two scenarios:
#   load  64 connections, each sending a 64-byte text message and waiting
#         for its echo before sending the next, for --secs seconds:
#         messages/s, round trip p50/p99, CPU 0's busy time per message
#         (the server and the kernel's work for it), the server's own CPU
#         time (utime + stime) per message, and its peak RSS; medians over
#         --rounds rounds, the servers taking turns in a rotating order,
#         each started fresh and warmed up for a second.
#   idle  10,000 WebSocket connections opened and left quiet: the server's
#         VmRSS before and with them, and the bytes each one costs.
# Ratios are to node's ws (server ÷ ws); issue 15's goal for zzz is at
# most 0.5 of ws's CPU per message.
#
#   bench/ws/echo.sh                       5 s per load, 3 rounds: about 1.5 minutes
#   bench/ws/echo.sh --quick               2 s per load, 1 round
#   bench/ws/echo.sh --out FILE.csv        also write the medians as CSV
#   bench/ws/echo.sh --secs N --rounds N --idle-conns N
#
# zzz is measured when ZZZ_WS_ECHO names its echo server: it takes
# --port N (on 127.0.0.1) and echoes every message; ZZZ_WS_ARGS adds
# arguments (e.g. "--threads 1"), and the environment (TARDY_DRIVER) is
# passed on. Without it, the peers alone are measured. Needs node and npm
# (ws is installed from npm at the version bench/ws/package.json pins,
# into BENCH_BUILD_DIR/ws-node) and python3-websockets (PYTHON names an
# interpreter that has it; missing packages are installed with apt-get,
# which needs root). wsload is built in BENCH_BUILD_DIR (default
# build-bench-ws) unless WSLOAD=path names one. BENCH_PORT (default 18660)
# is the first 127.0.0.1 port used; BENCH_KEEP=1 keeps the temp dir of
# logs. Every server it started is stopped on exit, Ctrl-C included.
set -euo pipefail
self=$(readlink -f "$0")
here=$(dirname "$self")
cd "$here/../.."
bench_name=bench-ws
# shellcheck source=bench/http/lib.sh
. "$here/../http/lib.sh"

secs=5
idle_conns=10000
while [ $# -gt 0 ]; do
    bench_opt "$@"
    if [ "$bench_shift" -eq 0 ]; then
        case $1 in
        --idle-conns)
            [ $# -ge 2 ] || usage_error "$1 needs a value"
            idle_conns=$2
            bench_shift=2
            ;;
        *) usage_error "unknown argument '$1' (try --help)" ;;
        esac
    fi
    shift "$bench_shift"
done
bench_opts_done
[[ $idle_conns =~ ^[1-9][0-9]*$ ]] || usage_error "--idle-conns must be a positive integer"
[ "$(nproc)" -ge 2 ] || die "needs two CPUs: the server runs on CPU 0, wsload on CPU 1"
export PATH=$PATH:/usr/sbin:/sbin

# ---- what it needs
has_websockets() { "$1" -c 'import websockets' >/dev/null 2>&1; }
find_python() {
    local p
    if [ -n "${PYTHON:-}" ]; then
        echo "$PYTHON"
        return
    fi
    # Debian's interpreter first: a python3 earlier in PATH (pyenv, a
    # venv) does not see Debian's packages.
    for p in /usr/bin/python3 python3; do
        if has_websockets "$p"; then
            echo "$p"
            return
        fi
    done
}
python=$(find_python)
missing=()
have node || missing+=(nodejs)
have npm || missing+=(npm)
have taskset || missing+=(util-linux)
[ -n "$python" ] || missing+=(python3-websockets)
if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}"
    for t in node npm taskset; do have $t || die "$t still missing after apt-get"; done
    python=$(find_python)
fi
if [ -z "$python" ] || ! has_websockets "$python"; then
    die "no python3 with the websockets package (PYTHON=${PYTHON:-})"
fi

build_dir=${BENCH_BUILD_DIR:-build-bench-ws}
if [ -n "${WSLOAD:-}" ]; then
    [ -x "$WSLOAD" ] || die "WSLOAD=$WSLOAD is not an executable"
    wsload=$WSLOAD
else
    # Its logs go inside it: the build* directories are ignored by git.
    mkdir -p "$build_dir"
    if [ ! -f "$build_dir/build.ninja" ]; then
        meson setup "$build_dir" --buildtype=release -Db_ndebug=true -Dtests=false \
            -Dexamples=false -Dbench=true >"$build_dir/setup.log" 2>&1 ||
            die "meson setup $build_dir failed (see $build_dir/setup.log)"
    fi
    ninja -C "$build_dir" bench/wsload >"$build_dir/wsload.log" 2>&1 ||
        die "building wsload failed (see $build_dir/wsload.log)"
    wsload=$build_dir/bench/wsload
fi
wsload=$(readlink -f "$wsload")
"$wsload" --self-test >/dev/null || die "wsload --self-test failed"

# ws at the version package.json pins, once per build directory.
mkdir -p "$build_dir"
node_dir=$(readlink -f "$build_dir")/ws-node
ws_version=$(sed -n 's/.*"ws": "\([^"]*\)".*/\1/p' "$here/package.json")
if [ ! -f "$node_dir/node_modules/ws/package.json" ] ||
    ! grep -q "\"version\": \"$ws_version\"" "$node_dir/node_modules/ws/package.json"; then
    note "installing ws $ws_version from npm into $node_dir"
    mkdir -p "$node_dir"
    npm install --prefix "$node_dir" --no-audit --no-fund --no-save --silent "ws@$ws_version" \
        >/dev/null || die "npm install ws@$ws_version failed"
fi

zzz=""
zzz_args=()
if [ -n "${ZZZ_WS_ECHO:-}" ]; then
    [ -x "$ZZZ_WS_ECHO" ] || die "ZZZ_WS_ECHO=$ZZZ_WS_ECHO is not an executable"
    zzz=$(readlink -f "$ZZZ_WS_ECHO")
    # shellcheck disable=SC2206 # word splitting is the point
    zzz_args=(${ZZZ_WS_ARGS:-})
fi

tmp=$(mktemp -d /tmp/bench-ws.XXXXXX)
pids=()
bench_traps
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" -ge $((idle_conns + 100)) ] ||
    die "RLIMIT_NOFILE is $(ulimit -n): $idle_conns idle connections need more (--idle-conns)"
hz=$(getconf CLK_TCK)
port_base=${BENCH_PORT:-18660}

names=(ws websockets)
declare -A label port
label[ws]="node ws $ws_version"
label[websockets]="py websockets $("$python" -c 'import websockets; print(websockets.__version__)')"
label[zzz]="zzz"
port[ws]=$((port_base + 1))
port[websockets]=$((port_base + 2))
port[zzz]=$((port_base + 3))
if [ -n "$zzz" ]; then
    names+=(zzz)
else
    note "ZZZ_WS_ECHO is not set: zzz is skipped (set it to an echo server taking --port N)"
fi

# ---- servers
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Starts server $1 pinned to CPU 0 (its process is the one started: taskset
# and env exec it); sets spid; waits up to 10 s for its port to accept.
start_server() { # name
    local name=$1 p=${port[$1]} dir=$tmp/$1 i cmd
    mkdir -p "$dir"
    if port_open "$p"; then die "127.0.0.1:$p is already in use (set BENCH_PORT)"; fi
    case $name in
    ws) cmd=(env WS_DIR="$node_dir" node "$here/echo_ws.mjs" "$p") ;;
    websockets) cmd=("$python" "$here/echo_websockets.py" "$p") ;;
    zzz) cmd=("$zzz" --port "$p" "${zzz_args[@]}") ;;
    esac
    taskset -c 0 "${cmd[@]}" >>"$dir/stdout.log" 2>>"$dir/stderr.log" &
    spid=$!
    pids+=("$spid")
    for ((i = 0; i < 100; i++)); do
        if ! kill -0 "$spid" 2>/dev/null; then
            tail -20 "$dir/stdout.log" "$dir/stderr.log" >&2
            die "${label[$name]} exited at start-up"
        fi
        port_open "$p" && return 0
        sleep 0.1
    done
    die "${label[$name]} does not accept on 127.0.0.1:$p after 10 s"
}

# wsload on CPU 1, bounded in time; its output in $tmp/$1.$2.log.
run_wsload() { # name tag wsload-args...
    local name=$1 log=$tmp/$1.$2.log
    shift 2
    if ! timeout 120 taskset -c 1 "$wsload" -p "${port[$name]}" --cpu 1 "$@" >"$log" 2>&1; then
        die "${label[$name]}: wsload $* failed: $(tail -3 "$log")"
    fi
}
field() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" "$1" | tail -1; } # file key

# ---- load: one round of one server
results=$tmp/results
load_round() { # name round
    local name=$1 round=$2 log b0 p0 a0 p1 hwm msgs
    start_server "$name"
    run_wsload "$name" warm -c 64 -s 64 -d 1 # also checks the echoes
    b0=$(cpu_busy 0)
    p0=$(proc_cpu "$spid")
    run_wsload "$name" "load$round" -c 64 -s 64 -d "$secs"
    a0=$(cpu_busy 0)
    p1=$(proc_cpu "$spid")
    hwm=$(peak_rss_kib "$spid")
    stop_server "$spid"
    log=$tmp/$name.load$round.log
    msgs=$(field "$log" messages)
    awk -v n="$name" -v r="$round" -v m="$msgs" -v rate="$(field "$log" msg_per_s)" \
        -v p50="$(field "$log" p50_us)" -v p99="$(field "$log" p99_us)" -v hz="$hz" \
        -v c0="$b0 $a0" -v pj=$((p1 - p0)) -v hwm="$hwm" -v cl="$(field "$log" cpu_pct)" 'BEGIN {
            split(c0, c, " "); printf "%s %s %s %.0f %.0f %s %s %s %s\n", n, r, rate,
            (c[3] - c[1]) / hz * 1e9 / m, pj / hz * 1e9 / m, hwm, p50, p99, cl }' >>"$results"
}

# ---- idle: $idle_conns quiet connections, once per server
idle_results=$tmp/idle
idle_run() { # name
    local name=$1 before after lpid ilog=$tmp/$1.idle.log sources range i rc=0
    start_server "$name"
    run_wsload "$name" idle-warm -c 16 -s 64 -d 1
    sleep 0.5
    before=$(rss_kib "$spid" VmRSS)
    # Source addresses 127.0.0.1, .2, ...: at most half the ephemeral port
    # range on each, leaving room for TIME_WAIT and everyone else.
    read -r -a range </proc/sys/net/ipv4/ip_local_port_range
    sources=$((idle_conns / ((range[1] - range[0] + 1) / 2) + 1))
    timeout 150 taskset -c 1 "$wsload" -p "${port[$name]}" --cpu 1 --idle -c "$idle_conns" \
        --sources "$sources" --timeout 90 --hold 120 >"$ilog" 2>"$ilog.err" &
    lpid=$!
    pids+=("$lpid")
    for ((i = 0; i < 1000; i++)); do
        grep -q '^established' "$ilog" && break
        kill -0 "$lpid" 2>/dev/null || die "${label[$name]}: wsload --idle failed: $(tail -3 "$ilog.err")"
        sleep 0.1
    done
    grep -q '^established' "$ilog" || die "${label[$name]}: $idle_conns connections not open after 100 s"
    sleep 1 # what the last handshakes left to do
    after=$(rss_kib "$spid" VmRSS)
    kill -TERM "$lpid"
    wait "$lpid" || rc=$?
    [ $rc -eq 0 ] || die "${label[$name]}: $(cat "$ilog" "$ilog.err" | tail -3)"
    stop_server "$spid"
    echo "$name $before $after $(awk -v a="$after" -v b="$before" -v n="$idle_conns" \
        'BEGIN { printf "%.0f", (a - b) * 1024 / n }') $(field "$ilog" secs)" >>"$idle_results"
}

bg=$(background)
note "$(node --version | sed 's/^v/node /'), ${label[ws]#node }; python $("$python" -c \
    'import platform; print(platform.python_version())'), ${label[websockets]#py }; CPU 0/1 busy before: ${bg% *}%/${bg#* }%"
if [ "${bg% *}" -ge 10 ] || [ "${bg#* }" -ge 10 ]; then
    note "something else keeps CPU 0 or 1 busy: the figures will be noisy"
fi

for ((round = 1; round <= rounds; round++)); do
    n=${#names[@]}
    for ((k = 0; k < n; k++)); do
        load_round "${names[$(((k + round - 1) % n))]}" "$round"
    done
done
for name in "${names[@]}"; do idle_run "$name"; done

# ---- the table
med() { awk -v n="$1" -v c="$2" '$1 == n { print $c }' "$results" | median; }
declare -A m_rate m_cpu0 m_proc m_rss m_p50 m_p99 m_load i_before i_after i_per i_secs
for name in "${names[@]}"; do
    m_rate[$name]=$(med "$name" 3)
    m_cpu0[$name]=$(med "$name" 4)
    m_proc[$name]=$(med "$name" 5)
    m_rss[$name]=$(med "$name" 6)
    m_p50[$name]=$(med "$name" 7)
    m_p99[$name]=$(med "$name" 8)
    m_load[$name]=$(med "$name" 9)
    read -r _ "i_before[$name]" "i_after[$name]" "i_per[$name]" "i_secs[$name]" \
        < <(grep "^$name " "$idle_results")
done

echo
echo "load: 64 connections, 64-byte text messages, one in flight per connection, ${secs} s;" \
    "median of $rounds round(s); ÷ws: ratio to node ws"
printf '%-22s %9s %8s %8s %11s %6s %11s %6s %8s %8s\n' server "msg/s" "p50 us" "p99 us" \
    "CPU0 ns/msg" "÷ws" "proc ns/msg" "÷ws" "RSS KiB" "wsload %"
for name in "${names[@]}"; do
    printf '%-22s %9.0f %8.1f %8.1f %11.0f %6s %11.0f %6s %8.0f %8.0f\n' "${label[$name]}" \
        "${m_rate[$name]}" "${m_p50[$name]}" "${m_p99[$name]}" \
        "${m_cpu0[$name]}" "$(ratio "${m_cpu0[$name]}" "${m_cpu0[ws]}")" \
        "${m_proc[$name]}" "$(ratio "${m_proc[$name]}" "${m_proc[ws]}")" \
        "${m_rss[$name]}" "${m_load[$name]}"
done
echo
echo "idle: $idle_conns quiet WebSocket connections; VmRSS of the server"
printf '%-22s %11s %11s %8s %6s %10s\n' server "before KiB" "with KiB" "B/conn" "÷ws" "open in s"
for name in "${names[@]}"; do
    printf '%-22s %11s %11s %8s %6s %10s\n' "${label[$name]}" "${i_before[$name]}" \
        "${i_after[$name]}" "${i_per[$name]}" "$(ratio "${i_per[$name]}" "${i_per[ws]}")" \
        "${i_secs[$name]}"
done
if [ -n "$zzz" ]; then
    echo
    echo "goal (issue 15): zzz's CPU per message at most 0.50 of ws's:" \
        "CPU 0 $(ratio "${m_cpu0[zzz]}" "${m_cpu0[ws]}"), own $(ratio "${m_proc[zzz]}" "${m_proc[ws]}")"
fi
for name in "${names[@]}"; do
    awk -v c="${m_load[$name]}" 'BEGIN { exit !(c >= 90) }' &&
        note "${label[$name]}: wsload was ${m_load[$name]}% busy: it may have set the pace"
done
if [ -n "$out_csv" ]; then
    {
        echo "server,msg_per_s,p50_us,p99_us,cpu0_ns_per_msg,proc_ns_per_msg,rss_kib,idle_conns,idle_rss_before_kib,idle_rss_after_kib,idle_bytes_per_conn"
        for name in "${names[@]}"; do
            echo "${label[$name]},${m_rate[$name]},${m_p50[$name]},${m_p99[$name]},${m_cpu0[$name]},${m_proc[$name]},${m_rss[$name]},$idle_conns,${i_before[$name]},${i_after[$name]},${i_per[$name]}"
        done
    } >"$out_csv"
fi
