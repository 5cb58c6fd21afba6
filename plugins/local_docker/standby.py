"""Fast rollouts and rollbacks: a start-up CPU boost for new replicas, and the previous
release's replicas kept paused for an instant rollback.

**Start-up boost.** A replica's ``cpu`` limit (``cpu``/1024 CPUs, 0.25 for the default
256) throttles its start as much as its work: an interpreter importing a web framework
under a quarter of a CPU takes four times as long. New replicas are therefore created
without a CPU limit and get their limit (the same quota: ``CpuQuota``/``CpuPeriod``) as
soon as they pass their health check, before the load balancer routes to them, as GKE's
start-up CPU boost does. Every replica that serves traffic runs under its limit.

**Warm standby.** When a rollout replaces a version, its replicas leave the load
balancer, drain, and are then kept running, out of the load balancer, renamed
``<name>-standby`` (a name is the one thing about a container that can change, and Docker
labels cannot), instead of removed; only one generation is kept (older standby replicas
are removed at that moment). An idle standby costs its memory and its health checks. A
``rollback`` (or an ``up``) to that version renames them back: they are already started,
so they pass their health check at once, and the switch is a load balancer reload.
``down`` removes them like every other container; ``status`` does not count them.
(``docker pause`` would also free their CPU, but needs the cgroup freezer, which nested
engines often lack.)
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from deployer.docker_engine import DockerEngine

KEEP_STANDBY = False
"""Whether a rollout keeps the replaced version as a warm standby. Off: with it on, the
contract kit's broken-release check saw the version before the previous one answer
(merged 2026-11-29, not yet explained), and a replica removed behind the target's back
could be a standby one. ``rollback`` then starts the release's replicas like ``up``.
The code stays, to be switched on once that is understood."""

PERIOD = 100_000
"""CFS period (µs) of the CPU limit applied after start-up."""


def quota(cpu: int) -> int:
    """CFS quota (µs per :data:`PERIOD`) of ``cpu``/1024 CPUs."""
    return max(1000, cpu * PERIOD // 1024)


def limit(docker: DockerEngine, names: list[str], cpu: int) -> None:
    """Apply the ``cpu`` limit to replicas created without one (end of their boost)."""
    _each(names, lambda name: docker.api.update_container(name, cpu_period=PERIOD, cpu_quota=quota(cpu)))


def cpus(host_config: dict[str, Any]) -> int:
    """The ``cpu`` value (1024 = one CPU) a container's HostConfig expresses, set either
    as NanoCpus or as a CFS quota."""
    if host_config.get("NanoCpus"):
        return round(host_config["NanoCpus"] * 1024 / 1_000_000_000)
    period, cfs = host_config.get("CpuPeriod") or 0, host_config.get("CpuQuota") or 0
    return round(cfs * 1024 / period) if period and cfs > 0 else 0


SUFFIX = "-standby"


def is_parked(row: dict[str, Any]) -> bool:
    """A standby replica (a container summary)."""
    return bool(row.get("Names")) and row["Names"][0].endswith(SUFFIX)


def park(docker: DockerEngine, names: list[str]) -> None:
    """Keep drained replicas as standby (out of the load balancer) for an instant rollback."""
    _each(names, lambda name: docker.api.rename(name, name + SUFFIX))


def resume(docker: DockerEngine, names: list[str]) -> list[str]:
    """Standby replicas back under their own names (to be checked, then routed to)."""
    back = [name.removesuffix(SUFFIX) for name in names]
    _each(names, lambda name: docker.api.rename(name, name.removesuffix(SUFFIX)))
    return back


def discard(docker: DockerEngine, names: list[str]) -> None:
    """Remove standby replicas at once (SIGKILL): no request has reached them since they
    left the load balancer."""

    def one(name: str) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            docker.api.remove_container(name, v=True, force=True)

    _each(names, one)


def _each(names: list[str], action: Any) -> None:
    if names:
        with ThreadPoolExecutor(max_workers=min(8, len(names))) as pool:
            list(pool.map(action, names))
