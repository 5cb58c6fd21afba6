"""Every AWS name the aws-ecs program asks for fits AWS's documented limits.

A name is either explicit (the ``name`` input), a prefix the provider completes
(``namePrefix`` + 26 characters, Terraform's unique id), or Pulumi's autoname (the
logical name + ``-`` + 7 random characters). The table below states each limit and
where AWS documents it; the rule applies it to every resource of an offline plan of the
longest app name the config allows.
"""

from __future__ import annotations

import re

import pytest

from deployer.models import Replicas
from tests.aws_ecs.conftest import ALB_CERT, Graph, make_ctx, offline_plan

AUTONAME_SUFFIX = 8
"""Pulumi's autonaming: ``<logical name>-<7 random characters>``."""
PREFIX_SUFFIX = 26
"""pulumi-aws ``name_prefix``: the provider appends a 26-character unique id."""

_ELB = r"(?!internal-)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"

LIMITS: dict[str, tuple[int, str]] = {
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html
    # (Name: "a maximum of 32 characters, must contain only alphanumeric characters or
    # hyphens, must not begin or end with a hyphen, and must not begin with "internal-"")
    "aws:lb/loadBalancer:LoadBalancer": (32, _ELB),
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html
    # (Name: "a maximum of 32 characters ... alphanumeric characters or hyphens, and must
    # not begin or end with a hyphen")
    "aws:lb/targetGroup:TargetGroup": (32, r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"),
    # https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html (RoleName: 1-64,
    # [\w+=,.@-]+)
    "aws:iam/role:Role": (64, r"[\w+=,.@-]+"),
    # https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePolicy.html (PolicyName: 1-128)
    "aws:iam/rolePolicy:RolePolicy": (128, r"[\w+=,.@-]+"),
    # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateCluster.html
    # (clusterName: "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens")
    "aws:ecs/cluster:Cluster": (255, r"[A-Za-z0-9_-]+"),
    # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html (serviceName: same)
    "aws:ecs/service:Service": (255, r"[A-Za-z0-9_-]+"),
    # https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html
    # (Name: 1-512, "uppercase and lowercase letters, numbers, and the characters /_+=.@-")
    "aws:secretsmanager/secret:Secret": (512, r"[A-Za-z0-9/_+=.@-]+"),
    # https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html
    # (logGroupName: 1-512, [\.\-_/#A-Za-z0-9]+)
    "aws:cloudwatch/logGroup:LogGroup": (512, r"[.\-_/#A-Za-z0-9]+"),
    # https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html
    # (repositoryName: 2-256, lowercase, digits, ._-/)
    "aws:ecr/repository:Repository": (256, r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"),
    # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html
    # (GroupName: up to 255 characters)
    "aws:ec2/securityGroup:SecurityGroup": (255, r".+"),
    # https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PutScalingPolicy.html
    # (PolicyName: 1-256)
    "aws:appautoscaling/policy:Policy": (256, r"[^:/]+"),
}

LONGEST = "acme-customer-portal-api"
"""24 characters: the longest app name the config accepts (core/config.py NAME_PATTERN)."""


def physical_names(resource: dict) -> list[str]:
    """The worst-case AWS names of ``resource``: explicit, prefix + id, or autoname."""
    inputs = resource["inputs"]
    if inputs.get("name"):
        return [inputs["name"]]
    if inputs.get("namePrefix"):
        return [inputs["namePrefix"] + "a" * PREFIX_SUFFIX]
    return [f"{resource['name']}-{'a' * (AUTONAME_SUFFIX - 1)}"]


@pytest.fixture(scope="module")
def long_plans() -> list[Graph]:
    """Plans of the longest app name and the longest stack name, HTTP and HTTPS."""
    return [
        Graph(offline_plan(make_ctx({}, name=LONGEST))),
        Graph(
            offline_plan(make_ctx({"certificate_arn": ALB_CERT, "nat": True}, name=LONGEST, replicas=Replicas(1, 3)))
        ),
        # environment variable names have no length limit: a secret's name is cut to fit
        Graph(offline_plan(make_ctx({}, name=LONGEST, secrets=("A_VERY_LONG_SECRET_NAME_" * 25,)))),
    ]


def test_every_named_resource_fits_its_aws_limit(long_plans):
    """Each resource type with a name gets one within AWS's documented length and
    character limits (the table above), for the longest app name."""
    checked = set()
    for graph in long_plans:
        for resource in graph.resources:
            limit = LIMITS.get(resource["type"])
            if limit is None:
                continue
            maximum, pattern = limit
            for name in physical_names(resource):
                checked.add(resource["type"])
                assert len(name) <= maximum, f"{resource['type']} {name!r}: {len(name)} > {maximum}"
                assert re.fullmatch(pattern, name), f"{resource['type']} {name!r} breaks {pattern}"
    assert {"aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup", "aws:iam/role:Role"} <= checked


def test_load_balancer_and_target_group_names_are_explicit_and_distinct_per_stack():
    """The ALB and target group get explicit names (autonaming could exceed 32), unique
    per app and stack: two stacks of one app never collide in one account and region."""
    from deployer.plugins.aws_ecs import naming

    names = {naming.elb_name(LONGEST, stack, kind) for stack in ("dev", "prod") for kind in ("alb", "tg")}
    assert len(names) == 4 and all(len(n) <= 32 for n in names)
    assert naming.elb_name("web", "dev", "alb") == naming.elb_name("web", "dev", "alb")


def test_an_app_named_internal_still_gets_a_valid_load_balancer_name():
    """ELB refuses load balancer names that begin with ``internal-``; ``internal-api`` is
    a valid app name."""
    from deployer.plugins.aws_ecs import naming

    for app in ("internal-api", "internal-customer-portal", "internal"):
        name = naming.elb_name(app, "dev", "alb")
        assert re.fullmatch(LIMITS["aws:lb/loadBalancer:LoadBalancer"][1], name) and len(name) <= 32, name


def test_the_task_definition_family_fits(long_plans):
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html
    (family: "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens")"""
    for graph in long_plans:
        family = graph.one("aws:ecs/taskDefinition:TaskDefinition")["inputs"]["family"]
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,255}", family)
