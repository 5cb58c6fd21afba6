"""The size of the task definitions aws-ecs registers, refused before anything is created.

ECS registers a task definition of at most 64 KiB ("Task definition size", 64 KiB:
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html; a larger
one is answered "Max allowed length is '65536' bytes"), and only says so when ``up``
registers it: after the network, the image push and the load balancer. :func:`check`
measures each task definition the compute phase would register (the web service's, each
worker's, the release command's) before the stack is opened: the request body of
``RegisterTaskDefinition`` as compact JSON in UTF-8, with the same container definitions
(:mod:`.containers`) and, for what only AWS gives (the account, ARNs, the image digest,
the log group's suffix, the database's address), values as long as AWS makes them.
:data:`MARGIN` bytes of the limit are kept for what this cannot see: the provider's own
JSON encoding (its escapes) and fields it adds.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from deployer.errors import ConfigError, ConfigErrors
from deployer.models import PhaseContext
from deployer.plugins.aws_ecs import releases
from deployer.plugins.aws_ecs import settings as aws_settings
from deployer.plugins.aws_ecs.containers import (
    DATABASE_SECRET,
    TMP_VOLUME,
    container_definition,
    empty_secrets,
    release_definition,
    release_family,
    worker_definition,
    worker_family,
)
from deployer.plugins.aws_ecs.limits import cpu_architecture
from deployer.plugins.aws_ecs.naming import secret_label

TASK_DEFINITION_MAX = 65536
"""Bytes: the largest task definition ECS registers (64 KiB)."""
MARGIN = 1024
"""Bytes of :data:`TASK_DEFINITION_MAX` kept for what the measure cannot see (see the module)."""
QUOTAS = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html"

_ACCOUNT = "0" * 12
_PARTITION = "aws-us-gov"  # the longest partition name in ARNs
_REGION = "x" * 16  # a region not known yet: longer than any (ap-southeast-5 has 14)
_DNS = "amazonaws.com.cn"  # the longer DNS suffix
_UNIQUE = "0" * 26  # the provider's name_prefix suffix
_VERSION = "0" * 36  # a Secrets Manager version ID (a UUID)
_ADDRESS = 63 + 1 + 12 + 1 + 16 + 5 + len(_DNS)  # <instance id>.<12>.<region>.rds.<dns>
_DATABASE = {"DATABASE_URL": 17 + _ADDRESS + 6 + 63, "PGHOST": _ADDRESS, "PGPORT": 5, "PGDATABASE": 63, "PGUSER": 63}
"""The longest value of each database variable (the password is a secret, ``PGPASSWORD``)."""


_HINTS = {
    "env": "keep large values in the image or in a file the app reads, not in the environment",
    "secrets": "fewer secrets: one secret may hold several values (JSON) that the app splits",
    "command": "put a long command in a script in the image",
}
"""What to do about the key that takes the most room (by its last part)."""


def check(ctx: PhaseContext) -> None:
    """Refuse the app when a task definition it needs would exceed what ECS registers.

    :raises ConfigErrors: one per key that makes one or more too large (the largest part
        the config controls: ``app.env``, ``app.secrets``, ``app.command``,
        ``app.release_command`` or ``workers.<name>.command``), naming each task
        definition, its measured size and the limit.
    """
    too_big: dict[str, list[str]] = {}
    for label, body, parts in registrations(ctx):
        measured = size(body)
        if measured > TASK_DEFINITION_MAX - MARGIN:
            key, part = max(parts.items(), key=lambda item: item[1])
            too_big.setdefault(key, []).append(f"{label} ({measured:,} bytes, {part:,} of them from {key})")
    if too_big:
        raise ConfigErrors(
            ConfigError(
                key,
                f"makes the task definition{'s' if len(tasks) > 1 else ''} of {', '.join(tasks)} larger than "
                f"ECS registers: at most "
                f"{TASK_DEFINITION_MAX:,} bytes ({QUOTAS}), of which deployer keeps {MARGIN:,} as a margin; "
                f"{_HINTS.get(key.split('.')[-1], _HINTS['command'])}",
            )
            for key, tasks in too_big.items()
        )


def registrations(ctx: PhaseContext) -> list[tuple[str, dict, dict[str, int]]]:
    """(label, ``RegisterTaskDefinition`` body, bytes per config key) of each task
    definition the compute phase registers."""
    app = ctx.app
    values = _longest_values(ctx)
    architecture = cpu_architecture(aws_settings.of(ctx).architecture, ctx.image)
    web = container_definition(ctx, **values)
    shared = {"app.env": _entries(web, app.env), "app.secrets": _entries(web, app.secrets)}
    tasks = [("the web service", releases.family(ctx), app.cpu, app.memory, web, "app.command", app.command)]
    tasks += [
        (
            f"worker {worker.name}",
            worker_family(ctx, worker),
            worker.cpu,
            worker.memory,
            worker_definition(ctx, worker, **values),
            f"workers.{worker.name}.command",
            worker.command,
        )
        for worker in app.workers
    ]
    if app.release_command:
        release = release_definition(ctx, **values)
        tasks.append(
            (
                "the release command",
                release_family(ctx),
                app.cpu,
                app.memory,
                release,
                "app.release_command",
                app.release_command,
            )
        )
    return [
        (label, _body(ctx, family, cpu, memory, architecture, definition), {**shared, key: size(list(command or ()))})
        for label, family, cpu, memory, definition, key, command in tasks
    ]


def _longest_values(ctx: PhaseContext) -> dict[str, Any]:
    """:func:`.containers.container_definition`'s keywords, each value as long as AWS
    makes it (the configured region when there is one)."""
    app, stack = ctx.app.name, ctx.stack
    region = _region(ctx)
    arns = longest_secret_arns(ctx)
    secrets = {name: f"{arn}:::{_VERSION}" for name, arn in arns.items() if name != DATABASE_SECRET}
    services_env: dict[str, str] = {}
    if DATABASE_SECRET in arns:
        secrets[DATABASE_SECRET] = f"{arns[DATABASE_SECRET]}:password::"
        services_env = {name: "x" * length for name, length in _DATABASE.items()}
    return {
        "image": f"{_ACCOUNT}.dkr.ecr.{region}.{_DNS}/{app}-repo-xxxxxxx@sha256:{'0' * 64}",
        "log_group": f"/deployer/{app}/{stack}/{_UNIQUE}",
        "region": region,
        "secrets": secrets,
        "services_env": services_env,
    }


def longest_secret_arns(ctx: PhaseContext) -> dict[str, str]:
    """The ARN of each secret the task reads, by variable (the database's as
    :data:`DATABASE_SECRET`), as long as AWS makes it: the app's secrets' autonames with
    Pulumi's and Secrets Manager's suffixes, RDS's ``rds!db-<UUID>-xxxxxx``."""
    arn = f"arn:{_PARTITION}:secretsmanager:{_region(ctx)}:{_ACCOUNT}:secret:"
    found = {
        name: f"{arn}{secret_label(ctx.app.name, name)}-xxxxxxx-xxxxxx"
        for name in ctx.app.secrets
        if name not in empty_secrets(ctx)
    }
    if ctx.app.database is not None:
        found[DATABASE_SECRET] = f"{arn}rds!db-{_VERSION}-xxxxxx"
    return found


def _region(ctx: PhaseContext) -> str:
    """The configured region, else one longer than any."""
    return aws_settings.of(ctx).region or _REGION


def _body(ctx: PhaseContext, family: str, cpu: int, memory: int, architecture: str, definition: dict) -> dict:
    """The ``RegisterTaskDefinition`` request of one task definition, as
    :func:`.compute.fargate_task_definition` declares it (with the provider's default tags)."""
    role = f"arn:{_PARTITION}:iam::{_ACCOUNT}:role/{ctx.app.name}-execution-role-xxxxxxx"
    return {
        "family": family,
        "taskRoleArn": role,
        "executionRoleArn": role,
        "networkMode": "awsvpc",
        "containerDefinitions": [definition],
        "volumes": [{"name": TMP_VOLUME}],
        "requiresCompatibilities": ["FARGATE"],
        "cpu": str(cpu),
        "memory": str(memory),
        "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": architecture},
        "tags": [{"key": "deployer-app", "value": ctx.app.name}, {"key": "deployer-stack", "value": ctx.stack}],
    }


def _entries(definition: Mapping[str, Any], names: Collection[str]) -> int:
    """Bytes of the container's environment and secrets entries named in ``names``."""
    entries = [e for e in (*definition["environment"], *definition["secrets"]) if e["name"] in names]
    return sum(size(entry) + 1 for entry in entries)


def size(value: Any) -> int:
    """Bytes of ``value`` as compact JSON in UTF-8, as a request body carries it."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
