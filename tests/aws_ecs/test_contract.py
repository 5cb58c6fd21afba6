"""The contract every target passes, run against aws-ecs through its emulated driver
(the real program under Pulumi mocks, applied to moto)."""

from __future__ import annotations

import pytest

from deployer.testing.aws_ecs import AwsEcsContract

pytestmark = pytest.mark.docker  # the core builds the sample app's image for every target


class TestAwsEcsContract(AwsEcsContract):
    pass
