"""Faults made from outside deployer (``docker rm``, ``kill``): ``status`` says what
serves, DEGRADED (exit 1) with what to run whenever fewer replicas serve than desired,
and ``up`` brings the stack back. (An interrupted ``up``: ``test_rollout.py``.)"""

from __future__ import annotations

import json

import pytest
import requests
from typer.testing import CliRunner

from deployer import cli

pytestmark = pytest.mark.docker


def status(stack, *more: str):
    """``deployer status`` of ``stack`` through the CLI: (exit code, output)."""
    args = ["status", "--target", "local", "--stack", stack.stack, "--config", str(stack.config), *more]
    shown = CliRunner().invoke(cli.app, args)
    return shown.exit_code, shown.stdout


def up_command(stack) -> str:
    return f"`deployer up --target local --stack {stack.stack}`"


def names(rows) -> set[str]:
    return {r["Names"][0].lstrip("/") for r in rows}


def serves_version_1(stack) -> bool:
    return [requests.get(stack.url(), timeout=5).text for _ in range(4)] == ["version 1\n"] * 4


@pytest.mark.parametrize("tamper", ["rm", "kill"])
def test_a_load_balancer_removed_or_killed_is_degraded_until_up_brings_it_back(stack, tamper):
    stack.up()
    lb = f"deployer-ldtest.{stack.stack}-lb"
    if tamper == "rm":
        stack.docker.api.remove_container(lb, force=True)
    else:
        stack.docker.api.kill(lb)

    code, out = status(stack)
    assert code == 1, out
    assert out.splitlines()[0] == f"local/{stack.stack}: DEGRADED: 0/2 healthy at {stack.url('')}", out
    state = "missing" if tamper == "rm" else "not running (exited)"
    assert f"the load balancer {lb} is {state}, so no replica serves: run {up_command(stack)}" in out
    assert "None" not in out
    assert json.loads(status(stack, "--json")[1])["degraded"] is True

    stack.up()
    code, out = status(stack)
    assert code == 0 and "2/2 healthy" in out, out
    assert serves_version_1(stack)
