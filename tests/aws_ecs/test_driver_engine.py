"""The real driver's use of the Pulumi engine, with fakes of the Automation API (no
Pulumi CLI exists where deployer is tested): refresh before up, the stack's region
pinned, provider plugins installed at the tested versions, the CLI's version checked,
the lock hint, and ``down`` leaving no file behind."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from attrs import evolve
from pulumi import automation as auto

from deployer.errors import ConfigError, EnvironmentProblem, UsageError
from deployer.plugins.aws_ecs import driver as driver_module
from deployer.plugins.aws_ecs import health
from deployer.plugins.aws_ecs import releases as aws_releases
from deployer.plugins.aws_ecs.driver import AwsEcsDriver
from tests.aws_ecs.conftest import make_ctx


def _no_phases(ctx):
    raise AssertionError("the fake stack runs no program")


class FakeWorkspace:
    def __init__(self, plugins=()):
        self.calls: list[tuple] = []
        self.plugins = [SimpleNamespace(name=n, version=v) for n, v in plugins]

    def list_plugins(self):
        return self.plugins

    def install_plugin(self, name, version, kind="resource"):
        self.calls.append(("install_plugin", name, version))

    def remove_stack(self, name, **kwargs):
        self.calls.append(("remove_stack", name))


class FakeStack:
    """Records the operations the driver runs, in order."""

    def __init__(self, config=None, resources=()):
        self.calls: list[str] = []
        self.config = dict(config or {})
        self.workspace = FakeWorkspace()
        self.resources = list(resources)

    def refresh(self, **kwargs):
        self.calls.append("refresh")

    def up(self, **kwargs):
        self.calls.append("up")
        outputs = {"endpoint": "http://x", "cluster": "c", "service": "s"}
        return SimpleNamespace(outputs={k: SimpleNamespace(value=v) for k, v in outputs.items()})

    def destroy(self, **kwargs):
        self.calls.append("destroy")

    def outputs(self):
        return {}  # no database output: down goes straight to destroy

    def get_all_config(self):
        return self.config

    def set_config(self, key, value, *, path=False):
        self.calls.append(f"set_config {key}={value.value}")
        self.config[key] = value

    def export_stack(self):
        return SimpleNamespace(deployment={"resources": self.resources})


def test_up_refreshes_the_state_before_updating(monkeypatch, tmp_path):
    """After a circuit-breaker rollback ECS runs the previous task definition while the
    state names the new one: only a refresh lets the next `up` see the drift and retry."""
    stack = FakeStack()
    driver, ctx = AwsEcsDriver(), make_ctx(project_dir=tmp_path)
    monkeypatch.setattr(driver, "_stack", lambda *a, **k: (stack, SimpleNamespace(client=lambda name: None)))
    monkeypatch.setattr(health, "wait_until_healthy", lambda *a, **k: None)
    monkeypatch.setattr(aws_releases, "record", lambda *a, **k: None)  # no ECS behind this fake session
    driver.up(ctx, _no_phases)
    assert stack.calls == ["refresh", "up"]


@pytest.fixture
def opened(monkeypatch, tmp_path):
    """``driver._stack`` over a fake stack: the environment checks pass with ``region``
    as the wanted region; returns (driver, stack) after patching."""

    def make(stack, region="us-east-1"):
        driver = AwsEcsDriver()
        backend = f"file://{tmp_path / '.deployer' / 'pulumi'}"
        monkeypatch.setattr(driver, "_environment", lambda ctx: (backend, SimpleNamespace(region_name=region)))
        monkeypatch.setattr(auto, "create_or_select_stack", lambda *a, **k: stack)
        monkeypatch.setattr(auto, "select_stack", lambda *a, **k: stack)
        monkeypatch.setattr(driver_module, "plugin_versions", lambda: {"aws": "7.51.1", "docker": "5.2.0"})
        return driver

    return make


def test_a_stack_keeps_the_region_it_was_created_in(opened, monkeypatch, tmp_path):
    stack = FakeStack({"aws:region": auto.ConfigValue("eu-west-1")})
    driver = opened(stack, region="us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    for operation in (lambda: driver._stack(make_ctx(project_dir=tmp_path), _no_phases),):
        with pytest.raises(UsageError) as error:
            operation()
        assert error.value.exit_code == 2
        assert "eu-west-1" in str(error.value) and "us-east-1" in str(error.value)
        assert "AWS_REGION" in str(error.value)
    assert not any(call.startswith("set_config aws:region") for call in stack.calls)


def test_the_config_region_is_named_when_it_disagrees(opened, tmp_path):
    stack = FakeStack({"aws:region": auto.ConfigValue("eu-west-1")})
    driver = opened(stack, region="eu-central-1")
    with pytest.raises(UsageError, match=r"lives in eu-west-1, but \[targets.aws-ecs\] region says eu-central-1"):
        driver._stack(make_ctx({"region": "eu-central-1"}, project_dir=tmp_path), _no_phases)


def test_the_same_region_is_not_rewritten_and_a_new_stack_gets_it(opened, tmp_path):
    existing = FakeStack({"aws:region": auto.ConfigValue("eu-west-1")})
    opened(existing, region="eu-west-1")._stack(make_ctx(project_dir=tmp_path), _no_phases)
    assert not any(call.startswith("set_config aws:region") for call in existing.calls)
    new = FakeStack()
    opened(new, region="eu-west-1")._stack(make_ctx(project_dir=tmp_path), _no_phases)
    assert "set_config aws:region=eu-west-1" in new.calls


def test_provider_plugins_are_installed_at_the_tested_versions_with_progress(opened, tmp_path):
    stack = FakeStack()
    stack.workspace = FakeWorkspace(plugins=[("docker", "5.2.0")])
    lines: list[str] = []
    driver = opened(stack)
    driver._stack(evolve(make_ctx(project_dir=tmp_path), report=lines.append), _no_phases)
    assert stack.workspace.calls == [("install_plugin", "aws", "7.51.1")]  # docker was there already
    assert any("installing the Pulumi aws provider plugin v7.51.1" in line for line in lines)
    read_only = FakeStack()
    opened(read_only)._stack(make_ctx(project_dir=tmp_path), _no_phases, create=False, engine=False)
    assert read_only.workspace.calls == []  # status and logs never run the engine


def test_plugin_versions_come_from_the_installed_packages():
    from importlib.util import find_spec

    versions = driver_module.plugin_versions()
    for plugin, package in driver_module.PROVIDER_PACKAGES.items():
        path = Path(next(iter(find_spec(package).submodule_search_locations))) / "pulumi-plugin.json"
        assert versions[plugin] == json.loads(path.read_text())["version"]


def _pulumi(bin_dir: Path, output: str, code: int = 0) -> None:
    cli = bin_dir / "pulumi"
    cli.write_text(f"#!/bin/sh\necho '{output}'\nexit {code}\n")
    cli.chmod(cli.stat().st_mode | stat.S_IEXEC)


def _with_pulumi(monkeypatch, tmp_path: Path, output: str = "v3.272.0", code: int = 0) -> Path:
    """A stand-in Pulumi CLI answering ``output`` (and ``code``) first on PATH, an empty
    passphrase, and an empty project folder, which it returns."""
    bin_dir, project = tmp_path / "bin", tmp_path / "project"
    bin_dir.mkdir()
    project.mkdir()
    _pulumi(bin_dir, output, code)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin:/bin")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")
    return project


@pytest.mark.parametrize(("output", "code"), [("v3.0.9", 0), ("v2.25.2", 0), ("garbage", 0), ("", 1)])
def test_a_too_old_or_broken_pulumi_cli_is_exit_2_with_the_minimum(monkeypatch, tmp_path, output, code):
    project = _with_pulumi(monkeypatch, tmp_path, output, code)
    with pytest.raises(EnvironmentProblem) as error:
        AwsEcsDriver().preflight(make_ctx({"region": "eu-west-1"}, project_dir=project))
    from pulumi.automation._minimum_version import _MINIMUM_VERSION

    assert error.value.exit_code == 2
    assert str(_MINIMUM_VERSION) in str(error.value) and "https://www.pulumi.com/docs/install/" in str(error.value)
    assert list(project.iterdir()) == []


def test_a_recent_pulumi_cli_passes(monkeypatch, tmp_path):
    _pulumi(tmp_path, "v3.272.0")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}/usr/bin:/bin")
    assert driver_module.check_cli_version() == "v3.272.0"


class FakeApi:
    def __init__(self):
        self.removed: list[tuple[str, bool]] = []

    def remove_image(self, image, noprune=False):
        self.removed.append((image, noprune))


def _project_with_state(project: Path, stacks=("dev",)) -> None:
    work = project / ".deployer" / "aws-ecs"
    work.mkdir(parents=True)
    (work / "Pulumi.yaml").write_text("name: deployer-web\n")
    for name in stacks:
        (work / f"Pulumi.{name}.yaml").write_text("config: {}\n")
    state = project / ".deployer" / "pulumi" / ".pulumi"
    (state / "history" / "deployer-web" / "dev").mkdir(parents=True)
    (state / "meta.yaml").write_text("version: 1\n")
    (state / "locks").mkdir()
    (state / "stacks" / "deployer-web").mkdir(parents=True)
    for name in stacks[1:]:  # `pulumi stack rm` removed this stack's checkpoint, not the others'
        (state / "stacks" / "deployer-web" / f"{name}.json").write_text("{}")


def test_down_removes_the_stack_its_files_and_its_local_tags(monkeypatch, tmp_path):
    from deployer import docker_engine

    project = tmp_path / "project"
    _project_with_state(project)
    tag = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web-repo-1a2b3c4:abc-0123456789ab"
    stack = FakeStack(resources=[{"type": "docker:index/tag:Tag", "outputs": {"targetImage": tag}}])
    api = FakeApi()
    monkeypatch.setattr(docker_engine, "connect", lambda: SimpleNamespace(api=api))
    driver = AwsEcsDriver()
    driver._backend = f"file://{project / '.deployer' / 'pulumi'}"
    monkeypatch.setattr(driver, "_stack", lambda *a, **k: (stack, None))
    driver.down(make_ctx(project_dir=project))
    assert stack.calls == ["destroy"] and stack.workspace.calls == [("remove_stack", "dev")]
    assert api.removed == [(tag, True)]
    assert list(project.iterdir()) == []


def test_down_keeps_what_other_stacks_need(monkeypatch, tmp_path):
    from deployer import docker_engine

    project = tmp_path / "project"
    _project_with_state(project, stacks=("dev", "prod"))
    monkeypatch.setattr(docker_engine, "connect", lambda: SimpleNamespace(api=FakeApi()))
    driver = AwsEcsDriver()
    driver._backend = f"file://{project / '.deployer' / 'pulumi'}"
    monkeypatch.setattr(driver, "_stack", lambda *a, **k: (FakeStack(), None))
    driver.down(make_ctx(project_dir=project))
    work = project / ".deployer" / "aws-ecs"
    assert sorted(p.name for p in work.iterdir()) == ["Pulumi.prod.yaml", "Pulumi.yaml"]
    assert (project / ".deployer" / "pulumi" / ".pulumi" / "stacks" / "deployer-web" / "prod.json").exists()


def test_preflight_refuses_a_domain_whose_hosted_zone_the_account_lacks(monkeypatch, tmp_path, aws_env):
    """Before any build: ``domain`` needs its public hosted zone in the account (read
    from Route 53, here moto's); without it exit 2 naming the key, nothing written."""
    from moto import mock_aws

    project = _with_pulumi(monkeypatch, tmp_path)
    ctx = make_ctx({"region": "us-east-1", "domain": "www.example.com"}, mode="up", project_dir=project)
    with mock_aws():
        with pytest.raises(ConfigError) as error:
            AwsEcsDriver().preflight(ctx)
        assert error.value.exit_code == 2
        assert str(error.value).startswith("targets.aws-ecs.domain: goes into the public hosted zone example.com")
        assert list(project.iterdir()) == []
        boto3.client("route53").create_hosted_zone(Name="example.com", CallerReference="test")
        AwsEcsDriver().preflight(ctx)


def test_preflight_refuses_a_certificate_of_another_region_than_the_environments(monkeypatch, tmp_path, aws_env):
    """With no ``region`` key the stack's region comes from the AWS environment: a
    ``certificate_arn`` of another region is refused there, before any build."""
    from moto import mock_aws

    project = _with_pulumi(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    arn = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"
    ctx = make_ctx({"certificate_arn": arn}, mode="up", project_dir=project)
    with mock_aws(), pytest.raises(ConfigError) as error:
        AwsEcsDriver().preflight(ctx)
    assert error.value.exit_code == 2
    assert str(error.value).startswith("targets.aws-ecs.certificate_arn: is a certificate in eu-west-1, but the stack")
    assert list(project.iterdir()) == []
