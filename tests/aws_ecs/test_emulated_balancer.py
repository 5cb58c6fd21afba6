"""The emulated ALB (core/testing/aws_ecs/emulated_balancer.py) against small local HTTP
servers: routing to registered targets, a refused connection retried on another target,
draining that lets requests in flight finish, 503 with no target."""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from deployer.testing.aws_ecs.emulated_balancer import Balancer, HealthCheck, matches


class Target:
    """A target answering ``name`` to every request, after ``delay`` seconds; ``/healthz``
    answers 200, or 503 while ``healthy`` is False."""

    def __init__(self, name: str, delay: float = 0.0):
        self.started = threading.Event()
        self.healthy = True
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/healthz":
                    self.send_response(200 if target.healthy else 503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                target.started.set()
                time.sleep(delay)
                body = name.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = ("127.0.0.1", self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def balancer() -> Iterator[Balancer]:
    found = Balancer()
    yield found
    found.close()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def refused_address() -> tuple[str, int]:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return "127.0.0.1", probe.getsockname()[1]


def test_it_answers_on_loopback_from_every_registered_target_in_turn(balancer):
    one, two = Target("one"), Target("two")
    balancer.register("10.0.0.1", one.address)
    balancer.register("10.0.0.2", two.address)
    assert balancer.endpoint.startswith("http://127.0.0.1:")
    assert {get(balancer.endpoint + "/")[1] for _ in range(4)} == {"one", "two"}
    one.close()
    two.close()


def test_with_no_target_it_answers_503_as_the_alb_does(balancer):
    assert get(balancer.endpoint + "/")[0] == 503


def test_a_refused_connection_is_retried_on_another_target(balancer):
    alive = Target("alive")
    balancer.register("10.0.0.1", refused_address())
    balancer.register("10.0.0.2", alive.address)
    assert [get(balancer.endpoint + "/") for _ in range(6)] == [(200, "alive")] * 6
    alive.close()


def test_a_deregistered_target_gets_no_new_request_and_finishes_those_in_flight(balancer):
    slow, other = Target("slow", delay=1.0), Target("other")
    balancer.register("10.0.0.1", slow.address)
    answers: list[tuple[int, str]] = []
    request = threading.Thread(target=lambda: answers.append(get(balancer.endpoint + "/")))
    request.start()
    assert slow.started.wait(5)
    balancer.register("10.0.0.2", other.address)
    began = time.monotonic()
    balancer.deregister("10.0.0.1", delay=10)
    assert time.monotonic() - began > 0.5, "deregister returned before the request in flight was answered"
    request.join()
    assert answers == [(200, "slow")]
    assert balancer.registered() == ["10.0.0.2"]
    assert {get(balancer.endpoint + "/")[1] for _ in range(3)} == {"other"}
    slow.close()
    other.close()


def test_draining_gives_up_after_the_deregistration_delay(balancer):
    stuck = Target("stuck", delay=3.0)
    balancer.register("10.0.0.1", stuck.address)
    threading.Thread(target=lambda: get(balancer.endpoint + "/"), daemon=True).start()
    assert stuck.started.wait(5)
    began = time.monotonic()
    balancer.deregister("10.0.0.1", delay=0.3)
    assert time.monotonic() - began < 2
    stuck.close()


CHECK = HealthCheck(path="/healthz", matcher="200-299", interval=0.05, unhealthy_threshold=2, healthy_threshold=3)


def wait_for(condition, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.02)


def test_a_target_failing_its_health_checks_is_out_of_service_until_it_passes_again():
    balancer = Balancer(CHECK)
    sick, well = Target("sick"), Target("well")
    balancer.register("10.0.0.1", sick.address)
    balancer.register("10.0.0.2", well.address)
    sick.healthy = False
    wait_for(lambda: balancer.unhealthy() == ["10.0.0.1"])
    assert {get(balancer.endpoint + "/")[1] for _ in range(4)} == {"well"}
    sick.healthy = True
    wait_for(lambda: balancer.unhealthy() == [])
    assert {get(balancer.endpoint + "/")[1] for _ in range(4)} == {"sick", "well"}
    balancer.close()
    sick.close()
    well.close()


def test_when_every_target_is_unhealthy_it_fails_open_as_the_alb_does():
    balancer = Balancer(CHECK)
    only = Target("only")
    balancer.register("10.0.0.1", only.address)
    only.healthy = False
    wait_for(lambda: balancer.unhealthy() == ["10.0.0.1"])
    assert get(balancer.endpoint + "/") == (200, "only")
    balancer.close()
    only.close()


@pytest.mark.parametrize(
    ("status", "matcher", "expected"),
    [(200, "200", True), (204, "200-299", True), (302, "200-299", False), (404, "200,404", True)],
)
def test_the_matcher_takes_elbv2s_codes_and_ranges(status, matcher, expected):
    assert matches(status, matcher) is expected
