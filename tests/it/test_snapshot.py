"""Snapshots (docs/snapshots.md): a restart keeps every entry, its
namespace, its remaining TTL and its LRU order; a damaged file is refused
whole, kept aside as .bad, and the server starts empty; a failed save keeps
the previous file and the server up."""

import json
import os
import random
import re
import signal
import stat
import time
import urllib.request

import pytest

import harness

NS = "x-cache-namespace"


def env_for(path, **extra):
    e = {"CACHE_SNAPSHOT_PATH": str(path)}
    e.update(extra)
    return e


def stats(server):
    with urllib.request.urlopen(server.http_url("/stats"), timeout=10) as r:
        return json.loads(r.read())


def nset(c, key, value, ns=None, ttl=0):
    md = ((NS, ns),) if ns else None
    r = c.Set(c.m.CacheItem(key=key, value=value, ttl=ttl), metadata=md,
              timeout=10)
    assert r.status == c.m.OK


def nget(c, key, ns=None):
    md = ((NS, ns),) if ns else None
    return c.Get(c.m.CacheKey(key=key), metadata=md, timeout=10)


def fill(path, items, **extra):
    """Runs a server, sets items [(key, value, ns)], stops it (saving)."""
    with harness.Server(env=env_for(path, **extra)) as s:
        c = harness.CacheClient(s.channel())
        for key, value, ns in items:
            nset(c, key, value, ns)
        assert s.stop() == 0
        assert "snapshot: saved %d entries" % len(items) in s.log_text()


def wait_log(server, pattern, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(pattern, server.log_text())
        if m:
            return m
        time.sleep(0.05)
    raise AssertionError("no log line matching %r" % pattern)


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


ITEMS = [
    ("plain", b"v", None),
    ("bin", bytes(range(256)) * 3, None),
    ("empty", b"", None),
    ("nul\x00key", b"\x00\xff\x00", None),
    ("plain", b"in a namespace", "tenant-a"),
    ("plain", b"in another", "tenant-b"),
    ("big", bytes(random.Random(7).getrandbits(8) for _ in range(200000)),
     None),
]


def test_restart_keeps_every_entry_byte_for_byte(tmp_path):
    path = tmp_path / "cache.snap"
    fill(path, ITEMS)
    with harness.Server(env=env_for(path)) as s:
        c = harness.CacheClient(s.channel())
        for key, value, ns in ITEMS:
            r = nget(c, key, ns)
            assert r.found and r.value == value, (key, ns)
        assert not nget(c, "nul").found
        assert not nget(c, "plain", "tenant-c").found
        snap = stats(s)["snapshot"]
        assert snap["enabled"] is True
        assert snap["loaded_entries"] == len(ITEMS)
        assert snap["loaded_bytes"] == os.path.getsize(path)
        assert re.search(r"snapshot: loaded %d entries" % len(ITEMS),
                         s.log_text())


def test_restart_keeps_the_remaining_ttl_not_a_fresh_one(tmp_path):
    path = tmp_path / "cache.snap"
    with harness.Server(env=env_for(path)) as s:
        c = harness.CacheClient(s.channel())
        set_at = time.monotonic()
        nset(c, "ttl", b"t", ttl=4)
        nset(c, "forever", b"f")
        time.sleep(2)
        assert s.stop() == 0
    with harness.Server(env=env_for(path)) as s:
        c = harness.CacheClient(s.channel())
        assert nget(c, "ttl").found
        # 4 s after the Set it is gone; a fresh 4 s TTL would last until
        # at least 6 s after it
        time.sleep(max(0, set_at + 5 - time.monotonic()))
        assert not nget(c, "ttl").found
        assert nget(c, "forever").found


def test_restart_keeps_lru_order(tmp_path):
    path = tmp_path / "cache.snap"
    with harness.Server(env=env_for(path, CACHE_MAX_ITEMS=4)) as s:
        c = harness.CacheClient(s.channel())
        for k in "abcd":
            nset(c, k, b"v")
        assert nget(c, "a").found
        assert s.stop() == 0
    with harness.Server(env=env_for(path, CACHE_MAX_ITEMS=4)) as s:
        c = harness.CacheClient(s.channel())
        nset(c, "e", b"v")
        assert [k for k in "abcde" if not nget(c, k).found] == ["b"]


def test_smaller_limits_keep_the_most_recent(tmp_path):
    path = tmp_path / "cache.snap"
    fill(path, [("k%d" % i, b"v", None) for i in range(10)])
    with harness.Server(env=env_for(path, CACHE_MAX_ITEMS=3)) as s:
        c = harness.CacheClient(s.channel())
        kept = [i for i in range(10) if nget(c, "k%d" % i).found]
        assert kept == [7, 8, 9]
        snap = stats(s)["snapshot"]
        assert snap["loaded_entries"] == 3
        assert snap["load_dropped"] == 7


def test_sigkill_after_a_periodic_save_loses_nothing_saved(tmp_path):
    path = tmp_path / "cache.snap"
    env = env_for(path, CACHE_SNAPSHOT_INTERVAL=1)
    with harness.Server(env=env) as s:
        c = harness.CacheClient(s.channel())
        for i in range(50):
            nset(c, "k%d" % i, b"value-%d" % i, ns="n" if i % 2 else None)
        wait_log(s, r"snapshot: saved 50 entries")
        s.stop(signal=signal.SIGKILL)
    with harness.Server(env=env) as s:
        c = harness.CacheClient(s.channel())
        for i in range(50):
            r = nget(c, "k%d" % i, ns="n" if i % 2 else None)
            assert r.found and r.value == b"value-%d" % i


def flip_middle(b):
    b = bytearray(b)
    b[len(b) // 2] ^= 0x10
    return bytes(b)


def future(b):
    b = bytearray(b)
    written = int.from_bytes(b[12:20], "little") + 3600 * 1000
    b[12:20] = written.to_bytes(8, "little")
    b[-4:] = crc32c(bytes(b[:-4])).to_bytes(4, "little")
    return bytes(b)


def other_version(delta):
    def damage(b):
        b = bytearray(b)
        version = int.from_bytes(b[8:12], "little") + delta
        b[8:12] = version.to_bytes(4, "little")
        b[-4:] = crc32c(bytes(b[:-4])).to_bytes(4, "little")
        return bytes(b)
    return damage


DAMAGE = {
    "bit flip in the middle": (flip_middle, "checksum"),
    "cut in the header": (lambda b: b[:15], "truncated"),
    "cut in the middle": (lambda b: b[:len(b) // 2], "checksum"),
    "last byte missing": (lambda b: b[:-1], "checksum"),
    "random bytes": (lambda b: os.urandom(len(b)), "magic"),
    "empty": (lambda b: b"", "empty"),
    "written in the future": (future, "future"),
    "newer format": (other_version(1), "newer"),
    "older format": (other_version(-1), "older"),
}


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_damaged_file_is_refused_kept_aside_and_server_starts_empty(
        tmp_path, kind):
    path = tmp_path / "cache.snap"
    fill(path, [("k%d" % i, b"v" * 100, None) for i in range(20)])
    damage, reason = DAMAGE[kind]
    bad = damage(path.read_bytes())
    path.write_bytes(bad)
    with harness.Server(env=env_for(path)) as s:
        warn = wait_log(s, r"WARNING.*snapshot: .* refused: (.*)")
        assert reason in warn.group(1)
        assert "moved aside" in warn.group(0)
        assert (tmp_path / "cache.snap.bad").read_bytes() == bad
        assert not path.exists()
        c = harness.CacheClient(s.channel())
        assert not nget(c, "k0").found
        body = stats(s)
        assert body["totals"]["size"] == 0
        assert body["snapshot"]["load_failures"] == 1
        harness.assert_serving(s)


@pytest.mark.parametrize("kind,why", [
    ("folder", "names a folder, not a file"),
    ("folder-link", "names a folder, not a file"),
    ("fifo", "names something other than a regular file"),
    ("link-loop", "cannot be looked at"),
])
def test_a_path_naming_no_file_is_a_bad_configuration(tmp_path, kind, why):
    """A folder (the state directory itself, say) or a FIFO at the path is
    refused at start, exit 2, and left as it was: never moved aside or
    replaced by a snapshot."""
    path = tmp_path / "cache.snap"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "link-loop":
        os.symlink(path, path)
    else:
        target = tmp_path / "state" if kind == "folder-link" else path
        target.mkdir()
        (target / "precious").write_bytes(b"operator's")
        if kind == "folder-link":
            os.symlink(target, path)
    rc, err = harness.run_daemon(env=env_for(path))
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "CACHE_SNAPSHOT_PATH" in lines[0], err
    assert why in lines[0]
    assert sorted(os.listdir(tmp_path)) == \
        (["cache.snap", "state"] if kind == "folder-link" else ["cache.snap"])
    if kind == "fifo":
        assert stat.S_ISFIFO(os.lstat(path).st_mode)
    elif kind == "link-loop":
        assert os.readlink(path) == str(path)
    else:
        assert (path / "precious").read_bytes() == b"operator's"
    rc, err = harness.run_daemon(args=["--snapshot-path", str(path)])
    assert rc == 2 and "--snapshot-path" in err and why in err, err


def test_a_symlink_left_at_the_temporary_name_is_not_followed(tmp_path):
    """The save writes a new file of its own: a symbolic link at
    PATH.tmp is replaced, never written through, and PATH ends up a
    regular file."""
    path = tmp_path / "cache.snap"
    victim = tmp_path / "victim"
    victim.write_bytes(b"not the daemon's")
    os.symlink(victim, tmp_path / "cache.snap.tmp")
    with harness.Server(env=env_for(path)) as s:
        nset(harness.CacheClient(s.channel()), "k", b"v")
        assert s.stop() == 0
        assert "snapshot: saved 1 entries" in s.log_text()
    assert victim.read_bytes() == b"not the daemon's"
    assert path.is_file() and not path.is_symlink()
    assert not (tmp_path / "cache.snap.tmp").exists()
    with harness.Server(env=env_for(path)) as s:
        assert nget(harness.CacheClient(s.channel()), "k").value == b"v"


def test_failing_save_keeps_the_old_file_and_the_server_up(tmp_path):
    path = tmp_path / "cache.snap"
    env = env_for(path, CACHE_SNAPSHOT_INTERVAL=1)
    with harness.Server(env=env) as s:
        c = harness.CacheClient(s.channel())
        nset(c, "old", b"v")
        wait_log(s, r"snapshot: saved 1 entries")
        before = path.read_bytes()
        # the temporary file cannot be created: a folder has its name
        (tmp_path / "cache.snap.tmp").mkdir()
        nset(c, "new", b"v")
        wait_log(s, r"WARNING.*snapshot: save to .* failed: .*cache\.snap\.tmp")
        assert path.read_bytes() == before
        assert stats(s)["snapshot"]["save_failures"] >= 1
        harness.assert_serving(s)
        assert s.stop() == 0
    assert path.read_bytes() == before
    (tmp_path / "cache.snap.tmp").rmdir()
    with harness.Server(env=env) as s:
        c = harness.CacheClient(s.channel())
        assert nget(c, "old").found
        assert not nget(c, "new").found


def test_snapshot_folder_must_exist(tmp_path):
    rc, err = harness.run_daemon(
        env=env_for(tmp_path / "missing" / "cache.snap"))
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "CACHE_SNAPSHOT_PATH" in lines[0]


def test_metrics_export_the_snapshot_series(tmp_path):
    path = tmp_path / "cache.snap"
    fill(path, ITEMS[:3])
    with harness.Server(env=env_for(path)) as s:
        with urllib.request.urlopen(s.http_url("/metrics"), timeout=10) as r:
            text = r.read().decode()
        assert "tiny_cache_snapshot_loaded_entries 3\n" in text
        for name in ("saves_total", "save_failures_total",
                     "load_failures_total", "save_duration_seconds",
                     "last_save_timestamp_seconds", "load_dropped_entries"):
            assert "# TYPE tiny_cache_snapshot_%s " % name in text
