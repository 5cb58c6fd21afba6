"""The real website (website/) on the local target: built by the core, served through
HAProxy, rolled out without a failed request."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from deployer import api

WEBSITE = Path(__file__).resolve().parents[2] / "website"

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_website_serves_and_rolls_out_without_failures(stack, traffic):
    stack.context = WEBSITE
    stack.up()
    home = requests.get(stack.url(), timeout=10)
    assert home.status_code == 200 and "<html" in home.text.lower()
    assert requests.get(stack.url("/healthz"), timeout=10).status_code == 200
    assert api.status(stack.session()).healthy == 2

    stack.env = {"SITE_REVISION": "2"}
    with traffic(stack.url()) as load:
        stack.up()
    assert not load.failures, load.failures
    assert sum(load.bodies.values()) > 0
