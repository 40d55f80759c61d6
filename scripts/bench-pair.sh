#!/bin/bash
# bench-pair.sh: two tiny-cached servers compared in pairs of short runs,
# for differences of a few per cent that a shared machine's drift hides
# from the medians of longer rounds. Run from the repository root:
#
#   scripts/bench-pair.sh BINARY_A BINARY_B [BUILD_DIR]   (default: build)
#
# Environment: PAIRS (30), N (10000 calls a run), C (16 connections, one
# call in flight each), METHOD (MultiGet of 100 keys of 100-byte values,
# or Get of one of them), A_ENV and B_ENV (settings for one server only,
# e.g. B_ENV="CACHE_WORKERS=1" with the same binary twice).
#
# Both servers run for the whole benchmark on their own loopback ports,
# loaded with the keys bench:0 .. bench:99. Each pair is one h2load run
# against A and one against B, straight after each other, the order
# alternating from pair to pair, so that both runs of a pair see the
# machine in the same state. Prints one line per pair and, over all
# pairs, the median calls/s and server CPU per call (all its threads,
# /proc/PID/task/*/schedstat) of each, then the median and quartiles of
# the pairs' ratios B/A: the ratio of two identical servers spreads about
# +-11 % between its quartiles on a 2-vCPU VM (docs/benchmarks.md). Needs h2load
# (nghttp2-client) and xxd.
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh"

[ $# -ge 2 ] || { echo "usage: $0 BINARY_A BINARY_B [BUILD_DIR]" >&2; exit 2; }
A=$1 B=$2
CLI=${3:-build}/tiny-cache-cli
PAIRS=${PAIRS:-30}
N=${N:-10000}
C=${C:-16}
METHOD=${METHOD:-MultiGet}
APORT=${APORT:-50311}
BPORT=${BPORT:-50312}
bench_workdir
bench_need nghttp2-client:h2load xxd:xxd
[ -x "$CLI" ] || { echo "bench-pair.sh: $CLI not built" >&2; exit 1; }

body="" args=()
value=$(head -c 100 /dev/zero | tr '\0' 'v')
for i in $(seq 0 99); do
    k="bench:$i"
    body+=$(bench_key "$k")
    args+=("$k" "$value")
done
case $METHOD in
MultiGet) bench_frame "$body" >"$WORK/req.bin" ;;
Get) bench_frame "$(bench_key bench:0)" >"$WORK/req.bin" ;;
*) echo "bench-pair.sh: METHOD is MultiGet or Get" >&2; exit 2 ;;
esac

start() { # binary port settings
    # shellcheck disable=SC2086 # the settings are words of env's
    env CACHE_HOST=127.0.0.1 CACHE_PORT="$2" CACHE_HEALTH_PORT=0 \
        CACHE_HEALTH_HOST=127.0.0.1 $3 "$1" >"$WORK/$2.log" 2>&1 &
    PIDS+=($!)
    bench_wait_port "$2"
    "$CLI" -H 127.0.0.1 -p "$2" mset "${args[@]}" >/dev/null
}
start "$A" "$APORT" "${A_ENV:-}"
APID=${PIDS[0]}
start "$B" "$BPORT" "${B_ENV:-}"
BPID=${PIDS[1]}

cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{s += $1} END {printf "%d", s}'; }
run() { # pid port calls -> "calls/s server-us/call"
    local c0 c1 r
    c0=$(cpu_ns "$1")
    r=$(h2load -n "$3" -c "$C" -m 1 -d "$WORK/req.bin" \
        -H 'content-type: application/grpc' -H 'te: trailers' \
        "http://127.0.0.1:$2/cache.CacheService/$METHOD" |
        awk '/^finished in/ {print $4}')
    c1=$(cpu_ns "$1")
    awk -v r="$r" -v d=$((c1 - c0)) -v n="$3" 'BEGIN {printf "%s %.2f\n", r, d / 1000 / n}'
}
run "$APID" "$APORT" 2000 >/dev/null # warm-up
run "$BPID" "$BPORT" 2000 >/dev/null
for p in $(seq "$PAIRS"); do
    if [ $((p % 2)) -eq 1 ]; then
        read -r ar au < <(run "$APID" "$APORT" "$N")
        read -r br bu < <(run "$BPID" "$BPORT" "$N")
    else
        read -r br bu < <(run "$BPID" "$BPORT" "$N")
        read -r ar au < <(run "$APID" "$APORT" "$N")
    fi
    echo "pair $p: A $ar calls/s ($au us/call), B $br calls/s ($bu us/call)"
    echo "$ar $au $br $bu" >>"$WORK/pairs"
done
col() { awk -v c="$1" '{print $c}' "$WORK/pairs" | bench_median; }
quart() { # awk expression of the columns -> "median (quartiles q1-q3)"
    awk "{print $1}" "$WORK/pairs" | sort -g | awk '{a[++n] = $1}
        END {printf "%.3f (quartiles %.3f-%.3f)", a[int((n + 1) / 2)],
             a[int((n + 3) / 4)], a[int((3 * n + 3) / 4)]}'
}
printf 'median: A %s calls/s, %s us/call; B %s calls/s, %s us/call\n' \
    "$(col 1)" "$(col 2)" "$(col 3)" "$(col 4)"
printf 'pairs B/A: calls/s %s; server CPU per call %s\n' \
    "$(quart '$3 / $1')" "$(quart '$4 / $2')"
