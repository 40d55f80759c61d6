# bench-lib.sh: shell functions the benchmark scripts share; sourced, not
# run (". scripts/bench-lib.sh" from a bash script; needs xxd for
# bench_frame).

# bench_hex STRING: STRING's bytes in hex, on one line.
bench_hex() {
    printf '%s' "$1" | xxd -p | tr -d '\n'
}

# bench_key STRING: STRING (ASCII, under 128 bytes) as field 1 of a
# protobuf message, in hex: a CacheKey, or one key of a
# MultiCacheKeyRequest when repeated.
bench_key() {
    printf '0a%02x%s' "${#1}" "$(bench_hex "$1")"
}

# bench_varint N: N as a protobuf varint, in hex.
bench_varint() {
    local v=$1 hex=
    while [ "$v" -ge 128 ]; do
        hex+=$(printf '%02x' $(((v & 127) | 128)))
        v=$((v >> 7))
    done
    printf '%s%02x' "$hex" "$v"
}

# bench_frame HEX: the protobuf message given in hex as a gRPC message on
# stdout (5-byte frame header: not compressed, big-endian length).
bench_frame() {
    local hex=$1 len=$((${#1} / 2))
    printf '00%08x%s' "$len" "$hex" | xxd -r -p
}

# bench_wait_port PORT: returns once something listens on 127.0.0.1:PORT,
# or exits the script after 10 s.
bench_wait_port() {
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "$(basename "$0"): nothing listening on $1" >&2
    exit 1
}

# bench_cpu_ticks PID...: utime + stime of the processes, in clock ticks
# (getconf CLK_TCK per second).
bench_cpu_ticks() {
    local sum=0 p
    for p in "$@"; do
        sum=$((sum + $(awk '{print $14 + $15}' "/proc/$p/stat")))
    done
    echo "$sum"
}

# bench_median [NUMBER...]: the median of the numbers given, or of the
# lines on stdin when none is; blank ones are skipped, "-" when none.
bench_median() {
    { if [ $# -gt 0 ]; then printf '%s\n' "$@"; else cat; fi; } |
        sort -g | awk 'NF { a[++n] = $1 }
            END { print (n ? a[int((n + 1) / 2)] : "-") }'
}

# bench_need PACKAGE:COMMAND...: exits the script naming the Debian
# packages to install when a command is missing.
bench_need() {
    local pc missing=
    for pc in "$@"; do
        command -v "${pc#*:}" >/dev/null || missing+=" ${pc%%:*}"
    done
    [ -z "$missing" ] && return 0
    echo "$(basename "$0"): apt-get install$missing" >&2
    exit 1
}

# bench_workdir: makes the scratch directory WORK and the empty list PIDS
# (append the servers the script starts); at exit the servers are killed
# and waited for, and WORK is removed. Call it in the script's own shell,
# not in a subshell.
bench_workdir() {
    WORK=$(mktemp -d)
    PIDS=()
    trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait; rm -rf "$WORK"' EXIT
}
