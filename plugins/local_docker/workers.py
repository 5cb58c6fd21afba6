"""Workers of the local target: containers of the app's image running a worker's command.

Each ``[workers.<name>]`` runs ``replicas`` containers named
``deployer-<app>-<stack>-worker-<name>-<hash>-<n>`` (role ``worker``), on the app's
network, with the env a replica gets and no load balancer route. A worker's containers
are labelled with a hash of what they are made from; when it changes (or one is not
running, or not on the stack's network), the new ones start and then the old ones are
stopped (SIGTERM, so a job in flight can finish). Containers
of a worker no longer in the config are removed.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import time
from typing import Any

from deployer import docker_labels
from deployer.docker_engine import DockerEngine
from deployer.errors import DeployFailed
from deployer.models import Change, PhaseContext
from deployer.plugins.local_docker import compute, cpu_boost, engine, restarts
from deployer.plugins.local_docker.oneoff import workload_env
from deployer.plugins.local_docker.settings import of
from deployer.services import WorkerSpec

WORKER = docker_labels.WORKER
SETTLE = 1.5
"""Seconds after its creation (whole seconds, as Docker lists it) by which a worker that
cannot start has exited or restarted."""


def _hash(ctx: PhaseContext, worker: WorkerSpec, image_id: str, network: str) -> str:
    env = workload_env(ctx)
    spec = {
        "image": image_id,
        "command": worker.command,
        "cpu": worker.cpu,
        "memory": worker.memory,
        "env": hashlib.sha256(json.dumps(sorted(env.items())).encode()).hexdigest(),
        "network": network,
        "read_only": of(ctx).read_only,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]


def apply(ctx: PhaseContext, image: str, image_id: str, network: str) -> tuple[Change, ...]:
    """Converge every worker (``plan``: list the changes only)."""
    docker = engine.client()
    rows = engine.containers(docker, ctx, engine.ROLE_WORKER)
    changes: list[Change] = []
    to_create: list[tuple[WorkerSpec, str, str]] = []
    to_remove: list[dict[str, Any]] = []
    wanted = {w.name for w in ctx.app.workers}
    for worker in ctx.app.workers:
        digest = _hash(ctx, worker, image_id, network)
        mine = [r for r in rows if r["Labels"].get(WORKER) == worker.name]
        keep = [r for r in mine if r["Labels"].get(docker_labels.SPEC_HASH) == digest and engine.runs_on(r, network)]
        keep = keep[: worker.replicas]
        to_remove += [r for r in mine if r not in keep]
        taken = {engine.name(r) for r in rows}
        base = f"{_worker_prefix(ctx, worker.name)}-{digest[:8]}"
        index = 1
        while len(keep) + len([c for c in to_create if c[0] is worker]) < worker.replicas:
            candidate = f"{base}-{index}"
            if candidate not in taken:
                to_create.append((worker, candidate, digest))
            index += 1
        changes += [Change("unchanged", "container", engine.name(r), f"worker {worker.name}") for r in keep]
    to_remove += [r for r in rows if r["Labels"].get(WORKER) not in wanted]
    changes += [Change("create", "container", n, f"worker {w.name}: {shlex.join(w.command)}") for w, n, _ in to_create]
    changes += [Change("remove", "container", engine.name(r), "old worker") for r in to_remove]
    if ctx.mode == "plan":
        return tuple(changes)
    for worker, container, digest in to_create:
        ctx.report(f"starting worker {container}")
        _create(docker, ctx, worker, image, container, network, digest)
    if to_remove:
        ctx.report(f"stopping old workers {', '.join(engine.name(r) for r in to_remove)}")
        compute.remove(docker, [engine.name(r) for r in to_remove])
    return tuple(changes)


def _create(
    docker: DockerEngine, ctx: PhaseContext, worker: WorkerSpec, image: str, container: str, network: str, digest: str
) -> None:
    settings = of(ctx)
    host_config = engine.hardened_host_config(
        docker,
        settings,
        memory=worker.memory,
        cpu_period=cpu_boost.PERIOD,
        cpu_quota=cpu_boost.quota(worker.cpu),  # as a replica's: Docker refuses NanoCpus above the engine's CPUs
        restart_policy={"Name": settings.restart},
    )
    created = docker.api.create_container(
        image,
        name=container,
        command=list(worker.command),
        hostname=engine.hostname(container),
        environment=workload_env(ctx),
        labels=engine.labels(ctx, engine.ROLE_WORKER, **{docker_labels.SPEC_HASH: digest, WORKER: worker.name}),
        host_config=host_config,
        networking_config=docker.api.create_networking_config({network: docker.api.create_endpoint_config()}),
    )
    docker.api.start(created["Id"])


def require_running(docker: DockerEngine, ctx: PhaseContext, *, since: float) -> None:
    """After ``up`` deployed: every worker container it created (at or after ``since``, a
    UNIX time) runs and, :data:`SETTLE` seconds after the newest was created, has not
    restarted (a command missing from the image, or a crash at start, shows by then).
    Workers kept from before are not judged: their restarts are their history.

    :raises DeployFailed: names each worker that does not run, how it ended and its last
        log lines.
    """
    created = [r for r in engine.containers(docker, ctx, engine.ROLE_WORKER) if r["Created"] >= int(since)]
    if not created:
        return
    time.sleep(max(0.0, max(r["Created"] for r in created) + SETTLE - time.time()))
    ids = {r["Id"] for r in created}
    rows = [r for r in engine.containers(docker, ctx, engine.ROLE_WORKER) if r["Id"] in ids]
    restarted = restarts.read(docker, rows)
    problems = []
    for row in rows:
        if row["State"] == "running" and engine.name(row) not in restarted:
            continue
        code = engine.listed_exit_code(row)
        count = restarted.get(engine.name(row), {}).get("restarts", 0)
        ended = f"it exited with code {code}" if code is not None else f"it restarted {count} time(s)"
        lines = compute.last_log_lines(docker, ctx, row)
        problems.append(f"worker {row['Labels'].get(WORKER)} ({engine.name(row)}) does not run: {ended}\n{lines}")
    if problems:
        raise DeployFailed("\n".join(problems))


def status(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``status`` detail of the worker containers among ``rows`` (empty when none)."""
    found = [r for r in rows if engine.role(r) == engine.ROLE_WORKER]
    if not found:
        return {}
    return {
        "workers": [
            {"name": engine.name(r), "worker": r["Labels"].get(WORKER), "state": r["State"], "image": r["Image"]}
            for r in found
        ]
    }


def _worker_prefix(ctx: PhaseContext, worker: str) -> str:
    return f"{engine.prefix(ctx)}-worker-{worker}"


def is_worker_name(ctx: PhaseContext, text: str) -> bool:
    """``text`` is a container name ``up`` gives one of the app's workers:
    ``<prefix>-worker-<worker>-<8 hex of its spec hash>-<n>``."""
    return any(
        re.fullmatch(rf"{re.escape(_worker_prefix(ctx, w.name))}-[0-9a-f]{{8}}-[0-9]+", text) for w in ctx.app.workers
    )
