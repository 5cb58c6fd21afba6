"""The driver's environment checks: each missing piece is a clear EnvironmentProblem
(exit 2) with the fix, raised before any workspace or temp dir exists."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
import textwrap

import pytest

from deployer.errors import ConfigError, EnvironmentProblem, UsageError
from deployer.plugins.aws_ecs.driver import AwsEcsDriver
from tests.aws_ecs.conftest import make_ctx


def _no_phases(ctx):
    raise AssertionError("phases must not run when the environment is incomplete")


@pytest.fixture
def bare_env(monkeypatch, tmp_path):
    """No pulumi on PATH, no AWS or Pulumi variables, no AWS config files, no IMDS."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "PULUMI_")):
            monkeypatch.delenv(name)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    project = tmp_path / "project"
    project.mkdir()
    return bin_dir, project


def _fake_pulumi(bin_dir):
    cli = bin_dir / "pulumi"
    cli.write_text("#!/bin/sh\necho v3.272.0\n")
    cli.chmod(cli.stat().st_mode | stat.S_IEXEC)


@pytest.mark.parametrize("operation", ["up", "plan", "down", "status"])
def test_missing_pulumi_cli_is_a_clear_error_leaving_nothing_behind(bare_env, operation, tmp_path, monkeypatch):
    _, project = bare_env
    temporary = tmp_path / "tmp"  # this test's own: other workers write to the shared one meanwhile
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    monkeypatch.setenv("TMPDIR", str(temporary))  # and the subprocesses'
    driver, ctx = AwsEcsDriver(), make_ctx(project_dir=project)
    call = {
        "up": lambda: driver.up(ctx, _no_phases),
        "plan": lambda: driver.plan(ctx, _no_phases),
        "down": lambda: driver.down(ctx),
        "status": lambda: driver.status(ctx),
    }[operation]
    with pytest.raises(EnvironmentProblem, match="Pulumi CLI") as error:
        call()
    assert error.value.exit_code == 2
    assert "https://www.pulumi.com/docs/install/" in str(error.value) and "--offline" in str(error.value)
    assert list(project.iterdir()) == []
    assert list(temporary.iterdir()) == []


def test_missing_passphrase_is_named(bare_env):
    bin_dir, project = bare_env
    _fake_pulumi(bin_dir)
    with pytest.raises(EnvironmentProblem, match="PULUMI_CONFIG_PASSPHRASE"):
        AwsEcsDriver().up(make_ctx(project_dir=project), _no_phases)
    assert list(project.iterdir()) == []


def test_missing_region_is_named(bare_env, monkeypatch):
    bin_dir, project = bare_env
    _fake_pulumi(bin_dir)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")
    with pytest.raises(EnvironmentProblem, match="AWS_REGION"):
        AwsEcsDriver().up(make_ctx(project_dir=project), _no_phases)
    assert list(project.iterdir()) == []


def test_a_region_typo_in_the_environment_is_named_before_anything_is_created(bare_env, monkeypatch):
    bin_dir, project = bare_env
    _fake_pulumi(bin_dir)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-9")
    with pytest.raises(ConfigError, match=r"AWS_DEFAULT_REGION.*did you mean us-east-") as error:
        AwsEcsDriver().up(make_ctx(project_dir=project), _no_phases)
    assert error.value.exit_code == 2
    assert list(project.iterdir()) == []


def test_missing_credentials_are_named(bare_env, monkeypatch):
    bin_dir, project = bare_env
    _fake_pulumi(bin_dir)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")
    with pytest.raises(EnvironmentProblem, match="no AWS credentials"):
        AwsEcsDriver().up(make_ctx({"region": "eu-west-1"}, project_dir=project), _no_phases)
    assert list(project.iterdir()) == []


def test_cli_status_without_pulumi_exits_2_without_traceback(bare_env):
    _, project = bare_env
    (project / "app").mkdir()
    (project / "app" / "Dockerfile").write_text("FROM scratch\n")
    (project / "deployer.toml").write_text(
        textwrap.dedent("""
        [app]
        name = "web"
        port = 8000

        [app.build]
        context = "app"

        [targets.aws-ecs]
        region = "eu-west-1"
    """)
    )
    run = subprocess.run(
        [sys.executable, "-m", "deployer", "status", "--target", "aws-ecs", "--config", str(project / "deployer.toml")],
        capture_output=True,
        text=True,
        cwd=project,
        env={**os.environ, "PATH": os.environ["PATH"]},
    )
    assert run.returncode == 2, run.stderr
    assert "Pulumi CLI" in run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert sorted(p.name for p in project.iterdir()) == ["app", "deployer.toml"]


@pytest.mark.parametrize("operation", ["status", "down", "logs"])
def test_reading_a_never_deployed_stack_writes_nothing(bare_env, monkeypatch, operation):
    """status, down and logs with a file:// backend that does not exist yet create no
    workspace and no state folder: nothing was deployed from this project. The region
    comes from AWS_REGION alone (boto3 by itself reads only AWS_DEFAULT_REGION)."""

    bin_dir, project = bare_env
    _fake_pulumi(bin_dir)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "test")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    driver, ctx = AwsEcsDriver(), make_ctx(project_dir=project)

    if operation == "status":
        assert driver.status(ctx).deployed is False
    elif operation == "down":
        driver.down(ctx)
    else:
        with pytest.raises(UsageError, match=r"is not deployed: run `deployer up --target aws-ecs --stack \w+` first"):
            list(driver.logs(ctx))  # exit 2 and what to run, as on local (it was a failed deployment, exit 1)
    assert list(project.iterdir()) == []


def test_up_reports_a_missing_cli_before_building_the_image(bare_env, monkeypatch):
    """The core calls the driver's preflight first: no image build when the CLI is missing."""
    from deployer import api
    from deployer.testing import write_project

    _, project = bare_env
    config = write_project(project, app={"name": "pre"}, targets={"aws-ecs": {"region": "eu-west-1"}})

    def no_build(session):
        raise AssertionError("the image must not be built before the environment is checked")

    monkeypatch.setattr(api, "build", no_build)
    with pytest.raises(EnvironmentProblem, match="Pulumi CLI"):
        api.up(api.open_session(target="aws-ecs", config=config))


@pytest.mark.parametrize("operation", ["up", "plan", "down"])
def test_a_locked_stack_says_how_to_unlock_and_retry(operation, monkeypatch, tmp_path):
    """A killed `pulumi up` leaves the stack locked; the next command says what to do."""
    from pulumi.automation import CommandResult
    from pulumi.automation.errors import ConcurrentUpdateError

    from deployer.errors import DeployFailed

    class LockedStack:
        def _locked(self, *args, **kwargs):
            raise ConcurrentUpdateError(
                CommandResult(stdout="", stderr="error: the stack is currently locked", code=255)
            )

        refresh = up = preview = destroy = _locked

        def outputs(self):  # reading outputs takes no lock (down reads them for the database first)
            return {}

    driver, ctx = AwsEcsDriver(), make_ctx(project_dir=tmp_path)
    monkeypatch.setattr(driver, "_stack", lambda *a, **k: (LockedStack(), None))
    call = {
        "up": lambda: driver.up(ctx, _no_phases),
        "plan": lambda: driver.plan(ctx, _no_phases),
        "down": lambda: driver.down(ctx),
    }[operation]
    with pytest.raises(DeployFailed, match=r"is locked by another update.*pulumi cancel --yes --stack dev") as error:
        call()
    assert "run the same command again" in str(error.value)


def test_a_preview_gives_the_stack_as_the_plans_root(monkeypatch, tmp_path):
    """`pulumi preview` reports the stack itself among the resources: the driver makes it
    the plan's root (what the renderer hangs the other rows from), not a change."""
    from types import SimpleNamespace

    def event(op, typ, name):
        urn = f"urn:pulumi:dev::deployer-web::{typ}::{name}"
        return SimpleNamespace(resource_pre_event=SimpleNamespace(metadata=SimpleNamespace(op=op, type=typ, urn=urn)))

    class PreviewStack:
        def preview(self, on_event, color, program=None):
            on_event(event("same", "pulumi:pulumi:Stack", "deployer-web-dev"))
            on_event(event("update", "aws:ecs/service:Service", "web-service"))
            on_event(event("same", "aws:ecs/cluster:Cluster", "web-cluster"))

    driver, ctx = AwsEcsDriver(), make_ctx(project_dir=tmp_path)
    monkeypatch.setattr(driver, "_stack", lambda *a, **k: (PreviewStack(), None))
    plan = driver.plan(ctx, _no_phases)
    assert (plan.root.action, plan.root.kind, plan.root.name) == (
        "unchanged",
        "pulumi:pulumi:Stack",
        "deployer-web-dev",
    )
    assert [(c.action, c.name) for c in plan.changes] == [("update", "web-service"), ("unchanged", "web-cluster")]


def test_a_preview_names_the_inputs_each_update_or_replace_changes(monkeypatch, tmp_path):
    """The engine's step metadata (``diffs``, else ``detailed_diff``'s paths) becomes the
    typed ``fields`` of each change; creates and sames carry none."""
    from types import SimpleNamespace

    def event(op, name, diffs=None, detailed=None):
        urn = f"urn:pulumi:dev::deployer-web::aws:x/y:Z::{name}"
        meta = SimpleNamespace(op=op, type="aws:x/y:Z", urn=urn, diffs=diffs, detailed_diff=detailed)
        return SimpleNamespace(resource_pre_event=SimpleNamespace(metadata=meta))

    class PreviewStack:
        def preview(self, on_event, color, program=None):
            on_event(event("update", "service", diffs=["taskDefinition", "desiredCount"]))
            on_event(event("replace", "task", detailed={"containerDefinitions": {}, "tags.Name": {}, "cpu": {}}))
            on_event(event("create", "new", diffs=["everything"]))
            on_event(event("same", "cluster", diffs=[]))

    driver, ctx = AwsEcsDriver(), make_ctx(project_dir=tmp_path)
    monkeypatch.setattr(driver, "_stack", lambda *a, **k: (PreviewStack(), None))
    plan = driver.plan(ctx, _no_phases)
    assert [(c.action, c.name, c.fields) for c in plan.changes] == [
        ("update", "service", ("taskDefinition", "desiredCount")),
        ("replace", "task", ("containerDefinitions", "tags", "cpu")),
        ("create", "new", ()),
        ("unchanged", "cluster", ()),
    ]
