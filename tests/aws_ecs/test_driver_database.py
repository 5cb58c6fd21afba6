"""The real aws-ecs driver's ``down`` and ``status`` with a database: RDS read and deleted
through boto3 (moto here), the Pulumi stack a recording double (no Pulumi CLI here)."""

from __future__ import annotations

import pytest
from pulumi.automation import OutputValue

from deployer.errors import ConfigError, UsageError
from deployer.plugins.aws_ecs import database_down
from deployer.plugins.aws_ecs.driver import AwsEcsDriver
from deployer.services import DatabaseSpec

from .conftest import make_ctx


class RecordingStack:
    """The stack's outputs, and what ``down`` asked of the engine, in order."""

    def __init__(self, outputs, calls, resources=()):
        self._outputs, self.calls, self.resources = outputs, calls, list(resources)
        self.workspace = self

    def outputs(self):
        return {key: type("OutputValue", (), {"value": value})() for key, value in self._outputs.items()}

    def export_stack(self):
        return type("Deployment", (), {"deployment": {"resources": self.resources}})()

    def destroy(self, **options):
        self.calls.append(("destroy", options.get("refresh")))

    def remove_stack(self, name):
        self.calls.append(("remove_stack", name))


def database(session, identifier, *, protected=True):
    session.client("rds").create_db_instance(
        DBInstanceIdentifier=identifier,
        Engine="postgres",
        EngineVersion="16.4",
        DBInstanceClass="db.t4g.micro",
        AllocatedStorage=20,
        StorageEncrypted=True,
        MasterUsername="app",
        ManageMasterUserPassword=True,
        BackupRetentionPeriod=7,
        DeletionProtection=protected,
    )


def driver_on(monkeypatch, session, outputs, calls, resources=()):
    driver = AwsEcsDriver()
    stack = RecordingStack(outputs, calls, resources)
    monkeypatch.setattr(driver, "_stack", lambda *a, **k: (stack, session))
    monkeypatch.setattr("deployer.plugins.aws_ecs.driver._remove_stack_files", lambda ctx, backend: None)
    return driver


def test_down_refuses_a_protected_database_before_destroying_anything(moto_session, monkeypatch, tmp_path):
    database(moto_session, "web-db-1a2b3c4")
    calls: list = []
    driver = driver_on(monkeypatch, moto_session, {"database": "web-db-1a2b3c4", "service": "s"}, calls)
    with pytest.raises(UsageError, match=r"web-db-1a2b3c4 has deletion protection on.*--destroy-data") as refused:
        driver.down(make_ctx(project_dir=tmp_path))
    assert refused.value.exit_code == 2
    assert calls == []  # no destroy, no stack removal
    (db,) = moto_session.client("rds").describe_db_instances()["DBInstances"]
    assert db["DeletionProtection"] is True


def test_down_destroy_data_deletes_the_database_first_then_destroys_with_a_refresh(moto_session, monkeypatch, tmp_path):
    database(moto_session, "web-db-1a2b3c4")
    calls: list = []
    lines: list[str] = []
    driver = driver_on(monkeypatch, moto_session, {"database": "web-db-1a2b3c4", "service": "s"}, calls)
    ctx = make_ctx(project_dir=tmp_path)
    from attrs import evolve

    driver.down(evolve(ctx, report=lines.append), destroy_data=True)
    assert moto_session.client("rds").describe_db_instances()["DBInstances"] == []
    (snapshot,) = moto_session.client("rds").describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    assert snapshot["DBSnapshotIdentifier"].startswith("web-db-1a2b3c4-final-")
    assert any(snapshot["DBSnapshotIdentifier"] in line and "is kept" in line for line in lines)
    assert calls == [("destroy", True), ("remove_stack", "dev")]


def test_a_stack_deployed_before_the_database_output_is_refused_too(moto_session, monkeypatch, tmp_path):
    """The instance is found in the stack's state when no output names it."""
    database(moto_session, "web-db-1a2b3c4")
    calls: list = []
    state = [{"type": "aws:rds/instance:Instance", "outputs": {"identifier": "web-db-1a2b3c4"}}]
    driver = driver_on(monkeypatch, moto_session, {"service": "s"}, calls, state)
    with pytest.raises(UsageError, match="web-db-1a2b3c4 has deletion protection on"):
        driver.down(make_ctx(project_dir=tmp_path))
    assert calls == []


def test_down_without_a_database_is_unchanged(moto_session, monkeypatch, tmp_path):
    calls: list = []
    driver = driver_on(monkeypatch, moto_session, {"service": "s"}, calls)
    driver.down(make_ctx(project_dir=tmp_path))
    assert calls == [("destroy", False), ("remove_stack", "dev")]


def test_a_database_already_gone_is_not_an_error(moto_session):
    assert (
        database_down.release(
            moto_session.client("rds"), "gone", destroy_data=False, final_snapshot=True, command="x", report=print
        )
        is None
    )


def test_the_status_records_read_rds(moto_session):
    from deployer.plugins.aws_ecs.backing_status import database_record

    database(moto_session, "web-db-1a2b3c4", protected=False)
    assert database_record(moto_session.client("rds"), "web-db-1a2b3c4") == {
        "name": "web-db-1a2b3c4",
        "status": "available",
        "engine": "postgres 16.4",
        "class": "db.t4g.micro",
        "multi_az": False,
        "encrypted": True,
        "deletion_protection": False,
    }
    assert database_record(moto_session.client("rds"), "other") == {"name": "other", "status": "not found"}


class _DeployedStack:
    """A stack last deployed with a database in 2 AZs; any change to it is recorded."""

    def __init__(self):
        self.changed: list[str] = []

    def outputs(self):
        blocks = ["10.0.224.0/20", "10.0.240.0/20"]
        return {"database_subnet_blocks": OutputValue(blocks, secret=False)}

    def refresh(self, **kwargs):
        self.changed.append("refresh")

    def up(self, **kwargs):
        self.changed.append("up")


def test_the_real_driver_refuses_to_move_a_deployed_databases_subnets_before_any_change(monkeypatch, tmp_path):
    """The same check as the emulated driver's (``address_plan.check_database_stays``),
    on the stack's outputs before the refresh."""
    ctx = make_ctx({"az_count": 3}, mode="up", project_dir=tmp_path, database=DatabaseSpec(version="16"))
    stack = _DeployedStack()
    driver = AwsEcsDriver()
    monkeypatch.setattr(driver, "_stack", lambda *a, **k: (stack, None))
    with pytest.raises(ConfigError, match=r"targets\.aws-ecs\.az_count: would move the database's subnets"):
        driver.up(ctx, lambda _ctx: None)
    with pytest.raises(ConfigError, match=r"targets\.aws-ecs\.az_count: would move the database's subnets"):
        driver.plan(ctx, lambda _ctx: None)
    assert stack.changed == []
