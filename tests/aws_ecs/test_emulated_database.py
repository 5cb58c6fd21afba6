"""The database on the emulated aws-ecs driver: RDS as ``[targets.aws-ecs.database]``
says, ``status`` reading it and the workers back, and ``down``: refused (exit 2, nothing
removed) while deletion protection is on, ``down --destroy-data`` removing everything but
the final snapshot. One moto for the module; each test deploys an app of its own."""

from __future__ import annotations

import itertools
import json
import re

import pytest
from typer.testing import CliRunner

from deployer import plugin_manager
from deployer.cli import app as cli_app
from deployer.errors import ConfigError, UsageError
from deployer.lifecycle import phase_runner
from deployer.plugin_manager import get_plugin_manager
from deployer.services import DatabaseSpec, WorkerSpec
from deployer.testing.aws_ecs.emulated_driver import EmulatedDriver
from deployer.testing.aws_ecs.emulated_state import state_file
from deployer.testing.project import write_project

from .conftest import emulated_aws, make_ctx

_APPS = itertools.count(1)
WORKER = WorkerSpec("mailer", ("python", "-m", "myapp.worker"), replicas=1, cpu=256, memory=512)


@pytest.fixture(scope="module")
def moto():
    """One emulated AWS for the module: each test looks only at its own app's objects."""
    with emulated_aws() as session:
        yield session


@pytest.fixture
def pm():
    return get_plugin_manager(builtins={"aws-ecs": "deployer.plugins.aws_ecs.plugin"}, entry_points_=[], environ={})


@pytest.fixture
def app(moto) -> str:
    """A name no other test of the module deploys (``shop1``, ``shop2``, ...)."""
    return f"shop{next(_APPS)}"


def deploy(pm, tmp_path, name, database_settings=None, **target_settings):
    """Up an app with a database and a worker on the emulator; its context."""
    settings = {"database": database_settings} if database_settings is not None else {}
    ctx = make_ctx(
        settings | target_settings,
        mode="up",
        project_dir=tmp_path,
        name=name,
        database=DatabaseSpec(version="16", storage_gb=20),
        workers=(WORKER,),
    )
    EmulatedDriver().up(ctx, phase_runner(pm))
    return ctx


def instances(moto, name):
    return [d for d in moto.client("rds").describe_db_instances()["DBInstances"] if d["DBInstanceIdentifier"] == name]


def snapshots(moto, name):
    return [
        s["DBSnapshotIdentifier"]
        for s in moto.client("rds").describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
        if s["DBInstanceIdentifier"] == name
    ]


def test_rds_is_created_as_configured_and_its_address_and_secret_reach_the_tasks(moto, app, pm, tmp_path):
    settings = {"instance_class": "db.m7g.large", "multi_az": True, "backup_retention_days": 14}
    ctx = deploy(pm, tmp_path, app, settings)
    (db,) = instances(moto, f"{app}-db")
    assert (db["DBInstanceClass"], db["MultiAZ"], db["BackupRetentionPeriod"]) == ("db.m7g.large", True, 14)
    assert (db["DeletionProtection"], db["StorageEncrypted"], db["PubliclyAccessible"]) == (True, True, False)
    outputs = json.loads(state_file(ctx).read_text())["outputs"]
    task = moto.client("ecs").describe_task_definition(taskDefinition=outputs["task_definition"])
    (container,) = task["taskDefinition"]["containerDefinitions"]
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["PGHOST"] == db["Endpoint"]["Address"]  # moto's address, not the mock's
    (password,) = [s["valueFrom"] for s in container["secrets"] if s["name"] == "PGPASSWORD"]
    assert password == db["MasterUserSecret"]["SecretArn"] + ":password::"


def test_a_new_database_setting_updates_the_instance_in_place(moto, app, pm, tmp_path):
    """As the provider does (ModifyDBInstance): the instance, and so its data, stays; a
    replacement would delete it (and RDS would refuse, deletion protection being on)."""
    deploy(pm, tmp_path, app)
    (before,) = instances(moto, f"{app}-db")
    ctx = deploy(pm, tmp_path, app, {"instance_class": "db.t4g.small", "backup_retention_days": 1})
    (after,) = instances(moto, f"{app}-db")
    assert after["DbiResourceId"] == before["DbiResourceId"]  # the same instance
    assert (after["DBInstanceClass"], after["BackupRetentionPeriod"]) == ("db.t4g.small", 1)
    deploy(pm, tmp_path, app, {"deletion_protection": False})  # turned off by an up, then a plain down deletes it
    EmulatedDriver().down(ctx)
    assert instances(moto, f"{app}-db") == [] and len(snapshots(moto, f"{app}-db")) == 1


def test_status_shows_the_database_and_each_worker(moto, app, pm, tmp_path):
    ctx = deploy(pm, tmp_path, app)
    details = EmulatedDriver().status(ctx).details
    assert details["database"] == [
        {
            "name": f"{app}-db",
            "status": "available",
            "engine": "postgres 16",
            "class": "db.t4g.micro",
            "multi_az": False,
            "encrypted": True,
            "deletion_protection": True,
        }
    ]
    (worker,) = details["workers"]
    assert re.fullmatch(rf"{app}-worker-mailer-[0-9a-f]{{7}}", worker.pop("name"))
    assert worker == {"worker": "mailer", "running": 1, "desired": 1, "rollout": "COMPLETED"}


def test_down_of_a_protected_database_is_refused_with_exit_2_and_removes_nothing(moto, app, pm, tmp_path):
    ctx = deploy(pm, tmp_path, app)
    before = EmulatedDriver().leftovers(ctx)
    with pytest.raises(UsageError) as refused:
        EmulatedDriver().down(ctx)
    message = str(refused.value)
    assert refused.value.exit_code == 2
    assert f"database {app}-db has deletion protection on" in message
    assert "postgres 16, 20 GiB, and its 7 days of automated backups" in message
    assert "deployer down --target aws-ecs --stack dev --destroy-data" in message
    assert "\n" not in message
    assert EmulatedDriver().leftovers(ctx) == before
    assert instances(moto, f"{app}-db")[0]["DeletionProtection"] is True


def test_down_destroy_data_removes_everything_but_the_named_final_snapshot(moto, app, pm, tmp_path):
    ctx = deploy(pm, tmp_path, app)
    lines: list[str] = []
    EmulatedDriver().down(evolve_report(ctx, lines.append), destroy_data=True)
    assert instances(moto, f"{app}-db") == []
    (snapshot,) = snapshots(moto, f"{app}-db")
    assert re.fullmatch(rf"{app}-db-final-\d{{14}}", snapshot)
    assert any(f"final snapshot {snapshot} is kept" in line for line in lines)
    (left,) = EmulatedDriver().leftovers(ctx)  # the snapshot, and nothing else: no state file either
    assert left.endswith(f":snapshot:{snapshot}")


def test_without_final_snapshot_nothing_is_kept(moto, app, pm, tmp_path):
    ctx = deploy(pm, tmp_path, app, {"final_snapshot": False})
    EmulatedDriver().down(ctx, destroy_data=True)
    assert instances(moto, f"{app}-db") == [] and snapshots(moto, f"{app}-db") == []
    assert EmulatedDriver().leftovers(ctx) == []


def test_an_unprotected_database_goes_with_a_plain_down_after_its_final_snapshot(moto, app, pm, tmp_path):
    ctx = deploy(pm, tmp_path, app, {"deletion_protection": False})
    EmulatedDriver().down(ctx)
    assert instances(moto, f"{app}-db") == [] and len(snapshots(moto, f"{app}-db")) == 1


def test_the_cli_refuses_down_with_exit_2_and_down_destroy_data_succeeds(moto, app, pm, tmp_path, monkeypatch):
    """Through the real CLI, on the emulated driver: ``down`` exits 2 with the one-line
    reason, and the same command with ``--destroy-data`` removes the stack."""
    ctx = deploy(pm, tmp_path, app)
    config = write_project(
        tmp_path,
        app={"name": app, "port": 8000, "health": {"path": "/healthz"}},
        tables={"database": {"version": "16", "storage_gb": 20}},
    )
    pm.use_driver("aws-ecs", EmulatedDriver)
    monkeypatch.setattr(plugin_manager, "get_plugin_manager", lambda: pm)
    common = ["--target", "aws-ecs", "--config", str(config)]
    refused = CliRunner().invoke(cli_app, ["down", *common])
    assert refused.exit_code == 2, refused.output
    assert "has deletion protection on" in refused.stderr and "Traceback" not in refused.output
    assert state_file(ctx).exists() and instances(moto, f"{app}-db")
    done = CliRunner().invoke(cli_app, ["down", "--destroy-data", *common])
    assert done.exit_code == 0, done.output
    assert not state_file(ctx).exists() and instances(moto, f"{app}-db") == []


def evolve_report(ctx, report):
    from attrs import evolve

    return evolve(ctx, report=report)


def test_an_up_that_would_move_the_databases_subnets_is_refused_before_any_change(moto, app, pm, tmp_path):
    """The database's subnets are the last ``az_count`` blocks of ``vpc_cidr``: one more AZ
    gives them other blocks, which Pulumi would do by replacing subnets the database is in.
    ``up`` and ``plan`` refuse (exit 2, naming the key and the value to keep); the stack
    is as it was."""
    ctx = deploy(pm, tmp_path, app)
    outputs = json.loads(state_file(ctx).read_text())["outputs"]
    assert outputs["database_subnet_blocks"] == ["10.0.224.0/20", "10.0.240.0/20"]
    before = state_file(ctx).read_text()
    with pytest.raises(ConfigError, match=r"targets\.aws-ecs\.az_count: would move the database's subnets") as caught:
        deploy(pm, tmp_path, app, az_count=3)
    assert "Keep az_count = 2 for this stack" in str(caught.value) and caught.value.exit_code == 2
    planned = make_ctx(
        {"az_count": 3}, mode="plan", project_dir=tmp_path, name=app, database=DatabaseSpec(version="16")
    )
    with pytest.raises(ConfigError, match=r"targets\.aws-ecs\.az_count: would move the database's subnets"):
        EmulatedDriver().plan(planned, phase_runner(pm))
    EmulatedDriver().plan(planned, phase_runner(pm), offline=True)  # reads no stack, as the real driver's
    assert state_file(ctx).read_text() == before
