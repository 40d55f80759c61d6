"""tiny-cache-bench against a real tiny-cached: the calls it reports are the
calls the server counted, --fill, key patterns, report formats, usage and
connection errors."""

import json
import os
import pty
import resource
import signal
import socket
import subprocess
import threading
import time
from concurrent import futures

import grpc
import pytest

import harness


def bench_path():
    return os.path.join(harness.builddir(), "tiny-cache-bench")


def bench(port, *args, timeout=120):
    """Runs the bench with -p port; returns (status, stdout, stderr)."""
    argv = [bench_path()]
    if port is not None:
        argv += ["-p", str(port)]
    p = subprocess.run(argv + list(args), capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def bench_json(port, *args):
    rc, out, err = bench(port, "--json", *args)
    assert rc == 0, err
    return json.loads(out)


@pytest.fixture
def server():
    with harness.Server(env={"CACHE_MAX_ITEMS": 100000}) as s:
        ch = s.channel()
        s.client = harness.CacheClient(ch)
        yield s
        ch.close()


def counters(s):
    st = s.client.stats(timeout=10)
    return st.gets, st.sets, st.deletes


def test_reported_calls_equal_server_counters(server):
    before = counters(server)
    r = bench_json(server.grpc_port, "-n", "3000", "-c", "3", "-m", "8",
                   "-t", "2", "--ratio", "5:3:2", "--keyspace", "200")
    after = counters(server)
    assert r["requests"] == 3000
    assert r["gets"] + r["sets"] + r["deletes"] == 3000
    assert min(r["gets"], r["sets"], r["deletes"]) > 0
    assert r["status_counts"] == {"OK": 3000}
    assert (r["gets"], r["sets"], r["deletes"]) == \
        tuple(a - b for a, b in zip(after, before))
    assert r["hits"] + r["misses"] == r["gets"]


def test_json_report_keys(server):
    r = bench_json(server.grpc_port, "-n", "500", "-c", "2", "-m", "4")
    for key in ("requests_per_second", "latency_us", "status_counts",
                "gets", "sets", "deletes"):
        assert key in r
    lat = r["latency_us"]
    assert set(lat) == {"mean", "p50", "p90", "p99", "p999", "max"}
    assert 0 < lat["mean"] <= lat["max"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p999"] \
        <= lat["max"]
    assert r["requests_per_second"] > 0
    assert "fill" not in r


def test_fill_sets_every_key_then_gets_all_hit(server):
    before = counters(server)
    r = bench_json(server.grpc_port, "--fill", "--keyspace", "500", "-n",
                   "2000", "--ratio", "1:0:0", "-c", "4", "-m", "4", "-t", "2")
    after = counters(server)
    assert r["fill"]["sets"] == 500
    assert r["fill"]["status_counts"] == {"OK": 500}
    assert server.client.stats(timeout=10).size == 500
    assert (r["gets"], r["hits"], r["misses"]) == (2000, 2000, 0)
    assert after[1] - before[1] == r["sets"] + r["fill"]["sets"]
    assert after[0] - before[0] == r["gets"]


def test_key_prefix_and_value_size(server):
    bench_json(server.grpc_port, "--fill", "--keyspace", "5", "--key-prefix",
               "bench/", "--value-size", "30", "-n", "1", "-c", "1", "-m", "1")
    v = server.client.get("bench/000000000004", timeout=10)
    assert v.found and len(v.value) == 30
    assert not server.client.get("bench/000000000005", timeout=10).found


def test_value_size_range(server):
    """--value-size MIN-MAX: every Set value within the range, of many sizes,
    the small ones more frequent than the large (log-uniform)."""
    r = bench_json(server.grpc_port, "--pattern", "seq", "--ratio", "0:1:0",
                   "--keyspace", "400", "-n", "400", "-c", "1", "-m", "4",
                   "-t", "1", "--value-size", "10-10000")
    assert r["status_counts"] == {"OK": 400}
    sizes = [len(server.client.get("key:%012d" % k, timeout=10).value)
             for k in range(400)]
    assert min(sizes) >= 10 and max(sizes) <= 10000
    assert len(set(sizes)) > 100
    assert sum(1 for n in sizes if n < 100) > 80
    assert sum(1 for n in sizes if n >= 1000) > 80


def test_seq_pattern_covers_keyspace(server):
    r = bench_json(server.grpc_port, "--pattern", "seq", "--ratio", "0:1:0",
                   "--keyspace", "64", "-n", "64", "-c", "1", "-m", "1", "-t",
                   "1", "--value-size", "0")
    assert r["sets"] == 64
    assert server.client.stats(timeout=10).size == 64


@pytest.mark.parametrize("pattern", ["random", "zipf"])
def test_patterns_stay_in_keyspace(server, pattern):
    r = bench_json(server.grpc_port, "--pattern", pattern, "--ratio", "0:1",
                   "--keyspace", "50", "-n", "2000", "-c", "2", "-m", "8")
    assert r["status_counts"] == {"OK": 2000}
    assert 0 < server.client.stats(timeout=10).size <= 50


def test_duration_run(server):
    r = bench_json(server.grpc_port, "-d", "1", "-c", "2", "-m", "4")
    assert r["elapsed_s"] >= 1.0
    assert r["requests"] > 0
    assert r["status_counts"] == {"OK": r["requests"]}


def test_text_report(server):
    rc, out, err = bench(server.grpc_port, "-n", "300", "-c", "1", "-m", "2",
                         "--fill", "--keyspace", "10")
    assert rc == 0, err
    assert "requests/s" in out
    assert "p99.9" in out
    assert "status       OK 300" in out
    assert "fill         10 sets" in out
    assert "\r" not in err


def test_failed_calls_counted_by_status_and_exit_1():
    with harness.Server(env={"CACHE_MAX_VALUE_BYTES": 1024}) as s:
        rc, out, _ = bench(s.grpc_port, "--json", "-n", "100", "-c", "1",
                           "--ratio", "0:1", "--value-size", "2000")
    assert rc == 1
    r = json.loads(out)
    assert r["status_counts"] == {"RESOURCE_EXHAUSTED": 100}
    assert r["sets"] == 100


class _NoMessage(grpc.GenericRpcHandler):
    """Answers every method OK without a response message (a stream of
    none), which a unary call must not get."""

    def service(self, details):
        return grpc.unary_stream_rpc_method_handler(lambda req, ctx: iter(()))


def test_ok_without_a_response_counts_as_internal_and_exit_1():
    srv = grpc.server(futures.ThreadPoolExecutor(2), handlers=[_NoMessage()])
    port = srv.add_insecure_port("127.0.0.1:0")
    srv.start()
    try:
        rc, out, err = bench(port, "--json", "-n", "50", "-c", "1",
                             "--ratio", "1:1:1")
    finally:
        srv.stop(None)
    assert rc == 1, err
    r = json.loads(out)
    assert r["status_counts"] == {"INTERNAL": 50}
    assert (r["hits"], r["misses"]) == (0, 0)


class _NoAnswer(grpc.GenericRpcHandler):
    """Takes every call and never answers it (until the server stops)."""

    def __init__(self):
        self.release = threading.Event()

    def service(self, details):
        return grpc.unary_unary_rpc_method_handler(
            lambda req, ctx: self.release.wait() and b"")


def test_timed_run_ends_when_the_server_stops_answering():
    """-d 1 against a server that never answers: every call ends
    DEADLINE_EXCEEDED 5 s after the run's end, and the run with them."""
    h = _NoAnswer()
    srv = grpc.server(futures.ThreadPoolExecutor(4), handlers=[h])
    port = srv.add_insecure_port("127.0.0.1:0")
    srv.start()
    t0 = time.monotonic()
    try:
        rc, out, err = bench(port, "--json", "-d", "1", "-c", "2", "-m", "3",
                             "--ratio", "1:1", timeout=60)
    finally:
        h.release.set()
        srv.stop(None)
    took = time.monotonic() - t0
    assert rc == 1, err
    r = json.loads(out)
    assert r["status_counts"] == {"DEADLINE_EXCEEDED": 6}
    assert 5.5 < took < 30


def test_timed_run_ends_when_the_server_is_stopped():
    """-d 1 against a tiny-cached that is stopped (SIGSTOP) mid-run: no
    server ends the calls, so the bench must: by 5 s after the run's end,
    DEADLINE_EXCEEDED, exit 1, without spinning a core while it waits."""
    with harness.Server() as s:
        t0 = time.monotonic()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = subprocess.Popen([bench_path(), "-H", "127.0.0.1", "-p",
                              str(s.grpc_port), "--json", "-d", "1", "-c",
                              "2", "-m", "3"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        time.sleep(0.5)
        s.proc.send_signal(signal.SIGSTOP)
        try:
            out, err = p.communicate(timeout=60)
            took = time.monotonic() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
        finally:
            p.kill()
            s.proc.send_signal(signal.SIGCONT)
        assert p.returncode == 1, err
        r = json.loads(out)
        assert r["status_counts"]["DEADLINE_EXCEEDED"] == 6, r
        assert 5.5 < took < 30
        # the bench's CPU: at most two cores for the 0.5 s it ran, then
        # nothing while it waits for the calls to end (5 s of a core if it
        # spun)
        cpu = (after.ru_utime - before.ru_utime +
               after.ru_stime - before.ru_stime)
        assert cpu < 3, cpu
        harness.assert_serving(s)


@pytest.mark.parametrize("args", [
    ["-n", "10", "-d", "1"],
    ["--ratio", "0:0:0"],
    ["--ratio", "1"],
    ["--ratio", "1:2:3:4:5:6"],
    ["--ratio", "a:b"],
    ["--pattern", "gauss"],
    ["-c", "2", "-t", "3"],
    ["-c", "0"],
    ["-m", "0"],
    ["-n", "0"],
    ["-d", "0"],
    ["--keyspace", "0"],
    ["--value-size", "-1"],
    ["--value-size", "5-3"],
    ["--value-size", "1-"],
    ["--value-size", "1-2-3"],
    ["--value-size", "1-1073741825"],
    ["--key-prefix", "k" * 101],
    ["--routes", "0"],
    ["--routes", "100001"],
    ["--route", "r", "--routes", "2"],
    ["--route", "bad\nroute"],
    ["--cert", "c.pem"],
    ["--tls-name", "localhost"],
    ["-p", "0"],
    ["extra"],
])
def test_usage_errors_exit_2(args):
    rc, out, err = bench(None, *args)
    assert rc == 2, err
    assert out == ""
    assert "usage" in err


def test_unreachable_server_exits_1():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rc, out, err = bench(port, "-n", "10")
    assert rc == 1
    assert "cannot connect" in err


def test_a_tls_file_refused_exits_1_naming_it(tmp_path):
    """A CA file with no certificate is refused before any connection,
    not reported as an unreachable server."""
    empty = tmp_path / "empty.pem"
    empty.write_bytes(b"")
    rc, out, err = bench(1, "-n", "10", "--tls", "--cacert", str(empty))
    assert (rc, out) == (1, "")
    assert "--cacert: '%s' holds no PEM certificate" % empty in err
    assert "cannot connect" not in err


def test_progress_line_on_a_terminal(server):
    """Progress lines go to standard error only when it is a terminal (a
    pty here); the report is still whole on standard output."""
    master, slave = pty.openpty()
    try:
        p = subprocess.run([bench_path(), "-p", str(server.grpc_port), "-d",
                            "2.5", "-c", "1", "-m", "2", "--json"],
                           stdout=subprocess.PIPE, stderr=slave,
                           stdin=subprocess.DEVNULL, timeout=60)
        os.close(slave)
        slave = None
        err = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)
    assert p.returncode == 0
    assert json.loads(p.stdout)["requests"] > 0
    lines = [l for l in err.decode().split("\r") if "calls/s" in l]
    assert len(lines) >= 2
    assert "run: 1 s," in err.decode()


def test_server_going_away_ends_run_early():
    with harness.Server() as s:
        p = subprocess.Popen([bench_path(), "-p", str(s.grpc_port), "-d",
                              "60", "-c", "2", "-m", "4", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL)
        try:
            time.sleep(1)
            s.proc.kill()
            out, _ = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert p.returncode == 1
    r = json.loads(out)
    assert r["elapsed_s"] < 30
    assert r["status_counts"].get("UNAVAILABLE", 0) > 0
    assert r["status_counts"].get("OK", 0) > 0
