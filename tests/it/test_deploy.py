"""The deployment files agree with the daemon: deploy/kubernetes/*.yaml,
deploy/compose.yaml, deploy/Dockerfile and the systemd unit use variables
the daemon knows, with values it accepts, its ports, probe paths that exist
(checked against a live daemon), memory limits above the cache's limit and
stop timeouts above the shutdown delay and grace; the Dockerfile's runtime
stage installs the package of every library the binaries need. The
cluster manifests (deploy/kubernetes/cluster/) run that same container in
a StatefulSet, and their HAProxy ConfigMap is deploy/haproxy/haproxy.cfg
with a ring of exactly the StatefulSet's pods."""

import functools
import glob
import os
import re
import subprocess
import urllib.error
import urllib.request

import yaml

import harness

HTTP_PATHS = {"/health", "/ready", "/live", "/stats", "/metrics", "/"}
GRPC_PORT = 50051
HTTP_PORT = 8080
MIB = 1 << 20
DEFAULT_DELAY_S = 0
DEFAULT_GRACE_S = 5
DEFAULT_MEMORY_MB = 100


def deploy_path(*parts):
    return os.path.join(harness.srcdir(), "deploy", *parts)


@functools.lru_cache(maxsize=None)
def known_variables():
    """CACHE_* variables of `tiny-cached --help`."""
    out = subprocess.run([harness.daemon_path(), "--help"],
                         env=harness.base_env(), capture_output=True,
                         timeout=10)
    assert out.returncode == 0, out.stderr
    names = set(re.findall(r"\((CACHE_[A-Z0-9_]+)\)", out.stdout.decode()))
    assert names, "no variables in --help"
    return names


def man_variables():
    with open(os.path.join(harness.srcdir(), "man", "tiny-cached.8")) as f:
        return set(re.findall(r"Ev (CACHE_[A-Z0-9_]+)", f.read()))


@functools.lru_cache(maxsize=None)
def manifests():
    docs = []
    files = sorted(glob.glob(deploy_path("kubernetes", "*.yaml")))
    assert files, "no manifests in deploy/kubernetes"
    for path in files:
        with open(path) as f:
            docs.extend(d for d in yaml.safe_load_all(f) if d)
    return docs


def one(kind):
    found = [d for d in manifests() if d["kind"] == kind]
    assert len(found) == 1, "expected one %s, found %d" % (kind, len(found))
    return found[0]


def pod_spec():
    return one("Deployment")["spec"]["template"]["spec"]


def container():
    cs = pod_spec()["containers"]
    assert len(cs) == 1
    return cs[0]


def container_env():
    return {e["name"]: e["value"] for e in container().get("env", [])}


def container_ports():
    """{name: port} of the container."""
    return {p["name"]: p["containerPort"] for p in container()["ports"]}


def k8s_bytes(q):
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi|k|M|G)?", str(q))
    assert m, "unexpected quantity %r" % q
    unit = {"Ki": 1 << 10, "Mi": MIB, "Gi": 1 << 30, "k": 10**3, "M": 10**6,
            "G": 10**9, None: 1}[m.group(2)]
    return int(m.group(1)) * unit


def docker_bytes(q):
    m = re.fullmatch(r"(\d+)([bkmg])?", str(q).lower())
    assert m, "unexpected size %r" % q
    return int(m.group(1)) << {"b": 0, "k": 10, "m": 20, "g": 30,
                               None: 0}[m.group(2)]


def headroom_ok(limit_bytes, cache_mb):
    """The rule of tiny-cached(8) MEMORY: about 1.25 x cache + 128 MiB."""
    return limit_bytes >= cache_mb * MIB * 5 // 4 + 128 * MIB


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, ""


def probes():
    c = container()
    return {k: c[k] for k in ("startupProbe", "livenessProbe",
                              "readinessProbe") if k in c}


def test_manifests_hold_the_expected_kinds():
    kinds = sorted(d["kind"] for d in manifests())
    assert kinds == ["Deployment", "PodDisruptionBudget", "Service",
                     "ServiceMonitor"]
    for d in manifests():
        assert d["metadata"]["name"] == "tiny-cache"


def test_manifest_variables_are_the_daemons():
    env = container_env()
    names = {n for n in env if n.startswith("CACHE_")}
    assert names, "the Deployment sets no CACHE_* variable"
    assert names <= known_variables(), names - known_variables()
    assert names <= man_variables(), names - man_variables()


def test_ports_are_the_daemons():
    ports = container_ports()
    assert ports == {"grpc": GRPC_PORT, "http": HTTP_PORT}
    env = container_env()
    assert int(env.get("CACHE_PORT", GRPC_PORT)) == GRPC_PORT
    assert int(env.get("CACHE_HEALTH_PORT", HTTP_PORT)) == HTTP_PORT
    svc = one("Service")["spec"]
    for p in svc["ports"]:
        assert p["targetPort"] in ports
        assert p["port"] == ports[p["targetPort"]]


def test_probes_use_spec_paths_and_the_grpc_port():
    ps = probes()
    assert set(ps) == {"startupProbe", "livenessProbe", "readinessProbe"}
    assert ps["livenessProbe"]["httpGet"]["path"] == "/live"
    assert ps["readinessProbe"]["httpGet"]["path"] == "/ready"
    grpc_probes = [p["grpc"] for p in ps.values() if "grpc" in p]
    assert grpc_probes, "no native gRPC probe"
    for g in grpc_probes:
        assert g["port"] == GRPC_PORT
    for p in ps.values():
        if "httpGet" in p:
            assert p["httpGet"]["path"] in HTTP_PATHS
            port = p["httpGet"]["port"]
            assert port in container_ports() or port == HTTP_PORT


def test_probe_paths_answer_on_a_live_daemon(tmp_path):
    """The Deployment's own settings, on loopback and free ports, without
    the shutdown delay (it would only make the test wait), the snapshot in
    a folder of the test's own (the pod mounts a volume there)."""
    env = dict(container_env())
    env.update({"CACHE_HOST": "127.0.0.1", "CACHE_PORT": "0",
                "CACHE_HEALTH_HOST": "127.0.0.1", "CACHE_HEALTH_PORT": "0",
                "CACHE_SHUTDOWN_DELAY": "0",
                "CACHE_SNAPSHOT_PATH": str(tmp_path / "cache.snap")})
    sm_path = one("ServiceMonitor")["spec"]["endpoints"][0]["path"]
    with harness.Server(env=env) as s:
        for name, p in probes().items():
            if "httpGet" in p:
                status, _ = http_get(s.http_url(p["httpGet"]["path"]))
                assert status == 200, (name, p)
            if "grpc" in p:
                with s.channel() as ch:
                    service = p["grpc"].get("service", "")
                    assert harness.health_check(ch, service) == "SERVING"
        status, ctype = http_get(s.http_url(sm_path))
        assert status == 200
        assert ctype.startswith("text/plain")
        assert s.stop() == 0


def test_memory_limit_leaves_headroom_above_the_cache():
    res = container()["resources"]
    limit = k8s_bytes(res["limits"]["memory"])
    assert k8s_bytes(res["requests"]["memory"]) <= limit
    cache_mb = int(container_env().get("CACHE_MAX_MEMORY_MB",
                                       DEFAULT_MEMORY_MB))
    assert headroom_ok(limit, cache_mb), (limit, cache_mb)


def test_security_context_is_locked_down():
    pod = pod_spec().get("securityContext", {})
    sc = container()["securityContext"]
    assert sc.get("runAsNonRoot", pod.get("runAsNonRoot")) is True
    assert sc.get("runAsUser", pod.get("runAsUser", 0)) != 0
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert "add" not in sc["capabilities"]
    seccomp = sc.get("seccompProfile", pod.get("seccompProfile"))
    assert seccomp == {"type": "RuntimeDefault"}


def test_termination_grace_covers_shutdown_delay_and_grace():
    env = container_env()
    need = (int(env.get("CACHE_SHUTDOWN_DELAY", DEFAULT_DELAY_S))
            + int(env.get("CACHE_SHUTDOWN_GRACE", DEFAULT_GRACE_S)) + 1)
    assert pod_spec()["terminationGracePeriodSeconds"] > need


def test_selectors_reach_the_pods():
    labels = one("Deployment")["spec"]["template"]["metadata"]["labels"]
    sel = one("Deployment")["spec"]["selector"]["matchLabels"]
    assert sel.items() <= labels.items()
    assert one("Service")["spec"]["selector"].items() <= labels.items()
    pdb = one("PodDisruptionBudget")["spec"]
    assert pdb["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["minAvailable"] < one("Deployment")["spec"]["replicas"]
    svc = one("Service")
    sm = one("ServiceMonitor")["spec"]
    assert sm["selector"]["matchLabels"].items() <= \
        svc["metadata"]["labels"].items()
    svc_ports = {p["name"] for p in svc["spec"]["ports"]}
    for ep in sm["endpoints"]:
        assert ep["port"] in svc_ports
        assert ep["path"] == "/metrics"


def test_compose_file_agrees_with_the_daemon():
    with open(deploy_path("compose.yaml")) as f:
        svc = yaml.safe_load(f)["services"]["tiny-cache"]
    env = svc.get("environment", {})
    assert set(env) <= known_variables(), set(env) - known_variables()
    published = {p.rsplit(":", 1)[1] for p in svc["ports"]}
    assert published == {str(GRPC_PORT), str(HTTP_PORT)}
    for p in svc["ports"]:
        assert p.startswith("127.0.0.1:"), "publish on loopback only: %s" % p
    cache_mb = int(env.get("CACHE_MAX_MEMORY_MB", DEFAULT_MEMORY_MB))
    assert headroom_ok(docker_bytes(svc["mem_limit"]), cache_mb)
    assert svc["read_only"] is True
    assert svc["cap_drop"] == ["ALL"]
    assert svc["build"]["dockerfile"] == "deploy/Dockerfile"
    snap = env["CACHE_SNAPSHOT_PATH"]
    mounts = {v.split(":")[1] for v in svc["volumes"]}
    assert os.path.dirname(snap) in mounts, "the snapshot needs a volume"


def test_dockerfile_builds_like_ci_and_runs_unprivileged():
    with open(deploy_path("Dockerfile")) as f:
        text = f.read()
    froms = re.findall(r"^FROM (\S+)", text, re.M)
    assert len(froms) == 2 and all(f == "debian:bookworm-slim" for f in froms)
    assert "scripts/deps.sh" in text
    for step in ("autoreconf -fi", "../configure", "make check",
                 "make install DESTDIR="):
        assert step in text, step
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*CMD", text, re.M)
    exposed = re.findall(r"^EXPOSE (.*)$", text, re.M)
    assert set(" ".join(exposed).split()) == {str(GRPC_PORT), str(HTTP_PORT)}


# Packages every Debian image has (Essential or required), so the runtime
# stage need not name them.
BASE_PACKAGES = {"libc6", "libgcc-s1"}
GRPC_LIBRARIES = ("libgrpc", "libgpr", "libabsl_", "libupb", "libre2",
                  "libcares", "libaddress_sorting")


def needed_libraries(binary):
    """{name: path} of the shared libraries binary names itself
    (DT_NEEDED), where the dynamic loader finds them."""
    dyn = subprocess.run(["readelf", "-d", binary], capture_output=True,
                         text=True, check=True).stdout
    names = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn)
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True,
                         check=True).stdout
    found = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
    found.update((os.path.basename(p), p)
                 for p in re.findall(r"^\s*(/\S+) \(", ldd, re.M))
    return {n: found[n] for n in names}


def package_of(path):
    """The Debian package that installed the library at path (dpkg -S on
    its multiarch folder and name, so /lib and /usr/lib both match)."""
    pattern = "*/%s/%s" % (os.path.basename(os.path.dirname(path)),
                           os.path.basename(path))
    out = subprocess.run(["dpkg", "-S", pattern], capture_output=True,
                         text=True, check=True).stdout
    return out.split(":")[0]


def runtime_packages():
    with open(deploy_path("Dockerfile")) as f:
        text = f.read()
    stage = text[text.rindex("FROM "):]
    m = re.search(r"install -y --no-install-recommends(.*?)&&", stage, re.S)
    return set(m.group(1).replace("\\", " ").split())


def grpc_linked_statically():
    with open(os.path.join(harness.builddir(), "Makefile")) as f:
        libs = re.search(r"^GRPC_LIBS = (.*)$", f.read(), re.M).group(1)
    return "-Bstatic" in libs


def test_runtime_stage_installs_what_the_binaries_need():
    """Each library the three installed binaries name comes from a package
    the image's runtime stage installs, and with gRPC linked statically
    (configure's default) none of gRPC's own libraries is among them. A
    sanitizer build is checked for the latter only: the image has no
    sanitizer."""
    wanted = runtime_packages()
    static = grpc_linked_statically()
    for name in ("tiny-cached", "tiny-cache-cli", "tiny-cache-bench"):
        libs = needed_libraries(os.path.join(harness.builddir(), name))
        grpc = [lib for lib in libs if lib.startswith(GRPC_LIBRARIES)]
        if static:
            assert not grpc, (name, grpc)
            if harness.sanitized():
                continue  # the image is built without sanitizers
            for lib, path in libs.items():
                assert package_of(path) in wanted | BASE_PACKAGES, (name, lib)
        else:
            assert grpc, (name, libs)


def unit_settings():
    """{key: [values]} of contrib/tiny-cached.service.in."""
    path = os.path.join(harness.srcdir(), "contrib", "tiny-cached.service.in")
    settings = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"^([A-Za-z]+)=(.*)$", line.strip())
            if m:
                settings.setdefault(m.group(1), []).append(m.group(2))
    return settings


def env_file_settings():
    path = os.path.join(harness.srcdir(), "contrib", "default", "tiny-cached")
    with open(path) as f:
        return dict(re.findall(r"^(CACHE_[A-Z0-9_]+)=(.*)$", f.read(), re.M))


def test_systemd_unit_is_a_hardened_notify_service():
    u = unit_settings()
    assert u["Type"] == ["notify"]
    assert u["ExecStart"][0].split()[0] == "@sbindir@/tiny-cached"
    assert u["EnvironmentFile"] == ["-@sysconfdir@/default/tiny-cached"]
    assert u["Restart"] == ["on-failure"]
    for key in ("DynamicUser", "NoNewPrivileges", "ProtectHome", "PrivateTmp",
                "PrivateDevices", "MemoryDenyWriteExecute"):
        assert u[key] == ["yes"], key
    assert u["ProtectSystem"] == ["strict"]
    assert "AF_UNIX" in u["RestrictAddressFamilies"][0]
    assert u["SystemCallFilter"]


def test_systemd_unit_limits_cover_the_environment_file():
    u = unit_settings()
    env = env_file_settings()
    assert set(env) <= known_variables()
    cache_mb = int(env.get("CACHE_MAX_MEMORY_MB", DEFAULT_MEMORY_MB))
    assert headroom_ok(k8s_bytes(u["MemoryMax"][0].replace("M", "Mi")),
                       cache_mb)
    stop_s = int(u["TimeoutStopSec"][0].rstrip("s"))
    need = (int(env.get("CACHE_SHUTDOWN_DELAY", DEFAULT_DELAY_S))
            + int(env.get("CACHE_SHUTDOWN_GRACE", DEFAULT_GRACE_S)) + 1)
    assert stop_s > need


# Seconds the manifests leave for the snapshot save at exit, beyond the
# shutdown delay and grace (docs/snapshots.md: well under a second for the
# manifests' cache size on a local disk).
SNAPSHOT_SAVE_MARGIN_S = 10


def test_deployment_mounts_a_volume_for_the_snapshot():
    env = container_env()
    path = env["CACHE_SNAPSHOT_PATH"]
    mounts = {m["mountPath"]: m["name"]
              for m in container().get("volumeMounts", [])}
    folder = os.path.dirname(path)
    assert folder in mounts, (folder, mounts)
    volumes = {v["name"]: v for v in pod_spec()["volumes"]}
    assert mounts[folder] in volumes
    need = (int(env.get("CACHE_SHUTDOWN_DELAY", DEFAULT_DELAY_S))
            + int(env.get("CACHE_SHUTDOWN_GRACE", DEFAULT_GRACE_S)) + 1
            + SNAPSHOT_SAVE_MARGIN_S)
    assert pod_spec()["terminationGracePeriodSeconds"] > need


def test_systemd_unit_state_directory_holds_the_snapshot():
    u = unit_settings()
    env = env_file_settings()
    assert u["StateDirectory"] == ["tiny-cached"]
    assert os.path.dirname(env["CACHE_SNAPSHOT_PATH"]) == \
        "/var/lib/" + u["StateDirectory"][0]


# --- deploy/kubernetes/cluster: nodes behind HAProxy ------------------------

@functools.lru_cache(maxsize=None)
def cluster_manifests():
    docs = []
    files = sorted(glob.glob(deploy_path("kubernetes", "cluster", "*.yaml")))
    assert files, "no manifests in deploy/kubernetes/cluster"
    for path in files:
        with open(path) as f:
            docs.extend(d for d in yaml.safe_load_all(f) if d)
    return docs


def cluster_one(kind, name):
    found = [d for d in cluster_manifests()
             if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name, len(found))
    return found[0]


def haproxy_cfg():
    with open(deploy_path("haproxy", "haproxy.cfg")) as f:
        return f.read()


# "server NAME "${TC_NODEi-...}" id N port "${TC_NODEi_HTTP-...}" ..."
CFG_SERVER = re.compile(r'^    server (node(\d+)) "\$\{TC_NODE(\d+)-[^"]*\}" '
                        r'id (\d+) port "\$\{TC_NODE(\d+)_HTTP-[^"]*\}"',
                        re.M)


def sts():
    return cluster_one("StatefulSet", "tiny-cached")


def sts_container():
    cs = sts()["spec"]["template"]["spec"]["containers"]
    assert len(cs) == 1
    return cs[0]


def router():
    return cluster_one("Deployment", "tiny-cache-router")


def router_container():
    cs = router()["spec"]["template"]["spec"]["containers"]
    assert len(cs) == 1
    return cs[0]


def router_env():
    return {e["name"]: e.get("value") for e in router_container()["env"]}


def test_cluster_manifests_hold_the_expected_kinds():
    kinds = sorted((d["kind"], d["metadata"]["name"])
                   for d in cluster_manifests())
    assert kinds == [("ConfigMap", "tiny-cache-haproxy"),
                     ("Deployment", "tiny-cache-router"),
                     ("PodDisruptionBudget", "tiny-cached"),
                     ("Service", "tiny-cache-router"),
                     ("Service", "tiny-cached"),
                     ("StatefulSet", "tiny-cached")]


def test_statefulset_runs_the_deployments_container():
    """Same image, settings, ports, probes, limits and lock-down as the
    single-node Deployment."""
    assert sts_container() == container()
    pod = sts()["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == \
        pod_spec()["terminationGracePeriodSeconds"]
    for k, v in pod_spec()["securityContext"].items():
        assert pod["securityContext"][k] == v


def test_statefulset_keeps_a_snapshot_volume_per_pod():
    folder = os.path.dirname(container_env()["CACHE_SNAPSHOT_PATH"])
    mounts = {m["mountPath"]: m["name"]
              for m in sts_container()["volumeMounts"]}
    claims = {c["metadata"]["name"]: c
              for c in sts()["spec"]["volumeClaimTemplates"]}
    assert mounts[folder] in claims
    assert "volumes" not in sts()["spec"]["template"]["spec"]
    claim = claims[mounts[folder]]["spec"]
    assert claim["accessModes"] == ["ReadWriteOnce"]
    cache_mb = int(container_env()["CACHE_MAX_MEMORY_MB"])
    assert k8s_bytes(claim["resources"]["requests"]["storage"]) >= \
        2 * cache_mb * MIB
    pod = sts()["spec"]["template"]["spec"]
    assert pod["securityContext"]["fsGroup"] == \
        pod["securityContext"]["runAsGroup"]


def test_headless_service_names_every_pod():
    svc = cluster_one("Service", "tiny-cached")["spec"]
    assert sts()["spec"]["serviceName"] == "tiny-cached"
    assert svc["clusterIP"] == "None"
    assert svc["publishNotReadyAddresses"] is True
    labels = sts()["spec"]["template"]["metadata"]["labels"]
    assert svc["selector"].items() <= labels.items()
    assert sts()["spec"]["selector"]["matchLabels"].items() <= labels.items()
    ports = {p["name"]: p["containerPort"] for p in sts_container()["ports"]}
    assert {p["targetPort"]: p["port"] for p in svc["ports"]} == ports
    pdb = cluster_one("PodDisruptionBudget", "tiny-cached")["spec"]
    assert pdb["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["maxUnavailable"] == 1 < sts()["spec"]["replicas"]


def test_configmap_holds_the_shipped_haproxy_cfg():
    cm = cluster_one("ConfigMap", "tiny-cache-haproxy")
    assert cm["data"]["haproxy.cfg"] == haproxy_cfg()
    mounts = {m["name"]: m["mountPath"]
              for m in router_container()["volumeMounts"]}
    volumes = {v["name"]: v for v in router()["spec"]["template"]["spec"][
        "volumes"]}
    (name,) = [n for n, v in volumes.items()
               if v.get("configMap", {}).get("name") == "tiny-cache-haproxy"]
    # The official haproxy image reads /usr/local/etc/haproxy/haproxy.cfg.
    assert mounts[name] == "/usr/local/etc/haproxy"


def test_the_ring_names_every_statefulset_pod_once():
    servers = CFG_SERVER.findall(haproxy_cfg())
    n = sts()["spec"]["replicas"]
    assert len(servers) == n, servers
    assert [int(s[3]) for s in servers] == list(range(1, n + 1))
    env = router_env()
    ns_var = [e for e in router_container()["env"]
              if e["name"] == "POD_NAMESPACE"]
    assert ns_var[0]["valueFrom"]["fieldRef"]["fieldPath"] == \
        "metadata.namespace"
    names = [e["name"] for e in router_container()["env"]]
    ports = {p["name"]: p["containerPort"] for p in sts_container()["ports"]}
    for name, i, var, _, http_var in servers:
        assert name == "node" + i and var == i and http_var == i
        assert env["TC_NODE" + i] == (
            "tiny-cached-%s.tiny-cached.$(POD_NAMESPACE).svc.cluster.local"
            ":%d" % (i, ports["grpc"]))
        assert names.index("POD_NAMESPACE") < names.index("TC_NODE" + i)
        assert env["TC_NODE%s_HTTP" % i] == str(ports["http"])
    for var in env:
        if var.startswith("TC_"):
            assert '"${%s-' % var in haproxy_cfg(), var


def test_haproxy_checks_ready_faster_than_the_shutdown_delay():
    cfg = haproxy_cfg()
    assert re.search(r"^    http-check send meth GET uri /ready$", cfg, re.M)
    assert sts_container()["readinessProbe"]["httpGet"]["path"] == "/ready"
    fall = int(re.search(r"^    default-server .* fall (\d+) ", cfg,
                         re.M).group(1))
    env = router_env()
    inter = int(env["TC_CHECK_INTER"].rstrip("s"))
    timeout = int(env["TC_CHECK_TIMEOUT"].rstrip("s"))
    delay = int(container_env()["CACHE_SHUTDOWN_DELAY"])
    assert fall * inter + timeout + 1 <= delay
    rise = int(re.search(r"^    default-server .* rise (\d+) ", cfg,
                         re.M).group(1))
    assert sts()["spec"]["minReadySeconds"] > rise * inter


def test_router_listens_where_its_service_and_probes_point():
    env = router_env()
    ports = {p["name"]: p["containerPort"]
             for p in router_container()["ports"]}
    assert int(env["TC_LISTEN"].rsplit(":", 1)[1]) == ports["grpc"]
    assert int(env["TC_STATS"].rsplit(":", 1)[1]) == ports["stats"]
    svc = cluster_one("Service", "tiny-cache-router")["spec"]
    labels = router()["spec"]["template"]["metadata"]["labels"]
    assert svc["selector"].items() <= labels.items()
    assert {p["targetPort"] for p in svc["ports"]} == {"grpc"}
    c = router_container()
    assert c["livenessProbe"]["httpGet"]["port"] == "stats"
    assert re.search(r"^    stats uri %s$" % re.escape(
        c["livenessProbe"]["httpGet"]["path"]), haproxy_cfg(), re.M)
    assert c["readinessProbe"]["tcpSocket"]["port"] == "grpc"
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert router()["spec"]["template"]["spec"]["securityContext"][
        "runAsNonRoot"] is True
    res = c["resources"]
    assert k8s_bytes(res["requests"]["memory"]) <= \
        k8s_bytes(res["limits"]["memory"])


# --- the scrape: every node, under the job the alert rules select ----------

def cluster_monitor():
    path = deploy_path("kubernetes", "cluster", "monitoring",
                       "servicemonitor.yaml")
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    assert [d["kind"] for d in docs] == ["ServiceMonitor"]
    return docs[0]


def alerts_job():
    """The one job="..." the alert rules select."""
    with open(os.path.join(harness.srcdir(), "contrib", "prometheus",
                           "alerts.yml")) as f:
        jobs = set(re.findall(r'job="([^"]*)"', f.read()))
    assert len(jobs) == 1, jobs
    return jobs.pop()


def scrape_job(sm, svc):
    """The job the Prometheus Operator gives sm's targets behind svc: the
    value of svc's label that jobLabel names, else svc's name."""
    return svc["metadata"]["labels"].get(sm["spec"].get("jobLabel", ""),
                                         svc["metadata"]["name"])


def monitored_service(sm, docs):
    sel = sm["spec"]["selector"]["matchLabels"].items()
    found = [d for d in docs if d["kind"] == "Service"
             and sel <= d["metadata"].get("labels", {}).items()]
    assert len(found) == 1, [d["metadata"]["name"] for d in found]
    return found[0]


def test_servicemonitors_scrape_the_nodes_as_the_alerts_job():
    """The single node's ServiceMonitor and the cluster's each pick the
    one Service in front of the cache pods, scrape its http port's
    /metrics, and name the job the alert rules select."""
    cases = [(one("ServiceMonitor"), manifests(),
              one("Deployment")["spec"]["template"]),
             (cluster_monitor(), cluster_manifests(),
              sts()["spec"]["template"])]
    for sm, docs, pod in cases:
        svc = monitored_service(sm, docs)
        assert svc["spec"]["selector"].items() <= \
            pod["metadata"]["labels"].items()
        assert scrape_job(sm, svc) == alerts_job()
        ports = {p["name"]: p["targetPort"] for p in svc["spec"]["ports"]}
        for ep in sm["spec"]["endpoints"]:
            assert ports[ep["port"]] == "http"
            assert ep["path"] == "/metrics"
