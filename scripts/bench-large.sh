#!/bin/bash
# bench-large.sh: Set and Get of one large value against one or more
# tiny-cached binaries (e.g. a build of the previous commit beside this
# one) in the same rounds: calls/s, the server's CPU per call and the page
# faults it took per call. Run from the repository root:
#
#   scripts/bench-large.sh BINARY...
#
# Environment: ROUNDS (3), N (10000 calls per run), C (16 connections, one
# call in flight each), VALUE (65536 bytes).
#
# Each binary runs as one server (one worker on two CPUs, the default) on
# its own loopback port for the whole benchmark. h2load sends a
# pre-encoded CacheItem (Set) or CacheKey (Get) of the key "big"; every
# run is preceded by 1,000 calls of warm-up. CPU per call is the change of
# utime + stime in /proc/PID/stat over the run, page faults its minflt,
# both divided by the calls. The binaries take turns within each round.
# Needs h2load (nghttp2-client) and xxd.
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh"

[ $# -gt 0 ] || { echo "usage: $0 BINARY..." >&2; exit 2; }
ROUNDS=${ROUNDS:-3}
N=${N:-10000}
C=${C:-16}
VALUE=${VALUE:-65536}
BASE_PORT=${BASE_PORT:-50300}
bench_workdir
bench_need nghttp2-client:h2load xxd:xxd

value=$(head -c "$VALUE" /dev/zero | tr '\0' 'v' | xxd -p | tr -d '\n')
bench_frame "$(bench_key big)12$(bench_varint "$VALUE")$value" >"$WORK/set.bin"
bench_frame "$(bench_key big)" >"$WORK/get.bin"

port=$BASE_PORT
for bin in "$@"; do
    port=$((port + 1))
    CACHE_HOST=127.0.0.1 CACHE_PORT=$port CACHE_HEALTH_PORT=0 \
        CACHE_HEALTH_HOST=127.0.0.1 "$bin" >"$WORK/$port.log" 2>&1 &
    PIDS+=($!)
    bench_wait_port "$port"
done

HZ=$(getconf CLK_TCK)
run() { # pid port method body calls -> "calls/s us/call faults/call"
    local s0 s1 out
    h2load -n 1000 -c "$C" -m 1 -d "$4" -H 'content-type: application/grpc' \
        -H 'te: trailers' "http://127.0.0.1:$2/cache.CacheService/$3" >/dev/null
    s0=$(awk '{print $10, $14 + $15}' "/proc/$1/stat")
    out=$(h2load -n "$5" -c "$C" -m 1 -d "$4" \
        -H 'content-type: application/grpc' -H 'te: trailers' \
        "http://127.0.0.1:$2/cache.CacheService/$3" | awk '/^finished in/ {print $4}')
    s1=$(awk '{print $10, $14 + $15}' "/proc/$1/stat")
    echo "$s0 $s1" | awk -v r="$out" -v n="$5" -v hz="$HZ" \
        '{printf "%s %.1f %.1f\n", r, ($4 - $2) * 1e6 / hz / n, ($3 - $1) / n}'
}

for r in $(seq "$ROUNDS"); do
    for m in Set Get; do
        body=$WORK/set.bin
        [ "$m" = Get ] && body=$WORK/get.bin
        i=0
        for bin in "$@"; do
            read -r cps us pf < <(run "${PIDS[$i]}" $((BASE_PORT + i + 1)) "$m" "$body" "$N")
            printf 'round %d: %s %s of %d bytes: %s calls/s, server %s us/call, %s page faults/call\n' \
                "$r" "$bin" "$m" "$VALUE" "$cps" "$us" "$pf"
            i=$((i + 1))
        done
    done
done
