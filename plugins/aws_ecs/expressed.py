"""How aws-ecs expressed the app spec, read back from a task definition (parity).

The same function reads a planned task definition (the offline plan's recorded inputs)
and a live one (``ecs.describe_task_definition``): both carry ``cpu``, ``memory`` and
``containerDefinitions`` (a JSON string in the plan, a list from the API).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from deployer.models import ExpressedSpec
from deployer.services import DATABASE_ENV

DEPLOYER_ENV = frozenset({"PORT", *DATABASE_ENV})
"""Variables deployer sets itself on every target (the port, the database's); not part
of the user's env."""


def from_task_definition(task: Mapping[str, Any], *, image_id: str, health_path: str, replicas: int) -> ExpressedSpec:
    """The :class:`ExpressedSpec` of the first container of ``task``."""
    containers = task["containerDefinitions"]
    if isinstance(containers, str):
        containers = json.loads(containers)
    container = containers[0]
    names = [e["name"] for e in container.get("environment", [])]
    names += [s["name"] for s in container.get("secrets", [])]
    command = container.get("command")
    return ExpressedSpec(
        image_id=image_id,
        port=container["portMappings"][0]["containerPort"],
        env_names=tuple(sorted(set(names) - DEPLOYER_ENV)),
        health_path=health_path,
        cpu=int(task["cpu"]),
        memory=int(task["memory"]),
        replicas=replicas,
        command=tuple(command) if command else None,
    )
