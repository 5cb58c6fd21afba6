"""docs/plugin-authoring.md works: its file blocks are the example package
(docs/examples/deployer-byo-vpc) byte for byte, following it in a new folder outside
the repository gives a plugin that deployer finds and whose own tests pass, and its
new-target walk-through quotes docs/examples/deployer-bluegreen exactly."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
DOC = ROOT / "docs" / "plugin-authoring.md"
EXAMPLE = ROOT / "docs" / "examples" / "deployer-byo-vpc"
FILE_BLOCK = re.compile(r"^<!-- file: (?P<path>\S+) -->\n```[\w-]*\n(?P<text>.*?)^```$", re.M | re.S)
"""A ``<!-- file: path -->`` line, then a fenced block: the whole file at ``path``."""
NOT_SOURCE = ("__pycache__", ".pytest_cache", ".egg-info", ".deployer")


def doc_files() -> dict[str, str]:
    """The doc's file blocks by path, in the order the doc shows them."""
    blocks = [(m["path"], m["text"]) for m in FILE_BLOCK.finditer(DOC.read_text(encoding="utf-8"))]
    assert len(dict(blocks)) == len(blocks), "a file is shown twice"
    return dict(blocks)


def example_files() -> dict[str, bytes]:
    """The example package's source files by path (build and cache output left out)."""
    return {
        path.relative_to(EXAMPLE).as_posix(): path.read_bytes()
        for path in sorted(EXAMPLE.rglob("*"))
        if path.is_file() and not any(part.endswith(NOT_SOURCE) for part in path.relative_to(EXAMPLE).parts)
    }


def test_the_doc_shows_every_file_of_the_example_package_byte_for_byte():
    shown, package = doc_files(), example_files()
    assert sorted(shown) == sorted(package)
    for path, text in shown.items():
        assert text.encode("utf-8") == package[path], f"{path} differs from its block in {DOC.name}"


def run(command: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{command}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.mark.docker  # the plugin's contract test builds the kit's sample image
@pytest.mark.slow
def test_following_the_doc_outside_the_repository_gives_a_plugin_whose_tests_pass(tmp_path):
    folder = tmp_path / "deployer-byo-vpc"
    for path, text in doc_files().items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text, encoding="utf-8")
    site = tmp_path / "site"  # built in pip's isolated build environment, installed here:
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",  # the shared one is unchanged
            "--target",
            str(site),
            str(folder),
        ],
        cwd=tmp_path,
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}

    where = run(
        [
            sys.executable,
            "-c",
            "import importlib.metadata as m, deployer_byo_vpc as p; "
            "print(p.__file__); print(m.distribution('deployer-byo-vpc').locate_file(''))",
        ],
        cwd=tmp_path,
        env=env,
    )
    assert all(line.startswith(str(site)) for line in where.stdout.split()), where.stdout
    targets = run([sys.executable, "-m", "deployer", "targets", "--json"], cwd=tmp_path, env=env)
    assert json.loads(targets.stdout)["load_failures"] == []

    # the suite's only run of these tests (pyproject.toml leaves the example's folder out)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs"]
    tests = run(command, cwd=folder, env=env)
    assert re.search(r"\b\d+ passed\b", tests.stdout), tests.stdout
    skips = [line for line in tests.stdout.splitlines() if line.startswith("SKIPPED")]
    assert skips == [], skips  # the emulator serves: the kit's HTTP checks run on aws-ecs too


EXCERPT = re.compile(r"^<!-- excerpt: (?P<path>\S+) -->\n```[\w-]*\n(?P<text>.*?)^```$", re.M | re.S)
"""A ``<!-- excerpt: path -->`` line, then a fenced block: lines quoted from ``path`` of
the new-target example (docs/examples/deployer-bluegreen)."""
BLUEGREEN = ROOT / "docs" / "examples" / "deployer-bluegreen"


def test_the_new_target_walk_through_quotes_the_bluegreen_example_exactly():
    excerpts = [(m["path"], m["text"]) for m in EXCERPT.finditer(DOC.read_text(encoding="utf-8"))]
    assert excerpts, "the walk-through quotes nothing of the example"
    for path, text in excerpts:
        assert text in (BLUEGREEN / path).read_text(encoding="utf-8"), f"{path}: the excerpt is not in the file"
