"""The contract every deployer target must pass, built-in or third-party.

Subclass :class:`TargetContract` in a test module; pytest collects its tests::

    from deployer.testing import TargetContract

    class TestMyTarget(TargetContract):
        target = "my-target"
        plugins = [("my-target", my_plugin)]   # leave empty if installed by entry point

Everything runs through deployer's real library API and CLI (image build included), in
an isolated project folder with the kit's sample app, on a stack of its own that is
removed at the end. Tests run in the order written; each makes sure of the state it
needs, so any one can also run alone.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets as random_secrets
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest
from typer.testing import CliRunner

from deployer import api, plugin_manager
from deployer.cli import app
from deployer.errors import ConfigError
from deployer.image import resolve_image
from deployer.models import PHASES, Deployment, ExpressedSpec, PhaseContext
from deployer.plugin_manager import get_plugin_manager
from deployer.testing.project import write_project
from deployer.testing.recorder import HookRecorder

SECRET_NAME = "CONTRACT_SECRET"


@attrs.define
class ContractRun:
    """One contract run's project, plugin manager and stack, with shortcuts to the API."""

    config: Path
    stack: str
    target: str
    pm: Any
    recorder: HookRecorder
    secret: str
    offline: bool
    deployment: Deployment | None = None

    def session(self, config: Path | None = None) -> api.Session:
        return api.open_session(target=self.target, stack=self.stack, config=config or self.config, pm=self.pm)

    def up(self) -> Deployment:
        self.deployment = api.up(self.session())
        return self.deployment

    def ensure_up(self) -> Deployment:
        return self.deployment or self.up()

    def plan(self):
        return api.plan(self.session(), offline=self.offline)

    def status(self):
        return api.status(self.session())

    def down(self) -> None:
        api.down(self.session())
        self.deployment = None

    def context(self) -> PhaseContext:
        return self.session().context("status")

    def cli(self, *args: str) -> Any:
        """Run the real CLI (``--target``, ``--stack``, ``--config`` added)."""
        command = [*args, "--target", self.target, "--stack", self.stack, "--config", str(self.config)]
        return CliRunner().invoke(app, command)


class TargetContract:
    """The contract suite. Set ``target``; override the hooks below when needed."""

    target: ClassVar[str]
    plugins: ClassVar[Sequence[tuple[str, object]]] = ()
    """``(name, plugin)`` pairs to register besides the installed ones."""
    offline: ClassVar[bool] = False
    """Plan with ``offline=True`` (for targets whose plan needs a cloud otherwise)."""

    app: ClassVar[Mapping[str, Any]] = {
        "name": "contract",
        "port": 8000,
        "env": {"GREETING": "hello", "APP_VERSION": "1"},
        "secrets": [SECRET_NAME],
        "health": {"path": "/healthz", "interval": 5, "timeout": 3},
        "cpu": 256,
        "memory": 512,
        "replicas": 2,
        "command": ["python3", "/srv/app.py"],
    }

    # --- hooks for target authors -----------------------------------------------------

    def target_settings(self) -> Mapping[str, Any]:
        """The ``[targets.<target>]`` table for the run (e.g. a free port)."""
        return {}

    def make_plugin_manager(self, recorder: HookRecorder) -> Any:
        """The plugin manager for the run: installed plugins, ``plugins``, the recorder."""
        return get_plugin_manager(extra=[*self.plugins, ("contract-recorder", recorder)])

    def environment(self) -> contextlib.AbstractContextManager[Any]:
        """The context the whole run happens in: entered before anything else (project,
        plugin manager), left after the final ``down``. E.g. an emulator and its
        credentials. None by default."""
        return contextlib.nullcontext()

    def leftovers(self, ctx: PhaseContext) -> list[str]:
        """What the target still holds for ``ctx``'s app and stack (objects, resources).
        The contract requires none after ``down`` and none after a ``plan`` alone."""
        return []

    # --- the run ----------------------------------------------------------------------

    @pytest.fixture(scope="class")
    @classmethod
    def run(cls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContractRun]:
        contract = cls()
        with contract.environment(), pytest.MonkeyPatch.context() as patch:
            folder = tmp_path_factory.mktemp(f"contract-{contract.target}")
            config = write_project(folder, app=contract.app, targets={contract.target: contract.target_settings()})
            recorder = HookRecorder()
            pm = contract.make_plugin_manager(recorder)
            secret = "s3cr3t-" + random_secrets.token_hex(12)
            patch.setenv(SECRET_NAME, secret)
            patch.setattr(plugin_manager, "get_plugin_manager", lambda **_: pm)  # the CLI sees the same plugins
            run = ContractRun(
                config=config,
                stack="c" + random_secrets.token_hex(4),
                target=contract.target,
                pm=pm,
                recorder=recorder,
                secret=secret,
                offline=contract.offline,
            )
            try:
                yield run
            finally:
                run.down()

    # --- the contract, in order -------------------------------------------------------

    def test_bad_config_fails_before_any_side_effect(self, run: ContractRun, tmp_path: Path) -> None:
        bad = write_project(
            tmp_path, app=self.app, targets={self.target: {**self.target_settings(), "not_a_key_of_any_target": 1}}
        )
        run.recorder.clear()
        with pytest.raises(ConfigError) as caught:
            api.up(run.session(bad))
        assert f"targets.{self.target}.not_a_key_of_any_target" in str(caught.value)
        assert caught.value.exit_code == 2
        assert run.recorder.calls == [], "no phase may run when the config is bad"
        assert not run.status().deployed
        assert self.leftovers(run.context()) == []

    def test_plan_has_no_side_effects(self, run: ContractRun) -> None:
        if run.deployment is not None:
            run.down()
        run.recorder.clear()
        first = run.plan()
        assert run.recorder.phases("plan") == list(PHASES)
        assert first.changes and all(c.action == "create" for c in first.changes), first.changes
        assert not run.status().deployed
        assert self.leftovers(run.context()) == []
        assert run.plan().changes == first.changes

    def test_phases_run_in_order_and_return_documented_types(self, run: ContractRun) -> None:
        run.recorder.clear()
        run.ensure_up()
        calls = [c for c in run.recorder.calls if c.mode == "up"]
        assert [(c.phase, c.result_type) for c in calls] == [
            ("network", "NetworkResult"),
            ("registry", "RegistryResult"),
            ("ingress", "IngressResult"),
            ("compute", "ComputeResult"),
        ]
        assert {c.target for c in calls} == {self.target}

    def test_up_returns_an_endpoint_and_outputs(self, run: ContractRun) -> None:
        deployment = run.ensure_up()
        assert (deployment.target, deployment.stack) == (self.target, run.stack)
        assert deployment.endpoint.startswith(("http://", "https://")), deployment.endpoint
        json.dumps(dict(deployment.outputs))  # plain values only
        status = run.status()
        assert status.deployed and status.endpoint == deployment.endpoint
        assert status.healthy >= status.desired >= 1

    def test_second_up_changes_nothing(self, run: ContractRun) -> None:
        first = run.ensure_up()
        before = run.status()
        assert {c.action for c in run.plan().changes} == {"unchanged"}
        second = run.up()
        assert second.endpoint == first.endpoint
        after = run.status()
        assert (after.spec, after.image, after.endpoint) == (before.spec, before.image, before.endpoint)

    def test_app_spec_is_expressed_faithfully(self, run: ContractRun) -> None:
        run.ensure_up()
        app = run.session().project.app
        expected = ExpressedSpec.from_app(app, resolve_image(app).id)
        assert expected.image_id.startswith("sha256:")
        assert run.status().spec == expected
        assert run.plan().spec == expected

    def test_secret_values_never_appear(self, run: ContractRun, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG)
        outputs = []
        for given in (["plan", "--json"], ["up", "--json"], ["status", "--json"], ["status"], ["plan"]):
            command = [*given, "--offline"] if self.offline and given[0] == "plan" else given
            result = run.cli(*command)
            assert result.exit_code == 0, (command, result.stdout, result.stderr)
            outputs += [result.stdout, result.stderr]
            if "--json" in command:
                json.loads(result.stdout)  # exactly one JSON document on stdout
        outputs.append(caplog.text)
        for text in outputs:
            assert run.secret not in text
        assert SECRET_NAME in run.status().spec.env_names

    def test_down_removes_everything_and_is_idempotent(self, run: ContractRun) -> None:
        run.ensure_up()
        run.down()
        assert not run.status().deployed
        assert self.leftovers(run.context()) == []
        run.down()
        assert not run.status().deployed
