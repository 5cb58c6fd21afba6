"""What RDS refuses and moto accepts, refused by the emulator (:mod:`.aws_rules`): each
case is shown accepted by moto alone first, so the rule is what catches it."""

from __future__ import annotations

import json

import pytest

from deployer.errors import DeployFailed
from deployer.testing.aws_ecs import aws_rules
from deployer.testing.aws_ecs.aws_rules import Context, check

INSTANCE = "aws:rds/instance:Instance"
GOOD = {"engine": "postgres", "instanceClass": "db.t4g.micro", "backupRetentionPeriod": 7}
CONTEXT = Context(subnet_zone={"subnet-a": "us-east-1a", "subnet-b": "us-east-1b", "subnet-a2": "us-east-1a"}.get)


@pytest.fixture
def rds(moto_session):
    return moto_session.client("rds")


def moto_creates(rds, identifier, inputs) -> bool:
    """Whether moto alone accepts CreateDBInstance with these inputs."""
    rds.create_db_instance(
        DBInstanceIdentifier=identifier,
        Engine="postgres",
        DBInstanceClass=inputs["instanceClass"],
        BackupRetentionPeriod=int(inputs["backupRetentionPeriod"]),
        AllocatedStorage=20,
    )
    return bool(rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"])


@pytest.mark.parametrize(
    ("identifier", "inputs", "mentions"),
    [
        ("web-db", {**GOOD, "backupRetentionPeriod": 36}, "backupRetentionPeriod = 36"),
        ("web-db", {**GOOD, "instanceClass": "t4g.micro"}, "instanceClass"),
        ("web-db", {**GOOD, "instanceClass": "db.t4g.gigantic"}, "instanceClass"),
    ],
)
def test_what_create_db_instance_refuses_is_refused(rds, identifier, inputs, mentions):
    assert moto_creates(rds, identifier, inputs)  # moto alone lets it through
    with pytest.raises(DeployFailed, match=mentions):
        check(INSTANCE, "web-db", identifier, inputs, CONTEXT)


@pytest.mark.parametrize("identifier", ["web--db", "web-db-", "1web-db"])
def test_moto_refuses_a_bad_instance_identifier_itself(rds, identifier):
    """No rule of ours is needed for the instance identifier: moto checks it as RDS does."""
    with pytest.raises(rds.exceptions.ClientError, match="not a valid identifier"):
        moto_creates(rds, identifier, GOOD)


@pytest.mark.parametrize("name", ["array", "user", "Order", "web-db", "1web"])
def test_a_database_name_rds_refuses_is_refused(rds, name):
    """DBName: letters, digits and underscores from a letter, "Can't be a word reserved by
    the specified database engine" (CreateDBInstance); moto takes any."""
    rds.create_db_instance(
        DBInstanceIdentifier="web-db",
        Engine="postgres",
        DBInstanceClass="db.t4g.micro",
        DBName=name,
        AllocatedStorage=20,
    )
    with pytest.raises(DeployFailed, match="dbName"):
        check(INSTANCE, "web-db", "web-db", {**GOOD, "dbName": name}, CONTEXT)


def test_a_bad_final_snapshot_identifier_is_refused_at_create():
    with pytest.raises(DeployFailed, match="finalSnapshotIdentifier"):
        check(INSTANCE, "web-db", "web-db", {**GOOD, "finalSnapshotIdentifier": "web_db_final"}, CONTEXT)


def test_what_rds_accepts_passes():
    check(INSTANCE, "web-db", "web-db", {**GOOD, "finalSnapshotIdentifier": "web-dev-final"}, CONTEXT)
    check(INSTANCE, "web-db", "web-db", {**GOOD, "dbName": "array_db"}, CONTEXT)
    check(INSTANCE, "web-db", "web-db", {**GOOD, "instanceClass": "db.r6gd.16xlarge", "backupRetentionPeriod": 0})
    check("aws:rds/subnetGroup:SubnetGroup", "g", "g", {"subnetIds": ["subnet-a", "subnet-b"]}, CONTEXT)


def test_a_db_subnet_group_in_one_zone_is_refused():
    with pytest.raises(DeployFailed, match="at least two"):
        check("aws:rds/subnetGroup:SubnetGroup", "g", "g", {"subnetIds": ["subnet-a", "subnet-a2"]}, CONTEXT)


@pytest.mark.parametrize(
    ("params", "mentions"),
    [
        ({}, "must be given unless SkipFinalSnapshot"),
        ({"SkipFinalSnapshot": True, "FinalDBSnapshotIdentifier": "snap"}, "must not be given"),
    ],
)
def test_delete_db_instance_without_a_snapshot_decision_is_refused(rds, params, mentions):
    for name in ("free", "guarded"):
        rds.create_db_instance(
            DBInstanceIdentifier=name, Engine="postgres", DBInstanceClass="db.t4g.micro", AllocatedStorage=20
        )
    if not params:  # moto alone deletes it, and takes no snapshot: RDS refuses the call
        rds.delete_db_instance(DBInstanceIdentifier="free")
        assert rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"] == []
    aws_rules.guard_rds_calls(rds)
    with pytest.raises(DeployFailed, match=mentions):
        rds.delete_db_instance(DBInstanceIdentifier="guarded", **params)
    assert rds.describe_db_instances(DBInstanceIdentifier="guarded")["DBInstances"]


def test_a_protected_instance_is_refused_by_moto_itself(rds):
    """Deletion protection needs no rule of ours: moto refuses as RDS does."""
    rds.create_db_instance(
        DBInstanceIdentifier="kept",
        Engine="postgres",
        DBInstanceClass="db.t4g.micro",
        AllocatedStorage=20,
        DeletionProtection=True,
    )
    with pytest.raises(rds.exceptions.ClientError, match="Cannot delete protected DB Instance"):
        rds.delete_db_instance(DBInstanceIdentifier="kept", FinalDBSnapshotIdentifier="kept-final")


def test_the_secret_rds_manages_is_a_valid_value_from():
    """RDS names the master password's secret ``rds!db-<id>``: a task reading its
    ``password`` key is what AWS accepts."""
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-7eb4ace0-0152-4f51-b205-5cef5bdb34f0-wmSEmg"
    containers = json.dumps(
        [{"name": "web", "image": "r@sha256:00", "secrets": [{"name": "PGPASSWORD", "valueFrom": arn + ":password::"}]}]
    )
    task = {"family": "web", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512"}
    check("aws:ecs/taskDefinition:TaskDefinition", "web-task", "web-task", {**task, "containerDefinitions": containers})
