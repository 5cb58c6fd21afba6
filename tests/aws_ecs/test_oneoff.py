"""The production one-off task code (``oneoff.run_task``) against moto, with tasks that
stay RUNNING until the test stops them: log lines streamed while the task runs (each once,
in order), the exit code, the timeout and Ctrl-C stopping the task."""

from __future__ import annotations

import json
import sys
import time

import pytest
from moto.moto_api import state_manager

from deployer.errors import DeployFailed, UsageError
from deployer.plugins.aws_ecs import oneoff
from deployer.testing.aws_ecs.emulated_tasks import mark_stopped

GROUP = "/deployer/web/dev"


@pytest.fixture
def one_off(deployed):
    """A task definition with awslogs in the ``deployed`` stack's log group, where it is
    placed, and moto's tasks kept RUNNING until stopped; yields (session, placement, arn)."""
    session, outputs = deployed
    ec2, ecs = session.client("ec2"), session.client("ecs")
    found = [s for s in ec2.describe_subnets()["Subnets"] if not s.get("DefaultForAz")]
    subnets = [s["SubnetId"] for s in found]
    # moto names a task's network interface only in a VPC with DNS hostnames (as the stack's VPC has them)
    ec2.modify_vpc_attribute(VpcId=found[0]["VpcId"], EnableDnsHostnames={"Value": True})
    (group,) = [g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] == "web"]
    # the deployed task definition, with awslogs (and the container memory moto's RunTask needs)
    base = ecs.describe_task_definition(taskDefinition=outputs["task_definition"])["taskDefinition"]
    logging = {"awslogs-group": GROUP, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"}
    container = {**base["containerDefinitions"][0], "memoryReservation": 512}
    container["logConfiguration"] = {"logDriver": "awslogs", "options": logging}
    settings = {key: base[key] for key in ("requiresCompatibilities", "networkMode", "cpu", "memory")}
    definition = ecs.register_task_definition(
        family="web-dev-oneoff-test", containerDefinitions=[container], **settings
    )["taskDefinition"]["taskDefinitionArn"]
    state_manager.set_transition("ecs::task", {"progression": "manual", "times": sys.maxsize})
    yield session, oneoff.Placement(outputs["cluster"], tuple(subnets), (group,), True), definition
    state_manager.unset_transition("ecs::task")


class Clock:
    """A virtual clock whose ``sleep`` also calls ``on_sleep`` (what happens meanwhile)."""

    def __init__(self, on_sleep):
        self.now, self.on_sleep, self.sleeps = 0.0, on_sleep, 0

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        self.sleeps += 1
        self.on_sleep(self.sleeps)


def running_task(session, cluster):
    ecs = session.client("ecs")
    (arn,) = ecs.list_tasks(cluster=cluster, startedBy=oneoff.STARTED_BY_RUN, desiredStatus="RUNNING")["taskArns"]
    return arn


def test_lines_stream_while_the_task_runs_and_its_exit_code_is_returned(one_off):
    session, placement, definition = one_off
    logs, printed = session.client("logs"), []

    def meanwhile(sleeps):
        arn = running_task(session, placement.cluster)
        stream = f"web/web/{arn.rsplit('/', 1)[-1]}"
        if sleeps == 1:
            logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
        logs.put_log_events(
            logGroupName=GROUP,
            logStreamName=stream,
            logEvents=[
                {"timestamp": int(time.time() * 1000), "message": f"line {sleeps}"}
            ],  # CloudWatch drops old events
        )
        assert printed == [f"line {n}" for n in range(1, sleeps)]  # each earlier line printed already, once
        if sleeps == 3:
            mark_stopped(
                "us-east-1", placement.cluster, arn, 5, "Essential container in task exited", "EssentialContainerExited"
            )

    clock = Clock(meanwhile)
    code = oneoff.run_task(
        session.client("ecs"),
        logs,
        placement,
        definition,
        ("python", "-m", "job"),
        started_by=oneoff.STARTED_BY_RUN,
        output=printed.append,
        sleep=clock.sleep,
        clock=clock.clock,
    )
    assert code == 5
    assert printed == ["line 1", "line 2", "line 3"]  # the last one read after the task stopped


def test_a_task_running_past_the_timeout_is_stopped(one_off):
    session, placement, definition = one_off
    clock = Clock(lambda sleeps: None)
    with pytest.raises(DeployFailed, match=r"still ran after 30 s; stopped it"):
        oneoff.run_task(
            session.client("ecs"),
            session.client("logs"),
            placement,
            definition,
            None,
            started_by=oneoff.STARTED_BY_RELEASE,
            output=print,
            timeout=30,
            sleep=clock.sleep,
            clock=clock.clock,
        )
    ecs = session.client("ecs")
    arns = ecs.list_tasks(cluster=placement.cluster, startedBy=oneoff.STARTED_BY_RELEASE)["taskArns"]
    (task,) = ecs.describe_tasks(cluster=placement.cluster, tasks=arns)["tasks"]
    assert task["desiredStatus"] == "STOPPED" and task["stoppedReason"] == "deployer: timed out"


def test_an_interrupt_stops_the_task_before_it_propagates(one_off):
    session, placement, definition = one_off

    def interrupt(sleeps):
        raise KeyboardInterrupt

    clock = Clock(interrupt)
    with pytest.raises(KeyboardInterrupt):
        oneoff.run_task(
            session.client("ecs"),
            session.client("logs"),
            placement,
            definition,
            ("sleep", "600"),
            started_by="deployer-run-interrupt",
            output=print,
            sleep=clock.sleep,
            clock=clock.clock,
        )
    ecs = session.client("ecs")
    arns = ecs.list_tasks(cluster=placement.cluster, startedBy="deployer-run-interrupt")["taskArns"]
    (task,) = ecs.describe_tasks(cluster=placement.cluster, tasks=arns)["tasks"]
    assert task["desiredStatus"] == "STOPPED" and task["stoppedReason"] == "deployer: interrupted"


def test_a_command_longer_than_run_task_overrides_allow_is_refused_before_a_task_starts(one_off):
    """RunTask: "Up to 8192 characters are allowed for overrides. This limit includes the
    JSON formatting characters of the override structure"
    (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html). A longer
    ``deployer run`` command is a usage error (exit 2) and no task starts."""
    session, placement, definition = one_off
    ecs = session.client("ecs")
    with pytest.raises(UsageError) as refused:
        oneoff.run_task(
            ecs,
            session.client("logs"),
            placement,
            definition,
            ("x" * 9000,),
            started_by="deployer-run-long",
            output=print,
            timeout=0,
            sleep=lambda seconds: None,
        )
    assert refused.value.exit_code == 2
    assert not ecs.list_tasks(cluster=placement.cluster, startedBy="deployer-run-long")["taskArns"]
    room = oneoff.OVERRIDES_MAX - len(json.dumps(oneoff.overrides("web", [""]), separators=(",", ":")))
    oneoff.overrides("web", ["x" * room])  # exactly 8,192 characters
    with pytest.raises(UsageError, match="8,193 characters .* at most 8,192"):
        oneoff.overrides("web", ["x" * (room + 1)])
