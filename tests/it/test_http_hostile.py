"""Slow, greedy and garbage HTTP clients (docs/http.md, "Limits"): idle
connections, a slowloris client, 10 KB URLs and headers, heads of 8 KiB made
of many tiny query arguments or header lines, heads just over 8 KiB, raw
garbage, more connections than the limit, and the idle timeout. After each,
both HTTP and gRPC must still answer. Everything runs on 127.0.0.1 with
bounded loops and short socket timeouts. Slot starvation by trickling
clients is in test_http_slots.py."""

import http.client
import json
import random
import resource
import socket
import time

import pytest

import harness

TIMEOUT_S = 10
IDLE_TIMEOUT_S = 10     # the daemon's per-connection timeout
CONNECTION_LIMIT = 1024
HEAD_MAX = 8192         # request line plus headers served (docs/http.md)


def raise_fd_limit(want):
    """Raises this process's open-file limit (inherited by the daemon) to
    want when the hard limit allows; returns whether it did."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= want:
        return True
    if hard != resource.RLIM_INFINITY and hard < want:
        return False
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return True


FD_OK = raise_fd_limit(4096)


@pytest.fixture(scope="module")
def server():
    with harness.Server(env={"CACHE_WORKERS": 2}) as s:
        yield s
        assert s.stop() == 0, "unclean exit after the tests (see its log)"


def connect(port, timeout=TIMEOUT_S):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def health_status(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    try:
        conn.request("GET", "/health")
        resp = conn.getresponse()
        body = json.loads(resp.read())
        assert body["status"] == "healthy"
        return resp.status
    finally:
        conn.close()


def assert_both_answer(s):
    """HTTP /health answers 200 and a gRPC Set/Get round trip works."""
    assert health_status(s.http_port) == 200
    with s.channel() as ch:
        c = harness.CacheClient(ch)
        c.set("hostile", b"still here", timeout=TIMEOUT_S)
        assert c.get("hostile", timeout=TIMEOUT_S).value == b"still here"
    assert s.proc.poll() is None


def read_reply(sock, timeout=TIMEOUT_S):
    """Everything the server sends until it closes (or timeout passes); a
    reset counts as a close."""
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except ConnectionError:
            break
        if not chunk:
            break
        data += chunk
        if b"\r\n\r\n" in data and b"Connection: close" not in data \
                and b"connection: close" not in data:
            break
    return data


def status_of(reply):
    """The status code of a raw HTTP reply, or None for no reply."""
    if not reply.startswith(b"HTTP/1."):
        return None
    return int(reply.split(b" ", 2)[1])


def send_raw(port, payload):
    """Sends payload on a new connection; returns the reply's status code,
    None when the server closed without one."""
    return status_of(send_raw_reply(port, payload))


def send_raw_reply(port, payload):
    """Sends payload on a new connection; returns the raw reply."""
    with connect(port) as sock:
        try:
            sock.sendall(payload)
        except OSError:
            pass  # the server may answer and close before reading it all
        return read_reply(sock)


def head_of(url=b"/live", lines=b""):
    """A GET head for url with header lines (each with its line end) after
    Host and Connection."""
    return (b"GET " + url + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            + lines + b"\r\n")


def padded_head(total):
    """A GET /live head of exactly total bytes, its last line end
    included."""
    head = head_of(lines=b"X-Pad: \r\n")
    return head_of(lines=b"X-Pad: " + b"p" * (total - len(head)) + b"\r\n")


def fill_lines(unit):
    """A head of at most HEAD_MAX bytes: as many header lines unit as
    fit."""
    room = HEAD_MAX - len(head_of())
    return head_of(lines=unit * (room // len(unit)))


def json_error(reply):
    """The JSON body of a raw error reply, after checking its headers."""
    head, _, body = reply.partition(b"\r\n\r\n")
    assert b"\r\nx-request-id: " in head
    assert b"\r\nContent-Type: application/json" in head
    return json.loads(body)


def test_idle_connections_leave_http_and_grpc_answering(server):
    socks = []
    try:
        for _ in range(200):
            socks.append(connect(server.http_port))
        assert_both_answer(server)
    finally:
        for sock in socks:
            sock.close()
    assert_both_answer(server)


def test_slowloris_clients_leave_http_answering(server):
    """20 clients each trickle a never-ending request, a header line at a
    time; in between, real requests are served."""
    socks = []
    try:
        for _ in range(20):
            sock = connect(server.http_port)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            socks.append(sock)
        for i in range(10):
            for sock in socks:
                sock.sendall(b"X-Slow-%d: %s\r\n" % (i, b"a" * 10))
            assert health_status(server.http_port) == 200
            time.sleep(0.05)
        assert_both_answer(server)
    finally:
        for sock in socks:
            sock.close()


@pytest.mark.parametrize("size", [10 * 1024, 64 * 1024])
def test_long_url_gets_4xx(server, size):
    path = b"/" + b"a" * size
    status = send_raw(server.http_port,
                      b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status in (414, 431)
    assert_both_answer(server)


def test_long_header_gets_4xx(server):
    status = send_raw(server.http_port,
                      b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: "
                      + b"b" * (10 * 1024) + b"\r\n\r\n")
    assert status in (413, 431)
    assert_both_answer(server)


def test_many_headers_get_4xx(server):
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(2000))
    status = send_raw(server.http_port,
                      b"GET /health HTTP/1.1\r\nHost: x\r\n" + headers
                      + b"\r\n")
    assert status in (413, 431)
    assert_both_answer(server)


def query_of(n, arg):
    return b"/live?" + b"&".join(arg % i if b"%" in arg else arg
                                  for i in range(n))


@pytest.mark.parametrize("url", [
    query_of(140, b"a%d"),
    query_of(1000, b"k%d=v"),
    b"/live?" + b"&" * (HEAD_MAX - 100),
    b"/live?" + b"a=&" * ((HEAD_MAX - 100) // 3),
], ids=["140args", "1000pairs", "ampersands", "emptyvalues"])
def test_many_query_arguments_are_served(server, url):
    """The query is never read, whatever it holds; once it made
    libmicrohttpd run out of memory and leave the connection unanswered."""
    head = head_of(url)
    assert len(head) <= HEAD_MAX
    assert send_raw(server.http_port, head) == 200
    assert_both_answer(server)


@pytest.mark.parametrize("unit", [b"a:\n", b"a:\r\n", b"a:b\r\n",
                                  b"X-H: v\r\n", b":\n"],
                         ids=["name-lf", "name-crlf", "tiny", "short",
                              "no-name"])
def test_8kib_of_tiny_header_lines_is_served(server, unit):
    assert send_raw(server.http_port, fill_lines(unit)) == 200
    assert_both_answer(server)


def test_head_of_exactly_8kib_is_served(server):
    head = padded_head(HEAD_MAX)
    assert len(head) == HEAD_MAX
    assert send_raw(server.http_port, head) == 200


@pytest.mark.parametrize("size", [HEAD_MAX + 1, 8800, 8850, 8900, 9000,
                                  16 * 1024, 60 * 1024])
def test_head_over_8kib_gets_431_with_request_id(server, size):
    """Just over the limit, and through the band where libmicrohttpd once
    closed the connection unanswered."""
    head = padded_head(size)
    assert len(head) == size
    reply = send_raw_reply(server.http_port, head)
    assert status_of(reply) == 431
    assert json_error(reply) == {"error": "request header fields too large",
                                 "status": 431}
    assert_both_answer(server)


@pytest.mark.parametrize("size", [HEAD_MAX + 1, 9000, 32 * 1024])
def test_url_over_8kib_gets_414_with_request_id(server, size):
    url = b"/live?" + b"q" * (size - len(b"/live?"))
    reply = send_raw_reply(server.http_port, head_of(url))
    assert status_of(reply) == 414
    assert json_error(reply)["status"] == 414
    assert_both_answer(server)


def test_request_just_under_8kib_is_served(server):
    status = send_raw(server.http_port,
                      b"GET /live HTTP/1.1\r\nHost: x\r\nConnection: close"
                      b"\r\nX-Pad: " + b"p" * (8 * 1024 - 100) + b"\r\n\r\n")
    assert status == 200


GARBAGE = [
    bytes(random.Random(1).getrandbits(8) for _ in range(4096)),
    b"\r\n" * 4000,
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 512,
    b"GET / HTTP/9.9\r\n\r\n",
    b"GET\x00/health HTTP/1.1\r\n\r\n",
    b"GET /health HTTP/1.1\r\nno colon here\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"zzzz\r\n",
    b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n"
    + b"x" * 1000,
    b"G" * (100 * 1024),
]


GARBAGE_IDS = ["random", "crlf", "tls", "version", "nul", "nocolon",
               "badlength", "badchunk", "bigbody", "endlessline"]


@pytest.mark.parametrize("url,status", [
    (b"http://127.0.0.1/health", 200),
    (b"HTTP://x:8080/metrics?name[]=1", 200),
    (b"https://x", 200),
    (b"http://x?a=b", 200),
    (b"http://x/nope", 404),
    (b"http://x#/nope", 200),
    (b"http://", 400),
    (b"http:///health", 400),
    (b"http:/health", 404),
    (b"ftp://x/health", 404),
], ids=["health", "metrics-query", "bare-host", "host-query", "unknown",
        "fragment", "no-host", "empty-host", "one-slash", "other-scheme"])
def test_absolute_form_is_served(server, url, status):
    """A request target in absolute form (as a proxy sends) is answered as
    its path: HTTP/1.1 servers must take it, and refuse one without a
    host."""
    assert send_raw(server.http_port, head_of(url)) == status
    assert_both_answer(server)


@pytest.mark.parametrize("url,status", [(b"/health", 200), (b"/nope", 404)],
                         ids=["health", "unknown"])
@pytest.mark.parametrize("body", [
    b"Content-Length: 5\r\n\r\nhello",
    b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"Content-Length: 20000\r\n\r\n" + b"b" * 20000,
], ids=["length", "chunked", "20000-bytes"])
def test_get_with_a_body_is_answered(server, url, status, body):
    """A GET's body means nothing: it is read, dropped, and the GET is
    answered as without one."""
    head = b"GET " + url + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    assert send_raw(server.http_port, head + body) == status
    assert_both_answer(server)


def test_garbage_gets_an_error_or_a_close(server):
    """Each payload on its own connection, then the end of the stream; and
    one connection that stays silent, which the idle timeout must close.
    Some payloads (no line end at all) are also only dropped by the idle
    timeout, so all are sent at once and each may take up to that timeout."""
    socks = {"silent": connect(server.http_port, timeout=IDLE_TIMEOUT_S * 3)}
    try:
        for name, payload in zip(GARBAGE_IDS, GARBAGE):
            sock = connect(server.http_port, timeout=IDLE_TIMEOUT_S * 3)
            socks[name] = sock
            try:
                sock.sendall(payload)
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the server may answer and close before reading it all
        statuses = {name: status_of(read_reply(sock, IDLE_TIMEOUT_S * 3))
                    for name, sock in socks.items()}
    finally:
        for sock in socks.values():
            sock.close()
    for name, status in statuses.items():
        assert status is None or 400 <= status < 500 or status == 505, name
    assert_both_answer(server)


@pytest.mark.skipif(not FD_OK, reason="open-file hard limit below 4096")
def test_connection_limit_keeps_the_process_serving(server):
    """More connections than the limit from one address: past the
    per-address limit they are closed as they are accepted; gRPC keeps
    answering, and once the clients go, HTTP does too."""
    socks = []
    try:
        for _ in range(CONNECTION_LIMIT + 100):
            socks.append(connect(server.http_port))
        with server.channel() as ch:
            c = harness.CacheClient(ch)
            c.set("limit", b"ok", timeout=TIMEOUT_S)
            assert c.get("limit", timeout=TIMEOUT_S).value == b"ok"
    finally:
        for sock in socks:
            sock.close()
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        try:
            assert_both_answer(server)
            break
        except (OSError, http.client.HTTPException):
            assert time.monotonic() < deadline
            time.sleep(0.1)
