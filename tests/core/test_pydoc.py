"""``help()`` on deployer's modules shows no environment value: no signature default,
constant or docstring holds ``os.environ`` (it would print every secret of the shell)."""

from __future__ import annotations

import importlib
import os
import pkgutil
import pydoc

import pytest

import deployer


def public_modules() -> list[str]:
    names = ["deployer"]
    for info in pkgutil.walk_packages(deployer.__path__, "deployer."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


def test_there_are_public_modules_to_check():
    assert {"deployer.api", "deployer.config", "deployer.plugin_manager", "deployer.testing.contract"} <= set(
        public_modules()
    )


@pytest.mark.parametrize("name", public_modules())
def test_help_prints_no_environment_value(name, monkeypatch, tmp_path):
    monkeypatch.setenv("DEPLOYER_PYDOC_CANARY", "canary-value-that-must-not-show")
    for where in ("PWD", "OLDPWD"):  # the checkout's own folder appears in paths the package documents
        monkeypatch.setenv(where, str(tmp_path))
    module = importlib.import_module(name)
    text = pydoc.render_doc(module, renderer=pydoc.plaintext).replace(str(module.__file__), "")  # FILE: its path
    shown = sorted(key for key, value in os.environ.items() if len(value) > 8 and value in text)
    assert not shown, f"help({name}) prints the value of {shown}"
