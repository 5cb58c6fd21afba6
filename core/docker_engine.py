"""The Docker engine of the environment, shared by the core's image build and the targets.

Reading is cheap: the listings and inspections an unchanged ``up`` or ``build`` asks for go
straight to the engine's Unix socket through the standard library's :mod:`http.client`
(:class:`UnixHTTPConnection`), so a run that changes nothing never imports the docker SDK
(requests and urllib3, about 0.1 s). Everything that changes the engine or streams
(builds, containers, logs, archives, exec) goes through the docker SDK's clients,
:attr:`DockerEngine.sdk` and :attr:`DockerEngine.api`, made on first use; what they
raise is caught through :attr:`DockerEngine.errors`. An engine reached another way
(``tcp://``, ``ssh://``, TLS) is read through the SDK too.

This module is the docker SDK's one boundary: nothing else in deployer imports it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
from functools import cached_property
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from deployer.errors import DeployerError, EnvironmentProblem

if TYPE_CHECKING:
    from docker import APIClient, DockerClient

DEFAULT_HOST = "unix:///var/run/docker.sock"
READ_TIMEOUT = 60
"""Seconds one read may take."""
MAX_READ_BYTES = 64 * 1024 * 1024
"""The largest reply body a read accepts (64 MiB: a listing of tens of thousands of
containers); a larger one is refused with :class:`EngineError` rather than held in memory."""
SDK_TIMEOUT = 600
"""Seconds a silent SDK call (a build step, a container stop) may take."""

Filters = dict[str, list[str]]
"""An engine ``filters`` value: filter name to accepted values, e.g. ``{"label": ["a=b"]}``."""


class EngineError(DeployerError):
    """The engine answered a read with an error (a status other than 2xx or 404), or with
    a reply larger than :data:`MAX_READ_BYTES`."""


class UnixHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a server listening on a Unix socket (the Docker engine's).

    Everything but the connection is :class:`http.client.HTTPConnection`'s: HTTP/1.1
    requests, ``Content-Length`` and chunked replies, status and header parsing.
    """

    def __init__(self, socket_path: str, *, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class DockerEngine:
    """One Docker engine: cheap reads, and the docker SDK for everything else.

    Each read returns the engine's JSON as the SDK's low-level client would; one that
    names a single object returns None when the engine does not know it (404).
    """

    def __init__(self, host: str = DEFAULT_HOST) -> None:
        self.host = host
        self._socket = host.removeprefix("unix://") if host.startswith("unix://") else None

    # --- reads ---------------------------------------------------------------------------

    def containers(self, filters: Filters | None = None) -> list[dict[str, Any]]:
        """Summaries of the containers matching ``filters``, stopped ones included."""
        rows: list[dict[str, Any]] = self._get("/containers/json", all="1", filters=filters)
        return rows

    def networks(self, filters: Filters | None = None) -> list[dict[str, Any]]:
        """The networks matching ``filters``."""
        rows: list[dict[str, Any]] = self._get("/networks", filters=filters)
        return rows

    def volumes(self, filters: Filters | None = None) -> list[dict[str, Any]]:
        """The volumes matching ``filters``."""
        rows: list[dict[str, Any]] = self._get("/volumes", filters=filters).get("Volumes") or []
        return rows

    def images(self, filters: Filters | None = None) -> list[dict[str, Any]]:
        """Summaries of the images matching ``filters``."""
        rows: list[dict[str, Any]] = self._get("/images/json", filters=filters)
        return rows

    def container(self, ref: str) -> dict[str, Any] | None:
        """``docker inspect`` of the container ``ref`` (ID or name); None when there is none."""
        found: dict[str, Any] | None = self._get(f"/containers/{quote(ref, safe='')}/json", missing_ok=True)
        return found

    def image(self, ref: str) -> dict[str, Any] | None:
        """``docker inspect`` of the image ``ref`` (ID or tag); None when there is none."""
        found: dict[str, Any] | None = self._get(f"/images/{quote(ref, safe='/:@')}/json", missing_ok=True)
        return found

    def check(self) -> None:
        """Make sure the engine answers.

        :raises EnvironmentProblem: it does not; says how to start it.
        """
        if self._socket is None:
            self.sdk  # noqa: B018 - making the SDK client negotiates the API version with the engine
        else:
            self._get("/_ping", raw=True)

    # --- the docker SDK ------------------------------------------------------------------

    @cached_property
    def sdk(self) -> DockerClient:
        """The docker SDK's client for this engine (imported and connected on first use).

        :raises EnvironmentProblem: the engine is not reachable.
        """
        import docker  # the SDK's only import: deferred so that reads never load it

        try:  # from_env reads DOCKER_HOST and the TLS variables, and negotiates the version
            return docker.from_env(timeout=SDK_TIMEOUT)
        except docker.errors.DockerException as error:
            raise self._unreachable(error) from error

    @property
    def api(self) -> APIClient:
        """The SDK's low-level client (one call per Engine API endpoint)."""
        return self.sdk.api

    @property
    def errors(self) -> ModuleType:
        """The docker SDK's exceptions (``docker.errors``), to catch what :attr:`sdk` and
        :attr:`api` raise: ``except engine.errors.NotFound:``. Python evaluates an
        ``except`` clause only when an exception is raised, so a read never loads the SDK."""
        import docker.errors  # the SDK's exceptions, imported with the SDK (see sdk)

        errors: ModuleType = docker.errors
        return errors

    # --- plumbing ------------------------------------------------------------------------

    def _get(self, path: str, *, missing_ok: bool = False, raw: bool = False, **query: Any) -> Any:
        params = {k: json.dumps(v) if k == "filters" else v for k, v in query.items() if v is not None}
        target = f"{path}?{urlencode(params)}" if params else path
        try:  # requests' errors are OSErrors too
            if self._socket is None:
                reply = self.api.get(self.api.base_url + target, timeout=READ_TIMEOUT)
                status, body = reply.status_code, reply.content
            else:
                status, body = self._get_from_socket(self._socket, target)
        except OSError as error:
            raise self._unreachable(error) from error
        except http.client.HTTPException as error:  # e.g. BadStatusLine: not an engine there
            raise EnvironmentProblem(
                f"{self.host} does not answer as a Docker engine ({type(error).__name__}: {str(error)[:80]!r}): "
                "check DOCKER_HOST"
            ) from error
        if len(body) > MAX_READ_BYTES:
            raise self._too_large(path)
        if status == 404 and missing_ok:
            return None
        if not 200 <= status < 300:
            message = body.decode(errors="replace").strip()
            with contextlib.suppress(ValueError, AttributeError):
                message = json.loads(message).get("message", message)
            raise EngineError(f"Docker engine at {self.host}: GET {path} failed ({status}): {message}")
        return body if raw else json.loads(body)

    def _get_from_socket(self, socket_path: str, target: str) -> tuple[int, bytes]:
        """``GET target`` over the Unix socket: the status and at most one byte more than
        :data:`MAX_READ_BYTES` of the body (whole when it is not larger)."""
        connection = UnixHTTPConnection(socket_path, timeout=READ_TIMEOUT)
        try:
            connection.request("GET", target)
            reply = connection.getresponse()
            if (reply.length or 0) > MAX_READ_BYTES:  # Content-Length says so: nothing to read
                raise self._too_large(target.partition("?")[0])
            return reply.status, reply.read(MAX_READ_BYTES + 1)
        finally:
            connection.close()

    def _too_large(self, path: str) -> EngineError:
        return EngineError(
            f"Docker engine at {self.host}: GET {path} answered more than {MAX_READ_BYTES} bytes "
            "(deployer.docker_engine.MAX_READ_BYTES); refused rather than held in memory"
        )

    def _unreachable(self, error: Exception) -> EnvironmentProblem:
        hint = " (is your user in the docker group?)" if isinstance(error, PermissionError) else ""
        return EnvironmentProblem(
            f"Docker engine not reachable at {self.host}{hint}: start it (sudo systemctl start docker, "
            f"or dockerd) or set DOCKER_HOST ({error})"
        )


def connect() -> DockerEngine:
    """The process's engine for the current environment (``DOCKER_HOST`` or the default
    socket), checked to answer.

    Made once per environment and shared by callers (the image build, a target's driver),
    so the SDK, once needed, is imported and connected once. A failed check is not
    remembered, and a changed ``DOCKER_*`` environment gets a new engine, so an engine
    that is unreachable is always reported.

    :raises EnvironmentProblem: the engine is not reachable; says how to start it.
    """
    key = tuple(os.environ.get(name) for name in _DOCKER_ENV)
    engine = _engines.get(key)
    if engine is None:
        engine = DockerEngine(os.environ.get("DOCKER_HOST") or DEFAULT_HOST)
        engine.check()
        _engines[key] = engine
    return engine


_DOCKER_ENV = ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")
"""The variables ``docker.from_env`` reads to choose and reach the engine."""
_engines: dict[tuple[str | None, ...], DockerEngine] = {}
