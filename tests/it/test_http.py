"""The HTTP endpoint (docs/http.md): every path's status, content type and
JSON shape, /stats and /metrics against gRPC Stats after a known sequence of
calls, promtool, x-request-id, 404/405, and /health during shutdown."""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import grpc
import pytest

import harness

TIMEOUT_S = 10
JSON_TYPE = "application/json"
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SHARD_FIELDS = ["shard", "size", "memory_usage_bytes", "hits", "misses",
                "gets", "sets", "deletes", "lru_evictions",
                "expired_removals", "rejected_oversize", "rejected_capacity",
                "touch_hits", "touch_misses", "flushed"]
STORE_ONLY_FIELDS = ["touch_hits", "touch_misses", "flushed"]
HEALTH_FIELDS = ["status", "uptime_seconds", "cache_size", "cache_hits",
                 "cache_misses", "active_requests", "timestamp"]
ENDPOINTS = ["/", "/health", "/ready", "/live", "/stats", "/metrics",
             "/status"]
SHARDS = 4
MAX_VALUE = 1000


def request(port, path, method="GET", headers=None, body=None):
    """(status, headers as a lower-case dict, body bytes) of one request on
    its own connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        return resp.status, hdrs, resp.read()
    finally:
        conn.close()


def get_json(port, path, **kw):
    status, hdrs, body = request(port, path, **kw)
    assert hdrs["content-type"] == JSON_TYPE
    return status, json.loads(body)


def metric_samples(text):
    """{series (name with labels, as sent): value} of an exposition."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            out[series] = float(value)
    return out


@pytest.fixture(scope="module")
def server():
    env = {"CACHE_SHARDS": SHARDS, "CACHE_MAX_VALUE_BYTES": MAX_VALUE,
           "CACHE_WORKERS": 2}
    with harness.Server(env=env) as s:
        yield s
        assert s.stop() == 0, "unclean exit after the tests (see its log)"


@pytest.fixture(scope="module")
def known(server):
    """Runs a known sequence once: 10 sets, 6 hits, 4 misses, 3 deletes (one
    of a missing key), one oversize set, one empty key. Returns the counts
    the cache must show."""
    with server.channel() as ch:
        c = harness.CacheClient(ch)
        for i in range(10):
            c.set("http-%d" % i, b"v" * i)
        for i in range(10):
            c.get("http-%d" % (i if i < 6 else 100 + i))
        for i in (0, 1, 999):
            c.delete("http-%d" % i)
        with pytest.raises(grpc.RpcError) as e:
            c.set("big", b"x" * (MAX_VALUE + 1))
        assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        with pytest.raises(grpc.RpcError) as e:
            c.get("")
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    return {"size": 8, "hits": 6, "misses": 4, "gets": 10, "sets": 11,
            "deletes": 3, "rejected_oversize": 1, "lru_evictions": 0,
            "evictions": 0}


def grpc_stats(server):
    with server.channel() as ch:
        return harness.CacheClient(ch).stats()


def test_root(server):
    status, doc = get_json(server.http_port, "/")
    assert status == 200
    assert doc["service"] == "tiny-cache"
    assert isinstance(doc["version"], str) and doc["version"]
    assert doc["grpc_port"] == server.grpc_port
    assert set(ENDPOINTS) <= set(doc["endpoints"])


@pytest.mark.parametrize("path", ["/health", "/ready"])
def test_health_and_ready_shape(server, path):
    status, doc = get_json(server.http_port, path)
    assert status == 200
    assert sorted(doc) == sorted(HEALTH_FIELDS)
    assert doc["status"] == "healthy"
    assert isinstance(doc["timestamp"], float)
    assert isinstance(doc["uptime_seconds"], float)
    assert abs(doc["timestamp"] - time.time()) < 3600
    for k in ("cache_size", "cache_hits", "cache_misses", "active_requests"):
        assert isinstance(doc[k], int) and doc[k] >= 0


def test_live_shape(server):
    status, doc = get_json(server.http_port, "/live")
    assert status == 200
    assert sorted(doc) == ["status", "timestamp", "uptime_seconds"]
    assert doc["status"] == "alive"
    assert isinstance(doc["timestamp"], float)


def test_stats_shape(server):
    status, doc = get_json(server.http_port, "/stats")
    assert status == 200
    assert sorted(doc) == ["active_requests", "requests", "shards",
                           "snapshot", "timestamp", "totals",
                           "uptime_seconds"]
    assert doc["snapshot"]["enabled"] is False
    assert doc["snapshot"]["saves"] == 0
    proto_fields = [f.name for f in
                    harness.pb2().CacheStats.DESCRIPTOR.fields]
    # the store's counters beyond CacheStats are summed in totals too
    assert sorted(doc["totals"]) == sorted(proto_fields + STORE_ONLY_FIELDS)
    assert [sh["shard"] for sh in doc["shards"]] == list(range(SHARDS))
    for sh in doc["shards"]:
        assert sorted(sh) == sorted(SHARD_FIELDS)


def documented_keys(path):
    """The top-level keys that the Paths table of docs/http.md gives for
    path's JSON body: the quoted names of its row that are not a value."""
    with open(os.path.join(harness.srcdir(), "docs", "http.md")) as f:
        rows = [line for line in f
                if re.match(r"\|[^|]*`%s`" % re.escape(path), line)]
    assert len(rows) == 1, rows
    body = rows[0].rsplit("|", 2)[1]
    return sorted(re.findall(r'(?<!:)"(\w+)"', body))


@pytest.mark.parametrize("path", ["/health", "/live", "/stats"])
def test_docs_paths_table_lists_every_key(server, path):
    _, doc = get_json(server.http_port, path)
    assert documented_keys(path) == sorted(doc)


def test_stats_totals_equal_grpc_and_shards(server, known):
    _, doc = get_json(server.http_port, "/stats")
    stats = grpc_stats(server)
    totals = doc["totals"]
    for f in harness.pb2().CacheStats.DESCRIPTOR.fields:
        assert totals[f.name] == pytest.approx(getattr(stats, f.name)), f.name
    for k, v in known.items():
        assert totals[k] == v, k
    for k in SHARD_FIELDS[1:]:
        assert totals[k] == sum(sh[k] for sh in doc["shards"]), k
    assert totals["max_value_bytes"] == MAX_VALUE
    assert totals["hit_rate"] == pytest.approx(6 / 10)


def test_health_counts_agree(server, known):
    _, doc = get_json(server.http_port, "/health")
    assert doc["cache_size"] == known["size"]
    assert doc["cache_hits"] == known["hits"]
    assert doc["cache_misses"] == known["misses"]


def scrape(server):
    status, hdrs, body = request(server.http_port, "/metrics")
    assert status == 200
    assert hdrs["content-type"] == METRICS_TYPE
    return body.decode()


def test_metrics_agree_with_grpc_stats(server, known):
    m = metric_samples(scrape(server))
    stats = grpc_stats(server)
    assert m["tiny_cache_hits_total"] == stats.hits == known["hits"]
    assert m["tiny_cache_misses_total"] == stats.misses
    assert m["tiny_cache_evictions_total"] == stats.evictions
    assert m["tiny_cache_entries"] == stats.size
    assert m["tiny_cache_memory_usage_bytes"] == stats.memory_usage_bytes
    assert m["tiny_cache_max_memory_bytes"] == stats.max_memory_bytes
    assert m["tiny_cache_max_items"] == stats.max_items
    for name in ("gets", "sets", "deletes", "rejected_oversize",
                 "rejected_capacity", "expired_removals", "lru_evictions"):
        assert m["tiny_cache_%s_total" % name] == getattr(stats, name), name
        shards = sum(m['tiny_cache_shard_%s_total{shard="%d"}' % (name, i)]
                     for i in range(SHARDS))
        assert shards == getattr(stats, name), name
    assert sum(m['tiny_cache_shard_entries{shard="%d"}' % i]
               for i in range(SHARDS)) == stats.size
    for name in ("active_requests", "uptime_seconds"):
        assert "tiny_cache_" + name in m
    assert any(k.startswith("tiny_cache_build_info{version=") for k in m)
    for name in ("process_resident_memory_bytes", "process_cpu_seconds_total",
                 "process_open_fds", "process_max_fds",
                 "process_start_time_seconds"):
        assert m[name] > 0 or name == "process_cpu_seconds_total", name
    # Unix seconds at start: since the server started, and not long before
    started = time.time() - m["process_start_time_seconds"]
    assert 0 <= started <= m["tiny_cache_uptime_seconds"] + 60, started


def wait_requests(server, series, want):
    """The per-method counts are recorded when a call ends, maybe just after
    the client saw its answer: scrape until they show (bounded)."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        m = metric_samples(scrape(server))
        if all(m.get(k) == v for k, v in zip(series, want)) or \
                time.monotonic() > deadline:
            return m
        time.sleep(0.05)


def test_metrics_request_counts_and_histogram(server, known):
    get_ok = 'tiny_cache_grpc_requests_total{method="Get",code="OK"}'
    get_bad = ('tiny_cache_grpc_requests_total{method="Get",'
               'code="INVALID_ARGUMENT"}')
    set_ok = 'tiny_cache_grpc_requests_total{method="Set",code="OK"}'
    set_big = ('tiny_cache_grpc_requests_total{method="Set",'
               'code="RESOURCE_EXHAUSTED"}')
    m = wait_requests(server, [get_ok, get_bad, set_ok, set_big],
                      [10, 1, 10, 1])
    assert m[get_ok] == 10
    assert m[get_bad] == 1
    assert m[set_ok] == 10
    assert m[set_big] == 1
    h = "tiny_cache_grpc_request_duration_seconds"
    buckets = [(k, v) for k, v in m.items()
               if k.startswith(h + '_bucket{method="Get",')]
    assert buckets[-1][0].endswith('le="+Inf"}')
    values = [v for _, v in buckets]
    assert values == sorted(values)
    assert values[-1] == m[h + '_count{method="Get"}'] == 11
    assert m[h + '_sum{method="Get"}'] > 0


def test_metrics_promtool_clean(server, known):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian package prometheus)")
    p = subprocess.run([promtool, "check", "metrics"],
                       input=scrape(server).encode(), capture_output=True,
                       timeout=TIMEOUT_S)
    assert p.returncode == 0, (p.stdout + p.stderr).decode()


def test_metrics_every_sample_has_help_and_type(server):
    text = scrape(server)
    helps = set(re.findall(r"^# HELP (\S+) ", text, re.M))
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    assert helps == set(types)
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in types or types.get(base) == "histogram", line


@pytest.mark.parametrize("path", ENDPOINTS + ["/nope"])
def test_request_id_echoed(server, path):
    _, hdrs, _ = request(server.http_port, path,
                         headers={"x-request-id": "trace-42.abc"})
    assert hdrs["x-request-id"] == "trace-42.abc"


@pytest.mark.parametrize("sent,used", [("trace 42 / b", "trace 42 / b"),
                                       ("spaced-id  \t ", "spaced-id")])
def test_request_id_with_spaces(server, sent, used):
    """Printable ASCII includes the space; the blanks around a header
    value are not part of it."""
    _, hdrs, _ = request(server.http_port, "/live",
                         headers={"x-request-id": sent})
    assert hdrs["x-request-id"] == used
    assert request(server.http_port, "/live")[0] == 200


@pytest.mark.parametrize("sent", [None, "x" * 65, "bad\x01id"])
def test_request_id_made_when_missing_or_invalid(server, sent):
    headers = {} if sent is None else {"x-request-id": sent}
    _, hdrs, _ = request(server.http_port, "/live", headers=headers)
    assert re.fullmatch(r"[0-9a-f]{32}", hdrs["x-request-id"])


@pytest.mark.parametrize("path", ["/nope", "/health/", "/metrics/x",
                                  "/%00", "/%68ealth", "/stats.json"])
def test_unknown_path_404(server, path):
    status, hdrs, body = request(server.http_port, path)
    assert status == 404
    assert hdrs["content-type"] == JSON_TYPE
    assert json.loads(body)["status"] == 404
    assert "x-request-id" in hdrs


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH",
                                    "OPTIONS"])
def test_other_methods_405(server, method):
    status, hdrs, body = request(server.http_port, "/health", method=method,
                                 body=b"{}" if method != "OPTIONS" else None)
    assert status == 405
    assert hdrs["allow"] == "GET"
    assert hdrs["content-type"] == JSON_TYPE
    assert json.loads(body)["status"] == 405
    assert "x-request-id" in hdrs


def test_query_string_ignored(server):
    status, doc = get_json(server.http_port, "/live?verbose=1")
    assert status == 200 and doc["status"] == "alive"


def test_keep_alive_serves_several_requests(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.http_port,
                                      timeout=TIMEOUT_S)
    try:
        for path in ENDPOINTS:
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200
    finally:
        conn.close()


def http_status_or_none(port, path):
    try:
        return request(port, path)[0]
    except OSError:
        return None


def test_health_503_during_shutdown_delay_while_grpc_serves():
    with harness.Server(env={"CACHE_SHUTDOWN_DELAY": 3}) as s:
        with s.channel() as ch:
            c = harness.CacheClient(ch)
            c.set("k", b"v")
            assert request(s.http_port, "/health")[0] == 200
            s.proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + TIMEOUT_S
            while http_status_or_none(s.http_port, "/health") != 503:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            status, doc = get_json(s.http_port, "/health")
            assert status == 503
            assert doc["status"] == "shutting_down"
            assert sorted(doc) == sorted(HEALTH_FIELDS)
            assert get_json(s.http_port, "/ready")[0] == 503
            assert get_json(s.http_port, "/live")[0] == 200
            assert c.get("k").value == b"v"
            assert harness.health_check(ch) == "NOT_SERVING"
        assert s.wait(timeout=TIMEOUT_S + 3) == 0


def test_health_port_in_use_exits_1():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        code, err = harness.run_daemon(env={"CACHE_HEALTH_PORT": port})
    assert code == 1
    assert "HTTP: cannot listen on 127.0.0.1:%d" % port in err
    assert "Address already in use" in err
