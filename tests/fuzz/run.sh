#!/usr/bin/env bash
# Builds the HTTP parser's fuzz target with clang in build-fuzz/ and fuzzes
# it for SECONDS (default 60) over a working copy of the seed corpus
# (build-fuzz/corpus/parse, which keeps what it grows across runs; the
# seeds in tests/fuzz/corpus/parse are never written). Further arguments
# go to libFuzzer (e.g. -jobs=4 -workers=4). Exits non-zero when the
# fuzzer finds a crash; the input that caused it is saved in
# build-fuzz/crashes/. Needs clang and, on Debian, libclang-rt-14-dev.
#
#   tests/fuzz/run.sh [SECONDS] [LIBFUZZER-ARGS...]
set -euo pipefail
cd "$(dirname "$0")/../.."
# The fuzz targets: tests/fuzz/NAME_fuzz.c, seeds in tests/fuzz/corpus/NAME.
targets="parse form multipart"
secs=${1:-60}
shift || true

build=build-fuzz
if [ ! -f "$build/build.ninja" ]; then
    CC=clang meson setup "$build" -Dexamples=false -Dbench=false -Dbuildtype=debugoptimized
fi
meson compile -C "$build" parse_fuzz
fuzzer=$build/tests/fuzz/parse_fuzz
if [ ! -x "$fuzzer" ]; then
    echo "run.sh: $fuzzer was not built (is the compiler clang, with libFuzzer?)" >&2
    exit 1
fi

corpus=$build/corpus/parse
mkdir -p "$corpus" "$build/crashes"
cp -n tests/fuzz/corpus/parse/* "$corpus"/

"$fuzzer" -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix="$build/crashes/" "$@" "$corpus"
