"""What aws-ecs accepts from an app spec, checked by the target itself (limits.py):
the Fargate task sizes, refused before anything is built, also for ``--target local``
when the config has a ``[targets.aws-ecs]`` table; and the health check ranges."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from deployer import api
from deployer.cli import app
from deployer.errors import ConfigError
from deployer.healthcheck import probe_command
from deployer.models import HealthCheck, Plan
from deployer.plugin_manager import get_plugin_manager
from deployer.plugins.aws_ecs.limits import FARGATE_MEMORY, check_app, check_task_size
from deployer.testing import write_project
from tests.aws_ecs.conftest import make_ctx

LOCAL_ONLY = {"name": "sized", "cpu": 256, "memory": 4096}
"""A size Docker runs and Fargate does not offer (256 cpu units go with 512-2048 MiB)."""


class PlanOnly:
    """The local driver's place in the non-Docker tests: records that plan was reached."""

    def plan(self, ctx, phases, *, offline=False):
        return Plan(target=ctx.target.name, stack=ctx.stack)


def plan_local(config):
    pm = get_plugin_manager()
    pm.use_driver("local", PlanOnly)
    return api.plan(api.open_session(target="local", config=config, pm=pm))


def test_without_an_aws_ecs_table_local_runs_a_size_fargate_does_not(tmp_path):
    assert plan_local(write_project(tmp_path, app=LOCAL_ONLY)).target == "local"


def test_with_an_aws_ecs_table_local_refuses_it_naming_the_key_and_aws_ecs(tmp_path):
    config = write_project(tmp_path, app=LOCAL_ONLY, targets={"aws-ecs": {"region": "eu-west-1"}})
    with pytest.raises(ConfigError) as caught:
        plan_local(config)
    assert caught.value.key == "app.memory"

    for command in (["plan"], ["up"]):
        result = CliRunner().invoke(app, [*command, "--target", "local", "--config", str(config)])
        assert result.exit_code == 2, result.output
        assert "app.memory: on aws-ecs (checked because [targets.aws-ecs] is in the config)" in result.output
        assert "512, 1024, 2048" in result.output
    assert not (tmp_path / ".deployer").exists()


def test_aws_ecs_refuses_it_itself(tmp_path):
    config = write_project(tmp_path, app=LOCAL_ONLY)
    result = CliRunner().invoke(app, ["plan", "--target", "aws-ecs", "--offline", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert "app.memory: on aws-ecs, with cpu = 256 must be one of 512, 1024, 2048" in result.output


def test_an_unknown_cpu_names_app_cpu(tmp_path):
    config = write_project(tmp_path, app={"name": "sized", "cpu": 300}, targets={"aws-ecs": {}})
    result = CliRunner().invoke(app, ["plan", "--target", "local", "--config", str(config)])
    assert result.exit_code == 2 and "app.cpu: on aws-ecs" in result.output, result.output


@given(cpu=st.integers(min_value=1, max_value=20000), memory=st.integers(min_value=1, max_value=130000))
def test_check_app_accepts_exactly_the_fargate_table(cpu, memory):
    ctx = make_ctx(cpu=cpu, memory=memory)
    try:
        check_app(ctx.app, None)
    except ConfigError as exc:
        assert exc.key == ("app.cpu" if cpu not in FARGATE_MEMORY else "app.memory")
        assert memory not in FARGATE_MEMORY.get(cpu, ())
    else:
        assert memory in FARGATE_MEMORY[cpu]


def test_the_table_steps_as_documented():
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size"""
    check_task_size(1024, 8192)
    check_task_size(16384, 122880)
    with pytest.raises(ConfigError, match=r"app\.memory: with cpu = 1024 must be one of 2048 to 8192 in steps of 1024"):
        check_task_size(1024, 1024)


@pytest.mark.parametrize(
    ("health", "alb", "container"),
    [
        (
            HealthCheck(interval=1, timeout=500, retries=50, start_period=1000),
            {"interval": 5, "timeout": 4, "unhealthy_threshold": 10},
            {"interval": 5, "timeout": 60, "retries": 10, "startPeriod": 300},
        ),
        (
            HealthCheck(interval=1000, timeout=1, retries=1, start_period=0),
            {"interval": 300, "timeout": 2, "unhealthy_threshold": 2},
            {"interval": 300, "timeout": 2, "retries": 1, "startPeriod": 0},
        ),
    ],
    ids=["above", "below"],
)
def test_health_checks_built_in_code_are_clamped_to_what_aws_accepts(health, alb, container):
    """ELB: interval 5-300 s, timeout 2-120 s and shorter than the interval, thresholds
    2-10 (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html);
    ECS: interval 5-300, timeout 2-60, retries 1-10, start period 0-300
    (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html)."""
    from deployer.plugins.aws_ecs.containers import container_definition
    from deployer.plugins.aws_ecs.ingress import health_check

    ctx = make_ctx(health=health)
    assert {key: health_check(ctx)[key] for key in alb} == alb
    check = container_definition(ctx, image="x", log_group="g", region="eu-west-1", secrets={})["healthCheck"]
    assert {key: check[key] for key in container} == container
    assert check["command"] == ["CMD-SHELL", probe_command(8000, "/healthz", container["timeout"])]


def test_a_secret_value_secrets_manager_cannot_hold_is_refused_before_any_resource():
    """A Secrets Manager secret holds at most 65,536 bytes: a larger value is refused by
    the plan, naming the secret, instead of failing the deploy half-way."""
    from attrs import evolve

    from deployer.plugins.aws_ecs import program
    from tests.aws_ecs.conftest import offline_plan

    ctx = make_ctx()
    name = ctx.app.secrets[0]
    program.check(evolve(ctx, secrets={name: "x" * program.SECRET_VALUE_MAX}))  # the largest it holds
    too_big = evolve(ctx, secrets={name: "é" * (program.SECRET_VALUE_MAX // 2 + 1)})  # bytes, not characters
    with pytest.raises(ConfigError) as error:
        offline_plan(too_big)
    assert error.value.key == "app.secrets[0]" and error.value.exit_code == 2
    assert f"the value of {name} is 65,538 bytes: a Secrets Manager secret holds at most 65,536" in str(error.value)


BIG_APP = {"name": "sized", "cpu": 16384, "memory": 122880}
"""The largest Fargate task: valid, so an error about a size can only be a worker's."""


@pytest.mark.parametrize(
    ("worker", "expected"),
    [
        (
            {"cpu": 256, "memory": 4096},
            "workers.crunch.memory: on aws-ecs, with cpu = 256 must be one of 512, 1024, 2048",
        ),
        ({"cpu": 300, "memory": 512}, "workers.crunch.cpu: on aws-ecs, must be one of 256, 512, 1024, 2048, 4096"),
    ],
    ids=["memory", "cpu"],
)
def test_a_worker_size_fargate_does_not_run_is_refused_up_front_naming_the_worker(tmp_path, worker, expected):
    """Every worker is a Fargate task of its own size (the cpu/memory table:
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size):
    the target's app check refuses it before any phase runs, naming the worker's key,
    never ``app.*`` (whose values are valid)."""
    config = write_project(tmp_path, app=BIG_APP, tables={"workers": {"crunch": {"command": "crunch", **worker}}})
    result = CliRunner().invoke(app, ["plan", "--target", "aws-ecs", "--offline", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert f"{config}: {expected}" in result.output
    assert "app.cpu" not in result.output and "app.memory" not in result.output
    assert "network" not in result.output, "no phase ran"


def test_with_an_aws_ecs_table_local_refuses_a_worker_size_fargate_does_not_run(tmp_path):
    config = write_project(
        tmp_path,
        app=BIG_APP,
        tables={"workers": {"crunch": {"command": "crunch", "cpu": 256, "memory": 4096}}},
        targets={"aws-ecs": {"region": "us-west-2"}},
    )
    with pytest.raises(ConfigError) as caught:
        plan_local(config)
    assert caught.value.key == "workers.crunch.memory"
    assert "on aws-ecs (checked because [targets.aws-ecs] is in the config)" in str(caught.value)
