"""Phase 4, compute: ``replicas`` containers of the app image, registered into the load
balancer, replaced by a zero-downtime rolling update when the image or spec changes.

Every replica is labelled with :data:`~deployer.docker_labels.SPEC_FIELDS`, what it is
made from field by field (:func:`fingerprint`: the image ID, the app spec, the local
settings that shape a replica; secret values only as HMACs under a machine-local key,
:mod:`.secret_key`), and :data:`~deployer.docker_labels.SPEC_HASH`, a hash of those. An
``up`` whose hash, replica count and load balancer config all match touches nothing (the load balancer's routes are read from HAProxy itself, see
:func:`~.lb_routes.routes`). Otherwise:

1. the missing replicas start (new hash) and must pass their health check within
   ``health_timeout``; if one fails, every unregistered new replica is removed and
   :class:`~deployer.errors.DeployFailed` carries its last log lines: the load balancer
   was never changed, so the old version keeps serving;
2. the load balancer is reloaded to route to exactly the new set;
3. once the replicas that left it have no request in flight (the HAProxy worker from
   before the reload has exited; at most ``drain_seconds``), they are stopped and
   removed, as are stopped or surplus ones.

New replicas start without their CPU limit and are probed directly (:mod:`.probe`); the
limit is applied once they pass their check, before they get traffic (:mod:`.cpu_boost`).

An interrupted ``up`` removes the replicas it started and had not registered, unless the
engine failed or does not answer (then nothing waits on it); a replica left behind (or by
a hard kill) is reused or removed by the next ``up``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection
from multiprocessing.pool import ThreadPool
from typing import Any

from deployer import docker_labels
from deployer.docker_engine import DockerEngine, config_env
from deployer.errors import DeployFailed
from deployer.healthcheck import docker_health_config
from deployer.models import (
    Change,
    ComputeResult,
    ExpressedSpec,
    IngressResult,
    NetworkResult,
    PhaseContext,
    RegistryResult,
)
from deployer.plugins.local_docker import cpu_boost, engine, lb_routes, probe, secret_key
from deployer.plugins.local_docker.haproxy_config import Routes, Upstream, config_id
from deployer.plugins.local_docker.settings import LocalSettings, of

STOP_TIMEOUT = 10
"""Seconds a replica gets between SIGTERM and SIGKILL when it is stopped."""
_LOG_LINES = 20
"""The log lines a failed replica's error shows (:func:`_log_excerpt`)."""
_LOG_TAIL = 500
"""The last lines of a failed replica's log that excerpt is taken from."""

# --- what a replica is -------------------------------------------------------------------


FIELDS = (
    "image",
    "port",
    "command",
    "env names",
    "env values",
    "secret values",
    "service values",
    "cpu",
    "memory",
    "health",
    "settings",
)
"""What a replica is made of, by the names a plan's :attr:`~deployer.models.Change.fields` use."""


def fingerprint(ctx: PhaseContext, image_id: str, settings: LocalSettings) -> dict[str, Any]:
    """Everything a replica is created from, field by field, with no secret value: public
    fields as short hashes, env values, secret values and the backing services' values
    (a database's URL and password) per name (secrets and service values keyed with the
    machine-local key, :mod:`.secret_key`; made on the first ``up`` that needs it, only
    read by ``plan``). Stored on every replica (:data:`~deployer.docker_labels.SPEC_FIELDS`),
    so a plan can say which fields a replacement changes."""
    app = ctx.app
    public = {
        "image": image_id,
        "port": app.port,
        "command": app.command,
        "env names": [sorted(app.env), sorted(app.secrets)],  # a name moving between them counts
        "cpu": app.cpu,
        "memory": app.memory,
        "health": [
            app.health.path,
            app.health.timeout,
            app.health.retries,
            app.health.start_period,
            settings.health_interval,
        ],
        "settings": [settings.read_only, settings.restart, engine.network_name(ctx), engine.PIDS_LIMIT],
    }
    return {
        **{name: _short(value) for name, value in public.items()},
        "env values": {name: _short(value) for name, value in sorted(app.env.items())},
        "secret values": secret_key.fingerprints(ctx.secrets, create=ctx.mode == "up"),
        "service values": secret_key.fingerprints(
            ctx.services.env if ctx.services is not None else {}, create=ctx.mode == "up"
        ),
    }


def _short(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:12]


def spec_hash(fields: dict[str, Any]) -> str:
    """The replica's identity, a hash of its :func:`fingerprint`: it changes exactly when
    replicas must be replaced, and holds no secret value (nor an unkeyed hash of one)."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def changed_fields(wanted: dict[str, Any], row: dict[str, Any]) -> tuple[str, ...]:
    """Which :data:`FIELDS` differ between ``wanted`` (a :func:`fingerprint`) and the
    replica ``row`` (a container summary), from its fingerprint label; a replica made by
    an older deployer without one is compared on its image only (empty: cannot tell)."""
    labels = row.get("Labels") or {}
    try:
        had = json.loads(labels[docker_labels.SPEC_FIELDS])
    except (KeyError, ValueError):
        return _changed_without_fingerprint(wanted, row)
    changed = []
    for name in FIELDS:
        old, new = had.get(name), wanted.get(name)
        if name in ("env values", "secret values", "service values"):  # per variable: only those in both count
            old, new = old or {}, new or {}
            if any(old[k] != new[k] for k in old.keys() & new.keys()):
                changed.append(name)
        elif old != new:
            changed.append(name)
    return tuple(changed)


def _changed_without_fingerprint(wanted: dict[str, Any], row: dict[str, Any]) -> tuple[str, ...]:
    """Only the image can be told apart (the summary's ``ImageID``); else nothing."""
    if row.get("ImageID") and _short(row["ImageID"]) != wanted["image"]:
        return ("image",)
    return ()


def _create(
    docker: DockerEngine,
    ctx: PhaseContext,
    settings: LocalSettings,
    image: str,
    name: str,
    network: str,
    fields: dict[str, Any],
) -> str:
    app = ctx.app
    # no CPU limit while it starts: cpu_boost.limit applies it once healthy
    host_config = engine.hardened_host_config(
        docker,
        settings,
        memory=app.memory,
        restart_policy={"Name": settings.restart},
        cpu_shares=cpu_boost.BOOST_SHARES,
    )
    created = docker.api.create_container(
        image,
        name=name,
        command=list(app.command) if app.command else None,
        hostname=engine.hostname(name),
        environment={**app.env, **(ctx.services.env if ctx.services else {}), **ctx.secrets, "PORT": str(app.port)},
        labels=engine.labels(
            ctx,
            engine.ROLE_REPLICA,
            **{
                docker_labels.SPEC_HASH: spec_hash(fields),
                docker_labels.SPEC_FIELDS: json.dumps(fields, sort_keys=True, separators=(",", ":")),
                docker_labels.ENV_NAMES: ",".join(sorted((*app.env, *ctx.secrets))),
                docker_labels.HEALTH_PATH: app.health.path,
                docker_labels.COMMAND_SET: "true" if app.command else "false",
            },
        ),
        healthcheck=docker_health_config(app, interval=settings.health_interval),
        host_config=host_config,
        networking_config=docker.api.create_networking_config({network: docker.api.create_endpoint_config()}),
    )
    docker.api.start(created["Id"])
    return created["Id"]


def planned_spec(ctx: PhaseContext, image_id: str) -> ExpressedSpec:
    """How :func:`_create` expresses the spec (for ``plan``)."""
    return ExpressedSpec.from_app(ctx.app, image_id)


def expressed_spec(docker: DockerEngine, rows: list[dict[str, Any]], replicas: int) -> ExpressedSpec | None:
    """How the running replicas express the spec, read back from the newest one's
    container config (``rows`` are replica summaries; ``replicas``: how many the load
    balancer is set to route to, so a replica gone since does not change the spec);
    None when none runs."""
    running = [r for r in rows if engine.is_up(r)]
    if not running:
        return None
    newest = max(running, key=lambda r: r["Created"])
    info = docker.container(newest["Id"])
    if info is None:  # removed since it was listed
        return None
    env = config_env(info["Config"])
    names = tuple(n for n in newest["Labels"].get(docker_labels.ENV_NAMES, "").split(",") if n and n in env)
    host = info["HostConfig"]
    command_set = newest["Labels"].get(docker_labels.COMMAND_SET) == "true"
    return ExpressedSpec(
        image_id=info["Image"],
        port=int(env.get("PORT", 0)),
        env_names=names,
        health_path=newest["Labels"].get(docker_labels.HEALTH_PATH, ""),
        cpu=cpu_boost.cpus(host),
        memory=host.get("Memory", 0) // 2**20,
        replicas=replicas,
        command=tuple(info["Config"]["Cmd"]) if command_set else None,
    )


UNBUILT = "<new>"
"""What a plan names new replicas by (``<prefix>-<new>-1``) while their image is not built."""


def _new_names(ctx: PhaseContext, digest: str, taken: set[str], count: int) -> list[str]:
    names: list[str] = []
    index = 1
    while len(names) < count:
        candidate = engine.replica_name(ctx, digest, index)
        if candidate not in taken:
            names.append(candidate)
        index += 1
    return names


# --- the phase ---------------------------------------------------------------------------


def apply(
    ctx: PhaseContext, network: NetworkResult, registry: RegistryResult, ingress_result: IngressResult
) -> ComputeResult:
    """Converge the replicas on the spec (``plan``: list the changes, touch nothing)."""
    settings = of(ctx)
    upstream: Upstream = ingress_result.attach
    docker = engine.client()
    fields = fingerprint(ctx, registry.image_id, settings)
    digest = spec_hash(fields)
    wanted = ctx.app.replicas.min
    rows = engine.containers(docker, ctx, engine.ROLE_REPLICA)
    routed = lb_routes.routes(docker, upstream)
    members = routed.members if routed else ()
    network_name = network.extra.get("name", engine.network_name(ctx))

    standby = [r for r in rows if engine.is_standby(r, members)]
    # replicas of the spec that can serve: on the stack's network, running or paused (the
    # standby, or one paused by hand, which is resumed); any other is replaced
    current = [
        r
        for r in rows
        if r["Labels"].get(docker_labels.SPEC_HASH) == digest
        and engine.on_network(r, network_name)
        and (engine.is_up(r) or engine.is_paused(r))
    ]
    current.sort(key=lambda r: (engine.name(r) not in members, r in standby, engine.name(r)))
    keep = current[:wanted]
    resumed = [engine.name(r) for r in keep if engine.is_paused(r)]
    surplus = [r for r in rows if r not in keep and r not in standby]
    # the replicas leaving the load balancer for good become the standby, paused; the
    # standby they replace goes
    leaving = [
        r
        for r in surplus
        if engine.name(r) in members
        and r["Labels"].get(docker_labels.SPEC_HASH) != digest
        and engine.on_network(r, network_name)
    ]
    retired = [r for r in standby if r not in keep] if leaving else []
    # before its image is built (a plan), the new spec's hash, and so its replicas' names, are unknown
    named = digest if registry.image_id else UNBUILT
    new_names = _new_names(ctx, named, {engine.name(r) for r in rows}, wanted - len(keep))
    final = tuple(sorted([engine.name(r) for r in keep] + new_names))
    reload_needed = routed != Routes(config_id(upstream), final)

    changes = _changes(
        registry,
        fields,
        digest,
        keep,
        [*surplus, *retired],
        new_names,
        reload_needed and routed is not None,
        upstream,
        standby=standby,
        leaving=leaving,
        network=network_name,
    )
    extra = {"spec_hash": digest, "replicas": final, "spec": planned_spec(ctx, registry.image_id)}
    result = ComputeResult(service=engine.prefix(ctx), replicas=wanted, extra=extra, changes=changes)
    if ctx.mode == "plan" or not (new_names or surplus or reload_needed or resumed):
        return result

    unregistered = [engine.name(r) for r in keep if engine.name(r) not in members]
    what = "the paused replicas" if set(resumed) & set(members) else "the standby"  # paused by hand: routed
    if resumed and not _resume(docker, ctx, resumed, what):
        return apply(ctx, network, registry, ingress_result)  # the standby is gone: start anew
    _start_and_check(docker, ctx, settings, registry, network, fields, new_names, unregistered, resumed)
    if reload_needed:
        workers = _switch_routes(
            docker,
            ctx,
            upstream,
            final,
            members,
            endpoint=ingress_result.endpoint,
            started=unregistered + new_names,
            drain_seconds=settings.drain_seconds,
        )
    else:
        workers = ()
    _retire(
        docker,
        ctx,
        settings,
        [r for r in [*surplus, *retired] if r not in leaving],
        leaving,
        drained=set(members) - set(final),
        upstream=upstream,
        workers=workers,
    )
    if resumed:
        _await_docker_health(docker, ctx, settings, resumed)
    return result


def _switch_routes(
    docker: DockerEngine,
    ctx: PhaseContext,
    upstream: Upstream,
    final: tuple[str, ...],
    previous: tuple[str, ...],
    *,
    endpoint: str,
    started: list[str],
    drain_seconds: int,
) -> tuple[int, ...]:
    """Route to ``final`` and wait until the load balancer's own checks pass on them and
    it serves the health path through them; return the HAProxy workers from before the
    reload (:func:`.lb_routes.register`).
    When it does not serve (or the wait is interrupted), route back to ``previous``, let
    the requests the ``started`` replicas took finish (at most ``drain_seconds``) and
    remove those replicas before raising: the previous version keeps serving."""
    ctx.report(f"load balancer: routing to {', '.join(final)}")
    try:  # an interrupt while the new routes are written and loaded routes back too
        workers = lb_routes.register(docker, upstream, final)
        lb_routes.wait_routed(docker, upstream, final, timeout=30)
        lb_routes.wait_checked(upstream.stats_port, final, ctx.app.health.path, timeout=30)
        lb_routes.wait_serving(endpoint, ctx.app.health.path, timeout=30, answer_within=ctx.app.health.timeout + 1)
    except BaseException as error:

        def route_back() -> None:
            ctx.report(f"load balancer: routing back to {', '.join(previous) or 'no replica'}")
            routed_new = lb_routes.register(docker, upstream, previous)
            lb_routes.wait_routed(docker, upstream, previous, timeout=30)
            lb_routes.wait_drained(docker, upstream, routed_new, drain_seconds)
            remove(docker, started)

        _clean_up(docker, ctx, error, route_back)
        if isinstance(error, DeployFailed):
            raise DeployFailed(
                f"{error}\nThe load balancer routes to the previous version again, if any; the new replicas "
                "were removed."
            ) from None
        raise
    return workers


def _clean_up(docker: DockerEngine, ctx: PhaseContext, error: BaseException, clean_up: Callable[[], None]) -> None:
    """Run ``clean_up`` after ``error`` unless the engine failed or, after Ctrl-C, does not
    answer (:meth:`~deployer.docker_engine.DockerEngine.can_clean_up_after`): then say
    that the next ``up`` removes what this one started, and return at once."""
    if docker.can_clean_up_after(error):
        clean_up()
    else:
        ctx.report("the Docker engine does not answer: the next `up` removes the replicas this one started")


def _changes(
    registry: RegistryResult,
    fields: dict[str, Any],
    digest: str,
    keep: list[dict[str, Any]],
    surplus: list[dict[str, Any]],
    new_names: list[str],
    routes_change: bool,
    upstream: Upstream,
    *,
    standby: list[dict[str, Any]],
    leaving: list[dict[str, Any]],
    network: str,
) -> tuple[Change, ...]:
    """The plan lines of this phase. A running replica of another spec that a new or
    resumed one takes the place of is a ``replace`` naming the fields that differ (and
    saying when it becomes the paused standby); a standby taken back, or a replica paused
    by hand, is an ``update`` of its state; new replicas beyond those are ``create``, old
    ones beyond them (fewer replicas, stopped ones, ones off the stack's ``network``, the
    standby a newer one replaces) ``remove``. A routes update
    is listed only for an existing load balancer (a new one is created with its routes)."""
    changes = [
        Change("update", "container", engine.name(r), "standby resumed", fields=("state",))
        if r in standby
        else Change("update", "container", engine.name(r), "paused replica resumed", fields=("state",))
        if engine.is_paused(r)
        else Change("unchanged", "container", engine.name(r), "replica")
        for r in keep
    ]
    incoming = [engine.name(r) for r in keep if r in standby] + new_names
    old = [r for r in surplus if engine.is_up(r) and r["Labels"].get(docker_labels.SPEC_HASH) != digest]
    replaced = list(zip(old, incoming, strict=False))
    for row, new_name in replaced:
        then = "; then paused, the standby for a rollback" if row in leaving else ""
        changes.append(
            Change(
                "replace",
                "container",
                engine.name(row),
                f"by {new_name}, after draining{then}",
                fields=changed_fields(fields, row),
            )
        )
    changes += [
        Change("create", "container", n, f"replica of {registry.image_ref}")
        for n in incoming[len(replaced) :]
        if n in new_names
    ]
    gone = {engine.name(row) for row, _ in replaced}
    for row in surplus:
        if engine.name(row) in gone:
            continue
        if row in standby:
            changes.append(Change("remove", "container", engine.name(row), "the standby of an older release"))
            continue
        if row in leaving:
            changes.append(
                Change(
                    "update",
                    "container",
                    engine.name(row),
                    "paused after draining: the standby for a rollback",
                    fields=("state",),
                )
            )
            continue
        if not engine.is_up(row):
            why = f"{row.get('State', 'stopped')} replica"
        elif not engine.on_network(row, network):
            why = f"replica not on the stack's network {network}"
        elif row["Labels"].get(docker_labels.SPEC_HASH) == digest:
            why = "surplus replica"
        else:
            why = "old version"
        changes.append(Change("remove", "container", engine.name(row), f"{why}, after draining"))
    if routes_change:
        changes.append(
            Change(
                "update",
                "load-balancer-routes",
                upstream.container,
                f"route to {len(keep) + len(new_names)} replica(s)",
                fields=("servers",),
            )
        )
    return tuple(changes)


def _start_and_check(
    docker: DockerEngine,
    ctx: PhaseContext,
    settings: LocalSettings,
    registry: RegistryResult,
    network: NetworkResult,
    fields: dict[str, Any],
    new_names: list[str],
    unregistered: list[str],
    resumed: list[str],
) -> None:
    """Start ``new_names`` and wait until they and ``unregistered`` (``resumed`` among
    them: just unpaused) are healthy; on any failure or interruption remove all of them,
    so none is left outside the load balancer."""
    network_name = network.extra.get("name", engine.network_name(ctx))
    pending = list(unregistered)
    creates = _Creates()
    try:
        for name in new_names:
            ctx.report(f"starting replica {name}")
            pending.append(name)

        def start(name: str) -> str | None:
            if not creates.begin():
                return None  # interrupted: no more creates
            try:
                _create(docker, ctx, settings, registry.image_ref, name, network_name, fields)
            except docker.errors.APIError as error:  # e.g. the spec's command is not in the image
                return f"replica {name} of the new version could not start: {error.explanation or error}"
            finally:
                creates.end()
            return None

        if new_names:  # in parallel: each create and start is a few engine round trips
            # daemon threads: a stalled engine holds up no exit (the clean-up waits for them
            # at most START_SETTLE, and only while the engine answers)
            with ThreadPool(min(8, len(new_names))) as pool:
                problems = [p for p in pool.map(start, new_names) if p]
            if problems:
                raise DeployFailed(
                    f"{problems[0]}.\nThe new replicas were removed; the previous version, if any, keeps serving."
                )
        if pending:
            ctx.report(
                f"waiting for {len(pending)} replica(s) to pass their health check "
                f"(GET {ctx.app.health.path}, up to {settings.health_timeout} s)"
            )
            _wait_healthy(docker, ctx, settings, spec_hash(fields), pending, network_name, set(resumed))
    except BaseException as error:

        def clean_up() -> None:
            if not creates.stop(START_SETTLE):  # a create still in flight would outlive the removal
                ctx.report(
                    f"a replica still being created after {START_SETTLE} s may be left: the next `up` removes it"
                )
            remove(docker, pending)

        _clean_up(docker, ctx, error, clean_up)
        raise


START_SETTLE = 10
"""Seconds a clean-up after an interruption waits for the creates in flight to return, so
that it removes the replicas they made too."""


class _Creates:
    """The replicas' creates on the pool's threads (each between :meth:`begin` and
    :meth:`end`); once :meth:`stop` is called, none begins."""

    def __init__(self) -> None:
        self._running = 0
        self._stopped = False
        self._changed = threading.Condition()

    def begin(self) -> bool:
        """Whether a create may begin (False once stopped); if so, it is counted."""
        with self._changed:
            if self._stopped:
                return False
            self._running += 1
            return True

    def end(self) -> None:
        with self._changed:
            self._running -= 1
            self._changed.notify_all()

    def stop(self, timeout: float) -> bool:
        """Let no create begin, and wait until none runs, at most ``timeout`` seconds;
        whether none runs."""
        with self._changed:
            self._stopped = True
            return self._changed.wait_for(lambda: self._running == 0, timeout)


def _wait_healthy(
    docker: DockerEngine,
    ctx: PhaseContext,
    settings: LocalSettings,
    digest: str,
    names: list[str],
    network: str,
    resumed: Collection[str],
) -> None:
    """Return once every replica of ``names`` answers its health path (deployer's own probe,
    or Docker's check where the probe cannot reach it); raise :func:`_failure` for one that
    stops, listens on loopback only, fails Docker's check or is not healthy in time. For
    ``resumed`` ones (the standby, just unpaused) Docker's "unhealthy" does not count: it
    failed them while they were frozen, and an app may take a moment after a long pause
    (gunicorn replaces the workers whose heartbeat went stale)."""
    deadline = time.monotonic() + settings.health_timeout
    filters = engine.selector(ctx, engine.ROLE_REPLICA)
    filters["label"].append(f"{docker_labels.SPEC_HASH}={digest}")
    addresses: dict[str, str | None] = {}
    passed: set[str] = set()  # answered the direct probe, or Docker's check where the probe cannot reach
    refused: Counter[str] = Counter()  # refusals in a row while Docker's check passes
    while True:
        rows = {engine.name(r): r for r in docker.containers(filters)}
        waiting = []
        for name in names:
            row = rows.get(name)
            if row is None or row["State"] in ("exited", "dead", "restarting"):
                raise _failure(docker, ctx, name, row, "stopped before it became healthy", resumed=name in resumed)
            if name in passed:
                continue
            if addresses.get(name) is None and row["State"] == "running":
                addresses[name] = probe.address(docker, name, network)
            ip = addresses.get(name)
            answer = probe.answer(ip, ctx.app.port, ctx.app.health.path) if ip else probe.NO_ANSWER
            health = engine.health(row)
            if name in resumed and health == "unhealthy":  # Docker failed it while frozen: stale
                health = "starting"
            if answer == probe.HEALTHY or (health == "healthy" and answer == probe.NO_ANSWER):
                passed.add(name)  # Docker's own first check may come a whole interval later
            elif health == "healthy":  # answers on 127.0.0.1 inside, refuses on the network
                refused[name] += 1
                if refused[name] >= LOOPBACK_REFUSALS:
                    raise _failure(docker, ctx, name, row, _listens_on_loopback(ip, ctx.app.port))
                waiting.append(name)
            elif health == "unhealthy":
                raise _failure(docker, ctx, name, row, _failed_check(ctx, settings), check_failed=True)
            else:
                waiting.append(name)
        if not waiting:
            cpu_boost.limit(docker, names, ctx.app.cpu)  # the start-up boost ends before any traffic
            return
        if time.monotonic() > deadline:
            raise _failure(
                docker,
                ctx,
                waiting[0],
                rows.get(waiting[0]),
                f"was not healthy after {settings.health_timeout} s (health_timeout): if the app needs longer, "
                f"raise health_timeout under [targets.local]",
                resumed=waiting[0] in resumed,
            )
        time.sleep(probe.INTERVAL)


LOOPBACK_REFUSALS = 10
"""Refused direct probes in a row (:data:`.probe.INTERVAL` apart) after Docker's check
passed that mean the app listens on 127.0.0.1 only, not that it is still binding."""


def _listens_on_loopback(ip: str | None, port: int) -> str:
    return (
        f"answers its health check inside the container (on 127.0.0.1) but refuses connections on its "
        f"network address {ip}:{port}, where the load balancer reaches it: the app listens on 127.0.0.1 only. "
        "Make it listen on every interface, 0.0.0.0 (e.g. gunicorn --bind 0.0.0.0:$PORT)"
    )


def _failed_check(ctx: PhaseContext, settings: LocalSettings) -> str:
    health = ctx.app.health
    return (
        f"failed its health check: Docker counts failures after [app.health] start_period ({health.start_period} s) "
        f"and marks a replica unhealthy after {health.retries} in a row ({settings.health_interval} s apart)"
    )


_ANSWERED = re.compile(r"\bstatus (\d{3})\b")


def check_hint(output: str, port: int) -> str:
    """What to change after a failed health check, as a sentence: from its ``output``, the
    status when the app answered (it is up, the answer is wrong), that it answered too late
    when the check timed out (the probe's "timed out", Docker's "exceeded timeout"), else
    where it must listen or more time to start."""
    answered = _ANSWERED.search(output)
    if answered is None and ("timed out" in output or "exceeded timeout" in output):
        return (
            f"The app took the connection on port {port} but did not answer in time: it may be stuck "
            "starting, or its health path blocks. Make it answer sooner, or raise [app.health] timeout."
        )
    if answered is None:
        return (
            f"Nothing answered on port {port}: the app must listen on 0.0.0.0:{port} ([app] port), "
            "or, if it needs longer to start, raise [app.health] start_period."
        )
    if answered[1].startswith("3"):
        return f"The health path must answer a 2xx itself, not a redirect ({answered[1]}): redirects are not followed."
    return f"The health path must answer a 2xx, not {answered[1]}."


def _resume(docker: DockerEngine, ctx: PhaseContext, names: list[str], what: str) -> bool:
    """Unpause ``names`` (``what`` they are: the standby, or replicas paused by hand);
    when Docker cannot, remove them all and return False (the rollout then starts new
    replicas instead)."""
    ctx.report(f"resuming {what} {', '.join(names)}")
    try:
        for name in names:
            docker.api.unpause(name)
    except docker.errors.APIError as error:
        ctx.report(f"{what} could not be resumed ({error.explanation or error}): removing them")
        remove(docker, names, paused=names)
        return False
    return True


def _await_docker_health(docker: DockerEngine, ctx: PhaseContext, settings: LocalSettings, names: list[str]) -> None:
    """Wait until Docker's own health check reports the resumed ``names`` healthy again
    (it failed them while they were frozen; its next run, within ``health_interval``,
    passes), so that ``status`` agrees once ``up`` returns. They already serve: this
    only delays the return, at most one interval plus the check's timeout."""
    started = time.monotonic()
    cap = settings.health_interval + ctx.app.health.timeout
    filters = engine.selector(ctx, engine.ROLE_REPLICA)
    while time.monotonic() - started < cap:
        rows = {engine.name(r): r for r in docker.containers(filters)}
        if all(engine.health(rows[n]) == "healthy" for n in names if n in rows):
            ctx.report(
                f"{', '.join(names)}: Docker's health check passed again {time.monotonic() - started:.2f} s later"
            )
            return
        time.sleep(probe.INTERVAL)
    ctx.report(f"{', '.join(names)}: serving, but Docker's health check has not passed them again after {cap} s")


def _failure(
    docker: DockerEngine,
    ctx: PhaseContext,
    name: str,
    row: dict[str, Any] | None,
    what: str,
    *,
    check_failed: bool = False,
    resumed: bool = False,
) -> DeployFailed:
    """The error of a new replica that did not become healthy: ``what`` happened, how it
    ended (exit code, out of memory), its last health check output (with :func:`check_hint`
    after it when the ``check_failed``), its log lines, the fix when the logs show a write
    to the read-only root filesystem, and the image's ``EXPOSE`` when it names other ports
    than the app's."""
    check, ended, logs, exposed = "", "", "", ""
    if row is not None:
        try:
            info = docker.api.inspect_container(row["Id"])
            state = info["State"]
            ports = sorted((info["Config"].get("ExposedPorts") or {}).keys())
            if ports and f"{ctx.app.port}/tcp" not in ports:
                exposed = (
                    f"\nThe image EXPOSEs {', '.join(ports)}, not [app] port {ctx.app.port}: set port to the one "
                    "the app listens on"
                )
            health = state.get("Health") or {}
            if health.get("Log"):
                output = ctx.hide_secrets(health["Log"][-1]["Output"].strip())
                hint = f"\n{check_hint(output, ctx.app.port)}" if check_failed else ""
                tool = ctx.image.probe if ctx.image else None
                shown = output or (
                    f"(none: the check's {tool} prints nothing)" if tool in ("curl", "wget") else "(none)"
                )
                check = f"\nlast health check output: {shown}{hint}"
            listed = engine.listed_exit_code(row)
            if listed is not None or state.get("Status") in ("exited", "dead"):
                code = listed if listed is not None else state.get("ExitCode")
                oom = f" (out of memory: [app] memory = {ctx.app.memory} MiB)" if state.get("OOMKilled") else ""
                done = (
                    ": a web app must keep serving; a command that runs and ends belongs in `deployer run` "
                    "or app.release_command, a long-running job in [workers.<name>]"
                    if str(code) == "0"
                    else ""
                )
                ended = f"\nit exited with code {code}{oom}{done}"
            logs = _logs(docker, ctx, row)
        except docker.errors.NotFound:
            pass
    read_only = (
        "\nThe root filesystem is read-only: write under /tmp (a tmpfs), or set [targets.local] read_only = false."
        if "Read-only file system" in logs
        else ""
    )
    whose, removed = (
        ("the standby, resumed for the release it ran,", "The standby was removed (a rollback starts fresh replicas)")
        if resumed
        else ("the new version", "The new replicas were removed")
    )
    return DeployFailed(
        f"replica {name} of {whose} {what} (GET {ctx.app.health.path} on port {ctx.app.port})."
        f"{ended}{check}\nlast log lines:\n{_log_excerpt(logs, ctx.app.health.path)}{read_only}{exposed}\n"
        f"{removed}; the previous version, if any, keeps serving."
    )


def last_log_lines(docker: DockerEngine, ctx: PhaseContext, row: dict[str, Any]) -> str:
    """The container's last log lines as an error shows them (:func:`_log_excerpt`), the
    secrets' values hidden."""
    return _log_excerpt(_logs(docker, ctx, row), ctx.app.health.path)


def _logs(docker: DockerEngine, ctx: PhaseContext, row: dict[str, Any]) -> str:
    """The container's last :data:`_LOG_TAIL` lines, the secrets' values hidden."""
    return ctx.hide_secrets(docker.api.logs(row["Id"], tail=_LOG_TAIL).decode(errors="replace"))


def _log_excerpt(logs: str, health_path: str) -> str:
    """``logs`` shown in an error: at most :data:`_LOG_LINES`, the first half and the last
    half with the count of those between, each indented. deployer's own probes (one every
    0.1 s) would fill the tail, so request lines for ``health_path`` are left out, unless
    they are all there is: then the last of them say how the app answered."""
    every = logs.splitlines()
    half = _LOG_LINES // 2
    lines = [line for line in every if f"GET {health_path} " not in line]
    if every and not lines:
        lines = [f"(only requests for {health_path}; the last {min(half, len(every))}:)", *every[-half:]]
    if len(lines) > _LOG_LINES:
        lines = [*lines[:half], f"... ({len(lines) - 2 * half} lines)", *lines[-half:]]
    return "\n".join(f"  | {line}" for line in lines) or "  | (no output)"


def _retire(
    docker: DockerEngine,
    ctx: PhaseContext,
    settings: LocalSettings,
    rows: list[dict[str, Any]],
    standby: list[dict[str, Any]],
    drained: set[str],
    *,
    upstream: Upstream,
    workers: tuple[int, ...] = (),
) -> None:
    """Pause ``standby`` (the replaced release, kept for a fast rollback) and stop and
    remove ``rows``; when some just left the load balancer (``drained``), first wait
    until their in-flight requests are done (the HAProxy ``workers`` from before the
    reload have exited, :func:`~.lb_routes.wait_drained`), at most ``drain_seconds``."""
    if not rows and not standby:
        return
    if drained and settings.drain_seconds:
        waited = lb_routes.wait_drained(docker, upstream, workers, settings.drain_seconds)
        names = ", ".join(sorted(drained))
        if waited is None:
            ctx.report(f"{names}: requests still in flight after {settings.drain_seconds} s (drain_seconds); stopping")
        else:
            ctx.report(f"{names}: drained to zero in-flight requests in {waited:.2f} s")
    if standby:
        ctx.report(f"pausing {', '.join(engine.name(r) for r in standby)}: the standby for a rollback")
        for row in standby:
            if engine.is_paused(row):  # paused by hand while it was routed
                continue
            try:
                docker.api.pause(row["Id"])
            except docker.errors.APIError as error:  # e.g. the cgroup freezer timed out
                ctx.report(f"{engine.name(row)} could not be paused ({error.explanation or error}): removing it")
                rows = [*rows, row]
    if rows:
        ctx.report(stopping([engine.name(r) for r in rows]))
        paused = [engine.name(r) for r in rows if engine.is_paused(r)]
        remove(docker, [engine.name(r) for r in rows], paused=paused)


def stopping(names: list[str]) -> str:
    """The line announcing :func:`remove` of ``names``, with the wait an app that ignores
    SIGTERM costs: ``stopping (SIGTERM, SIGKILL after 10 s) and removing ...``."""
    return f"stopping (SIGTERM, SIGKILL after {STOP_TIMEOUT} s) and removing {', '.join(names)}"


def remove(docker: DockerEngine, names: list[str], *, paused: Collection[str] = ()) -> None:
    """Stop (SIGTERM, then SIGKILL after :data:`STOP_TIMEOUT`) and remove containers in
    parallel; already gone is fine. Those in ``paused`` (a standby) are resumed first, so
    that their app takes SIGTERM and shuts down as cleanly as any other replica."""

    def one(name: str) -> None:
        try:
            if name in paused:
                with contextlib.suppress(docker.errors.APIError):  # no longer paused: stop it as it is
                    docker.api.unpause(name)
            docker.api.stop(name, timeout=STOP_TIMEOUT)
            docker.api.remove_container(name, v=True, force=True)
        except docker.errors.NotFound:
            pass

    if names:
        with ThreadPool(min(8, len(names))) as pool:  # daemon threads: Ctrl-C waits for none
            pool.map(one, names)
