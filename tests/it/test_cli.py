"""tiny-cache-cli against a real tiny-cached: every command, every exit
status (0 found, 1 not found / NOT_SERVING, 2 usage, 3 server error,
4 unreachable or no answer), binary values through stdin and stdout, TLS."""

import json
import os
import signal
import socket
import subprocess
import time
from concurrent import futures

import grpc
import pytest

import harness

MAX_VALUE = 65536
STATS_FIELDS = ["size", "hits", "misses", "evictions", "hit_rate",
                "memory_usage_bytes", "max_memory_bytes", "max_items",
                "max_value_bytes", "lru_evictions", "expired_removals",
                "rejected_oversize", "rejected_capacity", "gets", "sets",
                "deletes"]


def cli_path():
    return os.path.join(harness.builddir(), "tiny-cache-cli")


def run(port, *args, stdin=b"", timeout=30, pre=()):
    """Runs the cli with -p port; returns (status, stdout bytes, stderr)."""
    argv = [cli_path()] + list(pre)
    if port is not None:
        argv += ["-p", str(port)]
    p = subprocess.run(argv + list(args), input=stdin, capture_output=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def server():
    with harness.Server(env={"CACHE_MAX_VALUE_BYTES": MAX_VALUE}) as s:
        yield s


@pytest.fixture(scope="module")
def client(server):
    ch = server.channel()
    yield harness.CacheClient(ch)
    ch.close()


def openssl(d, *args):
    subprocess.run(["openssl"] + list(args), cwd=d, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, a server certificate for 127.0.0.1 and localhost, a client
    certificate; returns the folder."""
    d = str(tmp_path_factory.mktemp("cli-pki"))
    openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=ca")
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, ext in (("server", ["-extfile", "san.ext"]), ("client", [])):
        openssl(d, "req", "-newkey", "rsa:2048", "-nodes", "-keyout",
                name + ".key", "-subj", "/CN=" + name, "-out", name + ".csr")
        openssl(d, "x509", "-req", "-in", name + ".csr", "-CA", "ca.crt",
                "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-out",
                name + ".crt", *ext)
    # a pair OpenSSL's security level refuses (RSA under 1024 bits)
    openssl(d, "req", "-x509", "-newkey", "rsa:512", "-nodes", "-days", "2",
            "-keyout", "weak.key", "-out", "weak.crt", "-subj", "/CN=weak")
    with open(os.path.join(d, "empty"), "w"):
        pass
    with open(os.path.join(d, "junk"), "w") as f:
        f.write("not a certificate\n")
    return d


def tls_env(d, mtls=False):
    env = {"CACHE_TLS_ENABLED": "true",
           "CACHE_TLS_CERT_PATH": os.path.join(d, "server.crt"),
           "CACHE_TLS_KEY_PATH": os.path.join(d, "server.key")}
    if mtls:
        env.update({"CACHE_TLS_REQUIRE_CLIENT_AUTH": "yes",
                    "CACHE_TLS_CLIENT_CA_PATH": os.path.join(d, "ca.crt")})
    return env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_set_then_get_writes_value_exactly(server):
    assert run(server.grpc_port, "set", "greeting", "hello world")[0] == 0
    rc, out, err = run(server.grpc_port, "get", "greeting")
    assert (rc, out, err) == (0, b"hello world", "")


def test_get_missing_key_exits_1_silently(server):
    assert run(server.grpc_port, "get", "never-set") == (1, b"", "")


def test_empty_value_is_found(server, client):
    assert run(server.grpc_port, "set", "empty", "")[0] == 0
    assert run(server.grpc_port, "get", "empty") == (0, b"", "")
    assert client.get("empty", timeout=10).found


def test_del_removes_key_and_is_idempotent(server, client):
    client.set("doomed", b"x", timeout=10)
    assert run(server.grpc_port, "del", "doomed") == (0, b"", "")
    assert not client.get("doomed", timeout=10).found
    assert run(server.grpc_port, "get", "doomed")[0] == 1
    assert run(server.grpc_port, "del", "doomed")[0] == 0


def test_binary_value_through_stdin_and_stdout(server, client):
    value = b"\x00\xff" + bytes(range(256)) + b"\x00\n\xff\x00"
    rc, out, _ = run(server.grpc_port, "set", "bin", "-", stdin=value)
    assert (rc, out) == (0, b"")
    assert client.get("bin", timeout=10).value == value
    rc, out, _ = run(server.grpc_port, "get", "bin")
    assert (rc, out) == (0, value)


def test_get_of_value_set_elsewhere_is_byte_exact(server, client):
    value = os.urandom(4096) + b"\x00\xff"
    client.set("elsewhere", value, timeout=10)
    assert run(server.grpc_port, "get", "elsewhere") == (0, value, "")


def test_large_value_from_stdin(server, client):
    value = bytes(i % 251 for i in range(MAX_VALUE))
    assert run(server.grpc_port, "set", "big", "-", stdin=value)[0] == 0
    assert run(server.grpc_port, "get", "big")[1] == value


def test_value_starting_with_dash_after_double_dash(server, client):
    assert run(server.grpc_port, "set", "neg", "--ttl", "0", "--",
               "-5")[0] == 0
    assert client.get("neg", timeout=10).value == b"-5"


def test_set_ttl_expires(server, client):
    assert run(server.grpc_port, "set", "short", "v", "--ttl", "1")[0] == 0
    assert run(server.grpc_port, "set", "long", "v", "--ttl", "3600")[0] == 0
    assert run(server.grpc_port, "get", "short")[0] == 0
    time.sleep(2.2)
    assert run(server.grpc_port, "get", "short")[0] == 1
    assert run(server.grpc_port, "get", "long")[0] == 0


def test_utf8_key_round_trips(server, client):
    key = "clé-\u20ac-\U0001f600"
    assert run(server.grpc_port, "set", key, "v")[0] == 0
    assert client.get(key, timeout=10).value == b"v"


@pytest.mark.parametrize("args", [
    [],
    ["frobnicate"],
    ["get"],
    ["get", "a", "b"],
    ["set", "a"],
    ["set", "a", "b", "c"],
    ["set", "a", "b", "--ttl", "soon"],
    ["set", "a", "b", "--ttl", "99999999999"],
    ["get", "a", "--ttl", "5"],
    ["del"],
    ["stats", "extra"],
    ["get", "a", "--json"],
    ["health", "a", "b"],
    ["--bogus", "stats"],
    ["--timeout", "0", "stats"],
    ["--timeout", "x", "stats"],
    ["--cert", "c.pem", "stats"],
    ["--tls", "--cert", "c.pem", "stats"],
    ["--tls-name", "localhost", "stats"],
    ["--request-id", "bad\nid", "stats"],
])
def test_usage_errors_exit_2_without_a_call(server, client, args):
    before = client.stats(timeout=10)
    rc, out, err = run(server.grpc_port, *args)
    assert rc == 2, err
    assert out == b""
    assert "usage" in err or "tiny-cache-cli:" in err
    after = client.stats(timeout=10)
    assert (after.gets, after.sets, after.deletes) == \
        (before.gets, before.sets, before.deletes)


@pytest.mark.parametrize("args,named", [
    (["get", "a", "--ttl", "5"], "get: bad option '--ttl'"),
    (["get", "a", "--ttl=5"], "get: bad option '--ttl'"),
    (["get", "a", "--bogus"], "get: bad option '--bogus'"),
    (["get", "-xy"], "get: bad option '-x'"),
    (["incr", "a", "-55"], "incr: bad option '-5'"),
    (["set", "a", "b", "--ttl"], "set: option '--ttl' needs a value"),
])
def test_bad_command_option_is_named_as_written(server, args, named):
    rc, out, err = run(server.grpc_port, *args)
    assert (rc, out) == (2, b"")
    assert named in err


@pytest.mark.parametrize("port", ["0", "65536", "http", ""])
def test_bad_port_is_usage_error(port):
    assert run(None, "-p", port, "stats")[0] == 2


def test_route_is_sent_but_a_node_reached_directly_ignores_it(server,
                                                               client):
    assert run(server.grpc_port, "--route", "r1", "set", "rk", "v")[0] == 0
    assert run(server.grpc_port, "get", "rk", "--route", "other")[1] == b"v"
    assert client.get("rk", timeout=10).value == b"v"


def test_help_and_version_exit_0():
    rc, out, _ = run(None, "--help")
    assert rc == 0 and b"usage: tiny-cache-cli" in out and b"--route" in out
    rc, out, _ = run(None, "--version")
    assert rc == 0 and out.startswith(b"tiny-cache-cli ")


def test_unreadable_cacert_is_usage_error(server):
    rc, _, err = run(server.grpc_port, "--tls", "--cacert", "/nonexistent.pem",
                     "stats")
    assert rc == 2 and "/nonexistent.pem" in err


@pytest.mark.parametrize("files,named", [
    ({"--cacert": "empty"}, "--cacert: '{empty}' holds no PEM certificate"),
    ({"--cacert": "junk"}, "--cacert: '{junk}' holds no PEM certificate"),
    ({"--cert": "client.crt", "--key": "server.key"},
     "--key: '{server.key}' does not match the certificate"),
    ({"--cert": "junk", "--key": "client.key"},
     "--cert: '{junk}' holds no PEM certificate"),
    ({"--cert": "weak.crt", "--key": "weak.key"},
     "--cert: '{weak.crt}' is refused by OpenSSL: ee key too small"),
])
def test_a_tls_file_gRPC_would_refuse_is_usage_error(pki, files, named):
    """Files gRPC would take and then fail every call with, as if the
    server were down (exit 4): refused up front, exit 2, naming the
    option. No server runs: none is reached."""
    path = {n: os.path.join(pki, n) for n in
            ("empty", "junk", "client.crt", "server.key", "client.key",
             "weak.crt", "weak.key")}
    args = ["--tls"]
    for opt, name in files.items():
        args += [opt, path[name]]
    rc, out, err = run(1, "health", pre=args)
    assert (rc, out) == (2, b"")
    for name, p in path.items():
        named = named.replace("{%s}" % name, p)
    assert named in err, err


@pytest.mark.parametrize("args", [
    ["get", ""],
    ["set", "", "v"],
    ["del", ""],
    ["get", "k" * 257],
])
def test_invalid_key_is_server_error_3(server, args):
    rc, out, err = run(server.grpc_port, *args)
    assert (rc, out) == (3, b"")
    assert "INVALID_ARGUMENT (3)" in err


def test_invalid_utf8_key_is_server_error_3(server):
    rc, _, err = run(server.grpc_port, "get", os.fsdecode(b"\xff\xfe"))
    assert rc == 3 and "INVALID_ARGUMENT" in err


def test_oversize_value_is_server_error_3_and_keeps_old(server, client):
    client.set("keep", b"old", timeout=10)
    rc, _, err = run(server.grpc_port, "set", "keep", "-",
                     stdin=b"x" * (MAX_VALUE + 1))
    assert rc == 3 and "RESOURCE_EXHAUSTED" in err
    assert client.get("keep", timeout=10).value == b"old"


def test_error_message_carries_request_id(server):
    rc, _, err = run(server.grpc_port, "--request-id", "cli-test-42",
                     "get", "")
    assert rc == 3
    assert "request_id=cli-test-42" in err


def test_unreachable_port_exits_4():
    rc, out, err = run(free_port(), "--timeout", "5", "get", "k")
    assert (rc, out) == (4, b"")
    assert "UNAVAILABLE" in err


def test_silent_server_exits_4_after_timeout():
    with socket.socket() as lsn:
        lsn.bind(("127.0.0.1", 0))
        lsn.listen(8)
        rc, _, err = run(lsn.getsockname()[1], "--timeout", "0.5", "stats")
    assert rc == 4
    assert "DEADLINE_EXCEEDED" in err


class _NoMessage(grpc.GenericRpcHandler):
    """Answers every method OK without a response message (a stream of
    none), which a unary call must not get."""

    def service(self, details):
        return grpc.unary_stream_rpc_method_handler(lambda req, ctx: iter(()))


@pytest.mark.parametrize("args", [
    ["get", "k"], ["incr", "k"], ["flush"], ["stats"], ["touch", "k", "5"],
])
def test_ok_without_a_response_is_server_error_3(args):
    srv = grpc.server(futures.ThreadPoolExecutor(2), handlers=[_NoMessage()])
    port = srv.add_insecure_port("127.0.0.1:0")
    srv.start()
    try:
        rc, out, err = run(port, *args)
    finally:
        srv.stop(None)
    assert (rc, out) == (3, b"")
    assert "INTERNAL" in err and "without a response" in err


class _NanStats(grpc.GenericRpcHandler):
    """Answers Stats with a hit rate that is not a number."""

    def service(self, details):
        m = harness.pb2()
        reply = m.CacheStats(hits=1, hit_rate=float("nan")).SerializeToString()
        return grpc.unary_unary_rpc_method_handler(lambda req, ctx: reply)


def test_stats_json_is_json_whatever_the_server_sends():
    """A NaN from a server is null in --json (JSON has no NaN), and still
    nan in the text form."""
    srv = grpc.server(futures.ThreadPoolExecutor(2), handlers=[_NanStats()])
    port = srv.add_insecure_port("127.0.0.1:0")
    srv.start()
    try:
        rc, out, err = run(port, "stats", "--json")
        rc2, text, _ = run(port, "stats")
    finally:
        srv.stop(None)
    assert rc == 0, err
    doc = json.loads(out, parse_constant=lambda c: pytest.fail(c))
    assert doc["hit_rate"] is None and doc["hits"] == 1
    assert rc2 == 0 and b"hit_rate           nan" in text


def test_stats_text_lists_every_field(server, client):
    rc, out, _ = run(server.grpc_port, "stats")
    assert rc == 0
    names = [line.split()[0] for line in out.decode().splitlines()]
    assert names == STATS_FIELDS


def test_stats_json_matches_server_counters(server, client):
    client.set("counted", b"v", timeout=10)
    rc, out, _ = run(server.grpc_port, "stats", "--json")
    assert rc == 0
    doc = json.loads(out)
    ref = client.stats(timeout=10)
    assert list(doc) == STATS_FIELDS
    assert doc["max_value_bytes"] == MAX_VALUE
    assert doc["size"] == ref.size
    assert doc["sets"] == ref.sets
    assert doc["gets"] == ref.gets
    rc, _, _ = run(server.grpc_port, "get", "counted")
    assert client.stats(timeout=10).gets == ref.gets + 1


@pytest.mark.parametrize("service", [[], ["cache.CacheService"]])
def test_health_serving_exits_0(server, service):
    assert run(server.grpc_port, "health", *service) == (0, b"SERVING\n", "")


def test_health_unknown_service_is_server_error_3(server):
    rc, out, err = run(server.grpc_port, "health", "no.such.Service")
    assert (rc, out) == (3, b"")
    assert "NOT_FOUND (5)" in err


def test_health_not_serving_during_shutdown_delay_exits_1():
    with harness.Server(env={"CACHE_SHUTDOWN_DELAY": "5"}) as s:
        s.proc.send_signal(signal.SIGTERM)
        rc, out, _ = run(s.grpc_port, "health")
        assert (rc, out) == (1, b"NOT_SERVING\n")


def test_tls_and_mutual_tls(pki):
    d = pki
    ca = os.path.join(d, "ca.crt")
    with harness.Server(env=tls_env(d)) as s:
        tls = ["--tls", "--cacert", ca]
        assert run(s.grpc_port, "set", "t", "secret", pre=tls)[0] == 0
        assert run(s.grpc_port, "get", "t", pre=tls)[:2] == (0, b"secret")
        assert run(s.grpc_port, "get", "t", pre=["--timeout", "2"])[0] == 4
        assert run(s.grpc_port, "get", "t",
                   pre=tls + ["--tls-name", "localhost"])[0] == 0
    with harness.Server(env=tls_env(d, mtls=True)) as s:
        tls = ["--tls", "--cacert", ca]
        mine = ["--cert", os.path.join(d, "client.crt"),
                "--key", os.path.join(d, "client.key")]
        assert run(s.grpc_port, "health", pre=tls + mine)[0] == 0
        assert run(s.grpc_port, "health", pre=tls + ["--timeout", "2"])[0] == 4


def test_host_too_long_for_a_target_is_a_usage_error():
    """A host whose target (host:port) would not fit is refused, not cut
    short to some other name."""
    rc, out, err = run(1, "stats", pre=("-H", "h" * 600))
    assert (rc, out) == (2, b"")
    assert "host and port are longer than 511 bytes" in err
