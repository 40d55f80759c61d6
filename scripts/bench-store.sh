#!/bin/sh
# bench-store.sh: the store micro-benchmark, ROUNDS times, and the memory
# Redis spends on the same data in the same run (when redis-server is
# installed: apt-get install redis-server redis-tools; benchmark only).
# Usage: scripts/bench-store.sh BUILDDIR [OLDBUILDDIR]
#   BUILDDIR: a built tree with store-bench; OLDBUILDDIR: another one (an
#   older commit built beside it), whose rounds then alternate with
#   BUILDDIR's. ARGS (empty) are passed to every store-bench, e.g.
#   ARGS="1000000 3000000 4" for four rounds of the Get hit phases.
set -eu
builddir=${1:?usage: bench-store.sh BUILDDIR [OLDBUILDDIR]}
olddir=${2:-}
rounds=${ROUNDS:-3}
entries=1000000

i=1
while [ "$i" -le "$rounds" ]; do
    if [ -n "$olddir" ]; then
        echo "--- store-bench, round $i, $olddir"
        # shellcheck disable=SC2086 # ARGS holds several arguments
        "$olddir/store-bench" ${ARGS:-}
    fi
    echo "--- store-bench, round $i, $builddir"
    # shellcheck disable=SC2086
    "$builddir/store-bench" ${ARGS:-}
    i=$((i + 1))
done

command -v redis-server >/dev/null || { echo "redis-server absent"; exit 0; }
tmp=$(mktemp -d)
port=$((20000 + $$ % 20000))
trap 'redis-cli -p $port shutdown nosave >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
pid=$!
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
rss() { awk '/^VmRSS/ { print $2 * 1024 }' "/proc/$pid/status"; }
# the same shape of data: 16-byte keys, 100-byte values, as RESP commands
awk -v n="$entries" 'BEGIN {
    v = sprintf("%100s", ""); gsub(/ /, "x", v);
    for (i = 0; i < n; i++) {
        k = sprintf("key:%012d", i);
        printf "*3\r\n$3\r\nSET\r\n$16\r\n%s\r\n$100\r\n%s\r\n", k, v;
    } }' >"$tmp/load.resp"
rss0=$(rss)
redis-cli -p "$port" --pipe <"$tmp/load.resp" >/dev/null
rss1=$(rss)
echo "--- redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), same data"
echo "redis_entries: $(redis-cli -p "$port" dbsize)"
awk -v a="$rss0" -v b="$rss1" -v n="$entries" \
    'BEGIN { printf "redis_overhead_bytes_per_entry: %.1f\n", (b - a) / n - 116 }'
