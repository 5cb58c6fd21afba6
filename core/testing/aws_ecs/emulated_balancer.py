"""The emulated ALB: a small threaded HTTP proxy on loopback in front of a service's tasks.

moto's load balancer has a DNS name that answers nothing. When the emulator serves
(:mod:`.emulated_serving`), each stack's listener is this proxy on ``127.0.0.1`` (an
ephemeral port): every request goes to one healthy registered target, round robin, as
the ALB's default routing does; a refused connection is retried on another target; a
target being deregistered (draining) gets no new request and its requests in flight
finish, up to the target group's deregistration delay; with no target it answers 503,
as the ALB does. With a :class:`HealthCheck` it checks every registered target every
``interval`` seconds as the ALB does: ``unhealthy_threshold`` failed checks in a row take
a target out of service, ``healthy_threshold`` passing ones put it back, and when every
target is unhealthy it routes to all of them (the ALB fails open)
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html).
"""

from __future__ import annotations

import http.client
import itertools
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from attrs import frozen

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
)
"""Headers that concern one connection, not the request: never forwarded."""

TARGET_TIMEOUT = 30
"""Seconds a target may take to answer one request (the ALB's idle timeout is 60)."""


@frozen
class HealthCheck:
    """A target group's health check (``HealthCheckPath``, ``Matcher``,
    ``HealthCheckIntervalSeconds``, ``UnhealthyThresholdCount``, ``HealthyThresholdCount``)."""

    path: str = "/"
    matcher: str = "200"
    interval: float = 30
    unhealthy_threshold: int = 2
    healthy_threshold: int = 5


def health_status(address: tuple[str, int], path: str) -> int | None:
    """The status the target at ``address`` answers ``path`` with; None when it does not answer."""
    connection = http.client.HTTPConnection(*address, timeout=2)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def matches(status: int, matcher: str) -> bool:
    """ELBv2's matcher syntax: codes and ranges, comma-separated (``200``, ``200-299``)."""
    for part in matcher.split(","):
        low, _, high = part.strip().partition("-")
        if int(low) <= status <= int(high or low):
            return True
    return False


class Balancer:
    """The proxy; targets are ``(host, port)`` addresses under a key (the task's IP in
    moto). A target is healthy when registered: it passed one health check before."""

    def __init__(self, health: HealthCheck | None = None) -> None:
        self._targets: dict[str, tuple[str, int]] = {}
        self._in_flight: dict[str, int] = {}
        self._unhealthy: set[str] = set()
        self._streak: dict[str, int] = {}
        """Checks in a row that disagree with the target's state (failed while healthy)."""
        self._changed = threading.Condition()
        self._turn = itertools.count()
        self._closed = threading.Event()
        self._checker: threading.Thread | None = None
        if health is not None:
            self._checker = threading.Thread(target=self._check_forever, args=(health,), daemon=True)
            self._checker.start()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        """The loopback URL the emulated ALB answers on."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def register(self, key: str, address: tuple[str, int]) -> None:
        """Send requests to ``address`` from now on (a healthy target)."""
        with self._changed:
            self._targets[key] = address
            self._in_flight.setdefault(key, 0)
            self._unhealthy.discard(key)
            self._streak.pop(key, None)

    def deregister(self, key: str, *, delay: float) -> None:
        """Send no new request to ``key``, then wait until its requests in flight are
        answered, ``delay`` seconds at most (the deregistration delay)."""
        deadline = time.monotonic() + delay
        with self._changed:
            self._targets.pop(key, None)
            while self._in_flight.get(key) and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())
            self._in_flight.pop(key, None)

    def registered(self) -> list[str]:
        with self._changed:
            return list(self._targets)

    def unhealthy(self) -> list[str]:
        """The registered targets out of service after failing their health checks."""
        with self._changed:
            return sorted(self._unhealthy & set(self._targets))

    def close(self) -> None:
        self._closed.set()
        if self._checker is not None:
            self._checker.join()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _choose(self, tried: set[str]) -> tuple[str, tuple[str, int]] | None:
        """The next target not ``tried`` (round robin), counted in flight; None if none is left."""
        with self._changed:
            healthy = set(self._targets) - self._unhealthy
            serving = healthy or set(self._targets)  # all unhealthy: the ALB fails open
            left = sorted(k for k in serving if k not in tried)
            if not left:
                return None
            key = left[next(self._turn) % len(left)]
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
            return key, self._targets[key]

    def _check_forever(self, health: HealthCheck) -> None:
        """Check every registered target each ``interval`` until closed."""
        while not self._closed.wait(health.interval):
            with self._changed:
                targets = dict(self._targets)
            for key, address in targets.items():
                status = health_status(address, health.path)
                self._record(key, status is not None and matches(status, health.matcher), health)

    def _record(self, key: str, passed: bool, health: HealthCheck) -> None:
        """Count one check of ``key``; change its state after enough in a row."""
        with self._changed:
            if key not in self._targets:
                return
            unhealthy = key in self._unhealthy
            if passed != unhealthy:  # agrees with its state
                self._streak.pop(key, None)
                return
            self._streak[key] = self._streak.get(key, 0) + 1
            if unhealthy and self._streak[key] >= health.healthy_threshold:
                self._unhealthy.discard(key)
                self._streak.pop(key)
            elif not unhealthy and self._streak[key] >= health.unhealthy_threshold:
                self._unhealthy.add(key)
                self._streak.pop(key)

    def _done(self, key: str) -> None:
        with self._changed:
            if key in self._in_flight:
                self._in_flight[key] -= 1
            self._changed.notify_all()

    def forward(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes | None):
        """``(status, headers, body)`` from a target, trying each once while connections
        are refused; 503 when no target is registered or none accepts."""
        tried: set[str] = set()
        while (chosen := self._choose(tried)) is not None:
            key, (host, port) = chosen
            tried.add(key)
            connection = http.client.HTTPConnection(host, port, timeout=TARGET_TIMEOUT)
            try:
                try:
                    connection.request(method, path, body=body, headers=dict(headers))
                except ConnectionError:
                    continue  # refused or reset before the request was sent: another target
                response = connection.getresponse()
                return response.status, response.getheaders(), response.read()
            finally:
                connection.close()
                self._done(key)
        return 503, [("Content-Type", "text/plain")], b"503 Service Temporarily Unavailable\n"


def _handler(balancer: Balancer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _proxy(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
            status, answer_headers, answer = balancer.forward(self.command, self.path, headers, body)
            self.send_response(status)
            for name, value in answer_headers:
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _proxy

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the app's own lines are what logs show."""

    return Handler
