#!/usr/bin/python3
"""Writes the seed corpora of fuzz_rpc, fuzz_reflect and fuzz_config under
tests/fuzz/corpus/, and fuzz_config's dictionary (its flag and variable
names read from src/config.c's option table, so they stay in step).

Run from anywhere: /usr/bin/python3 tests/fuzz/make_corpus.py
Each seed is a real, valid input or an edge case a hostile client or a
careless operator could send; the file name says which."""

import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))

# fuzz_rpc's first byte: method + 13 * step (clock step, health phase,
# namespace), methods in the order of its enum fuzz_method.
(GET, SET, DELETE, STATS, CHECK, MULTI_GET, MULTI_SET, MULTI_DELETE,
 SET_IF_ABSENT, CAS, INCREMENT, TOUCH, FLUSH) = range(13)
# Inputs a fuzzing run found, kept as they are (not written here).
FOUND = {"fuzz_rpc": {"multi-get-lookup-of-128-bytes"}}
STEP = 13
STARTING, SERVING, STOPPING = range(3)


def varint(n):
    n &= (1 << 64) - 1  # negative int32 goes out as ten bytes
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def field_bytes(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data


def field_varint(num, n):
    return varint(num << 3) + varint(n)


def key_msg(key):
    return field_bytes(1, key)


def item_msg(key, value, ttl=None):
    msg = field_bytes(1, key) + field_bytes(2, value)
    if ttl is not None:
        msg += field_varint(3, ttl)
    return msg


def rpc_seeds():
    k = "ключ".encode()
    return {
        "get-key": bytes([GET]) + key_msg(b"user:1"),
        "get-unicode-key": bytes([GET]) + key_msg(k),
        "get-nul-inside-key": bytes([GET]) + key_msg(b"a\0b"),
        "get-256-chars": bytes([GET]) + key_msg("é".encode() * 256),
        "get-257-chars": bytes([GET]) + key_msg(b"k" * 257),
        "get-empty-body": bytes([GET]),
        "get-bad-utf8": bytes([GET]) + key_msg(b"\xff\xfe"),
        "get-overlong-nul": bytes([GET]) + key_msg(b"\xc0\x80"),
        "get-surrogate": bytes([GET]) + key_msg(b"\xed\xa0\x80"),
        "get-after-2s": bytes([GET + STEP * 8]) + key_msg(b"ttl"),
        "get-truncated-length": bytes([GET]) + b"\x0a\x10abc",
        "get-key-as-varint": bytes([GET]) + field_varint(1, 7),
        "set-key-value": bytes([SET]) + item_msg(b"user:1", b"hello"),
        "set-ttl": bytes([SET]) + item_msg(b"ttl", b"soon gone", 1),
        "set-negative-ttl": bytes([SET]) + item_msg(b"neg", b"v", -1),
        "set-empty-value": bytes([SET]) + item_msg(b"empty", b""),
        "set-binary-value": bytes([SET]) + item_msg(k, bytes(range(256))),
        "set-1500-byte-value": bytes([SET]) + item_msg(b"big", b"v" * 1500),
        "set-value-too-large": bytes([SET]) + item_msg(b"huge", b"x" * 3000),
        "set-unknown-field": bytes([SET]) + item_msg(b"u", b"v")
        + field_varint(15, 1),
        "set-empty-key": bytes([SET]) + item_msg(b"", b"v"),
        "set-repeated-key": bytes([SET]) + field_bytes(1, b"first")
        + field_bytes(1, b"second") + field_bytes(2, b"v"),
        "delete-key": bytes([DELETE]) + key_msg(b"user:1"),
        "delete-missing": bytes([DELETE]) + key_msg(b"never-set"),
        "stats": bytes([STATS]),
        "stats-unknown-field": bytes([STATS]) + field_bytes(1, b"x"),
        "stats-garbage": bytes([STATS]) + b"\xff\xff\xff",
        "check-server-serving": bytes([CHECK + STEP * SERVING]),
        "check-service-serving": bytes([CHECK + STEP * SERVING])
        + field_bytes(1, b"cache.CacheService"),
        "check-starting": bytes([CHECK + STEP * STARTING]),
        "check-stopping": bytes([CHECK + STEP * STOPPING])
        + field_bytes(1, b"cache.CacheService"),
        "check-unknown-service": bytes([CHECK + STEP * SERVING])
        + field_bytes(1, b"other.Service"),
        "compare-and-set-empty-body": bytes([CAS]),
        "increment-empty-body": bytes([INCREMENT]),
    }


def reflect_seeds():
    """ServerReflectionRequest bodies: host 1, file_by_filename 3,
    file_containing_symbol 4, file_containing_extension 5,
    all_extension_numbers_of_type 6, list_services 7."""
    return {
        "list-services": field_bytes(7, b""),
        "list-services-with-host": field_bytes(1, b"localhost")
        + field_bytes(7, b"*"),
        "file-by-filename": field_bytes(3, b"cache.proto"),
        "file-by-filename-health": field_bytes(
            3, b"grpc/health/v1/health.proto"),
        "file-by-filename-missing": field_bytes(3, b"no/such.proto"),
        "symbol-service": field_bytes(4, b"cache.CacheService"),
        "symbol-method": field_bytes(4, b"cache.CacheService.Get"),
        "symbol-enum-value": field_bytes(4, b"cache.MISMATCH"),
        "symbol-nested-enum": field_bytes(
            4, b"grpc.health.v1.HealthCheckResponse.ServingStatus"),
        "symbol-nul-inside": field_bytes(4, b"cache.Cache\0Key"),
        "extension": field_bytes(5, field_bytes(1, b"cache.CacheKey")
                                 + field_varint(2, 100)),
        "extension-numbers": field_bytes(6, b"cache.CacheKey"),
        "two-requests-last-wins": field_bytes(3, b"cache.proto")
        + field_bytes(7, b""),
        "nothing-set": field_bytes(1, b"h"),
        "empty": b"",
        "truncated": b"\x22\x10cache",
        "symbol-as-varint": field_varint(4, 1),
    }


def config_seeds():
    lines = {
        "no-settings": [],
        "flags-defaults": [
            "--max-items=1000", "--max-memory-mb=100",
            "--cleanup-interval=10", "--host=[::]", "--port=50051",
            "--health-host=0.0.0.0", "--health-port=8080",
            "--log-level=INFO", "--log-format=text", "--tls-enabled=false",
            "--workers=0", "--shards=16", "--shutdown-delay=0",
            "--shutdown-grace=5"],
        "env-settings": [
            "CACHE_MAX_ITEMS=50", "CACHE_MAX_MEMORY_MB=8",
            "CACHE_MAX_VALUE_BYTES=4096", "CACHE_HOST=127.0.0.1",
            "CACHE_PORT=0", "CACHE_HEALTH_PORT=0", "CACHE_LOG_LEVEL=debug",
            "CACHE_LOG_FORMAT=JSON", "CACHE_WORKERS=4", "CACHE_SHARDS=1024"],
        "flag-beats-env": ["CACHE_PORT=abc", "--port=1234"],
        "separate-values": ["--port", "0", "--host", "localhost"],
        "ipv6-hosts": ["--host=::1", "--health-host=[fe80::1%lo]"],
        "host-names": ["--host=cache-1.example.org", "--health-host=-bad-.x"],
        "host-long-label": ["--host=" + "a" * 64 + ".example"],
        "number-junk": ["--max-items=12x"],
        "number-negative": ["--max-items=-5"],
        "number-overflow": ["--max-memory-mb=99999999999999999999999"],
        "number-empty-env": ["CACHE_MAX_ITEMS="],
        "value-above-memory": ["--max-memory-mb=1", "--max-value-bytes=2000000"],
        "shards-not-power": ["CACHE_SHARDS=3"],
        "bool-words": ["--tls-require-client-auth=YES", "CACHE_TLS_ENABLED=off"],
        "tls-no-paths": ["--tls-enabled=on"],
        "tls-missing-files": ["CACHE_TLS_ENABLED=1",
                              "CACHE_TLS_CERT_PATH=/nonexistent/cert.pem",
                              "--tls-key-path=/nonexistent/key.pem"],
        "tls-not-regular": ["--tls-enabled=y", "--tls-cert-path=/dev/null",
                            "--tls-key-path=/dev/null"],
        "tls-client-auth-no-ca": ["--tls-enabled=true",
                                  "--tls-require-client-auth=true",
                                  "--tls-cert-path=/etc/hostname",
                                  "--tls-key-path=/etc/hostname"],
        "help": ["--help"],
        "help-abbreviated": ["--he"],
        "version-short": ["-V"],
        "unknown-flag": ["--nope=1"],
        "positional": ["extra"],
        "missing-value": ["--port"],
        "control-bytes": ["--log-level=\x01\x7f\xff", "CACHE_HOST=\x1b[31m"],
    }
    return {name: "\n".join(v).encode() for name, v in lines.items()}


def config_dict():
    with open(os.path.join(TOP, "src", "config.c"), encoding="utf-8") as f:
        rows = re.findall(r'"(--[a-z0-9-]+)",\s*"(CACHE_[A-Z0-9_]+)"', f.read())
    words = [w for row in rows for w in (row[0] + "=", row[1] + "=")]
    words += ["--help", "--version", "-h", "-V", "\n", "=", "true", "off",
              "yes", "DEBUG", "WARNING", "json", "[::]", "0.0.0.0", "::1",
              "localhost", "1048576", "2147483647", "65535", "1024"]
    return "".join('"%s"\n' % w.replace("\\", "\\\\").replace("\n", "\\x0a")
                   for w in words)


def write_corpus(name, seeds):
    folder = os.path.join(HERE, "corpus", name)
    os.makedirs(folder, exist_ok=True)
    for old in os.listdir(folder):
        if old not in FOUND.get(name, ()):
            os.remove(os.path.join(folder, old))
    for seed, data in sorted(seeds.items()):
        with open(os.path.join(folder, seed), "wb") as f:
            f.write(data)


def main():
    write_corpus("fuzz_rpc", rpc_seeds())
    write_corpus("fuzz_reflect", reflect_seeds())
    write_corpus("fuzz_config", config_seeds())
    with open(os.path.join(HERE, "fuzz_config.dict"), "w") as f:
        f.write("# fuzz_config: flags and variables of src/config.c, values\n")
        f.write("# (written by make_corpus.py)\n")
        f.write(config_dict())


if __name__ == "__main__":
    main()
