"""pytest plugin (entry point ``pytest11``): fixtures for testing deployer plugins."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from deployer import plugin_manager
from deployer.plugin_manager import BUILTIN_PLUGINS, get_plugin_manager
from deployer.testing.project import write_project
from deployer.testing.recorder import HookRecorder


@pytest.fixture
def hook_recorder() -> HookRecorder:
    """A fresh :class:`HookRecorder`; register it in a plugin manager to observe phases."""
    return HookRecorder()


@pytest.fixture
def deployer_plugin_manager(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """``deployer_plugin_manager(("name", plugin), ..., builtins=False)``: a plugin manager
    holding only the chosen plugins (no installed entry points), also used by the
    library API and the CLI for the rest of the test."""

    def make(*plugins: tuple[str, object], builtins: bool = False) -> Any:
        pm = get_plugin_manager(builtins=BUILTIN_PLUGINS if builtins else {}, entry_points_=(), extra=plugins)
        monkeypatch.setattr(plugin_manager, "get_plugin_manager", lambda **_: pm)
        return pm

    return make


@pytest.fixture
def deployer_project(tmp_path: Path) -> Callable[..., Path]:
    """``deployer_project(app={...}, targets={...}, tables={...})``: an isolated project
    folder with the kit's sample app and a ``deployer.toml`` (``tables``: other top-level
    tables, such as ``database`` and ``workers``); returns the config path."""

    def make(
        *,
        app: Mapping[str, Any] | None = None,
        targets: Mapping[str, Mapping[str, Any]] = {},
        tables: Mapping[str, Mapping[str, Any]] = {},
    ) -> Path:
        return write_project(tmp_path / "project", app=app or {"name": "sample"}, targets=targets, tables=tables)

    return make
