"""Configuration of the real daemon (README, Configuration): invalid
settings stop startup with exit 2 and one stderr line naming the flag or
variable, --help and --version exit 0, a flag beats its variable, port 0 is
logged, TLS files are checked before anything binds, and TLS / mTLS serve
with good files."""

import json
import os
import re
import subprocess

import grpc
import pytest

import harness


def names(line, name):
    """True when the error line starts by naming the setting (main may put
    the program name in front)."""
    return re.match(r"^(tiny-cached: )?%s[: ]" % re.escape(name), line)


def run(args, env=None):
    """Runs tiny-cached to completion; returns (status, stdout, stderr)."""
    p = subprocess.run([harness.daemon_path()] + args,
                       env=harness.base_env(env), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=10)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


BAD = [
    ({"CACHE_MAX_ITEMS": "abc"}, [], "CACHE_MAX_ITEMS", "abc"),
    ({}, ["--max-items", "abc"], "--max-items", "abc"),
    ({}, ["--max-items=12x"], "--max-items", "12x"),
    ({"CACHE_PORT": "70000"}, [], "CACHE_PORT", "70000"),
    ({}, ["--health-port", "-1"], "--health-port", "-1"),
    ({"CACHE_MAX_MEMORY_MB": "0"}, [], "CACHE_MAX_MEMORY_MB", "0"),
    ({"CACHE_CLEANUP_INTERVAL": "10s"}, [], "CACHE_CLEANUP_INTERVAL", "10s"),
    ({"CACHE_SHARDS": "12"}, [], "CACHE_SHARDS", "12"),
    ({}, ["--workers", "257"], "--workers", "257"),
    ({"CACHE_IDLE_TIMEOUT": "0"}, [], "CACHE_IDLE_TIMEOUT", "0"),
    ({}, ["--idle-timeout", "86401"], "--idle-timeout", "86401"),
    ({"CACHE_LOG_LEVEL": "verbose"}, [], "CACHE_LOG_LEVEL", "verbose"),
    ({}, ["--log-format", "xml"], "--log-format", "xml"),
    ({"CACHE_TLS_ENABLED": "maybe"}, [], "CACHE_TLS_ENABLED", "maybe"),
    ({}, ["--max-memory-mb", "1", "--max-value-bytes", "1048577"],
     "--max-value-bytes", "1048577"),
    ({"CACHE_TLS_ENABLED": "true"}, [], "--tls-cert-path", None),
    ({"CACHE_TLS_REQUIRE_CLIENT_AUTH": "true"}, [],
     "CACHE_TLS_REQUIRE_CLIENT_AUTH", "true"),
    ({"CACHE_TLS_ENABLED": "false"}, ["--tls-require-client-auth", "on"],
     "--tls-require-client-auth", "on"),
    ({}, ["--no-such-flag"], "--no-such-flag", None),
]


@pytest.mark.parametrize("env,args,name,value", BAD)
def test_invalid_setting_exits_2_with_one_line(env, args, name, value):
    status, out, err = run(args, env)
    assert status == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert names(lines[0], name), lines[0]
    if value is not None:
        assert "'%s'" % value in lines[0]
    assert out == ""


def test_help_lists_every_variable_and_exits_0():
    status, out, err = run(["--help"])
    assert status == 0
    assert err == ""
    for var in ("CACHE_MAX_ITEMS", "CACHE_MAX_MEMORY_MB",
                "CACHE_MAX_VALUE_BYTES", "CACHE_CLEANUP_INTERVAL",
                "CACHE_HOST", "CACHE_PORT", "CACHE_HEALTH_HOST",
                "CACHE_HEALTH_PORT", "CACHE_LOG_LEVEL", "CACHE_LOG_FORMAT",
                "CACHE_TLS_ENABLED", "CACHE_TLS_CERT_PATH",
                "CACHE_TLS_KEY_PATH", "CACHE_TLS_REQUIRE_CLIENT_AUTH",
                "CACHE_TLS_CLIENT_CA_PATH", "CACHE_WORKERS", "CACHE_SHARDS",
                "CACHE_SHUTDOWN_DELAY", "CACHE_SHUTDOWN_GRACE",
                "CACHE_IDLE_TIMEOUT"):
        flag = "--" + var[len("CACHE_"):].lower().replace("_", "-")
        assert "%s=" % flag in out and "(%s)" % var in out, var


def test_version_exits_0():
    status, out, err = run(["--version"])
    assert status == 0
    assert out.startswith("tiny-cached ")
    assert len(out.split()) == 2


def test_flag_beats_variable_beats_default():
    with harness.Server(env={"CACHE_MAX_ITEMS": "77",
                             "CACHE_MAX_MEMORY_MB": "3"},
                        args=["--max-items", "55"]) as s:
        with s.channel() as ch:
            st = harness.CacheClient(ch).stats(timeout=10)
        assert st.max_items == 55
        assert st.max_memory_bytes == 3 * 1048576
        assert st.max_value_bytes == 3 * 1048576
        config = [l for l in s.log_lines() if " config: " in l]
        assert len(config) == 1
        assert " max-items=55 " in config[0]
        assert " cleanup-interval=10 " in config[0]


def test_port_0_picks_a_free_port_and_logs_it():
    with harness.Server() as s:
        assert s.grpc_port > 0 and s.http_port > 0
        assert s.grpc_port != s.http_port


def test_json_logs_are_json_objects():
    with harness.Server(env={"CACHE_LOG_FORMAT": "json",
                             "CACHE_LOG_LEVEL": "debug"}) as s:
        with s.channel() as ch:
            harness.CacheClient(ch).set("k\"\n", b"v", timeout=10)
        assert s.stop() == 0
    lines = s.final_log().splitlines()
    assert len(lines) > 3
    for line in lines:
        obj = json.loads(line)
        assert set(obj) == {"timestamp", "level", "request_id", "message"}
        assert obj["level"] in ("DEBUG", "INFO", "WARNING", "ERROR")
        assert obj["timestamp"].endswith("Z")


# ---- TLS --------------------------------------------------------------------

def make_pair(d, name):
    cert, key = os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("pki"))
    server = make_pair(d, "server")
    client = make_pair(d, "client")
    other = make_pair(d, "other")
    weak = tuple(os.path.join(d, "weak." + x) for x in ("crt", "key"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:512", "-nodes",
                    "-days", "1", "-subj", "/CN=localhost", "-keyout",
                    weak[1], "-out", weak[0]], check=True, capture_output=True)
    junk = os.path.join(d, "junk.pem")
    with open(junk, "w") as f:
        f.write("not a certificate\n")
    return {"server": server, "client": client, "other": other,
            "weak": weak, "junk": junk, "dir": d}


def tls_env(pki, **extra):
    env = {"CACHE_TLS_ENABLED": "true",
           "CACHE_TLS_CERT_PATH": pki["server"][0],
           "CACHE_TLS_KEY_PATH": pki["server"][1]}
    env.update(extra)
    return env


@pytest.mark.parametrize("override,name", [
    ({"CACHE_TLS_CERT_PATH": "/nonexistent/server.crt"},
     "CACHE_TLS_CERT_PATH"),
    ({"CACHE_TLS_CERT_PATH": "junk"}, "CACHE_TLS_CERT_PATH"),
    ({"CACHE_TLS_KEY_PATH": "other-key"}, "CACHE_TLS_KEY_PATH"),
    # parses and matches, but OpenSSL's security level refuses it, as
    # gRPC would at the bind
    ({"CACHE_TLS_CERT_PATH": "weak-crt", "CACHE_TLS_KEY_PATH": "weak-key"},
     "CACHE_TLS_CERT_PATH"),
    ({"CACHE_TLS_REQUIRE_CLIENT_AUTH": "on"}, "--tls-client-ca-path"),
    ({"CACHE_TLS_REQUIRE_CLIENT_AUTH": "on",
      "CACHE_TLS_CLIENT_CA_PATH": "junk"}, "CACHE_TLS_CLIENT_CA_PATH"),
])
def test_bad_tls_files_exit_2_before_binding(pki, override, name):
    sub = {"junk": pki["junk"], "other-key": pki["other"][1],
           "weak-crt": pki["weak"][0], "weak-key": pki["weak"][1]}
    env = tls_env(pki, **{k: sub.get(v, v) for k, v in override.items()})
    status, out, err = run([], env)
    assert status == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert names(lines[0], name), lines[0]
    assert "listening" not in err


def secure_stats(target, root, pair=None):
    with open(root, "rb") as f:
        root_pem = f.read()
    key = chain = None
    if pair:
        with open(pair[1], "rb") as f:
            key = f.read()
        with open(pair[0], "rb") as f:
            chain = f.read()
    creds = grpc.ssl_channel_credentials(root_pem, key, chain)
    with grpc.secure_channel(target, creds) as ch:
        return harness.CacheClient(ch).stats(timeout=10)


def test_tls_serves_with_good_files(pki):
    with harness.Server(env=tls_env(pki)) as s:
        assert secure_stats(s.target, pki["server"][0]).max_items == 1000
        config = [l for l in s.log_lines() if " config: " in l]
        assert " tls-enabled=on " in config[0]


def test_mtls_requires_a_client_certificate(pki):
    env = tls_env(pki, CACHE_TLS_REQUIRE_CLIENT_AUTH="yes",
                  CACHE_TLS_CLIENT_CA_PATH=pki["client"][0])
    with harness.Server(env=env) as s:
        st = secure_stats(s.target, pki["server"][0], pki["client"])
        assert st.max_items == 1000
        with pytest.raises(grpc.RpcError) as e:
            secure_stats(s.target, pki["server"][0])
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
        with pytest.raises(grpc.RpcError):
            secure_stats(s.target, pki["server"][0], pki["other"])


def workers_logged(server):
    (line,) = [l for l in server.log_lines() if "gRPC: " in l]
    return int(re.search(r"gRPC: (\d+) workers", line).group(1))


def test_default_workers_follow_the_cpus_the_process_may_use():
    """CACHE_WORKERS unset sizes the workers by the affinity mask, not by
    the machine: one CPU given by taskset is one worker."""
    with harness.Server(wrapper=["taskset", "-c", "0"]) as s:
        assert workers_logged(s) == 1
        harness.assert_serving(s)
    with harness.Server(env={"CACHE_WORKERS": 3},
                        wrapper=["taskset", "-c", "0"]) as s:
        assert workers_logged(s) == 3


def test_default_workers_are_half_the_cpus():
    """Two usable CPUs make one worker: the other is left to gRPC's own
    threads and the application beside the cache."""
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two CPUs")
    with harness.Server(wrapper=["taskset", "-c", "0,1"]) as s:
        assert workers_logged(s) == 1
