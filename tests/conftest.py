"""Shared fixtures: a throwaway project folder with a config file and a Dockerfile."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

MINIMAL_CONFIG = """
[app]
name = "demo"
port = 8000

[app.build]
context = "app"
"""


@pytest.fixture
def make_project(tmp_path: Path):
    """``make_project(toml_text)`` writes ``deployer.toml`` and an ``app/Dockerfile`` and
    returns the config path."""

    def make(text: str = MINIMAL_CONFIG, *, name: str = "deployer.toml") -> Path:
        (tmp_path / "app").mkdir(exist_ok=True)
        (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\n")
        config = tmp_path / name
        config.write_text(textwrap.dedent(text))
        return config

    return make
