"""What a task's container is made of in the emulator, as ECS would start it.

Shared by one-off tasks (:mod:`.emulated_tasks`) and service tasks
(:mod:`.emulated_serving`): the local image an ECR digest was pushed from, the
container's environment with its secrets read back from moto's Secrets Manager, the
awslogs stream it writes to, and moto's task marked STOPPED the way ECS reports it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ecs.models import ecs_backends

from deployer import docker_engine
from deployer.testing.aws_ecs.moto_appliers import quiet_botocore


class NotStarted(Exception):
    """The task cannot start; the message is ECS's stopped reason."""


def local_image(aws: Any, reference: str) -> str:
    """The local image an ECR ``repo@sha256:digest`` was pushed from (its config digest).

    :raises NotStarted: ``CannotPullContainerError`` when ECR or the local engine lacks it.
    """
    repository, _, digest = reference.split("/", 1)[1].partition("@")
    try:
        (found,) = aws.ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageDigest": digest}])["images"]
    except (aws.ecr.exceptions.ClientError, ValueError):
        raise NotStarted(f"CannotPullContainerError: {reference}: not found") from None
    image_id = json.loads(found["imageManifest"])["config"]["digest"]
    if docker_engine.connect().image(image_id) is None:
        raise NotStarted(f"CannotPullContainerError: pull image manifest has been retried: {reference}: not found")
    return str(image_id)


def secret_value(aws: Any, value_from: str) -> str:
    """A secret as ECS injects it: ``<secret ARN>[:json-key:version-stage:version-id]``.

    :raises NotStarted: ``ResourceInitializationError`` when it cannot be read.
    """
    parts = value_from.split(":")
    arn, (json_key, stage, version) = ":".join(parts[:7]), [*parts[7:], "", "", ""][:3]
    query: dict[str, str] = {"SecretId": arn}
    if version:
        query["VersionId"] = version
    elif stage:
        query["VersionStage"] = stage
    try:
        with quiet_botocore():  # its DEBUG log prints the value
            value = aws.secretsmanager.get_secret_value(**query)["SecretString"]
        return str(json.loads(value)[json_key]) if json_key else str(value)
    except (aws.secretsmanager.exceptions.ClientError, ValueError, KeyError, TypeError):
        raise NotStarted(
            f"ResourceInitializationError: unable to pull secrets or registry auth: retrieving secret from {arn}"
        ) from None


def environment(aws: Any, container: Mapping[str, Any], extra: Sequence[Mapping[str, str]] = ()) -> dict[str, str]:
    """The container definition's environment, ``extra`` (an override's) on top, and its
    secrets' values as ECS injects them.

    :raises NotStarted: a secret cannot be read.
    """
    env = {e["name"]: e["value"] for e in container.get("environment", ())}
    env.update({e["name"]: e["value"] for e in extra})
    env.update({s["name"]: secret_value(aws, s["valueFrom"]) for s in container.get("secrets", ())})
    return env


def log_stream(container: Mapping[str, Any], task_arn: str) -> tuple[str, str] | None:
    """``(group, stream)`` the awslogs driver writes the container's output to:
    ``<prefix>/<container>/<task id>``; None without an awslogs configuration."""
    options = container.get("logConfiguration", {}).get("options", {})
    group, prefix = options.get("awslogs-group"), options.get("awslogs-stream-prefix")
    if not group or not prefix:
        return None
    return group, f"{prefix}/{container['name']}/{task_arn.rsplit('/', 1)[-1]}"


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
