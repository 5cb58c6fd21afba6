"""``[targets.aws-ecs.database]``: defaults, every key, each bad value naming its key (exit
2), the values reaching the RDS instance, and the keys documented."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
from typer.testing import CliRunner

from deployer.cli import app
from deployer.errors import ConfigError
from deployer.plugins.aws_ecs.database_settings import DatabaseSettings
from deployer.plugins.aws_ecs.settings import parse_settings
from deployer.services import DatabaseSpec
from deployer.testing.project import write_project

from .conftest import Graph, make_ctx, offline_plan

KEY = "targets.aws-ecs"


def test_defaults_are_safe_and_cheap():
    assert parse_settings({}, KEY).database == DatabaseSettings(
        instance_class="db.t4g.micro",
        multi_az=False,
        backup_retention_days=7,
        deletion_protection=True,
        final_snapshot=True,
    )


def test_every_key_is_read():
    raw = {
        "instance_class": "db.r6gd.2xlarge",
        "multi_az": True,
        "backup_retention_days": 0,
        "deletion_protection": False,
        "final_snapshot": False,
    }
    assert attrs.asdict(parse_settings({"database": raw}, KEY).database) == raw


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"instance_class": "t4g.micro"}, "instance_class"),
        ({"instance_class": "db.t4g"}, "instance_class"),
        ({"instance_class": "db.t4g.huge"}, "instance_class"),
        ({"instance_class": "db.serverless"}, "instance_class"),
        ({"instance_class": 3}, "instance_class"),
        ({"multi_az": "yes"}, "multi_az"),
        ({"backup_retention_days": 36}, "backup_retention_days"),
        ({"backup_retention_days": -1}, "backup_retention_days"),
        ({"backup_retention_days": "7"}, "backup_retention_days"),
        ({"deletion_protection": 1}, "deletion_protection"),
        ({"final_snapshot": "no"}, "final_snapshot"),
        ({"instance_type": "db.t4g.micro"}, "instance_type"),
    ],
)
def test_bad_values_name_the_key(raw, key):
    with pytest.raises(ConfigError) as error:
        parse_settings({"database": raw}, KEY)
    assert error.value.key == f"{KEY}.database.{key}"
    assert error.value.exit_code == 2


def test_the_table_itself_must_be_a_table():
    with pytest.raises(ConfigError) as error:
        parse_settings({"database": "db.t4g.micro"}, KEY)
    assert error.value.key == f"{KEY}.database"


def test_every_bad_key_is_named_in_one_run():
    with pytest.raises(ConfigError) as error:
        parse_settings({"database": {"backup_retention_days": 99, "instance_class": "big"}}, KEY)
    assert "database.backup_retention_days" in str(error.value) and "database.instance_class" in str(error.value)


def test_the_cli_exits_2_naming_the_key_before_anything_is_built(tmp_path):
    config = write_project(
        tmp_path,
        app={"name": "web", "port": 8000},
        targets={"aws-ecs": {"database": {"backup_retention_days": 40}}},
        tables={"database": {"version": "16"}},
    )
    result = CliRunner().invoke(app, ["plan", "--target", "aws-ecs", "--offline", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert "targets.aws-ecs.database.backup_retention_days" in result.stderr
    assert "must be between 0 and 35" in result.stderr
    assert not (tmp_path / ".deployer").exists()


def test_the_settings_reach_the_rds_instance():
    settings = {
        "database": {
            "instance_class": "db.m7g.large",
            "multi_az": True,
            "backup_retention_days": 21,
            "deletion_protection": False,
            "final_snapshot": False,
        }
    }
    db = Graph(offline_plan(make_ctx(settings, database=DatabaseSpec()))).one("aws:rds/instance:Instance")["inputs"]
    assert (db["instanceClass"], db["multiAz"], db["backupRetentionPeriod"]) == ("db.m7g.large", True, 21)
    assert (db["deletionProtection"], db["skipFinalSnapshot"]) == (False, True)
    assert "finalSnapshotIdentifier" not in db


def test_every_key_is_documented():
    """Docs cannot drift: each key has a row in docs/targets/aws-ecs.md and appears in
    the example of docs/configuration.md."""
    docs = Path(__file__).parents[2] / "docs"
    target = (docs / "targets" / "aws-ecs.md").read_text()
    configuration = (docs / "configuration.md").read_text()
    names = [f.name for f in attrs.fields(DatabaseSettings)]
    assert [n for n in names if f"| `{n}` |" not in target] == []
    assert [n for n in names if f"\n{n} = " not in configuration] == []
