#!/bin/bash
# bench-grpc.sh: gRPC throughput and server CPU per call of tiny-cached
# against the C++ null server (bench/null-server: gRPC's own C++ server
# answering Get and Set with no work behind them), driven by h2load with
# the same pre-encoded requests. Run from the repository root:
#
#   scripts/bench-grpc.sh [BUILD_DIR]   (default: build)
#
# Environment: ROUNDS (5), N (200000 calls per run), WARMUP (5000),
# RUNS ("16x16 4x64": connections x streams per connection),
# SERVERS ("null tc tcall": the null server, tiny-cached with CACHE_WORKERS
# unset, tiny-cached with one worker per CPU; also tc1, one worker),
# METHODS ("Get Set").
#
# Every run starts a fresh server, warms it up, sets the Get key (100-byte
# value), then runs h2load. Server CPU per call is the change of utime +
# stime in /proc/PID/stat over the measured run divided by the calls. Server
# order rotates every round. Prints one line per run, then medians with
# ratios to the null server.
# Needs: h2load (nghttp2-client), xxd, and for the null server g++,
# libgrpc++-dev, protobuf-compiler and protobuf-compiler-grpc.
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh"

BUILD=${1:-build}
ROUNDS=${ROUNDS:-5}
N=${N:-200000}
WARMUP=${WARMUP:-5000}
RUNS=${RUNS:-"16x16 4x64"}
SERVERS=${SERVERS:-"null tc tcall"}
METHODS=${METHODS:-"Get Set"}
PORT=${PORT:-50071}
TC=$BUILD/tiny-cached
NULL_SERVER=$PWD/.null-server/null-server
case " $SERVERS " in
*" null "*)
    make -s -f bench/null-server/null-server.mk OUT="$PWD/.null-server" \
        >/dev/null || {
        echo "bench-grpc.sh: cannot build bench/null-server: apt-get install" \
            "g++ libgrpc++-dev protobuf-compiler protobuf-compiler-grpc" >&2
        exit 1
    } ;;
esac
WORK=$(mktemp -d)
SERVER_PID=
trap 'stop_server; rm -rf "$WORK"' EXIT

[ -x "$TC" ] || { echo "bench-grpc.sh: $TC not built" >&2; exit 1; }

# The requests: CacheKey{key} and CacheItem{key, value} as gRPC messages.
KEY_HEX=$(bench_hex bench-key)           # 9 bytes
VALUE_HEX=$(bench_hex "$(head -c 100 /dev/zero | tr '\0' 'v')")
bench_frame "0a09${KEY_HEX}" > "$WORK/Get.bin"
bench_frame "0a09${KEY_HEX}1264${VALUE_HEX}" > "$WORK/Set.bin"

CPU_TICKS=$(getconf CLK_TCK)

start_server() {
    case $1 in
    null) "$NULL_SERVER" "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 & ;;
    tc) CACHE_HOST=127.0.0.1 CACHE_PORT=$PORT CACHE_HEALTH_PORT=0 \
        "$TC" >"$WORK/server.log" 2>&1 & ;;
    tc1) CACHE_HOST=127.0.0.1 CACHE_PORT=$PORT CACHE_HEALTH_PORT=0 \
        CACHE_WORKERS=1 "$TC" >"$WORK/server.log" 2>&1 & ;;
    tcall) CACHE_HOST=127.0.0.1 CACHE_PORT=$PORT CACHE_HEALTH_PORT=0 \
        CACHE_WORKERS=$(nproc) "$TC" >"$WORK/server.log" 2>&1 & ;;
    esac
    SERVER_PID=$!
    bench_wait_port "$PORT"
}

stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
}

h2() { # method n connections streams
    h2load -n "$2" -c "$3" -m "$4" \
        --header 'content-type: application/grpc' --header 'te: trailers' \
        -d "$WORK/$1.bin" "http://127.0.0.1:$PORT/cache.CacheService/$1"
}

# One measured run; prints: server method run req/s mean-latency cpu-us/call
run_one() {
    local srv=$1 method=$2 run=$3 c=${3%x*} m=${3#*x} t0 t1 out
    start_server "$srv"
    h2 Set 1 1 1 >/dev/null
    h2 "$method" "$WARMUP" "$c" "$m" >/dev/null
    t0=$(bench_cpu_ticks "$SERVER_PID")
    out=$(h2 "$method" "$N" "$c" "$m")
    t1=$(bench_cpu_ticks "$SERVER_PID")
    stop_server
    if ! grep -q "succeeded, 0 failed, 0 errored" <<<"$out"; then
        echo "bench-grpc.sh: failed calls in $srv $method $run" >&2
        grep "requests:" <<<"$out" >&2
    fi
    awk -v s="$srv" -v me="$method" -v r="$run" -v n="$N" \
        -v dt=$((t1 - t0)) -v hz="$CPU_TICKS" '
        /^finished in/ { rps = $4 }
        /^time for request:/ { mean = $5 }
        END {
            ms = mean + 0
            if (mean ~ /us$/) ms /= 1000
            else if (mean !~ /ms$/) ms *= 1000
            printf "%s %s %s %.0f %.2fms %.1f\n", s, me, r, rps, ms,
                   dt * 1e6 / hz / n }' <<<"$out"
}

echo "# $(date -u +%FT%TZ) $(nproc) CPUs, N=$N, rounds=$ROUNDS"
echo "# server method run req/s mean-latency cpu-us/call"
servers=($SERVERS)
for round in $(seq "$ROUNDS"); do
    # rotate the server order each round
    k=$(( (round - 1) % ${#servers[@]} ))
    order=("${servers[@]:k}" "${servers[@]:0:k}")
    for run in $RUNS; do
        for method in $METHODS; do
            for srv in "${order[@]}"; do
                run_one "$srv" "$method" "$run" | tee -a "$WORK/results"
            done
        done
    done
done

echo "# medians: server method run req/s mean-latency cpu-us/call (ratios to null)"
for run in $RUNS; do
    for method in $METHODS; do
        for srv in $SERVERS; do
            sel() { awk -v s="$srv" -v me="$method" -v r="$run" -v c="$1" \
                '$1 == s && $2 == me && $3 == r { print $c }' "$WORK/results"; }
            echo "$srv $method $run $(sel 4 | bench_median)" \
                "$(sel 5 | tr -d ms | bench_median)ms $(sel 6 | bench_median)"
        done
    done
done | awk '$1 == "null" { ref[$2 $3] = $4; refc[$2 $3] = $6 }
    { rows[NR] = $0; k[NR] = $2 $3; r[NR] = $4; c[NR] = $6 }
    END { for (i = 1; i <= NR; i++)
        if (ref[k[i]] > 0 && refc[k[i]] > 0)
            printf "%s  x%.2f req/s  x%.2f cpu\n", rows[i],
                   r[i] / ref[k[i]], c[i] / refc[k[i]]
        else
            print rows[i] }'
