"""The monitoring files of contrib/ (docs/operations.md, "Dashboards and
alerts"): the alert rules pass `promtool check rules` and their unit tests
(`promtool test rules`), every alert is exercised there, and every series a
Grafana panel, a dashboard variable or an alert names is one tiny-cached
exports (scraped after calls of every kind, so the per-method series
exist), save `up` (Prometheus's own)."""

import json
import os
import re
import shutil
import subprocess
import urllib.request

import grpc
import pytest
import yaml

import harness

TIMEOUT_S = 30
# Named on purpose although no node exports it: Prometheus makes `up`.
NOT_EXPORTED = {"up"}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left",
                "group_right", "and", "or", "unless", "bool", "offset",
                "inf", "nan"}


def contrib(*parts):
    return os.path.join(harness.srcdir(), "contrib", *parts)


def promtool():
    path = shutil.which("promtool")
    assert path, "promtool not installed (Debian package prometheus)"
    return path


def alerts():
    with open(contrib("prometheus", "alerts.yml")) as f:
        return [r for g in yaml.safe_load(f)["groups"] for r in g["rules"]]


def dashboard():
    with open(contrib("grafana", "tiny-cache.json")) as f:
        return json.load(f)


def panels(dash):
    for p in dash["panels"]:
        yield p
        yield from p.get("panels", [])


def series_names(expr):
    """The metric names a PromQL expression (or a Grafana label_values()
    query) selects: identifiers that are not functions, keywords, label
    names of by/without/on/ignoring clauses, durations, strings, label
    matchers or Grafana variables."""
    m = re.fullmatch(r"\s*label_values\(\s*([a-zA-Z_:][\w:]*)\s*,.*\)\s*",
                     expr)
    if m:
        return {m.group(1)}
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\$\{[^}]*\}|\$\w+", "", e)
    e = re.sub(r"\{[^}]*\}", "", e)
    e = re.sub(r"\[[^\]]*\]", "", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*"
               r"\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"(?<![\w:.])([a-zA-Z_:][\w:]*)(\s*\()?", e):
        if m.group(2) is None and m.group(1).lower() not in PROMQL_WORDS:
            names.add(m.group(1))
    return names


def test_series_names_reads_promql():
    assert series_names(
        'sum by (instance, method) (rate(a_total{code!="OK", x=~"$i"}'
        '[$__rate_interval])) / on (instance) group_left b > bool 0.5 '
        'and c offset 5m') == {"a_total", "b", "c"}
    assert series_names("histogram_quantile(0.99, sum by (le) "
                        "(rate(h_bucket[5m])))") == {"h_bucket"}
    assert series_names("label_values(tiny_cache_build_info, instance)") \
        == {"tiny_cache_build_info"}


def test_alert_rules_check_clean():
    p = subprocess.run([promtool(), "check", "rules",
                        contrib("prometheus", "alerts.yml")],
                       capture_output=True, timeout=TIMEOUT_S)
    assert p.returncode == 0, (p.stdout + p.stderr).decode()


def test_alert_rules_unit_tests_pass():
    p = subprocess.run([promtool(), "test", "rules", "alerts_test.yml"],
                       cwd=contrib("prometheus"), capture_output=True,
                       timeout=TIMEOUT_S)
    assert p.returncode == 0, (p.stdout + p.stderr).decode()


def test_every_alert_is_seen_firing_in_the_unit_tests():
    with open(contrib("prometheus", "alerts_test.yml")) as f:
        tests = yaml.safe_load(f)["tests"]
    fired = {a["alertname"] for t in tests for a in t["alert_rule_test"]
             if a.get("exp_alerts")}
    names = [r["alert"] for r in alerts()]
    assert sorted(fired) == sorted(names)
    for r in alerts():
        assert r["labels"]["severity"] in ("warning", "critical"), r
        assert r["annotations"]["summary"] and \
            r["annotations"]["description"], r


def test_dashboard_shape():
    dash = dashboard()
    assert dash["uid"] == "tiny-cache"
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["instance"]["multi"] and \
        variables["instance"]["includeAll"]
    ids = [p["id"] for p in panels(dash)]
    assert len(ids) == len(set(ids))
    for p in panels(dash):
        if p["type"] == "row":
            continue
        assert p["datasource"]["uid"] == "${datasource}", p["title"]
        assert p["targets"], p["title"]
        for t in p["targets"]:
            # every panel follows the node picker
            assert 'instance=~"$instance"' in t["expr"], (p["title"],
                                                          t["expr"])


def test_dashboard_covers_what_operators_ask():
    exprs = " ".join(t["expr"] for p in panels(dashboard())
                     for t in p.get("targets", []))
    for needle in ("tiny_cache_grpc_requests_total",
                   "histogram_quantile(0.99",
                   "tiny_cache_grpc_request_duration_seconds_bucket",
                   "tiny_cache_max_memory_bytes",
                   "process_resident_memory_bytes", "tiny_cache_max_items",
                   "tiny_cache_hits_total", "tiny_cache_evictions_total",
                   "tiny_cache_expired_removals_total",
                   "tiny_cache_shard_entries",
                   "tiny_cache_shard_memory_usage_bytes"):
        assert needle in exprs, needle


@pytest.fixture(scope="module")
def exported():
    """Sample names of /metrics after calls of every method and a failed
    one, so that per-method and per-code series exist."""
    with harness.Server(env={"CACHE_SHARDS": 4}) as s:
        with s.channel() as ch:
            c = harness.CacheClient(ch)
            m = c.m
            c.set("k", b"1")
            c.get("k")
            c.delete("k")
            c.stats()
            c.MultiGet(m.MultiCacheKeyRequest(keys=["a"]))
            c.MultiSet(m.MultiCacheItemRequest(
                items=[m.CacheItem(key="a", value=b"1")]))
            c.MultiDelete(m.MultiCacheKeyRequest(keys=["a"]))
            c.SetIfAbsent(m.CacheItem(key="n", value=b"1"))
            c.CompareAndSet(m.CompareAndSetRequest(key="n",
                                                   expected_value=b"1",
                                                   value=b"2"))
            c.Increment(m.IncrementRequest(key="i", delta=1))
            c.Touch(m.TouchRequest(key="i", ttl=0))
            c.Flush(m.Empty())
            assert harness.health_check(ch) == "SERVING"
            with pytest.raises(grpc.RpcError):
                c.get("")
        with urllib.request.urlopen(s.http_url("/metrics"),
                                    timeout=TIMEOUT_S) as r:
            text = r.read().decode()
        assert s.stop() == 0
    return {re.match(r"[a-zA-Z_:][\w:]*", line).group(0)
            for line in text.splitlines() if line and line[0] != "#"}


def test_dashboard_series_are_exported(exported):
    dash = dashboard()
    named = {}
    for p in panels(dash):
        for t in p.get("targets", []):
            for n in series_names(t["expr"]):
                named.setdefault(n, p["title"])
    for v in dash["templating"]["list"]:
        if v["type"] == "query":
            for n in series_names(v["definition"]):
                named.setdefault(n, "variable " + v["name"])
    assert len(named) >= 15
    missing = {n: where for n, where in named.items()
               if n not in exported and n not in NOT_EXPORTED}
    assert missing == {}


def test_alert_series_are_exported(exported):
    named = {}
    for r in alerts():
        for n in series_names(r["expr"]):
            named.setdefault(n, r["alert"])
    assert {"tiny_cache_capacity_memory_saturation_ratio",
            "tiny_cache_grpc_requests_total", "up",
            "tiny_cache_snapshot_save_failures_total"} <= set(named)
    missing = {n: where for n, where in named.items()
               if n not in exported and n not in NOT_EXPORTED}
    assert missing == {}


def test_not_exported_series_really_are_not(exported):
    assert NOT_EXPORTED.isdisjoint(exported)
