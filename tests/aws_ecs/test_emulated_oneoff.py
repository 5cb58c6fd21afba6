"""One-off tasks, the release command and ECS Exec on the emulated aws-ecs driver: the
production code (oneoff, release_stage, exec_session) against moto, each one-off task's
container really run on the local Docker engine (the base image stands in for the app's),
its exit code and CloudWatch lines read back from moto."""

from __future__ import annotations

import json

import boto3
import pytest
from attrs import evolve

from deployer.errors import ConfigError, DeployFailed, EnvironmentProblem, UsageError
from deployer.lifecycle import phase_runner
from deployer.models import Image
from deployer.plugins.aws_ecs.settings import parse_settings
from deployer.testing.aws_ecs import moto_appliers
from deployer.testing.aws_ecs.emulated_driver import EmulatedDriver
from deployer.testing.aws_ecs.emulated_state import load
from deployer.testing.aws_ecs.emulated_tasks import EmulatedEcs
from deployer.testing.aws_ecs.session_manager import fake_session_manager_plugin, recorded_arguments

from . import test_emulated
from .conftest import SECRET_VALUE

moto, pm, app = test_emulated.moto, test_emulated.pm, test_emulated.app  # that module's fixtures
ctx_for = test_emulated.ctx_for

BASE = "python:3.12-slim"
FAILING = (
    "python",
    "-c",
    "import os; print('migrating'); print('relation users already exists for', os.environ['API_TOKEN']); "
    "raise SystemExit(4)",
)
PASSING = ("python", "-c", "import os; print('migrated', os.environ['LOG_LEVEL'])")


@pytest.fixture(scope="module")
def base_image() -> Image:
    """The base image as the app's image: it exists in the local engine (not built here)."""
    from deployer import docker_engine

    found = docker_engine.connect().image(BASE)
    if found is None:
        pytest.skip(f"{BASE} is not in the local Docker engine (make base-image)")
    return Image("deployer/web", "0ne0ff", found["Id"], architecture=found["Architecture"], os="linux")


def deployed(tmp_path, name, pm, image, settings=None, **app):
    """A context for app ``name`` with ``image`` and ``settings``, and its driver, after an ``up``."""
    ctx = evolve(ctx_for(tmp_path, name, **app), image=image)
    if settings:
        ctx = evolve(ctx, target=evolve(ctx.target, settings=parse_settings(settings, "targets.aws-ecs")))
    driver = EmulatedDriver()
    driver.up(ctx, phase_runner(pm))
    return ctx, driver


def serving(moto, outputs) -> str:
    (service,) = moto.client("ecs").describe_services(cluster=outputs["cluster"], services=[outputs["service"]])[
        "services"
    ]
    return str(service["taskDefinition"])


def one_off_tasks(moto, cluster, started_by) -> list[dict]:
    ecs = moto.client("ecs")
    arns = ecs.list_tasks(cluster=cluster, startedBy=started_by)["taskArns"]
    return ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []


def test_run_returns_the_exit_code_and_prints_the_output(moto, app, pm, tmp_path, base_image, capsys):
    ctx, driver = deployed(tmp_path, app, pm, base_image)
    command = (
        "python",
        "-c",
        "import os; print('hello', os.environ['LOG_LEVEL'], os.environ['API_TOKEN'] == "
        f"{SECRET_VALUE!r}, os.environ['PORT']); raise SystemExit(3)",
    )
    assert driver.run(ctx, command) == 3
    assert "hello info True 8000" in capsys.readouterr().out.splitlines()
    outputs = dict(load(ctx).outputs)
    (task,) = one_off_tasks(moto, outputs["cluster"], "deployer-run")
    assert task["lastStatus"] == "STOPPED" and task["containers"][0]["exitCode"] == 3
    assert task["overrides"]["containerOverrides"][0]["command"] == list(command)
    assert task["taskDefinitionArn"] == serving(moto, outputs)  # the service's current revision
    # the line came back from moto's CloudWatch Logs, the stream the awslogs driver names
    stream = f"{app}/{app}/{task['taskArn'].rsplit('/', 1)[-1]}"
    events = moto.client("logs").get_log_events(logGroupName=outputs["log_group"], logStreamName=stream)["events"]
    assert [e["message"] for e in events] == ["hello info True 8000"]


def test_a_task_that_cannot_start_is_a_deploy_failure_naming_ecs_reason(moto, app, pm, tmp_path, base_image):
    ctx, driver = deployed(tmp_path, app, pm, evolve(base_image, id="sha256:" + "0" * 64))  # not in the engine
    with pytest.raises(DeployFailed, match="stopped before its command ran.*CannotPullContainerError"):
        driver.run(ctx, ("true",))


def test_run_without_a_deployment_says_to_run_up(moto, app, tmp_path, base_image):
    ctx = evolve(ctx_for(tmp_path, app), image=base_image)
    with pytest.raises(
        UsageError, match=rf"not deployed: run `deployer up --target aws-ecs --stack {ctx.stack}` first"
    ):
        EmulatedDriver().run(ctx, ("true",))


def test_a_failing_release_command_stops_up_and_the_old_revision_keeps_serving(moto, app, pm, tmp_path, base_image):
    ctx, driver = deployed(tmp_path, app, pm, base_image, release_command=PASSING)
    before = dict(load(ctx).outputs)
    old = serving(moto, before)
    lines: list[str] = []
    broken = evolve(ctx, app=evolve(ctx.app, release_command=FAILING, env={"LOG_LEVEL": "debug"}), report=lines.append)
    with pytest.raises(DeployFailed) as failure:
        driver.up(broken, phase_runner(pm))
    message = str(failure.value)
    assert "the release command exited with 4" in message
    assert "  | migrating\n  | relation users already exists for ***" in message  # the secret's value hidden
    assert "previous task definition keeps serving" in message
    assert "  release | relation users already exists for ***" in lines  # streamed while it ran
    assert SECRET_VALUE not in message + "\n".join(lines)
    assert serving(moto, before) == old  # the service was not touched
    after = dict(load(ctx).outputs)
    assert after["service"] == before["service"] and after["task_definition"] == old  # status still finds it
    assert after["release_task_definition"] != before["release_task_definition"]  # the new revision was applied
    assert "released_task_definition" not in after  # so the next up runs the release command again


def test_a_good_release_command_runs_before_the_service_changes_and_once(moto, app, pm, tmp_path, base_image):
    ctx, _ = deployed(tmp_path, app, pm, base_image, release_command=PASSING)
    outputs = dict(load(ctx).outputs)
    (first,) = one_off_tasks(moto, outputs["cluster"], "deployer-release")
    assert first["containers"][0]["exitCode"] == 0
    assert outputs["released_task_definition"] == outputs["release_task_definition"] == first["taskDefinitionArn"]

    calls: list[tuple[str, str]] = []

    def session(region):
        observed = boto3.Session(region_name=region)
        observed.events.register(
            "provide-client-params.ecs.*",
            lambda model, params, **_: calls.append((model.name, str(params.get("startedBy", "")))),
        )
        return observed

    changed = evolve(ctx, app=evolve(ctx.app, env={"LOG_LEVEL": "debug"}))
    EmulatedDriver(session=session).up(changed, phase_runner(pm))
    release = calls.index(("RunTask", "deployer-release"))
    assert release < calls.index(("DeleteService", ""))  # the old service still ran while it did
    assert release < calls.index(("CreateService", ""))  # and the new revision started after it
    after = dict(load(ctx).outputs)
    assert serving(moto, after) == after["task_definition"] != outputs["task_definition"]
    (_, second) = sorted(
        one_off_tasks(moto, after["cluster"], "deployer-release"), key=lambda t: t["taskArn"] != first["taskArn"]
    )
    assert second["taskDefinitionArn"] == after["release_task_definition"]  # the new revision's env
    # nothing changed since: the release command does not run again
    calls.clear()
    EmulatedDriver(session=session).up(changed, phase_runner(pm))
    assert ("RunTask", "deployer-release") not in calls


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """A folder first on PATH holding the fake Session Manager plugin (exit code 7)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    fake_session_manager_plugin(folder, exit_code=7)
    monkeypatch.setenv("PATH", f"{folder}:/usr/bin:/bin")
    return folder


def test_exec_without_the_key_is_refused_with_how_to_turn_it_on(moto, app, pm, tmp_path, base_image, plugin_dir):
    ctx, driver = deployed(tmp_path, app, pm, base_image)
    with pytest.raises(ConfigError) as refused:
        driver.exec(ctx, ("/bin/sh",))
    assert refused.value.exit_code == 2
    assert "targets.aws-ecs.exec" in str(refused.value) and "set exec = true" in str(refused.value)
    assert "run `deployer up --target aws-ecs`" in str(refused.value)
    assert not (plugin_dir / "session-manager-plugin.json").exists()


def test_exec_without_the_session_manager_plugin_says_how_to_install_it(moto, app, tmp_path, base_image, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on it
    ctx = evolve(ctx_for(tmp_path, app), image=base_image)
    ctx = evolve(ctx, target=evolve(ctx.target, settings=parse_settings({"exec": True}, "targets.aws-ecs")))
    with pytest.raises(EnvironmentProblem) as missing:
        EmulatedDriver().exec(ctx, ("/bin/sh",))
    assert missing.value.exit_code == 2
    assert "session-manager-plugin" in str(missing.value)
    assert (
        "https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html"
        in str(missing.value)
    )


def test_exec_hands_the_ecs_exec_session_to_the_plugin_and_returns_its_code(
    moto, app, pm, tmp_path, base_image, plugin_dir
):
    ctx, driver = deployed(tmp_path, app, pm, base_image, {"exec": True})
    assert driver.exec(ctx, ("ls", "-l", "/srv app"), replica=2) == 7
    session, region, action, profile, target, endpoint = recorded_arguments(plugin_dir)
    assert set(json.loads(session)) == {"sessionId", "streamUrl", "tokenValue"}
    assert json.loads(session)["streamUrl"].startswith("wss://ssmmessages.us-east-1.amazonaws.com/")
    assert (region, action, profile, endpoint) == (
        "us-east-1",
        "StartSession",
        "",
        "https://ecs.us-east-1.amazonaws.com",
    )
    outputs = dict(load(ctx).outputs)
    ecs = moto.client("ecs")
    arns = ecs.list_tasks(cluster=outputs["cluster"], desiredStatus="RUNNING")["taskArns"]
    tasks = sorted(
        (
            t
            for t in ecs.describe_tasks(cluster=outputs["cluster"], tasks=arns)["tasks"]
            if t["group"] == f"service:{outputs['service']}"
        ),
        key=lambda t: (str(t.get("startedAt", "")), t["taskArn"]),
    )
    second = tasks[1]["taskArn"].rsplit("/", 1)[-1]
    assert json.loads(target)["Target"].startswith(f"ecs:{outputs['cluster']}_{second}_")


def test_exec_on_a_service_deployed_before_exec_was_set_says_to_run_up(moto, app, pm, tmp_path, base_image, plugin_dir):
    ctx, driver = deployed(tmp_path, app, pm, base_image)
    enabled = evolve(ctx, target=evolve(ctx.target, settings=parse_settings({"exec": True}, "targets.aws-ecs")))
    with pytest.raises(UsageError, match="does not have ECS Exec enabled yet: run `deployer up --target aws-ecs`"):
        driver.exec(enabled, ("/bin/sh",))


def test_the_emulator_answers_execute_command_as_ecs_does(moto, app, pm, tmp_path, base_image):
    ctx, _ = deployed(tmp_path, app, pm, base_image)
    outputs = dict(load(ctx).outputs)
    ecs = moto.client("ecs")
    task = ecs.list_tasks(cluster=outputs["cluster"], desiredStatus="RUNNING")["taskArns"][0]
    call = {"cluster": outputs["cluster"], "task": task, "container": app, "command": "ls", "interactive": True}
    off = EmulatedEcs(ecs, moto_appliers.Aws(moto, {}), {outputs["service"]: False})
    with pytest.raises(ecs.exceptions.InvalidParameterException, match="execute command was not enabled"):
        off.execute_command(**call)
    on = EmulatedEcs(ecs, moto_appliers.Aws(moto, {}), {outputs["service"]: True})
    assert on.execute_command(**call)["session"]["sessionId"].startswith("ecs-execute-command-")
    assert on.describe_services(cluster=outputs["cluster"], services=[outputs["service"]])["services"][0][
        "enableExecuteCommand"
    ]
