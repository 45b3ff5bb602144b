#!/usr/bin/env bash
# Builds a fuzz target with clang in build-fuzz/ and fuzzes it for SECONDS
# (default 60) over a working copy of its seed corpus
# (build-fuzz/corpus/TARGET, which keeps what it grows across runs; the
# seeds in tests/fuzz/corpus/TARGET are never written). The target is
# FUZZ_TARGET, the name before _fuzz.c (default parse, the HTTP parser;
# also cookie, form, multipart, ws_frame, ws_inflate; seeds in
# tests/fuzz/corpus/NAME).
# Further arguments go to libFuzzer (e.g. -jobs=4 -workers=4). Exits
# non-zero when the fuzzer finds a crash; the input that caused it is
# saved in build-fuzz/crashes/. Needs clang and, on Debian,
# libclang-rt-14-dev.
#
#   [FUZZ_TARGET=cookie] tests/fuzz/run.sh [SECONDS] [LIBFUZZER-ARGS...]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
shift || true
target=${FUZZ_TARGET:-parse}
if [ ! -f "tests/fuzz/${target}_fuzz.c" ]; then
    echo "run.sh: no fuzz target tests/fuzz/${target}_fuzz.c" >&2
    exit 2
fi

build=build-fuzz
if [ ! -f "$build/build.ninja" ]; then
    CC=clang meson setup "$build" -Dexamples=false -Dbench=false -Dbuildtype=debugoptimized
fi
meson compile -C "$build" "${target}_fuzz"
fuzzer=$build/tests/fuzz/${target}_fuzz
if [ ! -x "$fuzzer" ]; then
    echo "run.sh: $fuzzer was not built (is the compiler clang, with libFuzzer?)" >&2
    exit 1
fi

corpus=$build/corpus/$target
mkdir -p "$corpus" "$build/crashes"
cp -n "tests/fuzz/corpus/$target"/* "$corpus"/

"$fuzzer" -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix="$build/crashes/" "$@" "$corpus"
