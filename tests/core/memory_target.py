"""A small in-memory target, written the way a third-party author would: the core's
tests use it to show that plugins add targets, replace phases and wrap phases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from deployer import hookimpl
from deployer.models import (
    Change,
    ComputeResult,
    Deployment,
    ExpressedSpec,
    IngressResult,
    LogLine,
    NetworkResult,
    PhaseContext,
    Plan,
    RegistryResult,
    Status,
)
from deployer.settings import Section
from deployer.targets import RunPhases, TargetInfo


def parse_settings(raw: Any, key: str) -> dict[str, int]:
    section = Section(raw, key)
    settings = {"port": section.integer("port", 9999, minimum=1, maximum=65535)}
    section.done()
    return settings


class MemoryTarget:
    """Deploys into a dict. ``deployed`` maps (app, stack) to the phase results."""

    def __init__(self, name: str = "memory"):
        self.name = name
        self.deployed: dict[tuple[str, str], Any] = {}

    def _mine(self, ctx: PhaseContext) -> bool:
        return ctx.target.name == self.name

    @hookimpl
    def deployer_register_targets(self, register):
        register(
            TargetInfo(
                name=self.name,
                description="deploys into memory (tests)",
                driver=lambda: MemoryDriver(self),
                phases={"network": "a name", "registry": "the tag", "ingress": "a URL", "compute": "a count"},
                parse_settings=parse_settings,
            )
        )

    @hookimpl(trylast=True)
    def deployer_network(self, ctx):
        return NetworkResult(id=f"{ctx.app.name}-{ctx.stack}-net") if self._mine(ctx) else None

    @hookimpl(trylast=True)
    def deployer_registry(self, ctx, network):
        if self._mine(ctx):
            return RegistryResult(image_ref=ctx.image.tag, image_id=ctx.image.id)
        return None

    @hookimpl(trylast=True)
    def deployer_ingress(self, ctx, network, registry):
        if self._mine(ctx):
            return IngressResult(endpoint=f"http://127.0.0.1:{ctx.target.settings['port']}", attach=f"{network.id}/lb")
        return None

    @hookimpl(trylast=True)
    def deployer_compute(self, ctx, network, registry, ingress):
        if self._mine(ctx):
            app = ctx.app
            spec = ExpressedSpec(
                image_id=registry.image_id,
                port=app.port,
                env_names=tuple(sorted((*app.env, *ctx.secrets))),
                health_path=app.health.path,
                cpu=app.cpu,
                memory=app.memory,
                replicas=app.replicas.min,
                command=app.command,
            )
            service = f"{ingress.attach}/{registry.image_ref}"
            return ComputeResult(
                service=service,
                replicas=app.replicas.min,
                extra={"spec": spec},
                changes=(self._change(ctx, service, spec),),
            )
        return None

    def _change(self, ctx: PhaseContext, service: str, spec: ExpressedSpec) -> Change:
        """The service's plan line: created, unchanged, or updated naming the spec fields
        that differ from what is deployed."""
        before = self.deployed.get((ctx.app.name, ctx.stack))
        if before is None:
            return Change("create", "memory:service", service)
        old = before.compute.extra["spec"]
        fields = tuple(f.name for f in attrs.fields(ExpressedSpec) if getattr(old, f.name) != getattr(spec, f.name))
        if before.compute.service != service and "image_id" not in fields:
            fields = ("service", *fields)
        return Change("update" if fields else "unchanged", "memory:service", service, fields=fields)


class MemoryDriver:
    """Runs the phases directly and keeps the results in the target's dict."""

    def __init__(self, target: MemoryTarget):
        self.target = target

    def up(self, ctx: PhaseContext, phases: RunPhases) -> Deployment:
        results = phases(ctx)
        self.target.deployed[(ctx.app.name, ctx.stack)] = results
        return Deployment(
            target=ctx.target.name,
            stack=ctx.stack,
            endpoint=results.ingress.endpoint,
            outputs={"service": results.compute.service},
        )

    def plan(self, ctx: PhaseContext, phases: RunPhases, *, offline: bool = False) -> Plan:
        results = phases(ctx)
        return Plan(
            target=ctx.target.name, stack=ctx.stack, changes=results.changes, spec=results.compute.extra["spec"]
        )

    def down(self, ctx: PhaseContext) -> None:
        self.target.deployed.pop((ctx.app.name, ctx.stack), None)

    def status(self, ctx: PhaseContext) -> Status:
        results = self.target.deployed.get((ctx.app.name, ctx.stack))
        if results is None:
            return Status(target=ctx.target.name, stack=ctx.stack, deployed=False)
        return Status(
            target=ctx.target.name,
            stack=ctx.stack,
            deployed=True,
            endpoint=results.ingress.endpoint,
            healthy=results.compute.replicas,
            desired=results.compute.replicas,
            image=results.registry.image_ref,
            spec=results.compute.extra["spec"],
        )

    def logs(self, ctx: PhaseContext, *, follow: bool = False, since: Any = None) -> Iterator[LogLine]:
        yield LogLine(source="memory-1", text="started")
