"""What the bluegreen target refuses before anything is created: a host port something
else holds, and app keys it does not run."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid

import docker
import pytest

pytestmark = pytest.mark.docker


def _deployer(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "deployer", *args], check=False, capture_output=True, text=True, timeout=120
    )


def _objects(app: str) -> list[str]:
    client = docker.from_env()
    labelled = {"label": [f"dev.bluegreen.app={app}"]}
    return [c.name for c in client.containers.list(all=True, filters=labelled)] + [
        n.name for n in client.networks.list(filters=labelled)
    ]


def test_a_taken_host_port_is_refused_before_anything_is_created(deployer_project):
    app = f"bg-{uuid.uuid4().hex[:8]}"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        config = deployer_project(app={"name": app}, targets={"bluegreen": {"host_port": port}})
        for command in ("plan", "up"):
            result = _deployer(command, "--target", "bluegreen", "--config", str(config))
            assert result.returncode == 2, (command, result.stdout, result.stderr)
            assert f"targets.bluegreen.host_port: 127.0.0.1:{port} is in use" in result.stderr, result.stderr
            assert "Traceback" not in result.stderr
    assert _objects(app) == []


@pytest.mark.parametrize(
    ("tables", "key"),
    [
        ({"workers": {"mailer": {"command": "python -m mailer"}}}, "workers.mailer"),
        ({"database": {}}, "database"),
    ],
)
def test_what_the_target_does_not_run_is_refused_before_anything_is_created(deployer_project, tables, key):
    app = f"bg-{uuid.uuid4().hex[:8]}"
    config = deployer_project(app={"name": app}, tables=tables)
    result = _deployer("plan", "--target", "bluegreen", "--config", str(config))
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert f"{key}: on bluegreen, " in result.stderr, result.stderr
    assert _objects(app) == []
