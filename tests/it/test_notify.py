"""sd_notify (docs/operations.md, systemd): with NOTIFY_SOCKET set,
tiny-cached sends READY=1 once it serves and STOPPING=1 the moment shutdown
begins. systemd is not needed: the test plays the service manager with its
own AF_UNIX datagram socket."""

import os
import shutil
import signal
import socket
import tempfile
import urllib.error
import urllib.request

import pytest

import harness

RECV_TIMEOUT_S = 15


@pytest.fixture
def notify_socket():
    """A bound datagram socket and its path (short: sun_path is 108 bytes)."""
    d = tempfile.mkdtemp(prefix="tc-notify-", dir="/tmp")
    path = os.path.join(d, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(RECV_TIMEOUT_S)
    yield sock, path
    sock.close()
    shutil.rmtree(d)


def receive(sock):
    """The next notification as a set of its KEY=VALUE lines."""
    data = sock.recv(4096)
    return set(data.decode().split("\n")) - {""}


def http_status(s, path):
    try:
        with urllib.request.urlopen(s.http_url(path), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_ready_then_stopping(notify_socket):
    sock, path = notify_socket
    with harness.Server(env={"NOTIFY_SOCKET": path}) as s:
        first = receive(sock)
        assert "READY=1" in first
        assert "STOPPING=1" not in first
        assert http_status(s, "/ready") == 200
        with s.channel() as ch:
            assert harness.health_check(ch) == "SERVING"
        assert s.stop(signal.SIGTERM) == 0
        second = receive(sock)
        assert "STOPPING=1" in second
        assert "READY=1" not in second


def test_stopping_is_sent_when_shutdown_begins(notify_socket):
    """STOPPING=1 arrives while the daemon still serves its shutdown delay,
    not when it exits."""
    sock, path = notify_socket
    env = {"NOTIFY_SOCKET": path, "CACHE_SHUTDOWN_DELAY": "4"}
    with harness.Server(env=env) as s:
        assert "READY=1" in receive(sock)
        s.proc.send_signal(signal.SIGINT)
        assert "STOPPING=1" in receive(sock)
        assert s.proc.poll() is None
        assert http_status(s, "/ready") == 503
        assert s.wait(timeout=20) == 0


def test_unreachable_notify_socket_is_not_fatal():
    """A NOTIFY_SOCKET nobody listens on: the daemon logs it and serves."""
    d = tempfile.mkdtemp(prefix="tc-notify-", dir="/tmp")
    try:
        path = os.path.join(d, "missing")
        with harness.Server(env={"NOTIFY_SOCKET": path}) as s:
            with s.channel() as ch:
                assert harness.health_check(ch) == "SERVING"
            assert s.stop() == 0
            assert "sd_notify" in s.log_text()
    finally:
        shutil.rmtree(d)



def receive_until(sock, line):
    """Every notification up to and including the one holding line."""
    got = []
    while not got or line not in got[-1]:
        got.append(receive(sock))
    return got


def test_snapshot_save_and_load_ask_for_more_time(notify_socket, tmp_path):
    """A save at shutdown and a load at startup each ask the service manager
    for more time (EXTEND_TIMEOUT_USEC) from the moment they begin, saying
    what they do; the save's final fsync gets a longer allowance. With no
    file to load, nothing is asked."""
    sock, path = notify_socket
    env = {"NOTIFY_SOCKET": path,
           "CACHE_SNAPSHOT_PATH": str(tmp_path / "cache.snap")}
    with harness.Server(env=env) as s:
        first = receive(sock)
        assert "READY=1" in first
        assert not any(m.startswith("EXTEND_TIMEOUT_USEC=") for m in first)
        c = harness.CacheClient(s.channel())
        r = c.Set(c.m.CacheItem(key="kept", value=b"v"), timeout=10)
        assert r.status == c.m.OK
        assert s.stop(signal.SIGTERM) == 0
        saved = receive_until(sock, "STATUS=saving the snapshot: syncing to disk")
        assert "STOPPING=1" in saved[0]
        assert {"EXTEND_TIMEOUT_USEC=10000000",
                "STATUS=saving the snapshot: writing, 0%"} <= saved[1]
        assert "EXTEND_TIMEOUT_USEC=60000000" in saved[-1]
    with harness.Server(env=env) as s:
        loaded = receive_until(sock, "READY=1")
        assert {"EXTEND_TIMEOUT_USEC=10000000",
                "STATUS=loading the snapshot: opening, 0%"} <= loaded[0]
        assert "STATUS=serving" in loaded[-1]
        c = harness.CacheClient(s.channel())
        assert c.Get(c.m.CacheKey(key="kept"), timeout=10).value == b"v"
        assert s.stop() == 0
