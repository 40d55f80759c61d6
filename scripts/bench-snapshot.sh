#!/bin/bash
# bench-snapshot.sh: save and load of N entries (16-byte keys, 100-byte
# values) by tiny-cached's snapshot beside Redis's SAVE and its load at
# restart of the same data, same machine, same run; file sizes; and Get
# p99 latency (tiny-cache-bench) with and without background saves.
# Run from the repository root:
#
#   scripts/bench-snapshot.sh [BUILD_DIR]        (default: build)
#
# Environment: N (1000000 entries), SECONDS_GET (10, each Get run).
# tiny-cached's save time is the one its log reports for the save at
# shutdown, its load time the one it reports at the next start; Redis's
# save time is the wall time of `redis-cli SAVE`, its load time what its
# log reports ("DB loaded from disk"). Redis compresses values (LZF) and
# the bench's are letters in a cycle, so its file is also saved once more
# without compression for the size. The Get runs use -c 4 -m 4 -t 1
# over the N keys; "during saves" restarts tiny-cached with
# CACHE_SNAPSHOT_INTERVAL=1, so that a background save is always running
# or about to. Needs redis-server and redis-tools.
set -euo pipefail

BUILD=${1:-build}
N=${N:-1000000}
SECONDS_GET=${SECONDS_GET:-10}
TC=$BUILD/tiny-cached
BENCH=$BUILD/tiny-cache-bench
PORT=${PORT:-50093}
RPORT=${RPORT:-50094}
WORK=$(mktemp -d)
PID=
RPID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; [ -n "$RPID" ] && kill "$RPID" 2>/dev/null; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/tc" "$WORK/redis"

[ -x "$TC" ] || { echo "bench-snapshot.sh: $TC not built" >&2; exit 1; }

wait_log() { # file, pattern
    for _ in $(seq 600); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "bench-snapshot.sh: no '$2' in $1" >&2
    exit 1
}

start_tc() { # interval, log
    CACHE_HOST=127.0.0.1 CACHE_PORT=$PORT CACHE_HEALTH_PORT=0 \
        CACHE_HEALTH_HOST=127.0.0.1 CACHE_MAX_ITEMS=$((N * 2)) \
        CACHE_MAX_MEMORY_MB=2048 CACHE_SHUTDOWN_GRACE=60 \
        CACHE_SNAPSHOT_PATH="$WORK/tc/cache.snap" \
        CACHE_SNAPSHOT_INTERVAL=$1 "$TC" >"$2" 2>&1 &
    PID=$!
    wait_log "$2" ' ready'
}

stop_tc() {
    kill -TERM "$PID"
    wait "$PID" || true
    PID=
}

get_p99() { # -> p99 of Gets in microseconds
    "$BENCH" -H 127.0.0.1 -p "$PORT" -c 4 -m 4 -t 1 -d "$SECONDS_GET" \
        --ratio 1:0 --keyspace "$N" --key-prefix snap --json 2>/dev/null |
        /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["latency_us"]["p99"])'
}

log_seconds() { # log, pattern before " in X s" -> X
    sed -n "s/.*$2.* in \([0-9.]*\) s.*/\1/p" "$1" | tail -n 1
}

# tiny-cached: fill, Gets without a save, save at shutdown, load at start,
# Gets during background saves.
start_tc 0 "$WORK/tc1.log"
"$BENCH" -H 127.0.0.1 -p "$PORT" -c 4 -m 16 -t 2 -n 1 --fill --ratio 0:1 \
    --keyspace "$N" --key-prefix snap --value-size 100 >/dev/null
p99_quiet=$(get_p99)
stop_tc
tc_save=$(log_seconds "$WORK/tc1.log" "snapshot: saved")
tc_size=$(stat -c %s "$WORK/tc/cache.snap")
start_tc 1 "$WORK/tc2.log"
tc_load=$(log_seconds "$WORK/tc2.log" "snapshot: loaded")
p99_saving=$(get_p99)
saves=$(grep -c "snapshot: saved" "$WORK/tc2.log" || true)
stop_tc

# Redis: the same keys and values, SAVE, restart, load.
redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$WORK/redis" \
    --dbfilename dump.rdb --save '' --appendonly no \
    >"$WORK/redis1.log" 2>&1 &
RPID=$!
wait_log "$WORK/redis1.log" 'Ready to accept connections'
/usr/bin/python3 - "$N" <<'PY' | redis-cli -p "$RPORT" --pipe >/dev/null
import sys
n = int(sys.argv[1])
v = b"v" * 100
out = sys.stdout.buffer
for i in range(n):
    k = b"snap%012d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$16\r\n" + k + b"\r\n$100\r\n" + v + b"\r\n")
PY
t0=$(date +%s.%N)
redis-cli -p "$RPORT" SAVE >/dev/null
t1=$(date +%s.%N)
rd_save=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
rd_size=$(stat -c %s "$WORK/redis/dump.rdb")
# The same file without Redis's LZF compression of values, for the size.
mv "$WORK/redis/dump.rdb" "$WORK/redis/lzf.rdb"
redis-cli -p "$RPORT" CONFIG SET rdbcompression no >/dev/null
redis-cli -p "$RPORT" SAVE >/dev/null
rd_plain=$(stat -c %s "$WORK/redis/dump.rdb")
kill "$RPID"; wait "$RPID" || true
mv "$WORK/redis/lzf.rdb" "$WORK/redis/dump.rdb"   # the default file loads
redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$WORK/redis" \
    --dbfilename dump.rdb --save '' --appendonly no \
    >"$WORK/redis2.log" 2>&1 &
RPID=$!
wait_log "$WORK/redis2.log" 'Ready to accept connections'
rd_load=$(sed -n 's/.*DB loaded from disk: \([0-9.]*\) seconds.*/\1/p' "$WORK/redis2.log")
keys=$(redis-cli -p "$RPORT" DBSIZE)
kill "$RPID"; wait "$RPID" || true
RPID=

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo "entries: $N (Redis after load: $keys)"
echo "save: tiny-cached $tc_save s, Redis SAVE $rd_save s, ratio $(ratio "$tc_save" "$rd_save")"
echo "load: tiny-cached $tc_load s, Redis $rd_load s, ratio $(ratio "$tc_load" "$rd_load")"
echo "file: tiny-cached $tc_size B, Redis RDB $rd_size B, ratio $(ratio "$tc_size" "$rd_size"); RDB without compression $rd_plain B, ratio $(ratio "$tc_size" "$rd_plain")"
echo "Get p99: $p99_quiet us without a save, $p99_saving us during background saves ($saves saves in the run), ratio $(ratio "$p99_saving" "$p99_quiet")"
