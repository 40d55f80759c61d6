"""HTTP connection slots under a slow flood (issue: trickling clients kept
/live from answering). One address opens more connections than the
per-address limit and trickles a byte a second into each, well inside the
idle timeout: the connections past the limit are closed at once, a probe
from another address is answered throughout, a keep-alive client that
gets an answer every half second keeps its connection, and the flooding
connections are closed by the total-time limit although they never went
idle. Afterwards HTTP (from the flooding address too) and gRPC answer.

Only 127.0.0.0/8 source addresses are used; the number of sockets and
every loop are bounded."""

import http.client
import json
import socket
import time

import pytest

import harness

TIMEOUT_S = 10
PER_ADDRESS = 256       # connections one address may hold (docs/http.md)
TOTAL_S = 10            # time a connection gets per request (docs/http.md)
IDLE_S = 10             # libmicrohttpd's idle timeout (docs/http.md)
FLOOD = PER_ADDRESS + 44
FLOOD_ADDR = "127.0.0.2"
PROBE_ADDR = "127.0.0.3"
KEEPALIVE_ADDR = "127.0.0.4"
TRICKLE_EVERY_S = 1.0
# The flood must end within this long: the total-time limit plus the
# reaper's period and a wide margin, far below what trickling would last.
CLOSE_WITHIN_S = 3 * TOTAL_S


@pytest.fixture(scope="module")
def server():
    with harness.Server(env={"CACHE_WORKERS": 2}) as s:
        yield s
        assert s.stop() == 0, "unclean exit after the tests (see its log)"


def connect(port, source, timeout=TIMEOUT_S):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                    source_address=(source, 0))


class SourceConnection(http.client.HTTPConnection):
    """An HTTP/1.1 keep-alive connection from a chosen loopback address."""

    def __init__(self, port, source):
        super().__init__("127.0.0.1", port, timeout=TIMEOUT_S,
                         source_address=(source, 0))


def get_live(conn):
    conn.request("GET", "/live")
    resp = conn.getresponse()
    body = json.loads(resp.read())
    assert resp.getheader("x-request-id")
    assert body["status"] == "alive"
    return resp.status


def live_from(port, source):
    conn = SourceConnection(port, source)
    try:
        return get_live(conn)
    finally:
        conn.close()


def assert_both_answer(s, source="127.0.0.1"):
    assert live_from(s.http_port, source) == 200
    with s.channel() as ch:
        c = harness.CacheClient(ch)
        c.set("slots", b"still here", timeout=TIMEOUT_S)
        assert c.get("slots", timeout=TIMEOUT_S).value == b"still here"
    assert s.proc.poll() is None


def closed_by_server(sock):
    """True when the server has closed sock (end of stream or reset), False
    when it is still open (nothing to read right now); sock is
    non-blocking."""
    try:
        return sock.recv(4096) == b""
    except BlockingIOError:
        return False
    except ConnectionError:
        return True


def open_flood(port):
    """FLOOD non-blocking connections from FLOOD_ADDR, each with a request
    line and one header sent, the request never finished."""
    socks = []
    for _ in range(FLOOD):
        sock = connect(port, FLOOD_ADDR)
        socks.append(sock)
        try:
            sock.sendall(b"GET /live HTTP/1.1\r\nHost: x\r\n")
        except OSError:
            pass  # already closed: past the per-address limit
        sock.setblocking(False)
    return socks


def trickle(open_socks):
    """One byte more of a header on every connection still open; returns
    the ones the server has closed meanwhile."""
    closed = []
    for sock in open_socks:
        if closed_by_server(sock):
            closed.append(sock)
            continue
        try:
            sock.sendall(b"x")
        except OSError:
            closed.append(sock)
    return closed


def wait_for_refusals(socks):
    """The connections past the per-address limit get closed at once; the
    others stay open. Returns the open ones."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        held = [sock for sock in socks if not closed_by_server(sock)]
        if len(held) <= PER_ADDRESS or time.monotonic() > deadline:
            return held
        time.sleep(0.1)


def test_slow_flood_from_one_address(server):
    socks = open_flood(server.http_port)
    keepalive = SourceConnection(server.http_port, KEEPALIVE_ADDR)
    try:
        opened = time.monotonic()
        held = wait_for_refusals(socks)
        assert len(held) == PER_ADDRESS
        assert get_live(keepalive) == 200
        keepalive_sock, keepalive_opened = keepalive.sock, time.monotonic()
        assert live_from(server.http_port, PROBE_ADDR) == 200
        while held and time.monotonic() < opened + CLOSE_WITHIN_S:
            for sock in trickle(held):
                held.remove(sock)
            assert live_from(server.http_port, PROBE_ADDR) == 200
            for _ in range(2):
                assert get_live(keepalive) == 200
                time.sleep(TRICKLE_EVERY_S / 2)
        assert not held, "%d trickling connections outlived the limit" % len(
            held)
        # Each of them had sent a byte within about a second, far inside
        # the idle timeout: the total-time limit closed them.
        assert TRICKLE_EVERY_S < IDLE_S / 2
        # The keep-alive client, answered every half second, keeps its one
        # connection past the total time of a single request.
        while time.monotonic() - keepalive_opened < TOTAL_S + 2:
            assert get_live(keepalive) == 200
            time.sleep(TRICKLE_EVERY_S / 2)
        assert keepalive.sock is keepalive_sock
    finally:
        keepalive.close()
        for sock in socks:
            sock.close()
    assert_both_answer(server, FLOOD_ADDR)
    assert_both_answer(server)
