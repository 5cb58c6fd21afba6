"""Phase 1, network: a VPC with public subnets in distinct, pinned availability zones.

Creates: a dualstack VPC (its IPv4 ``vpc_cidr`` and an Amazon-provided IPv6 /56); one
public subnet per AZ (``az_count`` AZs, pinned by name from ``aws.get_availability_zones``),
each with its IPv4 block (:mod:`.address_plan`) and an IPv6 /64 of the VPC's /56; internet gateway; a public
route table with IPv4 and IPv6 default routes to it and an explicit association per
subnet; two security groups with explicit rules:

- ``ingress`` (the ALB): 80 (and 443 with a certificate) from anywhere, over IPv4 and
  IPv6; egress only to the task security group on the app port;
- ``compute`` (the tasks): the app port from the ALB security group only; egress 443 to
  anywhere (ECR pulls, CloudWatch Logs, Secrets Manager).

With ``nat = true`` tasks get private subnets instead of a public IP, routed through one
NAT gateway (in the first public subnet) or, with ``nat_per_az``, through a NAT gateway in
their own AZ, so that one AZ's outage does not cut the others off.

IPv6 is for the load balancer only (``extra["dualstack"]``: its subnets, routes and
security group take IPv6, so ingress makes it dualstack and adds an AAAA record for a
``domain``). Tasks stay IPv4: no subnet assigns IPv6 addresses on launch, private subnets
have no IPv6 block, and no egress-only internet gateway is needed for traffic that
arrives through the load balancer. A dualstack ALB needs exactly this: IPv6 blocks on
the VPC and its subnets, IPv6 routes and security group rules
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-ip-address-type.html).

Every resource is a pulumi-aws generated class: ``ec2.Vpc`` ... ``ec2.SecurityGroup``, and
the rules ``vpc.SecurityGroupIngressRule``/``SecurityGroupEgressRule``. The rules are
imported from their own modules: they are all this target uses of ``pulumi_aws.vpc``, whose
package would load its 15 modules. ``pulumi_aws.ec2`` is loaded whole anyway (the route
table's, NAT gateway's and security group's modules import the package's ``outputs``).
"""

from __future__ import annotations

import ipaddress

import pulumi
import pulumi_aws as aws
from pulumi_aws.vpc.security_group_egress_rule import SecurityGroupEgressRule
from pulumi_aws.vpc.security_group_ingress_rule import SecurityGroupIngressRule

from deployer.errors import ConfigError
from deployer.models import NetworkResult, PhaseContext
from deployer.plugins.aws_ecs import address_plan
from deployer.plugins.aws_ecs import settings as aws_settings

ANYWHERE = "0.0.0.0/0"
ANYWHERE_V6 = "::/0"


def create(ctx: PhaseContext) -> NetworkResult:
    """Create the network; ``extra`` holds ``task_subnets`` and ``assign_public_ip``."""
    cfg = aws_settings.of(ctx)
    app = ctx.app.name
    zones = pinned_zones(cfg.az_count)
    blocks = address_plan.plan(cfg.vpc_cidr, cfg.az_count, nat=cfg.nat, database=ctx.app.database is not None)

    vpc = aws.ec2.Vpc(
        f"{app}-vpc",
        cidr_block=cfg.vpc_cidr,
        assign_generated_ipv6_cidr_block=True,  # an Amazon-provided /56
        enable_dns_support=True,
        enable_dns_hostnames=True,
        tags={"Name": f"{app}-{ctx.stack}"},
    )
    gateway = aws.ec2.InternetGateway(f"{app}-igw", vpc_id=vpc.id)
    public_table = aws.ec2.RouteTable(f"{app}-public-rt", vpc_id=vpc.id)
    aws.ec2.Route(
        f"{app}-public-default", route_table_id=public_table.id, destination_cidr_block=ANYWHERE, gateway_id=gateway.id
    )
    aws.ec2.Route(
        f"{app}-public-default-ipv6",
        route_table_id=public_table.id,
        destination_ipv6_cidr_block=ANYWHERE_V6,
        gateway_id=gateway.id,
    )
    public = subnets(
        app, "public", vpc.id, zones, blocks.public, [public_table] * cfg.az_count, ipv6=vpc.ipv6_cidr_block
    )

    task_subnets = public
    if cfg.nat:
        if cfg.nat_per_az:
            tables = [_nat_route_table(app, f"-{index}", vpc, home, gateway) for index, home in enumerate(public)]
        else:
            tables = [_nat_route_table(app, "", vpc, public[0], gateway)] * cfg.az_count
        task_subnets = subnets(app, "private", vpc.id, zones, blocks.private, tables)

    alb_sg, task_sg = security_groups(ctx, vpc.id, https=cfg.https, ipv6=True)
    return NetworkResult(
        id=vpc.id,
        subnets=tuple(s.id for s in public),
        security_groups={"ingress": alb_sg.id, "compute": task_sg.id},
        extra={
            "task_subnets": tuple(s.id for s in task_subnets),
            "assign_public_ip": not cfg.nat,
            "availability_zones": zones,
            "vpc_cidr": cfg.vpc_cidr,
            "dualstack": True,
        },
    )


def pinned_zones(count: int) -> tuple[str, ...]:
    """The first ``count`` available AZs of the region that need no opt-in (no Local Zones)."""
    found = aws.get_availability_zones(
        state="available",
        filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
    ).names
    if len(found) < count:
        raise ConfigError(
            "targets.aws-ecs.az_count", f"the region has only {len(found)} availability zones", value=count
        )
    return tuple(sorted(found)[:count])


def ipv6_subnet_block(vpc_block: str, index: int) -> str:
    """The ``index``-th /64 of the VPC's IPv6 block (AWS gives subnets a /64:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-subnetcidrblock.html)."""
    network = ipaddress.IPv6Network(vpc_block)
    return str(ipaddress.IPv6Network((int(network.network_address) + (index << 64), 64)))


def subnets(app, kind, vpc_id, zones, blocks, tables, *, ipv6=None):
    """One subnet ``<app>-<kind>-<n>`` per zone, each explicitly associated with its route
    table in ``tables``; with ``ipv6`` (the VPC's IPv6 block) each also gets a /64 of it
    (but assigns no IPv6 address on launch: only the load balancer uses IPv6)."""
    made = []
    for index, (zone, block, table) in enumerate(zip(zones, blocks, tables, strict=True)):
        dualstack = (
            {"ipv6_cidr_block": ipv6.apply(lambda v6, i=index: ipv6_subnet_block(v6, i))} if ipv6 is not None else {}
        )
        subnet = aws.ec2.Subnet(
            f"{app}-{kind}-{index}",
            vpc_id=vpc_id,
            cidr_block=block,
            availability_zone=zone,
            map_public_ip_on_launch=False,
            tags={"Name": f"{app}-{kind}-{zone}"},
            **dualstack,
        )
        aws.ec2.RouteTableAssociation(f"{app}-{kind}-{index}-route", subnet_id=subnet.id, route_table_id=table.id)
        made.append(subnet)
    return made


def _nat_route_table(app, suffix, vpc, home, gateway):
    """A NAT gateway (with its Elastic IP) in the public subnet ``home`` and a private route
    table whose default route goes through it."""
    address = aws.ec2.Eip(f"{app}-nat{suffix}-ip", domain="vpc", opts=pulumi.ResourceOptions(depends_on=[gateway]))
    nat = aws.ec2.NatGateway(
        f"{app}-nat{suffix}",
        allocation_id=address.id,
        subnet_id=home.id,
        opts=pulumi.ResourceOptions(depends_on=[gateway]),
    )
    table = aws.ec2.RouteTable(f"{app}-private{suffix}-rt", vpc_id=vpc.id)
    aws.ec2.Route(
        f"{app}-private{suffix}-default",
        route_table_id=table.id,
        destination_cidr_block=ANYWHERE,
        nat_gateway_id=nat.id,
    )
    return table


def security_groups(
    ctx: PhaseContext, vpc_id: pulumi.Input[str], *, https: bool, ipv6: bool = False
) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
    """The ALB and task security groups in ``vpc_id``, with the rules in the module
    docstring (the ALB's listener ports also from ``::/0`` with ``ipv6``); returns
    ``(alb_sg, task_sg)``. Public so a plugin that brings its own VPC can create exactly
    the groups the later phases expect."""
    app, port = ctx.app.name, ctx.app.port
    alb_sg = aws.ec2.SecurityGroup(
        f"{app}-alb-sg", vpc_id=vpc_id, description=f"{app} load balancer: HTTP(S) from the internet"
    )
    task_sg = aws.ec2.SecurityGroup(
        f"{app}-task-sg", vpc_id=vpc_id, description=f"{app} tasks: app port from the load balancer only"
    )
    families = [("", {"cidr_ipv4": ANYWHERE}, "")]  # (name suffix, source, description suffix)
    if ipv6:
        families.append(("-ipv6", {"cidr_ipv6": ANYWHERE_V6}, " over IPv6"))
    for listen in (80, 443) if https else (80,):
        for suffix, source, over in families:
            SecurityGroupIngressRule(
                f"{app}-alb-in-{listen}{suffix}",
                security_group_id=alb_sg.id,
                ip_protocol="tcp",
                from_port=listen,
                to_port=listen,
                description=f"port {listen} from the internet{over}",
                **source,
            )
    SecurityGroupEgressRule(
        f"{app}-alb-out-tasks",
        security_group_id=alb_sg.id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        referenced_security_group_id=task_sg.id,
        description="to the tasks on the app port",
    )
    SecurityGroupIngressRule(
        f"{app}-task-in-alb",
        security_group_id=task_sg.id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        referenced_security_group_id=alb_sg.id,
        description="app port from the load balancer",
    )
    SecurityGroupEgressRule(
        f"{app}-task-out-https",
        security_group_id=task_sg.id,
        ip_protocol="tcp",
        from_port=443,
        to_port=443,
        cidr_ipv4=ANYWHERE,
        description="HTTPS out: ECR, CloudWatch Logs, Secrets Manager",
    )
    return alb_sg, task_sg
