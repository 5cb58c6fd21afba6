"""``down`` of a stack whose app has a database: what happens to the RDS instance.

RDS refuses to delete an instance with deletion protection on ("The database can't be
deleted when deletion protection is enabled",
https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBInstance.html,
``DeletionProtection``; https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DeleteInstance.html),
so a plain ``pulumi destroy`` would fail only after it had removed everything else.
:func:`release` runs before the destroy and decides up front, from the live instance:

- deletion protection on and no ``--destroy-data``: a :class:`UsageError` (exit 2) saying
  what would be lost and how to proceed; nothing is touched;
- otherwise (``--destroy-data``, or protection already off): deletion protection off, then
  ``DeleteDBInstance`` with a final snapshot named here (``<identifier>-final-<UTC time>``,
  unique, so a second ``down`` never collides with the first one's snapshot) unless
  ``[targets.aws-ecs.database] final_snapshot = false``; it waits until the instance is
  gone and returns the snapshot's name. The destroy that follows finds the instance
  deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from deployer.errors import DeployFailed, UsageError
from deployer.models import PhaseContext

DELETE_DOCS = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DeleteInstance.html"
WAIT_DELAY = 30
"""Seconds between two reads while RDS deletes the instance (and takes its snapshot)."""


def down_command(ctx: PhaseContext) -> str:
    """The ``deployer down`` command line of this target and stack, for the refusal to quote."""
    return f"deployer down --target {ctx.target.name} --stack {ctx.stack}"


def describe(rds: Any, identifier: str) -> dict[str, Any] | None:
    """The instance as ``DescribeDBInstances`` returns it; None when it does not exist."""
    try:
        return rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    except rds.exceptions.DBInstanceNotFoundFault:
        return None


def release(
    rds: Any,
    identifier: str,
    *,
    destroy_data: bool,
    final_snapshot: bool,
    command: str,
    report: Callable[[str], None],
    timeout: float = 3600,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> str | None:
    """Delete the database ``identifier`` before the stack is destroyed, or refuse.

    :param destroy_data: the user ran ``down --destroy-data``.
    :param final_snapshot: take a final snapshot before deleting.
    :param command: the ``deployer down ...`` command line to quote in the refusal.
    :returns: the final snapshot's identifier; None when none was taken or there is no
        instance (already deleted: nothing to do).
    :raises UsageError: deletion protection is on and ``destroy_data`` is False.
    """
    found = describe(rds, identifier)
    if found is None:
        return None
    protected = bool(found.get("DeletionProtection"))
    if protected and not destroy_data:
        raise UsageError(_refusal(found, command, final_snapshot))
    if protected:
        report(f"aws-ecs: turning off deletion protection of database {identifier} (--destroy-data)")
        rds.modify_db_instance(DBInstanceIdentifier=identifier, DeletionProtection=False, ApplyImmediately=True)
    snapshot = f"{identifier}-final-{now():%Y%m%d%H%M%S}" if final_snapshot else None
    report(
        f"aws-ecs: deleting database {identifier}"
        + (
            f", final snapshot {snapshot} first ..."
            if snapshot
            else " without a final snapshot (final_snapshot = false) ..."
        )
    )
    if snapshot:
        rds.delete_db_instance(DBInstanceIdentifier=identifier, FinalDBSnapshotIdentifier=snapshot)
    else:
        rds.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)
    waiter = rds.get_waiter("db_instance_deleted")
    try:
        waiter.wait(
            DBInstanceIdentifier=identifier,
            WaiterConfig={"Delay": WAIT_DELAY, "MaxAttempts": max(1, int(timeout // WAIT_DELAY))},
        )
    except Exception as exc:  # botocore WaiterError: still deleting after timeout, or it failed
        raise DeployFailed(
            f"aws-ecs: database {identifier} was not deleted within {timeout:.0f} s ({exc}); nothing else was "
            "removed: run the same down again once RDS has deleted it"
        ) from None
    if snapshot:
        report(
            f"aws-ecs: database {identifier} deleted; its final snapshot {snapshot} is kept (RDS snapshots outlive "
            f"the stack: restore with `aws rds restore-db-instance-from-db-snapshot --db-snapshot-identifier "
            f"{snapshot} ...`, delete it with `aws rds delete-db-snapshot` when no longer needed)"
        )
    else:
        report(f"aws-ecs: database {identifier} deleted, no snapshot kept")
    return snapshot


def _refusal(found: dict[str, Any], command: str, final_snapshot: bool) -> str:
    identifier = found["DBInstanceIdentifier"]
    backups = found.get("BackupRetentionPeriod") or 0
    what = (
        f"{found.get('Engine', 'postgres')} {found.get('EngineVersion', '')}".strip()
        + f", {found.get('AllocatedStorage', '?')} GiB"
        + (f", and its {backups} days of automated backups" if backups else "")
    )
    then = (
        "it turns deletion protection off, takes a final snapshot and deletes the instance"
        if final_snapshot
        else "it turns deletion protection off and deletes the instance WITHOUT a final snapshot "
        "([targets.aws-ecs.database] final_snapshot = false)"
    )
    return (
        f"aws-ecs: database {identifier} has deletion protection on: down would delete it and every row in it "
        f"({what}). Nothing was removed. To delete it with the rest of the stack, run `{command} --destroy-data` "
        f"({then}); to keep the data, keep the stack ({DELETE_DOCS})."
    )
