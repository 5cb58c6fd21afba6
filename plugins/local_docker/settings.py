"""``[targets.local]``: the local target's own keys, validated with the core's Section.

:func:`parse_settings` is the target's ``parse_settings``; :func:`of` gives a phase the
parsed settings from its context.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from attrs import frozen

from deployer.config_section import SECONDS, Section, target_settings

if TYPE_CHECKING:
    from deployer.models import PhaseContext

RESTART_POLICIES = ("unless-stopped", "always", "on-failure", "no")

# A Docker image reference, ``name[:tag][@digest]``, as the grammar of
# https://github.com/distribution/reference/blob/main/reference.go (regexp.go) defines it:
#   reference := name [ ":" tag ] [ "@" digest ]
#   name      := [domain "/"] remote-name          domain := host [":" port-number]
#   host      := domain-name | "[" IPv6address "]"
#   path-component := alpha-numeric [separator alpha-numeric]*   (lowercase only)
#   separator := [_.] | __ | [-]+                  tag := [\w][\w.-]{0,127}
#   digest    := algorithm ":" hex (32 or more hex digits)
# ``\w`` is spelled out because Go's is ASCII-only. The value goes into the load
# balancer's Dockerfile ``FROM`` line, so nothing else (a newline, say) may get through.
_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
IMAGE_REFERENCE = rf"(?P<name>{_NAME})(?::{_TAG})?(?:@{_DIGEST})?"
IMAGE_REFERENCE_HINT = (
    "a Docker image reference, name[:tag][@digest], such as python:3.12-slim "
    "(lowercase name components; letters, digits, '_', '.' and '-' in the tag)"
)
NAME_TOTAL_LENGTH_MAX = 255
"""distribution/reference's limit on the name part (before ``:tag`` and ``@digest``)."""


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
        health_interval=s.integer("health_interval", 2, minimum=1, maximum=300, unit=SECONDS),
        health_timeout=s.integer("health_timeout", 120, minimum=1, maximum=3600, unit=SECONDS),
        drain_seconds=s.integer("drain_seconds", 2, minimum=0, maximum=600, unit=SECONDS),
        lock_timeout=s.integer("lock_timeout", 300, minimum=0, maximum=3600, unit=SECONDS),
        read_only=s.boolean("read_only", True),
        restart=s.text("restart", "unless-stopped", choices=RESTART_POLICIES),
        lb_base_image=s.text(
            "lb_base_image", default.lb_base_image, pattern=IMAGE_REFERENCE, hint=IMAGE_REFERENCE_HINT
        ),
    )
    if s.parsed("bind"):
        _check_bind(s, settings.bind)
    if s.parsed("lb_base_image") and len(_image_name(settings.lb_base_image)) > NAME_TOTAL_LENGTH_MAX:
        s.error(
            "lb_base_image",
            f"must have a name (before :tag and @digest) of at most {NAME_TOTAL_LENGTH_MAX} characters",
            value=settings.lb_base_image,
        )
    s.done()
    return settings


def _image_name(reference: str) -> str:
    match = re.fullmatch(IMAGE_REFERENCE, reference)
    return match["name"] if match else reference


def _check_bind(s: Section, bind: str) -> None:
    """A plain IP address: no host name, no IPv6 zone (``%eth0``), which Docker cannot
    publish on (it reports a misleading "address already in use")."""
    try:
        address = ipaddress.ip_address(bind)
    except ValueError:
        s.error("bind", "must be an IP address such as 127.0.0.1 (0.0.0.0 listens on every interface)", value=bind)
        return
    if address.is_multicast or address == ipaddress.IPv4Address("255.255.255.255"):
        s.error("bind", "must be an address of this machine, not a multicast or broadcast one", value=bind)
        return
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        s.error(
            "bind",
            "must be a plain IP address, without a zone (%...): Docker cannot publish a port on a "
            "scoped IPv6 address (it reports 'address already in use'); use :: to listen on every interface",
            value=bind,
        )


def of(ctx: PhaseContext) -> LocalSettings:
    """The parsed settings of the context's target (:func:`deployer.config_section.target_settings`)."""
    return target_settings(ctx, LocalSettings, parse_settings)
