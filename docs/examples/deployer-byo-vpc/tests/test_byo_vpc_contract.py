"""The contract kit on aws-ecs with the plugin configured: whole deployments into an
existing VPC, by the real aws-ecs program applied to an emulated AWS (moto)."""

from __future__ import annotations

import contextlib
import os

import boto3
import pytest
from deployer.testing.aws_ecs import AwsEcsContract

import deployer_byo_vpc
from deployer_byo_vpc.settings import DB_SUBNET_IDS, SUBNET_IDS, VPC_ID

pytestmark = pytest.mark.docker  # the core builds the kit's sample app image


class TestByoVpcContract(AwsEcsContract):
    """The plugin comes from its entry point, as for users: install the package first
    (``pip install -e .``). Naming it in ``plugins`` as well would register it twice."""

    @contextlib.contextmanager
    def environment(self):
        """The kit's emulated AWS; in it, before the run, a VPC with two public and two
        private subnets in distinct zones made outside deployer, and the plugin configured
        to use them (the private ones for the kit's database)."""
        with super().environment(), pytest.MonkeyPatch.context() as patch:
            ec2 = boto3.client("ec2", region_name=self.region)
            vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
            ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # as ECS tasks expect
            subnets, private = (
                [
                    ec2.create_subnet(
                        VpcId=vpc, CidrBlock=f"10.9.{first + index}.0/24", AvailabilityZone=f"{self.region}{zone}"
                    )["Subnet"]["SubnetId"]
                    for index, zone in enumerate("ab")
                ]
                for first in (0, 10)
            )
            patch.setenv(VPC_ID, vpc)
            patch.setenv(SUBNET_IDS, ",".join(subnets))
            patch.setenv(DB_SUBNET_IDS, ",".join(private))
            yield

    def test_the_installed_plugin_is_the_one_under_test(self, run):
        assert run.pm.get_plugin("byo-vpc") is deployer_byo_vpc

    def test_the_app_runs_in_the_existing_vpc_and_subnets(self, run):
        vpc, subnets = os.environ[VPC_ID], sorted(os.environ[SUBNET_IDS].split(","))
        outputs = run.ensure_up().outputs
        (balancer,) = boto3.client("elbv2").describe_load_balancers(LoadBalancerArns=[outputs["load_balancer_arn"]])[
            "LoadBalancers"
        ]
        assert balancer["VpcId"] == vpc
        assert sorted(zone["SubnetId"] for zone in balancer["AvailabilityZones"]) == subnets
        (service,) = boto3.client("ecs").describe_services(cluster=outputs["cluster"], services=[outputs["service"]])[
            "services"
        ]
        assert sorted(service["networkConfiguration"]["awsvpcConfiguration"]["subnets"]) == subnets
        vpcs = boto3.client("ec2").describe_vpcs()["Vpcs"]
        assert [v["VpcId"] for v in vpcs if not v["IsDefault"]] == [vpc], "no VPC of deployer's own"
