"""Manifest of the built-in ``local`` target: its registration and four phase hooks.

The phase hooks come from :class:`~deployer.targets.TargetPhases`: each is ``trylast`` and
answers only for ``ctx.target.name == "local"``, so a third-party plugin can replace or
wrap any one phase. This manifest is the target's one import boundary: the driver and
phase modules (which import everything they use at the top, except the docker SDK, which
only :class:`deployer.docker_engine.DockerEngine` loads) are imported on first use
(:func:`~deployer.targets.phase_from`), so listing targets or running another target
does not load them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from deployer.hookspecs import hookimpl
from deployer.plugins.local_docker.settings import parse_settings
from deployer.plugins.local_docker.sizes import check_app
from deployer.targets import TargetInfo, TargetPhases, phase_from

if TYPE_CHECKING:
    from deployer.targets import Driver

NAME = "local"


def _driver() -> Driver:
    from deployer.plugins.local_docker.driver import LocalDriver

    return LocalDriver()


@hookimpl
def deployer_register_targets(register: Callable[[TargetInfo], None]) -> None:
    register(
        TargetInfo(
            name=NAME,
            description="The local Docker engine: replicas behind an HAProxy container on a loopback port.",
            driver=_driver,
            phases={
                "network": "a user-defined bridge network per app and stack",
                "registry": "the core-built image in the local image store (no push)",
                "ingress": "an HAProxy container published on <bind>:<host_port>, health-checking replicas",
                "compute": "N replica containers, rolled out with zero downtime",
            },
            parse_settings=parse_settings,
            check_app=check_app,
            runs=frozenset({"workers", "release_command", "database"}),
        )
    )


_MODULES = "deployer.plugins.local_docker."
phases = TargetPhases(
    NAME,
    network=phase_from(_MODULES + "network", "apply"),
    registry=phase_from(_MODULES + "registry", "apply"),
    ingress=phase_from(_MODULES + "ingress", "apply"),
    compute=phase_from(_MODULES + "release", "apply"),
    services=phase_from(_MODULES + "database", "apply"),
)
deployer_network = phases.deployer_network
deployer_services = phases.deployer_services
deployer_registry = phases.deployer_registry
deployer_ingress = phases.deployer_ingress
deployer_compute = phases.deployer_compute
