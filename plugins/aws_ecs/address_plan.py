"""The VPC's IPv4 address plan: the block of every subnet deployer creates in its own VPC,
and whether those blocks hold what AWS puts in them. Importable without pulumi: the
config check (:mod:`.settings`, :mod:`.limits`) and the network and services phases
share it.

``vpc_cidr`` is cut into 16 equal blocks (a /16 gives /20s). The public subnets take the
first ``az_count``, NAT's private subnets the next ``az_count``, the database's the last
``az_count``. Only ``az_count = 6`` with ``nat`` and a database needs 18 blocks; its
database subnets are then the last 6 of 32 half-size blocks (the last 3 blocks), clear of
the 12 before them. Every other combination keeps the blocks it always had: a subnet
whose block changes is replaced, and with it what runs in it.

What AWS requires of the blocks:

- a subnet is a /16 to a /28, and AWS reserves 5 addresses of each (the first four and the
  last): :data:`CREATE_SUBNET`;
- a load balancer's subnet needs "at least a /27 bitmask ... and at least 8 free IP
  addresses":
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#subnets-load-balancer;
- each Fargate task (``awsvpc``) takes one address of its subnet, and ECS spreads a
  service's tasks evenly over the AZs
  (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement.html).
"""

from __future__ import annotations

import ipaddress
import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from attrs import evolve, frozen

from deployer.errors import ConfigError

if TYPE_CHECKING:
    from deployer.models import AppSpec
    from deployer.plugins.aws_ecs.settings import AwsSettings

SUBNET_BITS = 4
"""A subnet's prefix is 4 bits longer than the VPC's: ``vpc_cidr`` is cut into 16 blocks."""
VPC_PREFIXES = (16, 24)
"""The prefixes ``vpc_cidr`` may be read with: AWS's largest VPC, a /16, to a /24 (/28
subnets), which earlier versions deployed; ``up`` and ``plan`` need a /23 or shorter
(:func:`check_capacity`), so that a stack on a /24 can still be looked at and taken down."""
LOAD_BALANCER_PREFIX = 27
"""The longest prefix of a load balancer's subnet."""
LOAD_BALANCER_ADDRESSES = 8
"""The free addresses a load balancer needs in each of its subnets."""
RESERVED = 5
"""The addresses AWS reserves in every subnet."""
ROLLOUT_PERCENT = 200
"""Every service's ``deploymentMaximumPercent``: during a rollout a service runs up to
twice its tasks (the old ones until the new ones are healthy)."""
ONE_OFF_TASKS = 1
"""A one-off task beside the services: ``deployer run`` or the release command."""
_KEY = "targets.aws-ecs.vpc_cidr"
CREATE_SUBNET = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSubnet.html"


@frozen
class AddressPlan:
    """The IPv4 blocks of the subnets, one per AZ in each tuple: ``private`` is empty
    without NAT, ``database`` without a database."""

    public: tuple[str, ...]
    private: tuple[str, ...]
    database: tuple[str, ...]


def plan(vpc_cidr: str, az_count: int, *, nat: bool, database: bool) -> AddressPlan:
    """The blocks of ``vpc_cidr`` for ``az_count`` AZs (the split in the module
    docstring): no two overlap."""
    network = ipaddress.IPv4Network(vpc_cidr)
    blocks = list(network.subnets(prefixlen_diff=SUBNET_BITS))
    public, private = blocks[:az_count], blocks[az_count : 2 * az_count] if nat else []
    isolated: list[ipaddress.IPv4Network] = []
    if database:
        isolated = blocks[-az_count:]
        if any(block.overlaps(taken) for block in isolated for taken in public + private):
            isolated = list(network.subnets(prefixlen_diff=SUBNET_BITS + 1))[-az_count:]
    return AddressPlan(*(tuple(map(str, kind)) for kind in (public, private, isolated)))


def check_database_stays(deployed: Sequence[str] | None, settings: AwsSettings, *, database: bool) -> None:
    """Refuse settings that would give a deployed database's subnets other blocks
    (``deployed``: the blocks of the subnets the stack's last ``up`` made for it, its
    output ``database_subnet_blocks``; none for a stack deployed before that output, or
    whose database subnets were not carved from these settings). A subnet's block cannot
    change in place: Pulumi would replace subnets the DB subnet group and the instance
    are in, and one more AZ asks for a block an old subnet holds.

    :raises ConfigError: naming every key among ``az_count``, ``vpc_cidr`` and ``nat``
        whose new value moves them, with the value to keep; nothing was changed.
    """
    if not deployed or not database:
        return
    wanted = _database_blocks(settings.vpc_cidr, settings.az_count, settings.nat)
    if wanted == list(deployed):
        return
    keep = _settings_that_keep(list(deployed), settings)
    first = next(iter(keep), "vpc_cidr")
    if keep:
        said = " and ".join(f"{key} = {_toml(value)}" for key, value in keep.items())
        advice = f"Keep {said} for this stack"
    else:
        advice = "Keep the az_count, vpc_cidr and nat the database was deployed with"
    raise ConfigError(
        f"targets.aws-ecs.{first}",
        f"would move the database's subnets from {', '.join(deployed)} to {', '.join(wanted)}, which replaces "
        f"subnets the database is in: nothing was changed. {advice}, or move the data to a new stack",
        value=getattr(settings, first),
    )


def _database_blocks(vpc_cidr: str, az_count: int, nat: bool) -> list[str]:
    return list(plan(vpc_cidr, az_count, nat=nat, database=True).database)


def _settings_that_keep(deployed: list[str], settings: AwsSettings) -> dict[str, Any]:
    """The fewest of ``az_count``, ``vpc_cidr`` and ``nat`` to set back, with their old
    values, for the database's blocks to be ``deployed`` again (the VPC's block found from
    a subnet's: 16 or 32 to a VPC; of two answers as short, the one that keeps
    ``vpc_cidr``); none when no settings give them."""
    found: list[dict[str, Any]] = []
    for bits in (SUBNET_BITS, SUBNET_BITS + 1):
        old_vpc = str(ipaddress.IPv4Network(deployed[0]).supernet(prefixlen_diff=bits))
        for old_nat in (settings.nat, not settings.nat):
            old = evolve(settings, az_count=len(deployed), vpc_cidr=old_vpc, nat=old_nat)
            if _database_blocks(old.vpc_cidr, old.az_count, old.nat) != deployed:
                continue
            changed = [key for key in ("az_count", "vpc_cidr", "nat") if getattr(settings, key) != getattr(old, key)]
            for size in range(1, len(changed) + 1):
                for keys in itertools.combinations(changed, size):
                    tried = evolve(settings, **{key: getattr(old, key) for key in keys})
                    if _database_blocks(tried.vpc_cidr, tried.az_count, tried.nat) == deployed:
                        found.append({key: getattr(old, key) for key in keys})
    return min(found, key=lambda keep: (len(keep), "vpc_cidr" in keep), default={})


def _toml(value: object) -> str:
    """``value`` as the config file writes it."""
    if isinstance(value, bool):
        return str(value).lower()
    return f'"{value}"' if isinstance(value, str) else str(value)


def vpc_cidr_problem(network: ipaddress.IPv4Network) -> str | None:
    """Why ``network`` cannot be ``vpc_cidr`` by its size alone, naming the subnet size it
    would give and the prefixes that work; None when it can."""
    low, high = VPC_PREFIXES
    if not low <= network.prefixlen <= high:
        return f"must have a prefix between /{low} and /{high} (AWS's largest VPC is a /{low}; room for the subnets)"
    return None


def check_capacity(app: AppSpec, settings: AwsSettings) -> None:
    """Refuse a ``vpc_cidr`` whose task subnets cannot hold the tasks a rollout may run
    in one AZ (with the load balancer's addresses when the tasks share its subnets).

    :raises ConfigError: naming ``targets.aws-ecs.vpc_cidr``, the subnet size, what it
        must hold and the longest prefix that holds it.
    """
    vpc_prefix = ipaddress.IPv4Network(settings.vpc_cidr).prefixlen
    prefix = vpc_prefix + SUBNET_BITS
    if prefix > LOAD_BALANCER_PREFIX:
        raise ConfigError(
            _KEY,
            f"is a /{vpc_prefix}, whose subnets are /{prefix}, and a load balancer's subnets need at least a "
            f"/{LOAD_BALANCER_PREFIX} (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/"
            f"application-load-balancers.html#subnets-load-balancer): use a prefix between /{VPC_PREFIXES[0]} and "
            f"/{LOAD_BALANCER_PREFIX - SUBNET_BITS} (a new block replaces the VPC; `down` works on this one)",
            value=settings.vpc_cidr,
        )
    # each service spreads over the AZs on its own: a zone may get the rounded-up share of each
    services = [app.replicas.max, *(w.replicas for w in app.workers)]
    tasks = sum(ROLLOUT_PERCENT * n // 100 for n in services) + ONE_OFF_TASKS
    per_zone = sum(math.ceil(ROLLOUT_PERCENT * n / 100 / settings.az_count) for n in services) + ONE_OFF_TASKS
    shared = 0 if settings.nat else LOAD_BALANCER_ADDRESSES
    needed = per_zone + shared
    if _usable(prefix) >= needed:
        return
    low, high = VPC_PREFIXES[0], LOAD_BALANCER_PREFIX - SUBNET_BITS
    fits = next((p for p in range(high, low - 1, -1) if _usable(p + SUBNET_BITS) >= needed), None)
    holds = f"the load balancer's {shared} and " if shared else ""
    remedy = (
        f"use a /{fits} or a shorter prefix"
        if fits
        else "no VPC is large enough: lower the replicas or raise targets.aws-ecs.az_count"
    )
    raise ConfigError(
        _KEY,
        f"is a /{vpc_prefix}: its /{prefix} subnets have {_usable(prefix)} usable addresses (AWS reserves {RESERVED} of each: {CREATE_SUBNET}), too "
        f"few for {holds}the {per_zone} tasks a rollout may run in each of the {settings.az_count} AZs ({tasks} "
        f"in all: twice app.replicas.max and the workers' replicas, and a one-off task): {remedy}",
        value=settings.vpc_cidr,
    )


def _usable(prefix: int) -> int:
    """The addresses a subnet of ``prefix`` leaves for its resources."""
    return 2 ** (32 - prefix) - RESERVED
