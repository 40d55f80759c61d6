#!/bin/bash
# bench-latency.sh: tail latency of one-key Gets (100-byte value) on a
# shared machine: tiny-cached driven by tiny-cache-bench beside Redis
# driven by redis-benchmark, same machine, same run, client and server on
# the same cores. Run from the repository root:
#
#   scripts/bench-latency.sh [BUILD_DIR]   (default: build)
#
# Environment: ROUNDS (3), SECONDS_RUN (5 per tiny-cached run), N_REDIS
# (200000 Gets per Redis run), SHAPES ("16x1 64x4": connections x calls in
# flight per connection), CASES (see below), HOG (0; 1 adds a busy loop
# pinned to CPU 0 for the whole script, the "busy neighbour"), WORKERS_MAX
# (2).
#
# CASES, each "server:workers:bench-threads": "redis" (redis-server, one
# thread), "tc:W:T" (tiny-cached with CACHE_WORKERS=W, W=default leaves it
# unset, driven by tiny-cache-bench -t T), "h2load:W" (tiny-cached with
# CACHE_WORKERS=W driven by h2load, one thread, with a pre-encoded Get; the
# percentiles from its per-request log). Default:
#   "redis tc:default:1 tc:default:2 tc:1:1 tc:2:1 tc:2:2"
# Per run: calls/s, p50, p99, p99.9 (tiny-cache-bench's histogram, or
# h2load's log; Redis reports no p99.9) and, for tiny-cached, server CPU
# per call (utime + stime of the daemon over the run / calls); then the
# mean latency each tool reports and the cycle, calls in flight / calls/s:
# the mean time from one start of a call on its connection to the next
# (Little's law). Each tool's clock runs from a call's start (the request's
# write, for redis-benchmark) to its reply, and leaves out the client's
# time between a reply and the next request on that connection, so the
# mean is short of the cycle by that wait. Cases rotate every round;
# prints one line per run, then medians.
# Needs: redis-server and redis-tools (benchmark only), h2load
# (nghttp2-client) and xxd for the h2load case.
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh"

BUILD=${1:-build}
ROUNDS=${ROUNDS:-3}
SECONDS_RUN=${SECONDS_RUN:-5}
N_REDIS=${N_REDIS:-200000}
SHAPES=${SHAPES:-"16x1 64x4"}
CASES=${CASES:-"redis tc:default:1 tc:default:2 tc:1:1 tc:2:1 tc:2:2"}
HOG=${HOG:-0}
PORT=${PORT:-50081}
RPORT=${RPORT:-6389}
TC=$BUILD/tiny-cached
BENCH=$BUILD/tiny-cache-bench
WORK=$(mktemp -d)
PID=
HOG_PID=
trap 'stop; [ -z "$HOG_PID" ] || kill "$HOG_PID" 2>/dev/null; rm -rf "$WORK"' EXIT

for b in "$TC" "$BENCH"; do
    [ -x "$b" ] || { echo "bench-latency.sh: $b not built" >&2; exit 1; }
done
bench_need redis-server:redis-server redis-tools:redis-benchmark \
    nghttp2-client:h2load xxd:xxd
HZ=$(getconf CLK_TCK)
VALUE=$(head -c 100 /dev/zero | tr '\0' v)
KEY=key:000000000000 # the key tiny-cache-bench --keyspace 1 fills
bench_frame "0a$(printf %02x ${#KEY})$(bench_hex "$KEY")" >"$WORK/get.bin"

stop() {
    if [ -n "$PID" ]; then
        kill "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
        PID=
    fi
}

# redis CONNECTIONS INFLIGHT: prints calls/s p50 p99 p99.9 (us)
run_redis() {
    redis-server --port "$RPORT" --save '' --appendonly no \
        >"$WORK/redis.log" 2>&1 &
    PID=$!
    bench_wait_port "$RPORT"
    redis-cli -p "$RPORT" set key:__rand_int__ "$VALUE" >/dev/null
    redis-benchmark -p "$RPORT" -c "$1" -P "$2" -n "$N_REDIS" -t get \
        --csv 2>/dev/null | awk -F'"' -v f="$(($1 * $2))" '$2 == "GET" {
            printf "%.0f %.0f %.0f - - %.0f %.0f\n", $4, $10 * 1000,
                $14 * 1000, $6 * 1000, f / $4 * 1e6 }'
    stop
}

# start_tc WORKERS: a fresh tiny-cached (WORKERS=default: its default) in
# PID, holding the bench's one key with a 100-byte value.
start_tc() {
    local workers=()
    [ "$1" = default ] || workers=(CACHE_WORKERS="$1")
    env CACHE_HOST=127.0.0.1 CACHE_PORT="$PORT" CACHE_HEALTH_PORT=0 \
        "${workers[@]}" "$TC" >"$WORK/tc.log" 2>&1 &
    PID=$!
    bench_wait_port "$PORT"
    "$BENCH" -p "$PORT" -c 1 -m 1 -t 1 -n 1 --keyspace 1 --fill \
        --ratio 1:0:0:0:0 >/dev/null
}

# h2get CONNECTIONS INFLIGHT SECONDS LOG: h2load's Gets, each logged to LOG
h2get() {
    h2load -c "$1" -m "$2" -D "$3" --log-file="$4" -d "$WORK/get.bin" \
        -H 'content-type: application/grpc' -H 'te: trailers' \
        "http://127.0.0.1:$PORT/cache.CacheService/Get"
}

# h2load WORKERS CONNECTIONS INFLIGHT: calls/s p50 p99 p99.9 cpu-us mean
run_h2load() {
    local t0 t1 out
    start_tc "$1"
    h2get "$2" "$3" 1 /dev/null >/dev/null
    rm -f "$WORK/h2.log" # h2load appends to its log
    t0=$(bench_cpu_ticks "$PID")
    out=$(h2get "$2" "$3" "$SECONDS_RUN" "$WORK/h2.log")
    t1=$(bench_cpu_ticks "$PID")
    stop
    printf '%s\n' "$out" | grep -q "status codes: [0-9]* 2xx, 0 3xx, 0 4xx, 0 5xx" ||
        echo "bench-latency.sh: h2load saw failed calls" >&2
    sort -n -k3,3 "$WORK/h2.log" | awk -v t="$((t1 - t0))" -v hz="$HZ" \
        -v f="$(($2 * $3))" -v s="$SECONDS_RUN" '
        { a[++n] = $3; sum += $3 }
        END { rate = n / s
              printf "%.0f %.0f %.0f %.0f %.1f %.0f %.0f\n", rate, a[int(n * .5)],
                  a[int(n * .99)], a[int(n * .999)], t / hz * 1e6 / n,
                  sum / n, f / rate * 1e6 }'
}

# tc WORKERS THREADS CONNECTIONS INFLIGHT: calls/s p50 p99 p99.9 cpu-us
run_tc() {
    local t0 t1 json
    start_tc "$1"
    "$BENCH" -p "$PORT" -c "$3" -m "$4" -t "$2" -d 1 --keyspace 1 \
        --ratio 1:0:0:0:0 >/dev/null
    t0=$(bench_cpu_ticks "$PID")
    json=$("$BENCH" -p "$PORT" -c "$3" -m "$4" -t "$2" -d "$SECONDS_RUN" \
        --keyspace 1 --ratio 1:0:0:0:0 --json)
    t1=$(bench_cpu_ticks "$PID")
    stop
    /usr/bin/python3 -c '
import json, sys
r = json.loads(sys.argv[1])
bad = sum(v for k, v in r["status_counts"].items() if k != "OK")
if bad:
    print("bench-latency.sh: %d failed calls" % bad, file=sys.stderr)
l = r["latency_us"]
rate = r["requests_per_second"]
print("%.0f %.0f %.0f %.0f %.1f %.0f %.0f" % (rate, l["p50"], l["p99"],
      l["p999"], (int(sys.argv[2]) / int(sys.argv[3]) * 1e6) / r["requests"],
      l["mean"], int(sys.argv[4]) / rate * 1e6))
' "$json" "$((t1 - t0))" "$HZ" "$(($3 * $4))"
}

run_case() { # case shape
    local c=${2%x*} m=${2#*x} w t
    case $1 in
    redis) run_redis "$c" "$m" ;;
    tc:*)
        IFS=: read -r _ w t <<<"$1"
        run_tc "$w" "$t" "$c" "$m" ;;
    h2load:*) run_h2load "${1#h2load:}" "$c" "$m" ;;
    esac
}

if [ "$HOG" = 1 ]; then
    taskset -c 0 sh -c 'while :; do :; done' &
    HOG_PID=$!
fi
echo "# $(date -u +%FT%TZ) $(nproc) CPUs, rounds=$ROUNDS, hog=$HOG"
echo "# case shape calls/s p50-us p99-us p99.9-us server-cpu-us/call mean-us cycle-us"
cases=($CASES)
for round in $(seq "$ROUNDS"); do
    k=$(( (round - 1) % ${#cases[@]} ))
    order=("${cases[@]:k}" "${cases[@]:0:k}")
    for shape in $SHAPES; do
        for cs in "${order[@]}"; do
            echo "$cs $shape $(run_case "$cs" "$shape")" | tee -a "$WORK/results"
        done
    done
done

echo "# medians: case shape calls/s p50-us p99-us p99.9-us server-cpu-us/call mean-us cycle-us"
for shape in $SHAPES; do
    for cs in $CASES; do
        row="$cs $shape"
        for col in 3 4 5 6 7 8 9; do
            row="$row $(awk -v c="$cs" -v s="$shape" -v k="$col" \
                '$1 == c && $2 == s && $k != "-" { print $k }' \
                "$WORK/results" | bench_median)"
        done
        echo "$row"
    done
done
