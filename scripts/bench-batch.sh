#!/bin/bash
# bench-batch.sh: keys per second of a MultiGet of 100 keys against Redis's
# MGET of the same 100 keys and values, on the same machine in the same run,
# with single Gets of tiny-cached beside them. Run from the repository root:
#
#   scripts/bench-batch.sh [BUILD_DIR]        (default: build)
#
# Environment: ROUNDS (3), N (20000 batch calls per run; the single Gets
# run N * 10 calls), C (16 connections), M (1 call in flight on each;
# more is h2load -m M against redis-benchmark -P M, M pipelined commands
# a connection), KEYS (100), VALUE (100 bytes), OLD (another
# tiny-cached binary, e.g. a build of the previous commit, run beside the
# first in the same rounds, MultiGet and Get; default none).
#
# Each round also times a Get of one value whose reply is exactly as long
# as the MultiGet's (the key bench:whole): the same bytes through gRPC and
# the kernel with none of the per-key work, so its calls/s against MGET's
# is the most a MultiGet could reach on this machine.
#
# tiny-cached is driven by h2load with a pre-encoded MultiCacheKeyRequest
# (and CacheKey for the single Gets), Redis by redis-benchmark with the
# MGET command; both hold the same keys bench:0 .. bench:99 with 100-byte
# values, loaded before the timed runs. The order of the servers alternates
# every round. Prints one line per run and the medians; keys/s is calls/s
# times the keys per call. Beside each run: the CPU time the server spent
# per call (all its threads, from /proc/PID/task/*/schedstat, in
# microseconds; its system part from /proc/PID/stat, to the clock tick)
# and the client's (user + system, /usr/bin/time), since
# client and server share the machine's cores. Needs h2load
# (nghttp2-client), redis-server and redis-tools, xxd, time.
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh"

BUILD=${1:-build}
ROUNDS=${ROUNDS:-3}
N=${N:-20000}
C=${C:-16}
M=${M:-1}
KEYS=${KEYS:-100}
VALUE=${VALUE:-100}
TC=$BUILD/tiny-cached
CLI=$BUILD/tiny-cache-cli
OLD=${OLD:-}
PORT=${PORT:-50091}
RPORT=${RPORT:-50092}
OPORT=${OPORT:-50095}
bench_workdir

[ -x "$TC" ] || { echo "bench-batch.sh: $TC not built" >&2; exit 1; }
bench_need redis-server:redis-server redis-tools:redis-benchmark \
    nghttp2-client:h2load xxd:xxd time:/usr/bin/time


keys=() body=
for i in $(seq 0 $((KEYS - 1))); do
    k="bench:$i"
    keys+=("$k")
    body+=$(bench_key "$k")
done
bench_frame "$body" >"$WORK/mget.bin"
bench_frame "$(bench_key bench:0)" >"$WORK/get.bin"
value=$(head -c "$VALUE" /dev/zero | tr '\0' 'v')

start_tc() { # binary, port, log
    CACHE_HOST=127.0.0.1 CACHE_PORT=$2 CACHE_HEALTH_PORT=0 \
        CACHE_HEALTH_HOST=127.0.0.1 "$1" >"$3" 2>&1 &
    PIDS+=($!)
}
start_tc "$TC" "$PORT" "$WORK/tc.log"
TPID=$!
if [ -n "$OLD" ]; then
    start_tc "$OLD" "$OPORT" "$WORK/old.log"
    OPID=$!
fi
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no \
    >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
RDPID=$!
bench_wait_port "$PORT"
bench_wait_port "$RPORT"
args=()
for k in "${keys[@]}"; do args+=("$k" "$value"); done
"$CLI" -H 127.0.0.1 -p "$PORT" mset "${args[@]}" >/dev/null
if [ -n "$OLD" ]; then
    bench_wait_port "$OPORT"
    "$CLI" -H 127.0.0.1 -p "$OPORT" mset "${args[@]}" >/dev/null
fi
redis-cli -p "$RPORT" MSET "${args[@]}" >/dev/null
# bench:whole: a CacheValue (found, then the value) as long as the
# MultiGet's reply message, whose length h2load reports with the frame's
# 5-byte header; the value's length varint takes vl bytes
whole=$(h2load -n 1 -c 1 -m 1 -d "$WORK/mget.bin" -H 'content-type: application/grpc' \
    -H 'te: trailers' "http://127.0.0.1:$PORT/cache.CacheService/MultiGet" |
    awk '/^traffic:/ {m = substr($(NF - 1), 2) - 5
        for (vl = 1; vl <= 3; vl++) {v = m - 3 - vl
            if (v >= 0 && v < 128 ^ vl && (vl == 1 || v >= 128 ^ (vl - 1))) print v}}')
[ -n "$whole" ] || { echo "bench-batch.sh: the MultiGet got no reply to size bench:whole by" >&2; exit 1; }
# set from a request file: a value over 128 KiB cannot be a command's argument
bench_frame "$(bench_key bench:whole)12$(bench_varint "$whole")$(bench_hex \
    "$(head -c "$whole" /dev/zero | tr '\0' 'w')")" >"$WORK/whole-set.bin"
h2load -n 1 -c 1 -m 1 -d "$WORK/whole-set.bin" -H 'content-type: application/grpc' \
    -H 'te: trailers' "http://127.0.0.1:$PORT/cache.CacheService/Set" >/dev/null
"$CLI" -H 127.0.0.1 -p "$PORT" get bench:whole >/dev/null ||
    { echo "bench-batch.sh: bench:whole ($whole bytes) was not stored" >&2; exit 1; }
bench_frame "$(bench_key bench:whole)" >"$WORK/whole.bin"

cpu_us() { # pid -> CPU time of all its threads so far, microseconds
    cat /proc/"$1"/task/*/schedstat | awk '{s += $1} END {printf "%d", s / 1000}'
}
HZ=$(getconf CLK_TCK)
sys_us() { # pid -> system time of the process so far, microseconds
    awk -v hz="$HZ" '{printf "%d", $15 * 1e6 / hz}' /proc/"$1"/stat
}
# One timed run: "calls/s server-us/call client-us/call server-kernel-us/call"
# on stdout.
measure() { # server pid, calls, command...
    local pid=$1 n=$2 c0 c1 k0 k1 out
    shift 2
    c0=$(cpu_us "$pid") k0=$(sys_us "$pid")
    out=$(/usr/bin/time -f 'CLIENTCPU %U %S' "$@" 2>&1)
    c1=$(cpu_us "$pid") k1=$(sys_us "$pid")
    printf '%s\n' "$out" | awk -v n="$n" -v s=$((c1 - c0)) -v k=$((k1 - k0)) '
        /^finished in/ {r = $4}
        /requests per second/ {for (i = 1; i <= NF; i++) if ($i ~ /requests/) r = $(i - 1)}
        /^CLIENTCPU/ {c = ($2 + $3) * 1e6 / n}
        END {printf "%s %.1f %.1f %.1f\n", r, s / n, c, k / n}'
}
h2() { # port, request file, path, calls
    measure "$(port_pid "$1")" "$4" h2load -n "$4" -c "$C" -m "$M" -d "$2" \
        -H 'content-type: application/grpc' -H 'te: trailers' \
        "http://127.0.0.1:$1/cache.CacheService/$3"
}
port_pid() { if [ "$1" = "$PORT" ]; then echo "$TPID"; else echo "$OPID"; fi; }
rb() { # calls -> MGET
    measure "$RDPID" "$1" redis-benchmark -p "$RPORT" -c "$C" -P "$M" -n "$1" -q \
        MGET "${keys[@]}"
}
kps() { awk -v c="$1" -v k="$KEYS" 'BEGIN {printf "%.0f", c * k}'; }

h2 "$PORT" "$WORK/mget.bin" MultiGet 2000 >/dev/null   # warm-up
[ -n "$OLD" ] && h2 "$OPORT" "$WORK/mget.bin" MultiGet 2000 >/dev/null
rb 2000 >/dev/null
tc_kps=() rd_kps=() old_kps=() get_cps=() tc_cpu=() rd_cpu=() old_cpu=()
old_get=() old_gcpu=() get_cpu=() whole_cps=() whole_cpu=() rd_cps=()
tc_cl=() rd_cl=() tc_sys=() rd_sys=()
for r in $(seq "$ROUNDS"); do
    o=
    if [ $((r % 2)) -eq 1 ]; then
        read -r t ts tcl tk_s < <(h2 "$PORT" "$WORK/mget.bin" MultiGet "$N")
        [ -n "$OLD" ] && read -r o os _ _ < <(h2 "$OPORT" "$WORK/mget.bin" MultiGet "$N")
        read -r d ds dcl dk_s < <(rb "$N")
    else
        read -r d ds dcl dk_s < <(rb "$N")
        [ -n "$OLD" ] && read -r o os _ _ < <(h2 "$OPORT" "$WORK/mget.bin" MultiGet "$N")
        read -r t ts tcl tk_s < <(h2 "$PORT" "$WORK/mget.bin" MultiGet "$N")
    fi
    read -r w ws _ _ < <(h2 "$PORT" "$WORK/whole.bin" Get "$N")
    read -r g gs _ _ < <(h2 "$PORT" "$WORK/get.bin" Get $((N * 10)))
    [ -n "$OLD" ] && read -r og ogs _ _ < <(h2 "$OPORT" "$WORK/get.bin" Get $((N * 10)))
    tk=$(kps "$t") rk=$(kps "$d")
    printf 'round %d: tiny-cached MultiGet %s calls/s = %s keys/s (server %s us/call, %s in the kernel, client %s); ' \
        "$r" "$t" "$tk" "$ts" "$tk_s" "$tcl"
    printf 'Redis MGET %s calls/s = %s keys/s (server %s us/call, %s in the kernel, client %s); ratio %s; ' \
        "$d" "$rk" "$ds" "$dk_s" "$dcl" \
        "$(awk -v a="$tk" -v b="$rk" 'BEGIN {printf "%.2f", a / b}')"
    if [ -n "$OLD" ]; then
        printf 'OLD MultiGet %s keys/s (server %s us/call), Get %s calls/s (server %s us/call); ' \
            "$(kps "$o")" "$os" "$og" "$ogs"
        old_kps+=("$(kps "$o")") old_cpu+=("$os") old_get+=("$og") old_gcpu+=("$ogs")
    fi
    printf 'reply-sized Get %s calls/s (server %s us/call); ' "$w" "$ws"
    printf 'tiny-cached Get %s calls/s (server %s us/call)\n' "$g" "$gs"
    tc_kps+=("$tk") rd_kps+=("$rk") get_cps+=("$g") get_cpu+=("$gs")
    whole_cps+=("$w") whole_cpu+=("$ws") rd_cps+=("$d")
    tc_cpu+=("$ts") rd_cpu+=("$ds") tc_cl+=("$tcl") rd_cl+=("$dcl")
    tc_sys+=("$tk_s") rd_sys+=("$dk_s")
done
mt=$(bench_median "${tc_kps[@]}") mr=$(bench_median "${rd_kps[@]}") mg=$(bench_median "${get_cps[@]}")
printf 'median: tiny-cached MultiGet %s keys/s, Redis MGET %s keys/s, ratio %s; tiny-cached Get %s calls/s (%s keys/s)\n' \
    "$mt" "$mr" "$(awk -v a="$mt" -v b="$mr" 'BEGIN {printf "%.2f", a / b}')" "$mg" "$mg"
printf 'median CPU per call: tiny-cached server %s us (%s in the kernel), client (h2load) %s us; Redis server %s us (%s in the kernel), client (redis-benchmark) %s us\n' \
    "$(bench_median "${tc_cpu[@]}")" "$(bench_median "${tc_sys[@]}")" \
    "$(bench_median "${tc_cl[@]}")" "$(bench_median "${rd_cpu[@]}")" \
    "$(bench_median "${rd_sys[@]}")" "$(bench_median "${rd_cl[@]}")"
mw=$(bench_median "${whole_cps[@]}")
printf 'median reply-sized Get (one %s-byte value): %s calls/s, server %s us/call; against MGET calls/s %s\n' \
    "$whole" "$mw" "$(bench_median "${whole_cpu[@]}")" \
    "$(awk -v a="$mw" -v b="$(bench_median "${rd_cps[@]}")" 'BEGIN {printf "%.2f", a / b}')"
if [ -n "$OLD" ]; then
    printf 'median OLD: MultiGet %s keys/s, server %s us/call; Get %s calls/s, server %s us/call (tiny-cached Get %s us/call)\n' \
        "$(bench_median "${old_kps[@]}")" "$(bench_median "${old_cpu[@]}")" \
        "$(bench_median "${old_get[@]}")" "$(bench_median "${old_gcpu[@]}")" \
        "$(bench_median "${get_cpu[@]}")"
fi
