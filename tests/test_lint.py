"""The code base stays lint-clean and formatted (ruff, configured in pyproject.toml), writes
each Docker label name once, and imports the docker SDK in one module."""

import re
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff_finds_nothing(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "--no-cache", "."],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[1],
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_docker_label_name_is_defined_in_docker_labels() -> None:
    """A ``dev.deployer.*`` label name is written once, in core/docker_labels.py; the
    product's other modules use its constants (a quoted name elsewhere fails this)."""
    root = Path(__file__).parents[1]
    quoted = re.compile(r"""["']dev\.deployer\.[a-z]""")
    found = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for folder in ("core", "plugins")
        for path in sorted((root / folder).rglob("*.py"))
        if path != root / "core" / "docker_labels.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if quoted.search(line)
    ]
    assert found == []
    from deployer import docker_labels

    names = [v for k, v in vars(docker_labels).items() if k.isupper() and isinstance(v, str)]
    assert all(name.startswith("dev.deployer.") for name in names) and len(set(names)) == len(names)


def test_only_the_docker_engine_facade_imports_the_docker_sdk() -> None:
    """The docker SDK (about 0.1 s of imports) has one boundary, deployer.docker_engine:
    everything else reaches it through DockerEngine.sdk, .api and .errors."""
    root = Path(__file__).parents[1]
    importing = re.compile(r"^\s*(import docker\b|from docker\b)", re.MULTILINE)
    found = [
        str(path.relative_to(root))
        for folder in ("core", "plugins")
        for path in sorted((root / folder).rglob("*.py"))
        if importing.search(path.read_text())
    ]
    assert found == ["core/docker_engine.py"]
