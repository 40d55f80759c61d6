#!/bin/bash
# bench-snapshot.sh: save and load of N entries (16-byte keys, 100-byte
# values) by tiny-cached's snapshot beside Redis's SAVE and its load at
# restart of the same data, same machine, same run; file sizes; and Get
# p99 latency (tiny-cache-bench) with and without background saves.
# Run from the repository root:
#
#   scripts/bench-snapshot.sh [BUILD_DIR]        (default: build)
#
# Environment: N (1000000 entries), SECONDS_GET (10, each Get run),
# ROUNDS (3 loads of each server, alternating, medians reported), VALUES
# (bench: what tiny-cache-bench --fill writes, the same 100 bytes
# "abc...xyzabc..." under every key; random: a different random value
# under every key, which no compressor shrinks), OLD (another tiny-cached
# binary, e.g. a build of the previous commit: saved and loaded in the
# same run; default none).
#
# Both servers hold the same keys (snap000000000000 ..) and values.
# tiny-cached's save time is the one its log reports for the save at
# shutdown, its load time the one it reports at the next start (a load
# round ends with SIGKILL, so no save follows); Redis's save time is the
# wall time of `redis-cli SAVE`, its load time what its log reports ("DB
# loaded from disk"). Redis compresses values (LZF), so its file is also
# saved once more without compression for the size. The Get runs use
# -c 4 -m 4 -t 1 over the N keys; "during saves" restarts tiny-cached with
# CACHE_SNAPSHOT_INTERVAL=1, so that a background save is always running
# or about to. Needs redis-server and redis-tools; VALUES=random also
# python3-grpcio.
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh"

BUILD=${1:-build}
N=${N:-1000000}
SECONDS_GET=${SECONDS_GET:-10}
ROUNDS=${ROUNDS:-3}
VALUES=${VALUES:-bench}
OLD=${OLD:-}
TC=$BUILD/tiny-cached
BENCH=$BUILD/tiny-cache-bench
PORT=${PORT:-50093}
RPORT=${RPORT:-50094}
bench_need redis-server:redis-server redis-tools:redis-cli
WORK=$(mktemp -d)
PID=
RPID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; [ -n "$RPID" ] && kill "$RPID" 2>/dev/null; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/tc" "$WORK/old" "$WORK/redis"

[ -x "$TC" ] || { echo "bench-snapshot.sh: $TC not built" >&2; exit 1; }
case $VALUES in bench | random) ;; *) echo "VALUES: bench or random" >&2; exit 2 ;; esac

wait_log() { # file, pattern
    for _ in $(seq 1200); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "bench-snapshot.sh: no '$2' in $1" >&2
    exit 1
}

start_tc() { # binary, folder, interval, log
    CACHE_HOST=127.0.0.1 CACHE_PORT=$PORT CACHE_HEALTH_PORT=0 \
        CACHE_HEALTH_HOST=127.0.0.1 CACHE_MAX_ITEMS=$((N * 2)) \
        CACHE_MAX_MEMORY_MB=2048 CACHE_SHUTDOWN_GRACE=60 \
        CACHE_SNAPSHOT_PATH="$2/cache.snap" \
        CACHE_SNAPSHOT_INTERVAL=$3 "$1" >"$4" 2>&1 &
    PID=$!
    wait_log "$4" ' ready'
}

stop_tc() { # signal
    kill "-${1:-TERM}" "$PID"
    wait "$PID" || true
    PID=
}

# The keys and values as Python builds them (VALUES=random: seeded, so
# every server gets the same bytes).
PYVALUES='
import random, sys
n = int(sys.argv[1])
mode = sys.argv[2]
bench = bytes(ord("a") + k % 26 for k in range(100))
rng = random.Random(42)
def items():
    for i in range(n):
        v = rng.randbytes(100) if mode == "random" else bench
        yield b"snap%012d" % i, v
'

fill_tc() {
    if [ "$VALUES" = bench ]; then
        "$BENCH" -H 127.0.0.1 -p "$PORT" -c 4 -m 16 -t 2 -n 1 --fill \
            --ratio 0:1 --keyspace "$N" --key-prefix snap --value-size 100 \
            >/dev/null
        return
    fi
    /usr/bin/python3 -c "$PYVALUES"'
import grpc
ch = grpc.insecure_channel("127.0.0.1:" + sys.argv[3])
call = ch.unary_unary("/cache.CacheService/MultiSet")
def field(num, b):
    n, out = len(b), bytearray([num << 3 | 2])
    while n >= 0x80:
        out.append(n & 0x7f | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out) + b
batch = []
for k, v in items():
    batch.append(field(1, field(1, k) + field(2, v)))
    if len(batch) == 1000:
        call(b"".join(batch), timeout=60)
        batch = []
if batch:
    call(b"".join(batch), timeout=60)
' "$N" "$VALUES" "$PORT"
}

get_p99() { # -> p99 of Gets in microseconds
    "$BENCH" -H 127.0.0.1 -p "$PORT" -c 4 -m 4 -t 1 -d "$SECONDS_GET" \
        --ratio 1:0 --keyspace "$N" --key-prefix snap --json 2>/dev/null |
        /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["latency_us"]["p99"])'
}

log_seconds() { # log, pattern before " in X s" -> X
    sed -n "s/.*$2.* in \([0-9.]*\) s.*/\1/p" "$1" | tail -n 1
}

# tiny-cached (and OLD): fill, Gets without a save, save at shutdown.
start_tc "$TC" "$WORK/tc" 0 "$WORK/tc1.log"
fill_tc
p99_quiet=$(get_p99)
stop_tc
tc_save=$(log_seconds "$WORK/tc1.log" "snapshot: saved")
tc_size=$(stat -c %s "$WORK/tc/cache.snap")
if [ -n "$OLD" ]; then
    start_tc "$OLD" "$WORK/old" 0 "$WORK/old1.log"
    fill_tc
    stop_tc
    old_save=$(log_seconds "$WORK/old1.log" "snapshot: saved")
    old_size=$(stat -c %s "$WORK/old/cache.snap")
fi

# Redis: the same keys and values, SAVE, the size without compression.
start_redis() { # log
    redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$WORK/redis" \
        --dbfilename dump.rdb --save '' --appendonly no >"$1" 2>&1 &
    RPID=$!
    wait_log "$1" 'Ready to accept connections'
}
stop_redis() {
    redis-cli -p "$RPORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
    wait "$RPID" || true
    RPID=
}
start_redis "$WORK/redis1.log"
/usr/bin/python3 -c "$PYVALUES"'
out = sys.stdout.buffer
for k, v in items():
    out.write(b"*3\r\n$3\r\nSET\r\n$16\r\n" + k + b"\r\n$100\r\n" + v + b"\r\n")
' "$N" "$VALUES" | redis-cli -p "$RPORT" --pipe >/dev/null
t0=$(date +%s.%N)
redis-cli -p "$RPORT" SAVE >/dev/null
t1=$(date +%s.%N)
rd_save=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
rd_size=$(stat -c %s "$WORK/redis/dump.rdb")
mv "$WORK/redis/dump.rdb" "$WORK/redis/lzf.rdb"
redis-cli -p "$RPORT" CONFIG SET rdbcompression no >/dev/null
redis-cli -p "$RPORT" SAVE >/dev/null
rd_plain=$(stat -c %s "$WORK/redis/dump.rdb")
stop_redis
mv "$WORK/redis/lzf.rdb" "$WORK/redis/dump.rdb" # the default file loads

# Loads, alternating which server goes first.
load_tc() { # binary, folder, log -> seconds
    start_tc "$1" "$2" 0 "$3"
    stop_tc KILL
    log_seconds "$3" "snapshot: loaded"
}
load_redis() { # log -> seconds
    start_redis "$1"
    sed -n 's/.*DB loaded from disk: \([0-9.]*\) seconds.*/\1/p' "$1"
    keys=$(redis-cli -p "$RPORT" DBSIZE)
    stop_redis
}
tc_loads=() rd_loads=() old_loads=()
for r in $(seq "$ROUNDS"); do
    if [ $((r % 2)) -eq 1 ]; then
        t=$(load_tc "$TC" "$WORK/tc" "$WORK/tcl$r.log")
        load_redis "$WORK/rdl$r.log" >"$WORK/rd.s"
    else
        load_redis "$WORK/rdl$r.log" >"$WORK/rd.s"
        t=$(load_tc "$TC" "$WORK/tc" "$WORK/tcl$r.log")
    fi
    d=$(cat "$WORK/rd.s")
    o=
    [ -n "$OLD" ] && o=$(load_tc "$OLD" "$WORK/old" "$WORK/oldl$r.log")
    echo "load round $r: tiny-cached $t s, Redis $d s${o:+, OLD $o s}"
    tc_loads+=("$t") rd_loads+=("$d") old_loads+=("$o")
done

# Gets during background saves.
start_tc "$TC" "$WORK/tc" 1 "$WORK/tc2.log"
p99_saving=$(get_p99)
saves=$(grep -c "snapshot: saved" "$WORK/tc2.log" || true)
stop_tc

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
tc_load=$(bench_median "${tc_loads[@]}") rd_load=$(bench_median "${rd_loads[@]}")
echo "entries: $N, values: $VALUES (Redis after load: ${keys:-?})"
echo "save: tiny-cached $tc_save s, Redis SAVE $rd_save s, ratio $(ratio "$tc_save" "$rd_save")"
echo "load (median of $ROUNDS): tiny-cached $tc_load s, Redis $rd_load s, ratio $(ratio "$tc_load" "$rd_load")"
echo "file: tiny-cached $tc_size B, Redis RDB $rd_size B, ratio $(ratio "$tc_size" "$rd_size"); RDB without compression $rd_plain B, ratio $(ratio "$tc_size" "$rd_plain")"
echo "Get p99: $p99_quiet us without a save, $p99_saving us during background saves ($saves saves in the run), ratio $(ratio "$p99_saving" "$p99_quiet")"
if [ -n "$OLD" ]; then
    echo "OLD: save $old_save s, load (median) $(bench_median "${old_loads[@]}") s, file $old_size B"
fi
