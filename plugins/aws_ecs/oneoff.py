"""One-off Fargate tasks: ``deployer run`` and the release command, through boto3.

:func:`run_task` starts one FARGATE task of a task definition in the app's cluster, in the
tasks' subnets with the tasks' security group (the stack outputs ``task_subnets``,
``task_security_group``, ``assign_public_ip``), with the container's command overridden;
it polls ``DescribeTasks`` until the task is STOPPED, handing each new CloudWatch line of
the container's stream (``<stream prefix>/<container>/<task id>``, as the awslogs driver
names it) to ``output`` while it waits, and returns the container's exit code. A task
that stops without one (it never started: ``CannotPullContainerError``, a missing secret,
no capacity) is a :class:`DeployFailed` naming ECS's reason; so is a failure to place it.
A command too long for RunTask's ``overrides`` is refused before any task starts
(:func:`overrides`).

``sleep`` and ``clock`` are injectable (tests, the emulator's virtual clock).
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from attrs import frozen

from deployer.errors import DeployFailed, UsageError

POLL = 6.0
"""Seconds between two ``DescribeTasks`` calls (boto3's ``tasks_stopped`` waiter uses 6)."""

STARTED_BY_RUN = "deployer-run"
STARTED_BY_RELEASE = "deployer-release"
"""``startedBy`` of the tasks ``deployer run`` and the release command start (at most 36
characters: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html)."""

OVERRIDES_MAX = 8192
"""Characters: the most RunTask's ``overrides`` may hold ("Up to 8192 characters are
allowed for overrides. This limit includes the JSON formatting characters of the override
structure": https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html)."""


@frozen
class Placement:
    """Where a one-off task runs: the stack's cluster and the service tasks' network."""

    cluster: str
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    assign_public_ip: bool

    @classmethod
    def from_outputs(cls, outputs: dict[str, Any]) -> Placement:
        """From the stack outputs (:func:`.program.exports`)."""
        group = outputs.get("task_security_group")
        return cls(
            cluster=outputs["cluster"],
            subnets=tuple(outputs.get("task_subnets") or ()),
            security_groups=(group,) if group else (),
            assign_public_ip=bool(outputs.get("assign_public_ip", True)),
        )


def run_task(
    ecs: Any,
    logs: Any,
    placement: Placement,
    task_definition: str,
    command: Sequence[str] | None,
    *,
    started_by: str,
    output: Callable[[str], None],
    timeout: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Run ``task_definition`` once (its first container's command replaced by ``command``
    when given), stream its log lines to ``output``, and return its exit code. Past
    ``timeout`` seconds the task is stopped and :class:`DeployFailed` raised; so is an
    interrupt (Ctrl-C) stopping it before it propagates."""
    definition = ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
    container = definition["containerDefinitions"][0]
    answer = ecs.run_task(
        cluster=placement.cluster,
        taskDefinition=task_definition,
        launchType="FARGATE",
        count=1,
        startedBy=started_by,
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": list(placement.subnets),
                "securityGroups": list(placement.security_groups),
                "assignPublicIp": "ENABLED" if placement.assign_public_ip else "DISABLED",
            }
        },
        overrides=overrides(container["name"], command),
    )
    if not answer.get("tasks"):
        reasons = "; ".join(f"{f.get('arn', '')} {f.get('reason', '')}".strip() for f in answer.get("failures", ()))
        raise DeployFailed(f"aws-ecs: ECS could not start the task ({reasons or 'no reason given'})")
    task_arn = answer["tasks"][0]["taskArn"]
    lines = _LogStream(logs, container, task_arn)
    deadline = None if timeout is None else clock() + timeout
    try:
        while True:
            task = ecs.describe_tasks(cluster=placement.cluster, tasks=[task_arn])["tasks"][0]
            for line in lines.new():
                output(line)
            if task["lastStatus"] == "STOPPED":
                break
            if deadline is not None and clock() >= deadline:
                _stop(ecs, placement.cluster, task_arn, "deployer: timed out")
                raise DeployFailed(f"aws-ecs: task {_task_id(task_arn)} still ran after {timeout:g} s; stopped it")
            sleep(POLL)
    except KeyboardInterrupt:
        _stop(ecs, placement.cluster, task_arn, "deployer: interrupted")
        raise
    for line in lines.new():  # what the awslogs driver flushed as the container stopped
        output(line)
    return exit_code(task, container["name"])


def overrides(container: str, command: Sequence[str] | None) -> dict[str, Any]:
    """RunTask's ``overrides``: ``command`` (when given) in place of ``container``'s own.

    :raises UsageError: its JSON is longer than ECS accepts (:data:`OVERRIDES_MAX`); no
        task is started.
    """
    override: dict[str, Any] = {"name": container}
    if command:
        override["command"] = list(command)
    result = {"containerOverrides": [override]}
    length = len(json.dumps(result, separators=(",", ":"), ensure_ascii=False))
    if length > OVERRIDES_MAX:
        raise UsageError(
            f"aws-ecs: the command is {length:,} characters as a one-off task's overrides (its JSON included); "
            f"ECS accepts at most {OVERRIDES_MAX:,} (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/"
            "API_RunTask.html): put it in a script in the image and run that"
        )
    return result


def run_in_service(
    ecs: Any,
    logs: Any,
    outputs: dict[str, Any],
    command: Sequence[str],
    *,
    report: Callable[[str], None],
    output: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """``deployer run``: :func:`run_task` of the task definition the stack's service runs
    now (ECS's answer, so after a circuit-breaker rollback it is the revision serving)."""
    found = ecs.describe_services(cluster=outputs["cluster"], services=[outputs["service"]])["services"]
    definition = found[0]["taskDefinition"] if found else outputs["task_definition"]
    report(f"aws-ecs: running {shlex.join(command)} in a one-off task of {definition.rsplit('/', 1)[-1]} ...")
    return run_task(
        ecs,
        logs,
        Placement.from_outputs(outputs),
        definition,
        command,
        started_by=STARTED_BY_RUN,
        output=output,
        sleep=sleep,
        clock=clock,
    )


def exit_code(task: dict[str, Any], container: str) -> int:
    """The container's exit code in a STOPPED task; :class:`DeployFailed` with ECS's
    reasons when it has none (the command never ran)."""
    found: dict[str, Any] = next((c for c in task.get("containers", ()) if c.get("name") == container), {})
    code = found.get("exitCode")
    if code is not None:
        return int(code)
    reasons = [task.get("stoppedReason") or "", found.get("reason") or ""]
    reason = ": ".join(r for r in reasons if r) or "no reason given"
    raise DeployFailed(f"aws-ecs: task {_task_id(task['taskArn'])} stopped before its command ran ({reason})")


def _stop(ecs: Any, cluster: str, task_arn: str, reason: str) -> None:
    try:
        ecs.stop_task(cluster=cluster, task=task_arn, reason=reason)
    except Exception:  # best effort: the caller reports what happened
        return


def _task_id(task_arn: str) -> str:
    return task_arn.rsplit("/", 1)[-1]


class _LogStream:
    """The new lines of one task's CloudWatch stream on each :meth:`new` (none until the
    container wrote some: the stream does not exist before)."""

    def __init__(self, logs: Any, container: dict[str, Any], task_arn: str):
        options = container.get("logConfiguration", {}).get("options", {})
        self._logs = logs
        self._group = options.get("awslogs-group")
        prefix = options.get("awslogs-stream-prefix")
        self._stream = f"{prefix}/{container['name']}/{_task_id(task_arn)}" if prefix else None
        self._token: str | None = None

    def new(self) -> Iterator[str]:
        if not self._group or not self._stream:
            return
        while True:
            kwargs: dict[str, Any] = {"logGroupName": self._group, "logStreamName": self._stream}
            if self._token:
                kwargs["nextToken"] = self._token
            else:
                kwargs["startFromHead"] = True
            try:
                page = self._logs.get_log_events(**kwargs)
            except self._logs.exceptions.ResourceNotFoundException:
                return
            for event in page.get("events", ()):
                yield event.get("message", "").rstrip("\n")
            token = page.get("nextForwardToken")
            if token == self._token or not page.get("events"):
                self._token = token or self._token
                return
            self._token = token


OUTPUT_LINES = 40
"""How many of the release command's last lines a failure shows (as the local target)."""


def release(
    ecs: Any,
    logs: Any,
    placement: Placement,
    task_definition: str,
    *,
    report: Callable[[str], None],
    timeout: float,
    hide: Callable[[str], str] = str,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Run the release task definition once (its own command); each line is reported as it
    arrives, through ``hide`` (:meth:`~deployer.models.PhaseContext.hide_secrets`). A non-zero exit is
    :class:`DeployFailed` carrying the last lines."""
    lines: list[str] = []

    def output(line: str) -> None:
        line = hide(line)
        lines.append(line)
        report(f"  release | {line}")

    code = run_task(
        ecs,
        logs,
        placement,
        task_definition,
        None,
        started_by=STARTED_BY_RELEASE,
        output=output,
        timeout=timeout,
        sleep=sleep,
        clock=clock,
    )
    if code != 0:
        shown = "\n".join(f"  | {line}" for line in lines[-OUTPUT_LINES:]) or "  | (no output)"
        raise DeployFailed(
            f"the release command exited with {code}:\n{shown}\n"
            "The services were not updated: the previous task definition keeps serving."
        )
