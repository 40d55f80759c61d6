"""Many client threads at once: counters add up exactly."""

import random
import threading

import pytest

import harness

THREADS = 8
OPS = 300


def worker(target, idx, out):
    import grpc
    ch = grpc.insecure_channel(target)
    c = harness.CacheClient(ch)
    rnd = random.Random(idx)
    n = dict(gets=0, sets=0, deletes=0, hits=0, misses=0)
    live = set()
    for _ in range(OPS):
        key = "t%d-%d" % (idx, rnd.randrange(20))
        op = rnd.randrange(3)
        if op == 0:
            c.set(key, key.encode() * 3)
            live.add(key)
            n["sets"] += 1
        elif op == 1:
            got = c.get(key)
            assert got.found == (key in live)
            if got.found:
                assert got.value == key.encode() * 3
            n["gets"] += 1
            n["hits" if got.found else "misses"] += 1
        else:
            c.delete(key)
            live.discard(key)
            n["deletes"] += 1
    if idx % 2 == 0:
        c.stats()
    n["size"] = len(live)
    out[idx] = n
    ch.close()


@pytest.mark.parametrize("workers", [1, 2, 5])
def test_mixed_calls_from_8_threads_keep_stats_consistent(workers):
    with harness.Server(env={"CACHE_WORKERS": workers}) as s:
        out = {}
        ts = [threading.Thread(target=worker, args=(s.target, i, out))
              for i in range(THREADS)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(timeout=120)
        assert len(out) == THREADS
        ch = s.channel()
        st = harness.CacheClient(ch).stats()
        for field in ("gets", "sets", "deletes", "hits", "misses", "size"):
            assert getattr(st, field) == sum(n[field] for n in out.values()), \
                field
        assert st.evictions == 0
        ch.close()
        assert s.stop(timeout=20) == 0
