"""The real driver's release stage, with a fake of the Automation API's stack (no Pulumi
CLI exists where deployer is tested): two updates around the release command, the
serving workloads excluded from the first, the release command skipped when it already
ran for that release task definition, and no update of the services when it fails."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from deployer.errors import DeployFailed
from deployer.plugins.aws_ecs import health, oneoff, program
from deployer.plugins.aws_ecs import releases as aws_releases
from deployer.plugins.aws_ecs.driver import AwsEcsDriver
from deployer.services import WorkerSpec
from tests.aws_ecs.conftest import make_ctx

RELEASE_V1 = "arn:aws:ecs:us-east-1:123456789012:task-definition/web-dev-release:1"
RELEASE_V2 = "arn:aws:ecs:us-east-1:123456789012:task-definition/web-dev-release:2"
SERVING = {"endpoint": "http://x", "cluster": "c", "service": "s", "task_definition": "td:1"}
URN = "urn:pulumi:dev::deployer-web::"


class StagedStack:
    """A stack whose outputs are ``before`` until an update, then the update's program's
    (what ``program.run`` returns under the test's patch); records each update's options."""

    def __init__(self, before, release_definition):
        self.before, self.release_definition = dict(before), release_definition
        self.updates: list[dict] = []

    def outputs(self):
        return {k: SimpleNamespace(value=v) for k, v in self.before.items()}

    def refresh(self, **kwargs):
        pass

    def up(self, **kwargs):
        self.updates.append(kwargs)
        made = kwargs["program"]() if kwargs.get("program") else {**SERVING}
        self.before = {**made, "release_task_definition": self.release_definition}
        return SimpleNamespace(outputs=self.outputs())


@pytest.fixture
def driven(monkeypatch, tmp_path):
    """``up`` of the web app with a release command and a worker over a ``StagedStack``;
    returns (run, releases, stacks): run(before, release_definition) -> stack; releases lists
    the task definitions the release command ran with; stacks every stack made."""
    releases: list[str] = []
    stacks: list[StagedStack] = []
    monkeypatch.setattr(health, "wait_until_healthy", lambda *a, **k: None)
    monkeypatch.setattr(aws_releases, "record", lambda *a, **k: None)  # no ECS behind this fake session
    monkeypatch.setattr(
        program,
        "run",
        lambda ctx, phases, omit=(), add=None: {**{k: v for k, v in SERVING.items() if k not in omit}, **(add or {})},
    )
    monkeypatch.setattr(oneoff, "release", lambda ecs, logs, placement, definition, **k: releases.append(definition))

    def run(before, release_definition):
        stack = StagedStack(before, release_definition)
        stacks.append(stack)
        driver = AwsEcsDriver()
        monkeypatch.setattr(driver, "_stack", lambda *a, **k: (stack, SimpleNamespace(client=lambda name: None)))
        ctx = make_ctx(
            project_dir=tmp_path,
            release_command=("python", "-m", "migrate"),
            workers=(WorkerSpec("mailer", ("python", "-m", "mailer")),),
        )
        driver.up(ctx, lambda ctx: None)
        return stack

    return run, releases, stacks


def test_the_release_runs_between_an_update_that_holds_the_services_and_the_full_update(driven):
    run, releases, _ = driven
    stack = run({**SERVING, "released_task_definition": RELEASE_V1}, RELEASE_V2)
    stage, update = stack.updates
    assert stage["exclude"] == [
        URN + "aws:ecs/taskDefinition:TaskDefinition::web-task",
        URN + "aws:ecs/service:Service::web-service",
        URN + "aws:ecs/taskDefinition:TaskDefinition::web-worker-mailer-task",
        URN + "aws:ecs/service:Service::web-worker-mailer",
    ]
    assert stage["exclude_dependents"] is True
    assert "exclude" not in update
    assert releases == [RELEASE_V2]
    assert stack.before["released_task_definition"] == RELEASE_V2  # the full update records it


def test_a_first_stage_exports_nothing_of_the_services_that_do_not_exist_yet(driven):
    run, releases, _ = driven
    stack = run({}, RELEASE_V1)
    stage, _ = stack.updates
    assert "service" not in stage["program"]() and "task_definition" not in stage["program"]()
    assert releases == [RELEASE_V1]


def test_the_release_is_skipped_when_it_already_ran_for_that_task_definition(driven):
    run, releases, _ = driven
    stack = run({**SERVING, "released_task_definition": RELEASE_V1}, RELEASE_V1)
    assert len(stack.updates) == 2 and releases == []
    assert stack.before["released_task_definition"] == RELEASE_V1


def test_a_failed_release_leaves_the_services_alone(driven, monkeypatch):
    run, _, stacks = driven

    def fail(*args, **kwargs):
        raise DeployFailed("the release command exited with 1")

    monkeypatch.setattr(oneoff, "release", fail)
    with pytest.raises(DeployFailed, match="exited with 1"):
        run({**SERVING, "released_task_definition": RELEASE_V1}, RELEASE_V2)
    (stage,) = stacks[0].updates  # the stage only: no update moved the services
    assert "exclude" in stage
    assert "released_task_definition" not in stacks[0].before  # so the next up runs it again


def test_the_release_command_is_reported_as_a_shell_would_read_it(monkeypatch):
    """Its arguments quoted (``shlex.join``), so an argument with spaces reads as one."""
    from attrs import evolve

    from deployer.plugins.aws_ecs.release_stage import run_release

    lines: list[str] = []
    monkeypatch.setattr(oneoff, "release", lambda *a, **k: None)
    ctx = evolve(make_ctx(release_command=("python", "-c", "import os; print(os.getcwd())")), report=lines.append)
    staged = {**SERVING, "release_task_definition": RELEASE_V1}
    run_release(ctx, None, None, SERVING, staged, sleep=lambda s: None, clock=lambda: 0.0)
    assert lines == ["release command: python -c 'import os; print(os.getcwd())' (web-dev-release:1)"]
