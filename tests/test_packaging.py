"""What each install brings, read from the installed distribution's metadata
(``importlib.metadata``): a plain ``pip install deployer`` brings no test dependency,
and the test kit (``deployer.testing``) imports only what its extra provides: the
``testing`` extra for the kit, ``aws`` and ``testing`` for its ``aws_ecs`` part."""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import importlib.util
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import deployer.testing

DIST = "deployer"
KIT = Path(deployer.testing.__file__).parent
TEST_TOOLS = {"pytest", "moto", "hypothesis", "ruff", "pytest-benchmark"}


def requirements() -> dict[str, set[str]]:
    """Canonical distribution names by extra: what the base install requires under
    "", what each extra adds under its name, with this distribution's own extras
    (``deployer[aws,testing]``) expanded."""
    metadata = importlib.metadata.metadata(DIST)
    extras = ["", *metadata.get_all("Provides-Extra", [])]
    direct: dict[str, list[Requirement]] = {extra: [] for extra in extras}
    for line in importlib.metadata.requires(DIST) or []:
        requirement = Requirement(line)
        if requirement.marker is None:
            direct[""].append(requirement)
            continue
        for extra in extras:
            if requirement.marker.evaluate({"extra": extra}):
                direct[extra].append(requirement)

    def names(extra: str) -> set[str]:
        found = set()
        for requirement in direct[extra]:
            if canonicalize_name(requirement.name) == DIST:
                for inner in requirement.extras:
                    found |= names(inner)
            else:
                found.add(canonicalize_name(requirement.name))
        return found

    return {extra: names(extra) for extra in extras}


def imported_modules(path: Path) -> Iterator[str]:
    """The absolute module names ``path`` imports (``from a import b``: ``a.b`` and ``a``)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def third_party_imports(files: list[Path]) -> dict[str, set[str]]:
    """Top-level third-party modules imported by ``files`` and, transitively, by the
    deployer modules they import, each with the files that import it."""
    found: dict[str, set[str]] = {}
    seen: set[Path] = set()
    todo = list(files)
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imported_modules(path):
            top = name.split(".")[0]
            if top == DIST:
                spec = importlib.util.find_spec(name) if _is_module(name) else None
                if spec is not None and spec.origin and spec.origin.endswith(".py"):
                    todo.append(Path(spec.origin))
            elif top not in sys.stdlib_module_names and top != "__future__":
                found.setdefault(top, set()).add(path.name)
    return found


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # ``from package import function``: not a module
        return False


@functools.cache
def _distributions() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()  # reads every installed distribution


def provided_by(module: str) -> set[str]:
    """Canonical names of the installed distributions that provide top-level ``module``."""
    return {canonicalize_name(name) for name in _distributions().get(module, [])}


def unprovided(files: list[Path], allowed: set[str]) -> dict[str, set[str]]:
    imports = third_party_imports(files)
    assert imports, "no third-party import found: the scan is broken"
    return {module: users for module, users in imports.items() if not provided_by(module) & allowed}


def kit_files(*, aws_ecs: bool) -> list[Path]:
    files = sorted(KIT.rglob("*.py"))
    return [path for path in files if ("aws_ecs" in path.relative_to(KIT).parts) == aws_ecs]


def test_a_plain_install_brings_no_test_dependency():
    base = requirements()[""]
    assert base, "no base requirements read"
    assert not base & TEST_TOOLS, base & TEST_TOOLS
    assert not base & requirements()["testing"]


def test_the_testing_extra_provides_every_module_the_kit_imports():
    extras = requirements()
    assert not unprovided(kit_files(aws_ecs=False), extras[""] | extras["testing"])


def test_the_aws_and_testing_extras_provide_every_module_the_aws_ecs_kit_imports():
    extras = requirements()
    assert kit_files(aws_ecs=True), "deployer.testing.aws_ecs not found"
    assert not unprovided(kit_files(aws_ecs=True), extras[""] | extras["aws"] | extras["testing"])


def test_the_aws_ecs_kit_names_the_right_extra_for_each_module_it_needs():
    from deployer.testing import aws_ecs

    extras = requirements()
    for module, extra in aws_ecs.REQUIRES.items():
        assert provided_by(module) & extras[extra], (module, extra)


@pytest.mark.parametrize("extra", ["aws", "testing"])
def test_the_dev_extra_holds_the_aws_and_testing_extras(extra):
    extras = requirements()
    assert extras[extra] <= extras["dev"]
