#!/usr/bin/env bash
# Runs integration suites with every server they start under
# `valgrind --leak-check=full` (through ZZZ_TEST_SERVER_WRAPPER, which
# tests/zzz/harness.h honours), one valgrind log per server process, and
# prints a summary: per suite the test result, the server runs and those
# with errors or leaks, and those that ended without valgrind's summary
# (killed by their test). A server that valgrind finds at fault exits 99, so
# the test that stops it fails too.
#
#   tests/valgrind.sh                       the main suites on epoll and io_uring
#   tests/valgrind.sh --quick               the subset CI runs: the upload suite
#                                           on epoll (about a minute)
#   tests/valgrind.sh --drivers "epoll" --suites "http ws"
#
# Suites are meson test names without the driver (http, http-tls, static,
# ...). Environment: VALGRIND_BUILD_DIR (default build-valgrind; set up as
# debugoptimized without sanitizers if missing). Exit status 0 when every
# test passed and no server run had an error or a leak.
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")/.."

drivers="epoll io_uring"
suites="http http-tls static static-tls layers layers-tls upload cookie-http sse sse-tls ws ws-tls tls"
while [ $# -gt 0 ]; do
    case $1 in
    --quick) drivers="epoll" suites="upload" ;;
    --drivers) drivers=$2; shift ;;
    --suites) suites=$2; shift ;;
    -h | --help) sed -n '2,/^set -e/p' "$self" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "valgrind.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done

command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed" >&2; exit 2; }
build=${VALGRIND_BUILD_DIR:-build-valgrind}
[ -d "$build" ] || meson setup "$build" --buildtype=debugoptimized -Dbench=false >/dev/null
ninja -C "$build" >/dev/null

logs=$(mktemp -d "${TMPDIR:-/tmp}/zzz-valgrind-XXXXXX")
export ZZZ_TEST_SERVER_WRAPPER="valgrind --leak-check=full --show-leak-kinds=definite,indirect \
--errors-for-leak-kinds=definite,indirect --error-exitcode=99 --track-fds=no \
--suppressions=$PWD/tests/valgrind.supp --log-file=$logs/%q{ZZZ_VG_TEST}.%p.log"

status=0
start=$(date +%s)
printf '%-22s %-6s %8s %8s %10s %8s\n' test result servers faulty unfinished seconds
for d in $drivers; do
    for s in $suites; do
        t="$s/$d"
        t0=$(date +%s)
        result=pass
        export ZZZ_VG_TEST="${s}_$d"
        meson test -C "$build" --no-rebuild --print-errorlogs --timeout-multiplier 10 --num-processes 1 "$t" \
            >"$logs/${s}_$d.meson" 2>&1 || { result=FAIL; status=1; }
        runs=0 faulty=0 unfinished=0
        for f in "$logs/${s}_$d".*.log; do
            [ -e "$f" ] || continue
            runs=$((runs + 1))
            # A server killed by its test (SIGKILL on a failure, or on
            # purpose) ends without valgrind's summary: nothing to check.
            if ! grep -q "ERROR SUMMARY:" "$f"; then
                unfinished=$((unfinished + 1))
            elif ! grep -q "ERROR SUMMARY: 0 errors" "$f" ||
                grep -Eq "(definitely|indirectly) lost: [1-9]" "$f"; then
                faulty=$((faulty + 1))
                status=1
                echo "  $f:" >&2
                grep -E "ERROR SUMMARY|definitely lost|indirectly lost|^==[0-9]+== [A-Z]" "$f" |
                    head -8 >&2
            fi
        done
        if [ "$result" = FAIL ]; then
            grep -E "^\[FAIL\]" "$logs/${s}_$d.meson" | sed 's/^/  /' >&2 || true
        fi
        printf '%-22s %-6s %8d %8d %10d %8d\n' "$t" "$result" "$runs" "$faulty" "$unfinished" \
            $(($(date +%s) - t0))
    done
done
echo "valgrind: $(($(date +%s) - start)) s in all; logs in $logs"
[ "$status" -eq 0 ] && echo "valgrind: clean" || echo "valgrind: FAILED (see above and the logs)"
exit "$status"
