"""The PostgreSQL versions the local target runs: 13 to 17; 18, which RDS runs, is refused
by ``up`` before anything is built (its official image's data directory moved), naming
``database.version``."""

from __future__ import annotations

import pytest

from deployer.errors import ConfigError
from deployer.plugins.local_docker import database
from deployer.services import DatabaseSpec


class Untouchable:
    """A Docker engine the refusal must never reach."""

    def __getattr__(self, name):
        raise AssertionError(f"the engine was asked for {name}")


def test_postgres_18_is_refused_before_the_engine_is_asked():
    with pytest.raises(ConfigError) as error:
        database.require_available(Untouchable(), DatabaseSpec(version="18"))
    assert error.value.key == "database.version" and error.value.exit_code == 2
    assert '"17"' in error.value.message and "/var/lib/postgresql" in error.value.message
