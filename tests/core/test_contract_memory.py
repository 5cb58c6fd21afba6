"""The contract kit run against the in-memory test target: the kit itself is tested on
a target whose every step is visible. It serves real HTTP on a loopback port (in-process
copies of the sample app), so it passes every check, none skipped."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from deployer.models import PhaseContext
from deployer.testing import TargetContract, free_port

from .memory_target import MemoryTarget

pytestmark = pytest.mark.docker  # the core builds the sample app's image for every target


class MemoryContract(TargetContract):
    """The kit on a :class:`MemoryTarget` (or a subclass: the mutants)."""

    target = "memory"
    serve_timeout = 5  # in-process: it answers, logs and reports at once or never
    settle_timeout = 2
    log_moment_gap = 0.1  # its lines carry the exact time they were printed
    memory: ClassVar[MemoryTarget]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.memory = cls.make_target()
        cls.plugins = (("memory", cls.memory),)

    @classmethod
    def make_target(cls) -> MemoryTarget:
        return MemoryTarget(serve=True)

    def target_settings(self) -> dict[str, Any]:
        return {"port": free_port()}

    def leftovers(self, ctx: PhaseContext) -> list[str]:
        return self.memory.objects(ctx)

    def remove_one_replica(self, ctx: PhaseContext) -> None:
        self.memory.remove_one_replica(ctx)


class TestMemoryTargetContract(MemoryContract):
    pass
