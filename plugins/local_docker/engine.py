"""Docker access shared by the phases: the engine, names, labels and labelled listings.

State is labels, as with docker compose: every object this target creates carries
:data:`~deployer.docker_labels.APP`, :data:`~deployer.docker_labels.STACK`,
:data:`~deployer.docker_labels.TARGET` (``local``) and :data:`~deployer.docker_labels.ROLE`
(one of the ``ROLE_*`` values below); every label name is defined in
:mod:`deployer.docker_labels`. Listing by label is one engine call per object kind, which
keeps an unchanged ``up`` fast.
"""

from __future__ import annotations

import io
import tarfile
import time
from typing import Any

from deployer import docker_engine, docker_labels
from deployer.docker_engine import DockerEngine, Filters
from deployer.models import PhaseContext

TARGET_NAME = "local"

ROLE_LB = "load-balancer"
"""The load balancer container."""
ROLE_LB_CONFIG = "load-balancer-config"
"""The load balancer's config volume."""
ROLE_LB_IMAGE = "load-balancer-image"
"""The load balancer's image (shared by every app and stack on the machine)."""
ROLE_REPLICA = "replica"
"""A container of the app."""
ROLE_NETWORK = "network"
"""The stack's network."""


def client() -> DockerEngine:
    """The process's shared Docker engine (:func:`deployer.docker_engine.connect`: the one
    the core's image build used).

    :raises EnvironmentProblem: the engine is not reachable; the message says how to start it.
    """
    return docker_engine.connect()


def prefix(ctx: PhaseContext) -> str:
    """The name prefix of every object of this app and stack: ``deployer-<app>-<stack>``."""
    return f"deployer-{ctx.app.name}-{ctx.stack}"


def labels(ctx: PhaseContext, role: str, **extra: str) -> dict[str, str]:
    """The labels of an object with ``role``, plus ``extra`` (label name to value)."""
    return {
        docker_labels.APP: ctx.app.name,
        docker_labels.STACK: ctx.stack,
        docker_labels.TARGET: TARGET_NAME,
        docker_labels.ROLE: role,
        **extra,
    }


def selector(ctx: PhaseContext, role: str | None = None) -> Filters:
    """An engine ``filters`` value matching this app and stack (and ``role`` when given)."""
    wanted = {docker_labels.APP: ctx.app.name, docker_labels.STACK: ctx.stack, docker_labels.TARGET: TARGET_NAME}
    if role:
        wanted[docker_labels.ROLE] = role
    return {"label": [f"{key}={value}" for key, value in wanted.items()]}


def containers(docker: DockerEngine, ctx: PhaseContext, role: str | None = None) -> list[dict[str, Any]]:
    """Summaries (``docker ps -a`` rows, no per-container inspect) of this stack's
    containers, optionally of one role, sorted by name."""
    rows = docker.containers(selector(ctx, role))
    return sorted(rows, key=name)


def role(row: dict[str, Any]) -> str | None:
    """The role label of a summary (container, network or volume)."""
    return (row.get("Labels") or {}).get(docker_labels.ROLE)


def name(row: dict[str, Any]) -> str:
    """A container summary's name, without Docker's leading slash."""
    return row["Names"][0].lstrip("/")


def is_up(row: dict[str, Any]) -> bool:
    """The container is running, or restarting under its restart policy."""
    return row.get("State") in ("running", "restarting")


def health(row: dict[str, Any]) -> str:
    """``healthy``, ``unhealthy``, ``starting`` or ``none``, from a summary's Status text."""
    status = row.get("Status", "")
    for state in ("unhealthy", "healthy", "health: starting"):
        if f"({state})" in status:
            return state.removeprefix("health: ")
    return "none"


def tar(files: dict[str, str], *, mode: int = 0o644) -> io.BytesIO:
    """An uncompressed tar archive of ``files`` (path to text), as the engine takes a
    build context or files to copy into a container."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), mode, int(time.time())
            archive.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer
