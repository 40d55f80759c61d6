"""TTL over the wire (README, The store): one short real sleep, wide
margin."""

import time

import harness


def test_ttl_expiry_and_no_expiry():
    with harness.Server(env={"CACHE_CLEANUP_INTERVAL": 3600}) as s:
        ch = s.channel()
        c = harness.CacheClient(ch)
        c.set("short", b"v", ttl=1)
        c.set("forever", b"v", ttl=0)
        c.set("negative", b"v", ttl=-5)
        c.set("renewed", b"v", ttl=1)
        c.set("renewed", b"w", ttl=0)   # writing again replaces the TTL
        assert c.get("short").found
        time.sleep(2.5)
        assert not c.get("short").found
        assert c.get("forever").found
        assert c.get("negative").found
        assert c.get("renewed").value == b"w"
        st = c.stats()
        assert st.misses == 1 and st.expired_removals == 1
        assert st.size == 3
        ch.close()


def test_cleanup_thread_removes_expired_entries():
    with harness.Server(env={"CACHE_CLEANUP_INTERVAL": 1}) as s:
        ch = s.channel()
        c = harness.CacheClient(ch)
        for i in range(10):
            c.set("e%d" % i, b"v", ttl=1)
        deadline = time.monotonic() + 10
        while c.stats().size and time.monotonic() < deadline:
            time.sleep(0.5)
        st = c.stats()
        assert st.size == 0 and st.expired_removals == 10
        assert st.misses == 0
        ch.close()
