#!/bin/bash
# bench-instructions.sh: user-space instructions per call of gRPC servers,
# counted by callgrind, for comparisons that the CPU time of a shared
# machine is too noisy to show (it spreads by 20 % from run to run; the
# instruction count repeats to about 0.1 %). Run from the repository root:
#
#   scripts/bench-instructions.sh SERVER...
#
# SERVER is a tiny-cached binary (run with one worker), "null" for the
# C++ null server of bench/null-server (built as scripts/bench-grpc.sh
# builds it), or "redis" for redis-server driven by redis-benchmark with
# the same command (GET, SET, or MGET of the same 100 keys; M calls in
# flight a connection are -P M, pipelined), loaded the same way: a peer
# for a count that does not depend on the machine's noise. Environment: N (10000 measured calls), BASE (1000), C (16
# connections), M (16 calls in flight per connection), METHOD (Get, Set or
# MultiGet: 100 keys of 100-byte values), PRELOAD (a library to preload
# into each server, e.g. to try a setting without rebuilding).
#
# Each server runs under valgrind --tool=callgrind twice, serving BASE
# calls then BASE + N calls from h2load with a pre-encoded request; the
# difference of the two totals over N is the count per call, start-up and
# shutdown taken out. The kernel's work is not counted, nor is time: this
# compares code paths, not speed. Needs valgrind, h2load (nghttp2-client)
# and xxd; redis-server and redis-tools for "redis".
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh"

N=${N:-10000}
BASE=${BASE:-1000}
C=${C:-16}
M=${M:-16}
METHOD=${METHOD:-Get}
PRELOAD=${PRELOAD:-}
PORT=${PORT:-50077}
NULL_SERVER=$PWD/.null-server/null-server
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
[ $# -gt 0 ] || { echo "usage: $0 SERVER..." >&2; exit 2; }
bench_need valgrind:valgrind nghttp2-client:h2load xxd:xxd
case " $* " in
*" redis "*) bench_need redis-server:redis-server redis-tools:redis-benchmark ;;
esac
case " $* " in
*" null "*)
    make -s -f bench/null-server/null-server.mk OUT="$PWD/.null-server" \
        >/dev/null ;;
esac

VALUE=$(head -c 100 /dev/zero | tr '\0' 'v')
bench_frame "$(bench_key bench-key)" >"$WORK/Get.bin"
bench_frame "$(bench_key bench-key)1264$(bench_hex "$VALUE")" >"$WORK/Set.bin"
keys=
for i in $(seq 0 99); do
    k="bench:$i"
    keys+=$(bench_key "$k")
    # CacheItem{key, value} as field 1 of a MultiCacheItemRequest
    item="$(bench_key "$k")1264$(bench_hex "$VALUE")"
    printf '0a%02x%s' $((${#item} / 2)) "$item" >>"$WORK/mset.hex"
done
bench_frame "$keys" >"$WORK/MultiGet.bin"
bench_frame "$(cat "$WORK/mset.hex")" >"$WORK/MultiSet.bin"

h2() { # method calls [connections streams]
    h2load -n "$2" -c "${3:-$C}" -m "${4:-$M}" \
        --header 'content-type: application/grpc' --header 'te: trailers' \
        -d "$WORK/$1.bin" "http://127.0.0.1:$PORT/cache.CacheService/$1" \
        >/dev/null
}

redis() { # calls: the keys loaded, then CALLS of METHOD's command
    local rb=(redis-benchmark -p "$PORT" -c "$C" -P "$M" -n "$1" -q)
    local k=() kv=() i
    for i in $(seq 0 99); do k+=("bench:$i"); kv+=("bench:$i" "$VALUE"); done
    redis-cli -p "$PORT" MSET "${kv[@]}" bench-key "$VALUE" >/dev/null
    case $METHOD in
    Get) "${rb[@]}" GET bench-key ;;
    Set) "${rb[@]}" SET bench-key "$VALUE" ;;
    MultiGet) "${rb[@]}" MGET "${k[@]}" ;;
    *) echo "bench-instructions.sh: no Redis command for $METHOD" >&2; exit 2 ;;
    esac >/dev/null
}

# count SERVER CALLS: the callgrind total of a server that served CALLS.
count() {
    local pid out=$WORK/callgrind.out
    local vg=(valgrind --tool=callgrind --callgrind-out-file="$out")
    rm -f "$out"
    if [ "$1" = null ]; then
        LD_PRELOAD=$PRELOAD "${vg[@]}" "$NULL_SERVER" 127.0.0.1:"$PORT" \
            >/dev/null 2>"$WORK/valgrind.log" &
    elif [ "$1" = redis ]; then
        "${vg[@]}" redis-server --port "$PORT" --bind 127.0.0.1 --save '' \
            --appendonly no >/dev/null 2>"$WORK/valgrind.log" &
    else
        LD_PRELOAD=$PRELOAD CACHE_HOST=127.0.0.1 CACHE_PORT=$PORT \
            CACHE_HEALTH_PORT=0 CACHE_WORKERS=1 "${vg[@]}" "$1" \
            >/dev/null 2>"$WORK/valgrind.log" &
    fi
    pid=$!
    for _ in $(seq 600); do # valgrind starts slowly: up to 30 s
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
        sleep 0.05
    done
    if [ "$1" = redis ]; then
        redis "$2"
    else
        if [ "$METHOD" = MultiGet ]; then h2 MultiSet 1 1 1; else h2 Set 1 1 1; fi
        h2 "$METHOD" "$2"
    fi
    kill -TERM "$pid"
    wait "$pid" || true
    awk '/^(summary|totals):/ { print $2; exit }' "$out"
}

echo "# $(date -u +%FT%TZ) $METHOD, $C x $M in flight, N=$N," \
    "user-space instructions per call${PRELOAD:+, LD_PRELOAD=$PRELOAD}"
for srv in "$@"; do
    a=$(count "$srv" "$BASE")
    b=$(count "$srv" $((BASE + N)))
    echo "$srv $(( (b - a) / N ))"
done
