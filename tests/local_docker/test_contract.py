"""The contract every target passes, run against the local target on a real engine."""

from __future__ import annotations

import pytest

from deployer.testing.local import LocalContract

pytestmark = pytest.mark.docker


@pytest.mark.usefixtures("docker_client")
class TestLocalContract(LocalContract):
    pass
