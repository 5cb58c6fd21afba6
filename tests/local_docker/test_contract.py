"""The contract every target passes, run against the local target on a real engine."""

from __future__ import annotations

from typing import Any

import pytest

from deployer.models import PhaseContext
from deployer.testing import TargetContract, free_port

pytestmark = pytest.mark.docker


@pytest.mark.usefixtures("docker_client")
class TestLocalContract(TargetContract):
    target = "local"

    def target_settings(self) -> dict[str, Any]:
        return {"host_port": free_port(), "health_interval": 2}

    def leftovers(self, ctx: PhaseContext) -> list[str]:
        from deployer.plugins.local_docker import engine

        docker = engine.client()
        selector = engine.selector(ctx)
        return (
            [engine.name(c) for c in docker.api.containers(all=True, filters=selector)]
            + [n["Name"] for n in docker.api.networks(filters=selector)]
            + [v["Name"] for v in docker.api.volumes(filters=selector).get("Volumes") or ()]
        )

    def remove_one_replica(self, ctx: PhaseContext) -> None:
        """``docker rm -f`` one replica container, as a user or the OOM killer might."""
        from deployer.plugins.local_docker import engine

        docker = engine.client()
        replica = next(r for r in engine.containers(docker, ctx, engine.ROLE_REPLICA) if engine.is_up(r))
        docker.api.remove_container(replica["Id"], force=True)
