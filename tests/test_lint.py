"""The code base stays lint-clean, formatted and type-checked (ruff and mypy, configured
in pyproject.toml)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff_finds_nothing(command: list[str]) -> None:
    result = _run("ruff", *command, "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing() -> None:
    """mypy checks the package as installed (strict for the core, see pyproject.toml).
    Its paths are shown as the source files (core/, plugins/), not the install's links."""
    result = _run("mypy", "-p", "deployer")
    report = re.sub(r"\S*__editable__[^/\s]*/deployer/plugins/", "plugins/", result.stdout)
    report = re.sub(r"\S*__editable__[^/\s]*/deployer/", "core/", report)
    hint = ""
    if 'Cannot find implementation or library stub for module named "deployer' in report:
        hint = "\n(install with `make install`: mypy needs the editable_mode=strict install)"
    assert result.returncode == 0, report + result.stderr + hint
