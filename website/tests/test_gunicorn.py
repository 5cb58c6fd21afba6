"""The gunicorn settings the image runs with: read from the environment, and a SIGTERM
lets in-flight requests finish (gunicorn from the test virtualenv, bound to 127.0.0.1)."""

from __future__ import annotations

import runpy
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

GUNICORN_CONF = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"


def test_gunicorn_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("PORT", "9090")
    monkeypatch.setenv("WEB_WORKERS", "3")
    monkeypatch.delenv("WEB_THREADS", raising=False)
    settings = runpy.run_path(str(GUNICORN_CONF))

    assert settings["bind"] == "0.0.0.0:9090"
    assert (settings["workers"], settings["threads"]) == (3, 4)
    assert settings["graceful_timeout"] < 30  # drains before ECS's default stop timeout


def test_gunicorn_rejects_a_bad_worker_count(monkeypatch):
    monkeypatch.setenv("WEB_WORKERS", "lots")

    with pytest.raises(SystemExit, match="WEB_WORKERS must be a positive integer"):
        runpy.run_path(str(GUNICORN_CONF))


def test_sigterm_drains_in_flight_requests(tmp_path):
    (tmp_path / "slow_app.py").write_text(
        textwrap.dedent("""
        import time

        def app(environ, start_response):
            if environ["PATH_INFO"] == "/slow":
                time.sleep(1.5)
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"done"]
    """)
    )
    with _serving(tmp_path, "slow_app:app") as (server, port):
        _wait_until_serving(f"http://127.0.0.1:{port}/")
        answers = []
        client = threading.Thread(target=lambda: answers.append(_get(f"http://127.0.0.1:{port}/slow")))
        client.start()
        time.sleep(0.5)  # the request is now inside the worker
        server.send_signal(signal.SIGTERM)
        client.join(timeout=10)

        assert answers == [(200, b"done")]
        assert server.wait(timeout=10) == 0


def test_the_access_log_leaves_out_passing_health_checks_only(tmp_path):
    (tmp_path / "health_app.py").write_text(
        textwrap.dedent("""
        def app(environ, start_response):
            failing = environ["PATH_INFO"] == "/healthz" and environ["QUERY_STRING"] == "fail"
            start_response("503 Service Unavailable" if failing else "200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
    """)
    )
    with _serving(tmp_path, "health_app:app") as (server, port):
        _wait_until_serving(f"http://127.0.0.1:{port}/ready")
        for path in ("/healthz", "/healthz", "/healthz?fail", "/about"):
            try:
                _get(f"http://127.0.0.1:{port}{path}")
            except urllib.error.HTTPError as error:
                assert error.code == 503
        server.terminate()
        log = server.communicate(timeout=10)[0].decode()

    # gunicorn's threads write a line after answering, so lines need not keep request
    # order; the wait above asks for /ready until it answers: once, or more under load
    requests = sorted(line.split('"')[1] for line in log.splitlines() if '"GET ' in line and "/ready" not in line)
    assert requests == ["GET /about HTTP/1.1", "GET /healthz?fail HTTP/1.1"], log


@contextmanager
def _serving(folder: Path, app: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """gunicorn with the image's settings serving ``app`` from ``folder`` on a free
    loopback port (one worker; the access log on its stdout); killed on exit."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF), "--bind", f"127.0.0.1:{port}"]
    server = subprocess.Popen(
        [*command, "--workers", "1", app], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        yield server, port
    finally:
        server.kill()
        server.communicate()


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


def _wait_until_serving(url: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _get(url)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
