"""The task definition runs on the CPU architecture of the image the core built
(``runtimePlatform.cpuArchitecture``: X86_64 or ARM64,
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RuntimePlatform.html); an
``architecture`` key that contradicts the image is refused before anything is created."""

from __future__ import annotations

import pytest
from attrs import evolve
from typer.testing import CliRunner

from deployer import api
from deployer.cli import app as cli
from deployer.errors import ConfigError
from deployer.models import Image
from deployer.services import WorkerSpec
from deployer.testing import write_project
from tests.aws_ecs.conftest import IMAGE, Graph, make_ctx, offline_plan

TASK = "aws:ecs/taskDefinition:TaskDefinition"
ARM_IMAGE = evolve(IMAGE, architecture="arm64", os="linux")


def _platform(ctx) -> dict:
    return Graph(offline_plan(ctx)).one(TASK)["inputs"]["runtimePlatform"]


def test_an_arm64_image_runs_on_arm64_by_default():
    """An image built on an ARM machine (Apple silicon, Graviton) runs on ARM64 Fargate."""
    assert _platform(evolve(make_ctx(), image=ARM_IMAGE))["cpuArchitecture"] == "ARM64"


def test_every_task_definition_of_an_arm64_image_runs_on_arm64():
    """Workers and the release command run the same image as the web service, so their
    tasks too (a worker left on X86_64 would fail to start: ``exec format error``)."""
    ctx = evolve(
        make_ctx(workers=(WorkerSpec("mailer", ("mail",)),), release_command=("migrate",)),
        image=ARM_IMAGE,
    )
    tasks = Graph(offline_plan(ctx)).all(TASK)
    assert {t["name"]: t["inputs"]["runtimePlatform"]["cpuArchitecture"] for t in tasks} == {
        "web-task": "ARM64",
        "web-worker-mailer-task": "ARM64",
        "web-release-task": "ARM64",
    }


def test_an_amd64_image_runs_on_x86_64():
    image = evolve(IMAGE, architecture="amd64", os="linux")
    assert _platform(evolve(make_ctx(), image=image))["cpuArchitecture"] == "X86_64"


def test_an_explicit_architecture_matching_the_image_is_accepted():
    assert _platform(evolve(make_ctx({"architecture": "ARM64"}), image=ARM_IMAGE))["cpuArchitecture"] == "ARM64"


def test_an_architecture_contradicting_the_image_is_refused_before_any_resource():
    """The key names the setting and the image's architecture; no resource is declared."""
    from deployer.plugins.aws_ecs import program

    ctx = evolve(make_ctx({"architecture": "X86_64"}), image=ARM_IMAGE)
    with pytest.raises(ConfigError) as error:
        program.check(ctx)
    assert error.value.exit_code == 2
    assert "targets.aws-ecs.architecture" in str(error.value) and "arm64" in str(error.value)
    with pytest.raises(ConfigError):
        offline_plan(ctx)


def test_plan_refuses_the_contradiction_with_exit_code_2(tmp_path, monkeypatch):
    config = write_project(tmp_path, app={"name": "archy"}, targets={"aws-ecs": {"architecture": "X86_64"}})
    monkeypatch.setattr(api, "resolve_image", lambda app: evolve(ARM_IMAGE, repository="deployer/archy", user="app"))
    result = CliRunner().invoke(cli, ["plan", "--target", "aws-ecs", "--offline", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert f"{config}: targets.aws-ecs.architecture: is X86_64 but" in result.stderr, "the file is named"
    assert "deployer builds for the Docker engine's own platform" in result.stderr
    assert "DOCKER_DEFAULT_PLATFORM" not in result.stderr, "the docker CLI's variable changes no build of deployer's"


def test_a_plan_before_the_first_build_says_the_image_is_not_checked_yet(tmp_path, monkeypatch):
    config = write_project(tmp_path, app={"name": "archy"}, targets={"aws-ecs": {"architecture": "X86_64"}})
    monkeypatch.setattr(api, "resolve_image", lambda app: Image(repository="deployer/archy", content_hash="c0ffee1234"))
    result = CliRunner().invoke(cli, ["plan", "--target", "aws-ecs", "--offline", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert (
        "is not built yet, so its USER, platform, volumes and health-check tool are checked once it is" in result.stderr
    )


@pytest.mark.parametrize("operation", ["up", "plan"])
def test_the_real_driver_refuses_the_contradiction_before_it_opens_a_stack(operation, monkeypatch):
    """With the Pulumi CLI, ``up`` and a preview refuse the key before any stack (and so any
    state or workspace file) exists."""
    from deployer.plugins.aws_ecs.driver import AwsEcsDriver

    driver = AwsEcsDriver()
    opened = []
    monkeypatch.setattr(driver, "_stack", lambda *args, **kwargs: opened.append(args) or pytest.fail("opened"))
    ctx = evolve(make_ctx({"architecture": "X86_64"}, mode="up"), image=ARM_IMAGE)
    with pytest.raises(ConfigError, match="targets.aws-ecs.architecture"):
        getattr(driver, operation)(ctx, lambda ctx: pytest.fail("phases ran"))
    assert opened == []
