"""The one container health check both targets run, executed for real by /bin/sh against
a local HTTP server, through each of its probes (python3, curl, wget)."""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import subprocess
import threading

import pytest

from deployer.healthcheck import probe_command

PATHS = ["/healthz", "/health?check=db&verbose=1", "/it's;$(false)"]


@pytest.fixture(scope="module")
def server():
    """Answers ``server.status`` to every GET and records the paths it saw."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            self.send_response(self.server.status)
            if 300 <= self.server.status < 400:
                self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.seen = seen
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()


def only(tmp_path, *tools: str) -> str:
    """A PATH holding just ``tools`` (and what the probe pipes through)."""
    folder = tmp_path / "-".join(tools)
    folder.mkdir()
    for tool in (*tools, "grep"):
        os.symlink(shutil.which(tool), folder / tool)
    return str(folder)


@pytest.mark.parametrize("probe", ["python3", "curl", "wget"])
@pytest.mark.parametrize("path", PATHS)
def test_healthy_means_2xx_on_exactly_the_health_path(server, tmp_path, probe, path):
    command = probe_command(server.server_port, path, timeout=5)
    env = {"PATH": os.environ["PATH"] if probe == "python3" else only(tmp_path, probe)}
    for status, healthy in ((200, True), (204, True), (302, False), (500, False)):
        server.status, server.seen[:] = status, []
        result = subprocess.run(["/bin/sh", "-c", command], capture_output=True, timeout=30, env=env)
        assert (result.returncode == 0) is healthy, (probe, status, result)
        assert server.seen[:1] == [path], (probe, server.seen)


def test_nothing_listening_is_unhealthy():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening
        result = subprocess.run(
            ["/bin/sh", "-c", probe_command(port, "/healthz", timeout=2)], capture_output=True, timeout=30
        )
    assert result.returncode != 0
