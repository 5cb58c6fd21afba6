"""Phase 3, ingress: an HAProxy container, the local equivalent of an ALB.

The load balancer publishes ``<bind>:<host_port>`` and routes to the replicas listed in
its config, like targets registered in a target group: compute registers replicas with
:func:`register` only once Docker reports them healthy, and reads what HAProxy routes to
now with :func:`routes`, from HAProxy's stats listener (published on ``127.0.0.1`` at a
port Docker chooses). HAProxy also checks every replica itself (``GET <health path>``,
expecting a 2xx, as the container health check and the ALB do), retries a failed
connection or an empty response of a safe request on another replica (``retry-on`` +
``redispatch``), and finds replicas by container name through Docker's DNS, so a
restarted replica with a new IP is found again.

A membership change writes the new config into the load balancer's volume, validates
it with ``haproxy -c`` and reloads the master process (``SIGUSR2``): the new worker takes
over the listening socket (``expose-fd listeners``) and the old one finishes its
requests, so no connection is refused during a rollout.

Its image is built here, offline, from ``lb_base_image`` with Debian's HAProxy package.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import re
import socket
import tarfile
import time
from typing import Any
from urllib.parse import urlsplit

from attrs import frozen

from deployer import docker_labels
from deployer.docker_engine import DockerEngine
from deployer.errors import DeployFailed, UsageError
from deployer.models import (
    Change,
    IngressResult,
    NetworkResult,
    PhaseContext,
    RegistryResult,
)
from deployer.plugins.local_docker import engine
from deployer.plugins.local_docker.settings import LocalSettings, of

LISTEN_PORT = 8080
"""The port HAProxy listens on inside its container (unprivileged: it runs as haproxy)."""
CONFIG_DIR = "/usr/local/etc/haproxy"
CONFIG_FILE = f"{CONFIG_DIR}/haproxy.cfg"
STATS_PORT = 8404
"""HAProxy's stats listener inside its container; published on 127.0.0.1 only."""
STATS_PATH = "/routes"

_BOOTSTRAP_CONFIG = f"""\
# Before any replica is registered: answer 503.
global
    log stdout format raw local0 notice
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend web
    bind :{LISTEN_PORT}
    http-request return status 503 content-type text/plain string "no replica registered yet"
"""

_DOCKERFILE = f"""\
FROM {{base}}
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends haproxy \\
 && rm -rf /var/lib/apt/lists/* \\
 && mkdir -p {CONFIG_DIR} && chown haproxy:haproxy {CONFIG_DIR}
COPY --chown=haproxy:haproxy haproxy.cfg {CONFIG_FILE}
LABEL {docker_labels.ROLE}={engine.ROLE_LB_IMAGE}
USER haproxy
EXPOSE {LISTEN_PORT}
STOPSIGNAL SIGUSR1
CMD ["haproxy", "-W", "-db", "-f", "{CONFIG_FILE}"]
"""


@frozen
class Upstream:
    """What compute registers replicas into: the load balancer and how it checks them,
    and where its live routes can be read (None until the load balancer runs).

    This is :attr:`IngressResult.attach` for the local target.
    """

    container: str
    app_port: int
    health_path: str
    health_interval: int
    fall: int
    stats_port: int | None = None


@frozen
class Routes:
    """What a load balancer routes to: the :func:`config_id` of the config it runs and
    the replica names in its backend (sorted)."""

    config_id: str
    members: tuple[str, ...]


# --- the load balancer's image -----------------------------------------------------------


def lb_image_tag(settings: LocalSettings) -> str:
    """``deployer/local-lb:<hash>``: the hash covers the Dockerfile and bootstrap config."""
    text = _DOCKERFILE.format(base=settings.lb_base_image) + _BOOTSTRAP_CONFIG
    return f"deployer/local-lb:{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def _ensure_lb_image(docker: DockerEngine, settings: LocalSettings, report) -> str:
    from docker.errors import APIError, BuildError

    tag = lb_image_tag(settings)
    if docker.image(tag) is not None:
        return tag
    report(f"building the load balancer image {tag} (HAProxy from Debian packages)")
    context = _tar({"Dockerfile": _DOCKERFILE.format(base=settings.lb_base_image), "haproxy.cfg": _BOOTSTRAP_CONFIG})
    try:
        docker.sdk.images.build(fileobj=context, custom_context=True, tag=tag, rm=True, forcerm=True, pull=False)
    except (BuildError, APIError) as error:
        raise DeployFailed(
            f"building the load balancer image from {settings.lb_base_image} failed: {error}. "
            "It needs that image locally (scripts/base-image.sh builds python:3.12-slim) "
            "and apt-get access to a Debian mirror"
        ) from error
    return tag


def _tar(files: dict[str, str], *, mode: int = 0o644) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), mode, int(time.time())
            archive.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


# --- the host port ---------------------------------------------------------------------


def endpoint(settings: LocalSettings) -> str:
    """The URL users reach the app at."""
    host = "127.0.0.1" if settings.bind in ("0.0.0.0", "127.0.0.1") else settings.bind
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.host_port}"


def check_port(docker: DockerEngine, ctx: PhaseContext) -> None:
    """Fail before anything changes when ``host_port`` on ``bind`` is taken by something
    other than this stack's own load balancer.

    :raises UsageError: names the container holding the port when it is one.
    """
    settings = of(ctx.target.settings)
    for row in engine.containers(docker, ctx, engine.ROLE_LB):
        if engine.is_up(row) and any(p.get("PublicPort") == settings.host_port for p in row.get("Ports", ())):
            return
    family = socket.AF_INET6 if ":" in settings.bind else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((settings.bind, settings.host_port))
            return
        except OSError as error:
            reason = error.strerror or str(error)
    holders = [engine.name(r) for r in docker.containers({"publish": [str(settings.host_port)], "status": ["running"]})]
    by = f" by container {', '.join(holders)}" if holders else ""
    raise UsageError(
        f"port {settings.host_port} on {settings.bind} is already in use{by} ({reason}): nothing was "
        f"changed. Free it, or choose another port with `host_port = N` under [targets.local]"
    )


# --- the phase ---------------------------------------------------------------------------


def apply(ctx: PhaseContext, network: NetworkResult, registry: RegistryResult) -> IngressResult:
    """Make sure the load balancer runs with the current settings (``plan``: say what
    would change). A changed port, bind address or image replaces the container; its
    volume keeps the registered replicas."""
    settings = of(ctx.target.settings)
    docker = engine.client()
    name = f"{engine.prefix(ctx)}-lb"
    tag = lb_image_tag(settings)
    network_name = network.extra.get("name", engine.prefix(ctx))
    wanted = _lb_hash(tag, settings, network_name)
    rows = engine.containers(docker, ctx, engine.ROLE_LB)
    current = [r for r in rows if r["Labels"].get(docker_labels.LB_HASH) == wanted and engine.is_up(r)]
    detail = f"HAProxy on {settings.bind}:{settings.host_port}"
    stats_port = None
    if current and len(rows) == 1:
        change = Change("unchanged", "load-balancer", name, detail)
        stats_port = _stats_port(current[0])
    elif ctx.mode == "plan":
        change = Change("replace" if rows else "create", "load-balancer", name, detail)
    else:
        _ensure_lb_image(docker, settings, ctx.report)
        for row in rows:
            ctx.report(f"replacing load balancer {engine.name(row)}")
            docker.api.remove_container(row["Id"], force=True)
        _create_lb(docker, ctx, settings, tag, name, network_name, wanted)
        stats_port = next(map(_stats_port, engine.containers(docker, ctx, engine.ROLE_LB)), None)
        change = Change("replace" if rows else "create", "load-balancer", name, detail)
    upstream = Upstream(
        container=name,
        app_port=ctx.app.port,
        health_path=ctx.app.health.path,
        health_interval=settings.health_interval,
        fall=ctx.app.health.retries,
        stats_port=stats_port,
    )
    return IngressResult(endpoint=endpoint(settings), attach=upstream, extra={"container": name, "changes": (change,)})


def _lb_hash(tag: str, settings: LocalSettings, network_name: str) -> str:
    text = "\0".join(
        [tag, settings.bind, str(settings.host_port), settings.restart, network_name, f"stats:{STATS_PORT}"]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _stats_port(row: dict[str, Any]) -> int | None:
    """The loopback port of a load balancer's stats listener, from its summary's ``Ports``."""
    for port in row.get("Ports", ()):
        if port.get("PrivatePort") == STATS_PORT and port.get("PublicPort"):
            return int(port["PublicPort"])
    return None


def _create_lb(
    docker: DockerEngine,
    ctx: PhaseContext,
    settings: LocalSettings,
    tag: str,
    name: str,
    network_name: str,
    lb_hash: str,
) -> None:
    from docker.errors import APIError
    from docker.types import Mount

    volume = f"{name}-config"
    if not docker.volumes({"name": [volume]}):
        docker.api.create_volume(volume, labels=engine.labels(ctx, engine.ROLE_LB_CONFIG))
    ctx.report(f"starting load balancer {name} on {settings.bind}:{settings.host_port}")
    host_config = docker.api.create_host_config(
        port_bindings={LISTEN_PORT: (settings.bind, settings.host_port), STATS_PORT: ("127.0.0.1",)},
        mounts=[Mount(target=CONFIG_DIR, source=volume, type="volume")],
        tmpfs={"/tmp": "size=4m"},
        read_only=True,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        restart_policy={"Name": settings.restart},
        mem_limit="256m",
    )
    created = docker.api.create_container(
        tag,
        name=name,
        labels=engine.labels(ctx, engine.ROLE_LB, **{docker_labels.LB_HASH: lb_hash}),
        ports=[LISTEN_PORT, STATS_PORT],
        host_config=host_config,
        networking_config=docker.api.create_networking_config({network_name: docker.api.create_endpoint_config()}),
    )
    try:
        docker.api.start(created["Id"])
    except APIError as error:
        docker.api.remove_container(created["Id"], force=True)
        if "port is already allocated" in str(error) or "address already in use" in str(error):
            raise UsageError(
                f"port {settings.host_port} on {settings.bind} is already in use: choose "
                "another with `host_port = N` under [targets.local]"
            ) from error
        raise


# --- registering replicas -------------------------------------------------------------------


def render(upstream: Upstream, members: tuple[str, ...]) -> str:
    """The HAProxy config routing to ``members`` (replica container names); its backend
    is named ``app-<config id>`` so that :func:`routes` can tell which config runs."""
    return _config(upstream, members, f"{_BACKEND}{config_id(upstream)}")


def config_id(upstream: Upstream) -> str:
    """A hash of the config :func:`render` writes for ``upstream``, members aside:
    changes when the template or how replicas are checked changes."""
    return hashlib.sha256(_config(upstream, (), "").encode()).hexdigest()[:12]


_BACKEND = "app-"


def _config(upstream: Upstream, members: tuple[str, ...], backend: str) -> str:
    servers = "".join(f"    server {m} {m}:{upstream.app_port}\n" for m in members)
    return f"""\
# Generated by deployer (local target). Registered replicas: {" ".join(members) or "none"}
global
    log stdout format raw local0 notice
    stats socket /tmp/admin.sock mode 600 level admin expose-fd listeners
    hard-stop-after 30s

resolvers docker
    nameserver dns 127.0.0.11:53
    hold valid 1s
    hold nx 1s
    hold obsolete 1s

defaults
    mode http
    log global
    option dontlognull
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout http-keep-alive 5s
    timeout queue 10s
    timeout check 2s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout 502 503 504

frontend web
    bind :{LISTEN_PORT}
    default_backend {backend}

listen stats
    bind :{STATS_PORT}
    no log
    stats enable
    stats hide-version
    stats uri {STATS_PATH}

backend {backend}
    balance roundrobin
    http-request disable-l7-retry if !METH_GET
    option httpchk
    http-check send meth GET uri {_quote(upstream.health_path)} ver HTTP/1.1 hdr Host localhost
    http-check expect rstatus ^2[0-9][0-9]$
    default-server check inter {upstream.health_interval}s fall {upstream.fall} rise 1 resolvers docker resolve-prefer ipv4 init-addr last,libc,none
{servers}"""


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


def routes(docker: DockerEngine, upstream: Upstream) -> Routes | None:
    """What the load balancer routes to now; None when there is no load balancer.

    Read from what the running HAProxy has loaded (its stats CSV: one local HTTP request),
    so a config written but never loaded is not mistaken for routes. When the stats cannot
    be reached (no ``stats_port``: a load balancer that is not running, or one still on a
    config without the stats listener), the config file in its volume is read instead:
    that is what HAProxy loads when it starts.
    """
    if upstream.stats_port:
        csv = _stats_csv(upstream.stats_port)
        if csv is not None:
            return _parse_stats(csv)
    config = _read_config(docker, upstream)
    if config is None:
        return None
    backend = _BACKEND_LINE.search(config)
    return Routes(backend[1] if backend else "", tuple(sorted(_SERVER_LINE.findall(config))))


STATS_TIMEOUT = 2
"""Seconds the stats request may take before the config file is read instead."""
MAX_STATS_BYTES = 1024 * 1024
"""The largest stats CSV read (about 3,000 replicas); a larger reply is not HAProxy's
answer for a config this target writes, so the config file is read instead."""


def _stats_csv(port: int) -> str | None:
    """HAProxy's stats CSV from its loopback ``port``; None when it cannot be read."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=STATS_TIMEOUT)
    try:
        connection.request("GET", f"{STATS_PATH};csv")
        reply = connection.getresponse()
        body = reply.read(MAX_STATS_BYTES + 1)
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()
    if reply.status != 200 or len(body) > MAX_STATS_BYTES:
        return None
    return body.decode(errors="replace")


_BACKEND_LINE = re.compile(rf"^backend {_BACKEND}(\S+)", re.MULTILINE)
_SERVER_LINE = re.compile(r"^\s*server (\S+) ", re.MULTILINE)


def _parse_stats(csv: str) -> Routes:
    """Routes from HAProxy's stats CSV (``# pxname,svname,...``, one line per proxy and server)."""
    config, members = "", []
    for line in csv.splitlines():
        proxy, _, rest = line.partition(",")
        if proxy.startswith(_BACKEND):
            config = proxy.removeprefix(_BACKEND)
            server = rest.partition(",")[0]
            if server not in ("FRONTEND", "BACKEND"):
                members.append(server)
    return Routes(config, tuple(sorted(members)))


def _read_config(docker: DockerEngine, upstream: Upstream) -> str | None:
    """The config file in the load balancer's volume; None when there is no load balancer."""
    from docker.errors import NotFound

    try:
        stream, _ = docker.api.get_archive(upstream.container, CONFIG_FILE)
    except NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
        member = archive.extractfile(archive.getmembers()[0])
        return member.read().decode() if member else ""


def register(docker: DockerEngine, upstream: Upstream, members: tuple[str, ...]) -> None:
    """Route to exactly ``members``: write, validate and gracefully reload the config.

    :raises DeployFailed: HAProxy rejected the config (nothing was changed).
    """
    text = render(upstream, members)
    docker.api.put_archive(upstream.container, CONFIG_DIR, _tar({"haproxy.cfg.new": text}))
    script = f"haproxy -c -q -f {CONFIG_FILE}.new 2>&1 && mv -f {CONFIG_FILE}.new {CONFIG_FILE} && kill -USR2 1"
    exec_id = docker.api.exec_create(upstream.container, ["sh", "-c", script])["Id"]
    output = docker.api.exec_start(exec_id).decode(errors="replace")
    if docker.api.exec_inspect(exec_id)["ExitCode"] != 0:
        raise DeployFailed(f"the load balancer rejected its new config: {output.strip()}")


def wait_serving(url: str, path: str, timeout: float) -> None:
    """Wait until ``url`` + ``path`` answers 200 through the load balancer.

    :raises DeployFailed: it did not within ``timeout`` seconds.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection(host, port, timeout=2)
        try:
            connection.request("GET", path)
            status = connection.getresponse().status
        except (OSError, http.client.HTTPException) as error:
            last = str(error) or type(error).__name__
        else:
            if status == 200:
                return
            last = f"status {status}"
        finally:
            connection.close()
        time.sleep(0.1)
    raise DeployFailed(f"the load balancer at {url} did not serve {path} within {timeout:.0f} s: {last}")
