"""What ECS does for one-off tasks and ECS Exec, which moto does not: the emulator's ECS client.

moto's ``RunTask`` records a task and runs nothing; it has no ``ExecuteCommand`` at all.
:class:`EmulatedEcs` wraps moto's ECS client (every other call goes straight to moto) so
the production code (:mod:`deployer.plugins.aws_ecs.oneoff`, ``.exec_session``) runs
unchanged against it:

- ``run_task`` of a task that is not a service's (``startedBy`` other than the emulated
  scheduler's) really runs the task definition's container on the local Docker engine:
  the image the ECR digest was pushed from (the emulator's push puts the core-built image
  ID in the manifest), the container's command or the override, its environment and its
  secrets read back from moto's Secrets Manager as ECS would inject them, as the image's
  user, every capability dropped, a read-only root filesystem when the definition says so
  (``/tmp`` writable, as its task volume is), no network (the emulator has no VPC to put
  it in). Its output goes to moto's CloudWatch Logs stream ``<prefix>/<container>/<task
  id>``, as the awslogs driver writes it; then the moto task is marked STOPPED with the
  container's exit code (``EssentialContainerExited``). A task whose image is not in the
  local engine stops without an exit code, ``CannotPullContainerError``; one whose secret
  cannot be read, ``ResourceInitializationError``: what ECS reports.
- ``describe_services`` adds ``enableExecuteCommand`` (moto drops it) from the emulator's
  state, and ``describe_tasks`` gives each container a ``runtimeId`` (moto has none).
- ``execute_command`` answers as ECS does for a RUNNING task of a service with ECS Exec
  enabled: a session (``sessionId``, ``streamUrl``, ``tokenValue``) for the Session
  Manager plugin; otherwise ECS's ``InvalidParameterException`` or
  ``TargetNotConnectedException`` messages.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Mapping
from typing import Any

from deployer import docker_engine
from deployer.testing.aws_ecs.moto_appliers import SCHEDULER
from deployer.testing.aws_ecs.task_containers import NotStarted, environment, local_image, log_stream, mark_stopped

RUN_TIMEOUT = 300
"""Seconds a one-off container may run on the local engine before it is killed."""


class EmulatedEcs:
    """moto's ECS client, plus one-off tasks and ECS Exec (see the module docstring).
    ``exec_enabled`` maps each service name to its ``enableExecuteCommand``."""

    def __init__(self, ecs: Any, aws: Any, exec_enabled: Mapping[str, bool]):
        self._ecs, self._aws, self._exec = ecs, aws, dict(exec_enabled)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ecs, name)

    def describe_services(self, **kwargs: Any) -> dict[str, Any]:
        answer = self._ecs.describe_services(**kwargs)
        for service in answer.get("services", ()):
            service["enableExecuteCommand"] = self._exec.get(service["serviceName"], False)
        return answer

    def describe_tasks(self, **kwargs: Any) -> dict[str, Any]:
        answer = self._ecs.describe_tasks(**kwargs)
        for task in answer.get("tasks", ()):
            for container in task.get("containers", ()):
                container.setdefault("runtimeId", _runtime_id(task["taskArn"], container["name"]))
        return answer

    def run_task(self, **kwargs: Any) -> dict[str, Any]:
        answer = self._ecs.run_task(**kwargs)
        if kwargs.get("startedBy") != SCHEDULER:
            overrides = kwargs.get("overrides", {}).get("containerOverrides", [])
            for task in answer.get("tasks", ()):
                self._run(kwargs["cluster"], task, overrides)
        return answer

    def execute_command(self, **kwargs: Any) -> dict[str, Any]:
        (task,) = self.describe_tasks(cluster=kwargs["cluster"], tasks=[kwargs["task"]])["tasks"] or [None]
        if task is None or task["lastStatus"] != "RUNNING":
            raise self._error("TargetNotConnectedException", "The execute command failed due to an internal error.")
        service = task.get("group", "").removeprefix("service:")
        if not self._exec.get(service):
            raise self._error(
                "InvalidParameterException",
                "The execute command failed because execute command was not enabled when the task was run "
                "or the execute command agent isn't running.",
            )
        session = f"ecs-execute-command-{secrets.token_hex(8)}"
        region = self._ecs.meta.region_name
        return {
            "clusterArn": task["clusterArn"],
            "containerArn": task["containers"][0]["containerArn"],
            "containerName": kwargs["container"],
            "interactive": True,
            "session": {
                "sessionId": session,
                "streamUrl": f"wss://ssmmessages.{region}.amazonaws.com/v1/data-channel/{session}?role=publish_subscribe",
                "tokenValue": secrets.token_urlsafe(32),
            },
            "taskArn": task["taskArn"],
        }

    def _error(self, code: str, message: str) -> Exception:
        """ECS's error ``code`` for ``ExecuteCommand``, as boto3 raises it."""
        error: Exception = getattr(self._ecs.exceptions, code)(
            {"Error": {"Code": code, "Message": message}}, "ExecuteCommand"
        )
        return error

    # --- running a one-off task on the local engine -------------------------------------

    def _run(self, cluster: str, task: dict[str, Any], overrides: list[dict[str, Any]]) -> None:
        definition = self._ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])["taskDefinition"]
        container = definition["containerDefinitions"][0]
        override = next((o for o in overrides if o.get("name") == container["name"]), {})
        try:
            image = local_image(self._aws, container["image"])
            env = environment(self._aws, container, override.get("environment", ()))
        except NotStarted as reason:
            mark_stopped(self._ecs.meta.region_name, cluster, task["taskArn"], None, str(reason), "TaskFailedToStart")
            return
        command = override.get("command") or container.get("command")
        code, output = _run_container(image, command, env, read_only=bool(container.get("readonlyRootFilesystem")))
        self._write_logs(container, task["taskArn"], output)
        mark_stopped(
            self._ecs.meta.region_name,
            cluster,
            task["taskArn"],
            code,
            "Essential container in task exited",
            "EssentialContainerExited",
        )

    def _write_logs(self, container: dict[str, Any], task_arn: str, lines: list[str]) -> None:
        stream = log_stream(container, task_arn)
        if stream is None or not lines:
            return
        logs = self._aws.logs
        logs.create_log_stream(logGroupName=stream[0], logStreamName=stream[1])
        now = int(time.time() * 1000)
        logs.put_log_events(
            logGroupName=stream[0],
            logStreamName=stream[1],
            logEvents=[{"timestamp": now, "message": line} for line in lines],
        )


def _runtime_id(task_arn: str, container: str) -> str:
    """A stable stand-in for the container's runtime ID (Docker's 64 hex digits)."""
    return hashlib.sha256(f"{task_arn}/{container}".encode()).hexdigest()


def _run_container(
    image: str, command: list[str] | None, env: dict[str, str], *, read_only: bool
) -> tuple[int, list[str]]:
    """Run ``image`` to its end on the local engine, hardened as the task definition asks;
    its exit code and output lines (stdout and stderr, as the awslogs driver takes both)."""
    engine = docker_engine.connect()
    api = engine.api
    created = api.create_container(
        image,
        command=command,
        environment=env,
        host_config=api.create_host_config(
            cap_drop=["ALL"],
            read_only=read_only,
            tmpfs={"/tmp": "size=64m"},
            network_mode="none",
        ),
        network_disabled=True,
    )
    try:
        api.start(created["Id"])
        try:
            code = int(api.wait(created["Id"], timeout=RUN_TIMEOUT)["StatusCode"])
        except Exception:  # still running at the timeout: ECS would keep it; the emulator ends it
            api.kill(created["Id"])
            code = int(api.wait(created["Id"])["StatusCode"])
        text = api.logs(created["Id"], stdout=True, stderr=True).decode(errors="replace")
    finally:
        api.remove_container(created["Id"], force=True)
    return code, text.splitlines()
