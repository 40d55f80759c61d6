"""Hostile and malformed requests (README, API): an error, never a crash."""

import grpc
import pytest

import harness

METHODS = ["Get", "Set", "Delete", "Stats", "MultiGet", "MultiSet",
           "MultiDelete", "SetIfAbsent", "CompareAndSet", "Increment",
           "Touch", "Flush"]
MALFORMED = [
    b"\xff\xff\xff\xff",            # bad tag, endless varint
    b"\x0a\x05ab",                  # key length past the end
    b"\x0a",                        # tag without length
    b"\x0b",                        # start group, wire type 3
    b"\x08" + b"\xff" * 11,         # varint over 10 bytes
]
BAD_UTF8 = [
    b"\xff",
    b"\xc0\x80",                    # overlong U+0000
    b"\xe0\x80\xaf",                # overlong '/'
    b"\xed\xa0\x80",                # surrogate U+D800
    b"\xf4\x90\x80\x80",            # above U+10FFFF
    b"ab\xe2\x82",                  # truncated sequence
]


@pytest.fixture(scope="module")
def server():
    with harness.Server() as s:
        yield s
        assert s.stop(timeout=20) == 0, s.log_text()


def raw(server, method):
    ch = server.channel()
    return ch, harness.raw_call(ch, "/cache.CacheService/" + method)


def key_field(key_bytes, field=1):
    return bytes([field << 3 | 2, len(key_bytes)]) + key_bytes


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("body", MALFORMED)
def test_malformed_body_is_invalid_argument(server, method, body):
    ch, call = raw(server, method)
    with pytest.raises(grpc.RpcError) as e:
        call(body, timeout=10)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    c = harness.CacheClient(ch)
    assert c.set("after-bad", b"v").status == c.m.OK
    assert c.get("after-bad").value == b"v"
    ch.close()


def item(key, value):
    inner = key_field(key) + bytes([0x12, len(value)]) + value
    return bytes([0x0a, len(inner)]) + inner


@pytest.mark.parametrize("bad", [
    b"\x0a\x01b\x12\x7f",       # the value's length past the item's end
    b"\x0a\x01b\xff\xff",       # a bad tag inside the item
    b"\x0a\x01b\x0b",            # a group inside the item
])
def test_multiset_with_one_undecodable_item_applies_nothing(server, bad):
    """An item that does not decode makes the body undecodable: the call
    is INVALID_ARGUMENT and no item of it, before or after, is stored."""
    ch, call = raw(server, "MultiSet")
    body = (item(b"ms-a", b"1") + bytes([0x0a, len(bad)]) + bad +
            item(b"ms-c", b"3"))
    with pytest.raises(grpc.RpcError) as e:
        call(body, timeout=10)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    c = harness.CacheClient(ch)
    for k in ("ms-a", "b", "ms-c"):
        assert not c.get(k).found, k
    assert c.set("after-bad-item", b"v").status == c.m.OK
    assert c.get("after-bad-item").value == b"v"
    ch.close()


@pytest.mark.parametrize("method", ["Get", "Set", "Delete"])
@pytest.mark.parametrize("key", BAD_UTF8)
def test_invalid_utf8_key_is_invalid_argument(server, method, key):
    ch, call = raw(server, method)
    with pytest.raises(grpc.RpcError) as e:
        call(key_field(key), timeout=10)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    ch.close()


def test_valid_nul_key_by_raw_bytes(server):
    ch, call = raw(server, "Set")
    body = key_field(b"x\x00y") + bytes([0x12, 2]) + b"ok"
    call(body, timeout=10)
    c = harness.CacheClient(ch)
    assert c.get("x\x00y").value == b"ok"
    assert not c.get("x").found
    ch.close()


def test_unknown_fields_are_ignored(server):
    ch, call = raw(server, "Set")
    body = key_field(b"uf") + bytes([0x12, 1]) + b"v" + b"\xa0\x06\x07"
    call(body, timeout=10)
    assert harness.CacheClient(ch).get("uf").value == b"v"
    ch.close()


def test_invalid_keys_are_not_counted():
    with harness.Server() as s:
        ch, call = raw(s, "Get")
        for key in BAD_UTF8:
            with pytest.raises(grpc.RpcError):
                call(key_field(key), timeout=10)
        st = harness.CacheClient(ch).stats()
        assert (st.gets, st.misses, st.hits) == (0, 0, 0)
        ch.close()


def test_malformed_health_request(server):
    ch = server.channel()
    call = harness.raw_call(ch, "/grpc.health.v1.Health/Check")
    with pytest.raises(grpc.RpcError) as e:
        call(b"\x0a\x09abc", timeout=10)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert harness.health_check(ch) == "SERVING"
    ch.close()


def test_large_metadata_is_refused_and_server_survives(server):
    ch = server.channel()
    c = harness.CacheClient(ch)
    assert not c.get("k", metadata=[("x-small", "a" * 4096)],
                     timeout=10).found
    with pytest.raises(grpc.RpcError) as e:
        c.get("k", metadata=[("x-big", "a" * 16384)], timeout=10)
    assert e.value.code() != grpc.StatusCode.OK
    ch.close()
    ch = server.channel()
    assert harness.CacheClient(ch).set("k", b"v").status == c.m.OK
    ch.close()
