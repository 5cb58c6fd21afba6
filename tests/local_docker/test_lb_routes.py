"""``wait_serving``: the last step of a local rollout accepts what the health check accepts."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import attrs
import pytest

from deployer.errors import DeployFailed
from deployer.plugins.local_docker import lb_routes


@attrs.define
class Answering:
    """A loopback server at ``url`` answering every GET with ``status`` and no body."""

    url: str = ""
    status: int = 200


@pytest.fixture
def answering() -> Iterator[Answering]:
    answering = Answering()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(answering.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    answering.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield answering
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("status", [200, 204])
def test_any_2xx_through_the_load_balancer_is_serving(answering, status):
    answering.status = status
    lb_routes.wait_serving(answering.url, "/healthz", timeout=2)


@pytest.mark.parametrize("status", [302, 404, 503])
def test_a_status_the_health_check_refuses_is_not_serving_and_is_named(answering, status):
    answering.status = status
    with pytest.raises(DeployFailed, match=f"did not serve /healthz within 1 s: status {status}"):
        lb_routes.wait_serving(answering.url, "/healthz", timeout=1)
