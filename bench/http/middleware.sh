#!/usr/bin/env bash
# Middleware benchmark: zzz's middleware example (request ID, access log,
# CORS, rate limit, security headers and compression all on) against nginx
# doing the same (add_header for the ID, CORS and security fields,
# limit_req per client address, a buffered access log with the request ID,
# gzip on at the same level and threshold), in one run on this machine.
# Both servers run at once with one worker each pinned to CPU 0, each
# loaded by its own wrk on CPU 1 with "Accept-Encoding: gzip", so noise
# on CPU 0 hits both alike. Three paths:
#   small   GET /            a short text answer (under the gzip threshold)
#   api     GET /api/items   a short JSON answer, with Origin (CORS fields)
#   big     GET /big         about 1 MiB of text, gzip-compressed by both
# The rate limit is set far above what the load reaches, so every answer
# is a 200 that went through the limiter. Reports requests/s (each with
# the other loading the same CPU) and the server's CPU time per request
# (medians over the rounds) and the ratio zzz / nginx.
#
#   bench/http/middleware.sh                 10 s per run, 3 rounds
#   bench/http/middleware.sh --quick         1 s per run, 1 round (for CI)
#   bench/http/middleware.sh --out FILE.csv  also write the figures as CSV
#   bench/http/middleware.sh --secs N --rounds N
#
# Missing tools (wrk, nginx-light, curl) are installed with apt-get, which
# needs root. Environment: MIDDLEWARE=path uses that binary instead of
# building one; BENCH_BUILD_DIR (default build-bench-http) is where it is
# built; BENCH_PORT (default 18560) is the first 127.0.0.1 port used;
# BENCH_KEEP=1 keeps the temp dir of configs and logs.
set -euo pipefail
self=$(readlink -f "$0")
here=$(dirname "$self")
cd "$here/../.."
bench_name=bench-middleware
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

missing=()
have wrk || missing+=(wrk)
have nginx || missing+=(nginx)
have curl || missing+=(curl)
have taskset || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}"
    for t in wrk nginx curl taskset; do have $t || die "$t still missing after apt-get"; done
fi

build_dir=${BENCH_BUILD_DIR:-build-bench-http}
if [ -n "${MIDDLEWARE:-}" ]; then
    [ -x "$MIDDLEWARE" ] || die "MIDDLEWARE=$MIDDLEWARE is not an executable"
    app=$MIDDLEWARE
else
    if [ ! -f "$build_dir/build.ninja" ]; then
        meson setup "$build_dir" --buildtype=release -Db_ndebug=true -Dtests=false -Dbench=false \
            >"$build_dir.setup.log" 2>&1 || die "meson setup $build_dir failed (see $build_dir.setup.log)"
    fi
    ninja -C "$build_dir" examples/middleware >"$build_dir.middleware.log" 2>&1 ||
        die "building the middleware example failed (see $build_dir.middleware.log)"
    app=$build_dir/examples/middleware
fi
app=$(readlink -f "$app")

tmp=$(mktemp -d /tmp/bench-middleware.XXXXXX)
chmod 755 "$tmp"
pids=()
bench_traps
ulimit -n 65536 2>/dev/null || true

port_base=${BENCH_PORT:-18560}
hz=$(getconf CLK_TCK)
# The gzip settings both servers use: the example's defaults.
gzip_level=5
gzip_min=1024

start_zzz() { # port
    local dir=$tmp/zzz
    mkdir -p "$dir"
    start_pinned zzz "http://127.0.0.1:$1/" BENCH_PORT "$dir" \
        env TARDY_DRIVER=io_uring "$app" --port "$1" --threads 1 --rate 1000000 \
        --gzip-level $gzip_level
}

start_nginx() { # port
    local dir=$tmp/nginx www=$tmp/www
    mkdir -p "$dir" "$www"
    cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
user nobody nogroup;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; use epoll; }
http {
    server_tokens off;
    keepalive_timeout 60s;
    keepalive_requests 1000000;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    default_type text/plain;
    sendfile on;
    log_format withid '\$remote_addr - \$remote_user [\$time_local] "\$request" \$status '
                      '\$body_bytes_sent "\$http_referer" "\$http_user_agent" \$request_time '
                      '\$request_id';
    access_log $dir/access.log withid buffer=64k flush=1s;
    limit_req_zone \$binary_remote_addr zone=perip:10m rate=1000000r/s;
    gzip on;
    gzip_comp_level $gzip_level;
    gzip_min_length $gzip_min;
    gzip_types text/plain application/json;
    gzip_vary on;
    server {
        listen 127.0.0.1:$1 backlog=4096;
        limit_req zone=perip burst=1000000 nodelay;
        add_header X-Request-Id \$request_id always;
        add_header X-Content-Type-Options nosniff always;
        add_header X-Frame-Options DENY always;
        add_header Referrer-Policy strict-origin-when-cross-origin always;
        location = / { return 200 "$(cat "$tmp/small.expected")"; }
        location = /big { alias $www/big; }
        location /api/ {
            add_header X-Request-Id \$request_id always;
            add_header X-Content-Type-Options nosniff always;
            add_header X-Frame-Options DENY always;
            add_header Referrer-Policy strict-origin-when-cross-origin always;
            add_header Access-Control-Allow-Origin \$http_origin always;
            add_header Vary Origin always;
            default_type application/json;
            return 200 '$(cat "$tmp/api.expected")';
        }
    }
}
EOF
    start_pinned nginx "http://127.0.0.1:$1/" BENCH_PORT "$dir" \
        nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
}

# The bodies nginx serves are the example's own, fetched once from it.
port=$port_base
start_zzz "$port" || die "the middleware example did not start"
curl -sS --max-time 10 -o "$tmp/small.expected" "http://127.0.0.1:$port/" || die "GET / failed"
curl -sS --max-time 10 -H 'Origin: http://a.test' -o "$tmp/api.expected" \
    "http://127.0.0.1:$port/api/items" || die "GET /api/items failed"
mkdir -p "$tmp/www"
curl -sS --max-time 30 -o "$tmp/www/big" "http://127.0.0.1:$port/big" || die "GET /big failed"
chmod 644 "$tmp/www/big"
stop_server "$spid"
big_bytes=$(wc -c <"$tmp/www/big")
[ "$big_bytes" -gt 100000 ] || die "GET /big gave only $big_bytes bytes"
# nginx's return takes the body as a string: no newline or quote games.
tr -d '\n' <"$tmp/small.expected" >"$tmp/small.flat" && mv "$tmp/small.flat" "$tmp/small.expected"
grep -q "['\"\\\\\$]" "$tmp/api.expected" && sed -i 's/["'\''\\$]//g' "$tmp/api.expected"
tr -d '\n' <"$tmp/api.expected" >"$tmp/api.flat" && mv "$tmp/api.flat" "$tmp/api.expected"

# Both answer with the same codings and fields that matter.
verify() { # name port
    local h
    h=$(curl -sS --max-time 10 -D - -o /dev/null -H 'Accept-Encoding: gzip' "http://127.0.0.1:$2/big")
    grep -qi '^content-encoding: gzip' <<<"$h" || die "$1: /big is not gzip-compressed"
    grep -qi '^x-request-id: ' <<<"$h" || die "$1: no X-Request-Id"
    h=$(curl -sS --max-time 10 -D - -o /dev/null -H 'Origin: http://a.test' "http://127.0.0.1:$2/api/items")
    grep -qi '^access-control-allow-origin: ' <<<"$h" || die "$1: no CORS field on /api/items"
}

results=$tmp/results
# Both servers run at once, both pinned to CPU 0, each loaded by its own
# wrk on CPU 1: whatever slows CPU 0 during a run slows both alike, so
# their ratio holds where back-to-back runs swing by 10-20%. Each one's
# CPU time (utime + stime of its process tree) is divided by the requests
# it served.
measure() { # path round
    local path=$1 round=$2 name
    local extra=(-H 'Accept-Encoding: gzip')
    [[ $path != /api/* ]] || extra+=(-H 'Origin: http://a.test')
    for name in zzz nginx; do
        timeout 30 taskset -c 1 wrk -t1 -c16 -d1s "${extra[@]}" "http://127.0.0.1:${port[$name]}$path" \
            >/dev/null 2>&1 || die "$name: warm-up failed"
    done
    declare -A before log
    for name in zzz nginx; do before[$name]=$(proc_cpu "${spids[$name]}"); done
    local wrks=()
    for name in zzz nginx; do
        log[$name]=$tmp/$name.$round.${path//\//_}.log
        timeout $((secs + 30)) taskset -c 1 wrk -t1 -c16 -d"${secs}s" "${extra[@]}" \
            "http://127.0.0.1:${port[$name]}$path" >"${log[$name]}" 2>&1 &
        wrks+=($!)
    done
    wait "${wrks[@]}" # the servers are children too: not a bare wait
    for name in zzz nginx; do
        local after requests rps non2xx ns
        after=$(proc_cpu "${spids[$name]}")
        requests=$(awk '/requests in/ { print $1; exit }' "${log[$name]}")
        rps=$(awk '/^Requests\/sec:/ { print $2; exit }' "${log[$name]}")
        non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF; exit }' "${log[$name]}")
        [ -n "$requests" ] && [ "$requests" -gt 0 ] || die "$name: no request completed: $(cat "${log[$name]}")"
        [ -z "$non2xx" ] || die "$name $path: $non2xx answers were not 2xx (the rate limit is meant to let all through)"
        ns=$(awk -v j=$((after - before[$name])) -v hz="$hz" -v n="$requests" 'BEGIN { printf "%.0f", j / hz * 1e9 / n }')
        echo "$name $path $round $rps $ns" >>"$results"
    done
}

paths=(/ /api/items /big)
declare -A port spids
port[zzz]=$((port_base + 1))
port[nginx]=$((port_base + 2))
for ((round = 1; round <= rounds; round++)); do
    start_zzz "${port[zzz]}" || die "zzz did not start"
    spids[zzz]=$spid
    start_nginx "${port[nginx]}" || die "nginx did not start"
    spids[nginx]=$spid
    for name in zzz nginx; do verify "$name" "${port[$name]}"; done
    for path in "${paths[@]}"; do measure "$path" "$round"; done
    for name in zzz nginx; do stop_server "${spids[$name]}"; done
done

printf '%-8s %-12s %12s %14s\n' server path "requests/s" "server ns/req"
declare -A med_ns
for path in "${paths[@]}"; do
    for name in zzz nginx; do
        rps=$(awk -v n=$name -v p="$path" '$1 == n && $2 == p { print $4 }' "$results" | median)
        ns=$(awk -v n=$name -v p="$path" '$1 == n && $2 == p { print $5 }' "$results" | median)
        med_ns[$name$path]=$ns
        printf '%-8s %-12s %12.0f %14.0f\n' "$name" "$path" "$rps" "$ns"
        [ -z "$out_csv" ] || echo "$name,$path,$rps,$ns" >>"$out_csv.tmp"
    done
done
echo
for path in "${paths[@]}"; do
    echo "zzz/nginx server CPU per request, $path: $(ratio "${med_ns[zzz$path]}" "${med_ns[nginx$path]}")"
done
if [ -n "$out_csv" ]; then
    { echo "server,path,requests_per_s,server_ns_per_request"; cat "$out_csv.tmp"; } >"$out_csv"
    rm -f "$out_csv.tmp"
fi
