"""The phase runner: the four phase hooks, in order, with checked results; the backing
services hook (``deployer_services``) runs between network and registry.

Drivers receive the runner as ``phases`` and call it where their phases must run
(directly for Docker, inside the Pulumi program for AWS). Plugins observe or change a
phase with a ``wrapper=True`` implementation of its hook; the core itself only times
each phase and reports it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from attrs import evolve

from deployer.errors import PluginError
from deployer.models import (
    PHASES,
    ComputeResult,
    IngressResult,
    NetworkResult,
    PhaseContext,
    PhaseResults,
    RegistryResult,
)
from deployer.services import ServicesResult, declared_services
from deployer.targets import RunPhases

_Result = TypeVar("_Result")


class PhaseHooks:
    """A typed facade over the four phase hooks: one method per phase, each checking
    that some plugin claimed the phase and returned the documented type."""

    def __init__(self, pm: Any):
        self._hook = pm.hook

    def _call(self, phase: str, expected: type[_Result], ctx: PhaseContext, **previous: Any) -> _Result:
        result = getattr(self._hook, f"deployer_{phase}")(ctx=ctx, **previous)
        if result is None:
            raise PluginError(
                f"no plugin implements the {phase} phase for target {ctx.target.name!r}: "
                f"every deployer_{phase} implementation returned None"
            )
        if not isinstance(result, expected):
            raise _wrong_type(getattr(self._hook, f"deployer_{phase}"), ctx, result, expected.__name__)
        return result

    def network(self, ctx: PhaseContext) -> NetworkResult:
        return self._call("network", NetworkResult, ctx)

    def services(self, ctx: PhaseContext, network: NetworkResult) -> ServicesResult:
        """The services phase; None is allowed (empty result) when the app declares no
        backing service, so targets without one keep working."""
        result = self._hook.deployer_services(ctx=ctx, network=network)
        wanted = declared_services(ctx.app)
        if result is None:
            if wanted:
                raise PluginError(
                    f"target {ctx.target.name!r} provides no backing services (every deployer_services "
                    f"implementation returned None), but the config declares: {', '.join(wanted)}"
                )
            return ServicesResult()
        if not isinstance(result, ServicesResult):
            raise _wrong_type(self._hook.deployer_services, ctx, result, "ServicesResult")
        missing = [name for name in wanted if name not in result.services]
        if missing:
            raise PluginError(
                f"target {ctx.target.name!r} did not provide the backing service(s) the config declares: "
                f"{', '.join(missing)}"
            )
        return result

    def registry(self, ctx: PhaseContext, network: NetworkResult) -> RegistryResult:
        return self._call("registry", RegistryResult, ctx, network=network)

    def ingress(self, ctx: PhaseContext, network: NetworkResult, registry: RegistryResult) -> IngressResult:
        return self._call("ingress", IngressResult, ctx, network=network, registry=registry)

    def compute(
        self, ctx: PhaseContext, network: NetworkResult, registry: RegistryResult, ingress: IngressResult
    ) -> ComputeResult:
        return self._call("compute", ComputeResult, ctx, network=network, registry=registry, ingress=ingress)


PhaseObserver = Callable[[str, float], None]
"""Called after each phase with its name and duration in seconds."""


def _wrong_type(hook: Any, ctx: PhaseContext, result: object, expected: str) -> PluginError:
    """A phase hook's result of the wrong type, naming the plugins implementing the hook
    (wrappers marked: one of them may have replaced the result) to look at."""
    plugins = ", ".join(
        f"{impl.plugin_name!r}{' (wrapper)' if impl.wrapper or impl.hookwrapper else ''}"
        for impl in hook.get_hookimpls()
    )
    return PluginError(
        f"{hook.name} for target {ctx.target.name!r} returned {type(result).__name__}, expected {expected} "
        f"(implemented by {plugins})"
    )


def phase_runner(pm: Any, *, observe: PhaseObserver | None = None) -> RunPhases:
    """A :data:`RunPhases` that calls network, registry, ingress and compute in that
    order, passing each the results of the phases before it."""
    hooks = PhaseHooks(pm)

    def run(ctx: PhaseContext) -> PhaseResults:
        results: dict[str, Any] = {}
        services: ServicesResult | None = None
        for phase in PHASES:
            started = time.perf_counter()
            results[phase] = getattr(hooks, phase)(ctx, **results)
            if observe is not None:
                observe(phase, time.perf_counter() - started)
            if phase == "network":  # backing services next; later phases see them on ctx
                started = time.perf_counter()
                services = hooks.services(ctx, results["network"])
                ctx = evolve(ctx, services=services)
                if observe is not None and (services.services or services.env):
                    observe("services", time.perf_counter() - started)
        return PhaseResults(**results, services=services)

    return run
