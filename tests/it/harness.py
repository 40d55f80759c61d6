"""Shared harness for tiny-cached's integration tests.

API (other test files rely on it):
    builddir()        -> absolute build folder (env TC_BUILDDIR)
    srcdir()          -> absolute source folder (env TC_SRCDIR)
    pb2()             -> cache_pb2, generated from cache.proto at test time
    health_pb2()      -> health_pb2, from a copy of Debian's health.proto kept
                         outside any grpc/ folder (so the grpc package is not
                         shadowed)
    with Server(env={...}, args=[...], wrapper=["prlimit", ...]) as s:
        s.grpc_port, s.http_port, s.target, s.proc, s.log_lines(),
        s.stop(signal=SIGTERM, timeout=10) -> exit status
    run_daemon(env={...}, args=[...], timeout=10) -> (exit status, stderr)
    CacheClient(channel), health_check(channel, service) -> status name

Servers bind 127.0.0.1 port 0 for gRPC and HTTP; the ports are read from the
daemon's log lines "gRPC listening on HOST:PORT" and "HTTP listening on
HOST:PORT", and Server waits for the line "ready". Every CACHE_* variable of
the calling environment is dropped; CACHE_SHUTDOWN_GRACE defaults to 2 (see
base_env); an env value of None removes that variable. A ThreadSanitizer
report in the daemon's log (a --enable-tsan build) fails the test when the
Server block ends, or when run_daemon returns (check_no_tsan_report).
Also: raw_call(channel, path) for raw request bytes, Server.channel(),
Server.http_url(path), Server.wait(timeout), Server.final_log().
"""

import importlib.util
import json
import os
import re
import shutil
import signal as _signal
import subprocess
import sys
import tempfile
import threading
import time

import grpc

HEALTH_PROTO = "/usr/share/grpc-proto/grpc/health/v1/health.proto"
READY_TIMEOUT_S = 15
# A report of ThreadSanitizer (a daemon built with --enable-tsan): a data
# race or another thread error found while the daemon ran.
TSAN_REPORT = re.compile(r"^WARNING: ThreadSanitizer: .*$", re.M)
_GEN = {}
# Generating a module rewrites its file: client threads that ask for it at
# once must not load a file another thread is writing.
_GEN_LOCK = threading.Lock()


def builddir():
    """The build folder holding tiny-cached (TC_BUILDDIR, else cwd)."""
    return os.path.abspath(os.environ.get("TC_BUILDDIR", os.getcwd()))


def srcdir():
    """The source folder holding cache.proto (TC_SRCDIR, else this repo)."""
    default = os.path.join(os.path.dirname(__file__), "..", "..")
    return os.path.abspath(os.environ.get("TC_SRCDIR", default))


def daemon_path():
    return os.path.join(builddir(), "tiny-cached")


def _gen_dir():
    if "dir" not in _GEN:
        _GEN["dir"] = tempfile.mkdtemp(prefix="tc-pb2-")
    return _GEN["dir"]


def _protoc(proto_dir, proto_file, out_dir):
    subprocess.run(["protoc", "-I", proto_dir, "--python_out=" + out_dir,
                    proto_file], check=True)


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def pb2():
    """The cache_pb2 module, generated once per test process."""
    with _GEN_LOCK:
        if "cache" not in _GEN:
            out = _gen_dir()
            _protoc(srcdir(), os.path.join(srcdir(), "cache.proto"), out)
            _GEN["cache"] = _load("cache_pb2",
                                  os.path.join(out, "cache_pb2.py"))
        return _GEN["cache"]


def health_pb2():
    """The health_pb2 module, from a copy of health.proto outside grpc/."""
    with _GEN_LOCK:
        if "health" not in _GEN:
            out = _gen_dir()
            src = os.path.join(out, "hsrc")
            os.makedirs(src, exist_ok=True)
            shutil.copy(HEALTH_PROTO, os.path.join(src, "health.proto"))
            _protoc(src, os.path.join(src, "health.proto"), out)
            _GEN["health"] = _load("health_pb2",
                                   os.path.join(out, "health_pb2.py"))
        return _GEN["health"]


def check_no_tsan_report(log):
    """Raises AssertionError, with the whole log, when log holds a
    ThreadSanitizer report: a race in the daemon fails the test that met
    it, whatever else the test asserted."""
    m = TSAN_REPORT.search(log)
    if m:
        raise AssertionError("ThreadSanitizer report from tiny-cached: %s\n"
                             "---- tiny-cached log ----\n%s\n----"
                             % (m.group(0), log))


def base_env(env=None):
    """The environment a test daemon runs with: loopback, port 0, quiet
    defaults, then the caller's overrides (a value of None removes)."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("CACHE_")}
    e.pop("NOTIFY_SOCKET", None)
    e.update({"CACHE_HOST": "127.0.0.1", "CACHE_PORT": "0",
              "CACHE_HEALTH_HOST": "127.0.0.1", "CACHE_HEALTH_PORT": "0",
              "CACHE_SHUTDOWN_GRACE": "2"})
    for k, v in (env or {}).items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = str(v)
    return e


def _message(line):
    """The message part of a log line, text or json."""
    line = line.rstrip("\n")
    if line.startswith("{"):
        try:
            return str(json.loads(line).get("message", ""))
        except ValueError:
            return line
    return line


_LISTEN = re.compile(r"(gRPC|HTTP) listening on (\S+):(\d+)")


class Server:
    """A tiny-cached process for one test. Used as a context manager: the
    process is killed at the end whatever happens, and its log is printed
    when the block raised (pytest shows it with the failure)."""

    def __init__(self, env=None, args=None, wait_ready=True,
                 timeout=READY_TIMEOUT_S, wrapper=None):
        self.env = base_env(env)
        self.args = list(args or [])
        self.wrapper = list(wrapper or [])
        self.wait_ready = wait_ready
        self.timeout = timeout
        self.proc = None
        self.grpc_port = None
        self.http_port = None
        self.target = None
        self.returncode = None
        self._logf = None

    def __enter__(self):
        self._logf = tempfile.NamedTemporaryFile(prefix="tc-log-",
                                                 suffix=".txt", delete=False)
        self.proc = subprocess.Popen(self.wrapper + [daemon_path()] +
                                     self.args,
                                     env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=self._logf, stderr=self._logf)
        if self.wait_ready:
            try:
                self._wait_ready()
            except BaseException:
                self._kill()
                self.dump_log()
                self._cleanup()
                check_no_tsan_report(self._final_log)
                raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self._kill()
        if exc_type is not None:
            self.dump_log()
        self._cleanup()
        check_no_tsan_report(self._final_log)
        return False

    def _wait_ready(self):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            ready = False
            for line in self.log_lines():
                msg = _message(line)
                m = _LISTEN.search(msg)
                if m and m.group(1) == "gRPC":
                    self.grpc_port = int(m.group(3))
                elif m:
                    self.http_port = int(m.group(3))
                elif msg == "ready" or msg.endswith(" ready"):
                    ready = True
            if ready and self.grpc_port:
                self.target = "127.0.0.1:%d" % self.grpc_port
                return
            if self.proc.poll() is not None:
                raise RuntimeError("tiny-cached exited with %d before ready"
                                   % self.proc.returncode)
            time.sleep(0.02)
        raise RuntimeError("tiny-cached not ready after %ss" % self.timeout)

    def log_text(self):
        """Everything the daemon wrote so far (stderr and stdout)."""
        if self._logf is None:
            return ""
        with open(self._logf.name, "r", errors="replace") as f:
            return f.read()

    def log_lines(self):
        return self.log_text().splitlines()

    def dump_log(self):
        sys.stderr.write("---- tiny-cached log ----\n%s\n----\n"
                         % self.log_text())

    def stop(self, signal=_signal.SIGTERM, timeout=10):
        """Sends signal and waits up to timeout seconds; returns the exit
        status (negative: killed by that signal). Kills on timeout and
        raises subprocess.TimeoutExpired."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal)
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill()
            raise
        return self.returncode

    def wait(self, timeout=10):
        self.returncode = self.proc.wait(timeout=timeout)
        return self.returncode

    def channel(self, **kw):
        return grpc.insecure_channel(self.target, **kw)

    def http_url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.http_port, path)

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def _cleanup(self):
        if self._logf is not None:
            self._logf.close()
            keep = self.log_text()
            os.unlink(self._logf.name)
            self._logf = None
            self._final_log = keep

    def final_log(self):
        """The whole log once the block is over."""
        return getattr(self, "_final_log", self.log_text())


def run_daemon(env=None, args=None, timeout=10):
    """Runs tiny-cached to completion (for startup failures, --help...);
    returns (exit status, stderr text)."""
    p = subprocess.run([daemon_path()] + list(args or []), env=base_env(env),
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout)
    err = p.stderr.decode("utf-8", "replace")
    check_no_tsan_report(err)
    return p.returncode, err


def _ident(b):
    return b


class CacheClient:
    """cache.CacheService calls on a channel; each method takes the request
    message (or keyword fields) and returns the response message."""

    def __init__(self, channel):
        m = pb2()
        self.m = m
        self.Get = self._method(channel, "Get", m.CacheValue)
        self.Set = self._method(channel, "Set", m.CacheResponse)
        self.Delete = self._method(channel, "Delete", m.CacheResponse)
        self.Stats = self._method(channel, "Stats", m.CacheStats)
        self.MultiGet = self._method(channel, "MultiGet",
                                     m.MultiCacheValueResponse)
        self.MultiSet = self._method(channel, "MultiSet", m.MultiCacheResponse)
        self.MultiDelete = self._method(channel, "MultiDelete",
                                        m.MultiCacheResponse)
        self.SetIfAbsent = self._method(channel, "SetIfAbsent",
                                        m.ConditionalCacheResponse)
        self.CompareAndSet = self._method(channel, "CompareAndSet",
                                          m.ConditionalCacheResponse)
        self.Increment = self._method(channel, "Increment",
                                      m.IncrementResponse)
        self.Touch = self._method(channel, "Touch", m.TouchResponse)
        self.Flush = self._method(channel, "Flush", m.FlushResponse)

    @staticmethod
    def _method(channel, name, resp):
        return channel.unary_unary(
            "/cache.CacheService/" + name,
            request_serializer=lambda msg: msg.SerializeToString(),
            response_deserializer=resp.FromString)

    def get(self, key, **kw):
        return self.Get(self.m.CacheKey(key=key), **kw)

    def set(self, key, value, ttl=0, **kw):
        return self.Set(self.m.CacheItem(key=key, value=value, ttl=ttl), **kw)

    def delete(self, key, **kw):
        return self.Delete(self.m.CacheKey(key=key), **kw)

    def stats(self, **kw):
        return self.Stats(self.m.Empty(), **kw)


def raw_call(channel, method):
    """A multicallable sending and returning raw bytes (for malformed
    bodies), e.g. raw_call(ch, "/cache.CacheService/Get")(b"\\xff")."""
    return channel.unary_unary(method, request_serializer=_ident,
                               response_deserializer=_ident)


def health_check(channel, service="", **kw):
    """grpc.health.v1.Health/Check; returns the status name ("SERVING").
    Raises grpc.RpcError on a non-OK status (NOT_FOUND for unknown names)."""
    h = health_pb2()
    call = channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=lambda msg: msg.SerializeToString(),
        response_deserializer=h.HealthCheckResponse.FromString)
    resp = call(h.HealthCheckRequest(service=service), **kw)
    return h.HealthCheckResponse.ServingStatus.Name(resp.status)


def assert_serving(server, key="still-serving"):
    """Both ports still answer: a gRPC Set and Get round trip, and HTTP
    /live with 200. For the end of every hostile-input test. A sanitizer
    build works through what a flood left in its socket buffers a few
    times slower (with one worker, the default on two CPUs, for 15 s and
    more): served still means within the deadline, a wider one there."""
    import urllib.request
    deadline = 30 if sanitized() else 10
    ch = server.channel()
    try:
        c = CacheClient(ch)
        assert c.set(key, b"v", timeout=deadline).status == c.m.OK
        assert c.get(key, timeout=deadline).value == b"v"
    finally:
        ch.close()
    with urllib.request.urlopen(server.http_url("/live"), timeout=10) as r:
        assert r.status == 200


def metric(server, series, default=None):
    """The value of one series of the server's /metrics, named with its
    labels as exposed (e.g. 'x_total{method="Get",code="OK"}'), or default
    when it is not exported (yet: some series appear once they happen)."""
    import urllib.request
    with urllib.request.urlopen(server.http_url("/metrics"), timeout=10) as r:
        for line in r.read().decode().splitlines():
            name, _, value = line.rpartition(" ")
            if name == series:
                return float(value)
    return default


def _status_bytes(pid, field):
    """A memory line of /proc/PID/status (in kB there), in bytes."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no %s for %d" % (field, pid))


def rss_bytes(pid):
    """Resident memory of a process (VmRSS), in bytes."""
    return _status_bytes(pid, "VmRSS")


def peak_rss_bytes(pid):
    """The most resident memory the process has had (VmHWM), in bytes."""
    return _status_bytes(pid, "VmHWM")


def sanitized():
    """True when tiny-cached was built with a sanitizer, whose allocator
    (quarantine, shadow memory) makes resident-memory bounds meaningless:
    memory tests then check behaviour only."""
    if "sanitized" not in _GEN:
        out = subprocess.run(["ldd", daemon_path()], capture_output=True,
                             text=True).stdout
        _GEN["sanitized"] = any(s in out for s in ("libasan", "libtsan"))
    return _GEN["sanitized"]


def assert_rss_growth_below(pid, before, limit):
    """RSS of pid grew by less than limit bytes since before (skipped in
    sanitizer builds, see sanitized())."""
    if not sanitized():
        now = rss_bytes(pid)
        assert now - before < limit, (before, now, limit)
