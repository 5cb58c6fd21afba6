"""``deployer up --watch`` as a user runs it: a subprocess, files edited, the endpoint
polled under traffic, then Ctrl-C (SIGINT)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

from tests.local_docker.conftest import APP_DIR, APP_NAME

pytestmark = pytest.mark.docker


def _wait_for(url: str, text: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).text == text:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never served {text!r}")


def _wait_output(lines: list[str], needle: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(needle in line for line in lines):
            return
        time.sleep(0.2)
    raise AssertionError(f"no output line with {needle!r}:\n" + "".join(lines))


def test_watch_rolls_out_a_change_refuses_a_broken_one_and_stops_on_ctrl_c(stack, traffic, tmp_path):
    context = tmp_path / "ctx"
    shutil.copytree(APP_DIR, context)
    (context / ".dockerignore").write_text("notes.txt\n")
    stack.context = context
    stack.version = f"w{stack.stack}"
    process = subprocess.Popen(
        [sys.executable, "-m", "deployer", "up", "--watch", "--stack", stack.stack, "--config", str(stack.config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},  # SIGABRT dumps every thread's stack, should it hang
        # as from a terminal: a shell starts background jobs with SIGINT ignored, and Python
        # keeps an inherited SIG_IGN, so a suite run in the background could not Ctrl-C it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        _wait_output(lines, "watching")
        assert any(f"(deployer/{APP_NAME}:" in line and "serving http://127.0.0.1:" in line for line in lines), lines
        _wait_for(stack.url(), f"version {stack.version}\n")
        server = context / "server.py"
        original = server.read_text()
        with traffic(stack.url()) as load:
            (context / "notes.txt").write_text("ignored by .dockerignore: no rollout\n")
            server.write_text(original.replace('f"version {', 'f"edited {'))
            _wait_for(stack.url(), f"edited {stack.version}\n")
            _wait_output(lines, "release 2")
            server.write_text(original.replace("import os", "import os +"))  # a syntax error
            _wait_output(lines, "not deployed")
            assert requests.get(stack.url(), timeout=5).text == f"edited {stack.version}\n"
        assert not load.failures, load.failures
        assert sum(n for body, n in load.bodies.items() if body.startswith("edited")) > 0
        assert "keeps serving" in "".join(lines)
        assert sum("change detected" in line for line in lines) == 2, "the ignored file changed nothing"
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)
            process.wait(timeout=30)
            time.sleep(1)
            raise AssertionError("Ctrl-C did not stop watching within 60 s:\n" + "".join(lines)) from None
        assert code == 0, "".join(lines)
        assert "stopped watching" in "".join(lines)
        assert requests.get(stack.url(), timeout=5).text == f"edited {stack.version}\n", "still deployed"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
