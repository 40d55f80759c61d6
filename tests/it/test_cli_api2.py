"""tiny-cache-cli's commands for the second part of the API against a real
tiny-cached: mget, mset, mdel (a line per item, per-item errors beside
good items), add and cas (STORED/EXISTS/NOT_FOUND/MISMATCH and their exit
statuses 0/5/1/5), incr, touch, flush, and --namespace keeping keyspaces
apart. Every test but the usage ones needs the server's MultiGet, MultiSet,
MultiDelete, SetIfAbsent, CompareAndSet, Increment, Touch and Flush and
its namespaces."""

import time

import pytest

import harness
from test_cli import run

MAX_VALUE = 1024
LONG_KEY = "k" * 257
NS = "x-cache-namespace"


@pytest.fixture(scope="module")
def server():
    with harness.Server(env={"CACHE_MAX_VALUE_BYTES": MAX_VALUE}) as s:
        ch = s.channel()
        s.client = harness.CacheClient(ch)
        yield s
        ch.close()


def cli(server, *args, **kw):
    return run(server.grpc_port, *args, **kw)


def value(server, key, ns=None):
    """The value of key as the server has it (None: not found)."""
    md = ((NS, ns),) if ns is not None else None
    v = server.client.get(key, timeout=10, metadata=md)
    return v.value if v.found else None


def test_mset_then_mget_print_a_line_per_key_in_order(server):
    rc, out, err = cli(server, "mset", "ma", "1", "mb", "two words")
    assert (rc, out, err) == (0, b"ma\tOK\nmb\tOK\n", "")
    assert value(server, "mb") == b"two words"
    rc, out, err = cli(server, "mget", "mb", "ma", "mb")
    assert (rc, out, err) == (0, b"mb\ttwo words\nma\t1\nmb\ttwo words\n", "")


def test_mget_missing_key_is_a_line_and_exit_1(server):
    server.client.set("mhere", b"v", timeout=10)
    rc, out, err = cli(server, "mget", "mhere", "mnowhere")
    assert (rc, out, err) == (1, b"mhere\tv\nmnowhere\t(not found)\n", "")


def test_mget_escapes_control_bytes_and_keeps_utf8(server):
    server.client.set("esc", b"a\tb\nc\\d\x00\x7f\xc3\xa9", timeout=10)
    rc, out, _ = cli(server, "mget", "esc")
    assert rc == 0
    assert out == b"esc\ta\\tb\\nc\\\\d\\x00\\x7f\xc3\xa9\n"


def test_mset_item_errors_beside_good_items(server):
    server.client.set("mkeep", b"old", timeout=10)
    good = "\u00e9" * 256
    rc, out, err = cli(server, "mset", "", "v", "mgood", "1", LONG_KEY, "v",
                       "mkeep", "x" * (MAX_VALUE + 1), good, "2")
    assert rc == 1
    lines = out.split(b"\n")
    assert lines[0].startswith(b"\t(error: ")
    assert lines[1] == b"mgood\tOK"
    assert lines[2].startswith(LONG_KEY.encode() + b"\t(error: ")
    assert lines[3].startswith(b"mkeep\t(error: ")
    assert lines[4] == good.encode() + b"\tOK"
    assert lines[5:] == [b""]
    for item in ("item 1 ('')", "item 3 ('%s')" % LONG_KEY, "item 4 ('mkeep')"):
        assert "mset: " + item in err
    assert "item 2" not in err and "item 5" not in err
    assert value(server, "mgood") == b"1"
    assert value(server, good) == b"2"
    assert value(server, "mkeep") == b"old"


def test_mget_item_errors_beside_good_keys(server):
    server.client.set("mg-ok", b"fine", timeout=10)
    rc, out, err = cli(server, "mget", "mg-ok", "", LONG_KEY)
    assert rc == 1
    lines = out.split(b"\n")
    assert lines[0] == b"mg-ok\tfine"
    assert lines[1].startswith(b"\t(error: ")
    assert lines[2].startswith(LONG_KEY.encode() + b"\t(error: ")
    assert "mget: item 2 ('')" in err and "mget: item 3" in err
    assert "item 1" not in err


def test_mdel_deletes_every_key_and_reports_item_errors(server):
    for k in ("d1", "d2"):
        server.client.set(k, b"v", timeout=10)
    rc, out, _ = cli(server, "mdel", "d1", "d2", "d-never")
    assert (rc, out) == (0, b"d1\tOK\nd2\tOK\nd-never\tOK\n")
    assert value(server, "d1") is None and value(server, "d2") is None
    server.client.set("d3", b"v", timeout=10)
    rc, out, err = cli(server, "mdel", "", "d3")
    assert rc == 1 and out.endswith(b"\nd3\tOK\n")
    assert "mdel: item 1 ('')" in err
    assert value(server, "d3") is None


def test_add_stores_only_a_missing_key(server):
    assert cli(server, "add", "lock", "me") == (0, b"STORED\n", "")
    assert cli(server, "add", "lock", "you") == (5, b"EXISTS\n", "")
    assert value(server, "lock") == b"me"


def test_add_value_from_stdin_is_binary_safe(server):
    data = bytes(range(256)) * 2
    rc, out, _ = cli(server, "add", "add-bin", "-", stdin=data)
    assert (rc, out) == (0, b"STORED\n")
    assert value(server, "add-bin") == data


def test_cas_outcomes_and_exit_statuses(server):
    assert cli(server, "cas", "cas-k", "a", "b") == (1, b"NOT_FOUND\n", "")
    assert value(server, "cas-k") is None
    server.client.set("cas-k", b"old", timeout=10)
    assert cli(server, "cas", "cas-k", "olx", "new") == (5, b"MISMATCH\n", "")
    assert value(server, "cas-k") == b"old"
    assert cli(server, "cas", "cas-k", "old", "new") == (0, b"STORED\n", "")
    assert value(server, "cas-k") == b"new"
    rc, out, _ = cli(server, "cas", "cas-k", "new", "-", stdin=b"\x00\xff")
    assert (rc, out) == (0, b"STORED\n")
    assert value(server, "cas-k") == b"\x00\xff"


def test_incr_counts_from_delta_and_goes_negative(server):
    assert cli(server, "incr", "hits") == (0, b"1\n", "")
    assert cli(server, "incr", "hits", "41") == (0, b"42\n", "")
    assert cli(server, "incr", "hits", "--", "-50") == (0, b"-8\n", "")
    assert value(server, "hits") == b"-8"
    assert cli(server, "incr", "hits", "0") == (0, b"-8\n", "")


def test_incr_of_text_is_error_3_and_keeps_value(server):
    server.client.set("word", b"twelve", timeout=10)
    rc, out, err = cli(server, "incr", "word")
    assert (rc, out) == (3, b"")
    assert "FAILED_PRECONDITION (9)" in err
    assert "incr: the value of 'word' is not a base-10" in err
    assert value(server, "word") == b"twelve"


def test_incr_overflow_is_error_3_and_keeps_value(server):
    server.client.set("top", b"9223372036854775807", timeout=10)
    rc, out, err = cli(server, "incr", "top")
    assert (rc, out) == (3, b"")
    assert "OUT_OF_RANGE (11)" in err and "would not fit" in err
    assert value(server, "top") == b"9223372036854775807"
    server.client.set("bottom", b"-9223372036854775808", timeout=10)
    assert cli(server, "incr", "bottom", "--", "-1")[0] == 3
    assert value(server, "bottom") == b"-9223372036854775808"


def test_touch_of_missing_key_exits_1(server):
    assert cli(server, "touch", "touch-none", "10") == (1, b"", "")
    assert value(server, "touch-none") is None


def test_ttls_of_mset_incr_add_and_touch(server):
    """mset, incr and add with --ttl expire; touch to 0 removes the expiry
    of a key that would have expired; touch keeps the value."""
    assert cli(server, "mset", "t1", "a", "t2", "b", "--ttl", "1")[0] == 0
    assert cli(server, "incr", "t3", "5", "--ttl", "1")[:2] == (0, b"5\n")
    assert cli(server, "add", "t4", "v", "--ttl", "1")[0] == 0
    assert cli(server, "set", "t5", "kept", "--ttl", "1")[0] == 0
    assert cli(server, "touch", "t5", "0") == (0, b"", "")
    assert cli(server, "mget", "t1", "t2", "t3", "t4")[0] == 0
    time.sleep(2.2)
    rc, out, _ = cli(server, "mget", "t1", "t2", "t3", "t4")
    assert rc == 1 and out.count(b"(not found)") == 4
    assert value(server, "t5") == b"kept"
    assert cli(server, "add", "t4", "again")[:2] == (0, b"STORED\n")


def test_namespaces_keep_the_same_key_apart(server):
    assert cli(server, "set", "nk", "shared")[0] == 0
    assert cli(server, "set", "nk", "one", pre=["--namespace", "n1"])[0] == 0
    assert cli(server, "set", "nk", "two", "--namespace", "n2")[0] == 0
    assert cli(server, "get", "nk")[1] == b"shared"
    assert cli(server, "get", "nk", "--namespace", "n1")[1] == b"one"
    assert cli(server, "mget", "nk", "--namespace", "n2")[1] == b"nk\ttwo\n"
    assert cli(server, "get", "nk", "--namespace", " n1 ")[1] == b"one"
    assert cli(server, "get", "nk", "--namespace", "  ")[1] == b"shared"
    assert value(server, "nk", ns="n1") == b"one"
    assert cli(server, "mget", "nk", "--namespace", "n3")[0] == 1


def test_namespace_applies_to_every_command(server):
    ns = ["--namespace", "every"]
    assert cli(server, "mset", "e1", "1", "e2", "2", *ns)[0] == 0
    assert cli(server, "add", "e3", "3", *ns)[:2] == (0, b"STORED\n")
    assert cli(server, "cas", "e1", "1", "10", *ns)[:2] == (0, b"STORED\n")
    assert cli(server, "incr", "e2", "5", *ns)[:2] == (0, b"7\n")
    assert cli(server, "touch", "e3", "100", *ns)[0] == 0
    assert cli(server, "mget", "e1", "e2", "e3")[0] == 1
    assert [value(server, k, ns="every") for k in ("e1", "e2", "e3")] == \
        [b"10", b"7", b"3"]
    assert cli(server, "mdel", "e1", "e2", *ns)[0] == 0
    assert value(server, "e1", ns="every") is None
    assert cli(server, "del", "e3", *ns)[0] == 0
    assert value(server, "e3", ns="every") is None


def test_flush_removes_only_its_namespace(server):
    server.client.set("fl-shared", b"v", timeout=10)
    assert cli(server, "mset", "a", "1", "b", "2", "--namespace", "fl")[0] == 0
    assert cli(server, "set", "a", "other", "--namespace", "fl2")[0] == 0
    assert cli(server, "flush", "--namespace", "fl") == (0, b"2\n", "")
    assert cli(server, "mget", "a", "b", "--namespace", "fl")[0] == 1
    assert value(server, "fl-shared") == b"v"
    assert value(server, "a", ns="fl2") == b"other"
    assert cli(server, "flush", "--namespace", "fl") == (0, b"0\n", "")


def test_flush_of_shared_keyspace_keeps_namespaces():
    with harness.Server() as s:
        for k in ("s1", "s2", "s3"):
            assert run(s.grpc_port, "set", k, "v")[0] == 0
        assert run(s.grpc_port, "set", "s1", "v", "--namespace", "keep")[0] == 0
        assert run(s.grpc_port, "flush") == (0, b"3\n", "")
        assert run(s.grpc_port, "mget", "s1", "s2", "s3")[1].count(
            b"(not found)") == 3
        assert run(s.grpc_port, "get", "s1", "--namespace", "keep")[:2] == \
            (0, b"v")


@pytest.mark.parametrize("ns", ["bad/ns", "-lead", "n" * 65, "a b"])
def test_bad_namespace_is_server_error_3(server, ns):
    rc, out, err = cli(server, "mget", "k", "--namespace", ns)
    assert (rc, out) == (3, b"")
    assert "INVALID_ARGUMENT (3)" in err


def test_request_id_and_namespace_go_in_one_call(server):
    rc, _, err = cli(server, "get", "k", pre=["--request-id", "two-md-1",
                                              "--namespace", "bad/ns"])
    assert rc == 3 and "INVALID_ARGUMENT" in err
    assert "request_id=two-md-1" in err
    assert cli(server, "set", "rid-k", "in-rid", "--namespace", "rid")[0] == 0
    rc, out, _ = cli(server, "get", "rid-k", pre=["--request-id", "two-md-2",
                                                  "--namespace", "rid"])
    assert (rc, out) == (0, b"in-rid")
    assert cli(server, "get", "rid-k", pre=["--request-id", "two-md-3"])[0] == 1


def test_batch_over_max_batch_is_refused_whole():
    with harness.Server(env={"CACHE_MAX_BATCH": 3}) as s:
        rc, out, err = run(s.grpc_port, "mset", "a", "1", "b", "2", "c", "3",
                           "d", "4")
        assert (rc, out) == (3, b"")
        assert "INVALID_ARGUMENT" in err
        assert run(s.grpc_port, "mget", "a", "b", "c")[1].count(
            b"(not found)") == 3


@pytest.mark.parametrize("args", [
    ["mget"],
    ["mget", "a", "--json"],
    ["mset"],
    ["mset", "a"],
    ["mset", "a", "1", "b"],
    ["mset", "a", "1", "--ttl", "x"],
    ["mdel"],
    ["mdel", "a", "--ttl", "5"],
    ["add", "a"],
    ["add", "a", "b", "c"],
    ["cas", "a", "b"],
    ["cas", "a", "b", "c", "d"],
    ["incr"],
    ["incr", "a", "1", "2"],
    ["incr", "a", "one"],
    ["incr", "a", "9223372036854775808"],
    ["incr", "a", "-5"],
    ["touch", "a"],
    ["touch", "a", "soon"],
    ["touch", "a", "5", "--ttl", "5"],
    ["flush", "all"],
    ["--namespace", "a\nb", "get", "a"],
    ["get", "a", "--namespace", "a\nb"],
    ["flush", "--namespace"],
    ["--route", "a\nb", "get", "a"],
    ["mget", "a", "--route", "a\nb"],
    ["flush", "--route"],
])
def test_usage_errors_exit_2_without_a_call(server, args):
    before = server.client.stats(timeout=10)
    rc, out, err = cli(server, *args)
    assert rc == 2, err
    assert out == b""
    assert "tiny-cache-cli:" in err
    after = server.client.stats(timeout=10)
    assert (after.gets, after.sets, after.deletes, after.size) == \
        (before.gets, before.sets, before.deletes, before.size)
