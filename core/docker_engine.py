"""The Docker engine of the environment, shared by the core's image build and the targets.

Reading is cheap: the listings and inspections an unchanged ``up`` or ``build`` asks for go
straight to the engine's Unix socket through the standard library's :mod:`http.client`
(:class:`UnixHTTPConnection`), so a run that changes nothing never imports the docker SDK
(requests and urllib3, about 0.1 s). Everything that changes the engine or streams
(builds, containers, logs, archives, exec) goes through the docker SDK's clients,
:attr:`DockerEngine.sdk` and :attr:`DockerEngine.api`, made on first use; what they
raise is caught through :attr:`DockerEngine.errors`. An engine reached another way
(``tcp://``, ``ssh://``, TLS) is read through the SDK too.

Every request is bounded: one that gets no answer within :data:`REQUEST_TIMEOUT` means the
engine stopped answering (a stream read through :meth:`DockerEngine.watched` may be silent
longer while the engine answers pings), and :meth:`DockerEngine.faults` turns that, or a
connection the engine closed, into :class:`EngineNotAnswering` (exit 2), so a command
never hangs on a stalled engine.

This module is the docker SDK's one boundary: nothing else in deployer imports it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cached_property
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlencode

from deployer.errors import DeployerError, EnvironmentProblem

if TYPE_CHECKING:
    from docker import APIClient, DockerClient

DEFAULT_HOST = "unix:///var/run/docker.sock"
REQUEST_TIMEOUT = 30
"""Seconds one request (a read, one SDK call) may wait for the engine's answer; longer
means the engine stopped answering (:class:`EngineNotAnswering`)."""
PING_TIMEOUT = 3
"""Seconds the first contact (``GET /_ping``) may take. A healthy engine answers in
milliseconds: 0.11 s at most here while six loops created, started and removed
containers on a loaded 2-core machine."""
STREAM_TIMEOUT = 600
"""Seconds a stream (a build's output, a one-off command's, logs) may stay silent."""
MAX_READ_BYTES = 64 * 1024 * 1024
"""The largest reply body a read accepts (64 MiB: a listing of tens of thousands of
containers); a larger one is refused with :class:`EngineError` rather than held in memory."""

T = TypeVar("T")

Filters = dict[str, list[str]]
"""An engine ``filters`` value: filter name to accepted values, e.g. ``{"label": ["a=b"]}``."""


class EngineError(DeployerError):
    """The engine answered a read with an error (a status other than 2xx or 404), or with
    a reply larger than :data:`MAX_READ_BYTES`."""


class EngineNotAnswering(EnvironmentProblem):
    """The engine stopped answering a request, or closed its connection, while a command
    ran (exit 2): the command stopped there, and running it again carries on."""


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
        self._patient: dict[float | None, APIClient] = {}
        self._api_version: str | None = None  # negotiated at a remote engine's first contact

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
        """Make sure the engine answers, within :data:`PING_TIMEOUT` over a Unix socket.

        :raises EnvironmentProblem: it does not, or answers with an error; says which, and
            how to start it when nothing listens.
        """
        if self._socket is None:  # TCP or SSH: the SDK's version negotiation is the ping
            self._check_through_sdk()
            self.sdk  # noqa: B018 - the client every later call uses, with REQUEST_TIMEOUT
            return
        try:
            self._get("/_ping", raw=True, timeout=PING_TIMEOUT)
        except EngineNotAnswering as error:
            if not isinstance(error.__cause__, TimeoutError):  # it closed the connection: said so
                raise
            raise self._hung("GET /_ping") from error
        except EngineError as error:
            raise EnvironmentProblem(
                f"{error}: check the engine (`docker info`, its log) or set DOCKER_HOST"
            ) from error

    def _check_through_sdk(self) -> None:
        """A remote engine (``tcp://``, ``ssh://``) answers the SDK's first request (the API
        version) within :data:`PING_TIMEOUT`; the version it gives is the one :attr:`sdk`
        then uses, without asking again."""
        import docker  # a remote engine is reached through the SDK only

        try:  # the SDK's own reading of the address: what it accepts is what works
            docker.utils.parse_host(self.host)
        except (ValueError, docker.errors.DockerException) as error:
            raise EnvironmentProblem(
                f"DOCKER_HOST={self.host!r} is not an engine address ({error}): use "
                "unix:///var/run/docker.sock, tcp://HOST:PORT or ssh://USER@HOST, or unset it"
            ) from None
        try:
            first = docker.from_env(timeout=PING_TIMEOUT, environment=self._environment())
            self._api_version = first.api.api_version
            first.close()
        except docker.errors.DockerException as error:
            problem = self.fault(error.__cause__ or error)
            raise (
                self._hung("GET /version")
                if isinstance(problem, EngineNotAnswering)
                else problem or self._unreachable(error)
            ) from error

    def _hung(self, request: str) -> EnvironmentProblem:
        """The engine accepted the connection but did not answer ``request`` in time."""
        return EnvironmentProblem(
            f"the Docker engine at {self.host} accepts connections but does not answer (no reply to "
            f"{request} within {PING_TIMEOUT} s): it is hung or overloaded; check `docker info`, restart "
            "the engine if it stays silent, or set DOCKER_HOST"
        )

    def answers(self) -> bool:
        """The engine answers a ping within :data:`PING_TIMEOUT` (after an interrupt: can
        the command still clean up?)."""
        try:
            self._get("/_ping", raw=True, timeout=PING_TIMEOUT)
        except DeployerError:
            return False
        return True

    def watched(self, stream: Callable[[], Iterable[T]]) -> Iterator[T]:
        """The items of ``stream()`` (a build's output, a one-off command's), requested and
        read in a daemon thread. A stream may stay silent for minutes (a quiet build step),
        so each :data:`REQUEST_TIMEOUT` of silence the engine is pinged instead: one that
        does not answer ends it with :class:`EngineNotAnswering`; Ctrl-C ends it at once."""
        items: queue.Queue[tuple[bool, Any]] = queue.Queue()  # (ended, item), or (ended, its error or None)

        def pump() -> None:
            try:
                for item in stream():
                    items.put((False, item))
                items.put((True, None))
            except BaseException as error:  # handed to the reader, raised there
                items.put((True, error))

        threading.Thread(target=pump, daemon=True).start()
        while True:
            try:
                done, item = items.get(timeout=REQUEST_TIMEOUT)
            except queue.Empty:
                if not self.answers():
                    raise self._silent() from None
                continue
            if done:
                if item is not None:
                    raise item
                return
            yield item

    # --- faults --------------------------------------------------------------------------

    def fault(self, error: BaseException) -> EnvironmentProblem | None:
        """``error`` (raised by a read or an SDK call) as the engine failing mid-command:
        :class:`EngineNotAnswering` when a request timed out or the engine closed the
        connection, the unreachable engine's error when nothing listens any more; None
        when ``error`` is not the engine failing."""
        if isinstance(error, EnvironmentProblem):
            return error if isinstance(error, EngineNotAnswering) else None
        transport = type(error).__module__.partition(".")[0] in ("requests", "urllib3")
        if not (transport or isinstance(error, OSError)):  # requests' errors are OSErrors too
            return None
        for cause in _causes(error):
            if isinstance(cause, TimeoutError):
                return self._silent()
            if isinstance(cause, ConnectionRefusedError | FileNotFoundError | PermissionError | socket.gaierror):
                return self._unreachable(cause)
            if isinstance(cause, ConnectionError):
                return self._closed(cause)
        return self._closed(error) if transport else None  # e.g. ChunkedEncodingError: the reply was cut

    @contextlib.contextmanager
    def faults(self) -> Iterator[None]:
        """Within: the engine failing (:meth:`fault`) raises :class:`EngineNotAnswering`
        (or the unreachable engine's :class:`EnvironmentProblem`) instead."""
        try:
            yield
        except Exception as error:
            problem = self.fault(error)
            if problem is None or problem is error:
                raise
            raise problem from error

    def can_clean_up_after(self, error: BaseException) -> bool:
        """Cleaning up after ``error`` can reach the engine: it is not the engine failing,
        and after an interrupt (Ctrl-C) the engine still answers a ping, so the cleanup
        does not wait on a stalled engine."""
        if self.fault(error) is not None:
            return False
        return not isinstance(error, KeyboardInterrupt) or self.answers()

    # --- the docker SDK ------------------------------------------------------------------

    @cached_property
    def sdk(self) -> DockerClient:
        """The docker SDK's client for this engine (imported and connected on first use).

        :raises EnvironmentProblem: the engine is not reachable.
        """
        import docker  # the SDK's only import: deferred so that reads never load it

        try:  # from_env reads the TLS variables, and negotiates the version unless known
            return docker.from_env(timeout=REQUEST_TIMEOUT, version=self._api_version, environment=self._environment())
        except docker.errors.DockerException as error:  # its cause is what failed: requests' error
            raise (self.fault(error.__cause__ or error) or self._unreachable(error)) from error

    @property
    def api(self) -> APIClient:
        """The SDK's low-level client (one call per Engine API endpoint); each call may wait
        :data:`REQUEST_TIMEOUT` for the engine's answer (a stop: its timeout more)."""
        return self.sdk.api

    def patient(self, seconds: float | None) -> APIClient:
        """The SDK's low-level client for calls the engine answers only after up to
        ``seconds`` more than :data:`REQUEST_TIMEOUT`: an exec that waits, a stream that may
        stay silent (``patient(STREAM_TIMEOUT)``: a build, a one-off command, logs). With
        ``None``, reads never time out: only for a stream read through :meth:`watched`,
        which pings the engine instead (``logs -f``, ``exec``: silent as long as the user
        likes)."""
        if seconds not in self._patient:
            import docker  # imported by self.sdk already

            self._patient[seconds] = docker.from_env(
                timeout=None if seconds is None else REQUEST_TIMEOUT + seconds,
                version=self.api.api_version,
                environment=self._environment(),
            ).api
        return self._patient[seconds]

    @property
    def errors(self) -> ModuleType:
        """The docker SDK's exceptions (``docker.errors``), to catch what :attr:`sdk` and
        :attr:`api` raise: ``except engine.errors.NotFound:``. Python evaluates an
        ``except`` clause only when an exception is raised, so a read never loads the SDK."""
        import docker.errors  # the SDK's exceptions, imported with the SDK (see sdk)

        errors: ModuleType = docker.errors
        return errors

    # --- plumbing ------------------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        """The process environment with ``DOCKER_HOST`` naming this engine."""
        return {**os.environ, "DOCKER_HOST": self.host}

    def _get(
        self,
        path: str,
        *,
        missing_ok: bool = False,
        raw: bool = False,
        timeout: float | None = None,
        **query: Any,
    ) -> Any:
        timeout = timeout or REQUEST_TIMEOUT
        params = {k: json.dumps(v) if k == "filters" else v for k, v in query.items() if v is not None}
        target = f"{path}?{urlencode(params)}" if params else path
        try:  # requests' errors are OSErrors too, as is http.client's RemoteDisconnected
            if self._socket is None:
                reply = self.api.get(self.api.base_url + target, timeout=timeout)
                status, body = reply.status_code, reply.content
            else:
                status, body = self._get_from_socket(self._socket, target, timeout)
        except OSError as error:
            raise (self.fault(error) or self._unreachable(error)) from error
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

    def _get_from_socket(self, socket_path: str, target: str, timeout: float) -> tuple[int, bytes]:
        """``GET target`` over the Unix socket: the status and at most one byte more than
        :data:`MAX_READ_BYTES` of the body (whole when it is not larger)."""
        connection = UnixHTTPConnection(socket_path, timeout=timeout)
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

    def _silent(self) -> EngineNotAnswering:
        return EngineNotAnswering(
            f"the Docker engine at {self.host} stopped answering (no reply within {REQUEST_TIMEOUT} s): "
            "the command stopped there, and what served keeps serving; "
            "run the same command again once `docker info` answers"
        )

    def _closed(self, error: BaseException) -> EngineNotAnswering:
        return EngineNotAnswering(
            f"the Docker engine at {self.host} closed the connection ({type(error).__name__}: {error}): "
            "the command stopped there, and what served keeps serving; run the same command again"
        )

    def _unreachable(self, error: BaseException) -> EnvironmentProblem:
        hint = (
            " (is your user in the docker group?)"
            if isinstance(error, PermissionError)
            else " (its host name does not resolve)"
            if isinstance(error, socket.gaierror)
            else ""
        )
        return EnvironmentProblem(
            f"Docker engine not reachable at {self.host}{hint}: start it (sudo systemctl start docker, "
            f"or dockerd) or set DOCKER_HOST ({error})"
        )


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and what it wraps: its cause, context and exception arguments (urllib3's
    ``ProtocolError('Connection aborted.', ConnectionResetError(...))``), depth first."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [e for e in (*current.args, current.__context__, current.__cause__) if isinstance(e, BaseException)]


def config_env(config: Mapping[str, Any]) -> dict[str, str]:
    """The variables of an image's or a container's ``Config`` (its ``Env``, a list of
    ``NAME=value``) by name."""
    return dict(item.partition("=")[::2] for item in config.get("Env") or ())


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
        host = os.environ.get("DOCKER_HOST") or DEFAULT_HOST
        engine = DockerEngine(DEFAULT_HOST if host == "unix://" else host)
        engine.check()
        _engines[key] = engine
    return engine


_DOCKER_ENV = ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")
"""The variables ``docker.from_env`` reads to choose and reach the engine."""
_engines: dict[tuple[str | None, ...], DockerEngine] = {}
