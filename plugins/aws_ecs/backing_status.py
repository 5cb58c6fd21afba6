"""The ``status`` details of aws-ecs beyond the web service: the database and the workers.

Shaped as the local target's (``Status.details["database"]`` and ``["workers"]``, each a
list of records), so ``deployer status`` prints them the same way on both targets. Read
live from AWS with the stack outputs ``database`` (the RDS instance identifier) and
``workers`` (worker name to ECS service name):

- database: ``DescribeDBInstances``: its status, engine and version, instance class,
  Multi-AZ, storage encryption and deletion protection;
- workers: ``DescribeServices``: each worker service's running and desired task counts
  and its PRIMARY deployment's rollout state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import evolve

from deployer.models import Status
from deployer.plugins.aws_ecs.database_down import describe

DESCRIBE_SERVICES_MAX = 10
"""DescribeServices takes at most 10 services a call
(https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html)."""


def with_backing_services(status: Status, *, rds: Any, ecs: Any, outputs: Mapping[str, Any]) -> Status:
    """``status`` with the database and worker records added to its details (none added
    when the stack has neither)."""
    details = dict(status.details)
    if outputs.get("database"):
        details["database"] = [database_record(rds, outputs["database"])]
    if outputs.get("workers"):
        details["workers"] = worker_records(ecs, outputs["cluster"], outputs["workers"])
    return evolve(status, details=details)


def database_record(rds: Any, identifier: str) -> dict[str, Any]:
    """One record of the RDS instance; ``status: not found`` when it does not exist."""
    found = describe(rds, identifier)
    if found is None:
        return {"name": identifier, "status": "not found"}
    return {
        "name": identifier,
        "status": found.get("DBInstanceStatus"),
        "engine": f"{found.get('Engine')} {found.get('EngineVersion')}",
        "class": found.get("DBInstanceClass"),
        "multi_az": bool(found.get("MultiAZ")),
        "encrypted": bool(found.get("StorageEncrypted")),
        "deletion_protection": bool(found.get("DeletionProtection")),
    }


def worker_records(ecs: Any, cluster: str, services: Mapping[str, str]) -> list[dict[str, Any]]:
    """One record per worker service, in the order ``services`` names them."""
    names = list(services.values())
    found = {}
    for start in range(0, len(names), DESCRIBE_SERVICES_MAX):
        chunk = names[start : start + DESCRIBE_SERVICES_MAX]
        found.update({s["serviceName"]: s for s in ecs.describe_services(cluster=cluster, services=chunk)["services"]})
    records: list[dict[str, Any]] = []
    for worker, name in services.items():
        service = found.get(name)
        if service is None or service.get("status") == "INACTIVE":
            records.append({"name": name, "worker": worker, "state": "not found"})
            continue
        primary: dict[str, Any] = next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), {})
        records.append(
            {
                "name": name,
                "worker": worker,
                "running": service.get("runningCount", 0),
                "desired": service.get("desiredCount", 0),
                "rollout": primary.get("rolloutState"),
            }
        )
    return records
