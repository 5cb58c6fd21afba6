"""What a target is: its registration record and the driver protocol it implements."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, Protocol

from attrs import field, frozen

from deployer.config_section import Section
from deployer.hookspecs import hookimpl
from deployer.models import (
    AppSpec,
    ComputeResult,
    Deployment,
    IngressResult,
    LogLine,
    NetworkResult,
    PhaseContext,
    PhaseResults,
    Plan,
    RegistryResult,
    Status,
)
from deployer.services import ServicesResult

RunPhases = Callable[[PhaseContext], PhaseResults]
"""Runs the four phase hooks in order for a context; the driver decides where (directly,
or inside a Pulumi program)."""


class Driver(Protocol):
    """How a target applies phases and inspects what it deployed.

    ``up`` and ``plan`` receive ``phases``, the core's phase runner, and call it once with
    the context (``ctx.mode`` says which). The other operations act on what exists,
    found through the target's own state (Docker labels, a Pulumi stack).

    ``down`` may take a keyword ``down(ctx, *, destroy_data=False) -> None``: with
    ``destroy_data`` (``deployer down --destroy-data``, alias ``--volumes``) it also
    removes the backing services' data; without it the data stays, or ``down`` raises
    ``UsageError`` when it cannot stay. The core passes ``destroy_data=True`` only to a
    ``down`` whose signature has it; for any other, ``--destroy-data`` is a ``UsageError``.

    The optional methods: the core looks each up before calling it, and a command that
    needs a missing one is a ``UsageError`` ("target 'x' does not support run").

    - ``preflight(ctx) -> None``: called first for every command that touches the
      platform (``up``, ``plan`` but not ``plan --offline``, ``status``, ``down``,
      ``logs``, ``exec``, ``run``, ``releases``, ``rollback``), before
      anything is built or read, so a missing tool, service or credential is reported
      first; raise ``EnvironmentProblem`` saying how to fix it.
    - ``lock(ctx) -> AbstractContextManager``: a lock on the app and stack. The core
      enters it around the image build and ``up`` (around ``rollback`` and ``down`` too), so two
      concurrent ``up`` runs of one stack build once and roll out once: the second finds
      the image built and the stack converged. The driver's own ``up`` and ``down`` are
      called while it is held, so it must be reentrant in the holding thread (or the
      driver must not take it again). A driver without one is called unlocked.
    - ``exec(ctx, command, *, replica=None, tty=False) -> int``: run ``command`` in a
      running replica (``replica`` 1-based, None for the first), with the caller's
      terminal when ``tty``, and return its exit code (``deployer exec``).
    - ``run(ctx, command) -> int``: run ``command`` once in a new container (task) of
      the deployed app, with its image, env, secrets, network and backing services, and
      return its exit code (``deployer run``). ``ctx.mode`` is ``"run"``; ``ctx`` has no
      image and no secret values, so take both from what is deployed.
    - ``releases(ctx) -> list[Release]``: the stack's releases
      (:class:`deployer.releases.Release`), oldest first, read from the target's own
      state (so any checkout of the project sees them), ``current`` set on the serving
      one and ``image_present`` when known. A driver that defines it records a release
      in ``up`` for every run that changed something (status ``deployed``) and for every
      failed rollout (``failed``), with :func:`deployer.releases.current_note` as its
      note (``deployer releases``; ``deployer rollback`` calls ``up`` with the older
      image).
    - ``rollback_image(ctx, release) -> Image`` (with ``releases``): the image to deploy
      again for ``release`` without building, found where the target keeps images
      (local: the image store; aws-ecs: ECR, returned with ``Image.reference`` set); raise
      ``UsageError`` saying why when it is gone (how many images the target keeps).
      ``deployer rollback`` then runs ``up`` with it; without it, rollback is refused.

    Nothing deployed is not an error: ``status`` returns ``Status(deployed=False)``,
    ``down`` removes nothing and returns, ``logs`` yields nothing (or raises
    ``DeployFailed`` saying the stack is not deployed). docs/plugin-authoring.md has the
    whole contract.
    """

    def up(self, ctx: PhaseContext, phases: RunPhases) -> Deployment:
        """Make the stack match the spec; return only once the app is healthy."""

    def plan(self, ctx: PhaseContext, phases: RunPhases, *, offline: bool = False) -> Plan:
        """Describe what ``up`` would change, touching nothing. ``Plan.root`` may hold
        the row the changes hang from (a Pulumi stack); the renderer draws a tree."""

    def down(self, ctx: PhaseContext) -> None:
        """Remove everything ``up`` created for this app and stack. Idempotent. A driver
        whose target keeps data (a database) takes the keyword ``destroy_data: bool =
        False`` too: without it the data stays (or ``down`` refuses, exit 2, when it cannot
        stay); ``deployer down --destroy-data`` passes True. A driver without the keyword
        makes ``--destroy-data`` a usage error."""

    def status(self, ctx: PhaseContext) -> Status:
        """Report the deployed stack: endpoint, healthy and desired replicas, image."""

    def logs(self, ctx: PhaseContext, *, follow: bool = False, since: datetime | None = None) -> Iterator[LogLine]:
        """Yield the replicas' log lines, oldest first (only those at or after ``since``,
        an aware datetime, when given); with ``follow``, keep yielding."""


def _no_settings(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    section = Section(raw, key)
    section.done()
    return {}


APP_PARTS = ("workers", "release_command", "database")
"""The parts of an app beyond its web service that a target may run (:attr:`TargetInfo.runs`)."""


def _runs_any_app(app: AppSpec, settings: Any) -> None:
    """The default app check: the target runs any spec the config loader accepts."""


@frozen
class TargetInfo:
    """A target as a plugin registers it.

    :param name: what users pass to ``--target``.
    :param description: one line for ``deployer targets``.
    :param driver: a zero-argument factory for the :class:`Driver`; import heavy
        libraries inside it, never at module level.
    :param phases: phase name to a short description of what it creates.
    :param parse_settings: ``(raw_table, key_path) -> settings``; validates the target's
        config section (``[targets.<name>]``) and raises ``ConfigError`` naming the key.
    :param check_app: ``(app, settings) -> None``; refuses an :class:`AppSpec` the target
        cannot run (a cpu/memory pair its platform does not offer) by raising
        ``ConfigError`` naming the app key (``app.memory``); the core adds the target's
        name. ``settings`` is what ``parse_settings`` returned. The core calls it before
        anything is built, for ``up`` and ``plan``: for the selected target, and for every
        other available target whose ``[targets.<name>]`` table is in the config, so an
        app refused where the user means to deploy it is refused everywhere (size
        parity). Import nothing heavy: it runs whichever target is selected.
    :param runs: which parts of an app beyond its web service the target runs, from
        :data:`APP_PARTS`: ``"workers"`` (``[workers.<name>]``), ``"release_command"``
        (``app.release_command``), ``"database"`` (``[database]``). The core refuses an
        app that uses a part its target does not run (exit 2, naming the key) before
        anything is built, so nothing is silently dropped. Default: none.
    :param available: False when the target's dependencies are not installed.
    :param install_hint: the command that makes it available.
    """

    name: str
    description: str
    driver: Callable[[], Driver] = field(eq=False, repr=False)
    phases: Mapping[str, str] = field(factory=dict)
    parse_settings: Callable[[Mapping[str, Any], str], Any] = field(default=_no_settings, eq=False, repr=False)
    check_app: Callable[[AppSpec, Any], None] = field(default=_runs_any_app, eq=False, repr=False)
    runs: frozenset[str] = frozenset()
    available: bool = True
    install_hint: str | None = None
    plugin: str = ""
    """Filled in by the core: the plugin that registered this target."""


# --- declaring a target's phases without repeating the name guard ----------------------

NetworkPhase = Callable[[PhaseContext], NetworkResult]
RegistryPhase = Callable[[PhaseContext, NetworkResult], RegistryResult]
IngressPhase = Callable[[PhaseContext, NetworkResult, RegistryResult], IngressResult]
ComputePhase = Callable[[PhaseContext, NetworkResult, RegistryResult, IngressResult], ComputeResult]
ServicesPhase = Callable[[PhaseContext, NetworkResult], ServicesResult]


class TargetPhases:
    """A target's four phase implementations as plain functions, turned into the four
    phase hooks: each ``trylast`` (a third-party plugin can replace a phase with
    ``tryfirst`` or wrap it with ``wrapper=True``) and each answering only when
    ``ctx.target.name == name`` (None otherwise). The functions receive the hook's
    arguments: ``network(ctx)``, ``registry(ctx, network)``,
    ``ingress(ctx, network, registry)``, ``compute(ctx, network, registry, ingress)``, and
    the optional ``services(ctx, network)`` (backing services: a target without it
    refuses an app that declares one).

    Register the object as a plugin, subclass it, or bind its hooks in a plugin module::

        phases = TargetPhases(
            "my-target",
            network=phase_from("my_target.network", "apply"),   # imported on first call
            registry=phase_from("my_target.registry", "apply"),
            ingress=phase_from("my_target.ingress", "apply"),
            compute=phase_from("my_target.compute", "apply"),
        )
        deployer_network = phases.deployer_network
        deployer_registry = phases.deployer_registry
        deployer_ingress = phases.deployer_ingress
        deployer_compute = phases.deployer_compute
    """

    def __init__(
        self,
        name: str,
        *,
        network: NetworkPhase,
        registry: RegistryPhase,
        ingress: IngressPhase,
        compute: ComputePhase,
        services: ServicesPhase | None = None,
    ):
        self.name = name
        self._network, self._registry, self._ingress, self._compute = network, registry, ingress, compute
        self._services = services

    def __repr__(self) -> str:
        return f"TargetPhases({self.name!r})"

    @hookimpl(trylast=True)
    def deployer_network(self, ctx: PhaseContext) -> NetworkResult | None:
        return self._network(ctx) if ctx.target.name == self.name else None

    @hookimpl(trylast=True)
    def deployer_services(self, ctx: PhaseContext, network: NetworkResult) -> ServicesResult | None:
        if self._services is None or ctx.target.name != self.name:
            return None
        return self._services(ctx, network)

    @hookimpl(trylast=True)
    def deployer_registry(self, ctx: PhaseContext, network: NetworkResult) -> RegistryResult | None:
        return self._registry(ctx, network) if ctx.target.name == self.name else None

    @hookimpl(trylast=True)
    def deployer_ingress(
        self, ctx: PhaseContext, network: NetworkResult, registry: RegistryResult
    ) -> IngressResult | None:
        return self._ingress(ctx, network, registry) if ctx.target.name == self.name else None

    @hookimpl(trylast=True)
    def deployer_compute(
        self, ctx: PhaseContext, network: NetworkResult, registry: RegistryResult, ingress: IngressResult
    ) -> ComputeResult | None:
        return self._compute(ctx, network, registry, ingress) if ctx.target.name == self.name else None


def phase_from(module: str, function: str) -> Callable[..., Any]:
    """``module.function``, imported on its first call (so a target's manifest imports no
    phase module, and no heavy library, until its target runs)."""

    def call(*args: Any) -> Any:
        return getattr(importlib.import_module(module), function)(*args)

    call.__qualname__ = call.__name__ = f"{module}.{function}"
    return call
