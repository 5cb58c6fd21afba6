"""The VPC's subnets, against AWS's rules: no two overlap, each is a /16 to a /28
(https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSubnet.html), the load
balancer's are at least a /27
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#subnets-load-balancer),
and a ``vpc_cidr`` that cannot hold them, or the tasks of a rollout, is refused (exit 2)."""

from __future__ import annotations

import ipaddress
import itertools

import pytest

from deployer.errors import ConfigError
from deployer.models import Replicas
from deployer.plugins.aws_ecs import address_plan
from deployer.plugins.aws_ecs.limits import check_app
from deployer.plugins.aws_ecs.settings import parse_settings
from deployer.services import DatabaseSpec, WorkerSpec
from tests.aws_ecs.conftest import make_ctx, offline_plan

KEY = "targets.aws-ecs"


def planned_subnets(settings: dict, database: bool) -> dict[str, ipaddress.IPv4Network]:
    ctx = make_ctx(settings, secrets=(), **({"database": DatabaseSpec()} if database else {}))
    plan = offline_plan(ctx)  # in us-east-1, which has six availability zones
    return {
        r["name"]: ipaddress.IPv4Network(r["inputs"]["cidrBlock"])
        for r in plan.resources
        if r["type"] == "aws:ec2/subnet:Subnet"
    }


def assert_fits_aws(subnets: dict[str, ipaddress.IPv4Network], vpc_cidr: str) -> None:
    vpc = ipaddress.IPv4Network(vpc_cidr)
    for (name, block), (other, block2) in itertools.combinations(subnets.items(), 2):
        assert not block.overlaps(block2), f"{name} {block} overlaps {other} {block2}"
    for name, block in subnets.items():
        assert block.subnet_of(vpc) and 16 <= block.prefixlen <= 28, (name, block)
        if "-public-" in name:
            assert block.prefixlen <= 27, (name, block)


@pytest.mark.parametrize(
    ("az_count", "nat", "database"), list(itertools.product(range(2, 7), (False, True), (False, True)))
)
def test_no_two_planned_subnets_overlap_and_each_fits_aws(az_count, nat, database):
    """Every az_count/nat/database combination the settings allow, in the smallest VPC
    they allow (a /23): az_count = 6 with NAT and a database used to give the database
    the blocks of the last two private subnets."""
    settings = {"az_count": az_count, "nat": nat, "vpc_cidr": "10.1.0.0/23"}
    subnets = planned_subnets(settings, database)
    assert len(subnets) == az_count * (1 + nat + database)
    assert_fits_aws(subnets, "10.1.0.0/23")


@pytest.mark.parametrize(
    ("az_count", "nat", "database", "private", "stored"),
    [
        (2, True, True, ["10.0.32.0/20", "10.0.48.0/20"], ["10.0.224.0/20", "10.0.240.0/20"]),
        (6, False, True, [], ["10.0.160.0/20", "10.0.176.0/20", "10.0.192.0/20", "10.0.208.0/20", "10.0.224.0/20", "10.0.240.0/20"]),
    ],
)  # fmt: skip
def test_the_blocks_that_worked_stay_the_same(az_count, nat, database, private, stored):
    """A subnet whose block changes is replaced: the combinations that never overlapped
    keep their blocks (the first az_count public, the next NAT, the last the database's)."""
    subnets = planned_subnets({"az_count": az_count, "nat": nat}, database)
    assert [str(subnets[f"web-public-{i}"]) for i in range(az_count)] == [
        f"10.0.{16 * i}.0/20" for i in range(az_count)
    ]
    assert [str(subnets[f"web-private-{i}"]) for i in range(az_count) if nat] == private
    assert [str(subnets[f"web-db-{i}"]) for i in range(az_count)] == stored


def test_a_vpc_whose_subnets_cannot_take_a_load_balancer_is_refused_by_up_and_plan_only():
    """A /24 gives /28 subnets, under the load balancer's /27: the app check (``up``,
    ``plan``) refuses it, while the settings still read, so that ``down``, ``status`` and
    ``logs`` work on a stack an earlier version deployed there."""
    ctx = make_ctx({"vpc_cidr": "10.20.0.0/24"})
    assert ctx.target.settings.vpc_cidr == "10.20.0.0/24"
    with pytest.raises(ConfigError) as error:
        check_app(ctx.app, ctx.target.settings)
    assert error.value.key == f"{KEY}.vpc_cidr" and error.value.exit_code == 2
    assert "/28" in error.value.message and "/27" in error.value.message and "/23" in error.value.message
    assert "application-load-balancers.html#subnets-load-balancer" in error.value.message
    check_app(ctx.app, parse_settings({"vpc_cidr": "10.20.0.0/23"}, KEY))


def test_the_tasks_of_each_service_are_counted_per_zone_rounded_up():
    """ECS spreads each service over the AZs on its own: during a rollout the web service
    and each of 19 one-replica workers run 2 tasks on 3 AZs, and one zone may get one of
    each: 20 there, with a one-off 21, and the load balancer's 8, more than a /27's 27
    usable addresses (counted as one pool, 41 tasks over 3 zones, it said 14)."""
    workers = tuple(WorkerSpec(f"w{n}", ("run",), replicas=1) for n in range(19))
    ctx = make_ctx({"vpc_cidr": "10.20.0.0/23", "az_count": 3}, workers=workers, replicas=Replicas(1, 1))
    with pytest.raises(ConfigError, match="too few"):
        check_app(ctx.app, ctx.target.settings)


@pytest.mark.parametrize(
    ("settings", "app", "largest"),
    [
        # 201 tasks (2 x 100 + 1) over 3 AZs: 67 in each, a /25 (123 addresses) holds them
        ({"vpc_cidr": "10.20.0.0/23", "nat": True, "az_count": 3}, {"replicas": (2, 100)}, "/21"),
        # without NAT the tasks share the load balancer's subnets: 101 + its 8 addresses
        ({"vpc_cidr": "10.20.0.0/22"}, {"replicas": (1, 100)}, "/21"),
        # workers roll out at 200 % too: 2 x (2 + 20) + 1 = 45 over 2 AZs, 23 + 8
        ({"vpc_cidr": "10.20.0.0/23"}, {"workers": (WorkerSpec("jobs", ("run",), replicas=20),)}, "/22"),
    ],
)
def test_a_vpc_too_small_for_the_tasks_of_a_rollout_is_refused(settings, app, largest):
    if "replicas" in app:
        app = {**app, "replicas": Replicas(*app["replicas"])}
    ctx = make_ctx(settings, **app)
    with pytest.raises(ConfigError) as error:
        check_app(ctx.app, ctx.target.settings)
    assert error.value.key == f"{KEY}.vpc_cidr" and error.value.exit_code == 2
    assert f"use a {largest} or a shorter prefix" in error.value.message
    check_app(ctx.app, parse_settings({**settings, "vpc_cidr": f"10.20.0.0{largest}"}, KEY))


def test_the_default_vpc_holds_the_largest_app():
    ctx = make_ctx({}, replicas=Replicas(1, 100), workers=(WorkerSpec("jobs", ("run",), replicas=100),))
    check_app(ctx.app, ctx.target.settings)


@pytest.mark.parametrize(
    ("deployed_with", "now", "key", "keep"),
    [
        ({"az_count": 2}, {"az_count": 3}, "az_count", "Keep az_count = 2"),
        ({"az_count": 6}, {"az_count": 6, "nat": True}, "nat", "Keep nat = false"),
        ({"az_count": 6, "nat": True}, {"az_count": 6}, "nat", "Keep nat = true"),
        ({}, {"vpc_cidr": "10.1.0.0/16"}, "vpc_cidr", 'Keep vpc_cidr = "10.0.0.0/16"'),
        ({}, {"az_count": 3, "vpc_cidr": "10.1.0.0/16"}, "az_count", 'Keep az_count = 2 and vpc_cidr = "10.0.0.0/16"'),
        (
            {"az_count": 6, "nat": True},
            {"az_count": 5, "vpc_cidr": "172.16.0.0/16", "nat": True},
            "az_count",
            'Keep az_count = 6 and vpc_cidr = "10.0.0.0/16" for this stack',
        ),
    ],
    ids=["more-azs", "nat-on-at-6", "nat-off-at-6", "other-vpc", "more-azs-other-vpc", "half-size-blocks"],
)
def test_settings_that_move_a_deployed_databases_subnets_are_refused_naming_the_key(deployed_with, now, key, keep):
    deployed = list(
        address_plan.plan(
            **({"vpc_cidr": "10.0.0.0/16", "az_count": 2, "nat": False} | deployed_with), database=True
        ).database
    )
    with pytest.raises(ConfigError, match=rf"targets\.aws-ecs\.{key}: would move the database's subnets") as caught:
        address_plan.check_database_stays(deployed, parse_settings(now, "targets.aws-ecs"), database=True)
    assert keep in str(caught.value)


@pytest.mark.parametrize(
    ("deployed_with", "now"),
    [({}, {}), ({}, {"nat": True}), ({"az_count": 3}, {"az_count": 3, "nat": True, "nat_per_az": True})],
    ids=["unchanged", "nat-on-at-2", "nat-at-3"],
)
def test_settings_that_keep_the_databases_subnets_pass(deployed_with, now):
    deployed = list(
        address_plan.plan(
            **({"vpc_cidr": "10.0.0.0/16", "az_count": 2, "nat": False} | deployed_with), database=True
        ).database
    )
    address_plan.check_database_stays(deployed, parse_settings(now, "targets.aws-ecs"), database=True)
    address_plan.check_database_stays(
        None, parse_settings({"az_count": 5}, "targets.aws-ecs"), database=True
    )  # deployed before the output
    address_plan.check_database_stays(deployed, parse_settings({"az_count": 5}, "targets.aws-ecs"), database=False)
