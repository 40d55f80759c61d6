"""Raw HTTP/2 for hostile-client tests: what a stock gRPC client never sends.

    H2(port)                 a connection driven by python3-h2 (valid frames)
      .call(path, body=None, end_stream=True, reset=False) -> stream id
      .send_body(id, data)     data as flow control allows, then END_STREAM
      .statuses(ids, timeout) -> {stream id: grpc-status or None}
      .wait_closed(timeout) -> True once the server closed the connection
      .goaway                  (error code, last stream id) of its GOAWAY
    RawConn(port)            bytes on the wire, frame by frame, for frames
      .frame(type, flags, stream, payload)   h2 refuses to send (floods)
      .closed_within(seconds) -> True once the server closed the connection
    closed_within(sock, seconds)              the same for any socket
    grpc_message(body, declared=None)         the 5-byte gRPC message prefix
    header_block(path, extra)                 an HPACK block of request headers
"""

import socket
import struct
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
HEADERS, RST_STREAM, SETTINGS, WINDOW_UPDATE, CONTINUATION = 0x1, 0x3, 0x4, 0x8, 0x9
END_STREAM, END_HEADERS = 0x1, 0x4


def grpc_message(body, declared=None):
    """body behind gRPC's length prefix; declared overrides the length."""
    n = len(body) if declared is None else declared
    return b"\x00" + struct.pack(">I", n) + body


def request_headers(path, extra=()):
    return [(":method", "POST"), (":scheme", "http"), (":path", path),
            (":authority", "localhost"), ("content-type", "application/grpc"),
            ("te", "trailers")] + list(extra)


def header_block(path, extra=()):
    return hpack.Encoder().encode(request_headers(path, extra))


def closed_within(sock, seconds):
    """Reads and drops what the server sends; True once it closes."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if not sock.recv(65536):
                return True
        except socket.timeout:
            return False
        except OSError:
            return True
    return False


class H2:
    """A client connection speaking valid HTTP/2 through python3-h2."""

    def __init__(self, port, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=10)
        cfg = h2.config.H2Configuration(client_side=True,
                                        header_encoding="utf-8")
        self.conn = h2.connection.H2Connection(config=cfg)
        self.conn.initiate_connection()
        self.flush()
        self.ended = {}
        self.received = {}
        self.goaway = None

    def flush(self):
        out = self.conn.data_to_send()
        if out:
            self.sock.sendall(out)

    def call(self, path, body=None, end_stream=True, reset=False, extra=()):
        """Opens a stream: headers, then body bytes if given (end_stream
        closes our side), then RST_STREAM if reset. Returns its id."""
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, request_headers(path, extra),
                               end_stream=end_stream and body is None)
        if body is not None:
            self.conn.send_data(sid, body, end_stream=end_stream)
        if reset:
            self.conn.reset_stream(sid)
        self.flush()
        return sid

    def send_body(self, sid, data, timeout=10):
        """Sends data on stream sid as flow control allows, then ends it;
        stops early if the stream ends first (the server answered)."""
        deadline = time.monotonic() + timeout
        while data and sid not in self.ended and time.monotonic() < deadline:
            room = min(self.conn.local_flow_control_window(sid),
                       self.conn.max_outbound_frame_size)
            if room <= 0:
                self._read(deadline)
                continue
            self.conn.send_data(sid, data[:room])
            data = data[room:]
            self.flush()
        if sid not in self.ended:
            try:
                self.conn.end_stream(sid)
                self.flush()
            except h2.exceptions.H2Error:
                pass

    def _read(self, deadline):
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return True
        if not data:
            return False
        self._events(self.conn.receive_data(data))
        self.flush()
        return True

    def statuses(self, ids, timeout=10):
        """grpc-status of each stream (None: reset, or no status in time)."""
        want = set(ids)
        deadline = time.monotonic() + timeout
        while not want <= set(self.ended) and time.monotonic() < deadline:
            if not self._read(deadline):
                break
        return {i: self.ended.get(i) for i in ids}

    def wait_data(self, sid, nbytes, timeout=10):
        """Reads until stream sid has received nbytes of DATA in all:
        True, or False at the timeout or when the connection ends."""
        deadline = time.monotonic() + timeout
        while self.received.get(sid, 0) < nbytes:
            if time.monotonic() >= deadline or not self._read(deadline):
                return False
        return True

    def wait_closed(self, timeout=10):
        """Reads until the server closes the connection: True, or False
        when it is still open at the timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if not self._read(deadline):
                    return True
            except (OSError, h2.exceptions.ProtocolError):
                return True
        return False

    def _events(self, events):
        for ev in events:
            if isinstance(ev, h2.events.ConnectionTerminated):
                self.goaway = (ev.error_code, ev.last_stream_id)
            if isinstance(ev, (h2.events.ResponseReceived,
                               h2.events.TrailersReceived)):
                for k, v in ev.headers:
                    if k == "grpc-status":
                        self.ended[ev.stream_id] = int(v)
            elif isinstance(ev, h2.events.StreamReset):
                self.ended.setdefault(ev.stream_id, None)
            elif isinstance(ev, h2.events.DataReceived):
                self.received[ev.stream_id] = (
                    self.received.get(ev.stream_id, 0) + len(ev.data))
                self.conn.acknowledge_received_data(
                    ev.flow_controlled_length, ev.stream_id)

    def close(self):
        self.sock.close()


class RawConn:
    """A connection written frame by frame, bypassing any HTTP/2 state."""

    def __init__(self, port, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=10)
        self.sock.sendall(PREFACE)
        self.frame(SETTINGS, 0, 0, b"")

    def frame(self, ftype, flags, stream, payload):
        head = struct.pack(">I", len(payload))[1:] + bytes([ftype, flags])
        self.sock.sendall(head + struct.pack(">I", stream) + payload)

    def closed_within(self, seconds):
        return closed_within(self.sock, seconds)

    def close(self):
        self.sock.close()
