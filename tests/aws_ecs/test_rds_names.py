"""The RDS names of a plan obey RDS's documented rules for every app name and stack the
config and the CLI accept, and the names that already worked stay as they are (a new
instance identifier or database name replaces the database).

- DBInstanceIdentifier: 1-63 letters, digits or hyphens, first a letter, "Can't end with a
  hyphen or contain two consecutive hyphens"; DBName (PostgreSQL): 1-63 letters, digits or
  underscores, first a letter, "Can't be a word reserved by the specified database engine"
  (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html);
- FinalDBSnapshotIdentifier: 1-255, the same characters and hyphen rules
  (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBInstance.html).
"""

from __future__ import annotations

import re

import attrs
import pytest

from deployer.plugins.aws_ecs.naming import rds_identifier
from deployer.services import DatabaseSpec
from tests.aws_ecs.conftest import Graph, make_ctx, offline_plan

RDS = "aws:rds/instance:Instance"
INSTANCE_ID = re.compile(r"[A-Za-z](?!.*--)[A-Za-z0-9-]{0,62}(?<!-)")
SNAPSHOT_ID = re.compile(r"[A-Za-z](?!.*--)[A-Za-z0-9-]{0,254}(?<!-)")
DB_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")
AUTONAME = "-abcdef0"
"""Pulumi's autoname suffix, ``-<7 hex>``, which the instance identifier gets."""


def rds_of(app: str, stack: str = "dev") -> dict:
    ctx = attrs.evolve(make_ctx({}, name=app, secrets=(), database=DatabaseSpec()), stack=stack)
    return Graph(offline_plan(ctx)).one(RDS)


@pytest.mark.parametrize(("app", "stack"), [("ar--pay", "prod"), ("ar-billing", "blue-"), ("ar---x--y", "a--b-")])
def test_identifiers_never_hold_two_hyphens_in_a_row_nor_end_with_one(app, stack):
    """An app name may hold "--" and a stack may end with "-" (the config's and the CLI's
    patterns); the identifiers RDS gets may not."""
    db = rds_of(app, stack)
    identifier = db["name"] + AUTONAME
    assert INSTANCE_ID.fullmatch(identifier), identifier
    assert SNAPSHOT_ID.fullmatch(db["inputs"]["finalSnapshotIdentifier"]), db["inputs"]["finalSnapshotIdentifier"]


def test_identifiers_that_were_valid_do_not_change():
    db = rds_of("ar-billing", "blue")
    assert (db["name"], db["inputs"]["finalSnapshotIdentifier"]) == ("ar-billing-db", "ar-billing-blue-final")


def test_a_mended_identifier_differs_from_every_valid_one():
    """``ar--pay`` and ``ar-pay`` are two apps: their snapshots must not meet."""
    assert rds_identifier("ar--pay-prod") != rds_identifier("ar-pay-prod") == "ar-pay-prod"
    assert rds_identifier("ar--pay-prod") != rds_identifier("ar-pay--prod")


@pytest.mark.parametrize(  # reserved key words: https://www.postgresql.org/docs/current/sql-keywords-appendix.html
    "app", ["array", "user", "order", "default", "table", "window", "check", "limit", "current-user"]
)
def test_a_database_name_that_is_a_reserved_word_gets_a_suffix(app):
    name = rds_of(app)["inputs"]["dbName"]
    assert DB_NAME.fullmatch(name) and name == app.replace("-", "_") + "_db", name


@pytest.mark.parametrize("app", ["web", "my-shop", "users", "orders", "select-x"])
def test_a_database_name_that_works_does_not_change(app):
    assert rds_of(app)["inputs"]["dbName"] == app.replace("-", "_")
