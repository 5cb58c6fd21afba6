"""What AWS accepts from an app spec: the Fargate task sizes and the health check ranges.

Importable without pulumi: :func:`check_app` is the aws-ecs target's ``check_app`` (see
:class:`deployer.targets.TargetInfo`), run by the core before anything is built, also
for ``--target local`` when the config has a ``[targets.aws-ecs]`` table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deployer.errors import ConfigError, ConfigErrors
from deployer.models import AppSpec, Image
from deployer.plugins.aws_ecs.address_plan import check_capacity

FARGATE_MEMORY: Mapping[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}
"""Valid Fargate task sizes: cpu units to the memory sizes (MiB) allowed with them.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size"""

Range = tuple[int, int]

ALB_HEALTH_CHECK: Mapping[str, Range] = {"interval": (5, 300), "timeout": (2, 120), "threshold": (2, 10)}
"""What an ELBv2 target group health check accepts (seconds; threshold in checks)."""

CONTAINER_HEALTH_CHECK: Mapping[str, Range] = {
    "interval": (5, 300),
    "timeout": (2, 60),
    "retries": (1, 10),
    "start_period": (0, 300),
}
"""What an ECS container definition's ``healthCheck`` accepts (seconds; retries in checks)."""


CPU_ARCHITECTURES: Mapping[str, str] = {"amd64": "X86_64", "arm64": "ARM64"}
"""Docker's image architecture (``docker inspect``'s ``Architecture``) to the task
definition's ``runtimePlatform.cpuArchitecture``, the two Fargate runs on Linux:
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RuntimePlatform.html"""
DEFAULT_ARCHITECTURE = "X86_64"
"""ECS's own default, used only when the image's architecture is unknown (not built yet)."""


def cpu_architecture(configured: str | None, image: Image | None) -> str:
    """The task's CPU architecture: the image's, checked against the ``architecture`` key.

    :raises ConfigError: the key contradicts the image (Fargate would fail to start it,
        ``exec format error``), or the image is for a platform Fargate does not run.
    """
    built = image.architecture if image else ""
    if image and image.os and image.os != "linux":
        raise ConfigError("app.build", f"the image is built for {image.os}; aws-ecs runs Linux images", value=image.os)
    if built and built not in CPU_ARCHITECTURES:
        raise ConfigError(
            "app.build",
            f"the image is built for {built}; Fargate runs amd64 (X86_64) and arm64 (ARM64) images",
            value=built,
        )
    expected = CPU_ARCHITECTURES.get(built)
    if configured and expected and configured != expected:
        raise ConfigError(
            "targets.aws-ecs.architecture",
            f"is {configured} but the image the core built is {built} ({expected}): deployer builds for "
            f"the Docker engine's own platform, so remove the key to run the image as built, or build on "
            f"an engine that runs {'amd64' if configured == 'X86_64' else 'arm64'}",
            value=configured,
        )
    return configured or expected or DEFAULT_ARCHITECTURE


def clamp(value: int, limits: Range) -> int:
    """``value`` moved into ``limits`` (inclusive): specs built in code may exceed what
    AWS accepts; the config loader's own bounds are narrower or equal."""
    low, high = limits
    return min(max(value, low), high)


def check_app(app: AppSpec, settings: Any = None) -> None:
    """The aws-ecs target's app check: refuse a cpu/memory pair Fargate cannot run, the
    web service's and every worker's, and, given the ``settings``, a VPC too small for the
    tasks (the core adds the target's name to the error).

    :raises ConfigErrors: one per task size refused, naming ``app.cpu``/``app.memory``
        or ``workers.<name>.cpu``/``workers.<name>.memory``.
    :raises ConfigError: the VPC is too small (``targets.aws-ecs.vpc_cidr``).
    """
    errors = []
    for key, cpu, memory in [
        ("app", app.cpu, app.memory),
        *((f"workers.{w.name}", w.cpu, w.memory) for w in app.workers),
    ]:
        try:
            check_task_size(cpu, memory, table=key)
        except ConfigError as exc:
            errors.append(exc)
    if errors:
        raise ConfigErrors(errors)
    if settings is not None:
        check_capacity(app, settings)


def check_task_size(cpu: int, memory: int, *, table: str = "app") -> None:
    """Raise :class:`ConfigError` (naming ``<table>.cpu`` or ``<table>.memory``) unless
    ``cpu``/``memory`` is a valid Fargate task size."""
    if cpu not in FARGATE_MEMORY:
        raise ConfigError(
            f"{table}.cpu",
            f"must be one of {', '.join(map(str, FARGATE_MEMORY))} (cpu units; 1024 = 1 vCPU; the Fargate task sizes)",
            value=cpu,
        )
    allowed = FARGATE_MEMORY[cpu]
    if memory not in allowed:
        raise ConfigError(
            f"{table}.memory",
            f"with cpu = {cpu} must be one of {_describe(allowed)} (MiB; the Fargate cpu/memory table)",
            value=memory,
        )


def _describe(values: tuple[int, ...]) -> str:
    if len(values) <= 4:
        return ", ".join(map(str, values))
    return f"{values[0]} to {values[-1]} in steps of {values[1] - values[0]}"
