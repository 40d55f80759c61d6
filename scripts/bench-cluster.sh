#!/bin/bash
# bench-cluster.sh: calls per second through HAProxy (deploy/haproxy/
# haproxy.cfg) to three tiny-cached nodes, beside the same load on one node
# directly, in the same run; and the CPU HAProxy itself takes per call.
# Run from the repository root:
#
#   scripts/bench-cluster.sh [BUILD_DIR]        (default: build)
#
# Environment: ROUNDS (3), N (200000 calls a run), C (16 connections), M
# (16 calls in flight each), T (2 bench threads), KEYS (10000 keys, filled
# before the timed runs), RATIO (9:1 get:set), BASE (50150: HAProxy, then
# the nodes' gRPC ports; their HTTP ports are BASE+10 on).
#
# Each round runs tiny-cache-bench against node0 directly and against
# HAProxy, alternating which goes first, then through HAProxy again with
# the route in metadata (--routes 64: HAProxy reads no body). HAProxy's CPU is utime + stime of
# its process (/proc/PID/stat) over the run through it, divided by the
# calls; the nodes' CPU the same over the three nodes. Prints one line per
# run and the medians. Needs haproxy (Debian's package).
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh"

BUILD=${1:-build}
ROUNDS=${ROUNDS:-3}
N=${N:-200000}
C=${C:-16}
M=${M:-16}
T=${T:-2}
KEYS=${KEYS:-10000}
RATIO=${RATIO:-9:1}
BASE=${BASE:-50150}
TOP=$(cd "$(dirname "$0")/.." && pwd)
TC=$BUILD/tiny-cached
BENCH=$BUILD/tiny-cache-bench
bench_workdir

[ -x "$TC" ] || { echo "bench-cluster.sh: $TC not built" >&2; exit 1; }
command -v haproxy >/dev/null || { echo "bench-cluster.sh: no haproxy" >&2; exit 1; }

NODE_PIDS=()
for i in 0 1 2; do
    CACHE_HOST=127.0.0.1 CACHE_PORT=$((BASE + 1 + i)) \
        CACHE_HEALTH_HOST=127.0.0.1 CACHE_HEALTH_PORT=$((BASE + 11 + i)) \
        CACHE_MAX_ITEMS=1000000 "$TC" >"$WORK/node$i.log" 2>&1 &
    PIDS+=($!) NODE_PIDS+=($!)
    export "TC_NODE$i=127.0.0.1:$((BASE + 1 + i))" "TC_NODE${i}_HTTP=$((BASE + 11 + i))"
done
export TC_LISTEN=127.0.0.1:$BASE TC_STATS=127.0.0.1:$((BASE + 20))
haproxy -db -f "$TOP/deploy/haproxy/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
HA=$!
PIDS+=("$HA")

wait_up() { # every node UP in HAProxy's statistics
    for _ in $(seq 200); do
        up=$(curl -s "http://$TC_STATS/stats;csv" | grep -c '^nodes,node[0-9]*,.*,UP' || true)
        [ "$up" -eq 3 ] && return 0
        sleep 0.05
    done
    echo "bench-cluster.sh: the nodes are not all UP in HAProxy" >&2
    cat "$WORK/haproxy.log" >&2
    exit 1
}
wait_up

run() { # port [bench options] -> calls/s
    local port=$1
    shift
    "$BENCH" -p "$port" "$@" -n "$N" -c "$C" -m "$M" -t "$T" --ratio "$RATIO" \
        --keyspace "$KEYS" --json >"$WORK/run.json"
    grep -q '"status_counts":{"OK":[0-9]*}' "$WORK/run.json" ||
        { echo "bench-cluster.sh: failed calls: $(cat "$WORK/run.json")" >&2; exit 1; }
    sed 's/.*"requests_per_second":\([0-9.]*\).*/\1/' "$WORK/run.json"
}
per_call_us() { # ticks -> microseconds per call of a run of N calls
    awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v n="$N" \
        'BEGIN {printf "%.1f", t / hz * 1e6 / n}'
}
routed() { # [bench options] -> "calls/s haproxy_us nodes_us"
    local h0 n0 r
    h0=$(bench_cpu_ticks "$HA") n0=$(bench_cpu_ticks "${NODE_PIDS[@]}")
    r=$(run "$BASE" "$@")
    echo "$r $(per_call_us $(($(bench_cpu_ticks "$HA") - h0))) $(per_call_us $(($(bench_cpu_ticks "${NODE_PIDS[@]}") - n0)))"
}
direct() { # -> "calls/s node_us"
    local n0 r
    n0=$(bench_cpu_ticks "${NODE_PIDS[0]}")
    r=$(run $((BASE + 1)))
    echo "$r $(per_call_us $(($(bench_cpu_ticks "${NODE_PIDS[0]}") - n0)))"
}

# Fill: through HAProxy, so every node holds its share; node0 directly.
"$BENCH" -p "$BASE" --fill --keyspace "$KEYS" -n 1000 >/dev/null
"$BENCH" -p $((BASE + 1)) --fill --keyspace "$KEYS" -n 1000 >/dev/null
direct >/dev/null # warm-up
routed >/dev/null
d_cps=() r_cps=() h_us=() m_cps=() mh_us=()
for r in $(seq "$ROUNDS"); do
    if [ $((r % 2)) -eq 1 ]; then
        d=$(direct); x=$(routed)
    else
        x=$(routed); d=$(direct)
    fi
    read -r dc dn <<<"$d"
    read -r xc xh xn <<<"$x"
    read -r mc mh mn <<<"$(routed --routes 64)"
    printf 'round %d: one node direct %s calls/s (node %s us/call); ' "$r" "$dc" "$dn"
    printf 'HAProxy to 3 nodes %s calls/s (HAProxy %s us/call, nodes %s us/call); ratio %s\n' \
        "$xc" "$xh" "$xn" "$(awk -v a="$xc" -v b="$dc" 'BEGIN {printf "%.2f", a / b}')"
    printf '         route in metadata %s calls/s (HAProxy %s us/call, nodes %s us/call)\n' \
        "$mc" "$mh" "$mn"
    d_cps+=("$dc") r_cps+=("$xc") h_us+=("$xh") m_cps+=("$mc") mh_us+=("$mh")
done
md=$(bench_median "${d_cps[@]}") mr=$(bench_median "${r_cps[@]}") mh=$(bench_median "${h_us[@]}")
mm=$(bench_median "${m_cps[@]}") mmh=$(bench_median "${mh_us[@]}")
printf 'median: one node direct %s calls/s, HAProxy to 3 nodes %s calls/s (ratio %s), HAProxy %s us of CPU per call;\n' \
    "$md" "$mr" "$(awk -v a="$mr" -v b="$md" 'BEGIN {printf "%.2f", a / b}')" "$mh"
printf '        route in metadata %s calls/s, HAProxy %s us of CPU per call\n' "$mm" "$mmh"
