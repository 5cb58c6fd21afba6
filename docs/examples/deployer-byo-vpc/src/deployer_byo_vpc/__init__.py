"""deployer-byo-vpc: the aws-ecs target in a VPC you already have.

Replaces one phase of the built-in aws-ecs target, network, when
``DEPLOYER_BYO_VPC_ID`` and ``DEPLOYER_BYO_SUBNET_IDS`` are set (see
:mod:`deployer_byo_vpc.settings`). Unset, every hook returns None and aws-ecs creates
its own network: installing the plugin changes nothing until it is configured.
"""

from deployer import hookimpl

from deployer_byo_vpc import settings

TARGET = "aws-ecs"


@hookimpl(tryfirst=True)
def deployer_network(ctx):
    """The existing VPC and subnets plus the two security groups aws-ecs needs; None for
    other targets or when the plugin is not configured."""
    if ctx.target.name != TARGET:
        return None
    chosen = settings.from_environ()
    if chosen is None:
        return None
    from deployer_byo_vpc import network  # imports pulumi_aws: only when it is used

    return network.create(ctx, chosen)
