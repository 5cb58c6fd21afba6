"""The one container health check both targets run, executed for real by /bin/sh against
a local HTTP server, through each of its probes (python3, curl, GNU wget), and inside
images as the engine runs it: a python image (in a working directory, and with a
PYTHONPATH, whose modules shadow the standard library's) and a BusyBox-only one
(BusyBox wget)."""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from deployer.healthcheck import probe_command
from deployer.plugins.local_docker.engine import tar
from tests.conftest import REFUSING_PROXY, TEST_LABEL

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


PROXIES = dict.fromkeys(("http_proxy", "all_proxy", "ALL_PROXY", "HTTPS_PROXY"), REFUSING_PROXY)
"""An app's outbound proxy settings: curl and wget would send the probe there."""


@pytest.mark.parametrize("probe", ["python3", "curl", "wget"])
def test_the_apps_proxy_settings_and_curlrc_never_reach_the_probe(server, tmp_path, probe):
    """The probe runs with the app's env, which may name a proxy for the app's own
    outbound requests, and in its user's home, where a ``.wgetrc`` may name one too and a
    ``.curlrc`` may follow redirects: the probe asks the app itself, and a redirect stays
    unhealthy."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".curlrc").write_text("location\n")
    (home / ".wgetrc").write_text("use_proxy = on\nhttp_proxy = http://127.0.0.1:9\n")
    env = {"PATH": os.environ["PATH"] if probe == "python3" else only(tmp_path, probe), "HOME": str(home), **PROXIES}
    command = probe_command(server.server_port, "/healthz", timeout=5)
    for status, healthy in ((200, True), (302, False), (500, False)):
        server.status, server.seen[:] = status, []
        result = subprocess.run(["/bin/sh", "-c", command], capture_output=True, timeout=30, env=env)
        assert (result.returncode == 0) is healthy, (probe, status, result)
        asked = server.seen if probe == "curl" else server.seen[:1]  # BusyBox's wget follows redirects itself
        assert asked == ["/healthz"], (probe, server.seen)  # curl asked once: no redirect followed


SHADOWING = 'raise SystemExit("the app\'s own module was imported")\n'
"""A module of the app named like one of the standard library's."""


@pytest.mark.parametrize(
    ("where", "module"),
    [("working directory", "email.py"), ("working directory", "socket.py"), ("PYTHONPATH", "http/__init__.py")],
)
def test_the_apps_own_modules_never_shadow_the_python_probes(server, tmp_path, where, module):
    """The probe runs in the app's working directory with the app's env: a module of the
    app named like one http.client imports (a top-level ``email.py`` helper, ``PYTHONPATH``
    holding an ``http`` package) must not be imported in its place."""
    app = tmp_path / "app"
    (app / module).parent.mkdir(parents=True)
    (app / module).write_text(SHADOWING)
    env = {"PATH": os.environ["PATH"], **({"PYTHONPATH": str(app)} if where == "PYTHONPATH" else {})}
    command = probe_command(server.server_port, "/healthz", timeout=5)
    for status, healthy in ((200, True), (500, False)):
        server.status = status
        result = subprocess.run(["/bin/sh", "-c", command], capture_output=True, timeout=30, env=env, cwd=app)
        assert (result.returncode == 0) is healthy, (status, result)
        assert b"own module" not in result.stderr, result


def test_nothing_listening_is_unhealthy():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening
        result = subprocess.run(
            ["/bin/sh", "-c", probe_command(port, "/healthz", timeout=2)], capture_output=True, timeout=30
        )
    assert result.returncode != 0


# The probe as the engine runs it: inside the app's own image, against a server on the
# container's loopback. The server answers the status its path names (/status/302) and
# prints every path it is asked for; the probing containers share its network namespace.
_STATUS_SERVER = """
import http.server
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        print("GET", self.path, flush=True)
        status = int(self.path.split("/")[2]) if self.path.startswith("/status/") else 200
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", "/status/200")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"hi")
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", 9000), Handler).serve_forever()
"""


@pytest.fixture(scope="module")
def status_server(docker_client):
    container = docker_client.containers.run(
        "python:3.12-slim", ["python3", "-u", "-c", _STATUS_SERVER], detach=True, labels={TEST_LABEL: "1"}
    )
    try:
        deadline = time.monotonic() + 30
        while b"GET /status/200" not in container.logs():
            assert time.monotonic() < deadline, container.logs().decode()
            container.exec_run(
                ["python3", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:9000/status/200')"]
            )
            time.sleep(0.2)
        yield container
    finally:
        container.remove(force=True)


@pytest.fixture(scope="module")
def busybox_only(docker_client, status_server, busybox_only_image):
    container = docker_client.containers.run(
        busybox_only_image.id,
        ["sleep", "600"],
        detach=True,
        labels={TEST_LABEL: "1"},
        network_mode=f"container:{status_server.id}",
    )
    try:
        yield container
    finally:
        container.remove(force=True)


@pytest.mark.docker
@pytest.mark.parametrize("image", ["busybox-only", "python"])
def test_probe_inside_an_image_is_healthy_only_on_2xx(request, status_server, image):
    prober = request.getfixturevalue("busybox_only") if image == "busybox-only" else status_server
    if image == "busybox-only":  # the probe's wget branch, with BusyBox's own tools
        tools = prober.exec_run(["sh", "-c", "command -v python3 curl bash; wget --help 2>&1 | head -1"]).output
        assert tools.decode().startswith("BusyBox"), tools
    if image == "python":  # in a working directory and with a PYTHONPATH whose modules shadow the standard library's
        prober.put_archive(
            "/tmp", tar({f"app/{name}": SHADOWING for name in ("email.py", "socket.py", "http/__init__.py")})
        )
        where = {"workdir": "/tmp/app", "environment": {"PYTHONPATH": "/tmp/app", **PROXIES}}
    else:
        where = {"environment": PROXIES}
    for status, healthy in ((200, True), (204, True), (301, False), (302, False), (307, False), (500, False)):
        path = f"/status/{status}"
        before = len(status_server.logs().decode().splitlines())
        result = prober.exec_run(["/bin/sh", "-c", probe_command(9000, path, timeout=2)], **where)
        assert (result.exit_code == 0) is healthy, (image, status, result.exit_code, result.output.decode())
        asked = _requests_logged(status_server, after=before)
        assert asked[:1] == [f"GET {path}"], (image, status, asked)
    nothing_listening = prober.exec_run(["/bin/sh", "-c", probe_command(9001, "/healthz", timeout=2)])
    assert nothing_listening.exit_code != 0, (image, nothing_listening.output.decode())


def _requests_logged(server, *, after: int) -> list[str]:
    """The request lines ``server`` logged after its first ``after`` lines, once there is
    one (Docker ships a container's output to its log a moment after it is printed: under
    load the probe can return first); none after 5 s."""
    deadline = time.monotonic() + 5
    while True:
        asked = [line for line in server.logs().decode().splitlines()[after:] if line.startswith("GET ")]
        if asked or time.monotonic() > deadline:
            return asked
        time.sleep(0.05)


def test_the_docker_health_config_is_the_probe_with_the_apps_timings_in_nanoseconds():
    from docker.types import Healthcheck

    from deployer.healthcheck import docker_health_config
    from deployer.models import AppSpec, BuildSpec, HealthCheck

    app = AppSpec("demo", BuildSpec(Path(".")), port=8000, health=HealthCheck("/up", 10, 4, 3, 20))
    sent = Healthcheck(**docker_health_config(app, interval=2))  # what the docker SDK sends the engine
    assert sent == {
        "Test": ["CMD-SHELL", probe_command(8000, "/up", 4)],
        "Interval": 2_000_000_000,
        "Timeout": 4_000_000_000,
        "Retries": 3,
        "StartPeriod": 20_000_000_000,
    }
