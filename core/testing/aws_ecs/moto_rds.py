"""RDS in the AWS emulator: the DB subnet group and the PostgreSQL instance of an app's
``[database]``, applied to moto through boto3 (see :mod:`.moto_appliers` for the contract).

The instance is named by its ``identifier`` input, else by its Pulumi resource name (Pulumi
would add a random suffix; without one the emulator's identifier is the mock's, so the
stack output ``database`` needs no mapping). moto creates the instance ``available`` at once, with its endpoint address and, with
``manageMasterUserPassword``, a Secrets Manager secret of its own (``rds!db-...``), as
RDS does. A change of a setting (:data:`MODIFIABLE`) is applied in place, as the provider
does, never by deleting the instance. Deleting an instance goes through ``DeleteDBInstance`` with the instance's own
``skipFinalSnapshot`` and ``finalSnapshotIdentifier``, as the Pulumi provider does: moto
refuses it while deletion protection is on (as RDS does) and makes the final snapshot;
what moto lets through that RDS refuses is checked by :func:`.aws_rules.guard_rds_calls`.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from deployer.testing.aws_ecs import emulated_serving

if TYPE_CHECKING:
    from deployer.testing.aws_ecs.moto_appliers import Aws


def create_subnet_group(aws: Aws, i: dict, name: str) -> dict:
    aws.rds.create_db_subnet_group(
        DBSubnetGroupName=name,
        DBSubnetGroupDescription=i.get("description", "Managed by Pulumi"),
        SubnetIds=i["subnetIds"],
        Tags=aws.tag_list(i.get("tags")),
    )
    return {"id": name, "name": name}


_INSTANCE_OPTIONS = {
    "instanceClass": "DBInstanceClass",
    "engineVersion": "EngineVersion",
    "allocatedStorage": "AllocatedStorage",
    "storageType": "StorageType",
    "storageEncrypted": "StorageEncrypted",
    "dbName": "DBName",
    "username": "MasterUsername",
    "manageMasterUserPassword": "ManageMasterUserPassword",
    "dbSubnetGroupName": "DBSubnetGroupName",
    "vpcSecurityGroupIds": "VpcSecurityGroupIds",
    "publiclyAccessible": "PubliclyAccessible",
    "port": "Port",
    "backupRetentionPeriod": "BackupRetentionPeriod",
    "deletionProtection": "DeletionProtection",
    "copyTagsToSnapshot": "CopyTagsToSnapshot",
    "autoMinorVersionUpgrade": "AutoMinorVersionUpgrade",
    "multiAz": "MultiAZ",
}
"""The instance's Pulumi inputs (wire names) that are CreateDBInstance parameters."""


def delete_subnet_group(aws: Aws, real: dict) -> None:
    with contextlib.suppress(aws.rds.exceptions.DBSubnetGroupNotFoundFault):  # gone already: idempotent
        aws.rds.delete_db_subnet_group(DBSubnetGroupName=real["name"])


MODIFIABLE: frozenset[str] = frozenset(
    {
        "instanceClass",
        "multiAz",
        "backupRetentionPeriod",
        "deletionProtection",
        "allocatedStorage",
        "engineVersion",
        "vpcSecurityGroupIds",
        "autoMinorVersionUpgrade",
        "copyTagsToSnapshot",
        "skipFinalSnapshot",
        "finalSnapshotIdentifier",
        "applyImmediately",
    }
)
"""The instance inputs a change of which the provider applies in place (ModifyDBInstance,
or only its own state for the last three), as for a new ``[targets.aws-ecs.database]``
setting: the instance, and its data, stay."""


def _options(i: dict, wires: frozenset[str] | None = None) -> dict[str, Any]:
    """The API parameters of the inputs (``wires``: only those), numbers as integers
    (Pulumi's arrive as floats)."""
    options = {
        api: i[wire] for wire, api in _INSTANCE_OPTIONS.items() if wire in i and (wires is None or wire in wires)
    }
    for key in ("AllocatedStorage", "Port", "BackupRetentionPeriod"):
        if key in options:
            options[key] = int(options[key])
    return options


def create_instance(aws: Aws, i: dict, name: str) -> dict:
    identifier = i.get("identifier") or name
    options = _options(i)
    found = aws.rds.create_db_instance(
        DBInstanceIdentifier=identifier,
        Engine=i["engine"],
        Tags=aws.tag_list(i.get("tags")),
        **options,
    )["DBInstance"]
    scheduler = emulated_serving.active()
    if scheduler is not None:  # the instance answers: a Postgres container under its address
        secret = (found.get("MasterUserSecret") or {}).get("SecretArn", "")
        scheduler.start_database(aws, found["Endpoint"]["Address"], secret, i.get("dbName") or "postgres")
    return {
        "id": found.get("DbiResourceId", identifier),
        "identifier": identifier,
        "arn": found["DBInstanceArn"],
        "address": found["Endpoint"]["Address"],
        "secretArn": (found.get("MasterUserSecret") or {}).get("SecretArn", ""),
        "skipFinalSnapshot": bool(i.get("skipFinalSnapshot", False)),
        "finalSnapshotIdentifier": i.get("finalSnapshotIdentifier"),
    }


def update_instance(aws: Aws, real: dict, i: dict) -> dict:
    """Apply the :data:`MODIFIABLE` inputs to the live instance: ``ModifyDBInstance``
    (moto applies at once what RDS applies in the next maintenance window unless
    ``applyImmediately``)."""
    modify = _options(i, MODIFIABLE)
    aws.rds.modify_db_instance(
        DBInstanceIdentifier=real["identifier"], ApplyImmediately=bool(i.get("applyImmediately")), **modify
    )
    return {
        **real,
        "skipFinalSnapshot": bool(i.get("skipFinalSnapshot", False)),
        "finalSnapshotIdentifier": i.get("finalSnapshotIdentifier"),
    }


def delete_instance(aws: Aws, real: dict) -> None:
    """``DeleteDBInstance`` as the provider sends it, from the instance's own inputs; an
    instance already deleted (``down --destroy-data`` deletes it first) is fine."""
    scheduler = emulated_serving.active()
    if scheduler is not None:
        scheduler.stop_database(aws)
    snapshot = {"FinalDBSnapshotIdentifier": real["finalSnapshotIdentifier"]} if real["finalSnapshotIdentifier"] else {}
    with contextlib.suppress(aws.rds.exceptions.DBInstanceNotFoundFault):
        aws.rds.delete_db_instance(
            DBInstanceIdentifier=real["identifier"], SkipFinalSnapshot=real["skipFinalSnapshot"], **snapshot
        )
