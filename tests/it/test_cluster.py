"""Three tiny-cached nodes behind one HAProxy running the shipped
deploy/haproxy/haproxy.cfg (its addresses and check interval come from the
environment): keys spread over the nodes and always reach the same one; a
killed node moves only its own keys and takes them back with its snapshot;
batches need x-cache-route; a rolling restart under load fails no call.

Every node is also asked directly, never only through the router, so the
tests see where each key really is."""

import csv
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import grpc
import pytest

import harness

NODES = 3
KEYS = 3000
ROUTE = "x-cache-route"
# HAProxy checks each node's /ready every CHECK_INTER_S and takes it out
# after CHECK_FALL failures: deploy/haproxy/README.md recommends a
# CACHE_SHUTDOWN_DELAY of at least fall x inter + timeout check + 1 s.
CHECK_INTER_S = 0.2
CHECK_TIMEOUT_S = 0.2
CHECK_FALL = 2
SHUTDOWN_DELAY_S = 2
WAIT_S = 15


def haproxy_path():
    path = shutil.which("haproxy") or "/usr/sbin/haproxy"
    assert os.access(path, os.X_OK), \
        "haproxy not installed (Debian package haproxy, in .ci/deps)"
    return path


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_run(n, avoid=()):
    """The first of n consecutive free ports, none of them in avoid."""
    for _ in range(100):
        base = free_ports(1)[0]
        run = range(base, base + n)
        if base + n > 65536 or set(run) & set(avoid):
            continue
        socks = [socket.socket() for _ in run]
        try:
            for s, port in zip(socks, run):
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no %d consecutive free ports" % n)


class Node:
    """One tiny-cached on fixed ports, so that it can be stopped and
    started again where HAProxy expects it; its snapshot in tmp."""

    def __init__(self, index, grpc_port, http_port, tmp):
        self.index = index
        self.name = "node%d" % index
        self.grpc_port = grpc_port
        self.http_port = http_port
        self.env = {"CACHE_PORT": grpc_port, "CACHE_HEALTH_PORT": http_port,
                    "CACHE_MAX_ITEMS": 100000,
                    "CACHE_SHUTDOWN_DELAY": SHUTDOWN_DELAY_S,
                    "CACHE_SNAPSHOT_PATH": str(tmp / ("%s.snap" % self.name)),
                    "CACHE_SNAPSHOT_INTERVAL": 1}
        self.server = None
        self.channel = None
        self.client = None

    def start(self):
        self.server = harness.Server(env=self.env).__enter__()
        self.channel = self.server.channel()
        self.client = harness.CacheClient(self.channel)

    def stop(self, sig=signal.SIGTERM):
        self.channel.close()
        try:
            rc = self.server.stop(signal=sig, timeout=SHUTDOWN_DELAY_S + 10)
        finally:
            self.server.__exit__(None, None, None)
            self.server = None
        return rc

    def holds(self, keys):
        """The keys of keys this node holds, with their values (asked of
        the node itself)."""
        r = self.client.MultiGet(self.client.m.MultiCacheKeyRequest(
            keys=keys), timeout=30)
        return {i.key: i.value for i in r.items if i.found}

    def flush(self):
        self.client.Flush(self.client.m.Empty(), timeout=10)


def stats(stats_port, field):
    """{server name: field} of HAProxy's statistics of the nodes."""
    url = "http://127.0.0.1:%d/stats;csv" % stats_port
    with urllib.request.urlopen(url, timeout=5) as r:
        text = r.read().decode().lstrip("# ")
    return {row["svname"]: row[field]
            for row in csv.DictReader(io.StringIO(text))
            if row["pxname"] == "nodes" and row["svname"].startswith("node")}


def states(stats_port):
    """{server name: status} of HAProxy's statistics (UP, DOWN...)."""
    return {k: v.split()[0] for k, v in stats(stats_port, "status").items()}


def wait_states(stats_port, want, alive):
    """Waits until every server of want has the status it names; alive()
    is True while HAProxy runs, else what to fail with."""
    deadline = time.monotonic() + WAIT_S
    seen = {}
    while time.monotonic() < deadline:
        running = alive()
        assert running is True, running
        try:
            seen = states(stats_port)
        except OSError:
            seen = {}
        if all(seen.get(k) == v for k, v in want.items()):
            return
        time.sleep(0.05)
    raise AssertionError("HAProxy sees %s, not %s" % (seen, want))


class Router:
    """HAProxy with deploy/haproxy/haproxy.cfg as shipped."""

    def __init__(self, nodes, tmp):
        self.port, self.stats_port = free_ports(2)
        env = dict(os.environ)
        env.update({"TC_LISTEN": "127.0.0.1:%d" % self.port,
                    "TC_STATS": "127.0.0.1:%d" % self.stats_port,
                    "TC_CHECK_INTER": "%dms" % (CHECK_INTER_S * 1000),
                    "TC_CHECK_TIMEOUT": "%dms" % (CHECK_TIMEOUT_S * 1000)})
        for n in nodes:
            env["TC_NODE%d" % n.index] = "127.0.0.1:%d" % n.grpc_port
            env["TC_NODE%d_HTTP" % n.index] = str(n.http_port)
        cfg = os.path.join(harness.srcdir(), "deploy", "haproxy",
                           "haproxy.cfg")
        self.log = open(tmp / "haproxy.log", "w")
        check = subprocess.run([haproxy_path(), "-c", "-q", "-f", cfg],
                               env=env, capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.proc = subprocess.Popen([haproxy_path(), "-db", "-f", cfg],
                                     env=env, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log)
        self.channel = grpc.insecure_channel("127.0.0.1:%d" % self.port)
        self.client = harness.CacheClient(self.channel)

    def downs(self):
        """{server name: times its checks took it from UP to DOWN}."""
        return stats(self.stats_port, "chkdown")

    def wait_states(self, want):
        wait_states(self.stats_port, want,
                    lambda: self.proc.poll() is None or self.log_text())

    def log_text(self):
        with open(self.log.name) as f:
            return f.read()

    def close(self):
        self.channel.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cluster")
    ports = free_ports(2 * NODES)
    nodes = [Node(i, ports[2 * i], ports[2 * i + 1], tmp)
             for i in range(NODES)]
    router = None
    try:
        for n in nodes:
            n.start()
        router = Router(nodes, tmp)
        yield nodes, router
    finally:
        if router is not None:
            router.close()
        for n in nodes:
            if n.server is not None:
                n.stop(signal.SIGKILL)


@pytest.fixture
def fresh(cluster):
    """Every node up, empty, and UP in HAProxy."""
    nodes, router = cluster
    for n in nodes:
        if n.server is None:
            n.start()
        n.flush()
    router.wait_states({n.name: "UP" for n in nodes})
    return nodes, router


def keys(prefix, n=KEYS):
    return ["%s-%04d" % (prefix, i) for i in range(n)]


def set_all(client, items, **kw):
    """Sets {key: value} through client, in parallel calls."""
    futures = [client.Set.future(client.m.CacheItem(key=k, value=v),
                                 timeout=30, **kw) for k, v in items.items()]
    for f in futures:
        assert f.result().status == client.m.OK


def get_all(client, ks, **kw):
    """{key: value or None} of Gets of ks through client."""
    futures = [(k, client.Get.future(client.m.CacheKey(key=k), timeout=30,
                                     **kw)) for k in ks]
    out = {}
    for k, f in futures:
        r = f.result()
        out[k] = r.value if r.found else None
    return out


def owners(nodes, ks):
    """{key: index of the one node holding it}; fails on a key held by
    two nodes or by none."""
    found = {}
    for n in nodes:
        if n.server is None:
            continue
        for k in n.holds(ks):
            assert k not in found, "%s on %s and node%d" % (k, n.name,
                                                             found[k])
            found[k] = n.index
    missing = set(ks) - set(found)
    assert not missing, "held by no node: %s" % sorted(missing)[:5]
    return found


def test_keys_spread_over_the_nodes_and_every_get_hits(fresh):
    nodes, router = fresh
    ks = keys("spread")
    items = {k: ("v:" + k).encode() for k in ks}
    # The spread is the ring's only while every node stays UP: on a loaded
    # machine two checks in a row can time out, the node leaves the ring
    # meanwhile and its keys go to the others, as they should. Then the
    # nodes are emptied and the keys set again.
    for _ in range(3):
        downs = router.downs()
        set_all(router.client, items)
        if router.downs() == downs:
            break
        for n in nodes:
            n.flush()
        router.wait_states({n.name: "UP" for n in nodes})
    where = owners(nodes, ks)
    for n in nodes:
        share = sum(1 for i in where.values() if i == n.index) / KEYS
        assert abs(share - 1 / NODES) <= 0.10, (n.name, share)
    assert get_all(router.client, ks) == items


def test_a_set_larger_than_haproxys_buffer_reaches_the_node_of_its_key(fresh):
    """HAProxy reads the key from the first bytes of the body: a value
    larger than its buffer (tune.bufsize) must not change the node."""
    nodes, router = fresh
    ks = keys("large", 30)
    set_all(router.client, {k: b"small" for k in ks})
    small = owners(nodes, ks)
    for n in nodes:
        n.flush()
    large = {k: os.urandom(100 * 1024) for k in ks}
    set_all(router.client, large)
    assert owners(nodes, ks) == small
    assert len(set(small.values())) == NODES
    assert get_all(router.client, ks) == large


def wait_snapshot(node, entries, since):
    """Waits for a periodic save holding exactly entries entries, logged
    after the first since characters of the node's log."""
    line = "snapshot: saved %d entries" % entries
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if line in node.server.log_text()[since:]:
            return
        time.sleep(0.05)
    raise AssertionError("no '%s' in %s's log" % (line, node.name))


def test_killed_node_moves_only_its_keys_and_takes_them_back(fresh):
    nodes, router = fresh
    ks = keys("kill")
    first = {k: b"first" for k in ks}
    victim = nodes[1]
    mark = len(victim.server.log_text())
    set_all(router.client, first)
    where = owners(nodes, ks)
    its = [k for k in ks if where[k] == victim.index]
    wait_snapshot(victim, len(its), mark)
    assert victim.stop(signal.SIGKILL) == -signal.SIGKILL
    router.wait_states({victim.name: "DOWN"})

    got = get_all(router.client, ks)
    missed = sorted(k for k, v in got.items() if v is None)
    assert missed == sorted(its)
    assert all(got[k] == b"first" for k in ks if k not in its)

    set_all(router.client, {k: b"second" for k in its})
    survivors = [n for n in nodes if n is not victim]
    moved = owners(survivors, its)
    assert set(moved.values()) <= {n.index for n in survivors}
    assert get_all(router.client, its) == {k: b"second" for k in its}

    victim.start()
    router.wait_states({victim.name: "UP"})
    assert victim.holds(its) == {k: b"first" for k in its}
    assert get_all(router.client, ks) == first


def test_route_metadata_sends_a_batch_to_one_node(fresh):
    nodes, router = fresh
    c = router.client
    ks = keys("batch", 100)
    md = ((ROUTE, "user:42"),)
    r = c.MultiSet(c.m.MultiCacheItemRequest(items=[
        c.m.CacheItem(key=k, value=b"b") for k in ks]), metadata=md,
        timeout=10)
    assert [i.status for i in r.items] == [c.m.OK] * len(ks)
    held = [n for n in nodes if n.holds(ks)]
    assert len(held) == 1 and held[0].holds(ks) == {k: b"b" for k in ks}
    r = c.MultiGet(c.m.MultiCacheKeyRequest(keys=ks), metadata=md,
                   timeout=10)
    assert all(i.found and i.value == b"b" for i in r.items)
    r = c.MultiDelete(c.m.MultiCacheKeyRequest(keys=ks), metadata=md,
                      timeout=10)
    assert len(r.items) == len(ks)
    assert not held[0].holds(ks)


def test_a_key_as_route_reaches_the_node_of_that_key(fresh):
    nodes, router = fresh
    c = router.client
    ks = keys("same", 60)
    for k in ks:
        c.MultiSet(c.m.MultiCacheItemRequest(items=[
            c.m.CacheItem(key=k, value=b"batch")]), metadata=((ROUTE, k),),
            timeout=10)
    by_route = owners(nodes, ks)
    for n in nodes:
        n.flush()
    set_all(c, {k: b"single" for k in ks})
    assert owners(nodes, ks) == by_route
    assert len(set(by_route.values())) == NODES


def expect_route_error(call):
    with pytest.raises(grpc.RpcError) as e:
        call()
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert ROUTE in e.value.details()


def test_batches_and_flush_without_route_are_refused_and_not_applied(fresh):
    nodes, router = fresh
    c = router.client
    kept = keys("kept", 30)
    set_all(c, {k: b"kept" for k in kept})
    ks = keys("noroute", 30)
    expect_route_error(lambda: c.MultiSet(c.m.MultiCacheItemRequest(items=[
        c.m.CacheItem(key=k, value=b"x") for k in ks]), timeout=10))
    for n in nodes:
        assert not n.holds(ks)
    expect_route_error(lambda: c.MultiGet(c.m.MultiCacheKeyRequest(
        keys=kept), timeout=10))
    expect_route_error(lambda: c.MultiDelete(c.m.MultiCacheKeyRequest(
        keys=kept), timeout=10))
    expect_route_error(lambda: c.Flush(c.m.Empty(), timeout=10))
    expect_route_error(lambda: c.Flush(c.m.Empty(), timeout=10,
                                       metadata=((ROUTE, ""),)))
    owners(nodes, kept)
    assert get_all(c, kept) == {k: b"kept" for k in kept}


def tool(name, *args):
    """Runs tiny-cache-cli or tiny-cache-bench; returns (status, stdout,
    stderr)."""
    p = subprocess.run([os.path.join(harness.builddir(), name)] +
                       [str(a) for a in args], capture_output=True,
                       text=True, stdin=subprocess.DEVNULL, timeout=60)
    return p.returncode, p.stdout, p.stderr


def test_cli_route_sends_a_batch_to_one_node(fresh):
    nodes, router = fresh
    ks = keys("cli", 20)
    pairs = [a for k in ks for a in (k, "c")]
    rc, _, err = tool("tiny-cache-cli", "-p", router.port, "mset", *pairs)
    assert rc == 3 and ROUTE in err
    rc, _, err = tool("tiny-cache-cli", "-p", router.port, "--route", "cli",
                      "mset", *pairs)
    assert rc == 0, err
    assert [len(n.holds(ks)) for n in nodes].count(len(ks)) == 1
    rc, out, err = tool("tiny-cache-cli", "-p", router.port, "mget", *ks,
                        "--route", "cli")
    assert rc == 0, err
    assert out == "".join("%s\tc\n" % k for k in ks)


def test_bench_routes_keep_each_batch_on_its_routes_node(fresh):
    """--routes 12: key i routes as r<i mod 12>; after --fill, every
    MultiGet through the router hits every key, and the keys of each
    route sit on one node."""
    nodes, router = fresh
    rc, out, err = tool("tiny-cache-bench", "-p", router.port, "--json",
                        "--fill", "--routes", 12, "--keyspace", 600,
                        "--key-prefix", "rb:", "--ratio", "0:0:0:1",
                        "--batch", 10, "-n", 300, "-c", 2, "-m", 4)
    assert rc == 0, err
    r = json.loads(out)
    assert r["hits"] == 3000 and r["misses"] == 0 and r["item_errors"] == 0
    ks = ["rb:%012d" % i for i in range(600)]
    where = owners(nodes, ks)
    for route in range(12):
        assert len({where[k] for k in ks[route::12]}) == 1, route
    assert len(set(where.values())) > 1


def test_bench_route_sends_every_call_to_one_node(fresh):
    nodes, router = fresh
    rc, _, err = tool("tiny-cache-bench", "-p", router.port, "--route",
                      "one", "--fill", "--ratio", "1:0", "--keyspace", 100,
                      "--key-prefix", "ro:", "-n", 300)
    assert rc == 0, err
    ks = ["ro:%012d" % i for i in range(100)]
    assert sorted(len(n.holds(ks)) for n in nodes) == [0, 0, 100]


def bench_path():
    return os.path.join(harness.builddir(), "tiny-cache-bench")


def test_rolling_restart_under_load_fails_no_call(fresh):
    nodes, router = fresh
    with open(os.path.join(harness.srcdir(), "deploy", "haproxy",
                           "haproxy.cfg")) as f:
        assert " fall %d " % CHECK_FALL in f.read()
    assert SHUTDOWN_DELAY_S >= CHECK_FALL * CHECK_INTER_S + \
        CHECK_TIMEOUT_S + 1
    bench = subprocess.Popen(
        [bench_path(), "-p", str(router.port), "-d", "25", "-c", "4", "-m",
         "4", "-t", "1", "--ratio", "8:2", "--keyspace", "3000", "--json"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1)
        for n in nodes:
            assert n.stop() == 0
            router.wait_states({n.name: "DOWN"})
            n.start()
            router.wait_states({n.name: "UP"})
            time.sleep(0.5)
        ended_early = bench.poll() is not None
        out, err = bench.communicate(timeout=60)
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
    assert bench.returncode == 0, (out, err)
    assert not ended_early, "the load ended before the restarts: " + out
    r = json.loads(out)
    assert r["requests"] > 0
    assert r["status_counts"] == {"OK": r["requests"]}, r
    for n in nodes:
        st = n.client.stats(timeout=10)
        assert st.gets + st.sets > 0, "%s served no call after restart" % (
            n.name)


def test_cluster_script_runs_nodes_behind_haproxy(tmp_path):
    """scripts/cluster.sh -n 2: two nodes and HAProxy with the shipped
    config cut to two servers; a key set through it is on one node; the
    script stops everything on SIGINT."""
    listen, stats = free_ports(2)
    grpc_base = free_run(2, (listen, stats))
    http_base = free_run(2, (listen, stats, grpc_base, grpc_base + 1))
    env = dict(os.environ, TMPDIR=str(tmp_path),
               TC_LISTEN="127.0.0.1:%d" % listen,
               TC_STATS="127.0.0.1:%d" % stats,
               TC_GRPC_BASE=str(grpc_base), TC_HTTP_BASE=str(http_base))
    script = os.path.join(harness.srcdir(), "scripts", "cluster.sh")
    argv = ["sh", script, "-n", "2", "-b", harness.builddir()]
    p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, start_new_session=True)
    try:
        wait_states(stats, {"node0": "UP", "node1": "UP"},
                    lambda: p.poll() is None or p.stdout.read())
        with grpc.insecure_channel("127.0.0.1:%d" % listen) as ch:
            c = harness.CacheClient(ch)
            assert c.set("script", b"v", timeout=10).status == c.m.OK
            assert c.get("script", timeout=10).value == b"v"
        on = []
        for port in (grpc_base, grpc_base + 1):
            with grpc.insecure_channel("127.0.0.1:%d" % port) as ch:
                on.append(harness.CacheClient(ch).get(
                    "script", timeout=10).found)
        assert sorted(on) == [False, True]
        assert sorted(states(stats)) == ["node0", "node1"]
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    assert "node1" in out and "haproxy" in out
    assert os.listdir(tmp_path) == [], "cluster.sh left its folder"
    for port in (listen, grpc_base, grpc_base + 1):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, port
