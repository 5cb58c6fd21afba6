"""The hooks a deployer plugin can implement, grouped by lifecycle stage.

Mark implementations with :data:`hookimpl`. Built-in targets are ordinary plugins whose
phase implementations are ``trylast``, so a third-party plugin can:

- add a target: implement :func:`deployer_register_targets`; the
  :class:`~deployer.targets.TargetInfo` you register validates its settings
  (``parse_settings``) and the app spec for what it can run (``check_app``: the core
  knows no platform's limits and calls it before ``up`` and ``plan`` build anything);
- replace one phase of a target: implement that phase hook with ``tryfirst=True`` and
  return a result when ``ctx.target.name`` is the target you replace (``None`` otherwise);
- wrap one phase (timing, logging, adding a WAF): implement it with ``wrapper=True``,
  ``result = yield``, then return the result (or a changed copy).

Every phase hook is ``firstresult``: it stops at the first non-None result. A phase that
returns None for the selected target is a plugin error (no implementation claimed it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from deployer.models import (
        ComputeResult,
        IngressResult,
        NetworkResult,
        PhaseContext,
        RegistryResult,
    )
    from deployer.services import ServicesResult
    from deployer.targets import TargetInfo

PROJECT = "deployer"
_hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
"""Marker for hook implementations: ``@hookimpl`` or ``@hookimpl(tryfirst=True)``."""


# --- registration -----------------------------------------------------------------------


@_hookspec
def deployer_register_targets(register: Callable[[TargetInfo], None]) -> None:
    """Add targets by calling ``register(TargetInfo(...))`` once per target.

    Called once when the plugin manager is built. The core owns the collection: a name
    registered twice is an error naming both plugins.

    :param register: call it with a :class:`deployer.targets.TargetInfo`.
    """


# --- the phases, in the order they run ---------------------------------------------------


@_hookspec(firstresult=True)
def deployer_network(ctx: PhaseContext) -> NetworkResult | None:
    """Phase 1, network: where the app lives (a VPC and subnets, a Docker network).

    Called first, once per ``up`` or ``plan``. In ``plan`` mode describe, never create.
    Stops at first non-None result.

    :param ctx: the app spec, target config, stack, mode, image and secrets.
    :return: a :class:`NetworkResult`, or None when ``ctx.target.name`` is not yours.
    """


@_hookspec(firstresult=True)
def deployer_services(ctx: PhaseContext, network: NetworkResult) -> ServicesResult | None:
    """Backing services (between network and registry): what the app's workloads use
    besides their own image, such as the ``[database]`` of ``ctx.app.database``.

    Runs after network because a service lives on the app's network, and before the
    other phases because every workload (replicas, workers, the release command) is
    created with the env it returns. The phase runner passes the result on as
    ``ctx.services`` to registry, ingress and compute; their signatures do not change.
    Create what is missing and wait until it accepts connections; never remove the
    service's data (only ``down --destroy-data`` does, through the driver's
    ``down(ctx, destroy_data=True)``).

    Returns None when the target provides none: allowed only when the app declares no
    backing service. To add a kind of service to an existing target, wrap this hook
    (``wrapper=True``): ``result = yield``, then return a copy whose ``env`` and
    ``services`` include yours. Stops at first non-None result.

    :param ctx: as for :func:`deployer_network`.
    :param network: the network phase's result.
    :return: a :class:`deployer.services.ServicesResult` whose ``env`` values are
        secrets (never printed), or None.
    """


@_hookspec(firstresult=True)
def deployer_registry(ctx: PhaseContext, network: NetworkResult) -> RegistryResult | None:
    """Phase 2, registry: make the core-built image (``ctx.image``) available to compute.

    Never rebuild: push or reference the image the core built, so every target runs the
    same image ID. Stops at first non-None result.

    :param ctx: as for :func:`deployer_network`.
    :param network: the network phase's result.
    :return: a :class:`RegistryResult`, or None when the target is not yours.
    """


@_hookspec(firstresult=True)
def deployer_ingress(ctx: PhaseContext, network: NetworkResult, registry: RegistryResult) -> IngressResult | None:
    """Phase 3, ingress: how traffic reaches the app (a load balancer and its routing target).

    Runs before compute because workloads register into a routing target that must
    exist first. Stops at first non-None result.

    :param ctx: as for :func:`deployer_network`.
    :param network: the network phase's result.
    :param registry: the registry phase's result.
    :return: an :class:`IngressResult` whose ``attach`` compute registers into, or None.
    """


@_hookspec(firstresult=True)
def deployer_compute(
    ctx: PhaseContext,
    network: NetworkResult,
    registry: RegistryResult,
    ingress: IngressResult,
) -> ComputeResult | None:
    """Phase 4, compute: run ``ctx.app.replicas`` copies of ``registry.image_ref``, attached
    to ``ingress.attach``, with the app's port, env, secrets, health check, cpu and memory.

    Stops at first non-None result.

    :param ctx: as for :func:`deployer_network`.
    :param network: the network phase's result.
    :param registry: the registry phase's result.
    :param ingress: the ingress phase's result.
    :return: a :class:`ComputeResult`, or None when the target is not yours.
    """
