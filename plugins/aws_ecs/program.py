"""The Pulumi program both the real driver and the offline plan run: the four phases,
then the stack outputs ``status``, ``logs`` and the health wait read back; and the
names of the Pulumi project and stack it runs in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from deployer.errors import ConfigError, UsageError
from deployer.models import PhaseContext, PhaseResults
from deployer.plugins.aws_ecs import secrets_policy, task_size
from deployer.plugins.aws_ecs import settings as aws_settings
from deployer.plugins.aws_ecs.address_plan import check_database_stays
from deployer.plugins.aws_ecs.limits import cpu_architecture
from deployer.targets import RunPhases

STACK_TYPE = "pulumi:pulumi:Stack"
"""The type token of a Pulumi stack's own resource, the root of every other resource."""


def project_name(ctx: PhaseContext) -> str:
    """The Pulumi project of the app: one per app, its stacks named by ``--stack``."""
    return f"deployer-{ctx.app.name}"


SECRET_VALUE_MAX = 65536
"""The largest value, in bytes, a Secrets Manager secret holds (``SecretString``:
https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html)."""


def check(ctx: PhaseContext) -> None:
    """What the target refuses once the image and the secret values are known, before any
    resource is declared: an ``architecture`` key contradicting the built image
    (:func:`.limits.cpu_architecture`), a secret value Secrets Manager cannot hold, a task
    definition larger than ECS registers (:func:`.task_size.check`), more secrets than the
    execution role's policy can name (:func:`.secrets_policy.check`). Cheap
    (no pulumi_aws import) and repeatable: the driver calls it before it opens a stack,
    the program again (for drivers that do not)."""
    cpu_architecture(aws_settings.of(ctx).architecture, ctx.image)
    for index, name in enumerate(ctx.app.secrets):
        size = len(ctx.secrets.get(name, "").encode())
        if size > SECRET_VALUE_MAX:
            raise ConfigError(
                f"app.secrets[{index}]",
                f"the value of {name} is {size:,} bytes: a Secrets Manager secret holds at most "
                f"{SECRET_VALUE_MAX:,} (store a larger one elsewhere and pass its location)",
                value=name,
            )
    task_size.check(ctx)
    secrets_policy.check(ctx)


def note(ctx: PhaseContext) -> None:
    """Report what the user may want to change: a non-root image that would find /tmp not
    writable on Fargate."""
    image = ctx.image
    if image is not None and image.id and not image.runs_as_root and "/tmp" not in image.volumes:
        # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html
        ctx.report(
            f"note: on Fargate /tmp is a bind mount owned by root (mode 0755) unless the image "
            f'declares it: add VOLUME ["/tmp"] to the Dockerfile if the app (USER {image.user}) '
            f"writes temporary files; the root filesystem is read-only"
        )


DATABASE_SUBNET_BLOCKS = "database_subnet_blocks"
"""The output naming the blocks of the subnets deployer made for the database."""


def check_deployed(ctx: PhaseContext, outputs: Mapping[str, Any]) -> None:
    """What the deployed stack (its ``outputs``) cannot take, refused before any change: a
    move of its database's subnets (:func:`.address_plan.check_database_stays`)."""
    deployed = outputs.get(DATABASE_SUBNET_BLOCKS)
    check_database_stays(deployed, aws_settings.of(ctx), database=ctx.app.database is not None)


def run(
    ctx: PhaseContext, phases: RunPhases, *, omit: tuple[str, ...] = (), add: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Check the context (:func:`check`, :func:`note`), then run the phases inside the
    current Pulumi stack, export and return the outputs, less ``omit`` and plus ``add``
    (the release stage's, :mod:`.release_stage`)."""
    check(ctx)
    note(ctx)
    outputs = {k: v for k, v in exports(phases(ctx)).items() if k not in omit} | dict(add or {})
    for key, value in outputs.items():
        pulumi.export(key, value)
    return outputs


def deployed(ctx: PhaseContext, outputs: Mapping[str, Any]) -> dict[str, Any]:
    """The :func:`exports` of a deployed stack, read back (``logs``, ``run``, ``exec``);
    a :class:`UsageError` saying what to run when they hold no service (nothing deployed,
    or after ``down``)."""
    if "service" not in outputs:
        raise UsageError(f"aws-ecs: stack {ctx.stack!r} is not deployed: run `{ctx.command_line('up')}` first")
    return dict(outputs)


def exports(results: PhaseResults) -> dict[str, Any]:
    """The stack outputs (values may be Outputs). Keys a replaced phase did not provide
    are left out rather than exported as None."""
    compute, ingress, registry, network = results.compute, results.ingress, results.registry, results.network
    services = results.services
    values = {
        "endpoint": ingress.endpoint,
        "image_ref": registry.image_ref,
        "image_id": registry.image_id,
        "pushed_tag": registry.extra.get("pushed_tag"),
        "repository_url": registry.extra.get("repository_url"),
        "load_balancer_arn": ingress.extra.get("load_balancer_arn"),
        "target_group_arn": ingress.attach,
        "cluster": compute.extra.get("cluster"),
        "service": compute.service,
        "task_definition": compute.extra.get("task_definition"),
        "log_group": compute.extra.get("log_group"),
        "region": compute.extra.get("region"),
        "replicas": compute.replicas,
        # where one-off tasks run (deployer run, the release command): the service's subnets and group
        "task_subnets": list(network.extra.get("task_subnets", network.subnets)),
        "task_security_group": network.security_groups.get("compute"),
        "assign_public_ip": network.extra.get("assign_public_ip", True),
        "release_task_definition": compute.extra.get("release_task_definition"),
        "database": services.extra.get("instance") if services is not None else None,
        # checked by the next up (address_plan.check_database_stays): they must not move
        DATABASE_SUBNET_BLOCKS: list(services.extra.get("subnet_blocks") or ()) or None if services else None,
        "workers": compute.extra.get("workers") or None,
    }
    return {key: value for key, value in values.items() if value is not None}
