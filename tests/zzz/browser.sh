#!/usr/bin/env bash
# A real browser loads the fs example's page (examples/fs/public): headless
# Chromium fetches the page, its style sheet, picture and script, and the
# script (app.js) writes on the page what the browser got: whether it ran,
# whether the style sheet applied (so it came with a CSS type, since the
# server says nosniff), whether the picture decoded, and the type of a
# JSON file it fetched. The page as Chromium ends up with it must say all
# of them. Over plain HTTP, then over HTTPS when a certificate directory
# is given; twice each, on a copy of the page left alone long enough for
# the server's file cache to keep it, so the second load comes from there.
#
#   browser.sh FS PUBLIC [TLS_DIR]   (FS: the fs example; PUBLIC: the page's
#                                     directory; inherits TARDY_DRIVER)
set -euo pipefail
export LC_ALL=C

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: $0 FS PUBLIC [TLS_DIR]" >&2
    exit 2
fi
fs=$1
public=$2
tls_dir=${3:-}
browser=${CHROMIUM:-chromium}
command -v "$browser" >/dev/null || {
    echo "browser: FAIL: $browser is not installed (scripts/install-deps)"
    exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/zzz-browser-XXXXXX")
pid=""
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

cp -r "$public" "$tmp/www"
# The server keeps files left alone for two seconds.
sleep 2.2

want='The script ran; style applied; picture shown; data read (application/json; charset=utf-8).'

# Serves $tmp/www with the given extra flags and loads the page twice with
# the given scheme; fails with what the browser saw otherwise.
check() {
    local scheme=$1
    shift
    "$fs" --root "$tmp/www" --port 0 --threads 1 "$@" >"$tmp/fs.log" 2>&1 &
    pid=$!
    local port="" i
    for i in $(seq 100); do
        port=$(sed -n 's|^listening on \(https://\)\{0,1\}[0-9.]*:\([0-9]*\).*|\2|p' "$tmp/fs.log")
        [ -n "$port" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$port" ]; then
        echo "browser: FAIL: fs did not start: $(cat "$tmp/fs.log")"
        exit 1
    fi
    local load
    for load in 1 2; do
        # A fresh profile each time: nothing comes from the browser's cache.
        local dom
        dom=$(timeout 60 "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
            --ignore-certificate-errors --user-data-dir="$tmp/profile-$scheme-$load" \
            --virtual-time-budget=5000 --dump-dom "$scheme://127.0.0.1:$port/" 2>"$tmp/browser.log" ||
            true)
        local got
        got=$(sed -n 's/.*<p id="checked"[^>]*>\(.*\)<\/p>.*/\1/p' <<<"$dom")
        if [ "$got" != "$want" ]; then
            echo "browser: FAIL: $scheme load $load (driver ${TARDY_DRIVER:-default}): the page says"
            echo "  ${got:-nothing (no page)}"
            echo "expected"
            echo "  $want"
            echo "the browser said:"
            tail -5 "$tmp/browser.log"
            exit 1
        fi
        echo "browser: $scheme load $load: $got"
    done
    kill -TERM "$pid"
    wait "$pid" || {
        echo "browser: FAIL: fs did not exit cleanly: $(cat "$tmp/fs.log")"
        exit 1
    }
    pid=""
}

check http
if [ -n "$tls_dir" ]; then
    check https --tls-cert "$tls_dir/ec-chain.pem" --tls-key "$tls_dir/ec-key.pem"
fi
echo "browser: ok"
