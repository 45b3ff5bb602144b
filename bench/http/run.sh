#!/usr/bin/env bash
# HTTP/1.1 benchmark: zzz's hello example (io_uring, epoll and busy-loop
# drivers) against nginx, h2o and lighttpd, in one run on this machine.
# Every server answers GET / with the 13 bytes "Hello, World!"; each runs
# alone, pinned to CPU 0, while the client runs on CPU 1. Four scenarios:
#   keepalive   wrk -t1 -c128, one request at a time per connection
#   pipelined   wrk -t1 -c128 with pipeline.lua: 16 requests per write
#   crowded     keepalive's load while idle.py holds 1,000 more keep-alive
#               connections open and silent (most of a real server's
#               connections are idle between requests)
#   idle        1,000 then 5,000 mostly idle keep-alive connections
#               (idle.py): the server's resident memory
# Reports requests/s, CPU 0 time and the server's own CPU time per request,
# peak RSS and p99 latency, and RSS with idle connections: medians over the
# rounds, with ratios to the best peer. See bench/http/README.md.
#
#   bench/http/run.sh                  10 s per run, 3 rounds (~13 minutes)
#   bench/http/run.sh --quick          1 s per run, 1 round (for CI)
#   bench/http/run.sh --out FILE.csv   also write the figures as CSV
#   bench/http/run.sh --charts DIR     also write DIR/results.csv and PNG
#                                      charts (gnuplot) into DIR
#   bench/http/run.sh --scenarios keepalive,pipelined,crowded,idle   (default: all)
#   bench/http/run.sh --secs N --rounds N
#
# Missing tools (wrk, nginx-light, h2o, lighttpd, curl, python3; gnuplot-nox
# for --charts) are installed with apt-get, which needs root. Environment:
# HELLO=path uses that hello binary instead of building one;
# BENCH_BUILD_DIR (default build-bench-http) is where it is built;
# BENCH_PORT (default 18480) is the first of the 127.0.0.1 ports used;
# BENCH_KEEP=1 keeps the temp dir of configs and logs.
set -euo pipefail
self=$(readlink -f "$0")
here=$(dirname "$self")
cd "$here/../.."
bench_name=bench-http
# shellcheck source=bench/http/lib.sh
. "$here/lib.sh"

charts=""
all_scenarios="keepalive pipelined crowded idle"
scenarios=$all_scenarios
while [ $# -gt 0 ]; do
    bench_opt "$@"
    if [ "$bench_shift" -gt 0 ]; then
        shift "$bench_shift"
        continue
    fi
    case $1 in
    --charts)
        [ $# -ge 2 ] || usage_error "--charts needs a directory"
        charts=$2
        shift
        ;;
    --scenarios)
        [ $# -ge 2 ] || usage_error "--scenarios needs a list (keepalive,pipelined,crowded,idle)"
        scenarios=${2//,/ }
        for sc in $scenarios; do
            case " $all_scenarios " in *" $sc "*) ;; *)
                usage_error "unknown scenario '$sc' (keepalive, pipelined, crowded, idle)"
                ;;
            esac
        done
        [ -n "${scenarios// /}" ] || usage_error "--scenarios is empty"
        shift
        ;;
    *) usage_error "unknown argument '$1' (try --help)" ;;
    esac
    shift
done
bench_opts_done
if [ -n "$charts" ]; then charts=$(absolute "$charts"); fi
selected() { case " $scenarios " in *" $1 "*) return 0 ;; esac; return 1; }


[ "$(nproc)" -ge 2 ] || die "needs two CPUs: the server runs on CPU 0, wrk on CPU 1"
export PATH=$PATH:/usr/sbin:/sbin

# ---------------------------------------------------------------- tools
missing=()
have wrk || missing+=(wrk)
have nginx || missing+=(nginx)
have h2o || missing+=(h2o)
have lighttpd || missing+=(lighttpd)
have curl || missing+=(curl)
have taskset || missing+=(util-linux)
needs_python() { selected idle || selected crowded; }
! needs_python || have python3 || missing+=(python3)
[ -z "$charts" ] || have gnuplot || missing+=(gnuplot-nox)
if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}"
    for t in wrk nginx h2o lighttpd curl taskset; do have $t || die "$t still missing after apt-get"; done
    ! needs_python || have python3 || die "python3 still missing after apt-get"
    [ -z "$charts" ] || have gnuplot || die "gnuplot still missing after apt-get"
fi

# ---------------------------------------------------------------- zzz hello
build_dir=${BENCH_BUILD_DIR:-build-bench-http}
if [ -n "${HELLO:-}" ]; then
    [ -x "$HELLO" ] || die "HELLO=$HELLO is not an executable"
    hello=$HELLO
else
    mkdir -p "$build_dir"
    if [ ! -f "$build_dir/build.ninja" ]; then
        meson setup "$build_dir" --buildtype=release -Db_ndebug=true -Dtests=false -Dbench=false \
            >"$build_dir/../$(basename "$build_dir").setup.log" 2>&1 ||
            die "meson setup $build_dir failed (see $(basename "$build_dir").setup.log)"
    fi
    ninja -C "$build_dir" >"$build_dir/bench-http.ninja.log" 2>&1 ||
        die "ninja -C $build_dir failed (see $build_dir/bench-http.ninja.log)"
    hello=""
    for c in "$build_dir/examples/hello" "$build_dir/examples/hello/hello"; do
        if [ -f "$c" ] && [ -x "$c" ]; then
            hello=$c
            break
        fi
    done
    if [ -z "$hello" ]; then
        # examples/meson.build does not build hello: link it by hand against
        # the static libraries, with the system libraries meson found.
        libs=$(PKG_CONFIG_PATH=$build_dir/meson-uninstalled pkg-config --static --libs-only-l zzz 2>/dev/null |
            tr ' ' '\n' | grep -vxE -- '-l(zzz|tardy)|' | sort -u | tr '\n' ' ') || libs="-luring"
        hello=$build_dir/hello-bench
        # shellcheck disable=SC2086 # $libs is a list of -l flags
        gcc -O2 -std=c17 -D_GNU_SOURCE -I tardy/include -I zzz/include examples/hello/main.c \
            "$build_dir/zzz/libzzz.a" "$build_dir/tardy/libtardy.a" $libs -pthread -o "$hello" \
            >"$build_dir/hello-bench.log" 2>&1 || die "linking hello failed (see $build_dir/hello-bench.log)"
    fi
fi
hello=$(readlink -f "$hello")

# ---------------------------------------------------------------- state, cleanup
tmp=$(mktemp -d /tmp/bench-http.XXXXXX)
chmod 755 "$tmp" # nginx workers and h2o drop to nobody and read the docroot
www=$tmp/www
mkdir -p "$www"
printf 'Hello, World!' >"$www/index.txt"
chmod 644 "$www/index.txt"
cp "$www/index.txt" "$tmp/expected"
pids=()

bench_traps

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fds=$(ulimit -n)
[ "$fds" -le 20480 ] || fds=20480
[ "$fds" -ge 10240 ] || note "only $(ulimit -n) file descriptors: the 10,000-connection capacity is not reachable"

# ---------------------------------------------------------------- servers
# name|what it serves
servers=(
    "zzz-io_uring|handler"
    "zzz-epoll|handler"
    "zzz-busy|handler"
    "nginx-return|return"
    "nginx-file|static file"
    "h2o-file|static file"
    "h2o-mruby|mruby handler"
    "lighttpd-file|static file"
)
port_base=${BENCH_PORT:-18480}

nginx_conf() { # dir port location-body
    cat >"$1/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile $fds;
user nobody nogroup;
pid $1/nginx.pid;
error_log $1/error.log warn;
events {
    worker_connections 10240;
    use epoll;
}
http {
    access_log off;
    server_tokens off;
    keepalive_timeout 60s;
    keepalive_requests 1000000;
    client_body_temp_path $1/client_body;
    proxy_temp_path $1/proxy;
    fastcgi_temp_path $1/fastcgi;
    uwsgi_temp_path $1/uwsgi;
    scgi_temp_path $1/scgi;
    types { text/plain txt; }
    default_type text/plain;
    sendfile on;
    tcp_nopush on;
    open_file_cache max=1000 inactive=60s;
    server {
        listen 127.0.0.1:$2 backlog=4096;
        $3
    }
}
EOF
}

h2o_conf() { # dir port path-body
    cat >"$1/h2o.conf" <<EOF
num-threads: 1
max-connections: 10000
error-log: $1/error.log
listen:
  host: 127.0.0.1
  port: $2
hosts:
  default:
    paths:
      /:
$3
EOF
}

# Starts server $1 on port $2; sets spid.
start_server() {
    local name=$1 port=$2 dir=$tmp/$1
    mkdir -p "$dir"
    local cmd=()
    case $name in
    zzz-*)
        cmd=(env TARDY_DRIVER="${name#zzz-}" "$hello" --port "$port" --threads 1 --conn-limit 10000)
        ;;
    nginx-return)
        nginx_conf "$dir" "$port" "location = / { return 200 'Hello, World!'; }"
        cmd=(nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log")
        ;;
    nginx-file)
        nginx_conf "$dir" "$port" "location / { root $www; index index.txt; }"
        cmd=(nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log")
        ;;
    h2o-file)
        h2o_conf "$dir" "$port" "        file.dir: $www
        file.index: ['index.txt']
        file.mime.settypes:
          text/plain: .txt"
        cmd=(h2o -c "$dir/h2o.conf")
        ;;
    h2o-mruby)
        h2o_conf "$dir" "$port" "        mruby.handler: |
          Proc.new do |env|
            [200, {\"content-type\" => \"text/plain\"}, [\"Hello, World!\"]]
          end"
        cmd=(h2o -c "$dir/h2o.conf")
        ;;
    lighttpd-file)
        cat >"$dir/lighttpd.conf" <<EOF
server.modules = ("mod_indexfile", "mod_staticfile")
server.document-root = "$www"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$dir/error.log"
server.event-handler = "linux-sysepoll"
server.max-worker = 0
server.max-fds = $fds
server.max-connections = $((fds / 2 < 10000 ? fds / 2 : 10000))
server.max-keep-alive-requests = 65535
server.max-keep-alive-idle = 60
server.listen-backlog = 4096
server.tag = "lighttpd"
index-file.names = ("index.txt")
mimetype.assign = (".txt" => "text/plain")
EOF
        cmd=(lighttpd -D -f "$dir/lighttpd.conf")
        ;;
    *) die "unknown server $name" ;;
    esac
    start_pinned "$name" "http://127.0.0.1:$port/" BENCH_PORT "$dir" "${cmd[@]}"
}

# Checks that the server answers GET / with exactly the 13-byte body, as
# text/plain, and keeps the connection open for a second request.
verify() {
    local name=$1 port=$2 url=http://127.0.0.1:$2/ got code ctype conns
    got=$(curl -sS --max-time 5 -o "$tmp/body" -w '%{http_code} %{content_type}' "$url") ||
        die "$name: curl $url failed"
    code=${got%% *}
    ctype=${got#* }
    [ "$code" = 200 ] || die "$name: GET / answered $code, not 200 (body: $(head -c 200 "$tmp/body"))"
    cmp -s "$tmp/body" "$tmp/expected" ||
        die "$name: GET / body is '$(head -c 200 "$tmp/body")' ($(wc -c <"$tmp/body") bytes), not 'Hello, World!'"
    case $ctype in text/plain*) ;; *) die "$name: Content-Type is '$ctype', not text/plain" ;; esac
    conns=$(curl -sS --max-time 5 -o /dev/null -o /dev/null -w '%{num_connects} ' "$url" "$url") ||
        die "$name: two requests on one connection failed"
    [ "$conns" = "1 0 " ] || die "$name: did not keep the connection alive (new connections per request: $conns)"
}

cpu0_busy() { local b; b=$(cpu_busy 0); echo "${b%% *}"; } # busy jiffies of CPU 0

hz=$(getconf CLK_TCK)
depth=16 # requests per write in the pipelined scenario
idle_counts=(1000 5000)
crowd=1000 # idle connections held open in the crowded scenario
# One file per scenario, one line per server and round:
#   keepalive, pipelined, crowded: name round rps ns_per_req rss_kib p99_ms errors proc_ns_per_req bg_cpu0 bg_cpu1
#   idle:                 name round rss_start rss_1000 hwm_1000 rss_5000 hwm_5000 bg_cpu0 bg_cpu1
results=$tmp/results

# Load scenario $1 (keepalive, pipelined or crowded) against the server.
measure() { # scenario name port round
    local sc=$1 name=$2 port=$3 round=$4 url=http://127.0.0.1:$3/ log=$tmp/$2/wrk-$1.$4.log
    local wrk_cmd=(taskset -c 1 wrk -t1 -c128)
    # Pipelined: wrk counts the requests of pipeline.lua's batch and then
    # reports responses (checked against nginx's access log), so its
    # requests figure needs no scaling. Its latency figures are not used:
    # wrk 4.1's coordinated-omission correction takes the interval between
    # responses for the interval between batches, and its percentiles can
    # then come out as 0 (samples added below the recorded minimum).
    [ "$sc" != pipelined ] || wrk_cmd+=(-s "$here/pipeline.lua")
    # Warm-up, once per server start: let the server grow its pools and the
    # page cache settle.
    if [ "$warm" = 0 ]; then
        PIPELINE_DEPTH=$depth timeout 30 "${wrk_cmd[@]}" -d1s "$url" >/dev/null 2>&1 || die "$name: wrk warm-up failed"
        warm=1
    fi
    local before after pbefore pafter
    pbefore=$(proc_cpu "$spid")
    before=$(cpu0_busy)
    PIPELINE_DEPTH=$depth timeout $((secs + 30)) "${wrk_cmd[@]}" -d"${secs}s" --latency "$url" >"$log" 2>&1 ||
        die "$name: wrk ($sc) failed: $(tail -5 "$log")"
    after=$(cpu0_busy)
    pafter=$(proc_cpu "$spid")
    local rss requests rps p99 errors non2xx
    rss=$(peak_rss_kib "$spid")
    requests=$(awk '/requests in/ { print $1; exit }' "$log")
    rps=$(awk '/^Requests\/sec:/ { print $2; exit }' "$log")
    p99=$(to_ms "$(awk '$1 == "99%" { print $2; exit }' "$log")")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF; exit }' "$log")
    errors=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10; exit }' "$log")
    if [ -z "$requests" ] || [ -z "$rps" ]; then die "$name: cannot read wrk's output: $(cat "$log")"; fi
    [ "$requests" -gt 0 ] || die "$name: wrk ($sc) completed no request"
    [ -z "$non2xx" ] || die "$name: $non2xx responses were not 2xx/3xx under load ($sc)"
    kill -0 "$spid" 2>/dev/null || die "$name: the server died under load ($sc)"
    local ns pns
    ns=$(awk -v j=$((after - before)) -v hz="$hz" -v n="$requests" 'BEGIN { printf "%.0f", j * 1e9 / hz / n }')
    pns=$(awk -v j=$((pafter - pbefore)) -v hz="$hz" -v n="$requests" 'BEGIN { printf "%.0f", j * 1e9 / hz / n }')
    echo "$name $round $rps $ns $rss $p99 ${errors:-0} $pns $bg" >>"$results.$sc"
    printf '  round %d  %-9s %-14s %8.0f req/s %7s ns/req (process %s) %6s KiB %7s ms p99, background %s%%%s\n' \
        "$round" "$sc" "$name" "$rps" "$ns" "$pns" "$rss" "$([ "$sc" = pipelined ] && echo - || printf '%.2f' "$p99")" "${bg// /%,}" \
        "$([ "${errors:-0}" = 0 ] || echo "  ($errors socket errors)")" >&2
}

# Crowded scenario: idle.py (on CPU 1) opens $crowd keep-alive connections,
# one GET / answered on each, and keeps them open and silent while wrk
# runs the keepalive load; then it closes them.
measure_crowded() { # name port round
    local name=$1 port=$2 round=$3 log=$tmp/$1/crowd.$3.log line
    coproc CROWD { exec taskset -c 1 python3 "$here/idle.py" "$port" "$crowd" 2>"$log"; }
    local ipid=$CROWD_PID in=${CROWD[0]} outfd=${CROWD[1]}
    if ! read -r -t 120 -u "$in" line || [ "$line" != "open $crowd" ]; then
        kill "$ipid" 2>/dev/null || true
        die "$name: idle.py did not open $crowd connections: $(tail -3 "$log")"
    fi
    measure crowded "$name" "$port" "$round"
    echo next >&"$outfd"
    wait "$ipid" || die "$name: idle.py failed after the crowded run (were its connections closed?): $(tail -3 "$log")"
    kill -0 "$spid" 2>/dev/null || die "$name: the server died after the crowded run"
}

# Idle scenario: idle.py (on CPU 1) opens 1,000 keep-alive connections,
# one GET / answered on each, keeps them open; we read the server's
# memory; it opens 4,000 more; we read it again; it closes them all.
measure_idle() { # name port round
    local name=$1 port=$2 round=$3 log=$tmp/$1/idle.$3.log line n rss0 vals=()
    rss0=$(rss_kib "$spid" VmRSS)
    coproc IDLE { exec taskset -c 1 python3 "$here/idle.py" "$port" "${idle_counts[@]}" 2>"$log"; }
    local ipid=$IDLE_PID in=${IDLE[0]} outfd=${IDLE[1]}
    for n in "${idle_counts[@]}"; do
        if ! read -r -t 120 -u "$in" line || [ "$line" != "open $n" ]; then
            kill "$ipid" 2>/dev/null || true
            die "$name: idle.py did not open $n connections: $(tail -3 "$log")"
        fi
        # Let the server finish its work for the last batch.
        sleep 0.2
        vals+=("$(rss_kib "$spid" VmRSS)" "$(rss_kib "$spid" VmHWM)")
        echo next >&"$outfd"
    done
    wait "$ipid" || die "$name: idle.py failed: $(tail -3 "$log")"
    kill -0 "$spid" 2>/dev/null || die "$name: the server died with idle connections"
    echo "$name $round $rss0 ${vals[*]} $bg" >>"$results.idle"
    printf '  round %d  idle      %-14s RSS %6s KiB at start, %6s KiB with %d connections, %6s KiB with %d (VmHWM %s), background %s%%\n' \
        "$round" "$name" "$rss0" "${vals[0]}" "${idle_counts[0]}" "${vals[2]}" "${idle_counts[1]}" "${vals[3]}" "${bg// /%,}" >&2
}

# Starts server $1 on port $2 (sets spid) and checks it, after sampling
# how busy CPUs 0 and 1 are (sets bg).
start_checked() {
    local name=$1 port=$2 line want
    bg=$(background)
    bg=${bg% }
    start_server "$name" "$port" || die "$name did not start"
    if [[ $name == zzz-* ]]; then
        line=$(head -1 "$tmp/$name/stdout.log")
        want=${name#zzz-}
        [[ $line == *"driver $want,"* ]] || die "$name: asked for driver $want, got: $line"
    fi
    verify "$name" "$port"
}

# ---------------------------------------------------------------- run
kernel=$(uname -r)
cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo "HTTP/1.1 GET / -> 13-byte 'Hello, World!'; server on CPU 0, client on CPU 1; scenarios: $scenarios"
selected keepalive && echo "keepalive: wrk -t1 -c128 -d${secs}s, one request at a time per connection"
selected pipelined && echo "pipelined: wrk -t1 -c128 -d${secs}s -s pipeline.lua, $depth requests per write per connection"
selected crowded && echo "crowded:   wrk -t1 -c128 -d${secs}s while idle.py holds $crowd more keep-alive connections open and silent"
selected idle && echo "idle:      ${idle_counts[0]} then ${idle_counts[1]} keep-alive connections opened by idle.py, one GET / answered on each, then idle"
echo "$rounds round(s), medians; $cpu_model, $(nproc) CPUs, Linux $kernel"
echo "zzz: $hello (1 thread); $(nginx -v 2>&1 | sed 's/.*: //'); h2o $(h2o -v | awk 'NR == 1 { print $3 }'); $(lighttpd -v 2>&1 | awk '{ print $1 }' | head -1); wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }')"
echo

for sc in $all_scenarios; do : >"$results.$sc"; done
n=${#servers[@]}
for ((r = 1; r <= rounds; r++)); do
    note "round $r/$rounds"
    # Take turns, and rotate who goes first so no server always follows the same one.
    for ((k = 0; k < n; k++)); do
        idx=$(((k + r - 1) % n))
        name=${servers[$idx]%%|*}
        port=$((port_base + idx))
        if selected keepalive || selected pipelined || selected crowded; then
            start_checked "$name" "$port"
            warm=0
            for sc in keepalive pipelined; do
                ! selected $sc || measure $sc "$name" "$port" "$r"
            done
            ! selected crowded || measure_crowded "$name" "$port" "$r"
            stop_server "$spid"
        fi
        if selected idle; then
            # A fresh server: memory after a load run says more about the
            # load than about idle connections.
            start_checked "$name" "$port"
            measure_idle "$name" "$port" "$r"
            stop_server "$spid"
        fi
    done
done

# ---------------------------------------------------------------- report
col() { awk -v n="$1" -v c="$2" '$1 == n { print $c }' "$results.$sc" | median; }
rounds_of() { awk -v n="$1" -v c="$2" '$1 == n { printf "%s%s", (k++ ? "," : ""), $c }' "$results.$sc"; }
declare -A serves med best
for s in "${servers[@]}"; do serves[${s%%|*}]=${s#*|}; done
best_of() { # metric direction(>|<): the best peer by the median of that metric in this scenario
    local b="" name
    for s in "${servers[@]}"; do
        name=${s%%|*}
        [[ $name == zzz-* ]] && continue
        if [ -z "$b" ] || awk -v a="${med[$sc.$name.$1]}" -v b="${med[$sc.$b.$1]}" "BEGIN { exit !(a $2 b) }"; then b=$name; fi
    done
    echo "$b"
}

# Long CSV: one row per scenario, server and metric, with its median, its
# ratio to the best peer (for the compared metrics) and every round's value.
csv=$tmp/results.csv
{
    printf 'scenario,server,serves,metric,median,ratio_to_best_peer,best_peer'
    for ((r = 1; r <= rounds; r++)); do printf ',round_%d' "$r"; done
    echo
} >"$csv"
# scenario-metric list: "metric|column|direction (> higher is better, < lower, - not compared)"
wrk_metrics=("req_per_s|3|>" "ns_per_req|4|<" "proc_ns_per_req|8|<" "peak_rss_kib|5|<" "p99_ms|6|-"
    "socket_errors|7|-" "background_cpu0_pct|9|-" "background_cpu1_pct|10|-")
idle_metrics=("rss_kib_start|3|<" "rss_kib_${idle_counts[0]}|4|<" "hwm_kib_${idle_counts[0]}|5|-"
    "rss_kib_${idle_counts[1]}|6|<" "hwm_kib_${idle_counts[1]}|7|<" "background_cpu0_pct|8|-" "background_cpu1_pct|9|-")
collect() { # sc metrics...: medians, best peers, CSV rows
    local m metric c dir name rt
    for m in "$@"; do
        [ -n "$m" ] || continue
        IFS='|' read -r metric c dir <<<"$m"
        for s in "${servers[@]}"; do
            name=${s%%|*}
            med[$sc.$name.$metric]=$(col "$name" "$c")
        done
        best[$sc.$metric]=""
        [ "$dir" = - ] || best[$sc.$metric]=$(best_of "$metric" "$dir")
        for s in "${servers[@]}"; do
            name=${s%%|*}
            rt=""
            [ "$dir" = - ] || rt=$(ratio "${med[$sc.$name.$metric]}" "${med[$sc.${best[$sc.$metric]}.$metric]}")
            echo "$sc,$name,${serves[$name]},$metric,${med[$sc.$name.$metric]},$rt,${best[$sc.$metric]},$(rounds_of "$name" "$c")" >>"$csv"
        done
    done
}

wrk_table() { # scenario title
    local name rr rn rp rm_ p99
    echo "== $2"
    printf '%-14s %-13s %9s %8s %8s %8s %7s   %6s %7s %7s %6s\n' server serves 'req/s' 'ns/req' 'proc ns' \
        'RSS KiB' 'p99 ms' 'req/s÷' 'ns/req÷' 'proc÷' 'RSS÷'
    for s in "${servers[@]}"; do
        name=${s%%|*}
        rr=$(ratio "${med[$sc.$name.req_per_s]}" "${med[$sc.${best[$sc.req_per_s]}.req_per_s]}")
        rn=$(ratio "${med[$sc.$name.ns_per_req]}" "${med[$sc.${best[$sc.ns_per_req]}.ns_per_req]}")
        rp=$(ratio "${med[$sc.$name.proc_ns_per_req]}" "${med[$sc.${best[$sc.proc_ns_per_req]}.proc_ns_per_req]}")
        rm_=$(ratio "${med[$sc.$name.peak_rss_kib]}" "${med[$sc.${best[$sc.peak_rss_kib]}.peak_rss_kib]}")
        p99=-
        [ "$sc" = pipelined ] || p99=$(printf '%.2f' "${med[$sc.$name.p99_ms]}")
        printf '%-14s %-13s %9.0f %8.0f %8.0f %8.0f %7s   %6s %7s %7s %6s\n' "$name" "${serves[$name]}" \
            "${med[$sc.$name.req_per_s]}" "${med[$sc.$name.ns_per_req]}" "${med[$sc.$name.proc_ns_per_req]}" \
            "${med[$sc.$name.peak_rss_kib]}" "$p99" "$rr" "$rn" "$rp" "$rm_"
    done
    echo "÷: ratio to the best peer in that column (req/s ${best[$sc.req_per_s]}, ns/req ${best[$sc.ns_per_req]}, proc ${best[$sc.proc_ns_per_req]}, RSS ${best[$sc.peak_rss_kib]})"
    echo
}

a=${idle_counts[0]}
b=${idle_counts[1]}
for sc in $scenarios; do
    case $sc in
    keepalive)
        collect "${wrk_metrics[@]}"
        wrk_table keepalive "keep-alive: wrk -t1 -c128, one request at a time per connection"
        ;;
    crowded)
        collect "${wrk_metrics[@]}"
        wrk_table crowded "crowded: wrk -t1 -c128 while $crowd more keep-alive connections stay open and idle"
        ;;
    pipelined)
        collect "${wrk_metrics[@]/p99_ms|6|-/}"
        wrk_table pipelined "pipelined: wrk -t1 -c128, $depth requests per write (req/s counts responses; no p99: see README)"
        ;;
    idle)
        collect "${idle_metrics[@]}"
        echo "== idle: RSS (VmRSS, KiB, summed over the server's processes) with N open keep-alive connections"
        printf '%-14s %-13s %8s %8s %8s %9s %8s   %6s %6s\n' server serves start "$a conns" "$b conns" \
            "HWM $b" "B/conn" "$a÷" "$b÷"
        for s in "${servers[@]}"; do
            name=${s%%|*}
            printf '%-14s %-13s %8.0f %8.0f %8.0f %9.0f %8.0f   %6s %6s\n' "$name" "${serves[$name]}" \
                "${med[$sc.$name.rss_kib_start]}" "${med[$sc.$name.rss_kib_$a]}" "${med[$sc.$name.rss_kib_$b]}" \
                "${med[$sc.$name.hwm_kib_$b]}" \
                "$(awk -v x="${med[$sc.$name.rss_kib_$a]}" -v y="${med[$sc.$name.rss_kib_$b]}" -v n=$((b - a)) 'BEGIN { print (y - x) * 1024 / n }')" \
                "$(ratio "${med[$sc.$name.rss_kib_$a]}" "${med[$sc.${best[$sc.rss_kib_$a]}.rss_kib_$a]}")" \
                "$(ratio "${med[$sc.$name.rss_kib_$b]}" "${med[$sc.${best[$sc.rss_kib_$b]}.rss_kib_$b]}")"
        done
        echo "÷: ratio to the leanest peer (at $a: ${best[$sc.rss_kib_$a]}, at $b: ${best[$sc.rss_kib_$b]}); B/conn: (RSS at $b - RSS at $a) ÷ $((b - a)) connections."
        echo
        ;;
    esac
done
cat <<EOF
ns/req:  busy time of CPU 0 (user+nice+system+irq+softirq in /proc/stat; not steal) during the run
         ÷ requests served: the server plus the kernel's work for it on that CPU.
proc ns: the server's own CPU time (utime+stime of its processes) ÷ requests served.
RSS:     peak resident set (VmHWM) at the end of the load runs; idle: VmRSS with the connections open
         (a fresh server); both summed over the server's processes (nginx: master + worker).
nginx-file, h2o-file and lighttpd-file serve GET / as a static 13-byte file (index.txt) from a
docroot; nginx-return answers from its config, h2o-mruby from an mruby handler, zzz from C.
EOF
errs=$(for sc in keepalive pipelined crowded; do awk -v sc=$sc '$7 > 0 { print $1 " " sc " round " $2 ": " $7 }' "$results.$sc"; done)
[ -z "$errs" ] || { echo "socket errors (wrk):"; echo "  ${errs//$'\n'/$'\n'  }"; }
# Other work on CPU 0 or 1 inflates ns/req and deflates req/s: say so.
noisy=$({
    awk '{ print $9, $10 }' "$results.keepalive" "$results.pipelined" "$results.crowded"
    awk '{ print $8, $9 }' "$results.idle"
} | awk '$1 > 5 || $2 > 5 { n++; if ($1 > m0) m0 = $1; if ($2 > m1) m1 = $2 }
    END { if (n) printf "%d of %d runs, up to %d%% of CPU 0 and %d%% of CPU 1", n, NR, m0, m1 }')
if [ -n "$noisy" ]; then
    echo "WARNING: the machine was not quiet: before $noisy were busy with"
    echo "         other processes; the figures are noisy (proc ns is the least affected)."
fi

if [ -n "$out_csv" ]; then
    cp "$csv" "$out_csv"
    note "wrote $out_csv"
fi

# ---------------------------------------------------------------- charts
# --charts DIR: DIR/results.csv and one PNG per scenario run, from the medians.
bar_chart() { # png title ylabel data-file series-titles...
    local png=$1 title=$2 ylabel=$3 data=$4 i t plot=""
    shift 4
    for ((i = 1; i <= $#; i++)); do
        t=${!i}
        plot+="${plot:+, }'$data' using $((i + 1)):xtic(1) title '$t'"
    done
    gnuplot <<EOF || die "gnuplot failed on $png"
set terminal pngcairo noenhanced size 1000,560 font 'sans,10'
set output '$png'
set title "$title"
set ylabel "$ylabel"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set yrange [0:*]
set key outside top center horizontal
set xtics rotate by -30 scale 0
plot $plot
EOF
    [ -s "$png" ] || die "gnuplot wrote no $png"
}
if [ -n "$charts" ]; then
    mkdir -p "$charts"
    cp "$csv" "$charts/results.csv"
    for sc in $scenarios; do
        data=$tmp/chart-$sc.dat
        : >"$data"
        for s in "${servers[@]}"; do
            name=${s%%|*}
            case $sc in
            idle) echo "$name ${med[$sc.$name.rss_kib_$a]} ${med[$sc.$name.rss_kib_$b]}" >>"$data" ;;
            *) echo "$name ${med[$sc.$name.ns_per_req]} ${med[$sc.$name.proc_ns_per_req]}" >>"$data" ;;
            esac
        done
        case $sc in
        keepalive)
            bar_chart "$charts/keepalive.png" "keep-alive: CPU time per request (wrk -t1 -c128; lower is better)" \
                "ns per request" "$data" "CPU 0 busy ns/req" "server process ns/req"
            ;;
        crowded)
            bar_chart "$charts/crowded.png" "keep-alive with $crowd idle connections open: CPU time per request (lower is better)" \
                "ns per request" "$data" "CPU 0 busy ns/req" "server process ns/req"
            ;;
        pipelined)
            bar_chart "$charts/pipelined.png" "pipelined, $depth requests per write: CPU time per request (lower is better)" \
                "ns per request" "$data" "CPU 0 busy ns/req" "server process ns/req"
            ;;
        idle)
            bar_chart "$charts/idle-memory.png" "memory with idle keep-alive connections (VmRSS; lower is better)" \
                "RSS KiB" "$data" "$a connections" "$b connections"
            ;;
        esac
    done
    note "wrote $charts/results.csv and charts for: $scenarios"
fi
