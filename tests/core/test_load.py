"""The test kit's load loop (``deployer.testing.load.LoadLoop``): loopback URLs only,
asked directly whatever proxy the environment names."""

from __future__ import annotations

import pytest

from deployer.testing.load import LoadLoop
from tests.conftest import REFUSING_PROXY, name_proxy


@pytest.mark.parametrize("url", ["http://example.com/", "http://10.0.0.1:8080/", "http://localhost.example.com/"])
def test_a_url_off_this_machine_is_refused(url):
    with pytest.raises(ValueError, match="loopback addresses only"):
        LoadLoop(url)


def test_the_load_reaches_a_loopback_app_whatever_proxy_the_shell_names(site, monkeypatch):
    base, _ = site
    name_proxy(monkeypatch, REFUSING_PROXY)
    with LoadLoop(f"{base}/status", threads=1, max_requests=5) as load:
        pass
    assert load.failures == {} and load.bodies == {'{"state": "ok"}': 5}, (load.failures, load.bodies)
