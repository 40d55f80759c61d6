#!/bin/bash
# bench-batch.sh: keys per second of a MultiGet of 100 keys against Redis's
# MGET of the same 100 keys and values, on the same machine in the same run,
# with single Gets of tiny-cached beside them. Run from the repository root:
#
#   scripts/bench-batch.sh [BUILD_DIR]        (default: build)
#
# Environment: ROUNDS (3), N (20000 batch calls per run; the single Gets
# run N * 10 calls), C (16 connections, one call in flight each, as
# redis-benchmark -c does), KEYS (100), VALUE (100 bytes).
#
# tiny-cached is driven by h2load with a pre-encoded MultiCacheKeyRequest
# (and CacheKey for the single Gets), Redis by redis-benchmark with the
# MGET command; both hold the same keys bench:0 .. bench:99 with 100-byte
# values, loaded before the timed runs. The order of the servers alternates
# every round. Prints one line per run and the medians; keys/s is calls/s
# times the keys per call. Needs h2load (nghttp2-client), redis-server and
# redis-tools, xxd.
set -euo pipefail

BUILD=${1:-build}
ROUNDS=${ROUNDS:-3}
N=${N:-20000}
C=${C:-16}
KEYS=${KEYS:-100}
VALUE=${VALUE:-100}
TC=$BUILD/tiny-cached
CLI=$BUILD/tiny-cache-cli
PORT=${PORT:-50091}
RPORT=${RPORT:-50092}
WORK=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT

[ -x "$TC" ] || { echo "bench-batch.sh: $TC not built" >&2; exit 1; }

frame() { # hex of a protobuf message -> a gRPC message on stdout
    local hex=$1 len=$((${#1} / 2))
    printf '00%08x%s' "$len" "$hex" | xxd -r -p
}
hex() { printf '%s' "$1" | xxd -p | tr -d '\n'; }

keys=() body=
for i in $(seq 0 $((KEYS - 1))); do
    k="bench:$i"
    keys+=("$k")
    body+=$(printf '0a%02x%s' "${#k}" "$(hex "$k")")
done
frame "$body" >"$WORK/mget.bin"
frame "0a07$(hex bench:0)" >"$WORK/get.bin"
value=$(head -c "$VALUE" /dev/zero | tr '\0' 'v')

wait_port() {
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "bench-batch.sh: nothing listening on $1" >&2
    exit 1
}

CACHE_HOST=127.0.0.1 CACHE_PORT=$PORT CACHE_HEALTH_PORT=0 \
    CACHE_HEALTH_HOST=127.0.0.1 "$TC" >"$WORK/tc.log" 2>&1 &
PIDS+=($!)
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no \
    >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
wait_port "$PORT"
wait_port "$RPORT"
args=()
for k in "${keys[@]}"; do args+=("$k" "$value"); done
"$CLI" -H 127.0.0.1 -p "$PORT" mset "${args[@]}" >/dev/null
redis-cli -p "$RPORT" MSET "${args[@]}" >/dev/null

h2() { # request file, path, calls -> calls/s
    h2load -n "$3" -c "$C" -m 1 -d "$1" \
        -H 'content-type: application/grpc' -H 'te: trailers' \
        "http://127.0.0.1:$PORT/cache.CacheService/$2" 2>&1 |
        awk '/^finished in/ {print $4}'
}
rb() { # calls -> MGET calls/s
    redis-benchmark -p "$RPORT" -c "$C" -n "$1" -q MGET "${keys[@]}" |
        awk '{for (i = 1; i <= NF; i++) if ($i ~ /requests/) print $(i - 1)}' |
        tail -n 1
}

h2 "$WORK/mget.bin" MultiGet 2000 >/dev/null   # warm-up
rb 2000 >/dev/null
tc_kps=() rd_kps=() get_cps=()
for r in $(seq "$ROUNDS"); do
    if [ $((r % 2)) -eq 1 ]; then
        t=$(h2 "$WORK/mget.bin" MultiGet "$N"); d=$(rb "$N")
    else
        d=$(rb "$N"); t=$(h2 "$WORK/mget.bin" MultiGet "$N")
    fi
    g=$(h2 "$WORK/get.bin" Get $((N * 10)))
    tk=$(awk -v c="$t" -v k="$KEYS" 'BEGIN {printf "%.0f", c * k}')
    rk=$(awk -v c="$d" -v k="$KEYS" 'BEGIN {printf "%.0f", c * k}')
    printf 'round %d: tiny-cached MultiGet %s calls/s = %s keys/s; ' \
        "$r" "$t" "$tk"
    printf 'Redis MGET %s calls/s = %s keys/s; ratio %s; ' "$d" "$rk" \
        "$(awk -v a="$tk" -v b="$rk" 'BEGIN {printf "%.2f", a / b}')"
    printf 'tiny-cached Get %s calls/s\n' "$g"
    tc_kps+=("$tk") rd_kps+=("$rk") get_cps+=("$g")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
mt=$(median "${tc_kps[@]}") mr=$(median "${rd_kps[@]}") mg=$(median "${get_cps[@]}")
printf 'median: tiny-cached MultiGet %s keys/s, Redis MGET %s keys/s, ratio %s; tiny-cached Get %s calls/s (%s keys/s)\n' \
    "$mt" "$mr" "$(awk -v a="$mt" -v b="$mr" 'BEGIN {printf "%.2f", a / b}')" "$mg" "$mg"
