"""deployer's contract kit against the bluegreen target, installed by entry point."""

from __future__ import annotations

import docker
import pytest
from deployer.testing import TargetContract, free_port

pytestmark = pytest.mark.docker


def _labelled(ctx) -> dict:
    return {"label": [f"dev.bluegreen.app={ctx.app.name}", f"dev.bluegreen.stack={ctx.stack}"]}


class TestBlueGreen(TargetContract):
    target = "bluegreen"

    def target_settings(self):
        return {"host_port": free_port()}

    def leftovers(self, ctx):
        client = docker.from_env()
        f = _labelled(ctx)
        return (
            [f"container {c.name}" for c in client.containers.list(all=True, filters=f)]
            + [f"volume {v.name}" for v in client.volumes.list(filters=f)]
            + [f"network {n.name}" for n in client.networks.list(filters=f)]
        )

    def remove_one_replica(self, ctx):
        client = docker.from_env()
        f = _labelled(ctx)
        f["label"].append("dev.bluegreen.role=replica")
        replicas = sorted(client.containers.list(filters=f), key=lambda c: c.name)
        replicas[0].remove(force=True)
