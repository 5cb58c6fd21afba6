"""The running load balancer's routes: ``wait_serving`` (the last step of a local rollout)
accepts what the health check accepts; ``register`` says what its script found."""

from __future__ import annotations

import re

import pytest

from deployer.errors import DeployFailed
from deployer.plugins.local_docker import lb_routes


@pytest.mark.parametrize("status", [200, 204])
def test_any_2xx_through_the_load_balancer_is_serving(site, status):
    url, routes = site
    routes["/healthz"] = (status, {}, b"", 0.0)
    lb_routes.wait_serving(url, "/healthz", timeout=2)


@pytest.mark.parametrize("status", [302, 404, 503])
def test_a_status_the_health_check_refuses_is_not_serving_and_is_named(site, status):
    url, routes = site
    routes["/healthz"] = (status, {}, b"", 0.0)
    with pytest.raises(DeployFailed, match=f"did not serve /healthz within 1 s: status {status}"):
        lb_routes.wait_serving(url, "/healthz", timeout=1)


def test_the_wait_for_haproxys_checks_ends_at_once_when_its_stats_cannot_be_read():
    """From the review: a stats port that does not answer made the rollout wait its 30 s
    and route back, though the routes were loaded (read from the config file)."""
    import socket
    import time

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]  # closed again: nothing answers there
    started = time.monotonic()
    lb_routes.wait_checked(port, ("web-1",), "/healthz", timeout=5)
    assert time.monotonic() - started < 2


class _Exec:
    """The engine calls ``register`` makes, answering its script with ``output`` and
    ``code`` (what the shell in the load balancer would print and exit with)."""

    def __init__(self, output: str, code: int) -> None:
        self.output, self.code = output.encode(), code
        self.api = self

    def put_archive(self, container, path, data):
        return True

    def exec_create(self, container, command):
        return {"Id": "e"}

    def exec_inspect(self, exec_id):
        return {"ExitCode": self.code}

    def patient(self, seconds):
        return self

    def exec_start(self, exec_id):
        return self.output


UPSTREAM = lb_routes.Upstream("lb", 8000, "/healthz", 2, 3, 5)


@pytest.mark.parametrize(
    ("output", "code", "said"),
    [
        ("[ALERT] parsing [haproxy.cfg.new:40]: unknown keyword\n", 1, "rejected its new config: [ALERT] parsing"),
        ("config in place\nworker 7\nsh: 1: kill: Operation not permitted\n", 2, "did not take the reload signal"),
    ],
    ids=["rejected", "not-signalled"],
)
def test_a_register_that_fails_says_whether_the_new_config_is_in_place(output, code, said):
    with pytest.raises(DeployFailed, match=re.escape(said)) as caught:
        lb_routes.register(_Exec(output, code), UPSTREAM, ("web-1",))
    assert ("in place" in str(caught.value)) == (code == 2)
    assert "worker 7" not in str(caught.value)


def test_register_returns_the_workers_from_before_its_reload():
    assert lb_routes.register(_Exec("config in place\nworker 7\nworker 9\n", 0), UPSTREAM, ("web-1",)) == (7, 9)
