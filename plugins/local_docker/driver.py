"""The local driver: runs the phases against the Docker engine and reads Docker's labels
back for ``down``, ``status`` and ``logs``.

``up`` and ``down`` hold the stack's lock (:mod:`.lock`), which the core also takes
through :meth:`LocalDriver.lock` around the image build, so concurrent runs of one stack
build and roll out one after the other; SIGTERM during ``up`` is handled like Ctrl-C, so
the compute phase can remove the replicas it had not registered.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import shutil
import stat
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from functools import cache, partial
from typing import Any

from attrs import evolve

from deployer import docker_labels
from deployer import releases as core_releases
from deployer.docker_engine import STREAM_TIMEOUT, DockerEngine
from deployer.errors import DeployFailed, EnvironmentProblem, UsageError
from deployer.interrupts import sigterm_as_interrupt
from deployer.log_lines import merge
from deployer.models import Change, Check, Deployment, Image, LogLine, PhaseContext, Plan, Status, StatusRange
from deployer.plugins.local_docker import (
    compute,
    database,
    engine,
    lb_image,
    oneoff,
    releases,
    restarts,
    serving,
    workers,
)
from deployer.plugins.local_docker.host_port import check_port
from deployer.plugins.local_docker.lock import stack_lock
from deployer.plugins.local_docker.settings import of
from deployer.targets import RunPhases
from deployer.verify import wait_until_serving

SERVE_TIMEOUT = 30.0
"""Seconds ``up`` waits, after the phases, for the endpoint to answer the app's health
path with a 2xx through the load balancer."""
STATUS_POLL = 0.2
"""Seconds between two reads of the serving state while ``up`` waits for ``status`` to agree."""


class LocalDriver:
    """The :class:`~deployer.targets.Driver` of the ``local`` target."""

    def preflight(self, ctx: PhaseContext) -> None:
        """Before anything is built: the engine answers. For ``up`` (and ``rollback``)
        and ``plan``, which would create the stack's objects, also: no object deployer
        did not create for this app and stack holds a name ``up`` would create, and
        ``host_port`` is free (or this stack's own load balancer's); ``up`` checks the port
        again under the stack's lock, ``plan`` even with ``--offline``. The other commands
        only read or remove what is labelled with the stack, so a port or name held by
        someone else is not theirs to refuse. The load balancer image's base must be at
        hand when that image is not built yet (:func:`.lb_image.require_base_image`), and
        for ``up`` a ``[database]`` version runnable here (:func:`.database.require_available`).

        :raises EnvironmentProblem: the engine is not reachable.
        :raises ConfigError: ``targets.local.lb_base_image`` or ``database.version`` cannot
            run here.
        :raises UsageError: names each foreign object, or what holds the port; nothing was
            changed.
        """
        docker = engine.client()
        if ctx.mode not in ("up", "plan"):
            return
        named = engine.named_containers(docker, ctx)
        foreign = engine.foreign_holders(
            docker, ctx, named, containers=partial(_needs_container, ctx), volumes=partial(_needs_volume, ctx)
        )
        if foreign:
            raise UsageError(
                f"{', '.join(foreign)} already exist(s) without the labels of app {ctx.app.name!r}, "
                f"stack {ctx.stack!r}, and hold(s) a name this stack needs: nothing was changed. "
                "Remove or rename it (docker rm / docker network rm / docker volume rm), "
                "or deploy under another --stack"
            )
        check_port(docker, ctx)
        lb_image.require_base_image(docker, of(ctx), named, ctx.mode)
        if ctx.mode == "up" and ctx.app.database is not None:
            database.require_available(docker, ctx.app.database)

    def lock(self, ctx: PhaseContext) -> AbstractContextManager[None]:
        """The stack's lock (:func:`.lock.stack_lock`): the core holds it around the build
        and ``up``; ``up`` and ``down`` take it again at no cost."""
        return stack_lock(ctx.app.name, ctx.stack, timeout=of(ctx).lock_timeout, report=ctx.report)

    def up(self, ctx: PhaseContext, phases: RunPhases) -> Deployment:
        """Converge the stack and return once the endpoint answers the health path with a
        2xx through the load balancer (:func:`deployer.verify.wait_until_serving`)."""
        docker = engine.client()
        started = time.time()
        with self.lock(ctx), sigterm_as_interrupt(), docker.faults():
            check_port(docker, ctx)
            known = releases.listing(docker, ctx)
            try:
                results = phases(ctx)
                changed = any(c.action != "unchanged" for c in results.changes)
                if not changed:
                    ctx.report("everything is up to date: nothing changed")
                else:  # the first up after an upgrade replaced every container: the old names go too
                    _remove(docker, ctx, _leftovers(docker, ctx))
                _wait_until_serving(docker, ctx, results.ingress.endpoint)
                if changed:
                    _wait_until_status_agrees(docker, ctx)
                    workers.require_running(docker, ctx, since=started)
            except DeployFailed as failed:
                if not _routes_to_this_release(docker, ctx):
                    releases.record(docker, ctx, status=core_releases.FAILED, known=known)
                    raise
                made = _record_release(ctx, docker, known)  # the new version took the traffic: it is current
                if made is None:
                    raise
                raise DeployFailed(
                    f"{failed}\nThe load balancer routes to release {made.number}, the new version "
                    f"(`{ctx.command_line('rollback')}` goes back to the previous one); fix what failed and run up again."
                ) from None
            except KeyboardInterrupt:
                if _routes_to_this_release(docker, ctx):  # interrupted after the switch: it serves
                    _record_release(ctx, docker, known)
                raise
            _record_release(ctx, docker, known)
        return Deployment(
            target="local",
            stack=ctx.stack,
            endpoint=results.ingress.endpoint,
            outputs={
                "endpoint": results.ingress.endpoint,
                "network": results.network.extra.get("name"),
                "load_balancer": results.ingress.extra.get("container"),
                "image": results.registry.image_ref,
                "image_id": results.registry.image_id,
                "replicas": list(results.compute.extra.get("replicas", ())),
                "spec_hash": results.compute.extra.get("spec_hash"),
            },
        )

    def plan(self, ctx: PhaseContext, phases: RunPhases, *, offline: bool = False) -> Plan:
        """What ``up`` would change, from the phases run in ``plan`` mode; touches nothing.
        A host port ``up`` would refuse fails the plan too, with the same message (exit 2).
        ``offline`` makes no difference here: the local engine is always at hand."""
        check_port(engine.client(), ctx)
        results = phases(evolve(ctx, mode="plan"))
        changes = results.changes
        if any(c.action != "unchanged" for c in changes):
            changes += tuple(
                Change("remove", kind, name, "named by an earlier version of deployer")
                for kind, name, _ in _leftovers(engine.client(), ctx)
            )
        return Plan(
            target="local",
            stack=ctx.stack,
            changes=changes,
            outputs={"endpoint": results.ingress.endpoint},
            spec=results.compute.extra.get("spec"),
        )

    def down(self, ctx: PhaseContext, *, destroy_data: bool = False) -> None:
        """Remove the containers, networks and volumes labelled with this app and stack
        (and nothing else). Idempotent. The database's data volume is kept unless
        ``destroy_data`` (``down --destroy-data``, alias ``--volumes`` as docker compose)."""
        docker = engine.client()
        left: list[str] = []
        with self.lock(ctx), docker.faults():
            rows = engine.containers(docker, ctx)
            if rows:  # stopped first (SIGTERM): in-flight requests finish, as with compose down
                names = [engine.name(r) for r in rows]
                ctx.report(compute.stopping(names))
                paused = [engine.name(r) for r in rows if engine.is_paused(r)]
                compute.remove(docker, names, paused=paused)
            for network in docker.networks(engine.selector(ctx)):
                ctx.report(f"removing network {network['Name']}")
                try:
                    docker.api.remove_network(network["Id"])
                except docker.errors.NotFound:
                    pass
                except docker.errors.APIError as error:  # e.g. a container deployer did not create joined it
                    left.append(f"network {network['Name']}: {error.explanation or error}")
            for volume in docker.volumes(engine.selector(ctx)):
                if engine.role(volume) == database.ROLE_DATABASE_DATA and not destroy_data:
                    ctx.report(f"keeping volume {volume['Name']} (the database's data; down --destroy-data removes it)")
                    continue
                ctx.report(f"removing volume {volume['Name']}")
                try:
                    docker.api.remove_volume(volume["Name"], force=True)
                except docker.errors.NotFound:
                    pass
                except docker.errors.APIError as error:
                    left.append(f"volume {volume['Name']}: {error.explanation or error}")
            if not rows:
                ctx.report(f"no container of app {ctx.app.name!r}, stack {ctx.stack!r} was running")
        if left:
            raise DeployFailed(
                "down removed every container but could not remove:\n  "
                + "\n  ".join(left)
                + "\nDisconnect or remove what still uses them, then run down again."
            )

    def status(self, ctx: PhaseContext) -> Status:
        """Endpoint, healthy and desired replicas, image and age of what the load balancer
        serves (:mod:`.serving`), from one labelled listing and HAProxy's routes."""
        docker = engine.client()
        rows = engine.containers(docker, ctx)
        if not rows:
            return Status(target="local", stack=ctx.stack, deployed=False, desired=ctx.app.replicas.min)
        seen = serving.read(docker, ctx, rows, cache(partial(_restart_command, ctx, docker)))
        shown = seen.routed or seen.outside  # what serves, else what is there
        restarted = restarts.read(docker, shown)
        images = Counter(r["Image"] for r in shown)
        now = time.time()
        return Status(
            target="local",
            stack=ctx.stack,
            deployed=True,
            endpoint=seen.endpoint,
            healthy=seen.healthy,
            desired=ctx.app.replicas.min,
            image=images.most_common(1)[0][0] if images else None,
            spec=compute.expressed_spec(docker, shown, seen.members),
            advice=seen.advice,
            notice="; ".join(filter(None, [seen.notice, restarts.notice(ctx, restarted)])),
            details={
                **database.status(docker, rows),
                **workers.status(rows),
                **({"age": _age(now - max(r["Created"] for r in shown))} if shown else {}),
                "load_balancer": [
                    {"name": engine.name(r), "state": r["State"]} for r in rows if engine.role(r) == engine.ROLE_LB
                ],
                "replicas": [_replica(r, now, restarted) for r in seen.routed],
                "not_routed": [_replica(r, now, restarted) for r in seen.outside],
                "standby": [{"name": engine.name(r), "image": r["Image"]} for r in seen.standby],
            },
        )

    def logs(self, ctx: PhaseContext, *, follow: bool = False, since: dt.datetime | None = None) -> Iterator[LogLine]:
        """The replicas' and workers' lines merged by timestamp
        (:func:`deployer.log_lines.merge`: only those at or after ``since``), each with its
        container as ``source`` (``<8 hex>-<n>``, ``worker-<name>-<8 hex>-<n>``); with
        ``follow``, keep yielding lines as they come until every one is gone. With no
        container of the stack (nothing deployed, or after ``down``) a :class:`UsageError`
        says so, as ``exec`` does, rather than showing nothing."""
        docker = engine.client()
        start = int(since.timestamp()) if since is not None else None
        rows = engine.containers(docker, ctx, engine.ROLE_REPLICA) + engine.containers(docker, ctx, engine.ROLE_WORKER)
        if not rows:
            raise UsageError(
                f"no container of app {ctx.app.name!r} on stack {ctx.stack!r}, so no logs: "
                f"run `{ctx.command_line('up')}` first (down removes the containers and their logs)"
            )
        sources = {r["Id"]: engine.replica_source(ctx, engine.name(r)) for r in rows}
        if follow:
            return _follow(docker, sources, start)
        streams = [
            _lines(
                source,
                docker.patient(STREAM_TIMEOUT).logs(cid, stream=True, follow=False, timestamps=True, since=start),
            )
            for cid, source in sources.items()
        ]
        return merge(streams, since=since)

    def releases(self, ctx: PhaseContext) -> list[core_releases.Release]:
        """The stack's releases, oldest first, read from its release volumes; each says
        whether its image is still in the local image store (``rollback`` needs it)."""
        return releases.listing(engine.client(), ctx, check_images=True)

    def rollback_image(self, ctx: PhaseContext, release: core_releases.Release) -> Image:
        """``release``'s image from the local image store (:func:`.releases.rollback_image`)."""
        return releases.rollback_image(engine.client(), release)

    def exec(self, ctx: PhaseContext, command: Sequence[str], *, replica: int | None = None, tty: bool = False) -> int:
        """Run ``command`` in a running replica the load balancer routes to
        (:func:`.serving.in_service`) and return its exit code. With ``tty``,
        through the docker CLI (``docker exec -it``: the engine's exec with this terminal);
        when this process's standard input is a pipe or a file, through ``docker exec -i``,
        which sends it; otherwise through the engine API, streaming the output."""
        docker = engine.client()
        running = serving.in_service(docker, ctx)
        index = (replica or 1) - 1
        if index >= len(running):
            raise UsageError(
                f"--replica: {replica} is not running; {len(running)} replica(s) run (1 to {len(running)})"
            )
        name = engine.name(running[index])
        if tty or _input_is_piped():
            docker_cli = shutil.which("docker")
            if docker_cli is None:
                raise EnvironmentProblem(
                    "exec with a terminal or with piped input needs the docker CLI on PATH (the engine's exec "
                    "with your terminal and input); install it, or run the command with input from /dev/null"
                )
            return subprocess.call([docker_cli, "exec", "-it" if tty else "-i", name, *command])
        with docker.faults():  # an engine that stops answering, or closes the stream, is said so
            exec_id = docker.api.exec_create(name, list(command))["Id"]
            output = iter(docker.watched(lambda: docker.patient(None).exec_start(exec_id, stream=True, demux=True)))
        while True:  # silent as long as the command likes, while the engine answers
            with docker.faults():  # the engine's faults only: a reader gone (BrokenPipeError) is this side's
                frame = next(output, None)
            if frame is None:
                break
            for stream, data in zip((sys.stdout, sys.stderr), frame, strict=True):
                if data:
                    stream.buffer.write(data)
                    stream.flush()
        with docker.faults():
            code: int = docker.api.exec_inspect(exec_id)["ExitCode"] or 0
        return code

    def run(self, ctx: PhaseContext, command: Sequence[str]) -> int:
        """Run ``command`` once in a new container with the deployed image, env, secrets,
        network and database (:func:`.oneoff.run`); return its exit code."""
        return oneoff.run(ctx, command)


def _input_is_piped() -> bool:
    """Whether standard input is a pipe or a regular file: input for the command to read
    (a terminal, ``/dev/null`` or a closed input is not)."""
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (AttributeError, OSError, ValueError):  # no input, or one without a descriptor
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode)


def _wait_until_serving(docker: DockerEngine, ctx: PhaseContext, endpoint: str) -> None:
    """Return once ``endpoint`` answers the app's health path with a 2xx through the load
    balancer (:func:`deployer.verify.wait_until_serving`); its :class:`DeployFailed` also
    names the replicas that restarted, as a crash loop answers nothing."""
    healthy = Check(ctx.app.health.path, status=StatusRange(200, 299))
    try:
        wait_until_serving(endpoint, [healthy], SERVE_TIMEOUT, request_timeout=ctx.app.health.timeout + 1)
    except DeployFailed as failed:
        crashed = restarts.notice(ctx, restarts.read(docker, engine.containers(docker, ctx, engine.ROLE_REPLICA)))
        if not crashed:
            raise
        raise DeployFailed(f"{failed}\n  {crashed}") from None


def _wait_until_status_agrees(docker: DockerEngine, ctx: PhaseContext) -> None:
    """After ``up`` changed something and the endpoint serves: wait until ``status`` counts
    the desired replicas healthy, so that ``up && status`` holds. A load balancer just
    replaced checks the replicas afresh, and a replica just started waits for Docker's
    first check: both come within two health intervals. Returns anyway after that (then
    ``status`` says what is missing)."""
    deadline = time.monotonic() + 2 * of(ctx).health_interval + 1
    while time.monotonic() < deadline:
        seen = serving.read(docker, ctx, engine.containers(docker, ctx), partial(ctx.command_line, "up"))
        if seen.healthy >= ctx.app.replicas.min:
            return
        time.sleep(STATUS_POLL)


def _routes_to_this_release(docker: DockerEngine, ctx: PhaseContext) -> bool:
    """After an interrupt or a failure: the engine still answers, and the load balancer
    routes only to replicas of the spec ``ctx`` deploys (the rollout had switched), so
    that release is the one serving and must be in the history as the current one."""
    if ctx.image is None or not docker.answers():
        return False
    wanted = compute.spec_hash(compute.fingerprint(ctx, ctx.image.id, of(ctx)))
    try:
        routed = serving.in_service(docker, ctx)
    except UsageError:  # no replica runs
        return False
    return all(row["Labels"].get(docker_labels.SPEC_HASH) == wanted for row in routed)


def _record_release(
    ctx: PhaseContext, docker: DockerEngine, known: list[core_releases.Release]
) -> core_releases.Release | None:
    """Record the release ``up`` just deployed, and say when it replaces a rollback;
    return it (None when it is the current release already)."""
    made = releases.record(docker, ctx, status=core_releases.DEPLOYED, known=known)
    if made is None:
        return None
    replaced = core_releases.current(known)
    if not made.note and replaced is not None and replaced.rolled_back_to is not None:
        ctx.report(
            f"release {made.number}: deployed the working tree again "
            f"(replacing release {replaced.number}, a {replaced.note})"
        )
    else:
        ctx.report(f"release {made.number} recorded" + (f" ({made.note})" if made.note else ""))
    return made


def _restart_command(ctx: PhaseContext, docker: DockerEngine) -> str:
    """The command that brings the stack back: ``up``, or, when the release serving is a
    rollback to release N, ``rollback N`` (``up`` would deploy the working tree)."""
    serving_release = core_releases.current(releases.listing(docker, ctx))
    back_to = serving_release.rolled_back_to if serving_release is not None else None
    return ctx.command_line(f"rollback {back_to}" if back_to is not None else "up")


def _replica(row: dict[str, Any], now: float, restarted: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A replica as ``status`` details it (with its restarts when it restarted)."""
    return {
        "name": engine.name(row),
        "state": row["State"],
        "health": engine.health(row),
        "image": row["Image"],
        "age": _age(now - row["Created"]),
        **restarted.get(engine.name(row), {}),
    }


def _leftovers(docker: DockerEngine, ctx: PhaseContext) -> list[tuple[str, str, str]]:
    """This stack's networks and volumes (found by label) whose names are not the current
    ones: made by an earlier version of deployer (``deployer-<app>-<stack>``). Their
    containers were replaced by the phases; ``(kind, name, id)`` each."""
    networks = [
        ("network", n["Name"], n["Id"])
        for n in docker.networks(engine.selector(ctx))
        if n["Name"] != engine.network_name(ctx)
    ]
    volumes = [
        ("volume", v["Name"], v["Name"])
        for v in docker.volumes(engine.selector(ctx))
        if v["Name"] != engine.lb_volume_name(ctx)
        and engine.role(v) != database.ROLE_DATABASE_DATA  # data: only down --destroy-data removes it
        and engine.role(v) != releases.ROLE_RELEASE  # release records: kept, found by label
    ]
    return networks + volumes


def _remove(docker: DockerEngine, ctx: PhaseContext, objects: list[tuple[str, str, str]]) -> None:
    """Remove leftover networks and volumes; one already gone is fine, one Docker refuses
    to remove is reported (``down`` removes it once what holds it is gone)."""
    for kind, name, ref in objects:
        ctx.report(f"removing {kind} {name}, named by an earlier version of deployer")
        try:
            if kind == "network":
                docker.api.remove_network(ref)
            else:
                docker.api.remove_volume(ref, force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as error:
            ctx.report(f"kept {kind} {name}: {error.explanation or error}")


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def _lines(source: str, chunks: Iterable[bytes]) -> Iterator[LogLine]:
    """``source``'s log lines from the chunks of Docker's ``logs(timestamps=True)`` stream,
    each as soon as it is complete (a chunk may hold several lines, or part of one)."""
    rest = b""
    for chunk in chunks:
        *complete, rest = (rest + chunk).split(b"\n")
        for line in complete:
            yield _line(source, line)
    if rest:
        yield _line(source, rest)


def _line(source: str, raw: bytes) -> LogLine:
    timestamp, _, text = raw.decode(errors="replace").rstrip("\r").partition(" ")
    return LogLine(source=source, text=text, timestamp=timestamp)


def _follow(docker: DockerEngine, sources: dict[str, str], start: int | None) -> Iterator[LogLine]:
    """The containers' lines as they come, until every container is gone. Each stream may
    stay silent as long as the engine answers pings (:meth:`DockerEngine.watched`); one
    that stops answering, or any stream's error, ends them all with that error."""
    lines: queue.Queue[LogLine | BaseException | None] = queue.Queue()  # None: a stream ended

    def pump(cid: str, source: str) -> None:
        try:
            stream = docker.watched(
                lambda: docker.patient(None).logs(cid, stream=True, follow=True, timestamps=True, since=start)
            )
            for line in _lines(source, stream):
                lines.put(line)
            lines.put(None)
        except docker.errors.NotFound:  # removed (a rollout) between the listing and its stream
            lines.put(None)
        except BaseException as error:  # handed to the reader, raised there (the engine failing: said so)
            lines.put(docker.fault(error) or error)

    for cid, source in sources.items():
        threading.Thread(target=pump, args=(cid, source), daemon=True).start()
    open_streams = len(sources)
    while open_streams:
        item = lines.get()
        if item is None:
            open_streams -= 1
        elif isinstance(item, BaseException):
            raise item
        else:
            yield item


def _needs_container(ctx: PhaseContext, text: str) -> bool:
    """``up`` may create a container named ``text``: the load balancer, a replica, a
    worker, or the database."""
    return (
        text == engine.lb_name(ctx)
        or engine.is_replica_name(ctx, text)
        or workers.is_worker_name(ctx, text)
        or (ctx.app.database is not None and text == database.name(ctx))
    )


def _needs_volume(ctx: PhaseContext, text: str) -> bool:
    """``up`` may create a volume named ``text``: the load balancer's config, the database's data."""
    return text == engine.lb_volume_name(ctx) or (ctx.app.database is not None and text == database.volume_name(ctx))
