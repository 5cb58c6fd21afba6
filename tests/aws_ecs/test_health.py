"""``up`` waits for the truth: rollout COMPLETED and healthy targets, or the reason why not.

Success runs against moto; a failing health check and a circuit-breaker rollback cannot be
produced by moto, so they replay recorded ECS/ELBv2 responses through botocore's Stubber
(which validates every request and response against the real API models).
"""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from deployer.errors import DeployFailed
from deployer.plugins.aws_ecs.health import wait_until_healthy

TD1 = "arn:aws:ecs:us-east-1:123456789012:task-definition/web-dev:1"
TD2 = "arn:aws:ecs:us-east-1:123456789012:task-definition/web-dev:2"
TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg/0123456789abcdef"
TASK = "arn:aws:ecs:us-east-1:123456789012:task/web-cluster/0a1b2c3d4e5f"


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _service(*deployments, desired=2):
    return {
        "services": [
            {
                "serviceName": "web-service",
                "status": "ACTIVE",
                "desiredCount": desired,
                "deployments": list(deployments),
            }
        ]
    }


def _deployment(status, td, state, reason="", running=0):
    return {
        "status": status,
        "taskDefinition": td,
        "rolloutState": state,
        "rolloutStateReason": reason,
        "runningCount": running,
    }


def _clients():
    session = boto3.Session(region_name="us-east-1")
    return session.client("ecs"), session.client("elbv2")


def test_healthy_rollout_returns_once_complete(deployed):
    """A COMPLETED PRIMARY deployment of the new task definition with all targets healthy.
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html"""
    session, outputs = deployed
    clock = FakeClock()
    seen = wait_until_healthy(
        session.client("ecs"),
        session.client("elbv2"),
        cluster=outputs["cluster"],
        service=outputs["service"],
        target_group_arn=outputs["target_group_arn"],
        task_definition=outputs["task_definition"],
        timeout=60,
        clock=clock,
        sleep=clock.sleep,
    )
    assert (seen.rollout_state, seen.healthy, seen.desired) == ("COMPLETED", 2, 2)
    assert clock.now == 0


def test_failing_health_check_fails_with_the_target_reason(aws_env):
    """Targets failing the ALB health check: DeployFailed after the timeout, naming the
    target health reason and the stopped task's reason.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetHealth.html"""
    ecs, elbv2 = _clients()
    clock = FakeClock()
    unhealthy = {
        "TargetHealthDescriptions": [
            {
                "Target": {"Id": "10.0.0.10", "Port": 8000},
                "TargetHealth": {
                    "State": "unhealthy",
                    "Reason": "Target.ResponseCodeMismatch",
                    "Description": "Health checks failed with these codes: [500]",
                },
            }
        ]
    }
    with Stubber(ecs) as ecs_stub, Stubber(elbv2) as elb_stub:
        for _ in range(2):
            ecs_stub.add_response("describe_services", _service(_deployment("PRIMARY", TD2, "IN_PROGRESS", running=1)))
            elb_stub.add_response("describe_target_health", unhealthy)
        ecs_stub.add_response("list_tasks", {"taskArns": [TASK]})
        ecs_stub.add_response(
            "describe_tasks",
            {
                "tasks": [
                    {
                        "taskArn": TASK,
                        "stoppedReason": "Task failed ELB health checks in (target-group web-tg)",
                        "containers": [{"name": "web", "exitCode": 137}],
                    }
                ]
            },
        )
        with pytest.raises(DeployFailed) as failure:
            wait_until_healthy(
                ecs,
                elbv2,
                cluster="web-cluster",
                service="web-service",
                target_group_arn=TG,
                task_definition=TD2,
                timeout=10,
                interval=10,
                clock=clock,
                sleep=clock.sleep,
            )
    message = str(failure.value)
    assert "not healthy after 10 s" in message
    assert "Target.ResponseCodeMismatch" in message and "[500]" in message
    assert "Task failed ELB health checks" in message and "exit code 137" in message


def test_circuit_breaker_rollback_fails_at_once_with_its_reason(aws_env):
    """The circuit breaker marked the new deployment FAILED and rolled back to the previous
    task definition: fail immediately with rolloutStateReason, no 30-minute wait.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html"""
    ecs, elbv2 = _clients()
    clock = FakeClock()
    reason = "ECS deployment circuit breaker: tasks failed to start."
    with Stubber(ecs) as ecs_stub, Stubber(elbv2) as elb_stub:
        ecs_stub.add_response(
            "describe_services",
            _service(
                _deployment("PRIMARY", TD1, "IN_PROGRESS", "rolling back", running=2),
                _deployment("ACTIVE", TD2, "FAILED", reason),
            ),
        )
        elb_stub.add_response("describe_target_health", {"TargetHealthDescriptions": []})
        ecs_stub.add_response("list_tasks", {"taskArns": []})
        with pytest.raises(DeployFailed, match="circuit breaker rolled back: ECS deployment circuit breaker"):
            wait_until_healthy(
                ecs,
                elbv2,
                cluster="web-cluster",
                service="web-service",
                target_group_arn=TG,
                task_definition=TD2,
                timeout=600,
                clock=clock,
                sleep=clock.sleep,
            )
    assert clock.now == 0


def test_rollback_already_finished_is_still_reported(aws_env):
    """After a rollback ECS may drop the failed deployment: a PRIMARY of another revision
    means the new one did not stick."""
    ecs, elbv2 = _clients()
    with Stubber(ecs) as ecs_stub, Stubber(elbv2) as elb_stub:
        ecs_stub.add_response(
            "describe_services", _service(_deployment("PRIMARY", TD1, "COMPLETED", "completed", running=2))
        )
        elb_stub.add_response("describe_target_health", {"TargetHealthDescriptions": []})
        ecs_stub.add_response("list_tasks", {"taskArns": []})
        with pytest.raises(DeployFailed, match="web-dev:1 instead of .*web-dev:2"):
            wait_until_healthy(
                ecs,
                elbv2,
                cluster="web-cluster",
                service="web-service",
                target_group_arn=TG,
                task_definition=TD2,
                timeout=600,
            )
