"""The emulated driver's state: one JSON file per stack,
``<project>/.deployer/emulated/<stack>.json``.

It holds the recorded resources in dependency order (inputs with secrets redacted, as in
offline plans), the emulator's ids for each, and the stack outputs. It plays the part of
a Pulumi stack's state for :class:`.emulated_driver.EmulatedDriver`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from attrs import field, frozen

from deployer.models import PhaseContext


@frozen
class Stored:
    """The emulated stack: applied resources in dependency order, and the stack outputs."""

    resources: tuple[dict, ...] = ()
    outputs: Mapping[str, Any] = field(factory=dict)


def key(resource: Mapping[str, Any]) -> tuple[str, str]:
    """A resource's identity in the stack: its type token and Pulumi name."""
    return resource["type"], resource["name"]


def state_file(ctx: PhaseContext) -> Path:
    return ctx.project_dir / ".deployer" / "emulated" / f"{ctx.stack}.json"


def load(ctx: PhaseContext) -> Stored:
    """The stored stack; empty when there is none."""
    path = state_file(ctx)
    if not path.exists():
        return Stored()
    data = json.loads(path.read_text())
    return Stored(tuple(data["resources"]), data["outputs"])


def save(ctx: PhaseContext, stored: Stored) -> None:
    """Write the state atomically (a temporary file, then a rename), compact: it is
    written after every applied resource, and an indented dump takes json's slow
    pure-Python path (about 2 ms a write)."""
    path = state_file(ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(
        json.dumps({"resources": list(stored.resources), "outputs": dict(stored.outputs)}, sort_keys=True)
    )
    temporary.replace(path)
