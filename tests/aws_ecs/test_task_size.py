"""A task definition ECS would not register (over 64 KiB:
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html) is refused
before anything is created, naming the key that makes it big; the measure is never below
what the program registers."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from deployer.cli import app as cli
from deployer.errors import ConfigError
from deployer.plugins.aws_ecs import task_size
from deployer.services import DatabaseSpec, WorkerSpec
from deployer.testing import write_project
from tests.aws_ecs.conftest import Graph, make_ctx, offline_plan

TASK = "aws:ecs/taskDefinition:TaskDefinition"
RULES = '{"rules":[' + ",".join(f'{{"id":"rule-{n}","match":"/api/v{n}/*","limit":{n * 10}}}' for n in range(40)) + "]}"
"""A 2.1 KB env value, as the reviewer's (a rate-limit table in JSON)."""


def _big_env(count: int) -> dict[str, str]:
    return {f"RATE_LIMIT_RULES_{n:02}": RULES for n in range(count)}


def test_an_env_ecs_would_not_register_is_refused_up_front_naming_app_env(tmp_path):
    """30 values of 2.1 KB: every task definition (web, worker, release) is over 64 KiB,
    which ECS refuses only when ``up`` registers it, after the network, the push and the
    load balancer. The plan refuses it first: exit 2, one line naming ``app.env``, each
    task definition with its size, and the limit; no phase runs."""
    config = write_project(
        tmp_path,
        app={"name": "indexer", "release_command": "migrate", "env": _big_env(30)},
        tables={"workers": {"reindexer": {"command": "reindex"}}},
    )
    result = CliRunner().invoke(cli, ["plan", "--target", "aws-ecs", "--offline", "--config", str(config)])
    assert result.exit_code == 2, result.output
    (line,) = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert line.startswith(f"error: {config}: app.env: makes the task definitions of the web service (")
    assert "worker reindexer (" in line and "the release command (" in line
    assert (
        "at most 65,536 bytes (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html)" in line
    )
    assert "network" not in result.output, "no phase ran"
    assert "Traceback" not in result.output


def test_a_long_worker_command_names_the_worker():
    ctx = make_ctx(workers=(WorkerSpec("w", ("run", "x" * 70000)),))
    with pytest.raises(ConfigError) as error:
        task_size.check(ctx)
    assert error.value.key == "workers.w.command" and "worker w (" in error.value.message
    assert len(error.value.errors) == 1, "the web service's task definition is small"


def test_the_measure_is_never_below_what_the_program_registers():
    """The check's body of each task definition, with the longest ARNs and names AWS
    gives, is at least as large as the one the offline plan registers."""
    ctx = make_ctx(
        env=_big_env(3),
        release_command=("migrate",),
        workers=(WorkerSpec("mailer", ("mail",)),),
        database=DatabaseSpec(),
    )
    measured = {body["family"]: task_size.size(body) for _, body, _ in task_size.registrations(ctx)}
    for task in Graph(offline_plan(ctx)).all(TASK):
        inputs = task["inputs"]
        registered = {**inputs, "containerDefinitions": json.loads(inputs["containerDefinitions"])}
        assert task_size.size(registered) <= measured[inputs["family"]], inputs["family"]


def test_just_under_the_limit_passes():
    """About 60 KB of env: under 64 KiB with the margin, planned as usual."""
    ctx = make_ctx(env=_big_env(25))
    sizes = [task_size.size(body) for _, body, _ in task_size.registrations(ctx)]
    assert 60000 < max(sizes) <= task_size.TASK_DEFINITION_MAX - task_size.MARGIN
    task_size.check(ctx)
