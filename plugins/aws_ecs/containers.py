"""The container definitions aws-ecs registers: the web service's, each worker's and the
release command's, in ECS's container definition JSON.

Pure functions of the phase context and the values only AWS gives (the image by digest,
the log group, the region, the secrets' ``valueFrom``, the backing services' env):
the compute phase builds its task definitions from them, and :mod:`.task_size` measures
them before anything is declared. Imports no pulumi.
"""

from __future__ import annotations

from deployer.healthcheck import probe_command
from deployer.models import PhaseContext
from deployer.plugins.aws_ecs import settings as aws_settings
from deployer.plugins.aws_ecs.limits import CONTAINER_HEALTH_CHECK, clamp
from deployer.services import WorkerSpec

DATABASE_SECRET = "PGPASSWORD"
"""The variable the database's master secret fills (its key ``password``)."""
STOP_TIMEOUT = 30
"""Seconds ECS waits after SIGTERM before SIGKILL (``stopTimeout``; on Fargate at most 120:
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html).
The load balancer has stopped sending requests by then (deregistration comes first)."""
TMP_VOLUME = "tmp"
"""The task volume mounted writable at /tmp under the read-only root filesystem (Fargate
task storage: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-storage.html)."""
RELEASE_CONTAINER = "release"
"""The release command's container name, and its log stream prefix."""


def empty_secrets(ctx: PhaseContext) -> dict[str, str]:
    """The app's secrets whose value is empty (``allow_empty_secrets``), each an empty
    plain variable of the containers: a Secrets Manager ``SecretString`` holds 1 to 65,536
    bytes (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html),
    and an empty value has nothing to hide. Every other secret is stored (:mod:`.compute`)."""
    return {name: "" for name in ctx.app.secrets if ctx.secrets.get(name) == ""}


def container_definition(
    ctx: PhaseContext,
    *,
    image: str,
    log_group: str,
    region: str,
    secrets: dict[str, str],
    services_env: dict[str, str] | None = None,
) -> dict:
    """The app's one container, in ECS's container definition JSON; the health check
    clamped to what ECS accepts (:data:`.limits.CONTAINER_HEALTH_CHECK`)."""
    app, health = ctx.app, ctx.app.health
    timeout = clamp(health.timeout, CONTAINER_HEALTH_CHECK["timeout"])
    definition = {
        "name": app.name,
        "image": image,
        "essential": True,
        "portMappings": [{"containerPort": app.port, "protocol": "tcp"}],
        "environment": [
            {"name": k, "value": v}
            for k, v in sorted({**app.env, **empty_secrets(ctx), **(services_env or {}), "PORT": str(app.port)}.items())
        ],
        "secrets": [{"name": k, "valueFrom": ref} for k, ref in sorted(secrets.items())],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": log_group, "awslogs-region": region, "awslogs-stream-prefix": app.name},
        },
        "healthCheck": {
            "command": ["CMD-SHELL", probe_command(app.port, health.path, timeout)],
            "interval": clamp(health.interval, CONTAINER_HEALTH_CHECK["interval"]),
            "timeout": timeout,
            "retries": clamp(health.retries, CONTAINER_HEALTH_CHECK["retries"]),
            "startPeriod": clamp(health.start_period, CONTAINER_HEALTH_CHECK["start_period"]),
        },
        # hardening (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/security-tasks-containers.html):
        # nothing but /tmp is writable (unless ECS Exec is on: its SSM agent writes to the
        # container's filesystem, so ECS Exec does not support readonlyRootFilesystem,
        # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html); no Linux capability at all
        # (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_KernelCapabilities.html);
        # an init process reaps zombies and forwards signals
        # (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LinuxParameters.html)
        "readonlyRootFilesystem": not aws_settings.of(ctx).exec,
        "mountPoints": [{"sourceVolume": TMP_VOLUME, "containerPath": "/tmp", "readOnly": False}],
        "linuxParameters": {"capabilities": {"drop": ["ALL"]}, "initProcessEnabled": True},
        "stopTimeout": STOP_TIMEOUT,
    }
    if app.command:
        definition["command"] = list(app.command)
    return definition


def worker_family(ctx: PhaseContext, worker: WorkerSpec) -> str:
    """The task definition family of a worker."""
    return f"{ctx.app.name}-{ctx.stack}-worker-{worker.name}"


def worker_definition(ctx: PhaseContext, worker: WorkerSpec, **values) -> dict:
    """The app's container definition turned into the worker's: its command, no port, no
    HTTP health check, its own log stream prefix."""
    definition = container_definition(ctx, **values)
    definition.update(name=f"worker-{worker.name}", command=list(worker.command), portMappings=[])
    definition.pop("healthCheck", None)
    definition["logConfiguration"]["options"]["awslogs-stream-prefix"] = f"worker-{worker.name}"
    return definition


def release_family(ctx: PhaseContext) -> str:
    """The task definition family of the release command: its own, so that the driver can
    apply and run it before the web service's task definition changes."""
    return f"{ctx.app.name}-{ctx.stack}-release"


def release_definition(ctx: PhaseContext, **values) -> dict:
    """The app's container definition turned into the release command's: its command, no
    port, no HTTP health check, the ``release`` log stream prefix."""
    definition = container_definition(ctx, **values)
    definition.update(name=RELEASE_CONTAINER, command=list(ctx.app.release_command or ()), portMappings=[])
    definition.pop("healthCheck", None)
    definition["logConfiguration"]["options"]["awslogs-stream-prefix"] = RELEASE_CONTAINER
    return definition
