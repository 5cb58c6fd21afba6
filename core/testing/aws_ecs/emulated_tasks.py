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
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ecs.models import ecs_backends

from deployer import docker_engine
from deployer.testing.aws_ecs.moto_appliers import SCHEDULER

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
            image = self._local_image(container["image"])
            env = {e["name"]: e["value"] for e in container.get("environment", ())}
            env.update({e["name"]: e["value"] for e in override.get("environment", ())})
            env.update({s["name"]: self._secret(s["valueFrom"]) for s in container.get("secrets", ())})
        except _NotStarted as reason:
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

    def _local_image(self, reference: str) -> str:
        """The local image an ECR ``repo@sha256:digest`` was pushed from (its config digest)."""
        repository, _, digest = reference.split("/", 1)[1].partition("@")
        try:
            (found,) = self._aws.ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageDigest": digest}])[
                "images"
            ]
        except (self._aws.ecr.exceptions.ClientError, ValueError):
            raise _NotStarted(f"CannotPullContainerError: {reference}: not found") from None
        image_id = json.loads(found["imageManifest"])["config"]["digest"]
        if docker_engine.connect().image(image_id) is None:
            raise _NotStarted(f"CannotPullContainerError: pull image manifest has been retried: {reference}: not found")
        return str(image_id)

    def _secret(self, value_from: str) -> str:
        """A secret as ECS injects it: ``<secret ARN>[:json-key:version-stage:version-id]``."""
        parts = value_from.split(":")
        arn, (json_key, stage, version) = ":".join(parts[:7]), [*parts[7:], "", "", ""][:3]
        query: dict[str, str] = {"SecretId": arn}
        if version:
            query["VersionId"] = version
        elif stage:
            query["VersionStage"] = stage
        try:
            value = self._aws.secretsmanager.get_secret_value(**query)["SecretString"]
            return str(json.loads(value)[json_key]) if json_key else str(value)
        except (self._aws.secretsmanager.exceptions.ClientError, ValueError, KeyError, TypeError):
            raise _NotStarted(
                f"ResourceInitializationError: unable to pull secrets or registry auth: retrieving secret from {arn}"
            ) from None

    def _write_logs(self, container: dict[str, Any], task_arn: str, lines: list[str]) -> None:
        options = container.get("logConfiguration", {}).get("options", {})
        group, prefix = options.get("awslogs-group"), options.get("awslogs-stream-prefix")
        if not group or not prefix or not lines:
            return
        stream = f"{prefix}/{container['name']}/{task_arn.rsplit('/', 1)[-1]}"
        logs = self._aws.logs
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        now = int(time.time() * 1000)
        logs.put_log_events(
            logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": now, "message": line} for line in lines]
        )


class _NotStarted(Exception):
    """The task cannot start; the message is ECS's stopped reason."""


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


def mark_stopped(region: str, cluster: str, task_arn: str, code: int | None, reason: str, stop_code: str) -> None:
    """Mark moto's task STOPPED as ECS would: the container's exit code (None when it never
    ran), the task's stopped reason and stop code."""
    task = ecs_backends[DEFAULT_ACCOUNT_ID][region].tasks[cluster.rsplit("/", 1)[-1]][task_arn]
    container = task.containers[0]
    container.exitCode = code
    container.last_status = "STOPPED"
    task.stopped_reason = reason
    task.stop_code = stop_code
    task.last_status = "STOPPED"
    task.desired_status = "STOPPED"
