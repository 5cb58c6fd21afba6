"""``[targets.local]`` parsing and the manifest: no Docker needed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from deployer.errors import ConfigError
from deployer.plugins.local_docker.settings import LocalSettings, parse_settings


def test_defaults_are_loopback_and_safe():
    settings = parse_settings({}, "targets.local")
    assert settings == LocalSettings()
    assert (settings.bind, settings.host_port, settings.read_only) == ("127.0.0.1", 8080, True)


def test_keys_are_read_and_typed():
    settings = parse_settings({"host_port": 9000, "bind": "0.0.0.0", "drain_seconds": 0}, "targets.local")
    assert (settings.host_port, settings.bind, settings.drain_seconds) == (9000, "0.0.0.0", 0)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"hostport": 1}, "targets.local.hostport"),
        ({"host_port": 0}, "targets.local.host_port"),
        ({"host_port": "80"}, "targets.local.host_port"),
        ({"bind": "localhost"}, "targets.local.bind"),
        ({"restart": "sometimes"}, "targets.local.restart"),
    ],
)
def test_bad_keys_name_the_key(raw, key):
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw, "targets.local")
    assert caught.value.key == key


def test_listing_targets_does_not_import_docker():
    code = (
        "import sys; from deployer.plugin_manager import get_plugin_manager; "
        "assert 'local' in get_plugin_manager().targets; print('docker' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
