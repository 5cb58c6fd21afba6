"""Docs cannot drift: every hook's exact signature appears in the architecture doc and in
the plugin author's guide, every driver method the core calls in the guide and in
``help(deployer.targets.Driver)``, and every module of the local target in its doc's
module table."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from deployer import api, hookspecs
from deployer.targets import Driver

DOCS = Path(__file__).parents[2] / "docs"
HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("deployer_"))


def signature(name: str) -> str:
    sig = inspect.signature(getattr(hookspecs, name))
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"{name}({params}) -> {sig.return_annotation}"


def test_there_are_four_phase_hooks_a_services_hook_and_a_registration_hook():
    assert HOOKS == [
        "deployer_compute",
        "deployer_ingress",
        "deployer_network",
        "deployer_register_targets",
        "deployer_registry",
        "deployer_services",
    ]


@pytest.mark.parametrize("doc", ["architecture.md", "plugin-authoring.md"])
@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_signature_is_documented(doc, hook):
    assert f"`{signature(hook)}`" in (DOCS / doc).read_text(), f"{doc} is missing or misstates {hook}"


def test_every_hook_has_a_contract_docstring():
    for name in HOOKS:
        doc = inspect.getdoc(getattr(hookspecs, name))
        assert doc and ":param" in doc, name


DRIVER_METHODS = {
    "preflight": "preflight(ctx) -> None",
    "up": "up(ctx, phases) -> Deployment",
    "plan": "plan(ctx, phases, *, offline=False) -> Plan",
    "down": "down(ctx, *, destroy_data=False) -> None",
    "status": "status(ctx) -> Status",
    "logs": "logs(ctx, *, follow=False, since=None) -> Iterator[LogLine]",
    "exec": "exec(ctx, command, *, replica=None, tty=False) -> int",
    "run": "run(ctx, command) -> int",
    "releases": "releases(ctx) -> list[Release]",
    "rollback_image": "rollback_image(ctx, release) -> Image",
    "lock": "lock(ctx) -> AbstractContextManager",
}
"""Every method the core calls on a driver, as the plugin author's guide states it."""


def optional_driver_methods() -> set[str]:
    """The methods the core looks up on a driver (``getattr(driver, "name", None)``) before
    calling them: the ones a driver may leave out."""
    source = inspect.getsource(api)
    return set(re.findall(r"getattr\((?:driver|session\.driver\(\)), \"(\w+)\"", source))


def test_the_driver_table_names_every_method_the_core_calls():
    required = {name for name, _ in inspect.getmembers(Driver, inspect.isfunction) if not name.startswith("_")}
    optional = optional_driver_methods()
    assert optional, "the pattern no longer finds the core's optional driver calls"
    assert required | optional == set(DRIVER_METHODS)


@pytest.mark.parametrize("method", sorted(DRIVER_METHODS))
def test_every_driver_method_is_in_the_guide_with_its_signature(method):
    guide = (DOCS / "plugin-authoring.md").read_text()
    assert f"`{DRIVER_METHODS[method]}`" in guide, f"plugin-authoring.md is missing or misstates {method}"


@pytest.mark.parametrize("method", sorted(optional_driver_methods() | {"down"}))
def test_help_of_the_driver_protocol_states_every_optional_method(method):
    """What the Protocol does not declare (the optional methods, and ``down``'s optional
    ``volumes``), its docstring states, so ``help(deployer.targets.Driver)`` shows it."""
    assert f"``{DRIVER_METHODS[method]}``" in inspect.getdoc(Driver)


def test_the_local_targets_module_table_names_every_module_and_only_those():
    table = (DOCS / "targets" / "local.md").read_text(encoding="utf-8").split("## Where the code is", 1)[1]
    listed = set(re.findall(r"^\| `(\w+\.py)` \|", table, re.M))
    modules = {p.name for p in (DOCS.parent / "plugins" / "local_docker").glob("*.py") if p.name != "__init__.py"}
    assert listed == modules
