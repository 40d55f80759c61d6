"""Shutdown (README, Shutdown): NOT_SERVING at once, delay, drain, prompt
exit."""

import signal
import threading
import time

import grpc

import harness

OK_OR_GOING = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)


def hammer(target, stop, results):
    ch = grpc.insecure_channel(target)
    c = harness.CacheClient(ch)
    i = 0
    while not stop.is_set():
        try:
            c.set("h%d" % (i % 50), b"v" * 100, timeout=10)
            c.get("h%d" % (i % 50), timeout=10)
            results.append("ok")
        except grpc.RpcError as e:
            results.append(e.code())
            if e.code() == grpc.StatusCode.UNAVAILABLE:
                break
        i += 1
    ch.close()


def test_sigterm_with_calls_in_flight_exits_0():
    with harness.Server(env={"CACHE_SHUTDOWN_GRACE": 5}) as s:
        stop = threading.Event()
        results = []
        ts = [threading.Thread(target=hammer, args=(s.target, stop, results))
              for _ in range(4)]
        for t in ts:
            t.start()
        deadline = time.monotonic() + 10
        while results.count("ok") < 50 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert s.stop(timeout=10) == 0, s.log_text()
        stop.set()
        for t in ts:
            t.join(timeout=30)
        assert results.count("ok") >= 50
        assert all(r == "ok" or r in OK_OR_GOING for r in results), results
        assert any("stopped" in l for l in s.log_lines())


def test_delay_keeps_serving_while_health_says_not_serving():
    with harness.Server(env={"CACHE_SHUTDOWN_DELAY": 2}) as s:
        ch = s.channel()
        c = harness.CacheClient(ch)
        c.set("d", b"v")
        assert harness.health_check(ch) == "SERVING"
        s.proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        deadline = t0 + 1.5
        seen = None
        while time.monotonic() < deadline:
            seen = harness.health_check(ch, "cache.CacheService", timeout=5)
            if seen == "NOT_SERVING":
                break
            time.sleep(0.02)
        assert seen == "NOT_SERVING"
        assert c.get("d", timeout=5).value == b"v"   # still served
        assert s.wait(timeout=10) == 0
        # exit within DELAY + GRACE + 1 s (2 + 2 + 1 here)
        assert time.monotonic() - t0 < 5
        assert any("gRPC stopped" in l for l in s.log_lines())
        ch.close()


def test_stop_and_continue_does_not_cut_the_delay():
    """SIGSTOP then SIGCONT (a debugger attaching does the same) during
    the shutdown delay: the delay runs out in full, only a second SIGTERM
    or SIGINT cuts it short."""
    with harness.Server(env={"CACHE_SHUTDOWN_DELAY": 3}) as s:
        s.proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        time.sleep(0.3)
        s.proc.send_signal(signal.SIGSTOP)
        time.sleep(0.2)
        s.proc.send_signal(signal.SIGCONT)
        assert s.wait(timeout=20) == 0
        assert time.monotonic() - t0 >= 2.5
        assert not any("second signal" in l for l in s.log_lines())


def test_sigterm_during_the_start_skips_ready_and_the_delay():
    """A SIGTERM that comes while the daemon starts (here: pending before
    it runs, the mask inherited) stops it once started, with no READY and
    no shutdown delay, and it exits 0."""
    import subprocess
    env = harness.base_env({"CACHE_SHUTDOWN_DELAY": 30})
    proc = subprocess.Popen(
        [harness.daemon_path()], env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_BLOCK,
                                                  [signal.SIGTERM]))
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    log = out.decode(errors="replace")
    assert proc.returncode == 0, log
    assert time.monotonic() - t0 < 15, log
    assert "SIGTERM received during the start" in log, log
    assert " ready" not in log, log


def test_idle_client_connection_does_not_hold_exit():
    with harness.Server(env={"CACHE_SHUTDOWN_GRACE": 60}) as s:
        ch = s.channel()
        harness.CacheClient(ch).set("idle", b"v")   # connection now open
        t0 = time.monotonic()
        assert s.stop(timeout=30) == 0
        assert time.monotonic() - t0 < 20   # far below the 60 s grace
        ch.close()


def test_sigint_also_stops():
    with harness.Server() as s:
        assert s.stop(signal=signal.SIGINT, timeout=10) == 0
        assert any("SIGINT" in l for l in s.log_lines())


def test_sigterm_right_after_ready():
    for _ in range(3):
        with harness.Server() as s:
            assert s.stop(timeout=10) == 0
