"""Phase 3, ingress: an HAProxy container, the local equivalent of an ALB.

The load balancer publishes ``<bind>:<host_port>`` (:mod:`.host_port`) and routes to the
replicas listed in its config (:mod:`.haproxy_config`), which compute registers
(:mod:`.lb_routes`). Its image is built from Debian's HAProxy package (:mod:`.lb_image`).
Its stats listener is published on ``127.0.0.1`` at a port Docker chooses, so ``up`` can
read what HAProxy routes to now; its config lives in a volume, so a replaced container
keeps the registered replicas.
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

from deployer import docker_labels
from deployer.docker_engine import DockerEngine
from deployer.errors import UsageError
from deployer.models import Change, IngressResult, NetworkResult, PhaseContext, RegistryResult
from deployer.plugins.local_docker import engine, restarts
from deployer.plugins.local_docker.haproxy_config import CONFIG_DIR, LISTEN_PORT, STATS_PORT, Upstream
from deployer.plugins.local_docker.host_port import endpoint
from deployer.plugins.local_docker.lb_image import ensure_lb_image, lb_image_tag
from deployer.plugins.local_docker.settings import LocalSettings, of

LB_CPUS = 0.5
"""CPUs the load balancer may use: HAProxy stays responsive without starving the replicas."""
LB_MEMORY_MIB = 256
"""The load balancer's memory limit in MiB."""
LB_PIDS_LIMIT = 128
"""Processes and threads the load balancer may run: HAProxy's master and its workers
(:data:`~.haproxy_config.THREADS` threads each; an old one drains beside the new one
after a reload), plus the config checks ``up`` runs in it."""


def apply(ctx: PhaseContext, network: NetworkResult, registry: RegistryResult) -> IngressResult:
    """Make sure the load balancer runs with the current settings on the stack's network
    (``plan``: say what would change). A changed port, bind address or image, or one that
    is not running or not on the network, is replaced; its volume keeps the registered
    replicas."""
    settings = of(ctx)
    docker = engine.client()
    name = engine.lb_name(ctx)
    tag = lb_image_tag(settings)
    network_name = network.extra.get("name", engine.network_name(ctx))
    wanted = _lb_hash(tag, settings, network_name)
    rows = engine.containers(docker, ctx, engine.ROLE_LB)
    crashed = [r for r in rows if _crashed(docker, r)]
    current = [
        r
        for r in rows
        if r["Labels"].get(docker_labels.LB_HASH) == wanted
        and r["State"] == "running"
        and engine.on_network(r, network_name)
        and r not in crashed
    ]
    detail = f"HAProxy on {settings.bind}:{settings.host_port}"
    published_stats, why = None, ""
    if current and len(rows) == 1:
        change = Change("unchanged", "load-balancer", name, detail)
        published_stats = stats_port(current[0])
    else:
        why = f" ({_why_replaced(rows, wanted, network_name, crashed)})" if rows else ""
        change = Change("replace" if rows else "create", "load-balancer", name, detail + why)
    if change.action != "unchanged" and ctx.mode != "plan":
        ensure_lb_image(docker, settings, ctx.report)
        for row in rows:
            ctx.report(f"replacing load balancer {engine.name(row)}{why}")
            docker.api.remove_container(row["Id"], v=True, force=True)
        if crashed:  # its config may be why: start from the image's; compute routes again
            ctx.report(f"resetting the load balancer's config volume {engine.lb_volume_name(ctx)}: it kept crashing")
            with contextlib.suppress(docker.errors.NotFound):
                docker.api.remove_volume(engine.lb_volume_name(ctx), force=True)
        _create_lb(docker, ctx, settings, tag, name, network_name, wanted)
        published_stats = next(map(stats_port, engine.containers(docker, ctx, engine.ROLE_LB)), None)
    upstream = Upstream(
        container=name,
        app_port=ctx.app.port,
        health_path=ctx.app.health.path,
        health_interval=settings.health_interval,
        fall=ctx.app.health.retries,
        health_timeout=ctx.app.health.timeout,
        stats_port=published_stats,
    )
    return IngressResult(endpoint=endpoint(settings), attach=upstream, extra={"container": name}, changes=(change,))


def _why_replaced(rows: list[dict[str, Any]], wanted: str, network: str, crashed: list[dict[str, Any]]) -> str:
    """Why this stack's load balancer containers ``rows`` (at least one; ``crashed``: those
    that crash in a loop) are replaced."""
    if len(rows) > 1:
        return f"{len(rows)} load balancers, one wanted"
    row = rows[0]
    if row["Labels"].get(docker_labels.LB_HASH) != wanted:
        return "its image or settings changed"
    if row in crashed:
        return f"it keeps crashing: {row['Status']}"
    if row["State"] != "running":
        return f"not running: {row['State']}"
    return f"not on the stack's network {network}"


def _crashed(docker: DockerEngine, row: dict[str, Any]) -> bool:
    """The load balancer (a summary) restarts in a loop, as HAProxy does on a config it
    cannot load: restarting, exited with an error (not stopped by hand: 0, or 137 and 143
    after ``docker stop``), or up for seconds only after its restart policy restarted it
    (asked of the engine only then: an unchanged ``up`` sees it up for longer)."""
    code = engine.listed_exit_code(row)
    if row["State"] == "restarting" or (code is not None and code not in ("0", "137", "143")):
        return True
    if row["State"] != "running" or "second" not in row.get("Status", ""):
        return False
    return bool(restarts.read(docker, [row]))


def _lb_hash(tag: str, settings: LocalSettings, network_name: str) -> str:
    limits = f"limits:{LB_CPUS}/{LB_MEMORY_MIB}/{LB_PIDS_LIMIT}"
    text = "\0".join(
        [tag, settings.bind, str(settings.host_port), settings.restart, network_name, f"stats:{STATS_PORT}", limits]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def stats_port(row: dict[str, Any]) -> int | None:
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
    volume = engine.lb_volume_name(ctx)
    if not any(v["Name"] == volume for v in docker.volumes({"name": [volume]})):  # the filter is a regex
        docker.api.create_volume(volume, labels=engine.labels(ctx, engine.ROLE_LB_CONFIG))
    ctx.report(f"starting load balancer {name} on {settings.bind}:{settings.host_port}")
    host_config = docker.api.create_host_config(
        port_bindings={LISTEN_PORT: (settings.bind, settings.host_port), STATS_PORT: ("127.0.0.1",)},
        mounts=[{"Target": CONFIG_DIR, "Source": volume, "Type": "volume", "ReadOnly": False}],
        tmpfs={"/tmp": "size=4m"},
        read_only=True,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        restart_policy={"Name": settings.restart},
        mem_limit=f"{LB_MEMORY_MIB}m",
        nano_cpus=int(LB_CPUS * 1_000_000_000),
        pids_limit=LB_PIDS_LIMIT,
        log_config=engine.LOG_CONFIG,
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
    except docker.errors.APIError as error:
        docker.api.remove_container(created["Id"], v=True, force=True)
        if "port is already allocated" in str(error) or "address already in use" in str(error):
            raise UsageError(
                f"port {settings.host_port} on {settings.bind} is already in use: choose "
                "another with `host_port = N` under [targets.local]"
            ) from error
        raise
