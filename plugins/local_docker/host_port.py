"""The host port users reach the app at (``<bind>:<host_port>``): its URL, and the check
that it is free before ``up`` changes anything."""

from __future__ import annotations

import socket
from typing import Any

from deployer.docker_engine import DockerEngine
from deployer.errors import ConfigError
from deployer.models import PhaseContext
from deployer.plugins.local_docker import engine
from deployer.plugins.local_docker.settings import LocalSettings, of


def endpoint(settings: LocalSettings) -> str:
    """The URL users reach the app at."""
    host = "127.0.0.1" if settings.bind in ("0.0.0.0", "127.0.0.1") else settings.bind
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.host_port}"


def check_port(docker: DockerEngine, ctx: PhaseContext) -> None:
    """Fail before anything changes when ``host_port`` on ``bind`` is taken by something
    other than this stack's own load balancer (running, paused, or restarting, when Docker
    lists no ports for it but holds its port: ``up`` replaces it).

    :raises ConfigError: about ``targets.local.host_port``; names the container holding
        the port when it is one.
    """
    settings = of(ctx)
    for row in engine.containers(docker, ctx, engine.ROLE_LB):
        if any(p.get("PublicPort") == settings.host_port for p in row.get("Ports", ())) or (
            row["State"] == "restarting" and _binds(docker, row, settings.host_port)
        ):
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
    raise ConfigError(
        "targets.local.host_port",
        f"port {settings.host_port} on {settings.bind} is already in use{by} ({reason}): nothing was "
        "changed. Free it, or choose another port",
        value=settings.host_port,
    )


def _binds(docker: DockerEngine, row: dict[str, Any], port: int) -> bool:
    """The container (a summary) is set to publish ``port``: what a restarting container,
    listed with no ports, still holds."""
    bindings = ((docker.container(row["Id"]) or {}).get("HostConfig") or {}).get("PortBindings") or {}
    return any(str(b.get("HostPort")) == str(port) for published in bindings.values() for b in published or ())
