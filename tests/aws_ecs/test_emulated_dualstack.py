"""The dualstack network on the emulator: the VPC gets an Amazon-provided IPv6 /56 from
moto, each public subnet a /64 of it (the program cuts them from the mock block; the
emulator moves them into the real one), the public route table a ``::/0`` route to
the internet gateway, the load balancer's security group 80 (and 443) from ``::/0``,
and the load balancer is dualstack. Tasks stay IPv4: private subnets have no IPv6."""

from __future__ import annotations

import ipaddress

from deployer.lifecycle import phase_runner
from deployer.testing.aws_ecs.emulated_driver import EmulatedDriver

from .conftest import make_ctx
from .test_emulated import app, moto, pm, tagged  # noqa: F401  (module fixtures)


def test_the_load_balancer_is_dualstack_in_an_ipv6_vpc_and_tasks_stay_ipv4(moto, app, pm, tmp_path):  # noqa: F811
    ctx = make_ctx({"nat": True}, mode="up", project_dir=tmp_path, name=app)
    deployment = EmulatedDriver().up(ctx, phase_runner(pm))
    ec2, elbv2 = moto.client("ec2"), moto.client("elbv2")
    (vpc,) = ec2.describe_vpcs(Filters=tagged(app))["Vpcs"]
    (association,) = vpc["Ipv6CidrBlockAssociationSet"]
    block = ipaddress.IPv6Network(association["Ipv6CidrBlock"])
    assert block.prefixlen == 56
    subnets = ec2.describe_subnets(Filters=tagged(app))["Subnets"]
    public = {s["SubnetId"]: s for s in subnets if s.get("Ipv6CidrBlockAssociationSet")}
    private = [s for s in subnets if not s.get("Ipv6CidrBlockAssociationSet")]
    assert len(public) == 2 and len(private) == 2
    cut = [ipaddress.IPv6Network(s["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"]) for s in public.values()]
    assert all(c.prefixlen == 64 and c.subnet_of(block) for c in cut) and len(set(cut)) == 2
    (balancer,) = elbv2.describe_load_balancers(LoadBalancerArns=[deployment.outputs["load_balancer_arn"]])[
        "LoadBalancers"
    ]
    assert balancer["IpAddressType"] == "dualstack"
    assert {zone["SubnetId"] for zone in balancer["AvailabilityZones"]} == set(public)
    routes = [
        route
        for table in ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["RouteTables"]
        for route in table["Routes"]
        if route.get("DestinationIpv6CidrBlock") == "::/0"
    ]
    assert [route["GatewayId"].startswith("igw-") for route in routes] == [True]
    (group,) = ec2.describe_security_groups(GroupIds=balancer["SecurityGroups"])["SecurityGroups"]
    assert [(p["FromPort"], r["CidrIpv6"]) for p in group["IpPermissions"] for r in p.get("Ipv6Ranges", [])] == [
        (80, "::/0")
    ]
