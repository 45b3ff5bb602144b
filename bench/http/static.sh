#!/usr/bin/env bash
# Static-file benchmark: zzz's fs example (io_uring and epoll drivers)
# against nginx, h2o and lighttpd serving the same three generated files
# from the same directory, in one run on this machine. Each server runs
# alone, pinned to CPU 0, while the client runs on CPU 1. Three loads:
#   small   GET /1k.bin   (1 KiB),   wrk -t1 -c64 keep-alive
#   medium  GET /64k.bin  (64 KiB),  wrk -t1 -c64 keep-alive
#   large   GET /100m.bin (100 MiB), curl fetching the file again and
#           again over one connection, into /dev/null
# Reports requests/s and CPU time per request (small, medium), MB/s and
# CPU time per MiB (large), and each server's peak RSS; medians over the
# rounds, with ratios to the best peer. See bench/http/README.md.
#
#   bench/http/static.sh                  10 s per load, 3 rounds (~9 minutes)
#   bench/http/static.sh --quick          2 s per load, 1 round (~1 minute)
#   bench/http/static.sh --out FILE.csv   also write the figures as CSV
#   bench/http/static.sh --secs N --rounds N
#
# Missing tools (wrk, curl) are installed with apt-get, which needs root; so
# are the peers (nginx-light, h2o, lighttpd), and a peer that cannot be
# installed is left out of the run with a message. Environment:
# FS=path uses that fs binary instead of building one (the header says
# what it links: shared libraries or static archives);
# BENCH_BUILD_DIR (default build-bench-static) is where it is built, with
# -Dstatic_deps=true (the third-party libraries from their archives);
# BENCH_STATIC_PORT (default 18680) is the first of the 127.0.0.1 ports used;
# BENCH_KEEP=1 keeps the temp dir of files, configs and logs.
set -euo pipefail
self=$(readlink -f "$0")
here=$(dirname "$self")
cd "$here/../.."
bench_name=bench-static
# shellcheck source=bench/http/lib.sh
. "$here/lib.sh"

while [ $# -gt 0 ]; do
    bench_opt "$@"
    [ "$bench_shift" -gt 0 ] || usage_error "unknown argument '$1' (try --help)"
    shift "$bench_shift"
done
bench_opts_done

[ "$(nproc)" -ge 2 ] || die "needs two CPUs: the server runs on CPU 0, wrk on CPU 1"
export PATH=$PATH:/usr/sbin:/sbin

# ---------------------------------------------------------------- tools
missing=()
have wrk || missing+=(wrk)
have curl || missing+=(curl)
have taskset || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}"
    for t in wrk curl taskset; do have $t || die "$t still missing after apt-get"; done
fi
# The peers, each on its own: one that cannot be installed is skipped,
# the others still run.
peers=()
for p in nginx h2o lighttpd; do
    if ! have $p; then
        if [ "$(id -u)" -ne 0 ]; then
            note "SKIP $p: not installed, and installing it with apt-get needs root"
            continue
        fi
        if ! (apt_install $p) 2>"/tmp/bench-static.apt.$$.log" || ! have $p; then
            note "SKIP $p: apt-get could not install it ($(tail -1 "/tmp/bench-static.apt.$$.log" 2>/dev/null | sed 's/^.*FAIL: //'))"
            rm -f "/tmp/bench-static.apt.$$.log"
            continue
        fi
        rm -f "/tmp/bench-static.apt.$$.log"
    fi
    peers+=("$p")
done
[ ${#peers[@]} -gt 0 ] || die "no peer could be installed: nothing to compare zzz with"

# ---------------------------------------------------------------- zzz fs
build_dir=${BENCH_BUILD_DIR:-build-bench-static}
if [ -n "${FS:-}" ]; then
    [ -x "$FS" ] || die "FS=$FS is not an executable"
    fs_bin=$FS
else
    mkdir -p "$build_dir"
    # The archives of BearSSL, Nettle, GMP, liburing, zlib and brotli: the
    # loader then maps none of them, and RSS is what fs uses (README.md,
    # option static_deps); a build dir made without the option is switched.
    setup_log=$build_dir/../$(basename "$build_dir").setup.log
    if [ ! -f "$build_dir/build.ninja" ]; then
        meson setup "$build_dir" --buildtype=release -Db_ndebug=true -Dtests=false -Dbench=false \
            -Dstatic_deps=true >"$setup_log" 2>&1 ||
            die "meson setup $build_dir failed (see $(basename "$build_dir").setup.log)"
    else
        meson configure "$build_dir" -Dstatic_deps=true >"$setup_log" 2>&1 ||
            die "meson configure $build_dir -Dstatic_deps=true failed (see $(basename "$build_dir").setup.log)"
    fi
    ninja -C "$build_dir" >"$build_dir/bench-static.ninja.log" 2>&1 ||
        die "ninja -C $build_dir failed (see $build_dir/bench-static.ninja.log)"
    fs_bin=$build_dir/examples/fs
    [ -x "$fs_bin" ] || die "$fs_bin was not built"
fi
fs_bin=$(readlink -f "$fs_bin")
# What the RSS figures include: the shared libraries of these the loader
# maps (and relocates) at start, whether the program uses them or not.
fs_shared=$(ldd "$fs_bin" | grep -oE '\blib(bearssl|nettle|hogweed|gmp|uring|z|brotli[a-z]*)\.so' |
    sed 's/\.so$//' | sort -u | tr '\n' ' ' | sed 's/ $//') || true
if [ -n "$fs_shared" ]; then
    fs_linking="shared third-party libraries: $fs_shared"
else
    fs_linking="static archives, ldd lists no BearSSL, Nettle, GMP, liburing, zlib or brotli"
fi

# ---------------------------------------------------------------- state, cleanup
tmp=$(mktemp -d /tmp/bench-static.XXXXXX)
chmod 755 "$tmp" # nginx workers and h2o drop to nobody and read the docroot
pids=()

bench_traps

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
conns=1024 # every server's connection capacity; the loads use at most 65

# The files: random bytes (nothing gains from compression), readable by
# nobody. Names carry the size; .bin is application/octet-stream for all.
www=$tmp/www
mkdir -p "$www"
loads=(small medium large)
declare -A file size
file[small]=1k.bin
size[small]=1024
file[medium]=64k.bin
size[medium]=65536
file[large]=100m.bin
size[large]=104857600
for l in "${loads[@]}"; do
    head -c "${size[$l]}" /dev/urandom >"$www/${file[$l]}" || die "cannot write $www/${file[$l]}"
    chmod 644 "$www/${file[$l]}"
done
chmod 755 "$www"

# ---------------------------------------------------------------- servers
servers=(zzz-io_uring zzz-epoll "${peers[@]}")
port_base=${BENCH_STATIC_PORT:-18680}
declare -A port_of
for ((i = 0; i < ${#servers[@]}; i++)); do port_of[${servers[$i]}]=$((port_base + i)); done

# Starts server $1 on port $2; sets spid.
start_server() {
    local name=$1 port=$2 dir=$tmp/$1
    mkdir -p "$dir"
    local cmd=()
    case $name in
    zzz-*)
        cmd=(env TARDY_DRIVER="${name#zzz-}" "$fs_bin" --root "$www" --host 127.0.0.1 --port "$port"
            --threads 1 --conn-limit "$conns")
        ;;
    nginx)
        # Each server as it comes: nginx without open_file_cache (its
        # default), zzz with its small-file cache (its default).
        cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
user nobody nogroup;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
    worker_connections $conns;
    use epoll;
}
http {
    access_log off;
    server_tokens off;
    keepalive_timeout 60s;
    keepalive_requests 1000000;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    types { application/octet-stream bin; }
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    server {
        listen 127.0.0.1:$port backlog=4096;
        root $www;
    }
}
EOF
        cmd=(nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log")
        ;;
    h2o)
        cat >"$dir/h2o.conf" <<EOF
num-threads: 1
max-connections: $conns
error-log: $dir/error.log
listen:
  host: 127.0.0.1
  port: $port
hosts:
  default:
    paths:
      /:
        file.dir: $www
        file.mime.settypes:
          application/octet-stream: .bin
EOF
        cmd=(h2o -c "$dir/h2o.conf")
        ;;
    lighttpd)
        cat >"$dir/lighttpd.conf" <<EOF
server.modules = ("mod_staticfile")
server.document-root = "$www"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$dir/error.log"
server.event-handler = "linux-sysepoll"
server.max-worker = 0
server.max-fds = $((conns * 2 + 64))
server.max-connections = $conns
server.max-keep-alive-requests = 65535
server.max-keep-alive-idle = 60
server.listen-backlog = 4096
mimetype.assign = (".bin" => "application/octet-stream")
EOF
        cmd=(lighttpd -D -f "$dir/lighttpd.conf")
        ;;
    *) die "unknown server $name" ;;
    esac
    start_pinned "$name" "http://127.0.0.1:$port/${file[small]}" BENCH_STATIC_PORT "$dir" "${cmd[@]}"
}

# Checks that the server answers each file with 200, a Content-Length equal
# to the file's size and exactly its bytes, and keeps the connection open
# for a second request.
verify() {
    local name=$1 port=$2 l url got code n clen conns
    for l in "${loads[@]}"; do
        url=http://127.0.0.1:$port/${file[$l]}
        got=$(curl -sS --max-time 30 -o "$tmp/body" -D "$tmp/head" -w '%{http_code} %{size_download}' "$url") ||
            die "$name: curl $url failed"
        code=${got%% *}
        n=${got#* }
        clen=$(tr -d '\r' <"$tmp/head" | awk -F': *' 'tolower($1) == "content-length" { print $2 }')
        [ "$code" = 200 ] || die "$name: GET /${file[$l]} answered $code, not 200"
        [ "$clen" = "${size[$l]}" ] ||
            die "$name: GET /${file[$l]}: Content-Length is '$clen', not ${size[$l]}"
        [ "$n" = "${size[$l]}" ] || die "$name: GET /${file[$l]}: $n bytes received, not ${size[$l]}"
        cmp -s "$tmp/body" "$www/${file[$l]}" || die "$name: GET /${file[$l]}: the body differs from the file"
    done
    rm -f "$tmp/body"
    url=http://127.0.0.1:$port/${file[small]}
    conns=$(curl -sS --max-time 5 -o /dev/null -o /dev/null -w '%{num_connects} ' "$url" "$url") ||
        die "$name: two requests on one connection failed"
    [ "$conns" = "1 0 " ] || die "$name: did not keep the connection alive (new connections per request: $conns)"
}

per() { # jiffies count -> ns per item
    awk -v j="$1" -v hz="$hz" -v n="$2" 'BEGIN { printf "%.0f", (n > 0 ? j * 1e9 / hz / n : 0) }'
}

hz=$(getconf CLK_TCK)
mib=1048576
# One file per load, one line per server and round:
#   small, medium: name round req_per_s cpu0_ns_per_req proc_ns_per_req p99_ms socket_errors bg0 bg1
#   large:         name round mb_per_s cpu0_ns_per_mib proc_ns_per_mib cpu1_pct socket_errors bg0 bg1
#                  cpu1_ns_per_mib tcp_segs_per_mib
#   rss:           name round peak_rss_kib
results=$tmp/results

# A curl config fetching the large file $2 times over one connection, into
# /dev/null, one line of figures per fetch: code, bytes, new connections.
# curl rather than wrk: wrk reads 8 KiB at a time and saturates CPU 1 at
# about half the rate curl (100 KiB reads) reaches on the same server.
large_config() { # port count
    local i
    for ((i = 0; i < $2; i++)); do printf 'url = "http://127.0.0.1:%s/%s"\noutput = "/dev/null"\n' "$1" "${file[large]}"; done
}
large_fetch() { # port count log [timeout s]
    large_config "$1" "$2" >"$tmp/large.curl"
    timeout "${4:-$((secs * 5 + 60))}" taskset -c 1 curl -s -K "$tmp/large.curl" \
        -w '%{http_code} %{size_download} %{num_connects}\n' >"$3" 2>&1
}

# TCP segments sent so far by every connection of this network namespace
# (Tcp OutSegs in /proc/net/snmp, retransmissions included): both ends of
# the loopback connection under test, and anything else running.
tcp_segs() {
    awk '$1 == "Tcp:" { if (!h) { for (i = 2; i <= NF; i++) if ($i == "OutSegs") c = i; h = 1 } else { print $c; exit } }' /proc/net/snmp
}

# Runs the client (pinned to CPU 1) for load $1, sampling CPUs 0 and 1 and
# the server's own CPU time around it.
measure() { # load name port round
    local l=$1 name=$2 port=$3 round=$4 url=http://127.0.0.1:$3/${file[$1]} log=$tmp/$2/client-$1.$4.log
    local a0 a1 b0 b1 pa pb t0 t1 g0 g1 count=0 rc=0
    if [ "$l" = large ]; then
        # How many fetches take about $secs s, from the time 3 take (which
        # also warms this path up).
        t0=$(date +%s%N)
        large_fetch "$port" 3 "$log" $((secs * 5 + 60)) || die "$name: curl failed on ${file[large]}: $(tail -3 "$log")"
        t1=$(date +%s%N)
        count=$(awk -v s="$secs" -v ns=$((t1 - t0)) 'BEGIN { n = int(3 * s * 1e9 / ns + 0.5); print (n < 2 ? 2 : n) }')
    fi
    pa=$(proc_cpu "$spid")
    a0=$(cpu_busy 0)
    a1=$(cpu_busy 1)
    g0=$(tcp_segs)
    t0=$(date +%s%N)
    if [ "$l" = large ]; then
        large_fetch "$port" "$count" "$log" || rc=$?
    else
        timeout $((secs + 60)) taskset -c 1 wrk -t1 -c64 -d"${secs}s" --latency "$url" >"$log" 2>&1 || rc=$?
    fi
    t1=$(date +%s%N)
    g1=$(tcp_segs)
    b0=$(cpu_busy 0)
    b1=$(cpu_busy 1)
    pb=$(proc_cpu "$spid")
    [ "$rc" = 0 ] || die "$name: the client failed ($l, exit $rc): $(tail -5 "$log")"
    kill -0 "$spid" 2>/dev/null || die "$name: the server died under load ($l)"
    local d0=$((${b0% *} - ${a0% *})) dp=$((pb - pa)) cpu1 errors
    cpu1=$(share "$a1" "$b1")
    if [ "$l" = large ]; then
        local bad mbps nsm pnsm mibs nsm1 segs
        # Every fetch a 200 of the whole file, all on the first connection.
        bad=$(awk -v n="${size[large]}" '$1 != 200 || $2 != n || (NR > 1 && $3 != 0) { k++ } END { print k + 0 }' "$log")
        [ "$bad" = 0 ] || die "$name: $bad of $count fetches of ${file[large]} were short, not 200 or on a new connection"
        [ "$(wc -l <"$log")" = "$count" ] || die "$name: curl made $(wc -l <"$log") of $count fetches"
        errors=0
        mibs=$(awk -v n="$count" -v s="${size[large]}" -v m=$mib 'BEGIN { print n * s / m }')
        mbps=$(awk -v n="$count" -v s="${size[large]}" -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", n * s / 1e6 / (ns / 1e9) }')
        nsm=$(per "$d0" "$mibs")
        pnsm=$(per "$dp" "$mibs")
        nsm1=$(per $((${b1% *} - ${a1% *})) "$mibs")
        segs=$(awk -v n=$((g1 - g0)) -v m="$mibs" 'BEGIN { printf "%.0f", n / m }')
        echo "$name $round $mbps $nsm $pnsm $cpu1 $errors $bg $nsm1 $segs" >>"$results.$l"
        printf '  round %d  %-6s %-13s %8s MB/s %8s ns/MiB (process %s) CPU1 %s%% %s ns/MiB, %s segments/MiB, %s fetches in %.1f s, background %s%%\n' \
            "$round" "$l" "$name" "$mbps" "$nsm" "$pnsm" "$cpu1" "$nsm1" "$segs" "$count" \
            "$(awk -v ns=$((t1 - t0)) 'BEGIN { print ns / 1e9 }')" "${bg// /%,}" >&2
    else
        local requests rps p99 non2xx ns pns
        requests=$(awk '/requests in/ { print $1; exit }' "$log")
        rps=$(awk '/^Requests\/sec:/ { print $2; exit }' "$log")
        non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF; exit }' "$log")
        errors=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10; exit }' "$log")
        errors=${errors:-0}
        if [ -z "$requests" ] || [ -z "$rps" ]; then die "$name: cannot read wrk's output: $(cat "$log")"; fi
        [ "$requests" -gt 0 ] || die "$name: wrk ($l) completed no request"
        [ -z "$non2xx" ] || die "$name: $non2xx responses were not 2xx/3xx under load ($l)"
        ns=$(per "$d0" "$requests")
        pns=$(per "$dp" "$requests")
        p99=$(to_ms "$(awk '$1 == "99%" { print $2; exit }' "$log")")
        echo "$name $round $rps $ns $pns $p99 $errors $bg" >>"$results.$l"
        printf '  round %d  %-6s %-13s %8.0f req/s %7s ns/req (process %s) %6.2f ms p99, background %s%%%s\n' \
            "$round" "$l" "$name" "$rps" "$ns" "$pns" "$p99" "${bg// /%,}" \
            "$([ "$errors" = 0 ] || echo "  ($errors socket errors)")" >&2
    fi
}

# ---------------------------------------------------------------- run
kernel=$(uname -r)
cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
versions="zzz fs: $fs_bin (1 thread; linked with $fs_linking)"
for p in "${peers[@]}"; do
    case $p in
    nginx) versions+="; $(nginx -v 2>&1 | sed 's/.*: //')" ;;
    h2o) versions+="; h2o $(h2o -v | awk 'NR == 1 { print $3 }')" ;;
    lighttpd) versions+="; $(lighttpd -v 2>&1 | awk '{ print $1 }' | head -1)" ;;
    esac
done
echo "Static files over HTTP/1.1 from one directory; server on CPU 0, client on CPU 1"
echo "small:  GET /${file[small]} (1 KiB), wrk -t1 -c64 -d${secs}s keep-alive"
echo "medium: GET /${file[medium]} (64 KiB), wrk -t1 -c64 -d${secs}s keep-alive"
echo "large:  GET /${file[large]} (100 MiB), curl over one connection, the file again and again for about ${secs} s"
echo "$rounds round(s), medians; $cpu_model, $(nproc) CPUs, Linux $kernel"
echo "$versions; wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }'); curl $(curl -V | awk 'NR == 1 { print $2 }')"
echo

for l in "${loads[@]}" rss; do : >"$results.$l"; done
n=${#servers[@]}
for ((r = 1; r <= rounds; r++)); do
    note "round $r/$rounds"
    # Take turns, and rotate who goes first.
    for ((k = 0; k < n; k++)); do
        name=${servers[$(((k + r - 1) % n))]}
        port=${port_of[$name]}
        bg=$(background)
        start_server "$name" "$port" || die "$name did not start"
        if [[ $name == zzz-* ]]; then
            line=$(head -1 "$tmp/$name/stdout.log")
            want=${name#zzz-}
            [[ $line == *"driver $want,"* ]] || die "$name: asked for driver $want, got: $line"
        fi
        verify "$name" "$port"
        # Warm-up: the server grows its pools, the files are in the page cache.
        timeout 30 taskset -c 1 wrk -t1 -c64 -d1s "http://127.0.0.1:$port/${file[small]}" >/dev/null 2>&1 ||
            die "$name: wrk warm-up failed"
        for l in "${loads[@]}"; do measure "$l" "$name" "$port" "$r"; done
        echo "$name $r $(peak_rss_kib "$spid")" >>"$results.rss"
        stop_server "$spid"
    done
done

# ---------------------------------------------------------------- report
col() { awk -v n="$1" -v c="$2" '$1 == n { print $c }' "$results.$3" | median; }
rounds_of() { awk -v n="$1" -v c="$2" '$1 == n { printf "%s%s", (k++ ? "," : ""), $c }' "$results.$3"; }
declare -A med best
best_of() { # load metric direction(>|<): the best peer by median
    local b="" p
    for p in "${peers[@]}"; do
        if [ -z "$b" ] || awk -v a="${med[$1.$p.$2]}" -v b="${med[$1.$b.$2]}" "BEGIN { exit !(a $3 b) }"; then b=$p; fi
    done
    echo "$b"
}
rt() { ratio "${med[$1.$2.$3]}" "${med[$1.${best[$1.$3]}.$3]}"; } # load server metric

csv=$tmp/results.csv
{
    printf 'load,server,metric,median,ratio_to_best_peer,best_peer'
    for ((r = 1; r <= rounds; r++)); do printf ',round_%d' "$r"; done
    echo
} >"$csv"
# "metric|column|direction (> higher is better, < lower, - not compared)"
rate_metrics=("req_per_s|3|>" "cpu0_ns_per_req|4|<" "proc_ns_per_req|5|<" "p99_ms|6|-" "socket_errors|7|-"
    "background_cpu0_pct|8|-" "background_cpu1_pct|9|-")
large_metrics=("mb_per_s|3|>" "cpu0_ns_per_mib|4|<" "proc_ns_per_mib|5|<" "client_cpu1_pct|6|-" "socket_errors|7|-"
    "background_cpu0_pct|8|-" "background_cpu1_pct|9|-" "client_cpu1_ns_per_mib|10|-" "tcp_segs_per_mib|11|-")
rss_metrics=("peak_rss_kib|3|<")
collect() { # load metrics...: medians, best peers, CSV rows
    local l=$1 m metric c dir s rr
    shift
    for m in "$@"; do
        IFS='|' read -r metric c dir <<<"$m"
        for s in "${servers[@]}"; do med[$l.$s.$metric]=$(col "$s" "$c" "$l"); done
        best[$l.$metric]=""
        [ "$dir" = - ] || best[$l.$metric]=$(best_of "$l" "$metric" "$dir")
        for s in "${servers[@]}"; do
            rr=""
            [ "$dir" = - ] || rr=$(rt "$l" "$s" "$metric")
            echo "$l,$s,$metric,${med[$l.$s.$metric]},$rr,${best[$l.$metric]},$(rounds_of "$s" "$c" "$l")" >>"$csv"
        done
    done
}
collect small "${rate_metrics[@]}"
collect medium "${rate_metrics[@]}"
collect large "${large_metrics[@]}"
collect rss "${rss_metrics[@]}"

for l in small medium; do
    case $l in
    small) echo "== small: GET /${file[small]} (1 KiB), keep-alive, wrk -t1 -c64" ;;
    medium) echo "== medium: GET /${file[medium]} (64 KiB), keep-alive, wrk -t1 -c64" ;;
    esac
    printf '%-13s %9s %9s %9s %7s   %6s %7s %7s\n' server 'req/s' 'CPU0 ns' 'proc ns' 'p99 ms' 'req/s÷' 'CPU0÷' 'proc÷'
    for s in "${servers[@]}"; do
        printf '%-13s %9.0f %9.0f %9.0f %7.2f   %6s %7s %7s\n' "$s" "${med[$l.$s.req_per_s]}" \
            "${med[$l.$s.cpu0_ns_per_req]}" "${med[$l.$s.proc_ns_per_req]}" "${med[$l.$s.p99_ms]}" \
            "$(rt $l "$s" req_per_s)" "$(rt $l "$s" cpu0_ns_per_req)" "$(rt $l "$s" proc_ns_per_req)"
    done
    echo "÷: ratio to the best peer (req/s ${best[$l.req_per_s]}, CPU0 ${best[$l.cpu0_ns_per_req]}, proc ${best[$l.proc_ns_per_req]}); ns are per request"
    echo
done
echo "== large: GET /${file[large]} (100 MiB) over one connection, again and again, curl into /dev/null"
printf '%-13s %9s %9s %9s %7s %9s %6s   %6s %7s %7s\n' server 'MB/s' 'CPU0 ns' 'proc ns' 'CPU1 %' 'CPU1 ns' 'segs' 'MB/s÷' 'CPU0÷' 'proc÷'
for s in "${servers[@]}"; do
    printf '%-13s %9.0f %9.0f %9.0f %7.0f %9.0f %6.0f   %6s %7s %7s\n' "$s" "${med[large.$s.mb_per_s]}" \
        "${med[large.$s.cpu0_ns_per_mib]}" "${med[large.$s.proc_ns_per_mib]}" "${med[large.$s.client_cpu1_pct]}" \
        "${med[large.$s.client_cpu1_ns_per_mib]}" "${med[large.$s.tcp_segs_per_mib]}" \
        "$(rt large "$s" mb_per_s)" "$(rt large "$s" cpu0_ns_per_mib)" "$(rt large "$s" proc_ns_per_mib)"
done
echo "÷: ratio to the best peer (MB/s ${best[large.mb_per_s]}, CPU0 ${best[large.cpu0_ns_per_mib]}, proc ${best[large.proc_ns_per_mib]}); ns are per MiB sent"
echo
echo "== peak RSS (VmHWM at the end of the server's turn, all three loads served)"
printf '%-13s %9s   %6s\n' server 'KiB' 'RSS÷'
for s in "${servers[@]}"; do
    printf '%-13s %9.0f   %6s\n' "$s" "${med[rss.$s.peak_rss_kib]}" "$(rt rss "$s" peak_rss_kib)"
done
echo "÷: ratio to the leanest peer (${best[rss.peak_rss_kib]})"
echo
cat <<EOF
CPU0 ns: busy time of CPU 0 (user+nice+system+irq+softirq in /proc/stat; not steal) during the run
         ÷ requests served (small, medium) or MiB of file sent (large): the server plus the kernel's
         work for it on that CPU.
proc ns: the server's own CPU time (utime+stime of its processes) ÷ the same; the figure to trust
         on a busy machine.
MB/s:    file bytes curl received ÷ the time it ran, in 10^6 bytes per second. CPU1 %: how busy the
         client's CPU was; near 100 % the rate is curl's limit, not the server's: compare the ns columns then.
CPU1 ns: CPU 1's busy time per MiB (curl, and the kernel's work on that CPU for both ends: on loopback
         the receiving end's work lands on either CPU, depending on which side holds its socket).
segs:    TCP segments per MiB, both ends of loopback counted (data and acknowledgements; at least 16
         with 64 KiB segments): fewer, fuller segments cost the kernel less per byte. Counted over
         the whole network namespace: other traffic meanwhile shows up here.
÷:       zzz's median (or a peer's) divided by the best peer's; for req/s and MB/s above 1 means
         zzz beat every peer, for the CPU and RSS columns below 1 does.
EOF
errs=$(for l in "${loads[@]}"; do awk -v l="$l" '$7 > 0 { print $1 " " l " round " $2 ": " $7 }' "$results.$l"; done)
[ -z "$errs" ] || { echo "socket errors (wrk):"; echo "  ${errs//$'\n'/$'\n'  }"; }
# Other work on CPU 0 or 1 inflates ns and deflates the rates: say so.
noisy=$(awk '{ print $8, $9 }' "$results.small" "$results.medium" "$results.large" |
    awk '$1 > 5 || $2 > 5 { n++; if ($1 > m0) m0 = $1; if ($2 > m1) m1 = $2 }
    END { if (n) printf "%d of %d runs, up to %d%% of CPU 0 and %d%% of CPU 1", n, NR, m0, m1 }')
if [ -n "$noisy" ]; then
    echo "WARNING: the machine was not quiet: before $noisy were busy with"
    echo "         other processes; the figures are noisy (proc ns is the least affected)."
fi

if [ -n "$out_csv" ]; then
    cp "$csv" "$out_csv"
    note "wrote $out_csv"
fi
