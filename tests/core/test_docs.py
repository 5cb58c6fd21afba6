"""Docs cannot drift: every hook's exact signature appears in the architecture doc and in
the plugin author's guide."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from deployer import hookspecs

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
