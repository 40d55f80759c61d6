"""tiny-cache-bench's MultiGet and MultiSet calls against a real tiny-cached:
--ratio's mget and mset slots with --batch keys a call, keys and keys/s
in the report (keys = calls weighted by their keys, so keys/s is batch x
calls/s for a batch-only load), the server's counters counting the items,
failed items, and --namespace. Every test but the usage ones needs the
server's MultiGet, MultiSet and namespaces."""

import json

import pytest

import harness
from test_bench import bench, bench_json, server  # noqa: F401 (a fixture)

NS = "x-cache-namespace"


def counters(s):
    st = s.client.stats(timeout=10)
    return st.gets, st.sets


def test_batch_only_load_reports_batch_times_calls(server):
    before = counters(server)
    r = bench_json(server.grpc_port, "-n", "300", "-c", "2", "-m", "4", "-t",
                   "1", "--ratio", "0:0:0:1:1", "--batch", "8",
                   "--keyspace", "100")
    after = counters(server)
    assert r["requests"] == 300
    assert r["multi_gets"] + r["multi_sets"] == 300
    assert min(r["multi_gets"], r["multi_sets"]) > 0
    assert r["gets"] == r["sets"] == r["deletes"] == 0
    assert r["status_counts"] == {"OK": 300}
    assert (r["batch"], r["keys"], r["item_errors"]) == (8, 2400, 0)
    assert r["keys_per_second"] == pytest.approx(
        8 * r["requests_per_second"], rel=1e-3)
    assert r["keys_per_second"] == pytest.approx(
        r["keys"] / r["elapsed_s"], rel=1e-3)
    assert after[0] - before[0] == 8 * r["multi_gets"]
    assert after[1] - before[1] == 8 * r["multi_sets"]
    assert r["hits"] + r["misses"] == 8 * r["multi_gets"]


def test_mixed_ratio_counts_keys_of_every_call(server):
    r = bench_json(server.grpc_port, "-n", "1000", "-c", "2", "-m", "4",
                   "--ratio", "1:1:1:1:1", "--batch", "3", "--keyspace", "50")
    assert r["status_counts"] == {"OK": 1000}
    calls = [r[k] for k in ("gets", "sets", "deletes", "multi_gets",
                            "multi_sets")]
    assert sum(calls) == 1000 and min(calls) > 0
    assert r["keys"] == sum(calls[:3]) + 3 * (calls[3] + calls[4])
    assert r["hits"] + r["misses"] == r["gets"] + 3 * r["multi_gets"]


def test_fill_then_multiget_hits_every_key(server):
    r = bench_json(server.grpc_port, "--fill", "--keyspace", "200", "-n",
                   "100", "--ratio", "0:0:0:1", "--batch", "10", "-c", "2",
                   "-m", "2")
    assert r["fill"]["sets"] == 200
    assert (r["multi_gets"], r["keys"]) == (100, 1000)
    assert (r["hits"], r["misses"], r["item_errors"]) == (1000, 0, 0)


def test_seq_multiset_writes_consecutive_keys(server):
    r = bench_json(server.grpc_port, "--pattern", "seq", "--ratio",
                   "0:0:0:0:1", "--batch", "16", "--keyspace", "64", "-n", "4",
                   "-c", "1", "-m", "1", "-t", "1", "--value-size", "7")
    assert r["keys"] == 64
    assert server.client.stats(timeout=10).size == 64
    v = server.client.get("key:000000000063", timeout=10)
    assert v.found and len(v.value) == 7


def test_namespace_keeps_bench_keys_apart(server):
    bench_json(server.grpc_port, "--namespace", "bench1", "--fill",
               "--keyspace", "20", "-n", "10", "--ratio", "0:0:0:0:1",
               "--batch", "5", "-c", "1", "-m", "1")
    key = "key:000000000007"
    assert not server.client.get(key, timeout=10).found
    md = ((NS, "bench1"),)
    assert server.client.get(key, timeout=10, metadata=md).found
    assert not server.client.get(key, timeout=10,
                                 metadata=((NS, "bench2"),)).found
    assert server.client.stats(timeout=10).size == 20


def test_text_report_shows_keys_per_second(server):
    rc, out, err = bench(server.grpc_port, "-n", "50", "-c", "1", "-m", "2",
                         "--ratio", "1:0:0:1", "--batch", "4",
                         "--namespace", "text")
    assert rc == 0, err
    assert "keys/s" in out and "requests/s" in out
    assert "namespace    text" in out
    assert "batch 4" in out and "multi-gets" in out
    assert "failed items 0" in out


def test_failed_items_make_exit_1():
    """Values over the limit fail each item of a MultiSet, not the call."""
    with harness.Server(env={"CACHE_MAX_VALUE_BYTES": 1024}) as s:
        rc, out, _ = bench(s.grpc_port, "--json", "-n", "20", "-c", "1",
                           "--ratio", "0:0:0:0:1", "--batch", "2",
                           "--value-size", "2000")
    assert rc == 1
    r = json.loads(out)
    assert r["status_counts"] == {"OK": 20}
    assert r["item_errors"] == 40


def test_bad_namespace_fails_every_call(server):
    rc, out, _ = bench(server.grpc_port, "--json", "-n", "30", "-c", "1",
                       "--ratio", "1:1:0:1:1", "--namespace", "bad/ns")
    assert rc == 1
    assert json.loads(out)["status_counts"] == {"INVALID_ARGUMENT": 30}


@pytest.mark.parametrize("args", [
    ["--batch", "0"],
    ["--batch", "1000001"],
    ["--batch", "x"],
    ["--namespace", "a\nb"],
    ["--ratio", "0:0:0:0:0"],
    ["--ratio", "1:1:1:1:-1"],
])
def test_usage_errors_exit_2(args):
    rc, out, err = bench(None, *args)
    assert rc == 2, err
    assert out == ""
    assert "usage" in err
