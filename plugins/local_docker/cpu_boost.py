"""A start-up CPU boost for new replicas.

A replica's ``cpu`` limit (``cpu``/1024 CPUs, 0.25 for the default 256) throttles its
start as much as its work: an interpreter importing a web framework under a quarter of a
CPU takes four times as long. New replicas are therefore created without a CPU limit and
get their limit (the same quota: ``CpuQuota``/``CpuPeriod``) as soon as they pass their
health check, before the load balancer routes to them, as GKE's start-up CPU boost does.
Until then they also weigh more (:data:`BOOST_SHARES`) against the replicas that serve.
Every replica that serves traffic runs under its limit, at the default weight.
"""

from __future__ import annotations

from multiprocessing.pool import ThreadPool
from typing import Any

from deployer.docker_engine import DockerEngine

PERIOD = 100_000
"""CFS period (µs) of the CPU limit applied after start-up."""
BOOST_SHARES = 8192
"""CPU shares (relative weight; Docker's default is :data:`SHARES`) of a replica while it
starts: when the host is busy (the old replicas serving, a build), the kernel gives a
starting replica eight times the CPU time of a serving one."""
SHARES = 1024
"""Docker's default CPU shares, which every replica serving traffic has."""


def quota(cpu: int) -> int:
    """CFS quota (µs per :data:`PERIOD`) of ``cpu``/1024 CPUs."""
    return max(1000, cpu * PERIOD // 1024)


def limit(docker: DockerEngine, names: list[str], cpu: int) -> None:
    """Apply the ``cpu`` limit and the default weight to replicas created without the one
    and with :data:`BOOST_SHARES` (end of their boost)."""

    def end_boost(name: str) -> None:
        docker.api.update_container(name, cpu_period=PERIOD, cpu_quota=quota(cpu), cpu_shares=SHARES)

    if names:
        with ThreadPool(min(8, len(names))) as pool:  # daemon threads: Ctrl-C waits for none
            pool.map(end_boost, names)


def cpus(host_config: dict[str, Any]) -> int:
    """The ``cpu`` value (1024 = one CPU) a container's HostConfig expresses, set either
    as NanoCpus or as a CFS quota."""
    if host_config.get("NanoCpus"):
        return round(host_config["NanoCpus"] * 1024 / 1_000_000_000)
    period, cfs = host_config.get("CpuPeriod") or 0, host_config.get("CpuQuota") or 0
    return round(cfs * 1024 / period) if period and cfs > 0 else 0
