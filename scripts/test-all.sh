#!/bin/sh
# Sets up, builds and runs every test, as CI does (as root on Debian 12):
#  0. the house format (.clang-format) on src, include and tests;
#  1. a -Werror build and `make check` (unit and integration tests), then
#     a one-minute soak at the memory limit with its binaries (soak.sh);
#  2. `make check` again in its own folder built with ASan + UBSan;
#  3. ThreadSanitizer: the store's concurrency, cleanup-thread and slab tests,
#     then tiny-cached and its tools under the threaded integration tests;
#  4. each libFuzzer target (tests/fuzz/) for a few seconds;
#  5. `make distcheck`, and the systemd unit checks.
# Build folders go under build-ci/ (or $TC_CI_DIR). Exits non-zero on any
# failure, after printing the failing test logs.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${TC_CI_DIR:-$top/build-ci}
jobs=$(nproc)

step() { printf '\n=== %s\n' "$*"; }

show_logs() {
    for f in "$1"/*.log "$1"/tests/it/*.log; do
        [ -f "$f" ] || continue
        case "$f" in */config.log | */test-suite.log) continue ;; esac
        grep -q '^FAIL\|^ERROR' "${f%.log}.trs" 2>/dev/null && cat "$f"
    done
    [ -f "$1/test-suite.log" ] && cat "$1/test-suite.log"
    return 1
}

passed=0
failed=0
tally() { # folder: adds its make check counts
    p=$(sed -n 's/^# PASS: *//p' "$1/test-suite.log")
    f=$(sed -n 's/^# FAIL: *//p; s/^# ERROR: *//p' "$1/test-suite.log" |
        awk '{ n += $1 } END { print n + 0 }')
    passed=$((passed + p))
    failed=$((failed + f))
}

check_in() { # folder, configure flags...
    dir=$1
    shift
    rm -rf "$dir"
    mkdir -p "$dir"
    (cd "$dir" && "$top/configure" --quiet "$@" && make -j"$jobs" --quiet &&
        make -j"$jobs" check) || show_logs "$dir"
    tally "$dir"
}

step "installing packages"
"$top/scripts/deps.sh"
cd "$top"
step "clang-format --dry-run -Werror"
clang-format --dry-run -Werror src/*.c include/*.h tests/*.c tests/*.h \
    tests/fuzz/*.c tests/fuzz/*.h
step "autoreconf"
autoreconf -fi

step "build with -Werror, make check"
check_in "$out/werror" --enable-werror

# A minute (TC_SOAK_MINUTES; 0 leaves it out) of mixed-size writes and
# reads at a 64 MiB memory limit: resident size and accounted memory within
# their bounds.
if [ "${TC_SOAK_MINUTES:-1}" != 0 ]; then
    step "soak at the memory limit"
    "$top/scripts/soak.sh" "${TC_SOAK_MINUTES:-1}" "$out/werror"
    passed=$((passed + 1))
fi

step "ASan + UBSan build, make check"
ASAN_OPTIONS=detect_leaks=1 check_in "$out/asan" --enable-werror --enable-sanitizers

step "ThreadSanitizer: store concurrency, cleanup-thread, slab and buffer-pool tests"
rm -rf "$out/tsan" && mkdir -p "$out/tsan"
(cd "$out/tsan" && "$top/configure" --quiet --enable-tsan --disable-static-grpc &&
    make -j"$jobs" --quiet check_store_mt check_store_expiry check_slab \
        check_cleanup check_bufpool &&
    ./check_store_mt && ./check_store_expiry && ./check_slab && ./check_cleanup &&
    ./check_bufpool)
passed=$((passed + 5))

# The daemon, the cli and the bench from the same ThreadSanitizer build,
# under the integration tests that run many threads. The first report stops
# the process (halt_on_error; exit status 66) and fails its test
# (tests/it/harness.py); tests/tsan.supp excuses only the uninstrumented
# gRPC, abseil and OpenSSL libraries, never our code.
step "ThreadSanitizer: tiny-cached under the threaded integration tests"
(cd "$out/tsan" && make -j"$jobs" --quiet all)
tsan_it() { # test file: runs it against the ThreadSanitizer build
    log="$out/tsan/${1%.py}.log"
    TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=$top/tests/tsan.supp" \
        TC_BUILDDIR="$out/tsan" TC_SRCDIR="$top" \
        "$top/tests/it/run-it.sh" "$top/tests/it/$1" >"$log" 2>&1 ||
        { cat "$log"; return 1; }
    echo "$1: $(tail -n 1 "$log")"
    passed=$((passed + 1))
}
for t in test_grpc_concurrency.py test_grpc_shutdown.py test_grpc_limits.py \
    test_grpc_expiry.py test_grpc_api.py test_grpc_bad_input.py test_http.py \
    test_http_hostile.py test_bench.py test_grpc_tls.py test_notify.py \
    test_grpc_hostile.py test_http_slots.py test_grpc_api2.py \
    test_snapshot.py test_grpc_reflection.py test_grpc_idle.py; do
    tsan_it "$t"
done

step "libFuzzer targets, a few seconds each"
rm -rf "$out/fuzz"
TC_FUZZ_DIR="$out/fuzz" "$top/scripts/fuzz.sh" -s 5
set -- "$top"/tests/fuzz/fuzz_*.c
passed=$((passed + $#))

if [ -x "$top/scripts/check-distcheck.sh" ]; then
    step "make distcheck"
    "$top/scripts/check-distcheck.sh" "$out/werror"
fi
if [ -x "$top/scripts/check-systemd-unit.sh" ]; then
    step "systemd unit checks"
    "$top/scripts/check-systemd-unit.sh" "$out/werror"
fi
step "all tests passed"
echo "test programs: $passed passed, $failed failed"
