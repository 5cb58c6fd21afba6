"""Fixtures for the local target's tests: a real Docker engine, a tiny test app, a stack
of its own per test, or one deployed once per module for tests that only read it (both
removed afterwards), and the kit's bounded load loop on 127.0.0.1."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest

from deployer import api, docker_labels
from deployer.models import Deployment
from deployer.testing import free_port
from deployer.testing.load import LoadLoop
from deployer.testing.project import write_config
from tests import built_images

APP_DIR = Path(__file__).parent / "app"
APP_NAME = "ldtest"


@attrs.define
class Stack:
    """One test's project and stack, with shortcuts to the library API."""

    folder: Path
    stack: str
    port: int
    docker: Any
    version: str = "1"
    env: dict[str, str] = attrs.field(factory=dict)
    replicas: int = 1
    """One replica unless a test is about several (each costs a container start and its
    health checks; the module stack has two)."""
    command: list[str] | None = None
    settings: dict[str, Any] = attrs.field(factory=dict)
    app_keys: dict[str, Any] = attrs.field(factory=dict)
    """More ``[app]`` keys (``secrets``, ``cpu``, ...), over the ones above."""
    context: Path = APP_DIR
    lines: list[str] = attrs.field(factory=list)
    app: str = APP_NAME
    deployments: list[Deployment] = attrs.field(factory=list)
    """What each ``up`` returned, in order."""

    @property
    def config(self) -> Path:
        app = {
            "name": self.app,
            "port": 8000,
            "replicas": self.replicas,
            "env": self.env,
            "build": {"context": str(self.context), "args": {"VERSION": self.version}},
            "health": {"interval": 5, "timeout": 2, "retries": 2, "start_period": 0},
        }
        if self.command is not None:
            app["command"] = self.command
        app.update(self.app_keys)
        target = {"host_port": self.port, "health_interval": 2, "drain_seconds": 1, **self.settings}
        return write_config(self.folder, app=app, targets={"local": target})

    def session(self) -> api.Session:
        return api.open_session(target="local", stack=self.stack, config=self.config, reporter=_Lines(self.lines))

    def up(self) -> Deployment:
        deployment = api.up(self.session())
        self.deployments.append(deployment)
        return deployment

    def use_image_with(self, instruction: str, folder: Path) -> None:
        """Build from now on a copy of the app, in ``folder``, whose Dockerfile also has
        ``instruction`` (``VOLUME /data``, ``EXPOSE 9999``) before its ``USER``."""
        shutil.copytree(self.context, folder)
        dockerfile = folder / "Dockerfile"
        dockerfile.write_text(dockerfile.read_text().replace("USER ", f"{instruction}\nUSER ", 1))
        self.context = folder

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def containers(self, role: str | None = None) -> list[dict[str, Any]]:
        """This stack's containers (of ``role``), the paused standby left out."""
        return [r for r in self._containers(role) if r["State"] != "paused"]

    def standby(self) -> list[dict[str, Any]]:
        """The paused replicas: the release the last rollout replaced."""
        return [r for r in self._containers("replica") if r["State"] == "paused"]

    def paused(self, replaced: set[str]) -> bool:
        """The ``replaced`` replicas (IDs) are the standby, but for any Docker could not
        pause (the cgroup freezer can fail under load), which ``up`` removed and said so."""
        standby = {r["Id"] for r in self.standby()}
        return standby == replaced or (standby < replaced and any("could not be paused" in x for x in self.lines))

    def _containers(self, role: str | None) -> list[dict[str, Any]]:
        labels = [f"{docker_labels.APP}={self.app}", f"{docker_labels.STACK}={self.stack}"]
        if role:
            labels.append(f"{docker_labels.ROLE}={role}")
        rows: list[dict[str, Any]] = self.docker.api.containers(all=True, filters={"label": labels})
        return rows

    def objects(self) -> dict[str, list[str]]:
        """Names of every container, network and volume labelled with this stack."""
        labels = {"label": [f"{docker_labels.APP}={self.app}", f"{docker_labels.STACK}={self.stack}"]}
        return {
            "containers": sorted(c["Names"][0].lstrip("/") for c in self._containers(None)),
            "networks": sorted(n["Name"] for n in self.docker.api.networks(filters=labels)),
            "volumes": sorted(v["Name"] for v in self.docker.api.volumes(filters=labels).get("Volumes") or ()),
        }


@attrs.define
class _Lines:
    lines: list[str]

    def line(self, text: str) -> None:
        self.lines.append(text)

    def phase(self, name: str, seconds: float) -> None:
        self.lines.append(f"[{name} {seconds:.3f}s]")


@contextmanager
def _fresh_stack(docker_client: Any, folder: Path, patch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """A stack of the test app on a free loopback port, its state under ``folder``;
    everything labelled with it is removed afterwards, whatever was done with it; its
    images once the whole run is over (:mod:`tests.built_images`)."""
    patch.setenv("XDG_STATE_HOME", str(folder / "state"))
    made = Stack(folder=folder, stack="t" + secrets.token_hex(4), port=free_port(), docker=docker_client)
    yield made
    for container in made.containers():
        docker_client.api.remove_container(container["Id"], force=True, v=True)
    api.down(made.session())
    built_images.note(made.app, made.config)


@pytest.fixture
def stack(docker_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """A fresh stack of its own for one test, not deployed yet."""
    with _fresh_stack(docker_client, tmp_path, monkeypatch) as made:
        yield made


@pytest.fixture(scope="module")
def module_stack(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One stack deployed once (``up``) for a module's tests that only read it or run
    no-op ``up``s on it; a test that changes it uses :func:`stack` instead."""
    folder = tmp_path_factory.mktemp("module-stack")
    with pytest.MonkeyPatch.context() as patch, _fresh_stack(docker_client, folder, patch) as made:
        made.replicas = 2  # the tests that read it read several replicas (their logs merged, one chosen)
        made.up()
        yield made


@pytest.fixture
def deployed(module_stack: Stack) -> Stack:
    """The module's deployed stack, its report lines cleared for this test."""
    module_stack.lines.clear()
    return module_stack


@pytest.fixture
def traffic() -> type[LoadLoop]:
    """``with traffic(url) as t:`` runs the kit's bounded load loop for the block (2 threads,
    a request every 20 ms each, as the contract's rollout check does)."""
    return LoadLoop
