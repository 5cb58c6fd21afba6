"""The offline plan with the plugin installed: ``deployer plan --target aws-ecs --offline``.

Configured, the plan creates no VPC, subnet, gateway or route and puts the security
groups, the load balancer and the service in the given VPC and subnets. Not configured,
the plan is the built-in one. Bad values fail with an error naming the variable.
"""

from __future__ import annotations

import json

import pytest
from deployer.cli import app
from deployer.models import PHASES, AppSpec, BuildSpec, PhaseContext, TargetConfig
from typer.testing import CliRunner

import deployer_byo_vpc
from deployer_byo_vpc.settings import DB_SUBNET_IDS, SUBNET_IDS, VPC_ID

VPC = "vpc-0a1b2c3d4e5f67890"
SUBNETS = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
CONFIGURED = {VPC_ID: VPC, SUBNET_IDS: ",".join(SUBNETS)}
DB_SUBNETS = ["subnet-0a1b2c3d4e5f60003", "subnet-0a1b2c3d4e5f60004"]
DATABASE = {"database": {"engine": "postgres"}}
NETWORK_TYPES = {
    "aws:ec2/vpc:Vpc",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/eip:Eip",
    "aws:ec2/routeTable:RouteTable",
    "aws:ec2/route:Route",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
}
RULE_TYPES = {
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
}


@pytest.fixture
def plan(deployer_plugin_manager, deployer_project, hook_recorder, monkeypatch):
    """``plan(environ, **aws_ecs_settings)``: run the CLI's offline plan with the built-in
    targets, this plugin and the kit's recorder; return ``(exit code, the JSON document)``."""
    deployer_plugin_manager(("byo-vpc", deployer_byo_vpc), ("recorder", hook_recorder), builtins=True)

    def run(environ, tables=None, **settings):
        config = deployer_project(app={"name": "web"}, targets={"aws-ecs": settings}, tables=tables or {})
        for name in (VPC_ID, SUBNET_IDS, DB_SUBNET_IDS):
            monkeypatch.delenv(name, raising=False)
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        result = CliRunner().invoke(
            app, ["plan", "--target", "aws-ecs", "--offline", "--json", "--config", str(config)]
        )
        return result.exit_code, json.loads(result.stdout)

    return run


def resources(document, type_token):
    return [r for r in document["resources"] if r["type"] == type_token]


def test_configured_plan_creates_no_network_and_uses_the_given_vpc_and_subnets(plan, hook_recorder):
    code, document = plan(CONFIGURED)
    assert code == 0, document
    assert hook_recorder.phases("plan") == list(PHASES)
    assert not {r["type"] for r in document["resources"]} & NETWORK_TYPES
    groups = resources(document, "aws:ec2/securityGroup:SecurityGroup")
    assert sorted(g["name"] for g in groups) == ["web-alb-sg", "web-task-sg"]
    assert {g["inputs"]["vpcId"] for g in groups} == {VPC}
    (balancer,) = resources(document, "aws:lb/loadBalancer:LoadBalancer")
    assert balancer["inputs"]["subnets"] == SUBNETS
    assert balancer["inputs"]["securityGroups"] == ["web-alb-sg-id"]
    (service,) = resources(document, "aws:ecs/service:Service")
    assert service["inputs"]["networkConfiguration"] == {
        "subnets": SUBNETS,
        "securityGroups": ["web-task-sg-id"],
        "assignPublicIp": True,
    }
    (target_group,) = resources(document, "aws:lb/targetGroup:TargetGroup")
    assert target_group["inputs"]["vpcId"] == VPC


def test_security_group_rules_are_the_built_in_ones(plan):
    rules = {}
    for environ in (CONFIGURED, {}):
        code, document = plan(
            environ,
            certificate_arn=("arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"),
        )
        assert code == 0, document
        rules[bool(environ)] = [(r["name"], r["inputs"]) for r in document["resources"] if r["type"] in RULE_TYPES]
    ipv4 = [(name, inputs) for name, inputs in rules[False] if "cidrIpv6" not in inputs]
    assert len(rules[True]) == 5 and rules[True] == ipv4  # your VPC may have no IPv6: no IPv6 rules


def test_a_domain_gets_an_ipv4_load_balancer_and_an_a_record_only(plan):
    """The built-in network is dualstack, yours is taken as IPv4 only: the load balancer
    stays ipv4 and the domain gets no AAAA record (it would answer nothing)."""
    code, document = plan(CONFIGURED, domain="www.example.com")
    assert code == 0, document
    (balancer,) = resources(document, "aws:lb/loadBalancer:LoadBalancer")
    assert balancer["inputs"]["ipAddressType"] == "ipv4"
    records = resources(document, "aws:route53/record:Record")
    assert sorted(r["inputs"]["type"] for r in records) == ["A", "CNAME"]


def test_not_configured_the_built_in_network_is_planned(plan):
    code, document = plan({})
    assert code == 0, document
    (vpc,) = resources(document, "aws:ec2/vpc:Vpc")
    assert len(resources(document, "aws:ec2/subnet:Subnet")) == 2
    (balancer,) = resources(document, "aws:lb/loadBalancer:LoadBalancer")
    assert balancer["inputs"]["subnets"] == ["web-public-0-id", "web-public-1-id"]
    assert {g["inputs"]["vpcId"] for g in resources(document, "aws:ec2/securityGroup:SecurityGroup")} == {vpc["id"]}


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({SUBNET_IDS: ",".join(SUBNETS)}, VPC_ID),
        ({**CONFIGURED, VPC_ID: "vpc-mine"}, VPC_ID),
        ({VPC_ID: VPC}, SUBNET_IDS),
        ({**CONFIGURED, SUBNET_IDS: SUBNETS[0]}, SUBNET_IDS),
        ({**CONFIGURED, SUBNET_IDS: f"{SUBNETS[0]},{SUBNETS[0]}"}, SUBNET_IDS),
        ({**CONFIGURED, SUBNET_IDS: f"{SUBNETS[0]},sg-0a1b2c3d"}, SUBNET_IDS),
        ({**CONFIGURED, SUBNET_IDS: f"{SUBNETS[0]},,{SUBNETS[1]}"}, SUBNET_IDS),
        ({**CONFIGURED, DB_SUBNET_IDS: DB_SUBNETS[0]}, DB_SUBNET_IDS),
    ],
)
def test_bad_values_fail_naming_the_variable(plan, environ, named):
    code, document = plan(environ)
    assert code == 2
    assert document["error"].startswith(f"{named}: "), document["error"]


def test_the_database_goes_into_the_given_private_subnets(plan):
    code, document = plan({**CONFIGURED, DB_SUBNET_IDS: ",".join(DB_SUBNETS)}, tables=DATABASE)
    assert code == 0, document
    assert not resources(document, "aws:ec2/subnet:Subnet")  # none carved from a range that is not the VPC's
    (group,) = resources(document, "aws:rds/subnetGroup:SubnetGroup")
    assert group["inputs"]["subnetIds"] == DB_SUBNETS
    (database,) = resources(document, "aws:rds/instance:Instance")
    assert database["inputs"]["publiclyAccessible"] is False


def test_a_database_without_private_subnets_is_refused_naming_what_is_missing(plan):
    code, document = plan(CONFIGURED, tables=DATABASE)
    assert code == 2
    assert "deployer.toml: database: needs private subnets" in document["error"], document["error"]


def test_nat_cannot_be_combined_with_an_existing_vpc(plan):
    code, document = plan(CONFIGURED, nat=True)
    assert code == 2
    assert "deployer.toml: targets.aws-ecs.nat: " in document["error"], document["error"]


def test_other_targets_are_never_touched(monkeypatch):
    for name, value in CONFIGURED.items():
        monkeypatch.setenv(name, value)
    ctx = PhaseContext(
        app=AppSpec(name="web", build=BuildSpec(context=".")),
        target=TargetConfig("local"),
        stack="dev",
        project_dir=".",
    )
    assert deployer_byo_vpc.deployer_network(ctx) is None
