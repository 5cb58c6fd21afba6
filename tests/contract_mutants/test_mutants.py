"""The kit can fail: each mutant of the in-memory target (:mod:`.mutants`) fails exactly
the kit check meant to catch its defect, with the stated reason, and passes every other.

The whole kit runs against each mutant in one pytest subprocess (a generated test module
with one contract class per mutant, the classes spread over :data:`KIT_WORKERS`); its JUnit XML report says which checks failed,
were skipped or passed, and why.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from deployer.testing import TargetContract

from .mutants import MUTANTS

pytestmark = [pytest.mark.docker, pytest.mark.slow]  # the core builds the sample app's image

ROOT = Path(__file__).parents[2]
CHECKS = sorted(name for name, _ in inspect.getmembers(TargetContract, inspect.isfunction) if name.startswith("test_"))
HTTP_CHECKS = {
    "test_up_serves_the_apps_checks",
    "test_a_new_version_rolls_out_without_dropping_requests",
    "test_a_broken_release_is_refused_and_the_old_one_keeps_serving",
    "test_logs_return_the_apps_lines_and_since_filters_them",
    "test_secrets_reach_the_app",
}
KIT_WORKERS = 4
"""Classes run side by side: the memory target waits far more than it computes."""
NO_HTTP_REASON = "this copy of the memory target says it serves nothing"


def kit_module() -> str:
    """A test module: the kit against the correct target, each mutant, a target that
    serves no HTTP, and a contract class without its required hooks."""
    classes = [
        "class TestCorrect(MemoryContract):\n    pass\n",
        f"class TestNoHttp(MemoryContract):\n    serves_http = False\n    no_http_reason = {NO_HTTP_REASON!r}\n",
        "class TestNoHooks(TargetContract):\n    target = 'memory'\n    plugins = (('memory', MemoryTarget(serve=True)),)\n",
    ]
    for index, (mutant, _, _) in enumerate(MUTANTS.values()):
        classes.append(
            f"class TestMutant{index}(MemoryContract):\n"
            f"    @classmethod\n"
            f"    def make_target(cls):\n"
            f"        return mutants.{mutant.__name__}(serve=True)\n"
        )
    header = textwrap.dedent(
        """\
        from deployer.testing import TargetContract
        from tests.contract_mutants import mutants
        from tests.core.memory_target import MemoryTarget
        from tests.core.test_contract_memory import MemoryContract
        """
    )
    return header + "\n\n" + "\n\n".join(classes)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, tuple[str, str]]]:
    """Class name -> check name -> (outcome, message): passed, failed, error or skipped."""
    folder = tmp_path_factory.mktemp("kit")
    module, report = folder / "test_kit.py", folder / "report.xml"
    module.write_text(kit_module())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "pytest", str(module), "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT)]
    command += ["-p", "no:cacheprovider", "-q", f"--junitxml={report}"]
    command += ["-n", str(KIT_WORKERS), "--dist", "loadscope"]  # one class per worker at a time
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert report.exists(), done.stdout[-4000:] + done.stderr[-4000:]
    results: dict[str, dict[str, tuple[str, str]]] = {}
    for case in ElementTree.parse(report).iter("testcase"):
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome, message = child.tag, (child.get("message") or "") + "\n" + (child.text or "")
                break
        results.setdefault(case.get("classname", "").rsplit(".", 1)[-1], {})[case.get("name", "")] = (outcome, message)
    return results


def test_the_correct_target_passes_every_check(outcomes):
    assert {name: outcome for name, (outcome, _) in outcomes["TestCorrect"].items()} == dict.fromkeys(CHECKS, "passed")


@pytest.mark.parametrize("index,description", list(enumerate(MUTANTS)), ids=list(MUTANTS))
def test_each_mutant_fails_its_check_and_only_that_one(outcomes, index, description):
    _, check, reason = MUTANTS[description]
    seen = outcomes[f"TestMutant{index}"]
    assert sorted(seen) == CHECKS
    failed = {name: message for name, (outcome, message) in seen.items() if outcome in ("failure", "error")}
    assert list(failed) == [check], failed
    assert reason in failed[check], failed[check]
    skipped = {name: message for name, (outcome, message) in seen.items() if outcome == "skipped"}
    for message in skipped.values():  # only checks that need what the failed one shows is broken
        assert check in message, skipped


def test_a_target_that_serves_no_http_has_those_checks_skipped_with_its_reason(outcomes):
    seen = outcomes["TestNoHttp"]
    skipped = {name for name, (outcome, _) in seen.items() if outcome == "skipped"}
    assert skipped == HTTP_CHECKS
    assert all(NO_HTTP_REASON in seen[name][1] for name in skipped)
    assert all(outcome == "passed" for name, (outcome, _) in seen.items() if name not in skipped)


def test_a_contract_without_its_required_hooks_fails_saying_what_to_implement(outcomes):
    seen = outcomes["TestNoHooks"]
    assert sorted(seen) == CHECKS
    for outcome, message in seen.values():
        assert outcome == "error", (outcome, message)
        assert "must implement the contract's required hooks" in message
        assert "def leftovers(self, ctx) -> list[str]" in message
        assert "def remove_one_replica(self, ctx) -> None" in message
