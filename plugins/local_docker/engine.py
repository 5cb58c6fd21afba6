"""Docker access shared by the phases: the engine, names, labels and labelled listings.

State is labels, as with docker compose: every object this target creates carries
:data:`~deployer.docker_labels.APP`, :data:`~deployer.docker_labels.STACK`,
:data:`~deployer.docker_labels.TARGET` (``local``) and :data:`~deployer.docker_labels.ROLE`
(one of the ``ROLE_*`` values below); every label name is defined in
:mod:`deployer.docker_labels`. Listing by label is one engine call per object kind, which
keeps an unchanged ``up`` fast.
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import time
from collections.abc import Callable, Collection
from typing import Any

from deployer import docker_engine, docker_labels
from deployer.docker_engine import DockerEngine, Filters
from deployer.models import PhaseContext
from deployer.plugins.local_docker.settings import LocalSettings

TARGET_NAME = "local"

ROLE_LB = "load-balancer"
"""The load balancer container."""
ROLE_LB_CONFIG = "load-balancer-config"
"""The load balancer's config volume."""
ROLE_LB_IMAGE = "load-balancer-image"
"""The load balancer's image (shared by every app and stack on the machine)."""
ROLE_REPLICA = "replica"
"""A container of the app."""
ROLE_ONEOFF = "one-off"
"""A one-off container: the release command or ``deployer run``."""
ROLE_WORKER = "worker"
"""A worker container."""
ROLE_NETWORK = "network"
"""The stack's network."""


def client() -> DockerEngine:
    """The process's shared Docker engine (:func:`deployer.docker_engine.connect`: the one
    the core's image build used).

    :raises EnvironmentProblem: the engine is not reachable; the message says how to start it.
    """
    return docker_engine.connect()


def prefix(ctx: PhaseContext) -> str:
    """The name prefix of every object of this app and stack: ``deployer-<app>.<stack>``.

    The dot can occur in neither an app name (``[a-z][a-z0-9-]*``) nor a stack
    (``[a-z0-9][a-z0-9-]*``), so two different (app, stack) pairs never share a prefix
    (``website`` + ``adv-x`` and ``website-adv`` + ``x`` did with a dash). What follows
    the stack is ``-lb``, ``-lb-config`` or ``-<8 hex>-<n>``, read from the right, so
    every name below belongs to exactly one app, stack and object.
    """
    return f"deployer-{ctx.app.name}.{ctx.stack}"


def legacy_prefix(ctx: PhaseContext) -> str:
    """The prefix of objects made before names were unambiguous: ``deployer-<app>-<stack>``.
    Such objects are still found (by their labels, never by name) and replaced or removed."""
    return f"deployer-{ctx.app.name}-{ctx.stack}"


def network_name(ctx: PhaseContext) -> str:
    """The stack's network: the prefix itself."""
    return prefix(ctx)


def lb_name(ctx: PhaseContext) -> str:
    """The load balancer container: ``<prefix>-lb``."""
    return f"{prefix(ctx)}-lb"


def lb_volume_name(ctx: PhaseContext) -> str:
    """The load balancer's config volume: ``<prefix>-lb-config``."""
    return f"{lb_name(ctx)}-config"


def replica_name(ctx: PhaseContext, digest: str, index: int) -> str:
    """Replica ``index`` of spec hash ``digest``: ``<prefix>-<first 8 hex of digest>-<index>``."""
    return f"{prefix(ctx)}-{digest[:8]}-{index}"


def is_replica_name(ctx: PhaseContext, text: str) -> bool:
    """``text`` is a name :func:`replica_name` gives for this app and stack."""
    return re.fullmatch(rf"{re.escape(prefix(ctx))}-[0-9a-f]{{8}}-[0-9]+", text) is not None


def replica_source(ctx: PhaseContext, container_name: str) -> str:
    """A replica's short name in logs: ``<8 hex>-<n>``, its name without the prefix."""
    for head in (prefix(ctx), legacy_prefix(ctx)):
        if container_name.startswith(f"{head}-"):
            return container_name.removeprefix(f"{head}-")
    return container_name


def owned(ctx: PhaseContext, row: dict[str, Any]) -> bool:
    """The object (a container, network or volume summary) carries this app's, stack's and
    target's labels."""
    have = row.get("Labels") or {}
    return (
        have.get(docker_labels.APP) == ctx.app.name
        and have.get(docker_labels.STACK) == ctx.stack
        and have.get(docker_labels.TARGET) == TARGET_NAME
    )


def named_containers(docker: DockerEngine, ctx: PhaseContext) -> list[dict[str, Any]]:
    """The containers (summaries) whose name contains the stack's :func:`prefix`, labelled
    or not: one name-filtered listing."""
    return docker.containers({"name": [prefix(ctx)]})


def foreign_holders(
    docker: DockerEngine,
    ctx: PhaseContext,
    named: list[dict[str, Any]],
    *,
    containers: Callable[[str], bool],
    volumes: Callable[[str], bool],
) -> list[str]:
    """Objects without this stack's labels that hold a name ``up`` creates, e.g.
    ``docker run --name <lb name>``: containers of ``named`` (:func:`named_containers`)
    whose name ``containers`` accepts, the stack's network, volumes whose name ``volumes``
    accepts. Two more name-filtered listings; returns ``"container <name>"`` etc., sorted."""
    head = prefix(ctx)
    found = [f"container {name(row)}" for row in named if containers(name(row)) and not owned(ctx, row)]
    found += [
        f"network {row['Name']}"
        for row in docker.networks({"name": [head]})
        if row["Name"] == network_name(ctx) and not owned(ctx, row)
    ]
    found += [
        f"volume {row['Name']}"
        for row in docker.volumes({"name": [head]})
        if volumes(row["Name"]) and not owned(ctx, row)
    ]
    return sorted(found)


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


HOSTNAME_MAX = 63
"""The longest hostname a container gets: a DNS label's 63 characters (the kernel refuses
a hostname of 65 or more, and Docker then fails to start the container)."""


def hostname(container: str) -> str:
    """The hostname of the container named ``container``: its name, or when that is longer
    than :data:`HOSTNAME_MAX` (a worker's, with the longest app, stack and worker names),
    its start and a short hash of the whole, so two long names still differ."""
    if len(container) <= HOSTNAME_MAX:
        return container
    digest = hashlib.sha256(container.encode()).hexdigest()[:8]
    return f"{container[: HOSTNAME_MAX - len(digest) - 1].rstrip('.-')}-{digest}"


def name(row: dict[str, Any]) -> str:
    """A container summary's name, without Docker's leading slash."""
    return row["Names"][0].lstrip("/")


def is_up(row: dict[str, Any]) -> bool:
    """The container is running, or restarting under its restart policy."""
    return row.get("State") in ("running", "restarting")


def listed_exit_code(row: dict[str, Any]) -> str | None:
    """The exit code in a summary's status ("Restarting (3) ..." or "Exited (3) ..."), None
    when it runs: a restarting container inspected is running again, its ``ExitCode`` 0."""
    exited = _EXITED.match(row.get("Status") or "")
    return exited[1] if exited else None


_EXITED = re.compile(r"(?:Exited|Restarting) \((-?\d+)\)")


def is_paused(row: dict[str, Any]) -> bool:
    """The container is frozen (``docker pause``): it runs no code and answers nothing."""
    return row.get("State") == "paused"


def is_standby(row: dict[str, Any], routed: Collection[str]) -> bool:
    """A paused replica the load balancer does not route to (``routed``: the names it
    routes to): the release ``up`` replaced, kept frozen (no CPU) out of the load balancer
    so that a rollback resumes it instead of starting it (:mod:`.compute`). A routed
    replica paused by hand is not the standby: it is a replica that does not serve."""
    return is_paused(row) and name(row) not in routed


def on_network(row: dict[str, Any], network: str) -> bool:
    """The container (a summary) is attached to the network named ``network``: only
    there can the load balancer reach a replica, or a replica its database."""
    return network in ((row.get("NetworkSettings") or {}).get("Networks") or {})


def runs_on(row: dict[str, Any], network: str) -> bool:
    """The container (a summary) is up (:func:`is_up`) and :func:`on_network` ``network``:
    a load balancer, replica, database or worker that can do its job there."""
    return is_up(row) and on_network(row, network)


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


PIDS_LIMIT = 512
"""Processes and threads one app container (replica, worker, one-off run) may run
(Docker's ``--pids-limit``): a fork bomb or a thread leak stops there instead of
exhausting the host."""


LOG_CONFIG = {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}}
"""Every container's log: Docker's JSON files, rotated at 10 MB and 3 files, so an app
that prints without end keeps 30 MB on disk, not all it ever printed (``deployer logs``
then shows the newest 30 MB)."""


def hardened_host_config(docker: DockerEngine, settings: LocalSettings, *, memory: int, **extra: Any) -> Any:
    """The host config of every app container: ``memory`` MiB, :data:`PIDS_LIMIT`,
    :data:`LOG_CONFIG`, every capability dropped, ``no-new-privileges``, a read-only root filesystem with a
    tmpfs ``/tmp`` when ``settings.read_only``, and an init process (Docker's
    ``docker-init``) as PID 1, which forwards signals and reaps zombies: an app that sets
    no SIGTERM handler of its own still stops at once on ``docker stop`` instead of after
    the 10 s timeout (aws-ecs sets ``initProcessEnabled`` for the same reason). ``extra``
    adds the container's own (restart policy, CPU limit)."""
    return docker.api.create_host_config(
        init=True,
        mem_limit=f"{memory}m",
        pids_limit=PIDS_LIMIT,
        security_opt=["no-new-privileges"],
        cap_drop=["ALL"],
        read_only=settings.read_only,
        tmpfs={"/tmp": "size=64m"} if settings.read_only else None,
        log_config=LOG_CONFIG,
        **extra,
    )
