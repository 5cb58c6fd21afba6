"""Names on the engine: unambiguous per (app, stack), a foreign object holding one is
refused before anything changes, and a deployment made under the old names is found
(by its labels) and replaced or removed."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests

from deployer import api
from deployer.errors import ConfigError, UsageError
from deployer.plugins.local_docker import engine
from deployer.testing import free_port
from tests.local_docker.conftest import APP_NAME, Stack

pytestmark = pytest.mark.docker


@pytest.fixture
def other_stack(docker_client: Any, tmp_path: Path) -> Iterator[Stack]:
    """A second stack in a project folder of its own, removed afterwards like ``stack``."""
    folder = tmp_path / "other"
    folder.mkdir()
    made = Stack(folder=folder, stack="o" + secrets.token_hex(4), port=free_port(), docker=docker_client)
    yield made
    for container in made.containers():
        docker_client.api.remove_container(container["Id"], force=True, v=True)
    api.down(made.session())


def _cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "deployer",
            *args,
            "--target",
            "local",
            "--stack",
            stack.stack,
            "--config",
            str(stack.config),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ},
    )


def test_app_and_stack_pairs_that_shared_a_name_deploy_side_by_side(stack, other_stack):
    # website + adv-x and website-adv + x were both deployer-website-adv-x
    token = stack.stack
    stack.stack = f"{token}-x"
    other_stack.app, other_stack.stack = f"{APP_NAME}-{token}", "x"
    other_stack.version = "2"
    stack.up()
    assert [c.action for c in api.plan(other_stack.session()).changes if c.action != "create"] == []

    other_stack.up()
    mine, theirs = stack.objects(), other_stack.objects()
    for kind in ("containers", "networks", "volumes"):
        assert mine[kind] and theirs[kind] and not set(mine[kind]) & set(theirs[kind]), kind
    assert requests.get(stack.url(), timeout=5).text == "version 1\n"
    assert requests.get(other_stack.url(), timeout=5).text == "version 2\n"
    assert {c.action for c in api.plan(stack.session()).changes} == {"unchanged"}

    api.down(other_stack.session())
    assert other_stack.objects() == {"containers": [], "networks": [], "volumes": []}
    assert stack.objects() == mine
    assert requests.get(stack.url(), timeout=5).text == "version 1\n"


def test_a_foreign_container_holding_the_load_balancers_name_is_refused_before_anything(stack, docker_client):
    lb_name = f"deployer-{APP_NAME}.{stack.stack}-lb"
    squatter = docker_client.api.create_container("python:3.12-slim", command=["sleep", "300"], name=lb_name)
    try:
        result = _cli(stack, "up")
        assert result.returncode == 2, result.stderr
        assert f"container {lb_name}" in result.stderr and "nothing was changed" in result.stderr
        assert "building" not in result.stderr and "Traceback" not in result.stderr
        assert stack.objects() == {"containers": [], "networks": [], "volumes": []}
    finally:
        docker_client.api.remove_container(squatter["Id"], force=True)


def test_a_foreign_network_holding_the_stacks_name_is_refused_by_plan_and_up(stack, docker_client):
    network = docker_client.api.create_network(f"deployer-{APP_NAME}.{stack.stack}")
    try:
        for call in (lambda: api.plan(stack.session()), stack.up):
            with pytest.raises(UsageError) as caught:
                call()
            assert f"network deployer-{APP_NAME}.{stack.stack} " in str(caught.value)
        assert stack.objects() == {"containers": [], "networks": [], "volumes": []}
    finally:
        docker_client.api.remove_network(network["Id"])


@pytest.mark.parametrize("kind", ["database container", "database volume", "worker container"])
def test_a_foreign_object_holding_a_backing_service_name_is_refused_before_anything(stack, docker_client, kind):
    prefix = f"deployer-{APP_NAME}.{stack.stack}"
    config = stack.config
    config.write_text(
        config.read_text() + '\n[database]\nengine = "postgres"\n\n[workers.mailer]\ncommand = "sleep 300"\n'
    )
    if kind == "database volume":
        made, remove = docker_client.api.create_volume(f"{prefix}-db")["Name"], docker_client.api.remove_volume
    else:
        name = f"{prefix}-db" if kind == "database container" else f"{prefix}-worker-mailer-0123abcd-1"
        made = docker_client.api.create_container("python:3.12-slim", command=["sleep", "300"], name=name)["Id"]
        remove = partial(docker_client.api.remove_container, force=True)
    try:
        with pytest.raises(UsageError) as caught:
            api.plan(api.open_session(target="local", stack=stack.stack, config=config))
        assert f"{kind.split()[1]} {prefix}-" in str(caught.value) and "nothing was changed" in str(caught.value)
        assert stack.objects() == {"containers": [], "networks": [], "volumes": []}
    finally:
        remove(made)


def _up_under_old_names(stack: Stack) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "prefix", engine.legacy_prefix)
        stack.up()
    old = f"deployer-{APP_NAME}-{stack.stack}"
    volumes = [v for v in stack.objects()["volumes"] if "-history-" not in v]  # release records stay
    assert stack.objects()["networks"] == [old] and volumes == [f"{old}-lb-config"]


def test_a_deployment_under_the_old_names_is_replaced_by_up(stack):
    _up_under_old_names(stack)
    old = f"deployer-{APP_NAME}-{stack.stack}"

    planned = {(c.action, c.kind, c.name) for c in api.plan(stack.session()).changes}
    assert {("remove", "network", old), ("remove", "volume", f"{old}-lb-config")} <= planned

    stack.up()
    new = f"deployer-{APP_NAME}.{stack.stack}"
    objects = stack.objects()
    volumes = [v for v in objects["volumes"] if "-history-" not in v]  # release records stay
    assert objects["networks"] == [new] and volumes == [f"{new}-lb-config"]
    assert len(objects["containers"]) == 2 and all(n.startswith(f"{new}-") for n in objects["containers"])
    assert requests.get(stack.url(), timeout=5).text == "version 1\n"
    assert {c.action for c in api.plan(stack.session()).changes} == {"unchanged"}


def test_a_deployment_under_the_old_names_is_removed_by_down(stack):
    _up_under_old_names(stack)
    api.down(stack.session())
    assert stack.objects() == {"containers": [], "networks": [], "volumes": []}


def test_a_database_version_that_cannot_run_here_is_refused_before_the_build(stack, docker_client, monkeypatch):
    config = stack.config
    config.write_text(config.read_text() + '\n[database]\nengine = "postgres"\nversion = "16"\n')
    if docker_client.api.images(name="postgres:16"):
        pytest.skip("postgres:16 is in this engine's image store: the version can run here")

    def build_image(*args, **kwargs):  # the engine's image list cannot tell: other tests build meanwhile
        raise AssertionError("the image was built before the database version was refused")

    monkeypatch.setattr(api, "build_image", build_image)
    with pytest.raises(ConfigError) as caught:
        api.up(api.open_session(target="local", stack=stack.stack, config=config))
    assert caught.value.key == "database.version" and caught.value.exit_code == 2
    assert 'set database.version = "15"' in str(caught.value)
    assert stack.objects() == {"containers": [], "networks": [], "volumes": []}


def test_the_longest_app_stack_and_worker_names_deploy_a_worker(stack, docker_client):
    """A worker's container name with a 24-character app, a 16-character stack and a
    16-character worker is 85 characters; Docker uses the name as the hostname, which the
    kernel caps at 64, so the container could not start. Its hostname is now cut to 63.
    Its cpu, more CPUs than the engine has, is a CFS quota (Docker refuses such NanoCpus)."""
    stack.app, stack.stack, stack.replicas = "a" * 24, (stack.stack + "x" * 16)[:16], 1
    config = stack.config
    worker = "w" * 16
    worker_table = f'\n[workers.{worker}]\ncommand = ["python3", "/srv/server.py"]\ncpu = 1048576\n'
    config.write_text(config.read_text() + worker_table)  # 1,024 CPUs: more than the engine has
    session = api.open_session(target="local", stack=stack.stack, config=config)
    api.up(session)
    (container,) = stack.containers("worker")
    info = docker_client.api.inspect_container(container["Id"])
    assert info["State"]["Running"] and len(info["Config"]["Hostname"]) <= 63
    assert len(container["Names"][0].lstrip("/")) > 63
    api.down(session)


def test_a_load_balancer_base_image_that_is_not_at_hand_is_refused_by_plan_and_up_before_anything(stack):
    """The load balancer image is built from ``lb_base_image``: one the engine neither has
    nor can pull is a config error (exit 2) for ``plan`` and ``up`` before anything is
    built (it passed ``plan``, and ``up`` failed with exit 1 after building the app)."""
    stack.settings = {"lb_base_image": "deployer-test/no-such-base:1"}
    for command in ("plan", "up"):
        result = _cli(stack, command)
        assert result.returncode == 2, result.stderr
        assert result.stderr.splitlines() == [
            f"error: {stack.config}: targets.local.lb_base_image: is not in the Docker engine's image store and "
            "cannot be pulled: the load balancer image is built from it. Load or pull it (docker pull / docker "
            "load), or leave the key out for python:3.12-slim (scripts/base-image.sh builds that offline) (got "
            '"deployer-test/no-such-base:1")'
        ], "one line: nothing was built before it"
    assert stack.objects() == {"containers": [], "networks": [], "volumes": []}
