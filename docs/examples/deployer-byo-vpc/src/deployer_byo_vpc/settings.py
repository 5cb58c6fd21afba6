"""The plugin's configuration, read from the environment.

- ``DEPLOYER_BYO_VPC_ID``: the existing VPC, ``vpc-...``.
- ``DEPLOYER_BYO_SUBNET_IDS``: at least two of its public subnets, ``subnet-...``, comma
  separated, in distinct availability zones (the load balancer needs two).
- ``DEPLOYER_BYO_DB_SUBNET_IDS`` (only for an app with a ``[database]``): at least two of
  its private subnets, in distinct availability zones, for the database's subnet group.

Neither set means "not configured". Anything else that is not exactly right raises
``ConfigErrors`` naming each bad variable (both at once), before any resource is declared.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from attrs import frozen
from deployer.errors import ConfigError, ConfigErrors

VPC_ID = "DEPLOYER_BYO_VPC_ID"
SUBNET_IDS = "DEPLOYER_BYO_SUBNET_IDS"
DB_SUBNET_IDS = "DEPLOYER_BYO_DB_SUBNET_IDS"
_VPC = re.compile(r"vpc-[0-9a-f]{8}(?:[0-9a-f]{9})?")
_SUBNET = re.compile(r"subnet-[0-9a-f]{8}(?:[0-9a-f]{9})?")


@frozen
class ExistingNetwork:
    """The VPC and subnets to deploy into."""

    vpc_id: str
    subnet_ids: tuple[str, ...]
    database_subnet_ids: tuple[str, ...] = ()


def from_environ(environ: Mapping[str, str] = os.environ) -> ExistingNetwork | None:
    """The configured network, or None when neither variable is set."""
    vpc_id = environ.get(VPC_ID, "").strip()
    subnets = environ.get(SUBNET_IDS, "").strip()
    if not vpc_id and not subnets:
        return None
    errors = []
    if not _VPC.fullmatch(vpc_id):
        errors.append(
            ConfigError(
                VPC_ID,
                f"must be the id of an existing VPC, such as vpc-0a1b2c3d4e5f67890 "
                f"(environment variable, needed with {SUBNET_IDS})",
                value=vpc_id,
            )
        )
    subnet_ids = _subnet_list(subnets)
    if subnet_ids is None:
        errors.append(
            ConfigError(
                SUBNET_IDS,
                f"must list at least two distinct subnet ids of {vpc_id}, comma "
                "separated, such as subnet-0a1b2c3d,subnet-4e5f6a7b "
                "(environment variable)",
                value=subnets,
            )
        )
    database = environ.get(DB_SUBNET_IDS, "").strip()
    database_subnet_ids = _subnet_list(database) if database else ()
    if database_subnet_ids is None:
        errors.append(
            ConfigError(
                DB_SUBNET_IDS,
                f"must list at least two distinct private subnet ids of {vpc_id}, comma "
                "separated, such as subnet-0c1d2e3f,subnet-6a7b8c9d (environment variable)",
                value=database,
            )
        )
    if errors or subnet_ids is None or database_subnet_ids is None:
        raise ConfigErrors(errors)
    return ExistingNetwork(vpc_id, subnet_ids, database_subnet_ids)


def _subnet_list(text: str) -> tuple[str, ...] | None:
    """The comma-separated subnet ids in ``text``, or None unless there are two or more,
    distinct and well formed."""
    ids = tuple(s.strip() for s in text.split(","))
    if len(ids) < 2 or len(set(ids)) < len(ids) or not all(_SUBNET.fullmatch(s) for s in ids):
        return None
    return ids
