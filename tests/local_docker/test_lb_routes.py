"""``wait_serving``: the last step of a local rollout accepts what the health check accepts."""

from __future__ import annotations

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
