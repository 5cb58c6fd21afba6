"""Manifest of the built-in ``local`` target: its registration and four phase hooks.

Every hook is ``trylast`` and answers only for ``ctx.target.name == "local"``, so a
third-party plugin can replace or wrap any one phase. This manifest is the target's one
import boundary: the driver and phase modules (which import everything they use at the
top, except the docker SDK, which only :class:`deployer.docker_engine.DockerEngine` loads)
are imported inside the hooks, so listing targets or running another target does not
load them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from deployer.hookspecs import hookimpl
from deployer.plugins.local_docker.settings import parse_settings
from deployer.targets import TargetInfo

if TYPE_CHECKING:
    from deployer.models import (
        ComputeResult,
        IngressResult,
        NetworkResult,
        PhaseContext,
        RegistryResult,
    )
    from deployer.services import ServicesResult
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
        )
    )


@hookimpl(trylast=True)
def deployer_network(ctx: PhaseContext) -> NetworkResult | None:
    if ctx.target.name != NAME:
        return None
    from deployer.plugins.local_docker import network

    return network.apply(ctx)


@hookimpl(trylast=True)
def deployer_services(ctx: PhaseContext, network: NetworkResult) -> ServicesResult | None:
    if ctx.target.name != NAME:
        return None
    from deployer.plugins.local_docker import database

    return database.apply(ctx, network)


@hookimpl(trylast=True)
def deployer_registry(ctx: PhaseContext, network: NetworkResult) -> RegistryResult | None:
    if ctx.target.name != NAME:
        return None
    from deployer.plugins.local_docker import registry

    return registry.apply(ctx)


@hookimpl(trylast=True)
def deployer_ingress(ctx: PhaseContext, network: NetworkResult, registry: RegistryResult) -> IngressResult | None:
    if ctx.target.name != NAME:
        return None
    from deployer.plugins.local_docker import ingress

    return ingress.apply(ctx, network, registry)


@hookimpl(trylast=True)
def deployer_compute(
    ctx: PhaseContext, network: NetworkResult, registry: RegistryResult, ingress: IngressResult
) -> ComputeResult | None:
    if ctx.target.name != NAME:
        return None
    from deployer.plugins.local_docker import release

    return release.apply(ctx, network, registry, ingress)
