"""The ``[targets.aws-ecs.database]`` table: how RDS runs the app's ``[database]``.

Every key is optional; the defaults are the safe, cheap choice. The limits are RDS's own:

- ``instance_class``: a DB instance class, ``db.<class type>.<size>`` (for example
  ``db.t4g.micro``, ``db.m7g.large``, ``db.r6gd.2xlarge``): "A DB instance class consists
  of both the DB instance class type and the size"
  (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.html).
  Only the shape is checked here: which classes RDS for PostgreSQL offers depends on the
  region and engine version (``aws rds describe-orderable-db-instance-options --engine
  postgres``, https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.Support.html),
  so AWS answers that at ``up``.
- ``backup_retention_days``: "between 0 and 35 days. Setting the backup retention period
  to 0 disables automated backups"
  (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.BackupRetention.html).
- ``deletion_protection``: RDS refuses to delete a protected instance
  (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DeleteInstance.html);
  ``deployer down`` refuses it up front and ``down --destroy-data`` turns it off first.
- ``final_snapshot``: whether deleting the instance (``down --destroy-data``) first takes
  a final DB snapshot, which outlives the stack.
"""

from __future__ import annotations

from attrs import frozen

from deployer.config_section import Section

INSTANCE_CLASS = r"db\.[a-z]+[0-9]+[a-z-]*\.(micro|small|medium|large|[0-9]*xlarge)"
"""The shape of a DB instance class: ``db.``, the class type (a family letter or letters,
a generation digit, attribute letters: ``t4g``, ``m6gd``, ``x2iedn``), then the size."""


@frozen
class DatabaseSettings:
    """Parsed ``[targets.aws-ecs.database]``."""

    instance_class: str = "db.t4g.micro"
    multi_az: bool = False
    backup_retention_days: int = 7
    deletion_protection: bool = True
    final_snapshot: bool = True


def parse(s: Section) -> DatabaseSettings:
    """Read the table ``s`` (the nested section of ``[targets.aws-ecs]``); every bad key is
    recorded in the outer section's errors, which it raises at its own ``done()``."""
    default = DatabaseSettings()
    settings = DatabaseSettings(
        instance_class=s.text(
            "instance_class",
            default.instance_class,
            pattern=INSTANCE_CLASS,
            hint="an RDS DB instance class such as db.t4g.micro or db.m7g.large (db.<class type>.<size>)",
        ),
        multi_az=s.boolean("multi_az", default.multi_az),
        backup_retention_days=s.integer("backup_retention_days", default.backup_retention_days, minimum=0, maximum=35),
        deletion_protection=s.boolean("deletion_protection", default.deletion_protection),
        final_snapshot=s.boolean("final_snapshot", default.final_snapshot),
    )
    s.done()
    return settings
