"""Frozen data passed between the core, the phases and the drivers.

Pure data, no behaviour: the config loader builds an :class:`AppSpec`, the core builds the
:class:`Image`, each phase returns its result type, and a driver returns a
:class:`Deployment`, :class:`Plan` or :class:`Status`. Values produced inside a Pulumi
program (ids, URLs) may be ``pulumi.Output`` objects; the types below allow that.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from attrs import field, frozen

if TYPE_CHECKING:
    from deployer.services import DatabaseSpec, ServicesResult, WorkerSpec

PHASES: tuple[str, ...] = ("network", "registry", "ingress", "compute")
"""The four phases, in the order they run."""

Mode = Literal["up", "plan", "down", "status", "logs", "exec", "run"]

Action = Literal["create", "replace", "update", "remove", "unchanged"]
"""What a plan does to one object."""


def _frozen_map(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


# --- the app spec: what the user asked for, shared by every target --------------------


@frozen
class BuildSpec:
    """How to build the app image: a context folder, a Dockerfile in it, build args."""

    context: Path
    dockerfile: str = "Dockerfile"
    args: Mapping[str, str] = field(factory=dict, converter=_frozen_map)


@frozen
class HealthCheck:
    """An HTTP check on the app's own port; every target expresses it the same way."""

    path: str = "/healthz"
    interval: int = 10
    timeout: int = 5
    retries: int = 3
    start_period: int = 10


@frozen
class Replicas:
    """How many copies run: a fixed count (``min == max``) or an autoscaling range."""

    min: int = 1
    max: int = 1

    @property
    def autoscaling(self) -> bool:
        return self.max > self.min


@frozen
class AppSpec:
    """The validated application: everything a target needs to run it.

    ``secrets`` holds names only; values are read from the environment at deploy time
    and live in :attr:`PhaseContext.secrets`, never here. ``allow_root`` lets an image
    whose ``USER`` is root be deployed (refused by default).
    """

    name: str
    build: BuildSpec
    port: int = 8000
    command: tuple[str, ...] | None = None
    env: Mapping[str, str] = field(factory=dict, converter=_frozen_map)
    secrets: tuple[str, ...] = ()
    health: HealthCheck = field(factory=HealthCheck)
    cpu: int = 256
    memory: int = 512
    replicas: Replicas = field(factory=Replicas)
    allow_root: bool = False
    allow_empty_secrets: bool = False
    """Accept a secret whose environment variable is set but empty (refused by default)."""
    release_command: tuple[str, ...] | None = None
    """Run once per deploy, before the new version gets traffic (:mod:`deployer.services`)."""
    workers: tuple[WorkerSpec, ...] = ()
    """``[workers.<name>]``: the app's image with another command, no ingress."""
    database: DatabaseSpec | None = None
    """``[database]``: a backing service provided by the services phase."""


@frozen
class TargetConfig:
    """One target's section of the config, after its plugin parsed it.

    ``settings`` is whatever the plugin's ``parse_settings`` returned (usually a frozen
    attrs object with the target's own keys).
    """

    name: str
    settings: Any = None


@frozen
class StatusRange:
    """The response statuses a :class:`Check` accepts, ``low`` to ``high`` inclusive."""

    low: int
    high: int

    def __contains__(self, status: object) -> bool:
        return isinstance(status, int) and self.low <= status <= self.high

    def __str__(self) -> str:
        if self.low == self.high:
            return str(self.low)
        if self.low % 100 == 0 and self.high == self.low + 99:
            return f"{self.low // 100}xx"
        if self.low == 100:
            return f"below {self.high + 1}"
        return f"{self.low}-{self.high}"


def _status_range(value: int | StatusRange) -> StatusRange:
    return value if isinstance(value, StatusRange) else StatusRange(value, value)


@frozen
class Check:
    """One HTTP check of the deployed app (a ``[[checks]]`` table of the config).

    A GET of ``path`` must answer a status in ``status`` (an int means exactly that one),
    a body containing ``contains`` (when not empty), each header of ``headers`` (lower-case
    name) with its value containing the given text (case-insensitive; empty: present),
    within ``max_ms`` milliseconds (when set).
    """

    path: str
    status: StatusRange = field(default=StatusRange(200, 200), converter=_status_range)
    contains: str = ""
    headers: Mapping[str, str] = field(factory=dict, converter=_frozen_map)
    max_ms: int | None = None


@frozen
class Project:
    """A loaded config file: where it came from, the app, and every target section."""

    root: Path
    config_file: Path
    app: AppSpec
    targets: Mapping[str, Mapping[str, Any]] = field(factory=dict, converter=_frozen_map)
    checks: tuple[Check, ...] = ()
    """The app's declared checks (``[[checks]]``); empty when none are declared."""


# --- the image the core builds once for every target -----------------------------------


@frozen
class Image:
    """The app image, content-addressed.

    ``tag`` is ``<repository>:<content hash>``; ``id`` is Docker's image ID
    (``sha256:...``), empty when the image has not been built yet (``plan`` never builds).
    """

    repository: str
    content_hash: str
    id: str = ""
    user: str = ""
    """The image's ``USER`` (empty: root), known once the image exists."""
    architecture: str = ""
    """The CPU architecture it was built for, as ``docker inspect`` says (``amd64``,
    ``arm64``); empty until the image exists."""
    os: str = ""
    """The operating system it was built for (``linux``); empty until the image exists."""
    volumes: tuple[str, ...] = ()
    """The paths the image declares as ``VOLUME``; empty until the image exists."""
    reference: str = ""
    """Set only for a rollback on a target whose images live in a registry: the image
    already there to run again (``<repository>@sha256:<digest>``). The registry phase
    pushes nothing new and compute runs this reference; the target's ``rollback_image``
    says what the other fields then hold."""
    built: bool = False
    """True when this run built it (an existing image is reused): a failed ``up``
    removes an image it built that no deployed release ran."""
    uid: int | None = None
    """The user ID its ``USER`` resolves to (a name through the image's ``/etc/passwd``:
    :mod:`deployer.image_user`); None when not known (a rollback's image in a registry)."""
    probe: str | None = None
    """What the container health check can probe with in it (``python3``, ``curl``,
    ``wget``, or that it has none or no ``/bin/sh``: :mod:`deployer.image_probe`); None
    when not known."""
    user_missing: bool = False
    """True when its ``USER`` is a name its ``/etc/passwd`` lacks
    (:mod:`deployer.image_user`): no container of it can start."""

    @property
    def tag(self) -> str:
        return f"{self.repository}:{self.content_hash}"

    @property
    def runs_as_root(self) -> bool:
        """Its process runs as user ID 0: by :attr:`uid` when known, else by ``user``
        (empty, ``root``, or a number equal to 0: ``0000``, ``+0``)."""
        if self.uid is not None:
            return self.uid == 0
        name = self.user.split(":")[0]
        return name in ("", "root") or user_number(name) == 0


def user_number(text: str) -> int | None:
    """``text`` (a ``USER``'s user part) as the user ID it names when it is a number as
    the container runtime reads one (Go's ``strconv.Atoi``: an optional sign and digits;
    ``0000`` and ``+0`` are 0), else None: a name, looked up in ``/etc/passwd``."""
    return int(text) if re.fullmatch(r"[+-]?[0-9]+", text) else None


# --- what a plan is made of ---------------------------------------------------------------


def _names(value: Any) -> tuple[str, ...]:
    return tuple(value)


@frozen
class Change:
    """One line of a plan: what ``up`` would do to one object.

    ``action`` is create, replace, update, remove or unchanged; ``kind`` the object's type
    (``container``, a Pulumi type token), ``name`` its name, ``detail`` a short free text.
    ``fields`` names what changed, for ``update`` and ``replace`` only (empty for the other
    actions, and when the target cannot tell): the names are the target's own, short and
    human-readable (the local target says ``image``, ``env names``, ``env values``,
    ``secret values``, ``command``, ``cpu``, ``memory``, ``health``, ``port``,
    ``settings``, and ``state`` for a replica paused as, or resumed from, the standby;
    aws-ecs gives the resource's changed input keys, as Pulumi's preview reports them).
    Never a value: a field name says *that* a secret changed, not to what.
    """

    action: Action
    kind: str
    name: str
    detail: str = ""
    fields: tuple[str, ...] = field(default=(), converter=_names)


def _changes(value: Any) -> tuple[Change, ...]:
    return tuple(value)


# --- what each phase receives and returns ----------------------------------------------


def command_line(verb: str, *, target: str, stack: str) -> str:
    """``deployer <verb> --target <target> --stack <stack>``: a command a hint tells the
    user to run, written out so that it acts on the same stack when pasted."""
    return f"deployer {verb} --target {target} --stack {stack}"


@frozen
class PhaseContext:
    """Everything a phase implementation may read. The same object goes to all four phases.

    ``mode`` is ``"up"`` when the phase must make reality match the spec and ``"plan"``
    when it must only describe what it would do (no side effects). ``report`` takes one
    line of progress text. ``secrets`` maps secret names to values: never print, log,
    label or store them.
    """

    app: AppSpec
    target: TargetConfig
    stack: str
    project_dir: Path
    mode: Mode = "up"
    image: Image | None = None
    secrets: Mapping[str, str] = field(factory=dict, converter=_frozen_map, repr=False)
    report: Callable[[str], None] = field(default=lambda line: None, eq=False, repr=False)
    services: ServicesResult | None = field(default=None, repr=False)
    """The services phase's result, set by the phase runner for the phases after it
    (registry, ingress, compute); its ``env`` goes to every workload. None before."""

    def command_line(self, verb: str) -> str:
        """:func:`command_line` for this context's target and stack."""
        return command_line(verb, target=self.target.name, stack=self.stack)

    def hide_secrets(self, text: str) -> str:
        """``text`` (the app's own output, which deployer shows in a report or an error)
        with each secret value of at least :data:`SECRET_SHOWN_MIN` characters replaced
        by ``***``: the app may print them, deployer never does."""
        for value in sorted(self.secrets.values(), key=len, reverse=True):
            if len(value) >= SECRET_SHOWN_MIN:
                text = text.replace(value, "***")
        return text


SECRET_SHOWN_MIN = 4
"""Shorter secret values are not hidden in the app's output: replacing every ``a`` or
``12`` would garble it, and a value that short guards nothing."""


@frozen
class NetworkResult:
    """Where the app lives: a network id, its subnets, and security groups by role.

    ``security_groups`` keys are roles: ``"ingress"`` (the load balancer) and
    ``"compute"`` (the workload).
    """

    id: Any
    subnets: tuple[Any, ...] = ()
    security_groups: Mapping[str, Any] = field(factory=dict, converter=_frozen_map)
    extra: Mapping[str, Any] = field(factory=dict, converter=_frozen_map)
    changes: tuple[Change, ...] = field(default=(), converter=_changes)
    """What this phase does (``up``) or would do (``plan``) to its objects, one
    :class:`Change` each, for drivers whose phases compare what exists with what is wanted
    (local; :attr:`PhaseResults.changes` joins them). Empty when the driver's own engine
    computes the plan instead (aws-ecs: Pulumi's preview)."""


@frozen
class RegistryResult:
    """The image compute runs: ``image_ref`` (a local tag or ``repo@sha256:digest``) and
    ``image_id``, the core-built image's ID, identical on every target (parity)."""

    image_ref: Any
    image_id: str
    extra: Mapping[str, Any] = field(factory=dict, converter=_frozen_map)
    changes: tuple[Change, ...] = field(default=(), converter=_changes)
    """What this phase does (``up``) or would do (``plan``) to its objects, one
    :class:`Change` each, for drivers whose phases compare what exists with what is wanted
    (local; :attr:`PhaseResults.changes` joins them). Empty when the driver's own engine
    computes the plan instead (aws-ecs: Pulumi's preview)."""


@frozen
class IngressResult:
    """How traffic reaches the app: the public ``endpoint`` URL and ``attach``, the routing
    target compute registers its workload into (a target group ARN, an upstream name)."""

    endpoint: Any
    attach: Any
    extra: Mapping[str, Any] = field(factory=dict, converter=_frozen_map)
    changes: tuple[Change, ...] = field(default=(), converter=_changes)
    """What this phase does (``up``) or would do (``plan``) to its objects, one
    :class:`Change` each, for drivers whose phases compare what exists with what is wanted
    (local; :attr:`PhaseResults.changes` joins them). Empty when the driver's own engine
    computes the plan instead (aws-ecs: Pulumi's preview)."""


@frozen
class ComputeResult:
    """The running workload: a ``service`` id and the desired replica count."""

    service: Any
    replicas: int
    extra: Mapping[str, Any] = field(factory=dict, converter=_frozen_map)
    changes: tuple[Change, ...] = field(default=(), converter=_changes)
    """What this phase does (``up``) or would do (``plan``) to its objects, one
    :class:`Change` each, for drivers whose phases compare what exists with what is wanted
    (local; :attr:`PhaseResults.changes` joins them). Empty when the driver's own engine
    computes the plan instead (aws-ecs: Pulumi's preview)."""


@frozen
class PhaseResults:
    """The results of one run, in phase order (services runs between network and registry)."""

    network: NetworkResult
    registry: RegistryResult
    ingress: IngressResult
    compute: ComputeResult
    services: ServicesResult | None = None
    """The services phase's result (run between network and registry)."""

    @property
    def changes(self) -> tuple[Change, ...]:
        """Every phase's :attr:`changes`, in phase order: the plan of a driver whose phases
        compare what exists with what is wanted themselves (local)."""
        services = self.services.changes if self.services is not None else ()
        return (*self.network.changes, *services, *self.registry.changes, *self.ingress.changes, *self.compute.changes)


# --- what drivers return ---------------------------------------------------------------


@frozen
class ExpressedSpec:
    """How a target expressed the app spec, read back from what it created or plans to
    create (container config, task definition). Parity compares these across targets.

    ``env_names`` holds env and secret names, never values. ``cpu`` is in units
    (1024 = 1 vCPU), ``memory`` in MiB. ``command`` is None when the image's CMD is used.
    """

    image_id: str
    port: int
    env_names: tuple[str, ...]
    health_path: str
    cpu: int
    memory: int
    replicas: int
    command: tuple[str, ...] | None = None

    @classmethod
    def from_app(cls, app: AppSpec, image_id: str) -> ExpressedSpec:
        """The spec as every target must express ``app`` running image ``image_id``:
        what parity compares a target's read-back against (``replicas``: the minimum)."""
        return cls(
            image_id=image_id,
            port=app.port,
            env_names=tuple(sorted((*app.env, *app.secrets))),
            health_path=app.health.path,
            cpu=app.cpu,
            memory=app.memory,
            replicas=app.replicas.min,
            command=app.command,
        )


@frozen
class Deployment:
    """A finished ``up``: the public endpoint and the target's outputs (all plain values)."""

    target: str
    stack: str
    endpoint: str
    outputs: Mapping[str, Any] = field(factory=dict, converter=_frozen_map)
    image: str = ""
    """The image it runs (``repository:content-hash``), set by the core's ``up``; a
    driver leaves it empty."""


@frozen
class Plan:
    """What ``up`` would do. ``root``, when set, is the change every other one hangs
    from (the aws-ecs Pulumi stack itself), shown first and not repeated in ``changes``.
    ``resources`` and ``outputs`` are driver-specific detail (the aws-ecs offline plan
    lists every Pulumi resource with its inputs)."""

    target: str
    stack: str
    changes: tuple[Change, ...] = ()
    root: Change | None = None
    resources: tuple[Mapping[str, Any], ...] = ()
    outputs: Mapping[str, Any] = field(factory=dict, converter=_frozen_map)
    spec: ExpressedSpec | None = None


@frozen
class Status:
    """A deployed stack as it is now; ``deployed`` is False when nothing exists.

    ``degraded`` (computed, not passed) is True when the stack is deployed and fewer
    replicas are healthy than desired: the CLI's ``status`` then exits 1. ``advice`` says
    what brings it back when degraded: a driver that knows better passes its own, else it
    is the command that converges the stack again (``deployer up``); empty otherwise.
    ``notice`` says what to run when the stack holds more than it serves (say, replicas an
    interrupted ``up`` left), degraded or not; it does not change the exit code.
    """

    target: str
    stack: str
    deployed: bool
    endpoint: str | None = None
    healthy: int = 0
    desired: int = 0
    image: str | None = None
    details: Mapping[str, Any] = field(factory=dict, converter=_frozen_map)
    spec: ExpressedSpec | None = None
    degraded: bool = field(init=False)
    advice: str = ""
    notice: str = ""

    @degraded.default
    def _degraded(self) -> bool:
        return self.deployed and self.healthy < self.desired

    def __attrs_post_init__(self) -> None:
        # frozen: attrs' documented way to set a derived field after init
        if not self.degraded:
            object.__setattr__(self, "advice", "")
        elif not self.advice:
            object.__setattr__(
                self,
                "advice",
                f"{self.desired - self.healthy} of {self.desired} replicas not healthy: run "
                f"`{command_line('up', target=self.target, stack=self.stack)}` to start the missing ones",
            )


@frozen
class LogLine:
    """One log line of one replica (``source``), with its timestamp when known."""

    source: str
    text: str
    timestamp: str | None = None
