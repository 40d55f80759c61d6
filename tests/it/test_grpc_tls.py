"""TLS and mutual TLS on gRPC (README, Configuration), certificates made
by openssl."""

import os
import socket
import ssl
import subprocess
import time

import grpc
import pytest

import h2raw
import harness


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_cert(d, name, ca, ext=None):
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key",
            "-subj", "/CN=" + name, "-out", name + ".csr", cwd=d)
    args = ["x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt",
            "-CAkey", ca + ".key", "-CAcreateserial", "-days", "2",
            "-out", name + ".crt"]
    if ext:
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write(ext)
        args += ["-extfile", name + ".ext"]
    openssl(*args, cwd=d)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("pki"))
    for ca in ("ca", "otherca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-keyout", ca + ".key", "-out", ca + ".crt",
                "-subj", "/CN=" + ca, cwd=d)
    make_cert(d, "server", "ca",
              "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    make_cert(d, "client", "ca")
    make_cert(d, "stranger", "otherca")

    def read(name):
        with open(os.path.join(d, name), "rb") as f:
            return f.read()
    return d, read


def tls_env(d, mtls=False):
    env = {"CACHE_TLS_ENABLED": "true",
           "CACHE_TLS_CERT_PATH": os.path.join(d, "server.crt"),
           "CACHE_TLS_KEY_PATH": os.path.join(d, "server.key")}
    if mtls:
        env.update({"CACHE_TLS_REQUIRE_CLIENT_AUTH": "yes",
                    "CACHE_TLS_CLIENT_CA_PATH": os.path.join(d, "ca.crt")})
    return env


def secure(s, read, client=None):
    kw = {"root_certificates": read("ca.crt")}
    if client:
        kw["private_key"] = read(client + ".key")
        kw["certificate_chain"] = read(client + ".crt")
    return grpc.secure_channel(s.target, grpc.ssl_channel_credentials(**kw))


def test_tls_serves_and_refuses_plaintext(pki):
    d, read = pki
    with harness.Server(env=tls_env(d)) as s:
        ch = secure(s, read)
        c = harness.CacheClient(ch)
        assert c.set("tls", b"v", timeout=10).status == c.m.OK
        assert c.get("tls", timeout=10).value == b"v"
        ch.close()
        plain = s.channel()
        with pytest.raises(grpc.RpcError) as e:
            harness.CacheClient(plain).get("tls", timeout=5)
        assert e.value.code() in (grpc.StatusCode.UNAVAILABLE,
                                  grpc.StatusCode.DEADLINE_EXCEEDED)
        plain.close()
        assert not any("WARNING" in l and "TLS" in l for l in s.log_lines())
        assert s.stop(timeout=20) == 0


def test_mtls_requires_a_client_certificate(pki):
    d, read = pki
    with harness.Server(env=tls_env(d, mtls=True)) as s:
        ch = secure(s, read, client="client")
        c = harness.CacheClient(ch)
        assert c.set("m", b"v", timeout=10).status == c.m.OK
        ch.close()
        for who in (None, "stranger"):
            ch = secure(s, read, client=who)
            with pytest.raises(grpc.RpcError) as e:
                harness.CacheClient(ch).get("m", timeout=10)
            assert e.value.code() == grpc.StatusCode.UNAVAILABLE
            ch.close()
        ch = secure(s, read, client="client")
        assert harness.health_check(ch, timeout=10) == "SERVING"
        ch.close()
        assert s.stop(timeout=20) == 0


def test_idle_tls_connections_are_closed_and_clients_served_again(pki):
    """gRPC closes an idle TLS connection itself (docs/limits.md): a
    handshaken connection without a call for CACHE_IDLE_TIMEOUT is closed,
    and a client whose connection was closed is served at its next call."""
    d, read = pki
    env = dict(tls_env(d), CACHE_IDLE_TIMEOUT="1")
    with harness.Server(env=env) as s:
        ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.crt"))
        ctx.set_alpn_protocols(["h2"])
        raw = socket.create_connection(("127.0.0.1", s.grpc_port), timeout=10)
        tls = ctx.wrap_socket(raw, server_hostname="localhost")
        try:
            tls.sendall(h2raw.PREFACE + b"\0\0\0\x04\0\0\0\0\0")
            assert h2raw.closed_within(tls, 6), "idle TLS connection kept"
        finally:
            tls.close()
        ch = secure(s, read)
        c = harness.CacheClient(ch)
        assert c.set("tls-idle", b"v", timeout=10).status == c.m.OK
        time.sleep(3)
        assert c.get("tls-idle", timeout=10).value == b"v"
        ch.close()
        assert s.stop(timeout=20) == 0
