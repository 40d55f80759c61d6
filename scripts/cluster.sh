#!/bin/sh
# Starts N tiny-cached nodes (default 3) and HAProxy in front of them on
# loopback, with deploy/haproxy/haproxy.cfg, to try routing by key; stops
# them all on Ctrl-C. Needs haproxy (Debian's package) and a built tree.
#
#   scripts/cluster.sh [-n NODES] [-b BUILDDIR]
#
# HAProxy listens on 127.0.0.1:50050 (TC_LISTEN) with its statistics page
# on http://127.0.0.1:8404/stats (TC_STATS); node i serves gRPC on port
# 50051+i and HTTP on 8081+i (TC_GRPC_BASE, TC_HTTP_BASE move them). The
# snapshots and logs of the nodes go to a temporary folder, removed at exit.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
nodes=3
builddir=$top/build
while getopts n:b: opt; do
    case $opt in
    n) nodes=$OPTARG ;;
    b) builddir=$OPTARG ;;
    *) sed -n 's/^#   //p' "$0" >&2; exit 2 ;;
    esac
done
case $nodes in
'' | *[!0-9]*) echo "cluster.sh: -n: '$nodes' is not a number" >&2; exit 2 ;;
esac
if [ "$nodes" -lt 1 ] || [ "$nodes" -gt 32 ]; then
    echo "cluster.sh: -n: 1 to 32 nodes" >&2
    exit 2
fi
daemon=$builddir/tiny-cached
[ -x "$daemon" ] || daemon=$(command -v tiny-cached) || {
    echo "cluster.sh: no tiny-cached in $builddir or on PATH" >&2
    exit 1
}
command -v haproxy >/dev/null || {
    echo "cluster.sh: haproxy not installed (apt-get install haproxy)" >&2
    exit 1
}
: "${TC_LISTEN:=127.0.0.1:50050}" "${TC_STATS:=127.0.0.1:8404}"
: "${TC_GRPC_BASE:=50051}" "${TC_HTTP_BASE:=8081}"
export TC_LISTEN TC_STATS
work=$(mktemp -d "${TMPDIR:-/tmp}/tc-cluster.XXXXXX")
pids=
stop() {
    trap - EXIT INT TERM
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill $pids 2>/dev/null || true
    wait
    rm -rf "$work"
}
trap stop EXIT
trap 'exit 130' INT TERM

# The shipped file's server line, once per node: node0 becomes nodeI, its
# id I+1, its variables TC_NODEI and TC_NODEI_HTTP.
awk -v n="$nodes" '
    /^    server node[0-9]+ / {
        if (!done) {
            for (i = 0; i < n; i++) {
                line = $0
                gsub(/node0/, "node" i, line)
                gsub(/TC_NODE0/, "TC_NODE" i, line)
                sub(/ id 1 /, " id " i + 1 " ", line)
                print line
            }
            done = 1
        }
        next
    }
    { print }' "$top/deploy/haproxy/haproxy.cfg" >"$work/haproxy.cfg"

i=0
while [ "$i" -lt "$nodes" ]; do
    grpc=$((TC_GRPC_BASE + i))
    http=$((TC_HTTP_BASE + i))
    export "TC_NODE$i=127.0.0.1:$grpc" "TC_NODE${i}_HTTP=$http"
    CACHE_HOST=127.0.0.1 CACHE_PORT=$grpc CACHE_HEALTH_HOST=127.0.0.1 \
        CACHE_HEALTH_PORT=$http CACHE_SHUTDOWN_DELAY=4 \
        CACHE_SNAPSHOT_PATH=$work/node$i.snap \
        "$daemon" >"$work/node$i.log" 2>&1 &
    pids="$pids $!"
    echo "node$i     gRPC 127.0.0.1:$grpc, HTTP http://127.0.0.1:$http/status (pid $!, log $work/node$i.log)"
    i=$((i + 1))
done
haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
pids="$pids $!"
echo "haproxy   $TC_LISTEN, statistics http://$TC_STATS/stats (pid $!, log $work/haproxy.log)"
port=${TC_LISTEN##*:}
cat <<EOF

Try:
  tiny-cache-cli -p $port set hello world
  tiny-cache-cli -p $port get hello
  tiny-cache-cli -p $port --route user:42 mset a 1 b 2
  tiny-cache-bench -p $port -d 10 --fill --keyspace 1000
  kill -TERM <a node's pid>     (its keys move; /stats shows it DOWN)
Ctrl-C stops everything.
EOF
wait
