"""The truth about a deployed service, read with boto3: rollout state and healthy targets.

:func:`observe` takes one reading; :func:`wait_until_healthy` polls until the service's
PRIMARY deployment runs the expected task definition, its rollout is COMPLETED and the
target group has at least the desired number of healthy targets, or raises
:class:`DeployFailed` with the reason AWS gives (circuit-breaker rollback, failing target
health checks, stopped tasks). Clients, clock and sleep are injected, so tests drive it
with moto or recorded responses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from attrs import frozen

from deployer.errors import DeployFailed
from deployer.models import ExpressedSpec, PhaseContext, Status
from deployer.plugins.aws_ecs import expressed
from deployer.plugins.aws_ecs import settings as aws_settings


@frozen
class Observation:
    """One reading of the service and its target group."""

    rollout_state: str | None
    rollout_reason: str
    task_definition: str | None
    running: int
    desired: int
    healthy: int
    unhealthy: tuple[str, ...] = ()
    rolled_back_from: str | None = None
    """The failed deployment's reason when the circuit breaker already rolled back."""

    def complete_for(self, task_definition: str | None) -> bool:
        """True when ``task_definition`` rolled out completely and enough targets are healthy."""
        return (
            self.rollout_state == "COMPLETED"
            and (task_definition is None or self.task_definition == task_definition)
            and self.healthy >= self.desired > 0
        )


def observe(
    ecs: Any,
    elbv2: Any,
    *,
    cluster: str,
    service: str,
    target_group_arn: str | None,
    task_definition: str | None = None,
) -> Observation:
    """Read the service's PRIMARY deployment and the target group's health once."""
    found = ecs.describe_services(cluster=cluster, services=[service]).get("services", [])
    if not found or found[0].get("status") == "INACTIVE":
        raise DeployFailed(f"ECS service {service} does not exist in cluster {cluster}")
    svc = found[0]
    deployments = svc.get("deployments", [])
    primary: dict[str, Any] = next((d for d in deployments if d.get("status") == "PRIMARY"), {})
    healthy, unhealthy = _target_health(elbv2, target_group_arn)
    return Observation(
        rollout_state=primary.get("rolloutState"),
        rollout_reason=primary.get("rolloutStateReason", ""),
        task_definition=primary.get("taskDefinition"),
        running=primary.get("runningCount", svc.get("runningCount", 0)),
        desired=svc.get("desiredCount", 0),
        healthy=healthy,
        unhealthy=unhealthy,
        rolled_back_from=_rollback(deployments, primary, task_definition),
    )


def _rollback(deployments: list[dict], primary: dict, task_definition: str | None) -> str | None:
    """Why ECS is no longer rolling out ``task_definition``: a FAILED deployment of it that
    is not PRIMARY any more, or a PRIMARY deployment of another revision (the rollback)."""
    for deployment in deployments:
        if (
            deployment is not primary
            and deployment.get("rolloutState") == "FAILED"
            and deployment.get("taskDefinition") in (task_definition, None)
        ):
            return deployment.get("rolloutStateReason") or "the deployment failed"
    if task_definition and primary and primary.get("taskDefinition") != task_definition:
        return (
            f"ECS runs {primary.get('taskDefinition')} instead of {task_definition} "
            f"({primary.get('rolloutStateReason', 'rolled back')})"
        )
    return None


def service_of(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """The keywords :func:`observe` and :func:`wait_until_healthy` take, from the stack outputs."""
    return {
        "cluster": outputs["cluster"],
        "service": outputs["service"],
        "target_group_arn": outputs.get("target_group_arn"),
        "task_definition": outputs.get("task_definition"),
    }


def wait_for_outputs(
    ecs: Any,
    elbv2: Any,
    outputs: Mapping[str, Any],
    ctx: PhaseContext,
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> Observation:
    """:func:`wait_until_healthy` for the service the stack ``outputs`` name, within the
    target's ``deploy_timeout``, reporting to ``ctx`` (``up`` on the real and the emulated driver)."""
    timeout = aws_settings.of(ctx).deploy_timeout
    return wait_until_healthy(
        ecs, elbv2, **service_of(outputs), timeout=timeout, clock=clock, sleep=sleep, report=ctx.report
    )


def wait_until_healthy(
    ecs: Any,
    elbv2: Any,
    *,
    cluster: str,
    service: str,
    target_group_arn: str | None,
    task_definition: str | None,
    timeout: float,
    interval: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    report: Callable[[str], None] = lambda line: None,
) -> Observation:
    """Poll until :meth:`Observation.complete_for` ``task_definition``; raise DeployFailed
    at once on a failed or rolled-back rollout, or after ``timeout`` seconds."""
    deadline = clock() + timeout
    while True:
        seen = observe(
            ecs,
            elbv2,
            cluster=cluster,
            service=service,
            target_group_arn=target_group_arn,
            task_definition=task_definition,
        )
        if seen.complete_for(task_definition):
            return seen
        if seen.rolled_back_from is not None:
            raise DeployFailed(
                _explain(ecs, cluster, service, seen, f"the circuit breaker rolled back: {seen.rolled_back_from}")
            )
        if seen.rollout_state == "FAILED":
            raise DeployFailed(_explain(ecs, cluster, service, seen, f"the deployment failed: {seen.rollout_reason}"))
        report(
            f"waiting for {service}: rollout {seen.rollout_state or 'unknown'}, "
            f"{seen.running}/{seen.desired} running, {seen.healthy} healthy targets"
        )
        if clock() >= deadline:
            raise DeployFailed(_explain(ecs, cluster, service, seen, f"not healthy after {timeout:.0f} s"))
        sleep(interval)


def stopped_task_reasons(ecs: Any, cluster: str, service: str, limit: int = 3) -> list[str]:
    """Why the service's most recent stopped tasks stopped (task and container reasons)."""
    arns = ecs.list_tasks(cluster=cluster, serviceName=service, desiredStatus="STOPPED").get("taskArns", [])[:limit]
    if not arns:
        return []
    reasons = []
    for task in ecs.describe_tasks(cluster=cluster, tasks=arns).get("tasks", []):
        parts = [task.get("stoppedReason", "stopped")]
        for container in task.get("containers", []):
            if container.get("reason") or container.get("exitCode") not in (None, 0):
                parts.append(
                    f"container {container.get('name')}: "
                    f"{container.get('reason', '')} exit code {container.get('exitCode')}".strip()
                )
        reasons.append("; ".join(parts))
    return reasons


def _target_health(elbv2: Any, target_group_arn: str | None) -> tuple[int, tuple[str, ...]]:
    if not target_group_arn:
        return 0, ()
    descriptions = elbv2.describe_target_health(TargetGroupArn=target_group_arn).get("TargetHealthDescriptions", [])
    healthy, problems = 0, []
    for item in descriptions:
        health = item.get("TargetHealth", {})
        if health.get("State") == "healthy":
            healthy += 1
        elif health.get("State") not in ("initial", "draining"):
            target = item.get("Target", {})
            problems.append(
                f"target {target.get('Id')}:{target.get('Port')} "
                f"{health.get('State')}: {health.get('Reason', '')} "
                f"{health.get('Description', '')}".strip()
            )
    return healthy, tuple(problems)


def _explain(ecs: Any, cluster: str, service: str, seen: Observation, headline: str) -> str:
    lines = [
        f"{service}: {headline}",
        f"rollout {seen.rollout_state or 'unknown'}: {seen.rollout_reason}".rstrip(": "),
        f"{seen.running}/{seen.desired} tasks running, {seen.healthy} healthy targets",
    ]
    lines += [f"health check: {problem}" for problem in seen.unhealthy]
    lines += [f"stopped task: {reason}" for reason in stopped_task_reasons(ecs, cluster, service)]
    lines.append("the previous deployment (if any) keeps serving; see `deployer logs --target aws-ecs`")
    return "\n".join(lines)


def live_spec(ecs: Any, elbv2: Any, outputs: dict[str, Any], *, replicas: int) -> ExpressedSpec:
    """The deployed task definition and target group health path, read back as a spec."""
    task = ecs.describe_task_definition(taskDefinition=outputs["task_definition"])["taskDefinition"]
    (group,) = elbv2.describe_target_groups(TargetGroupArns=[outputs["target_group_arn"]])["TargetGroups"]
    return expressed.from_task_definition(
        task, image_id=outputs.get("image_id", ""), health_path=group.get("HealthCheckPath", ""), replicas=replicas
    )


def live_status(ecs: Any, elbv2: Any, *, target: str, stack: str, outputs: dict[str, Any]) -> Status:
    """A :class:`Status` from the stack outputs and one live reading of the service; its
    ``advice`` (shown only when degraded) says that ECS replaces tasks by itself."""
    seen = observe(ecs, elbv2, **service_of(outputs))
    return Status(
        spec=live_spec(ecs, elbv2, outputs, replicas=seen.desired),
        target=target,
        stack=stack,
        deployed=True,
        endpoint=outputs.get("endpoint"),
        healthy=seen.healthy,
        desired=seen.desired,
        image=outputs.get("image_ref"),
        advice=(
            f"{seen.desired - seen.healthy} of {seen.desired} tasks not healthy: ECS starts replacements "
            f"itself; `deployer logs --target {target} --stack {stack}` shows why they stop, and "
            f"`deployer up --target {target} --stack {stack}` re-applies the stack"
        ),
        details={
            "rollout": seen.rollout_state,
            "rollout_reason": seen.rollout_reason,
            "running": seen.running,
            "task_definition": seen.task_definition,
            "unhealthy_targets": list(seen.unhealthy),
            "rolled_back": seen.rolled_back_from,
        },
    )
