"""The contract kit run against the in-memory test target: the kit itself is tested on
a target whose every step is visible."""

import pytest

from deployer.testing import TargetContract

from .memory_target import MemoryTarget

pytestmark = pytest.mark.docker  # the core builds the sample app's image for every target


class TestMemoryTargetContract(TargetContract):
    target = "memory"
    plugins = (("memory", MemoryTarget()),)
