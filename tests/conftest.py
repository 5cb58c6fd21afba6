"""Shared fixtures: a throwaway project folder, a small HTTP site the test shapes, the
Docker client, the website image and the website running on a loopback port; and the
order the test scopes are handed out in."""

from __future__ import annotations

import json
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from deployer.verify import http_get
from tests import built_images

WEBSITE = Path(__file__).resolve().parents[1] / "website"
SCOPE_SECONDS = Path(__file__).with_name("scope_seconds.json")
"""Seconds each test scope (a module, or a test class) took under ``make test``: with
``--dist loadscope --no-loadscope-reorder`` the workers take the longest scopes first, so
that none runs a long one while the others have finished. ``make test-seconds`` measures
them again."""
TEST_LABEL = "dev.deployer.test"

MINIMAL_CONFIG = """
[app]
name = "demo"
port = 8000

[app.build]
context = "app"
"""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store-scope-seconds", action="store_true", help=f"write each test scope's seconds to {SCOPE_SECONDS}"
    )


def _scope(nodeid: str) -> str:
    """The unit pytest-xdist's ``--dist loadscope`` hands out: a module or a test class."""
    return nodeid.rsplit("::", 1)[0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest scopes first (a scope not measured yet last), each scope's tests in their order."""
    seconds = json.loads(SCOPE_SECONDS.read_text(encoding="utf-8"))
    items.sort(key=lambda item: -seconds.get(_scope(item.nodeid), 0.0))


_measured: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _measured[_scope(report.nodeid)] = _measured.get(_scope(report.nodeid), 0.0) + report.duration


_workers_built: set[tuple[str, str]] = set()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """pytest-xdist: a worker is done; keep the projects its tests deployed."""
    _workers_built.update(tuple(pair) for pair in node.workeroutput.get("built_images", ()))


def pytest_sessionfinish(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput"):  # a worker: hand its projects to the controller
        session.config.workeroutput["built_images"] = sorted(built_images.noted)
        return
    built_images.remove(built_images.noted | _workers_built)
    if session.config.getoption("store_scope_seconds"):
        seconds = {**json.loads(SCOPE_SECONDS.read_text(encoding="utf-8")), **_measured}  # a part run: its part
        ranked = sorted(seconds.items(), key=lambda scope: -scope[1])
        SCOPE_SECONDS.write_text(json.dumps({scope: round(s, 1) for scope, s in ranked}, indent=1) + "\n")


@pytest.fixture
def site() -> Iterator[tuple[str, dict]]:
    """A threaded HTTP server on 127.0.0.1 answering from ``routes``, which the test may
    edit: path -> (status, headers, body, delay in seconds). Unknown paths are 404."""
    routes: dict[str, tuple[int, dict[str, str], bytes, float]] = {
        "/status": (200, {"Content-Type": "application/json"}, b'{"state": "ok"}', 0.0),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status, headers, body, delay = routes.get(self.path, (404, {"Content-Type": "text/plain"}, b"no", 0.0))
            time.sleep(delay)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", routes
    server.shutdown()
    server.server_close()


@pytest.fixture
def make_project(tmp_path: Path):
    """``make_project(toml_text)`` writes ``deployer.toml`` and an ``app/Dockerfile`` and
    returns the config path."""

    def make(text: str = MINIMAL_CONFIG, *, name: str = "deployer.toml") -> Path:
        (tmp_path / "app").mkdir(exist_ok=True)
        (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\n")
        config = tmp_path / name
        config.write_text(textwrap.dedent(text))
        return config

    return make


@pytest.fixture(scope="session")
def docker_engine():
    """The process's shared Docker engine (deployer.docker_engine.connect); fails, never
    skips, when no engine answers."""
    from deployer.docker_engine import connect

    return connect()


@pytest.fixture(scope="session")
def docker_client(docker_engine):
    """The docker SDK's client of that engine, for tests to arrange and inspect."""
    return docker_engine.sdk


@pytest.fixture(scope="session")
def website_image(docker_engine):
    """The website image, built at most once per session (a no-op when already built)."""
    from deployer.image import build_image
    from deployer.models import AppSpec, BuildSpec

    return build_image(AppSpec("website", BuildSpec(WEBSITE)), report=lambda line: None, client=docker_engine)


BUSYBOX_ONLY = Path(__file__).resolve().parent / "foreign_apps" / "busybox_site"
"""An image FROM scratch with only Debian's static busybox (sh, wget, grep): no python3,
no curl, no GNU tools."""


@pytest.fixture(scope="session")
def busybox_only_image(docker_client):
    """The :data:`BUSYBOX_ONLY` image, built at most once per session (cached steps)."""
    image, _ = docker_client.images.build(path=str(BUSYBOX_ONLY), tag="deployer-test/busybox-only", rm=True)
    return image


def name_proxy(monkeypatch: pytest.MonkeyPatch, url: str, *variables: str) -> None:
    """Set the shell's proxy ``variables`` (``http_proxy`` when none is given) to ``url``,
    with no ``no_proxy``, as on an office machine."""
    for variable in variables or ("http_proxy",):
        monkeypatch.setenv(variable, url)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)


REFUSING_PROXY = "http://127.0.0.1:9"
"""A proxy address that refuses connections (port 9, discard, is not served here)."""


@pytest.fixture(scope="module")
def website_url(docker_client, website_image) -> Iterator[str]:
    """The website image running on a loopback port, for one module: its health path
    answers 200. It keeps the image's own HEALTHCHECK (every 10 s): nothing here reads
    Docker's health, and a faster probe would cost CPU for as long as the module runs."""
    container = docker_client.containers.run(
        website_image.id, detach=True, labels={TEST_LABEL: "1"}, ports={"8000/tcp": ("127.0.0.1", None)}
    )
    try:
        container.reload()
        url = f"http://127.0.0.1:{container.attrs['NetworkSettings']['Ports']['8000/tcp'][0]['HostPort']}"
        deadline = time.monotonic() + 60
        while not _answers_200(url):
            assert time.monotonic() < deadline, container.logs().decode()[-2000:]
            time.sleep(0.2)
        yield url
    finally:
        container.remove(force=True)


def _answers_200(url: str) -> bool:
    try:
        return http_get(url, timeout=2)("/healthz").status == 200
    except OSError:
        return False
