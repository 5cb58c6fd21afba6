"""What a local stack serves now, for ``status``: the replicas its load balancer routes
to, read from the container listing and HAProxy.

A replica serves when the load balancer runs on the stack's network and routes to it,
and the replica runs there too (not paused), passing its check (Docker's; before Docker's
first check has run, HAProxy's). Whatever else the listing shows is a reason the stack is
not what ``up`` leaves, each told with the command that mends it (``up``, which replaces
or resumes what does not serve, or ``rollback N`` while a rollback to N serves): the
load balancer gone, stopped, paused or off the network; a routed replica stopped, gone,
paused or off the network; replicas the load balancer does not route to beside the
paused standby (an interrupted ``up``'s); the database or a worker not running or off
the network.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from attrs import frozen

from deployer.docker_engine import DockerEngine
from deployer.errors import UsageError
from deployer.models import PhaseContext
from deployer.plugins.local_docker import database, engine, ingress, lb_routes
from deployer.plugins.local_docker.haproxy_config import LISTEN_PORT, Routes
from deployer.plugins.local_docker.host_port import endpoint
from deployer.plugins.local_docker.settings import of


@frozen
class Serving:
    """A stack's replicas as its load balancer sees them."""

    endpoint: str
    """The URL the load balancer publishes, else the one ``up`` gives it."""
    healthy: int
    """Replicas that serve and pass their check, at most the desired count."""
    routed: list[dict[str, Any]]
    """The replicas (summaries) the load balancer routes to, serving or not; with no load
    balancer to ask, every replica that is not paused."""
    outside: list[dict[str, Any]]
    """Replicas it does not route to that are not the standby."""
    standby: list[dict[str, Any]]
    """The paused replicas it does not route to: the release the last rollout replaced."""
    members: int
    """How many replicas the load balancer is set to route to, gone ones included: the
    count the last rollout deployed (with no load balancer to ask, the replicas that are
    not paused)."""
    advice: str
    """What to run, and why, when fewer than the desired replicas serve; else empty."""
    notice: str
    """What to run when more replicas exist than serve (``outside``, or routed ones beyond
    the desired count), or when the database or a worker is not running or off the
    network; else empty."""


def read(docker: DockerEngine, ctx: PhaseContext, rows: list[dict[str, Any]], restart: Callable[[], str]) -> Serving:
    """The stack's serving state from ``rows`` (its container summaries) and, when it has
    a load balancer, what that routes to (HAProxy's stats, else its config file).
    ``restart()`` is the command that brings the stack back, asked only when needed."""
    network = engine.network_name(ctx)
    desired = ctx.app.replicas.min
    lb = _load_balancer(rows)
    replicas = [r for r in rows if engine.role(r) == engine.ROLE_REPLICA]
    routes, states = lb_routes.routes_and_states(docker, engine.name(lb), _stats_port(lb)) if lb else (None, {})
    members = _members(routes, replicas)
    standby = [r for r in replicas if engine.is_standby(r, members)]
    routed = [r for r in replicas if engine.name(r) in members]
    outside = [r for r in replicas if r not in routed and r not in standby]
    lb_problem = _lb_problem(ctx, lb, network)
    reachable = [] if lb_problem else [r for r in routed if engine.runs_on(r, network)]
    # A replica serves when Docker's check passes and HAProxy's does not fail (a Host the
    # app refuses fails only HAProxy's); up routes to a replica once it answers its
    # check, which can be before Docker's first HEALTHCHECK run: HAProxy's says then.
    healthy = [
        r
        for r in reachable
        if (engine.health(r) == "healthy" and not states.get(engine.name(r), "").startswith("DOWN"))
        or (engine.health(r) == "starting" and states.get(engine.name(r), "").startswith("UP"))
    ]

    parts = [f"{lb_problem}: run `{restart()}` to bring it back"] if lb_problem else []
    stopped = sum(1 for r in routed if not engine.is_up(r) and not engine.is_paused(r))
    missing = min(desired, stopped + max(0, desired - len(routed)))
    paused = sum(1 for r in routed if engine.is_paused(r))
    off_network = sum(1 for r in routed if engine.is_up(r) and not engine.on_network(r, network))
    if not lb_problem and routes is not None and not routes.members:  # a first up failed, was interrupted or runs
        parts.append(
            f"no release serves yet: the load balancer routes to no replica, as no `up` of this stack has "
            f"finished (`{ctx.command_line('releases')}` lists a failed one): run `{restart()}` once the app starts"
        )
    elif missing:
        parts.append(f"{missing} of {desired} replicas not running: run `{restart()}` to start the missing ones")
    if paused:
        parts.append(f"{paused} of {desired} replicas paused (docker pause): run `{restart()}` to resume them")
    if off_network:
        parts.append(
            f"{off_network} of {desired} replicas not on the stack's network {network}, where the load balancer "
            f"reaches them: run `{restart()}` to replace them"
        )
    failing = min(len(reachable), desired) - len(healthy)
    if failing > 0:
        parts.append(
            f"{failing} running but not healthy (starting, or failing GET {ctx.app.health.path}): "
            f"`{ctx.command_line('logs')}` shows why"
        )
    if parts and standby and not lb_problem:  # a release that broke after it took the traffic
        parts.append(f"`{ctx.command_line('rollback')}` resumes the release before it, on standby, at once")
    notices = []
    extra = len(outside) + max(0, len(routed) - desired)
    if extra:
        notices.append(
            f"{extra} replica(s) beyond the {desired} the load balancer should route to (left by an interrupted "
            f"`up`, or a rollout under way): run `{restart()}` to remove them"
        )
    unusable = _unusable_services(rows, network)
    if unusable:
        kept = " (the database's data stays)" if any(engine.role(r) == database.ROLE_DATABASE for r in rows) else ""
        notices.append(f"{', '.join(unusable)}: run `{restart()}` to replace them{kept}")
    return Serving(
        endpoint=_published(lb) or endpoint(of(ctx)),
        healthy=min(len(healthy), desired),
        routed=routed,
        outside=outside,
        standby=standby,
        members=len(members),
        advice="; ".join(parts),
        notice="; ".join(notices),
    )


def in_service(docker: DockerEngine, ctx: PhaseContext) -> list[dict[str, Any]]:
    """The stack's running replicas the load balancer routes to, in the order ``status``
    lists them (by name): what ``exec`` and ``run`` act in or like, rather than a replica
    an interrupted ``up`` left beside them with another version. When it routes to none
    that runs, every running replica.

    :raises UsageError: no replica runs; says to run ``up``.
    """
    rows = engine.containers(docker, ctx)
    replicas = [r for r in rows if engine.role(r) == engine.ROLE_REPLICA]
    lb = _load_balancer(rows)
    members = _members(lb_routes.routes_of(docker, engine.name(lb), _stats_port(lb)) if lb else None, replicas)
    running = [r for r in replicas if engine.is_up(r)]
    if not running:
        raise UsageError(
            f"no replica of app {ctx.app.name!r} runs on stack {ctx.stack!r}: run `{ctx.command_line('up')}` first"
        )
    return [r for r in running if engine.name(r) in members] or running


def _load_balancer(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((r for r in rows if engine.role(r) == engine.ROLE_LB), None)


def _stats_port(lb: dict[str, Any] | None) -> int | None:
    """HAProxy's stats port when it runs (a paused HAProxy would hold the stats request
    until its timeout: its config file says the same)."""
    return ingress.stats_port(lb) if lb is not None and lb["State"] == "running" else None


def _members(routes: Routes | None, replicas: list[dict[str, Any]]) -> tuple[str, ...]:
    """The names the load balancer routes to (``routes``, read from HAProxy's stats, else
    its config file); with no load balancer to ask, every replica that is not paused."""
    return routes.members if routes else tuple(engine.name(r) for r in replicas if not engine.is_paused(r))


def _unusable_services(rows: list[dict[str, Any]], network: str) -> list[str]:
    """The database and worker containers among ``rows`` that cannot do their job: not
    running, or off ``network`` (where the app and the workers reach the database)."""
    found = []
    for row in rows:
        if engine.role(row) not in (database.ROLE_DATABASE, engine.ROLE_WORKER):
            continue
        if not engine.is_up(row):
            found.append(f"{engine.name(row)} is not running ({row['State']})")
        elif not engine.on_network(row, network):
            found.append(f"{engine.name(row)} is not on the stack's network")
    return found


def _lb_problem(ctx: PhaseContext, lb: dict[str, Any] | None, network: str) -> str:
    """Why the load balancer ``lb`` (a summary, None when gone) serves nothing; empty
    when it runs on ``network``."""
    name = engine.lb_name(ctx) if lb is None else engine.name(lb)
    if lb is None:
        return f"the load balancer {name} is missing, so no replica serves"
    if lb["State"] != "running":
        return f"the load balancer {name} is not running ({lb['State']}), so no replica serves"
    if not engine.on_network(lb, network):
        return f"the load balancer {name} is not on the stack's network {network}, so it reaches no replica"
    return ""


def _published(lb: dict[str, Any] | None) -> str | None:
    """The URL the running load balancer ``lb`` publishes; None when it publishes none."""
    for port in (lb or {}).get("Ports", ()):
        if port.get("PrivatePort") == LISTEN_PORT and port.get("PublicPort"):
            host = port.get("IP") or "127.0.0.1"
            host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
            return f"http://{host}:{port['PublicPort']}"
    return None
