"""The local target's contract on this machine's Docker engine, for plugins that replace
or wrap one of its phases::

    from deployer.testing.local import LocalContract

    class TestMyIngress(LocalContract):
        pass   # the plugin under test is found by its entry point, as for users

It implements the kit's two required hooks the way the local target sees its stack:
``leftovers`` lists the containers, networks and volumes labelled with the app and the
stack; ``remove_one_replica`` removes one replica the load balancer routes to (never a
paused standby kept for rollback, which serves nothing).
"""

from __future__ import annotations

from typing import Any

from deployer.models import PhaseContext
from deployer.plugins.local_docker import engine, serving
from deployer.testing.contract import TargetContract
from deployer.testing.ports import free_port


class LocalContract(TargetContract):
    """:class:`~deployer.testing.TargetContract` on the local target, its stacks on a free
    loopback port each, checked every 2 s by the load balancer."""

    target = "local"

    def target_settings(self) -> dict[str, Any]:
        return {"host_port": free_port(), "health_interval": 2}

    def leftovers(self, ctx: PhaseContext) -> list[str]:
        """The containers (stopped ones too), networks and volumes labelled with the stack."""
        docker = engine.client()
        selector = engine.selector(ctx)
        return (
            [engine.name(c) for c in docker.api.containers(all=True, filters=selector)]
            + [n["Name"] for n in docker.api.networks(filters=selector)]
            + [v["Name"] for v in docker.api.volumes(filters=selector).get("Volumes") or ()]
        )

    def remove_one_replica(self, ctx: PhaseContext) -> None:
        """``docker rm -f`` one replica the load balancer routes to, as a user or the OOM
        killer might."""
        docker = engine.client()
        replica = serving.in_service(docker, ctx)[0]
        docker.api.remove_container(replica["Id"], force=True)
