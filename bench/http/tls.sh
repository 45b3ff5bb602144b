#!/usr/bin/env bash
# HTTPS benchmark: zzz's tls example (io_uring and epoll drivers, BearSSL)
# against nginx (OpenSSL), in one run on this machine. Both answer GET /
# with the 13 bytes "Hello, World!" over TLS 1.2 with the same EC P-256
# certificate and the same suite (ECDHE-ECDSA-AES128-GCM-SHA256); each runs
# alone, pinned to CPU 0, while the client runs on CPU 1. Per server and
# round it measures keep-alive requests/s, full handshakes/s, resumed
# handshakes/s, CPU time per request or handshake and peak RSS; it prints
# medians over the rounds and ratios zzz/nginx. See bench/http/README.md.
#
#   bench/http/tls.sh                  10 s per run, 3 rounds (~6 minutes)
#   bench/http/tls.sh --quick          1 s per run, 1 round (for CI)
#   bench/http/tls.sh --out FILE.csv   also write the figures as CSV
#   bench/http/tls.sh --secs N --rounds N
#
# Missing tools (wrk, nginx-light, openssl, ab from apache2-utils, curl,
# libbearssl-dev) are installed with apt-get, which needs root. Environment:
# TLS_EXAMPLE=path uses that tls binary instead of building one;
# BENCH_BUILD_DIR (default build-bench-tls) is where it is built;
# BENCH_TLS_PORT (default 18580) is the first of the 127.0.0.1 ports used;
# BENCH_KEEP=1 keeps the temp dir of certificate, configs and logs.
#
# The three loads, and why these clients (checked on this machine, and
# again by the probe at the start of every run, against nginx's access log
# with $ssl_session_reused):
#  - keep-alive: wrk -t1 -c128, as run.sh: 128 TLS connections opened once.
#  - full handshakes: ab -c32 (ApacheBench) sends one HTTP/1.0 GET per new
#    connection and gives every connection a fresh SSL object with no
#    session, so each is a full ECDHE-ECDSA handshake (nginx logs every one
#    as not reused). `openssl s_time -new` also does full handshakes, but
#    one connection at a time (client and server take turns, neither is
#    busy) and costs its client about twice ab's CPU per handshake.
#  - resumed handshakes: wrk -c32 with "Connection: close". wrk does NOT do
#    full handshakes this way: it reuses its SSL object (SSL_clear keeps
#    the session), so every reconnection offers the previous session and
#    both servers resume it (session ID cache; nginx also has tickets).
# A full handshake costs the OpenSSL client (X25519 + ECDSA verify, and
# OpenSSL 3's per-connection overhead) more CPU than it costs nginx, and the
# client has one CPU: when CPU 1 is saturated the handshake rate is the
# client's, not the server's. The table shows CPU 1's load for that run;
# CPU time per handshake (the us/hs rows) stays comparable either way.
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")/../.."
bench_name=bench-tls
# shellcheck source=bench/http/lib.sh
. "$(dirname "$self")/lib.sh"

while [ $# -gt 0 ]; do
    bench_opt "$@"
    [ "$bench_shift" -gt 0 ] || usage_error "unknown argument '$1' (try --help)"
    shift "$bench_shift"
done
bench_opts_done


[ "$(nproc)" -ge 2 ] || die "needs two CPUs: the server runs on CPU 0, the client on CPU 1"
export PATH=$PATH:/usr/sbin:/sbin

# ---------------------------------------------------------------- tools
missing=()
have wrk || missing+=(wrk)
have nginx || missing+=(nginx)
have openssl || missing+=(openssl)
have ab || missing+=(apache2-utils)
have curl || missing+=(curl)
have taskset || missing+=(util-linux)
# BearSSL, for libzzz's TLS, unless a tls binary is given.
[ -n "${TLS_EXAMPLE:-}" ] || [ -f /usr/include/bearssl.h ] || missing+=(libbearssl-dev)
if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}"
    for t in wrk nginx openssl ab curl taskset; do have $t || die "$t still missing after apt-get"; done
fi
nginx -V 2>&1 | grep -q -- --with-http_ssl_module || die "this nginx is built without http_ssl_module"

# ---------------------------------------------------------------- zzz tls example
build_dir=${BENCH_BUILD_DIR:-build-bench-tls}
if [ -n "${TLS_EXAMPLE:-}" ]; then
    [ -x "$TLS_EXAMPLE" ] || die "TLS_EXAMPLE=$TLS_EXAMPLE is not an executable"
    tls_bin=$TLS_EXAMPLE
else
    mkdir -p "$build_dir"
    if [ ! -f "$build_dir/build.ninja" ]; then
        # Release, as run.sh builds hello; TLS required, so that a missing
        # BearSSL fails here rather than as a missing example.
        meson setup "$build_dir" --buildtype=release -Db_ndebug=true -Dtests=false -Dbench=false \
            -Dtls=enabled >"$build_dir/../$(basename "$build_dir").setup.log" 2>&1 ||
            die "meson setup $build_dir failed (see $(basename "$build_dir").setup.log)"
    fi
    ninja -C "$build_dir" >"$build_dir/bench-tls.ninja.log" 2>&1 ||
        die "ninja -C $build_dir failed (see $build_dir/bench-tls.ninja.log)"
    tls_bin=$build_dir/examples/tls
    [ -x "$tls_bin" ] || die "$tls_bin was not built (is libzzz built with TLS? see meson's summary in $build_dir)"
fi
tls_bin=$(readlink -f "$tls_bin")

# ---------------------------------------------------------------- state, cleanup
tmp=$(mktemp -d /tmp/bench-tls.XXXXXX)
chmod 755 "$tmp" # nginx's worker drops to nobody
pids=()

bench_traps

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fds=$(ulimit -n)
[ "$fds" -le 20480 ] || fds=20480

# ---------------------------------------------------------------- certificate
cert=$tmp/cert.pem
key=$tmp/key.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$key" -out "$cert" >"$tmp/openssl-req.log" 2>&1 ||
    die "openssl req failed: $(tail -5 "$tmp/openssl-req.log")"
chmod 644 "$cert" "$key" # read by nginx's master as root; harmless in a 0755 temp dir of a throwaway key
printf 'Hello, World!' >"$tmp/expected"
suite_want=ECDHE-ECDSA-AES128-GCM-SHA256

# ---------------------------------------------------------------- servers
servers=(zzz-io_uring zzz-epoll nginx)
port_base=${BENCH_TLS_PORT:-18580}
probe_port=$((port_base + ${#servers[@]}))

nginx_conf() { # dir port access-log-line
    cat >"$1/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile $fds;
user nobody nogroup;
pid $1/nginx.pid;
error_log $1/error.log warn;
events {
    worker_connections 10000;
    use epoll;
}
http {
    log_format tlsprobe '\$ssl_protocol \$ssl_cipher \$ssl_session_reused';
    $3
    server_tokens off;
    keepalive_timeout 60s;
    keepalive_requests 1000000;
    client_body_temp_path $1/client_body;
    proxy_temp_path $1/proxy;
    fastcgi_temp_path $1/fastcgi;
    uwsgi_temp_path $1/uwsgi;
    scgi_temp_path $1/scgi;
    default_type text/plain;
    server {
        listen 127.0.0.1:$2 ssl backlog=4096;
        ssl_certificate $cert;
        ssl_certificate_key $key;
        ssl_protocols TLSv1.2;
        ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305;
        ssl_prefer_server_ciphers on;
        ssl_session_cache shared:SSL:10m;
        ssl_session_timeout 1h;
        location = / { return 200 'Hello, World!'; }
    }
}
EOF
}

answers() { curl -sk -o /dev/null --max-time 1 "https://127.0.0.1:$1/"; }

# Starts server $1 on port $2; sets spid. nginx-probe logs every request.
start_server() {
    local name=$1 port=$2 dir=$tmp/$1
    mkdir -p "$dir"
    local cmd=()
    case $name in
    zzz-*)
        cmd=(env TARDY_DRIVER="${name#zzz-}" "$tls_bin" --cert "$cert" --key "$key"
            --host 127.0.0.1 --port "$port" --threads 1 --conn-limit 10000)
        ;;
    nginx)
        nginx_conf "$dir" "$port" "access_log off;"
        cmd=(nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log")
        ;;
    nginx-probe)
        nginx_conf "$dir" "$port" "access_log $dir/access.log tlsprobe;"
        cmd=(nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log")
        ;;
    *) die "unknown server $name" ;;
    esac
    # Nothing may already answer on the port: we would measure it instead.
    answers "$port" && die "127.0.0.1:$port is already in use (set BENCH_TLS_PORT)"
    taskset -c 0 "${cmd[@]}" >"$dir/stdout.log" 2>"$dir/stderr.log" &
    spid=$!
    pids+=("$spid")
    local i
    for ((i = 0; i < 100; i++)); do
        if ! kill -0 "$spid" 2>/dev/null; then
            note "$name exited at start-up; its output:"
            cat "$dir/stdout.log" "$dir/stderr.log" "$dir/error.log" 2>/dev/null | tail -20 >&2
            return 1
        fi
        answers "$port" && return 0
        sleep 0.1
    done
    note "$name does not answer on 127.0.0.1:$port after 10 s"
    return 1
}

# Checks, with the certificate verified, that the server answers GET / with
# exactly the 13-byte body as text/plain and keeps the connection open for a
# second request.
verify() {
    local name=$1 url=https://127.0.0.1:$2/ got code ctype conns
    got=$(curl -sS --cacert "$cert" --max-time 5 -o "$tmp/body" -w '%{http_code} %{content_type}' "$url") ||
        die "$name: curl $url failed"
    code=${got%% *}
    ctype=${got#* }
    [ "$code" = 200 ] || die "$name: GET / answered $code, not 200 (body: $(head -c 200 "$tmp/body"))"
    cmp -s "$tmp/body" "$tmp/expected" ||
        die "$name: GET / body is '$(head -c 200 "$tmp/body")' ($(wc -c <"$tmp/body") bytes), not 'Hello, World!'"
    case $ctype in text/plain*) ;; *) die "$name: Content-Type is '$ctype', not text/plain" ;; esac
    conns=$(curl -sS --cacert "$cert" --max-time 5 -o /dev/null -o /dev/null -w '%{num_connects} ' "$url" "$url") ||
        die "$name: two requests on one connection failed"
    [ "$conns" = "1 0 " ] || die "$name: did not keep the connection alive (new connections per request: $conns)"
}

# What an OpenSSL client with default settings (as wrk and ab have)
# negotiates, and whether the server resumes sessions. Sets tls_line.
declare -A tls_group
tls_check() {
    local name=$1 port=$2 out proto suite group reused
    out=$(timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername localhost </dev/null 2>&1) ||
        die "$name: openssl s_client failed: $(echo "$out" | tail -5)"
    proto=$(echo "$out" | awk '$1 == "Protocol" && $2 == ":" { print $3; exit }')
    suite=$(echo "$out" | awk '$1 == "Cipher" && $2 == ":" { print $3; exit }')
    group=$(echo "$out" | sed -n 's/^Server Temp Key: //p' | head -1)
    # 1 new connection and 5 reconnections offering its session; session
    # IDs only (no tickets), the one mechanism both servers have.
    reused=$(timeout 20 openssl s_client -connect "127.0.0.1:$port" -servername localhost -no_ticket -reconnect \
        </dev/null 2>/dev/null | grep -c '^Reused,' || true)
    [ "$proto" = TLSv1.2 ] || die "$name: negotiated '$proto', not TLSv1.2"
    [ "$suite" = "$suite_want" ] || die "$name: negotiated $suite, not $suite_want"
    tls_group[$name]=${group:-?}
    tls_line="$proto $suite, ECDHE ${group:-?}, s_client -reconnect: $reused of 5 resumed"
}


per() { # jiffies count -> ns per item
    awk -v j="$1" -v hz="$hz" -v n="$2" 'BEGIN { printf "%.0f", (n > 0 ? j * 1e9 / hz / n : 0) }'
}

hz=$(getconf CLK_TCK)
hs_conns=32
# One line per server and round:
# name round ka_rps ka_ns ka_pns ka_p99 ka_err hs_rps hs_ns hs_pns hs_cpu1 hs_fail res_rps res_ns res_pns rss bg0 bg1
results=$tmp/results

# Runs "$@" (a client pinned to CPU 1) while sampling CPUs 0 and 1 and the
# server's own CPU time. Sets d0 (CPU 0 busy jiffies), d1pct (CPU 1 busy %)
# and dp (server jiffies).
sampled() {
    local a0 a1 b0 b1 pa pb
    pa=$(proc_cpu "$spid")
    a0=$(cpu_busy 0)
    a1=$(cpu_busy 1)
    local rc=0
    "$@" || rc=$?
    b0=$(cpu_busy 0)
    b1=$(cpu_busy 1)
    pb=$(proc_cpu "$spid")
    d0=$((${b0% *} - ${a0% *}))
    d1pct=$(share "$a1" "$b1")
    dp=$((pb - pa))
    return $rc
}

wrk_stats() { # log -> sets requests rps p99 errors; dies on non-2xx
    local name=$1 log=$2 non2xx
    requests=$(awk '/requests in/ { print $1; exit }' "$log")
    rps=$(awk '/^Requests\/sec:/ { print $2; exit }' "$log")
    p99=$(awk '$1 == "99%" { print $2; exit }' "$log")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF; exit }' "$log")
    errors=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10; exit }' "$log")
    errors=${errors:-0}
    if [ -z "$requests" ] || [ -z "$rps" ]; then die "$name: cannot read wrk's output: $(cat "$log")"; fi
    [ "$requests" -gt 0 ] || die "$name: wrk completed no request"
    [ -z "$non2xx" ] || die "$name: $non2xx responses were not 2xx/3xx under load"
}

measure() { # name port round
    local name=$1 port=$2 round=$3 url=https://127.0.0.1:$2/ dir=$tmp/$1
    local requests rps p99 errors
    # (a) keep-alive. Warm-up first: the server grows its pools.
    timeout 30 taskset -c 1 wrk -t1 -c128 -d1s "$url" >/dev/null 2>&1 || die "$name: wrk warm-up failed"
    sampled timeout $((secs + 30)) taskset -c 1 wrk -t1 -c128 -d"${secs}s" --latency "$url" \
        >"$dir/wrk.$round.log" 2>&1 || die "$name: wrk failed: $(tail -5 "$dir/wrk.$round.log")"
    wrk_stats "$name" "$dir/wrk.$round.log"
    kill -0 "$spid" 2>/dev/null || die "$name: the server died under keep-alive load"
    local ka_rps=$rps ka_ns ka_pns ka_p99 ka_err=$errors
    ka_ns=$(per "$d0" "$requests")
    ka_pns=$(per "$dp" "$requests")
    ka_p99=$(to_ms "$p99")

    # (b) full handshakes: one request per new connection, no resumption.
    # -n only caps the run (and sizes ab's table); -t ends it. -r: count a
    # reset as a failure instead of stopping.
    local hlog=$dir/ab.$round.log complete failed non2xx hs_rps hs_ns hs_pns hs_cpu1 proto
    sampled timeout $((secs + 60)) taskset -c 1 ab -q -r -s 10 -t "$secs" -n $((secs * 20000)) -c $hs_conns \
        "$url" >"$hlog" 2>&1 || die "$name: ab failed: $(tail -5 "$hlog")"
    complete=$(awk '/^Complete requests:/ { print $3; exit }' "$hlog")
    failed=$(awk '/^Failed requests:/ { print $3; exit }' "$hlog")
    non2xx=$(awk '/^Non-2xx responses:/ { print $3; exit }' "$hlog")
    hs_rps=$(awk '/^Requests per second:/ { print $4; exit }' "$hlog")
    proto=$(awk -F': *' '/^SSL\/TLS Protocol:/ { print $2; exit }' "$hlog")
    if [ -z "$complete" ] || [ -z "$hs_rps" ]; then die "$name: cannot read ab's output: $(tail -20 "$hlog")"; fi
    [ "$complete" -gt 0 ] || die "$name: ab completed no request"
    [ -z "$non2xx" ] || die "$name: $non2xx responses to ab were not 2xx"
    case $proto in TLSv1.2,$suite_want,*) ;; *) die "$name: ab negotiated '$proto', not TLSv1.2 $suite_want" ;; esac
    kill -0 "$spid" 2>/dev/null || die "$name: the server died under the handshake load"
    hs_ns=$(per "$d0" "$complete")
    hs_pns=$(per "$dp" "$complete")
    hs_cpu1=$d1pct

    # (c) resumed handshakes: wrk reconnects after every response and
    # offers its previous session.
    sampled timeout $((secs + 30)) taskset -c 1 wrk -t1 -c$hs_conns -d"${secs}s" -H 'Connection: close' "$url" \
        >"$dir/wrk-close.$round.log" 2>&1 || die "$name: wrk (Connection: close) failed: $(tail -5 "$dir/wrk-close.$round.log")"
    wrk_stats "$name" "$dir/wrk-close.$round.log"
    kill -0 "$spid" 2>/dev/null || die "$name: the server died under the reconnection load"
    local res_rps=$rps res_ns res_pns
    res_ns=$(per "$d0" "$requests")
    res_pns=$(per "$dp" "$requests")

    local rss
    rss=$(peak_rss_kib "$spid")
    echo "$name $round $ka_rps $ka_ns $ka_pns $ka_p99 $ka_err $hs_rps $hs_ns $hs_pns $hs_cpu1 ${failed:-0} $res_rps $res_ns $res_pns $rss $bg" >>"$results"
    printf '  round %d  %-13s keep-alive %7.0f req/s %6s ns (proc %s) p99 %.2f ms | full %5.0f hs/s %7s ns (proc %s) CPU1 %s%% | resumed %5.0f/s (proc %s ns) | %s KiB | background %s%%%s\n' \
        "$round" "$name" "$ka_rps" "$ka_ns" "$ka_pns" "$ka_p99" "$hs_rps" "$hs_ns" "$hs_pns" "$hs_cpu1" \
        "$res_rps" "$res_pns" "$rss" "${bg// /%,}" \
        "$([ "$ka_err" = 0 ] && [ "${failed:-0}" = 0 ] || echo "  (wrk socket errors $ka_err, ab failures ${failed:-0})")" >&2
}

# The clients' behaviour, from nginx's access log: the suite wrk gets, ab's
# handshakes not resumed, wrk's Connection: close reconnections resumed.
probe() {
    local dir=$tmp/nginx-probe url=https://127.0.0.1:$probe_port/ n r
    start_server nginx-probe "$probe_port" || die "nginx (probe) did not start"
    local log=$dir/access.log
    : >"$log"
    timeout 20 taskset -c 1 wrk -t1 -c4 -d1s "$url" >/dev/null 2>&1 || die "probe: wrk failed"
    echo "probe (nginx access log): wrk keep-alive negotiated $(awk '{ print $1, $2 }' "$log" | sort | uniq -c |
        awk '{ printf "%s%s %s (%d requests)", (NR > 1 ? "; " : ""), $2, $3, $1 }')"
    [ "$(awk '{ print $1, $2 }' "$log" | sort -u)" = "TLSv1.2 $suite_want" ] ||
        die "probe: wrk did not always negotiate TLSv1.2 $suite_want"
    : >"$log"
    timeout 30 taskset -c 1 ab -q -r -n 200 -c 8 "$url" >/dev/null 2>&1 || die "probe: ab failed"
    n=$(wc -l <"$log")
    r=$(awk '$3 == "r"' "$log" | wc -l)
    echo "probe: ab: $((n - r)) of $n connections were full handshakes, $r resumed"
    [ "$n" -gt 0 ] || die "probe: nginx logged none of ab's requests"
    [ "$r" -eq 0 ] || die "probe: ab resumed sessions; the full-handshake figures would be wrong"
    : >"$log"
    timeout 20 taskset -c 1 wrk -t1 -c4 -d1s -H 'Connection: close' "$url" >/dev/null 2>&1 || die "probe: wrk failed"
    n=$(wc -l <"$log")
    r=$(awk '$3 == "r"' "$log" | wc -l)
    echo "probe: wrk Connection: close: $r of $n connections resumed a session"
    stop_server "$spid"
}

# ---------------------------------------------------------------- run
kernel=$(uname -r)
cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo "HTTPS GET / -> 13-byte 'Hello, World!', TLS 1.2, EC P-256 certificate; server on CPU 0, client on CPU 1"
echo "keep-alive: wrk -t1 -c128; full handshakes: ab -c$hs_conns (HTTP/1.0, new connection and session each);"
echo "resumed: wrk -t1 -c$hs_conns 'Connection: close'; ${secs} s each; $rounds round(s), medians"
echo "$cpu_model, $(nproc) CPUs, Linux $kernel"
echo "zzz: $tls_bin (1 thread, BearSSL $(dpkg-query -W -f='${Version}' libbearssl0 2>/dev/null || echo '?'));" \
    "$(nginx -v 2>&1 | sed 's/.*: //') with $(openssl version | awk '{ print $1, $2 }'); wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }');" \
    "ab $(ab -V 2>&1 | awk '/Version/ { print $5; exit }' | tr -d ,)"
probe

: >"$results"
n=${#servers[@]}
for ((r = 1; r <= rounds; r++)); do
    note "round $r/$rounds"
    # Take turns, and rotate who goes first.
    for ((k = 0; k < n; k++)); do
        idx=$(((k + r - 1) % n))
        name=${servers[$idx]}
        port=$((port_base + idx))
        bg=$(background)
        start_server "$name" "$port" || die "$name did not start"
        if [[ $name == zzz-* ]]; then
            line=$(head -1 "$tmp/$name/stdout.log")
            want=${name#zzz-}
            [[ $line == *"driver $want,"* ]] || die "$name: asked for driver $want, got: $line"
        fi
        verify "$name" "$port"
        if [ "$r" -eq 1 ]; then
            tls_check "$name" "$port"
            echo "$name: $tls_line"
        fi
        measure "$name" "$port" "$r"
        stop_server "$spid"
    done
done
groups=$(for s in "${servers[@]}"; do echo "${tls_group[$s]}"; done | sort -u)
[ "$(echo "$groups" | wc -l)" -eq 1 ] ||
    echo "WARNING: the servers chose different ECDHE groups (${groups//$'\n'/, }): handshake costs differ by that too"
echo

# ---------------------------------------------------------------- report
col() { awk -v n="$1" -v c="$2" '$1 == n { print $c }' "$results" | median; }

# column in results | label | divisor for display | printf format | ratio?
metrics=(
    "3|keep-alive req/s (more is better)|1|%.0f|y"
    "4|keep-alive CPU0 ns/req|1|%.0f|y"
    "5|keep-alive proc ns/req|1|%.0f|y"
    "6|keep-alive p99 ms|1|%.2f|y"
    "8|full handshakes/s (more is better)|1|%.0f|y"
    "9|full handshake CPU0 us/hs|1000|%.1f|y"
    "10|full handshake proc us/hs|1000|%.1f|y"
    "11|full handshake client CPU1 %|1|%.0f|n"
    "13|resumed conns/s (more is better)|1|%.0f|y"
    "14|resumed CPU0 us/conn|1000|%.1f|y"
    "15|resumed proc us/conn|1000|%.1f|y"
    "16|peak RSS KiB|1|%.0f|y"
)
declare -A med
zzzs=()
for s in "${servers[@]}"; do [[ $s == zzz-* ]] && zzzs+=("$s"); done
printf '%-36s' "median of $rounds"
for s in "${servers[@]}"; do printf ' %12s' "$s"; done
for z in "${zzzs[@]}"; do printf ' %12s' "${z#zzz-}÷nginx"; done
echo
for m in "${metrics[@]}"; do
    IFS='|' read -r c label div fmt has_ratio <<<"$m"
    printf '%-36s' "$label"
    for s in "${servers[@]}"; do
        med[$s.$c]=$(col "$s" "$c")
        # shellcheck disable=SC2059 # the format comes from the table above
        printf " %12s" "$(printf "$fmt" "$(awk -v v="${med[$s.$c]}" -v d="$div" 'BEGIN { print v / d }')")"
    done
    for z in "${zzzs[@]}"; do
        if [ "$has_ratio" = y ]; then printf ' %12s' "$(ratio "${med[$z.$c]}" "${med[nginx.$c]}")"; else printf ' %12s' -; fi
    done
    echo
done
# The machine's speed can drift within a run; a round's servers run
# back to back, so the ratio within each round, then its median, is less
# exposed to the drift than the ratio of the medians.
if [ "$rounds" -gt 1 ]; then
    echo
    echo "per-round ratios (÷nginx in the same round): median [lowest..highest]"
    for m in "5|keep-alive proc ns/req" "10|full handshake proc us/hs" "15|resumed proc us/conn"; do
        IFS='|' read -r c label <<<"$m"
        printf '%-36s' "$label"
        for z in "${zzzs[@]}"; do
            awk -v z="$z" -v c="$c" '$1 == "nginx" { n[$2] = $c } $1 == z { v[$2] = $c }
                END { k = 0; for (r in v) if (n[r] > 0) q[++k] = v[r] / n[r]
                      for (i = 2; i <= k; i++) { x = q[i]; for (j = i - 1; j >= 1 && q[j] > x; j--) q[j + 1] = q[j]; q[j + 1] = x }
                      med = (k % 2) ? q[(k + 1) / 2] : (q[k / 2] + q[k / 2 + 1]) / 2
                      printf " %s %.2f [%.2f..%.2f]", z, med, q[1], q[k] }' "$results"
        done
        echo
    done
fi
cat <<EOF

÷nginx: zzz's median divided by nginx's; above 1 is better for the rows marked "more is better",
        below 1 for the others (CPU time, latency, memory).
CPU0 ns, us: busy time of CPU 0 (user+nice+system+irq+softirq in /proc/stat; not steal) during the run ÷ requests
         or connections: the server plus the kernel's work for it. proc: the server's own CPU time
         (utime+stime of its processes) ÷ the same; the figure to trust on a busy machine.
client CPU1 %: how busy CPU 1 (ab) was during the full-handshake run. Near 100 % while the server's CPU 0
         is not, the handshake rate is ab's limit, not the server's: compare the us/hs rows instead.
peak RSS: VmHWM at the end of the server's turn (after all three loads), summed over its processes
         (nginx: master + worker).
EOF
errs=$(awk '$7 > 0 || $12 > 0 { print $1 " round " $2 ": wrk socket errors " $7 ", ab failed requests " $12 }' "$results")
[ -z "$errs" ] || { echo "errors:"; echo "  ${errs//$'\n'/$'\n'  }"; }
# Other work on CPU 0 or 1 inflates ns and deflates the rates: say so.
noisy=$(awk '$17 > 5 || $18 > 5 { n++; if ($17 > m0) m0 = $17; if ($18 > m1) m1 = $18 }
    END { if (n) printf "%d of %d runs, up to %d%% of CPU 0 and %d%% of CPU 1", n, NR, m0, m1 }' "$results")
if [ -n "$noisy" ]; then
    echo "WARNING: the machine was not quiet: before $noisy were busy with"
    echo "         other processes; the figures are noisy (the proc rows are the least affected)."
fi

if [ -n "$out_csv" ]; then
    cols="ka_req_per_s,ka_ns_per_req,ka_proc_ns_per_req,ka_p99_ms,ka_socket_errors,hs_per_s,hs_ns_per_hs,hs_proc_ns_per_hs,hs_client_cpu1_pct,hs_failed,resumed_per_s,resumed_ns_per_conn,resumed_proc_ns_per_conn,peak_rss_kib,background_cpu0_pct,background_cpu1_pct"
    {
        echo "server,kind,round,$cols"
        for s in "${servers[@]}"; do
            row="$s,median,"
            for c in $(seq 3 18); do
                case $c in 7 | 12 | 17 | 18) v="" ;; *) v=${med[$s.$c]} ;; esac
                row+=",$v"
            done
            echo "$row"
        done
        for z in "${zzzs[@]}"; do
            row="$z/nginx,ratio,"
            for c in $(seq 3 18); do
                case $c in 7 | 12 | 17 | 18) v="" ;; *) v=$(ratio "${med[$z.$c]}" "${med[nginx.$c]}") ;; esac
                row+=",$v"
            done
            echo "$row"
        done
        while read -r -a f; do
            row="${f[0]},round,${f[1]}"
            for ((i = 2; i < ${#f[@]}; i++)); do row+=",${f[$i]}"; done
            echo "$row"
        done <"$results"
    } >"$out_csv"
    note "wrote $out_csv"
fi
