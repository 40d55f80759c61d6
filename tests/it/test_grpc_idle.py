"""The idle limit of plaintext gRPC connections (docs/limits.md): a
connection with no call for CACHE_IDLE_TIMEOUT seconds gets a GOAWAY
naming the last call it made and is closed, calls, a call in progress and
a reply being read keep it open, settings and the connection's window
updates alone do not,
and a client whose connection was closed is served at its next call. TLS connections: test_grpc_tls.py. The server
serves after each case."""

import socket
import struct
import time

import h2.events
import pytest

import h2raw
import harness

IDLE_S = 1
# At this limit the sweep runs every second: a connection is closed 1 to
# 2 s after its last call. The bound leaves room for a sanitizer build.
CLOSED_BY_S = 6
HEALTH = "/grpc.health.v1.Health/Check"
CLOSING = "closing gRPC connection from"
METRIC = "tiny_cache_grpc_connections_idle_closed_total"


@pytest.fixture(scope="module")
def server():
    with harness.Server(env={"CACHE_IDLE_TIMEOUT": IDLE_S,
                             "CACHE_LOG_LEVEL": "DEBUG"}) as s:
        yield s
        assert s.stop(timeout=20) == 0, s.log_text()


def seconds_until_closed(sock, poke):
    """Seconds until the server closes sock (None: not within CLOSED_BY_S),
    calling poke() every 0.3 s meanwhile."""
    start = time.monotonic()
    while time.monotonic() - start < CLOSED_BY_S:
        poke()
        if h2raw.closed_within(sock, 0.3):
            return time.monotonic() - start
    return None


def closings(server):
    return sum(CLOSING in l for l in server.log_lines())


def wait_closed(c):
    """Seconds until the server closed H2 connection c (None: still open
    after CLOSED_BY_S)."""
    start = time.monotonic()
    return time.monotonic() - start if c.wait_closed(CLOSED_BY_S) else None


def test_a_connection_without_calls_gets_goaway_and_is_closed(server):
    before = harness.metric(server, METRIC)
    assert before is not None, METRIC + " missing from /metrics"
    c = h2raw.H2(server.grpc_port)
    try:
        took = wait_closed(c)
    finally:
        c.close()
    assert took is not None, "still open after %d s" % CLOSED_BY_S
    assert took >= IDLE_S * 0.9
    assert c.goaway == (0, 0)     # NO_ERROR, no stream processed
    assert harness.metric(server, METRIC) > before
    harness.assert_serving(server)


def test_calls_keep_a_connection_open_then_it_closes(server):
    c = h2raw.H2(server.grpc_port)
    try:
        end = time.monotonic() + 3 * IDLE_S
        while time.monotonic() < end:
            sid = c.call(HEALTH, body=h2raw.grpc_message(b""))
            assert c.statuses([sid], 10) == {sid: 0}, "closed while in use"
            time.sleep(0.3 * IDLE_S)
        took = wait_closed(c)
    finally:
        c.close()
    assert took is not None, "still open after %d s" % CLOSED_BY_S
    assert c.goaway == (0, sid)   # the last call was processed
    harness.assert_serving(server)


REFLECTION = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
# ServerReflectionRequest{list_services: ""} as a gRPC message
LIST_SERVICES = h2raw.grpc_message(b"\x3a\x00")


def test_an_open_stream_keeps_a_silent_connection_open(server):
    """A call in progress, here a reflection stream left open between its
    requests, keeps the connection however long it stays silent; once it
    ends, the limit counts from its end."""
    c = h2raw.H2(server.grpc_port)
    try:
        sid = c.call(REFLECTION, body=LIST_SERVICES, end_stream=False)
        assert c.wait_data(sid, 1), "no answer to the first request"
        assert not c.wait_closed(3 * IDLE_S + 1), "closed with a stream open"
        got = c.received[sid]
        c.conn.send_data(sid, LIST_SERVICES)
        c.flush()
        assert c.wait_data(sid, 2 * got), "no answer to the second request"
        c.conn.end_stream(sid)
        c.flush()
        assert c.statuses([sid], 10) == {sid: 0}
        ended = time.monotonic()
        took = wait_closed(c)
    finally:
        c.close()
    assert took is not None, "still open after %d s" % CLOSED_BY_S
    assert time.monotonic() - ended >= IDLE_S * 0.9
    assert c.goaway == (0, sid)
    harness.assert_serving(server)


def test_settings_and_window_updates_alone_do_not_keep_it_open(server):
    c = h2raw.RawConn(server.grpc_port)

    def poke():
        c.frame(h2raw.SETTINGS, 0, 0, b"")
        c.frame(h2raw.WINDOW_UPDATE, 0, 0, struct.pack(">I", 1))
    try:
        took = seconds_until_closed(c.sock, poke)
    except OSError:     # closed while writing
        took = 0
    finally:
        c.close()
    assert took is not None, "kept open by control frames"
    harness.assert_serving(server)


def read_slowly(c, sid, chunk, every_s, timeout=30):
    """Reads stream sid's reply on H2 connection c, giving the server only
    chunk bytes of window every every_s seconds. Returns (reply bytes,
    grpc-status or None)."""
    got, owed, status = 0, 0, None
    deadline = time.monotonic() + timeout
    next_give = time.monotonic() + every_s
    while status is None and time.monotonic() < deadline:
        c.sock.settimeout(max(0.01, next_give - time.monotonic()))
        try:
            data = c.sock.recv(65536)
        except socket.timeout:
            data = None
        if data == b"":
            break
        for ev in c.conn.receive_data(data) if data else ():
            if isinstance(ev, h2.events.DataReceived):
                got += len(ev.data)
                owed += ev.flow_controlled_length
            elif isinstance(ev, h2.events.TrailersReceived):
                status = int(dict(ev.headers).get("grpc-status", -1))
        if time.monotonic() >= next_give:
            next_give += every_s
            if owed:
                c.conn.acknowledge_received_data(min(owed, chunk), sid)
                owed -= min(owed, chunk)
        c.flush()
    return got, status


def test_a_reply_read_slowly_over_the_limit_is_not_cut(server):
    """A client reading a large value for longer than the limit sends only
    window updates meanwhile; its call completes."""
    value = b"s" * (256 * 1024)
    ch = server.channel()
    try:
        cl = harness.CacheClient(ch)
        assert cl.set("slow", value, timeout=10).status == cl.m.OK
        body = cl.m.CacheKey(key="slow").SerializeToString()
    finally:
        ch.close()
    c = h2raw.H2(server.grpc_port)
    try:
        start = time.monotonic()
        sid = c.call("/cache.CacheService/Get", body=h2raw.grpc_message(body))
        got, status = read_slowly(c, sid, 16 * 1024, 0.25)
        took = time.monotonic() - start
    finally:
        c.close()
    assert status == 0 and got > len(value), (status, got)
    assert took > 2 * IDLE_S + 1, "read too fast to cross a sweep: %.1f s" % took
    harness.assert_serving(server)


def test_a_client_is_served_again_each_time_its_connection_closes(server):
    """gRPC's client reads the GOAWAY at its next call and makes a new
    connection, so no call fails."""
    ch = server.channel()
    try:
        c = harness.CacheClient(ch)
        assert c.set("idle", b"kept", timeout=10).status == c.m.OK
        for _ in range(3):
            before = closings(server)
            deadline = time.monotonic() + CLOSED_BY_S
            while closings(server) == before and time.monotonic() < deadline:
                time.sleep(0.1)
            assert closings(server) > before, "the connection was not closed"
            assert c.get("idle", timeout=10).value == b"kept"
    finally:
        ch.close()
    harness.assert_serving(server)


def test_the_default_limit_is_minutes_not_seconds():
    with harness.Server() as s:
        c = h2raw.RawConn(s.grpc_port)
        try:
            assert not c.closed_within(2 * IDLE_S + 1)
        finally:
            c.close()
        harness.assert_serving(s)
        assert s.stop(timeout=20) == 0, s.log_text()
