"""Isolated project folders for tests: the kit's sample app plus a ``deployer.toml``."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SAMPLE_APP = Path(__file__).parent / "sample_app"
"""A dependency-free HTTP app (stdlib only) with ``/healthz``; builds in seconds."""


def toml_value(value: Any) -> str:
    """``value`` as a TOML value (tables become inline tables)."""
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)  # strings, integers and booleans are spelled the same in TOML


def write_config(
    folder: Path,
    *,
    app: Mapping[str, Any],
    targets: Mapping[str, Mapping[str, Any]] = {},
    tables: Mapping[str, Mapping[str, Any]] = {},
) -> Path:
    """Write ``folder/deployer.toml`` with the ``[app]`` keys in ``app``, one
    ``[targets.<name>]`` table per entry of ``targets``, and the other top-level tables in
    ``tables`` (``{"database": {...}, "workers": {"mailer": {...}}}``, written as inline
    tables). Returns the config path."""
    lines = [f"{json.dumps(k)} = {toml_value(v)}" for k, v in tables.items()]
    lines += ["[app]", *(f"{json.dumps(k)} = {toml_value(v)}" for k, v in app.items())]
    for name, section in targets.items():
        lines += [
            "",
            f"[targets.{json.dumps(name)}]",
            *(f"{json.dumps(k)} = {toml_value(v)}" for k, v in section.items()),
        ]
    config = folder / "deployer.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


def write_project(
    folder: Path,
    *,
    app: Mapping[str, Any],
    targets: Mapping[str, Mapping[str, Any]] = {},
    tables: Mapping[str, Mapping[str, Any]] = {},
) -> Path:
    """Copy the sample app into ``folder/app`` and :func:`write_config` (``build.context``
    defaults to the copied app). Returns the config path."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(SAMPLE_APP, folder / "app", dirs_exist_ok=True)
    return write_config(folder, app={"build": {"context": "app"}, **app}, targets=targets, tables=tables)
