"""cache.CacheService and grpc.health.v1.Health over the wire (README, API)."""

import json
import re
import shutil
import subprocess
import time

import grpc
import pytest

import harness


@pytest.fixture(scope="module")
def server():
    with harness.Server() as s:
        yield s
        assert s.stop(timeout=20) == 0, s.log_text()


@pytest.fixture(scope="module")
def client(server):
    ch = server.channel()
    yield harness.CacheClient(ch)
    ch.close()


def code_of(fn):
    with pytest.raises(grpc.RpcError) as e:
        fn()
    return e.value.code()


def test_set_get_delete_round_trip(client):
    value = bytes(range(256)) + b"\x00\xff"
    assert client.set("rt", value).status == client.m.OK
    got = client.get("rt")
    assert got.found and got.value == value
    assert client.delete("rt").status == client.m.OK
    assert not client.get("rt").found


def test_empty_value_is_a_value(client):
    client.set("empty", b"")
    got = client.get("empty")
    assert got.found and got.value == b""


def test_get_missing_is_not_found_ok(client):
    got = client.get("never-set")
    assert not got.found and got.value == b""


def test_delete_missing_is_ok(client):
    assert client.delete("never-set-either").status == client.m.OK


def test_overwrite_replaces_value(client):
    client.set("ow", b"one")
    client.set("ow", b"two")
    assert client.get("ow").value == b"two"


def test_keys_differing_after_nul_are_distinct(client):
    client.set("a\x00b", b"1")
    client.set("a", b"2")
    client.set("a\x00c", b"3")
    assert client.get("a\x00b").value == b"1"
    assert client.get("a").value == b"2"
    assert client.get("a\x00c").value == b"3"
    client.delete("a\x00b")
    assert client.get("a").value == b"2"
    assert not client.get("a\x00b").found


def test_empty_key_is_invalid(client):
    assert code_of(lambda: client.get("")) == grpc.StatusCode.INVALID_ARGUMENT
    assert code_of(lambda: client.set("", b"x")) == \
        grpc.StatusCode.INVALID_ARGUMENT
    assert code_of(lambda: client.delete("")) == \
        grpc.StatusCode.INVALID_ARGUMENT


def test_key_length_counts_code_points(client):
    assert client.set("k" * 256, b"x").status == client.m.OK
    assert client.set("\u00e9" * 256, b"x").status == client.m.OK
    assert client.get("\U0001f600" * 256).found is False
    for key in ("k" * 257, "\u00e9" * 257):
        assert code_of(lambda: client.set(key, b"x")) == \
            grpc.StatusCode.INVALID_ARGUMENT
        assert code_of(lambda: client.get(key)) == \
            grpc.StatusCode.INVALID_ARGUMENT


def test_unknown_method_is_unimplemented_at_once(server):
    ch = server.channel()
    call = harness.raw_call(ch, "/cache.CacheService/Nope")
    t0 = time.monotonic()
    with pytest.raises(grpc.RpcError) as e:
        call(b"", timeout=20)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert time.monotonic() - t0 < 10
    ch.close()


def test_health_check(server):
    ch = server.channel()
    assert harness.health_check(ch, "") == "SERVING"
    assert harness.health_check(ch, "cache.CacheService") == "SERVING"
    with pytest.raises(grpc.RpcError) as e:
        harness.health_check(ch, "no.such.Service")
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    ch.close()


def test_health_watch_is_unimplemented(server):
    h = harness.health_pb2()
    ch = server.channel()
    watch = ch.unary_stream(
        "/grpc.health.v1.Health/Watch",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=h.HealthCheckResponse.FromString)
    with pytest.raises(grpc.RpcError) as e:
        list(watch(h.HealthCheckRequest(service=""), timeout=20))
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    ch.close()


def _reqid(call_fn):
    _, call = call_fn()
    return dict(call.initial_metadata()).get("x-request-id")


def test_request_id_echoed_when_valid(client):
    rid = "req-123_ABC.xyz"
    got = _reqid(lambda: client.Get.with_call(
        client.m.CacheKey(key="x"), metadata=[("x-request-id", rid)]))
    assert got == rid
    long_ok = "r" * 64
    assert _reqid(lambda: client.Get.with_call(
        client.m.CacheKey(key="x"),
        metadata=[("x-request-id", long_ok)])) == long_ok
    spaced = "order 17 / retry 2"
    assert _reqid(lambda: client.Get.with_call(
        client.m.CacheKey(key="x"),
        metadata=[("x-request-id", spaced)])) == spaced


def test_request_id_replaced_when_invalid(client):
    for bad in ("r" * 65, ""):
        got = _reqid(lambda: client.Get.with_call(
            client.m.CacheKey(key="x"), metadata=[("x-request-id", bad)]))
        assert re.fullmatch(r"[0-9a-f]{32}", got), got


def test_request_id_made_when_absent(client):
    got = _reqid(lambda: client.Get.with_call(client.m.CacheKey(key="x")))
    assert re.fullmatch(r"[0-9a-f]{32}", got), got


def test_request_id_on_errors(client):
    with pytest.raises(grpc.RpcError) as e:
        client.get("", metadata=[("x-request-id", "err-id")])
    assert dict(e.value.initial_metadata()).get("x-request-id") == "err-id"


def test_request_id_in_debug_log():
    with harness.Server(env={"CACHE_LOG_LEVEL": "debug"}) as s:
        ch = s.channel()
        c = harness.CacheClient(ch)
        c.set("logged\x01key", b"secret-value",
              metadata=[("x-request-id", "log-me-1")])
        ch.close()
        s.stop()
        lines = [l for l in s.log_lines() if "log-me-1" in l]
        assert lines, s.log_text()
        assert "Set" in lines[0] and "OK" in lines[0]
        assert "logged\\x01key" in lines[0]
        assert "secret-value" not in s.log_text()


def test_stats_after_known_sequence():
    with harness.Server(env={"CACHE_MAX_ITEMS": 50,
                             "CACHE_MAX_MEMORY_MB": 2}) as s:
        ch = s.channel()
        c = harness.CacheClient(ch)
        c.set("s1", b"a" * 10)
        c.set("s2", b"b" * 20)
        c.get("s1")
        c.get("s1")
        c.get("nope")
        c.delete("s2")
        c.delete("nope")
        with pytest.raises(grpc.RpcError):
            c.get("")
        st = c.stats()
        assert (st.size, st.hits, st.misses) == (1, 2, 1)
        assert (st.gets, st.sets, st.deletes) == (3, 2, 2)
        assert st.hit_rate == pytest.approx(2 / 3)
        assert st.evictions == st.lru_evictions == 0
        assert st.max_items == 50
        assert st.max_memory_bytes == 2 * 1048576
        assert st.max_value_bytes == 2 * 1048576
        assert 0 < st.memory_usage_bytes <= st.max_memory_bytes
        assert st.rejected_oversize == st.rejected_capacity == 0
        ch.close()


def test_stats_empty_cache_hit_rate_zero():
    with harness.Server() as s:
        ch = s.channel()
        st = harness.CacheClient(ch).stats()
        assert st.hit_rate == 0 and st.size == 0 and st.hits == 0
        ch.close()


def test_plaintext_on_all_interfaces_warns():
    with harness.Server(env={"CACHE_HOST": "0.0.0.0"}) as s:
        assert any("WARNING" in l and "TLS" in l for l in s.log_lines()), \
            s.log_text()
    with harness.Server() as s:
        assert not any("WARNING" in l for l in s.log_lines()), s.log_text()


FAIL_MALLOC_C = r"""
#include <errno.h>
#include <stdlib.h>
extern void *__libc_malloc(size_t);
static size_t fail_size;
static int loaded;
void *malloc(size_t n)
{
    if (!loaded) {
        const char *s = getenv("TC_FAIL_MALLOC_SIZE");
        fail_size = s ? strtoul(s, NULL, 10) : 0;
        loaded = 1;
    }
    if (n == fail_size && fail_size) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_malloc(n);
}
"""


def _sanitizer_build():
    """ASan and TSan have allocators of their own that a malloc preloaded
    in front of them breaks."""
    out = subprocess.run(["ldd", harness.daemon_path()], capture_output=True,
                         text=True).stdout
    return "libasan" in out or "libtsan" in out


def test_internal_error_details_quote_request_id(tmp_path):
    """A store allocation failure: INTERNAL, details with the request id
    only, a WARNING with the id, and the server keeps serving. malloc fails
    for exactly the size of the entry (32-byte header + key + value)."""
    if shutil.which("gcc") is None or _sanitizer_build():
        pytest.skip("needs gcc and a build without ASan or TSan")
    src = tmp_path / "failmalloc.c"
    src.write_text(FAIL_MALLOC_C)
    lib = tmp_path / "failmalloc.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", str(lib),
                    str(src)], check=True)
    key, value = "k" * 211, b"v" * 2999
    env = {"LD_PRELOAD": str(lib),
           "TC_FAIL_MALLOC_SIZE": 32 + len(key) + len(value)}
    with harness.Server(env=env) as s:
        ch = s.channel()
        c = harness.CacheClient(ch)
        with pytest.raises(grpc.RpcError) as e:
            c.set(key, value, metadata=[("x-request-id", "oom-1")])
        assert e.value.code() == grpc.StatusCode.INTERNAL
        assert e.value.details() == \
            "Internal server error (request_id=oom-1)"
        assert not c.get(key).found
        assert c.set(key, value[:-1]).status == c.m.OK
        ch.close()
        s.stop()
        assert any("WARNING" in l and "oom-1" in l for l in s.log_lines())


def test_json_logs_stay_json_and_carry_the_request_id():
    with harness.Server(env={"CACHE_LOG_FORMAT": "json",
                             "CACHE_LOG_LEVEL": "debug"}) as s:
        ch = s.channel()
        harness.CacheClient(ch).get("x", metadata=[("x-request-id", "j-1")])
        ch.close()
        assert s.stop() == 0
        objs = [json.loads(l) for l in s.log_lines()]
        mine = [o for o in objs if o["request_id"] == "j-1"]
        assert mine and mine[0]["level"] == "DEBUG"
        assert mine[0]["message"].startswith("Get ")
