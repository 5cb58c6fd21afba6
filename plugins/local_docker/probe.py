"""Direct health probes of new replicas, so a rollout does not wait for Docker's next
HEALTHCHECK run.

Docker runs a replica's HEALTHCHECK every ``health_interval`` seconds, the first one a
whole interval after the start: a replica that is ready in 0.3 s is reported healthy only
after 2 s. While compute waits, deployer also sends the same check itself (``GET <health
path>`` expecting a 2xx, as the HEALTHCHECK and HAProxy do) to the replica's address on
the stack's bridge network, every :data:`INTERVAL` seconds. A 2xx answer there is the
same evidence as Docker's check. Where the host cannot reach bridge addresses (Docker
Desktop's VM, a remote engine), the probe gets no answer and Docker's HEALTHCHECK
decides. A refused connection is an answer: nothing listens on that address, so an app
that Docker's check (run inside the container, on 127.0.0.1) finds healthy listens on
the loopback interface only, where the load balancer cannot reach it.
"""

from __future__ import annotations

import contextlib
import http.client
import time
from typing import Any

from deployer.docker_engine import DockerEngine
from deployer.healthcheck import DRAINED_BODY_MAX
from deployer.verify import read_within

INTERVAL = 0.1
"""Seconds between two direct probes of a waiting replica."""
TIMEOUT = 0.5
"""Seconds one direct probe may take."""


def address(docker: DockerEngine, name: str, network: str) -> str | None:
    """The replica's IP address on ``network``; None when it has none (yet)."""
    info: dict[str, Any] | None = docker.container(name)
    if info is None:
        return None
    networks = (info.get("NetworkSettings") or {}).get("Networks") or {}
    found: str | None = (networks.get(network) or {}).get("IPAddress") or None
    return found


HEALTHY = "healthy"
REFUSED = "refused"
NO_ANSWER = "no answer"


def answer(ip: str, port: int, path: str) -> str:
    """``GET path`` on ``ip:port``: :data:`HEALTHY` (a 2xx), :data:`REFUSED` (the address
    refused the connection: nothing listens there) or :data:`NO_ANSWER` (another status,
    a timeout, an unreachable address)."""
    connection = http.client.HTTPConnection(ip, port, timeout=TIMEOUT)
    try:
        try:
            connection.request("GET", path, headers={"Host": "localhost", "Connection": "close"})
            response = connection.getresponse()
        except ConnectionRefusedError:
            return REFUSED
        except (OSError, http.client.HTTPException):
            return NO_ANSWER
        _drain(response, time.monotonic() + TIMEOUT)  # the status decides; read so that closing resets nothing
        return HEALTHY if 200 <= response.status < 300 else NO_ANSWER
    finally:
        connection.close()


def _drain(response: http.client.HTTPResponse, deadline: float) -> None:
    """Read a body of known length up to :data:`~deployer.healthcheck.DRAINED_BODY_MAX`
    until ``deadline``, ignoring its errors: the app closes first (``Connection: close``)
    and no unread byte is left, so closing does not reset the connection, which an app
    that logs failed reads (``http.server``) reports with a traceback, ten times a second.
    A streamed or larger body is left alone, as the container check does."""
    if response.length is not None and response.length <= DRAINED_BODY_MAX:
        with contextlib.suppress(OSError, http.client.HTTPException):
            read_within(response, DRAINED_BODY_MAX, deadline)
