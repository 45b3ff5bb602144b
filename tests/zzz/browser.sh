#!/usr/bin/env bash
# A real browser loads the fs example's page (examples/fs/public): Debian's
# headless chromium, driven by playwright-core (browser/load_page.mjs),
# fetches the page, its style sheet, picture and script; each must come
# as 200 with its type, the console must stay free of errors, and the
# script (app.js) must write on the page that it ran, that the style sheet
# applied (refused under nosniff with another type), that the picture
# decoded and that a JSON fetch came with its type. Over plain HTTP, then
# over HTTPS when a certificate directory is given; twice each, on a copy
# of the page left alone long enough for the server's file cache to keep
# it, so the second load comes from there. With ZZZ_SSE (the sse example),
# the same browser then opens the sse example's page, served alongside,
# and waits for its clock to show three events (browser/sse_page.mjs);
# with ZZZ_CHAT (the chat example), two pages chat over WebSocket
# (browser/chat.mjs).
#
#   browser.sh FS PUBLIC NODE_DIR [TLS_DIR]
#     FS: the fs example; PUBLIC: the page's directory; NODE_DIR: where
#     playwright-core is installed from npm (browser/package.json) when it
#     is not there yet. Inherits TARDY_DRIVER; CHROMIUM names the browser
#     (default /usr/bin/chromium); ZZZ_SSE names the sse example, ZZZ_CHAT
#     the chat example.
set -euo pipefail
export LC_ALL=C

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
    echo "usage: $0 FS PUBLIC NODE_DIR [TLS_DIR]" >&2
    exit 2
fi
fs=$1
public=$2
node_dir=$3
tls_dir=${4:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
for tool in "$CHROMIUM" node npm; do
    command -v "$tool" >/dev/null || {
        echo "browser: FAIL: $tool is not installed (scripts/install-deps)"
        exit 1
    }
done

# playwright-core at the version browser/package.json pins, once per
# build directory.
version=$(sed -n 's/.*"playwright-core": "\([^"]*\)".*/\1/p' "$here/browser/package.json")
if [ ! -f "$node_dir/node_modules/playwright-core/package.json" ] ||
    ! grep -q "\"version\": \"$version\"" "$node_dir/node_modules/playwright-core/package.json"; then
    mkdir -p "$node_dir"
    npm install --prefix "$node_dir" --no-audit --no-fund --no-save --silent \
        "playwright-core@$version" >/dev/null
fi
export PLAYWRIGHT_DIR=$node_dir

sse=${ZZZ_SSE:-}
chat=${ZZZ_CHAT:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/zzz-browser-XXXXXX")
pid=""
sse_pid=""
chat_pid=""
cleanup() {
    local p
    for p in $pid $sse_pid $chat_pid; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

cp -r "$public" "$tmp/www"
# The server keeps files left alone for two seconds.
sleep 2.2

# The port a server started with its output in $2 listens on, once it
# says so; fails if it does not (pid $1).
port_of() {
    local pid=$1 log=$2 port="" i
    for i in $(seq 100); do
        port=$(sed -n 's|^listening on \(https://\)\{0,1\}[0-9.]*:\([0-9]*\).*|\2|p' "$log")
        [ -n "$port" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$port" ]; then
        echo "browser: FAIL: $(basename "$log" .log) did not start: $(cat "$log")" >&2
        exit 1
    fi
    echo "$port"
}

# Stops a server with SIGTERM; it must exit cleanly.
stop() {
    local pid=$1 log=$2
    kill -TERM "$pid"
    wait "$pid" || {
        echo "browser: FAIL: $(basename "$log" .log) did not exit cleanly: $(cat "$log")"
        exit 1
    }
}

# Serves $tmp/www with the given extra flags and loads the page twice with
# the given scheme, then the sse example's page; fails with what the
# browser saw otherwise.
check() {
    local scheme=$1
    shift
    "$fs" --root "$tmp/www" --port 0 --threads 1 "$@" >"$tmp/fs.log" 2>&1 &
    pid=$!
    local port sse_url=()
    port=$(port_of "$pid" "$tmp/fs.log")
    if [ -n "$sse" ]; then
        "$sse" --port 0 --threads 1 "$@" >"$tmp/sse.log" 2>&1 &
        sse_pid=$!
        sse_url=("$scheme://127.0.0.1:$(port_of "$sse_pid" "$tmp/sse.log")/")
    fi
    if [ -n "$chat" ]; then
        "$chat" --port 0 --threads 2 "$@" >"$tmp/chat.log" 2>&1 &
        chat_pid=$!
        sse_url+=("$scheme://127.0.0.1:$(port_of "$chat_pid" "$tmp/chat.log")/")
    fi
    if ! node "$here/browser/load_page.mjs" "$scheme://127.0.0.1:$port/" 2 "${sse_url[@]}" \
        >"$tmp/browser.log" 2>&1; then
        echo "browser: FAIL: $scheme (driver ${TARDY_DRIVER:-default}):"
        cat "$tmp/browser.log"
        exit 1
    fi
    sed "s/^/browser: $scheme /" "$tmp/browser.log"
    stop "$pid" "$tmp/fs.log"
    pid=""
    if [ -n "$sse_pid" ]; then
        stop "$sse_pid" "$tmp/sse.log"
        sse_pid=""
    fi
    if [ -n "$chat_pid" ]; then
        stop "$chat_pid" "$tmp/chat.log"
        chat_pid=""
    fi
}

check http
if [ -n "$tls_dir" ]; then
    check https --tls-cert "$tls_dir/ec-chain.pem" --tls-key "$tls_dir/ec-key.pem"
fi
echo "browser: ok"
