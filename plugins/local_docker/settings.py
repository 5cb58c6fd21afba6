"""``[targets.local]``: the local target's own keys, validated with the core's Section."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from attrs import frozen

from deployer.settings import Section

RESTART_POLICIES = ("unless-stopped", "always", "on-failure", "no")


@frozen
class LocalSettings:
    """The local target's settings, all optional.

    :param host_port: the port the load balancer publishes on ``bind``.
    :param bind: the host address it listens on; loopback by default.
    :param health_interval: seconds between health checks of a replica (Docker's
        HEALTHCHECK and HAProxy's active check). Local checks are cheap, so this is
        shorter than the spec's cloud-oriented ``[app.health] interval``; timeout,
        retries and start period come from the spec.
    :param health_timeout: seconds new replicas may take to become healthy.
    :param drain_seconds: seconds an old replica keeps finishing its requests after it
        left the load balancer, before it is stopped.
    :param lock_timeout: seconds a second ``up`` or ``down`` of the same stack waits.
    :param read_only: run replicas with a read-only root filesystem (``/tmp`` is tmpfs).
    :param restart: Docker restart policy of replicas and load balancer.
    :param lb_base_image: a Debian-based image the load balancer image is built from.
    """

    host_port: int = 8080
    bind: str = "127.0.0.1"
    health_interval: int = 2
    health_timeout: int = 120
    drain_seconds: int = 2
    lock_timeout: int = 300
    read_only: bool = True
    restart: str = "unless-stopped"
    lb_base_image: str = "python:3.12-slim"


def parse_settings(raw: Mapping[str, Any], key: str) -> LocalSettings:
    """Validate ``[targets.local]``; unknown keys are rejected with the allowed ones."""
    s = Section(raw, key)
    default = LocalSettings()
    settings = LocalSettings(
        host_port=s.integer("host_port", 8080, minimum=1, maximum=65535),
        bind=s.text("bind", "127.0.0.1"),
        health_interval=s.integer("health_interval", 2, minimum=1, maximum=300),
        health_timeout=s.integer("health_timeout", 120, minimum=1, maximum=3600),
        drain_seconds=s.integer("drain_seconds", 2, minimum=0, maximum=600),
        lock_timeout=s.integer("lock_timeout", 300, minimum=0, maximum=3600),
        read_only=s.boolean("read_only", True),
        restart=s.text("restart", "unless-stopped", choices=RESTART_POLICIES),
        lb_base_image=s.text("lb_base_image", default.lb_base_image),
    )
    if s.parsed("bind"):
        _check_bind(s, settings.bind)
    s.done()
    return settings


def _check_bind(s: Section, bind: str) -> None:
    """An IP address, not a host name."""
    try:
        ipaddress.ip_address(bind)
    except ValueError:
        s.error("bind", "must be an IP address such as 127.0.0.1 (0.0.0.0 listens on every interface)", value=bind)
        return


def of(target_settings: Any) -> LocalSettings:
    """The settings of a :class:`~deployer.models.TargetConfig` (defaults when unset)."""
    return target_settings if isinstance(target_settings, LocalSettings) else LocalSettings()
