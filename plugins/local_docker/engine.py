"""Docker access shared by the phases: the engine, names, labels and labelled listings.

State is labels, as with docker compose: every object this target creates carries
:data:`APP`, :data:`STACK`, :data:`TARGET` (``local``) and :data:`ROLE`; replicas also
carry :data:`SPEC_HASH`. Listing by label is one engine call per object kind, which
keeps an unchanged ``up`` fast.
"""

from __future__ import annotations

from typing import Any

from deployer import docker_engine
from deployer.docker_engine import DockerEngine, Filters
from deployer.models import PhaseContext

APP = "dev.deployer.app"
STACK = "dev.deployer.stack"
TARGET = "dev.deployer.target"
ROLE = "dev.deployer.role"
SPEC_HASH = "dev.deployer.spec-hash"
TARGET_NAME = "local"

ROLE_LB = "load-balancer"
ROLE_REPLICA = "replica"
ROLE_NETWORK = "network"
ROLE_LB_CONFIG = "load-balancer-config"


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
    return {APP: ctx.app.name, STACK: ctx.stack, TARGET: TARGET_NAME, ROLE: role, **extra}


def selector(ctx: PhaseContext, role: str | None = None) -> Filters:
    """An engine ``filters`` value matching this app and stack (and ``role`` when given)."""
    wanted = {APP: ctx.app.name, STACK: ctx.stack, TARGET: TARGET_NAME}
    if role:
        wanted[ROLE] = role
    return {"label": [f"{key}={value}" for key, value in wanted.items()]}


def containers(docker: DockerEngine, ctx: PhaseContext, role: str | None = None) -> list[dict[str, Any]]:
    """Summaries (``docker ps -a`` rows, no per-container inspect) of this stack's
    containers, optionally of one role, sorted by name."""
    rows = docker.containers(selector(ctx, role))
    return sorted(rows, key=name)


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
