#!/bin/sh
# fuzz.sh: builds the libFuzzer targets tests/fuzz/fuzz_*.c with clang,
# ASan and UBSan, and runs each on a copy of its seed corpus
# (tests/fuzz/corpus/<name>/). Exits non-zero when a target does not build
# or its run ends in a crash, a leak, a timeout, running out of memory or
# any sanitizer report. docs/fuzzing.md says what each target covers.
#
# Usage: scripts/fuzz.sh [-s SECONDS | -r RUNS] [-b] [NAME...]
#   -s SECONDS  run each target this long (default $TC_FUZZ_SECONDS, or 5)
#   -r RUNS     run each target for RUNS executions instead (long runs)
#   -b          build only
#   NAME        only these targets (fuzz_rpc ...), default every one
# Environment: TC_FUZZ_DIR the work folder (default build-fuzz/ in the
# tree): lib/ the product libraries, bin/ the targets, run/<name>/ each
# run's corpus copy, log and any crash input; TC_FUZZ_FLAGS more libFuzzer
# flags (e.g. -max_len=8192).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${TC_FUZZ_DIR:-$top/build-fuzz}
seconds=${TC_FUZZ_SECONDS:-5}
runs=
build_only=
while getopts s:r:b opt; do
    case $opt in
    s) seconds=$OPTARG ;;
    r) runs=$OPTARG ;;
    b) build_only=1 ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))

CC=${CC:-clang}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all \
-fno-omit-frame-pointer"
PKGS="grpc libprotobuf-c libmicrohttpd jansson openssl libsystemd liblz4"
WARN="-Wall -Wextra -Wshadow -Wmissing-prototypes -Wformat=2 -Werror"
# A report in a log fails the run even if the exit status were 0.
FINDINGS='ERROR: \(Address\|Leak\|UndefinedBehavior\)Sanitizer'
FINDINGS="$FINDINGS\\|runtime error:\\|ERROR: libFuzzer"

build_libs() {
    [ -x "$top/configure" ] || (cd "$top" && autoreconf -fi)
    mkdir -p "$out/lib"
    if [ ! -f "$out/lib/Makefile" ]; then
        (cd "$out/lib" && "$top/configure" --quiet CC="$CC" \
            CFLAGS="-g -O1 -fsanitize=fuzzer-no-link $SAN")
    fi
    # libtcwire.a first: its build generates the wire code the others use.
    make -C "$out/lib" -j2 --quiet libtcwire.a
    make -C "$out/lib" -j2 --quiet libtinycache.a libtcserver.a
}

build_target() { # name
    lib=$out/lib
    # shellcheck disable=SC2046,SC2086 # the flag lists are split on purpose
    $CC -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer $SAN $WARN \
        -Wno-strict-prototypes -I"$top/include" -I"$top/tests/fuzz" \
        -I"$lib" $(pkg-config --cflags $PKGS) \
        "$top/tests/fuzz/$1.c" -o "$out/bin/$1" \
        "$lib/libtcserver.a" "$lib/libtcwire.a" "$lib/libtinycache.a" \
        $(pkg-config --libs $PKGS) -lm
}

# Runs one target; prints its figures; fails on any finding.
run_target() { # name
    dir=$out/run/$1
    rm -rf "$dir"
    mkdir -p "$dir/corpus"
    if [ -d "$top/tests/fuzz/corpus/$1" ]; then
        cp -R "$top/tests/fuzz/corpus/$1/." "$dir/corpus/"
    else
        echo "$1: no seed corpus in tests/fuzz/corpus/$1, starting empty"
    fi
    set -- "$1" -artifact_prefix="$dir/" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1
    if [ -n "$runs" ]; then
        set -- "$@" -runs="$runs"
    else
        set -- "$@" -max_total_time="$seconds"
    fi
    [ -f "$top/tests/fuzz/$1.dict" ] && set -- "$@" -dict="$top/tests/fuzz/$1.dict"
    name=$1
    shift
    start=$(date +%s)
    status=0
    # shellcheck disable=SC2086 # TC_FUZZ_FLAGS is a list of flags
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$out/bin/$name" "$@" ${TC_FUZZ_FLAGS:-} "$dir/corpus" \
        >"$dir/fuzz.log" 2>&1 || status=$?
    wall=$(($(date +%s) - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz.log")
    if [ "$status" -ne 0 ] || [ -z "$execs" ] ||
        grep -q "$FINDINGS" "$dir/fuzz.log"; then
        tail -n 60 "$dir/fuzz.log"
        echo "$name: FAILED (exit $status) after ${wall}s; log $dir/fuzz.log"
        return 1
    fi
    grep '^#[0-9]*[[:space:]]*DONE' "$dir/fuzz.log" || true
    echo "$name: clean, $execs executions in ${wall}s"
}

targets=
if [ $# -gt 0 ]; then
    targets=$*
else
    for f in "$top"/tests/fuzz/fuzz_*.c; do
        [ -f "$f" ] && targets="$targets $(basename "$f" .c)"
    done
fi
[ -n "$targets" ] || { echo "no tests/fuzz/fuzz_*.c found" >&2; exit 1; }

build_libs
mkdir -p "$out/bin"
for t in $targets; do
    echo "building $t"
    build_target "$t"
done
[ -n "$build_only" ] && exit 0
failed=0
for t in $targets; do
    run_target "$t" || failed=$((failed + 1))
done
[ "$failed" -eq 0 ] || { echo "$failed fuzz target(s) failed" >&2; exit 1; }
