"""The replacement network phase: security groups in an existing VPC, nothing else.

The VPC, subnets, internet gateway and routes are the user's; this phase declares only
what the later aws-ecs phases need in them: the load balancer and task security groups,
created by the built-in :func:`deployer.plugins.aws_ecs.network.security_groups`, so
their rules are exactly the built-in ones.
"""

from __future__ import annotations

from deployer.errors import ConfigError
from deployer.models import NetworkResult, PhaseContext
from deployer.plugins.aws_ecs import network
from deployer.plugins.aws_ecs import settings as aws_settings

from deployer_byo_vpc.settings import VPC_ID, ExistingNetwork


def create(ctx: PhaseContext, existing: ExistingNetwork) -> NetworkResult:
    """A :class:`NetworkResult` shaped like the built-in one: the load balancer and the
    tasks use the given subnets, and tasks get a public IP so they can pull the image."""
    cfg = aws_settings.of(ctx)
    if cfg.nat:
        raise ConfigError(
            f"targets.{ctx.target.name}.nat", f"cannot be used with {VPC_ID}: tasks run in the given public subnets"
        )
    alb_sg, task_sg = network.security_groups(ctx, existing.vpc_id, https=cfg.https)
    return NetworkResult(
        id=existing.vpc_id,
        subnets=existing.subnet_ids,
        security_groups={"ingress": alb_sg.id, "compute": task_sg.id},
        extra={
            "task_subnets": existing.subnet_ids,
            "assign_public_ip": True,
            **({"database_subnets": existing.database_subnet_ids} if existing.database_subnet_ids else {}),
        },
    )
