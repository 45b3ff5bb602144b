#!/usr/bin/env bash
# Builds fuzz targets with clang in build-fuzz/ and fuzzes each for
# SECONDS (default 60) over a working copy of its seed corpus
# (build-fuzz/corpus/TARGET, which keeps what it grows across runs; the
# seeds in tests/fuzz/corpus/TARGET are never written), with its
# dictionary (tests/fuzz/dict/TARGET.dict). FUZZ_TARGET names the
# targets, the names before _fuzz.c, space-separated (default parse, the
# HTTP parser; also cookie, form, multipart, router, static_path,
# static_rules, tls_pem, ws_frame, ws_inflate; "all" for every one); they
# are built in one go, then fuzzed one after the other.
# Further arguments go to libFuzzer (e.g. -jobs=4 -workers=4). Exits
# non-zero when the fuzzer finds a crash; the input that caused it is
# saved in build-fuzz/crashes/. Needs clang and, on Debian,
# libclang-rt-14-dev. For the long campaign, see campaign.sh.
#
#   [FUZZ_TARGET="cookie form"] tests/fuzz/run.sh [SECONDS] [LIBFUZZER-ARGS...]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
shift || true
read -r -a targets <<<"${FUZZ_TARGET:-parse}"
if [ "${targets[*]}" = all ]; then
    targets=()
    for t in tests/fuzz/*_fuzz.c; do
        t=$(basename "$t")
        targets+=("${t%_fuzz.c}")
    done
fi
for target in "${targets[@]}"; do
    if [ ! -f "tests/fuzz/${target}_fuzz.c" ]; then
        echo "run.sh: no fuzz target tests/fuzz/${target}_fuzz.c" >&2
        exit 2
    fi
done

build=build-fuzz
if [ ! -f "$build/build.ninja" ]; then
    CC=clang meson setup "$build" -Dexamples=false -Dbench=false -Dbuildtype=debugoptimized
fi
ninja -C "$build" build.ninja # so that meson compile knows new targets
meson compile -C "$build" "${targets[@]/%/_fuzz}"
mkdir -p "$build/crashes"
for target in "${targets[@]}"; do
    fuzzer=$build/tests/fuzz/${target}_fuzz
    if [ ! -x "$fuzzer" ]; then
        echo "run.sh: $fuzzer was not built (is the compiler clang, with libFuzzer?)" >&2
        exit 1
    fi
    corpus=$build/corpus/$target
    mkdir -p "$corpus"
    cp -n "tests/fuzz/corpus/$target"/* "$corpus"/
    dict=()
    if [ -f "tests/fuzz/dict/$target.dict" ]; then
        dict=("-dict=tests/fuzz/dict/$target.dict")
    fi
    echo "run.sh: fuzzing $target for $secs s"
    "$fuzzer" -max_total_time="$secs" -print_final_stats=1 \
        -artifact_prefix="$build/crashes/$target-" "${dict[@]}" "$@" "$corpus"
done
