"""The status page (docs/http.md, "/status"): which requests get it, its
headers, the per-method counts it reads from /stats, and the page itself in
headless Chromium: the figures it shows after its refreshes agree with
/stats, it asks nothing of any other host, it works under a proxy's path
prefix, and it renders (screenshots of a
desktop and a phone window are written to the build tree and their paths
printed)."""

import html.parser
import http.client
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

import grpc
import pytest

import harness

TIMEOUT_S = 10
CHROMIUM_TIMEOUT_S = 90
HTML_TYPE = "text/html; charset=utf-8"
JSON_TYPE = "application/json"
SHARDS = 8
MAX_ITEMS = 100
SETS = 130
BROWSER_ACCEPT = ("text/html,application/xhtml+xml,application/xml;q=0.9,"
                  "image/avif,image/webp,image/apng,*/*;q=0.8")
# Virtual time the page runs for in Chromium: its first reading at once,
# then one every 2 s, so at least two readings (and rates) by the end.
VIRTUAL_TIME_MS = 5000


def request(port, path, method="GET", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        return resp.status, hdrs, resp.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def server():
    env = {"CACHE_SHARDS": SHARDS, "CACHE_MAX_ITEMS": MAX_ITEMS,
           "CACHE_WORKERS": 2}
    with harness.Server(env=env) as s:
        yield s
        assert s.stop() == 0, "unclean exit after the tests (see its log)"


@pytest.fixture(scope="module")
def loaded(server):
    """SETS sets into a cache of MAX_ITEMS (so some are evicted), 40 gets
    (30 hits, 10 misses), 3 empty-key gets (INVALID_ARGUMENT), a Stats."""
    with server.channel() as ch:
        c = harness.CacheClient(ch)
        for i in range(SETS):
            assert c.set("page-%d" % i, b"v" * (i * 7)).status == c.m.OK
        for i in range(40):
            c.get("page-%d" % (SETS - 1 - i if i < 30 else 10000 + i))
        for _ in range(3):
            with pytest.raises(grpc.RpcError) as e:
                c.get("")
            assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        c.stats()
    return {"Set": SETS, "Get": 43, "Stats": 1, "get_errors": 3}


def stats(server):
    status, _, body = request(server.http_port, "/stats")
    assert status == 200
    return json.loads(body)


@pytest.mark.parametrize("accept", [BROWSER_ACCEPT, "text/html",
                                    "Text/HTML;q=0.5, application/json"])
def test_root_gives_browsers_the_page(server, accept):
    status, hdrs, body = request(server.http_port, "/",
                                 headers={"Accept": accept})
    assert status == 200
    assert hdrs["content-type"] == HTML_TYPE
    assert hdrs["vary"] == "Accept"
    assert body == request(server.http_port, "/status")[2]


@pytest.mark.parametrize("accept", [None, "*/*", "application/json",
                                    "text/*", "text/html;q=0, */*"])
def test_root_stays_json_for_everything_else(server, accept):
    headers = {} if accept is None else {"Accept": accept}
    status, hdrs, body = request(server.http_port, "/", headers=headers)
    assert status == 200
    assert hdrs["content-type"] == JSON_TYPE
    assert hdrs["vary"] == "Accept"
    doc = json.loads(body)
    assert doc["service"] == "tiny-cache"
    assert "/status" in doc["endpoints"]


def test_status_headers(server):
    status, hdrs, body = request(server.http_port, "/status",
                                 headers={"x-request-id": "page-1"})
    assert status == 200
    assert hdrs["content-type"] == HTML_TYPE
    assert hdrs["x-request-id"] == "page-1"
    assert hdrs["cache-control"] == "no-store"
    csp = hdrs["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert body.startswith(b"<!doctype html>")
    # whatever the Accept, /status is the page
    assert request(server.http_port, "/status",
                   headers={"Accept": "application/json"})[1][
                       "content-type"] == HTML_TYPE


def test_page_names_no_other_host(server):
    body = request(server.http_port, "/status")[2].decode()
    assert not re.search(r"(https?:)?//[a-z0-9]", body, re.I), \
        re.search(r".{0,40}(https?:)?//[a-z0-9].{0,40}", body, re.I).group(0)
    assert not re.search(r"\b(src|href)=\"(?!/|data:)", body)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "HEAD"])
def test_status_other_methods_405(server, method):
    status, hdrs, body = request(server.http_port, "/status", method=method)
    assert status == 405
    assert hdrs["allow"] == "GET"
    assert "x-request-id" in hdrs
    if method != "HEAD":
        assert json.loads(body)["status"] == 405


def test_status_variants_404(server):
    for path in ("/status/", "/status.html", "/Status"):
        status, hdrs, _ = request(server.http_port, path)
        assert status == 404 and "x-request-id" in hdrs


def test_stats_requests_count_calls_by_method_and_code(server, loaded):
    req = stats(server)["requests"]
    assert req["Set"] == {"OK": loaded["Set"]}
    assert req["Get"]["INVALID_ARGUMENT"] == loaded["get_errors"]
    assert sum(req["Get"].values()) == loaded["Get"]
    assert req["Stats"] == {"OK": loaded["Stats"]}
    # every method is listed, OK always present, never a zero other code
    for codes in req.values():
        assert "OK" in codes
        assert all(v > 0 for c, v in codes.items() if c != "OK")
    assert {"Get", "Set", "Delete", "MultiGet", "Flush"} <= set(req)


# --- the page in headless Chromium ------------------------------------------

def chromium():
    path = shutil.which("chromium")
    assert path, "chromium not installed (Debian package chromium, .ci/deps)"
    return path


def run_chromium(url, *flags, netlog=None):
    """Runs headless Chromium on url with a fresh profile; returns its
    stdout. Root needs --no-sandbox; background services are off so that
    any request in the net log is the page's."""
    with tempfile.TemporaryDirectory(prefix="tc-chromium-") as profile:
        cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
               "--user-data-dir=" + profile, "--no-first-run",
               "--disable-background-networking", "--disable-sync",
               "--disable-component-update", "--disable-extensions",
               "--virtual-time-budget=%d" % VIRTUAL_TIME_MS]
        if netlog:
            cmd.append("--log-net-log=" + netlog)
        p = subprocess.run(cmd + list(flags) + [url], capture_output=True,
                           timeout=CHROMIUM_TIMEOUT_S)
    assert p.returncode == 0, p.stderr.decode(errors="replace")[-4000:]
    return p.stdout.decode()


class PageParser(html.parser.HTMLParser):
    """Elements of the rendered DOM: by id, their attributes and text;
    the shard rows and request rows by their data- attributes."""

    def __init__(self):
        super().__init__()
        self.by_id = {}
        self.shards = []
        self.methods = {}
        self.body = {}
        self._open = []
        self._row = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        rec = {"attrs": a, "text": ""}
        if tag == "body":
            self.body = a
        if "id" in a:
            self.by_id[a["id"]] = rec
        if "data-shard" in a:
            self.shards.append(a)
        if "data-method" in a:
            self.methods[a["data-method"]] = rec
            rec["cells"] = []
            self._row = rec
        if tag == "td" and self._row is not None:
            self._row["cells"].append("")
        if tag not in ("meta", "link", "br", "input", "img"):
            self._open.append(rec)

    def handle_endtag(self, tag):
        if tag == "tr":
            self._row = None
        if self._open and tag not in ("meta", "link", "br", "input", "img"):
            self._open.pop()

    def handle_data(self, data):
        for rec in self._open:
            rec["text"] += data
        if self._row is not None and self._row["cells"]:
            self._row["cells"][-1] += data


def fmt_int(n):
    return "{:,}".format(int(n))


def fmt_bytes(n):
    units, i, v = ["B", "KiB", "MiB", "GiB", "TiB"], 0, float(n)
    while v >= 1024 and i < len(units) - 1:
        v /= 1024
        i += 1
    return "%d B" % n if i == 0 else "%.1f %s" % (v, units[i])


def page_requests(netlog, own):
    """The URLs the page asked for, one per request, from Chromium's net
    log: each URL request started for the page's frame (its network
    isolation key is the page's site) or on its behalf (its initiator is
    the page's origin). Chromium's own traffic (updates, sign-in) has
    neither and is not the page's."""
    types = {v: k for k, v in netlog["constants"]["logEventTypes"].items()}
    origin = own.rstrip("/")
    site = re.sub(r":\d+$", "", origin)
    urls = []
    for e in netlog["events"]:
        p = e.get("params") or {}
        if types.get(e["type"]) != "URL_REQUEST_START_JOB":
            continue
        if p.get("initiator") == origin or \
                site in p.get("network_isolation_key", "").split():
            urls.append(p["url"])
    return urls


@pytest.fixture(scope="module")
def rendered(server, loaded):
    """The DOM after VIRTUAL_TIME_MS of the page, /stats read just before
    (the cache is quiet: the page's own reads change no counter), and the
    URLs Chromium requested."""
    doc = stats(server)
    with tempfile.TemporaryDirectory(prefix="tc-netlog-") as d:
        netlog = os.path.join(d, "net.json")
        dom = run_chromium(server.http_url("/status"), "--dump-dom",
                           netlog=netlog)
        with open(netlog) as f:
            requests = page_requests(json.load(f), server.http_url("/"))
    page = PageParser()
    page.feed(dom)
    return doc, page, requests


def text(page, id_):
    return page.by_id[id_]["text"].strip()


def test_page_refreshed_more_than_once(rendered):
    _, page, _ = rendered
    assert int(page.body["data-refreshes"]) >= 2, page.body
    assert text(page, "state") == "live"


def test_page_shows_entries_and_memory_against_limits(rendered):
    doc, page, _ = rendered
    t = doc["totals"]
    assert t["size"] == MAX_ITEMS and t["lru_evictions"] == SETS - MAX_ITEMS
    assert text(page, "entries") == fmt_int(t["size"])
    assert int(page.by_id["entries"]["attrs"]["data-value"]) == t["size"]
    assert text(page, "entries-max") == fmt_int(MAX_ITEMS)
    assert text(page, "entries-pct") == "100.0%"
    assert text(page, "memory") == fmt_bytes(t["memory_usage_bytes"])
    assert int(page.by_id["memory"]["attrs"]["data-value"]) == \
        t["memory_usage_bytes"]
    assert text(page, "memory-max") == fmt_bytes(t["max_memory_bytes"])


def test_page_shows_hit_rate_evictions_expiries(rendered):
    doc, page, _ = rendered
    t = doc["totals"]
    assert t["hits"] == 30 and t["misses"] == 10
    assert text(page, "hit-rate") == "%.1f%%" % (t["hit_rate"] * 100)
    assert text(page, "hit-rate") == "75.0%"
    assert text(page, "evictions") == fmt_int(t["evictions"])
    assert text(page, "expiries") == fmt_int(t["expired_removals"])
    # quiet cache: nothing per second between the page's readings
    assert text(page, "evictions-rate") == "0.0"


def test_page_shows_snapshots_off(rendered):
    doc, page, _ = rendered
    assert doc["snapshot"]["enabled"] is False  # no CACHE_SNAPSHOT_PATH
    assert text(page, "snapshot") == "off"
    assert text(page, "snapshot-detail") == "not configured"


def render_plain(server):
    """The page's DOM, parsed, without a net log."""
    page = PageParser()
    page.feed(run_chromium(server.http_url("/status"), "--dump-dom"))
    return page


def wait_for_save(server):
    deadline = time.monotonic() + TIMEOUT_S
    while stats(server)["snapshot"]["saves"] < 1:
        assert time.monotonic() < deadline, "no background save in time"
        time.sleep(0.1)


def test_page_shows_the_last_save_and_the_load(tmp_path):
    """Five entries saved at one daemon's shutdown, loaded by the next,
    which saves them again in the background: the card says so in words,
    no Unix times or raw floats."""
    env = {"CACHE_SNAPSHOT_PATH": str(tmp_path / "cache.snap")}
    with harness.Server(env=env) as s:
        with s.channel() as ch:
            c = harness.CacheClient(ch)
            for i in range(5):
                assert c.set("snap-%d" % i, b"v" * 100).status == c.m.OK
        assert s.stop() == 0
    with harness.Server(env=dict(env, CACHE_SNAPSHOT_INTERVAL=1)) as s:
        wait_for_save(s)
        doc = stats(s)["snapshot"]
        page = render_plain(s)
        assert s.stop() == 0
    assert doc["loads"] == 1 and doc["loaded_entries"] == 5
    assert text(page, "snapshot") == "on"
    assert page.by_id["snapshot"]["attrs"]["class"] == "big"
    detail = text(page, "snapshot-detail")
    assert re.fullmatch(r"saved 5 entries \(\d+ B\) \d+m \d+s ago"
                        r" \u00b7 loaded 5 entries at start", detail), detail


def test_page_shows_a_refused_file(tmp_path):
    """A damaged file at start: moved aside, and the card turns red."""
    path = tmp_path / "cache.snap"
    path.write_bytes(b"not a snapshot at all")
    with harness.Server(env={"CACHE_SNAPSHOT_PATH": str(path)}) as s:
        page = render_plain(s)
        harness.assert_serving(s)
        assert s.stop() == 0
    assert text(page, "snapshot") == "failing"
    assert page.by_id["snapshot"]["attrs"]["class"] == "big bad"
    assert text(page, "snapshot-detail") == (
        "no save yet \u00b7 the file at start was refused, moved aside as .bad")


def test_page_shows_every_shard(rendered):
    doc, page, _ = rendered
    assert len(page.shards) == SHARDS
    for want, got in zip(doc["shards"], page.shards):
        assert int(got["data-shard"]) == want["shard"]
        assert int(got["data-entries"]) == want["size"]
        assert int(got["data-memory"]) == want["memory_usage_bytes"]
    assert text(page, "shard-count") == "%d shards" % SHARDS


def test_page_shows_calls_per_method(rendered, loaded):
    _, page, _ = rendered
    rows = page.methods
    assert int(rows["Set"]["attrs"]["data-calls"]) == loaded["Set"]
    assert int(rows["Get"]["attrs"]["data-calls"]) == loaded["Get"]
    cells = [c.strip() for c in rows["Get"]["cells"]]
    # method, calls/s, errors/s, calls, errors: no calls between readings
    assert cells == ["Get", "0.0", "0.0", str(loaded["Get"]),
                     str(loaded["get_errors"])]
    assert "Delete" not in rows  # never called


def test_page_requests_only_its_own_server(server, rendered):
    _, _, urls = rendered
    own = server.http_url("/")
    assert urls.count(own + "status") == 1
    assert urls.count(own + "stats") >= 2, urls
    assert [u for u in urls if not u.startswith(own)] == []


PREFIX = "/api/v1/namespaces/cache/services/tiny-cache:http/proxy/"


class PrefixProxy(http.server.ThreadingHTTPServer):
    """A reverse proxy that serves the daemon's HTTP endpoint under PREFIX,
    as kubectl proxy or an ingress with a path does: PREFIX + X is the
    daemon's /X, anything else 404. Records every path asked for."""

    def __init__(self, port):
        self.upstream = port
        self.paths = []
        super().__init__(("127.0.0.1", 0), PrefixHandler)


class PrefixHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.paths.append(self.path)
        if not self.path.startswith(PREFIX):
            self.send_error(404)
            return
        accept = self.headers.get("Accept")
        status, hdrs, body = request(self.server.upstream,
                                     "/" + self.path[len(PREFIX):],
                                     headers={"Accept": accept} if accept
                                     else {})
        self.send_response(status)
        for name in ("content-type", "content-security-policy"):
            if name in hdrs:
                self.send_header(name, hdrs[name])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_page_works_under_a_path_prefix(server, loaded):
    """Behind a proxy that adds a path in front, the page reads /stats and
    / through that path: its own URLs are relative."""
    proxy = PrefixProxy(server.http_port)
    t = threading.Thread(target=proxy.serve_forever, daemon=True)
    t.start()
    try:
        dom = run_chromium("http://127.0.0.1:%d%sstatus" %
                           (proxy.server_address[1], PREFIX), "--dump-dom")
    finally:
        proxy.shutdown()
        proxy.server_close()
    page = PageParser()
    page.feed(dom)
    assert text(page, "state") == "live"
    assert int(page.body["data-refreshes"]) >= 2, page.body
    assert "gRPC port %d" % server.grpc_port in text(page, "service")
    assert text(page, "entries") == fmt_int(MAX_ITEMS)
    assert [p for p in proxy.paths if not p.startswith(PREFIX)] == []
    assert PREFIX + "stats" in proxy.paths and PREFIX in proxy.paths


@pytest.mark.parametrize("name,size", [("desktop", "1280,900"),
                                       ("phone", "390,1200")])
def test_page_screenshot(server, loaded, name, size, capsys):
    out_dir = os.path.join(harness.builddir(), "tests", "it")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "status-page-%s.png" % name)
    if os.path.exists(path):
        os.unlink(path)
    run_chromium(server.http_url("/status"), "--screenshot=" + path,
                 "--window-size=" + size, "--hide-scrollbars")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with capsys.disabled():  # shown in the test's log, not captured
        print("\nstatus page screenshot (%s): %s" % (name, path))
