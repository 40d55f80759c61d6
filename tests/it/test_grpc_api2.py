"""The second part of the API: batches, conditional writes, Increment,
Touch, Flush and namespaces, against the real daemon."""

import threading
import time

import grpc
import pytest

import harness

NS = "x-cache-namespace"


@pytest.fixture(scope="module")
def server():
    with harness.Server(env={"CACHE_MAX_BATCH": 50,
                             "CACHE_MAX_VALUE_BYTES": 4096}) as s:
        yield s
        assert s.stop(timeout=20) == 0, s.log_text()


@pytest.fixture
def c(server):
    ch = server.channel()
    yield harness.CacheClient(ch)
    ch.close()


def md(ns):
    return [(NS, ns)] if ns is not None else None


def mget(c, keys, ns=None):
    return c.MultiGet(c.m.MultiCacheKeyRequest(keys=keys), metadata=md(ns),
                      timeout=10).items


def mset(c, items, ns=None, ttl=0):
    req = c.m.MultiCacheItemRequest(items=[
        c.m.CacheItem(key=k, value=v, ttl=ttl) for k, v in items])
    return c.MultiSet(req, metadata=md(ns), timeout=10).items


def cond(c, name):
    return c.m.ConditionalCacheStatus.Name(name)


# --- batches -------------------------------------------------------------

def test_batches_answer_in_order_with_duplicates(c):
    res = mset(c, [("b1", b"1"), ("b2", b"2"), ("b1", b"3")])
    assert [(r.key, r.status, r.error) for r in res] == [
        ("b1", c.m.OK, ""), ("b2", c.m.OK, ""), ("b1", c.m.OK, "")]
    got = mget(c, ["b2", "b1", "nope", "b1"])
    assert [(g.key, g.found, g.value) for g in got] == [
        ("b2", True, b"2"), ("b1", True, b"3"), ("nope", False, b""),
        ("b1", True, b"3")]
    res = c.MultiDelete(c.m.MultiCacheKeyRequest(keys=["b1", "gone", "b1"]),
                        timeout=10).items
    assert [(r.key, r.status) for r in res] == [
        ("b1", c.m.OK), ("gone", c.m.OK), ("b1", c.m.OK)]
    assert not c.get("b1").found and c.get("b2").value == b"2"


def test_empty_batches_answer_empty_lists(c):
    assert list(mget(c, [])) == []
    assert list(mset(c, [])) == []
    assert list(c.MultiDelete(c.m.MultiCacheKeyRequest(),
                              timeout=10).items) == []


def test_item_errors_beside_good_items(c):
    c.set("keep", b"old")
    res = mset(c, [("", b"x"), ("k" * 257, b"x"), ("ok1", b"v"),
                   ("keep", b"y" * 5000), ("é" * 256, b"v")])
    assert [r.status for r in res] == [c.m.ERROR, c.m.ERROR, c.m.OK,
                                       c.m.ERROR, c.m.OK]
    assert res[0].error == "key is empty"
    assert res[1].error == "key is longer than 256 characters"
    assert res[3].error == "value is larger than the cache accepts"
    assert c.get("keep").value == b"old"      # refused: old value untouched
    assert c.get("ok1").value == b"v"
    got = mget(c, ["", "ok1"])
    assert (got[0].found, got[0].error) == (False, "key is empty")
    assert (got[1].found, got[1].value, got[1].error) == (True, b"v", "")


def fields(data):
    """(field number, value) of a message's length-delimited and varint
    fields, read by hand: a reply that echoes a key that is not UTF-8 is
    not a valid proto3 string for a strict parser."""
    out, i = [], 0
    while i < len(data):
        tag, i = varint(data, i)
        if tag & 7 == 2:
            n, i = varint(data, i)
            out.append((tag >> 3, data[i:i + n]))
            i += n
        else:
            v, i = varint(data, i)
            out.append((tag >> 3, v))
    return out


def varint(data, i):
    v = shift = 0
    while True:
        b = data[i]
        i += 1
        v |= (b & 0x7f) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def test_invalid_utf8_key_in_a_batch_is_an_item_error(server, c):
    ch = server.channel()
    raw = harness.raw_call(ch, "/cache.CacheService/MultiGet")
    body = b"\x0a\x01k" + b"\x0a\x02\xc0\x80"
    items = [dict(fields(v)) for _, v in fields(raw(body, timeout=10))]
    assert items[0][1] == b"k" and 4 not in items[0]
    assert items[1][1] == b"\xc0\x80"              # echoed byte for byte
    assert items[1][4] == b"key is not valid UTF-8"
    assert 2 not in items[1]                        # found=false
    ch.close()


def test_nul_inside_keys_in_batches(c):
    mset(c, [("n\0a", b"1"), ("n\0b", b"2"), ("n", b"3")])
    got = mget(c, ["n\0b", "n\0a", "n"])
    assert [(g.key, g.value) for g in got] == [("n\0b", b"2"), ("n\0a", b"1"),
                                               ("n", b"3")]


def test_batch_over_the_limit_applies_nothing(c):
    items = [("lim%d" % i, b"v") for i in range(51)]
    with pytest.raises(grpc.RpcError) as e:
        mset(c, items)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert not c.get("lim0").found
    with pytest.raises(grpc.RpcError) as e:
        mget(c, ["k"] * 51)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len(mset(c, items[:50])) == 50


def test_batch_counters_count_items(c):
    before = c.stats()
    mset(c, [("cnt%d" % i, b"v") for i in range(10)])
    mget(c, ["cnt%d" % i for i in range(10)])
    after = c.stats()
    assert after.sets - before.sets == 10
    assert after.gets - before.gets == 10
    assert after.hits - before.hits == 10


# --- conditional writes ----------------------------------------------------

def test_set_if_absent(c):
    item = c.m.CacheItem(key="sia", value=b"1")
    assert cond(c, c.SetIfAbsent(item, timeout=10).status) == "STORED"
    item2 = c.m.CacheItem(key="sia", value=b"2")
    assert cond(c, c.SetIfAbsent(item2, timeout=10).status) == "EXISTS"
    assert c.get("sia").value == b"1"


def cas(c, key, expected, value, ttl=0, ns=None):
    r = c.CompareAndSet(c.m.CompareAndSetRequest(
        key=key, expected_value=expected, value=value, ttl=ttl),
        metadata=md(ns), timeout=10)
    return cond(c, r.status)


def test_compare_and_set(c):
    assert cas(c, "cas", b"a", b"b") == "NOT_FOUND"
    c.set("cas", b"a")
    assert cas(c, "cas", b"x", b"b") == "MISMATCH"
    assert cas(c, "cas", b"a\0", b"b") == "MISMATCH"   # any byte, length too
    assert c.get("cas").value == b"a"
    assert cas(c, "cas", b"a", b"b") == "STORED"
    assert c.get("cas").value == b"b"


def test_conditional_writes_that_cannot_fit(c):
    big = b"z" * 5000
    with pytest.raises(grpc.RpcError) as e:
        c.SetIfAbsent(c.m.CacheItem(key="big1", value=big), timeout=10)
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    c.set("big2", b"a")
    with pytest.raises(grpc.RpcError) as e:
        cas(c, "big2", b"a", big)
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert c.get("big2").value == b"a"


def test_expired_keys_are_absent_for_conditional_writes(c):
    c.set("exp1", b"a", ttl=1)
    c.set("exp2", b"a", ttl=1)
    time.sleep(2.2)
    item = c.m.CacheItem(key="exp1", value=b"new")
    assert cond(c, c.SetIfAbsent(item, timeout=10).status) == "STORED"
    assert cas(c, "exp2", b"a", b"b") == "NOT_FOUND"
    assert not c.Touch(c.m.TouchRequest(key="exp2", ttl=5),
                       timeout=10).found


# --- Increment ---------------------------------------------------------------

def incr(c, key, delta, ttl=0, ns=None):
    return c.Increment(c.m.IncrementRequest(key=key, delta=delta, ttl=ttl),
                       metadata=md(ns), timeout=10).value


def test_increment_creates_adds_and_reads_back_as_text(c):
    assert incr(c, "ctr", 5) == 5
    assert incr(c, "ctr", -47) == -42
    assert c.get("ctr").value == b"-42"
    assert incr(c, "ctr", 0) == -42


@pytest.mark.parametrize("value", [b"", b"abc", b" 1", b"+1", b"01", b"-0",
                                   b"1.5", b"9" * 20])
def test_increment_of_a_non_number_is_failed_precondition(c, value):
    c.set("nan", value)
    with pytest.raises(grpc.RpcError) as e:
        incr(c, "nan", 1)
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert c.get("nan").value == value


def test_increment_overflow_is_out_of_range(c):
    c.set("big", b"9223372036854775807")
    with pytest.raises(grpc.RpcError) as e:
        incr(c, "big", 1)
    assert e.value.code() == grpc.StatusCode.OUT_OF_RANGE
    c.set("small", b"-9223372036854775808")
    with pytest.raises(grpc.RpcError) as e:
        incr(c, "small", -1)
    assert e.value.code() == grpc.StatusCode.OUT_OF_RANGE
    assert c.get("big").value == b"9223372036854775807"


def test_increment_ttl_applies_only_on_create(c):
    assert incr(c, "ttl-ctr", 1, ttl=1) == 1
    c.set("ttl-keep", b"7")
    assert incr(c, "ttl-keep", 1, ttl=1) == 8
    time.sleep(2.2)
    assert not c.get("ttl-ctr").found
    assert c.get("ttl-keep").value == b"8"


# --- Touch and Flush ------------------------------------------------------------

def test_touch_changes_the_ttl_only(c):
    c.set("t1", b"v", ttl=1)
    c.set("t2", b"v")
    assert c.Touch(c.m.TouchRequest(key="t1", ttl=0), timeout=10).found
    assert c.Touch(c.m.TouchRequest(key="t2", ttl=1), timeout=10).found
    assert not c.Touch(c.m.TouchRequest(key="t-none", ttl=1),
                       timeout=10).found
    time.sleep(2.2)
    assert c.get("t1").value == b"v"
    assert not c.get("t2").found


def test_touch_makes_a_key_most_recently_used():
    with harness.Server(env={"CACHE_MAX_ITEMS": 3, "CACHE_SHARDS": 1}) as s:
        ch = s.channel()
        c = harness.CacheClient(ch)
        for k in "abc":
            c.set(k, b"v")
        assert c.Touch(c.m.TouchRequest(key="a", ttl=0), timeout=10).found
        c.set("d", b"v")
        assert [c.get(k).found for k in "abcd"] == [True, False, True, True]
        ch.close()


def test_flush_removes_one_keyspace(c):
    c.Flush(c.m.Empty(), metadata=md("fl-other"), timeout=10)
    mset(c, [("f1", b"1"), ("f2", b"2")], ns="fl")
    mset(c, [("f1", b"x")], ns="fl-other")
    c.set("f1", b"shared")
    r = c.Flush(c.m.Empty(), metadata=md("fl"), timeout=10)
    assert r.removed == 2
    assert [g.found for g in mget(c, ["f1", "f2"], ns="fl")] == [False, False]
    assert mget(c, ["f1"], ns="fl-other")[0].value == b"x"
    assert c.get("f1").value == b"shared"


def test_flush_of_the_shared_keyspace_leaves_namespaces():
    with harness.Server() as s:
        ch = s.channel()
        c = harness.CacheClient(ch)
        mset(c, [("k%d" % i, b"v") for i in range(20)])
        mset(c, [("k1", b"ns")], ns="kept")
        assert c.Flush(c.m.Empty(), timeout=10).removed == 20
        assert c.stats().size == 1
        assert mget(c, ["k1"], ns="kept")[0].value == b"ns"
        ch.close()


# --- namespaces -------------------------------------------------------------------

def test_namespaces_isolate_every_call(c):
    c.set("iso", b"shared")
    c.Set(c.m.CacheItem(key="iso", value=b"A"), metadata=md("nsA"),
          timeout=10)
    assert c.Get(c.m.CacheKey(key="iso"), metadata=md("nsA"),
                 timeout=10).value == b"A"
    assert not c.Get(c.m.CacheKey(key="iso"), metadata=md("nsB"),
                     timeout=10).found
    assert mget(c, ["iso"], ns="nsB")[0].found is False
    assert incr(c, "iso-n", 1, ns="nsA") == 1
    assert incr(c, "iso-n", 1, ns="nsB") == 1
    assert cas(c, "iso", b"shared", b"x", ns="nsA") == "MISMATCH"
    c.Delete(c.m.CacheKey(key="iso"), metadata=md("nsA"), timeout=10)
    assert c.get("iso").value == b"shared"


def test_a_prefixed_key_cannot_reach_a_namespace(c):
    c.Set(c.m.CacheItem(key="k", value=b"in-abc"), metadata=md("abc"),
          timeout=10)
    for key in ["3:abc:k", "abc:k", "abck", "abc\0k"]:
        assert not c.get(key).found, key
    c.set("3:abc:k", b"shared")
    assert c.Get(c.m.CacheKey(key="k"), metadata=md("abc"),
                 timeout=10).value == b"in-abc"


def test_blank_namespace_is_the_shared_keyspace_and_spaces_are_trimmed(c):
    c.set("blank", b"v")
    assert c.Get(c.m.CacheKey(key="blank"), metadata=md("   "),
                 timeout=10).value == b"v"
    c.Set(c.m.CacheItem(key="trim", value=b"t"), metadata=md(" tr "),
          timeout=10)
    assert c.Get(c.m.CacheKey(key="trim"), metadata=md("tr"),
                 timeout=10).value == b"t"


@pytest.mark.parametrize("ns", ["-a", "a b", "a/b", "x" * 65, "a*b", "_"])
def test_bad_namespace_is_invalid_argument(c, ns):
    for call in (lambda: c.Get(c.m.CacheKey(key="k"), metadata=md(ns),
                               timeout=10),
                 lambda: mget(c, ["k"], ns=ns),
                 lambda: c.Flush(c.m.Empty(), metadata=md(ns), timeout=10)):
        with pytest.raises(grpc.RpcError) as e:
            call()
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("values", [("a", "b"), ("bad ns", "a"),
                                    ("a", "bad ns"), ("a", "a")])
def test_namespace_sent_twice_is_invalid_argument(c, values):
    """Two entries are refused whatever their order or values, as their
    one comma-joined value over HTTP ("a,b") is; nothing is written."""
    c.Set(c.m.CacheItem(key="twice", value=b"v"), metadata=md("a"),
          timeout=10)
    both = [(NS, v) for v in values]
    for call in (lambda: c.Get(c.m.CacheKey(key="twice"), metadata=both,
                               timeout=10),
                 lambda: c.Set(c.m.CacheItem(key="twice", value=b"w"),
                               metadata=both, timeout=10),
                 lambda: c.MultiGet(c.m.MultiCacheKeyRequest(keys=["twice"]),
                                    metadata=both, timeout=10)):
        with pytest.raises(grpc.RpcError) as e:
            call()
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert e.value.details() == "x-cache-namespace must be sent once"
    assert c.Get(c.m.CacheKey(key="twice"), metadata=md("a"),
                 timeout=10).value == b"v"


def test_namespace_bytes_count_in_accounted_memory():
    with harness.Server() as s:
        ch = s.channel()
        c = harness.CacheClient(ch)
        c.set("acc", b"v")
        shared = c.stats().memory_usage_bytes
        c.delete("acc")
        c.Set(c.m.CacheItem(key="acc", value=b"v"),
              metadata=md("n" * 64), timeout=10)
        assert c.stats().memory_usage_bytes >= shared + 64
        ch.close()


# --- concurrency -------------------------------------------------------------------

def run_threads(n, fn):
    errors = []

    def wrap(i):
        try:
            fn(i)
        except Exception as e:      # reported by the assertion below
            errors.append(e)
    ts = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=120)
    assert not errors, errors


def test_cas_loops_and_increments_lose_no_update(server):
    chs = [server.channel() for _ in range(16)]
    cs = [harness.CacheClient(ch) for ch in chs]
    cs[0].set("cas-ctr", b"0")
    cs[0].Delete(cs[0].m.CacheKey(key="inc-ctr"), timeout=10)

    def cas_loop(i):
        c = cs[i]
        for _ in range(50):
            while True:
                v = c.get("cas-ctr").value
                if cas(c, "cas-ctr", v, str(int(v) + 1).encode()) == "STORED":
                    break

    def incr_loop(i):
        for _ in range(50):
            incr(cs[8 + i], "inc-ctr", 1)
    run_threads(8, cas_loop)
    assert cs[0].get("cas-ctr").value == b"400"
    run_threads(8, incr_loop)
    assert cs[0].get("inc-ctr").value == b"400"
    for ch in chs:
        ch.close()


def test_concurrent_set_if_absent_stores_once(server):
    chs = [server.channel() for _ in range(16)]
    results = []
    barrier = threading.Barrier(16)

    def one(i):
        c = harness.CacheClient(chs[i])
        barrier.wait(timeout=30)
        r = c.SetIfAbsent(c.m.CacheItem(key="once", value=b"%d" % i),
                          timeout=10)
        results.append(cond(c, r.status))
    run_threads(16, one)
    assert sorted(results) == ["EXISTS"] * 15 + ["STORED"]
    for ch in chs:
        ch.close()
