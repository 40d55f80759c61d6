"""What HAProxy does, with deploy/haproxy/haproxy.cfg as shipped, when a
node takes a call and closes its connection without answering (a node
that dies between applying a call and replying): a call that can be
applied twice without harm (Get, Set, Delete...) is tried again on
another node and served; one that cannot (Increment, CompareAndSet,
SetIfAbsent, Flush) is not sent a second time, and its client gets an
error instead of an Increment applied twice.

node0 is a stand-in that speaks just enough HTTP/2 to take a request,
counts it by key, and closes; node1 and node2 are real tiny-cached."""

import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import pytest

from test_cluster import Node, Router, free_ports

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, SETTINGS = 0x0, 0x1, 0x4
END_STREAM, ACK = 0x1, 0x1


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + \
        struct.pack(">I", stream) + payload


def read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def first_field(message):
    """Field 1 (the key) of a gRPC-framed protobuf message, or None."""
    body = message[5:]
    if len(body) < 2 or body[0] != 0x0A:
        return None
    n, i, shift = 0, 1, 0
    while body[i] & 0x80:
        n |= (body[i] & 0x7F) << shift
        shift += 7
        i += 1
    n |= body[i] << shift
    return body[i + 1:i + 1 + n].decode()


class Ready(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/ready" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class VanishingNode:
    """Takes each call's request whole, counts it under its key, and
    closes the connection without a byte of answer."""

    def __init__(self, index, grpc_port, http_port):
        self.index = index
        self.name = "node%d" % index
        self.grpc_port = grpc_port
        self.http_port = http_port
        self.calls = {}  # requests taken, by key (None: no key field)
        self.lock = threading.Lock()
        self.http = ThreadingHTTPServer(("127.0.0.1", http_port), Ready)
        self.sock = socket.create_server(("127.0.0.1", grpc_port))
        for target in (self.http.serve_forever, self.accept):
            threading.Thread(target=target, daemon=True).start()

    def accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,),
                             daemon=True).start()

    def serve(self, conn):
        with conn:
            try:
                assert read_exact(conn, len(PREFACE)) == PREFACE
                conn.sendall(frame(SETTINGS, 0, 0))
                body = {}
                while True:
                    head = read_exact(conn, 9)
                    n = int.from_bytes(head[:3], "big")
                    kind, flags = head[3], head[4]
                    stream = int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
                    payload = read_exact(conn, n)
                    if kind == SETTINGS and not flags & ACK:
                        conn.sendall(frame(SETTINGS, ACK, 0))
                    if kind == DATA:
                        body[stream] = body.get(stream, b"") + payload
                    if kind in (DATA, HEADERS) and flags & END_STREAM:
                        self.count(first_field(body.get(stream, b"")))
                        return  # closed with the call unanswered
            except (EOFError, OSError, AssertionError):
                return

    def count(self, key):
        with self.lock:
            self.calls[key] = self.calls.get(key, 0) + 1

    def taken(self, key):
        with self.lock:
            return self.calls.get(key, 0)

    def keys(self, prefix):
        """The keys starting with prefix that calls came for, sorted."""
        with self.lock:
            return sorted(k for k in self.calls if k and k.startswith(prefix))

    def close(self):
        self.http.shutdown()
        self.http.server_close()
        self.sock.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("retry")
    ports = free_ports(6)
    gone = VanishingNode(0, ports[0], ports[1])
    nodes = [Node(i, ports[2 * i], ports[2 * i + 1], tmp) for i in (1, 2)]
    router = None
    try:
        for n in nodes:
            n.start()
        router = Router([gone] + nodes, tmp)
        router.wait_states({"node0": "UP", "node1": "UP", "node2": "UP"})
        yield gone, nodes, router
    finally:
        if router is not None:
            router.close()
        for n in nodes:
            n.stop()
        gone.close()


def keys_of_node0(gone, router, n=4):
    """n keys whose calls HAProxy sends to node0 first: Gets of candidate
    keys through the router (served, since they are tried again), those
    that reached node0."""
    for i in range(300):
        if len(gone.keys("probe-")) >= n:
            break
        router.client.Get(router.client.m.CacheKey(key="probe-%03d" % i),
                          timeout=10)
    found = gone.keys("probe-")
    assert len(found) >= n, "node0 got %s" % found
    return found[:n]


def test_a_get_a_set_and_a_delete_are_tried_again_and_served(cluster):
    gone, nodes, router = cluster
    m = router.client.m
    get_key, set_key, del_key = keys_of_node0(gone, router, 3)
    before = {k: gone.taken(k) for k in (get_key, set_key, del_key)}
    assert not router.client.Get(m.CacheKey(key=get_key), timeout=10).found
    assert router.client.Set(m.CacheItem(key=set_key, value=b"v"),
                             timeout=10).status == m.OK
    assert router.client.Delete(m.CacheKey(key=del_key),
                                timeout=10).status == m.OK
    for k in (get_key, set_key, del_key):
        assert gone.taken(k) == before[k] + 1, k
    # the Set was applied by the node that stood in for node0
    assert [n.name for n in nodes if n.holds([set_key])] != []


# method: (what each real node holds under the key before the call, None
# for nothing, which a second application would have changed; the call of
# that key through the router, a Flush routed to the node of the key).
NOT_TWICE = {
    "CompareAndSet": (b"old", lambda c, k: c.CompareAndSet(
        c.m.CompareAndSetRequest(key=k, expected_value=b"old", value=b"new"),
        timeout=10)),
    "Flush": (b"old", lambda c, k: c.Flush(
        c.m.Empty(), timeout=10, metadata=[("x-cache-route", k)])),
    "Increment": (None, lambda c, k: c.Increment(
        c.m.IncrementRequest(key=k, delta=1), timeout=10)),
    "SetIfAbsent": (None, lambda c, k: c.SetIfAbsent(
        c.m.CacheItem(key=k, value=b"new"), timeout=10)),
}


@pytest.mark.parametrize("method", sorted(NOT_TWICE))
def test_a_call_not_safe_twice_is_not_sent_again(cluster, method):
    gone, nodes, router = cluster
    m = router.client.m
    # keys 0-2 are the first test's; one more for each method
    key = keys_of_node0(gone, router, 3 + len(NOT_TWICE))[
        3 + sorted(NOT_TWICE).index(method)]
    held, call = NOT_TWICE[method]
    for n in nodes:
        if held is not None:
            n.client.Set(m.CacheItem(key=key, value=held), timeout=10)
    counted = None if method == "Flush" else key  # Flush has no key field
    before = gone.taken(counted)
    with pytest.raises(grpc.RpcError) as e:
        call(router.client, key)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    assert gone.taken(counted) == before + 1
    for n in nodes:  # no node stood in for node0 with the call
        want = {} if held is None else {key: held}
        assert n.holds([key]) == want, n.name
        n.client.Delete(m.CacheKey(key=key), timeout=10)
    # the router still serves
    assert router.client.Set(m.CacheItem(key="after", value=b"v"),
                             timeout=10).status == m.OK
