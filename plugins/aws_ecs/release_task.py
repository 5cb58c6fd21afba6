"""The release command's task definition: the app's container, running ``app.release_command``.

Declared by the compute phase when the app has a release command: a FARGATE / awsvpc task
definition of its own family (``<app>-<stack>-release``) with the web container's image,
env, secrets, database and size (:func:`.containers.release_definition`), the release
command as its command, no port and no HTTP health check (nothing serves), and its own
log stream prefix (``release``). It is a family of its own so that the driver can apply it,
and run it, before the web service's task definition changes (see
``docs/targets/aws-ecs.md``, "The release command"): replacing the web task definition
would deregister the revision the service still runs.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from deployer.models import ComputeResult, PhaseContext, RegistryResult
from deployer.plugins.aws_ecs import settings as aws_settings
from deployer.plugins.aws_ecs.compute import sibling_task_definition
from deployer.plugins.aws_ecs.containers import release_definition, release_family
from deployer.plugins.aws_ecs.limits import cpu_architecture


def resource_name(app: str) -> str:
    """The Pulumi name of the release task definition."""
    return f"{app}-release-task"


def create(ctx: PhaseContext, registry: RegistryResult, compute: ComputeResult) -> aws.ecs.TaskDefinition | None:
    """The release task definition; None when the app has no release command."""
    if not ctx.app.release_command:
        return None
    return sibling_task_definition(
        ctx,
        registry,
        compute,
        resource_name(ctx.app.name),
        family=release_family(ctx),
        cpu=ctx.app.cpu,
        memory=ctx.app.memory,
        architecture=cpu_architecture(aws_settings.of(ctx).architecture, ctx.image),
        definition=lambda **values: release_definition(ctx, **values),
        opts=pulumi.ResourceOptions(depends_on=list(compute.extra.get("execution_grants", ()))),
    )
