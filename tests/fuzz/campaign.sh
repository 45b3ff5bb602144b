#!/usr/bin/env bash
# The long fuzz campaign, run by hand: each target in turn (one process,
# one core), for SECONDS each, over a working corpus that keeps what it
# grows (DIR/corpus/NAME, started from tests/fuzz/corpus/NAME) with the
# target's dictionary (tests/fuzz/dict/NAME.dict). Prints per target the
# executions, the wall time and libFuzzer's final cov: and ft:, and the
# total; with COVERAGE=1, then replays each final corpus through a build
# with clang's source-based coverage and prints the line coverage of the
# files the target compiles in (llvm-cov report).
#
#   [DIR=build-campaign] [COVERAGE=1] nice -n 10 tests/fuzz/campaign.sh \
#       SECONDS [TARGET...]
#
# TARGET defaults to every tests/fuzz/*_fuzz.c. SECONDS 0 fuzzes nothing
# (with COVERAGE=1: the coverage of the corpora as they stand). A crash stops that
# target (its input goes to DIR/crashes/, the run goes on to the next)
# and makes the script exit non-zero at the end. Logs: DIR/logs/NAME.log.
# Needs clang with libFuzzer (Debian: libclang-rt-14-dev) and, for
# COVERAGE, llvm-profdata and llvm-cov.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
secs=${1:?usage: campaign.sh SECONDS [TARGET...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for t in tests/fuzz/*_fuzz.c; do
        t=$(basename "$t")
        targets+=("${t%_fuzz.c}")
    done
fi
dir=${DIR:-build-campaign}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

if [ ! -f "$dir/fuzz/build.ninja" ]; then
    CC=clang meson setup "$dir/fuzz" -Dexamples=false -Dbench=false \
        -Dbuildtype=debugoptimized >"$dir/setup.log" || exit 1
fi
# (build.ninja first: meson compile names only targets it already knows)
ninja -C "$dir/fuzz" build.ninja >"$dir/build.log" &&
    meson compile -C "$dir/fuzz" "${targets[@]/%/_fuzz}" >>"$dir/build.log" || {
    tail -20 "$dir/build.log"
    exit 1
}

mkdir -p "$dir/logs" "$dir/crashes"
failed=0
total=0
printf '%-12s %12s %8s %8s %8s %8s\n' target execs seconds exec/s cov ft
for t in "${targets[@]}"; do
    [ "$secs" -gt 0 ] || break
    corpus=$dir/corpus/$t
    mkdir -p "$corpus"
    cp -n "tests/fuzz/corpus/$t"/* "$corpus"/ 2>/dev/null
    dict=()
    [ -f "tests/fuzz/dict/$t.dict" ] && dict=("-dict=tests/fuzz/dict/$t.dict")
    log=$dir/logs/$t.log
    start=$(date +%s)
    "$dir/fuzz/tests/fuzz/${t}_fuzz" -max_total_time="$secs" -print_final_stats=1 \
        -artifact_prefix="$dir/crashes/$t-" "${dict[@]}" "$corpus" >"$log" 2>&1
    rc=$?
    wall=$(($(date +%s) - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    execs=${execs:-0}
    line=$(grep -E '^#[0-9]+' "$log" | grep ' cov: ' | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$line")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$line")
    total=$((total + execs))
    printf '%-12s %12d %8d %8d %8s %8s' "$t" "$execs" "$wall" \
        $((execs / (wall > 0 ? wall : 1))) "${cov:--}" "${ft:--}"
    if [ $rc -ne 0 ]; then
        failed=1
        printf '  CRASH (exit %d): see %s\n' $rc "$log"
    else
        printf '\n'
    fi
done
echo "total executions: $total"

if [ "${COVERAGE:-0}" = 1 ]; then
    cov_args='-fprofile-instr-generate -fcoverage-mapping'
    # What else runs instrumented (meson's compiler checks) writes its
    # profile there, not into the source tree.
    export LLVM_PROFILE_FILE=$dir/cov/other-%p.profraw
    if [ ! -f "$dir/cov/build.ninja" ]; then
        CC=clang meson setup "$dir/cov" -Dexamples=false -Dbench=false \
            -Dbuildtype=debugoptimized -Dc_args="$cov_args" -Dc_link_args="$cov_args" \
            >"$dir/cov-setup.log" || exit 1
    fi
    ninja -C "$dir/cov" build.ninja >"$dir/cov-build.log" &&
        meson compile -C "$dir/cov" "${targets[@]/%/_fuzz}" >>"$dir/cov-build.log" || exit 1
    echo
    echo "line coverage of the files each target compiles in, over its final corpus:"
    for t in "${targets[@]}"; do
        exe=$dir/cov/tests/fuzz/${t}_fuzz
        rm -f "$dir/cov/$t".profraw
        mkdir -p "$dir/corpus/$t"
    cp -n "tests/fuzz/corpus/$t"/* "$dir/corpus/$t"/ 2>/dev/null
    LLVM_PROFILE_FILE="$dir/cov/$t.profraw" "$exe" -runs=0 "$dir/corpus/$t" \
            >"$dir/logs/$t.cov.log" 2>&1
        llvm-profdata merge -sparse "$dir/cov/$t.profraw" -o "$dir/cov/$t.profdata"
        # The library's files that the target's rule compiles (from the
        # compile commands), not the target itself.
        mapfile -t files < <(python3 - "$dir/cov/compile_commands.json" "$t" <<'EOF'
import json, sys
seen = []
for c in json.load(open(sys.argv[1])):
    if '/%s_fuzz.p/' % sys.argv[2] in c['output'] and '/tests/fuzz/' not in c['file']:
        f = c['file'] if c['file'].startswith('/') else c['directory'] + '/' + c['file']
        seen.append(f)
print('\n'.join(sorted(set(seen))))
EOF
)
        echo "== $t"
        llvm-cov report "$exe" -instr-profile="$dir/cov/$t.profdata" "${files[@]}" |
            awk 'NR == 1 || /^-/ { next } { print }' |
            sed "s|$root/||"
    done
fi
exit $failed
