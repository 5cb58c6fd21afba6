"""The real website (website/) on the local target: built by the core, served through
HAProxy, passing the checks the repository's deployer.toml declares for it, rolled out
without a failed request."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer import api
from deployer.config import load_project
from deployer.verify import require_passed, run_checks

REPO = Path(__file__).resolve().parents[2]
WEBSITE = REPO / "website"

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_website_serves_and_rolls_out_without_failures(stack, traffic):
    stack.context = WEBSITE
    stack.replicas = 2  # as the repository's deployer.toml deploys it
    stack.up()
    checks = load_project(REPO / "deployer.toml").checks
    assert checks
    require_passed(run_checks(stack.url(""), checks))
    assert api.status(stack.session()).healthy == 2

    stack.env = {"SITE_REVISION": "2"}
    with traffic(stack.url()) as load:
        stack.up()
    assert not load.failures, load.failures
    assert sum(load.bodies.values()) > 0
    require_passed(run_checks(stack.url(""), checks))
