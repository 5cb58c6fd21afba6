"""A small in-memory target, written the way a third-party author would: the core's
tests use it to show that plugins add targets, replace phases and wrap phases.

With ``serve=True`` it really serves: ``up`` binds a loopback HTTP server (its load
balancer) on the configured port, and its replicas are in-process copies of the kit's
sample app (``/`` answers ``sample app version <APP_VERSION>``, ``/healthz`` fails with
``HEALTHY=false``, one log line per request). A new release starts new replicas, checks
their health and swaps them in at once, so no request fails; a broken one is refused with
DeployFailed and the old replicas keep serving. Every object it holds is named in
``objects``, which the contract's ``leftovers`` reads. A replica's env is its image's
(``ENV``, read from the engine) under the app's, so a new image is a new release; the
driver records releases and rolls back to an earlier one's image.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs

from deployer import docker_engine, hookimpl
from deployer.config_section import Section
from deployer.errors import DeployFailed
from deployer.log_lines import merge
from deployer.models import (
    Action,
    Change,
    ComputeResult,
    Deployment,
    ExpressedSpec,
    Image,
    IngressResult,
    LogLine,
    NetworkResult,
    PhaseContext,
    Plan,
    RegistryResult,
    Status,
)
from deployer.releases import DEPLOYED, Release, current_note, now
from deployer.targets import RunPhases, TargetInfo, TargetPhases
from deployer.testing.contract import SECRET_NAME


def parse_settings(raw: Any, key: str) -> dict[str, int]:
    section = Section(raw, key)
    settings = {"port": section.integer("port", 9999, minimum=1, maximum=65535)}
    section.done()
    return settings


@attrs.define
class Replica:
    """One in-process copy of the sample app: its env decides its version and health."""

    name: str
    env: dict[str, str]
    lines: list[LogLine] = attrs.field(factory=list)
    instance: str = attrs.field(factory=lambda: secrets.token_hex(8))
    uid: int = 10001
    """The user its process runs as (the sample image's ``USER``)."""
    memory_limit: str = "unknown"
    """Its memory limit in bytes, as its cgroup file says it (``max``: none)."""
    root_read_only: bool = True
    """Whether its root filesystem is mounted read-only."""

    @property
    def healthy(self) -> bool:
        return self.env.get("HEALTHY", "true") != "false"

    def answer(self, path: str) -> tuple[int, str]:
        version = self.env.get("APP_VERSION", "1")
        if path == "/healthz":
            status = 200 if self.healthy else 503
            body = json.dumps({"status": "ok" if self.healthy else "failing", "version": version})
        elif path == "/whoami":
            secret = self.env.get(SECRET_NAME)
            digest = hashlib.sha256(secret.encode()).hexdigest() if secret is not None else None
            answer = {"instance": self.instance, "build": self.env.get("BUILD", ""), "secret_sha256": digest}
            status, body = 200, json.dumps(answer)
        else:
            status, body = 200, f"sample app version {version}\n"
        self.lines.append(LogLine(self.name, f'127.0.0.1 "GET {path} HTTP/1.1" {status} -', _now()))
        return status, body


def _now() -> str:
    return datetime.now(UTC).isoformat()


def image_env(image_id: str) -> dict[str, str]:
    """The ``ENV`` of the image ``image_id`` (the core built it on the engine)."""
    found = docker_engine.connect().image(image_id) or {}
    return dict(item.partition("=")[::2] for item in (found.get("Config") or {}).get("Env") or ())


class Balancer:
    """The target's load balancer: a loopback HTTP server handing each request to the
    next of ``replicas`` (503 when there is none)."""

    def __init__(self, port: int, host: str = "127.0.0.1"):
        self.replicas: list[Replica] = []
        self._turn = itertools.count()
        balancer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                replicas = balancer.replicas
                if replicas:
                    status, body = replicas[next(balancer._turn) % len(replicas)].answer(self.path)
                else:
                    status, body = 503, "no replica\n"
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        # shutdown() waits for the loop's next poll: 0.05 s, not the default 0.5 s per down
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def swap(self, replicas: list[Replica]) -> None:
        """Serve ``replicas`` from the next request on (atomic: no request fails)."""
        self.replicas = replicas

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@attrs.define
class Stack:
    """What the target holds for one app and stack."""

    results: Any = None
    balancer: Balancer | None = None
    replicas: list[Replica] = attrs.field(factory=list)
    secrets: dict[str, str] = attrs.field(factory=dict)
    objects: set[str] = attrs.field(factory=set)
    retired: list[Replica] = attrs.field(factory=list)
    releases: list[Release] = attrs.field(factory=list)


class MemoryTarget(TargetPhases):
    """Deploys into a dict. ``stacks`` maps (app, stack) to a :class:`Stack`. Its four
    phases are plain methods; :class:`TargetPhases` makes them the guarded hooks."""

    def __init__(self, name: str = "memory", *, serve: bool = False):
        super().__init__(name, network=self.network, registry=self.registry, ingress=self.ingress, compute=self.compute)
        self.serve = serve
        self.stacks: dict[tuple[str, str], Stack] = {}
        self._names = itertools.count(1)

    @property
    def deployed(self) -> dict[tuple[str, str], Any]:
        return {key: stack.results for key, stack in self.stacks.items() if stack.results is not None}

    def stack(self, ctx: PhaseContext) -> Stack:
        return self.stacks.setdefault((ctx.app.name, ctx.stack), Stack())

    def objects(self, ctx: PhaseContext) -> list[str]:
        """Every object held for ``ctx``'s app and stack (the contract's leftovers)."""
        stack = self.stacks.get((ctx.app.name, ctx.stack))
        return sorted(stack.objects) if stack else []

    parse_settings = staticmethod(parse_settings)
    runs: frozenset[str] = frozenset()
    """What it declares it runs beyond the web service: nothing (``TargetInfo.runs``)."""

    @hookimpl
    def deployer_register_targets(self, register):
        register(
            TargetInfo(
                name=self.name,
                description="deploys into memory (tests)",
                driver=self.make_driver,
                phases={"network": "a name", "registry": "the tag", "ingress": "a URL", "compute": "a count"},
                parse_settings=self.parse_settings,
                runs=self.runs,
            )
        )

    def make_driver(self) -> MemoryDriver:
        """The target's driver (mutants return a broken one)."""
        return MemoryDriver(self)

    # the four phases, as plain methods

    def network(self, ctx: PhaseContext) -> NetworkResult:
        return NetworkResult(id=f"{ctx.app.name}-{ctx.stack}-net")

    def registry(self, ctx: PhaseContext, network: NetworkResult) -> RegistryResult:
        assert ctx.image is not None
        return RegistryResult(image_ref=ctx.image.tag, image_id=ctx.image.id)

    def ingress(self, ctx: PhaseContext, network: NetworkResult, registry: RegistryResult) -> IngressResult:
        port = ctx.target.settings["port"]
        if self.serve and ctx.mode == "up":
            self.bind(ctx, port)
        return IngressResult(endpoint=f"http://127.0.0.1:{port}", attach=f"{network.id}/lb")

    def bind(self, ctx: PhaseContext, port: int) -> None:
        stack = self.stack(ctx)
        if stack.balancer is None:
            stack.balancer = Balancer(port)
            stack.objects.add(f"balancer 127.0.0.1:{port}")

    def compute(
        self, ctx: PhaseContext, network: NetworkResult, registry: RegistryResult, ingress: IngressResult
    ) -> ComputeResult:
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
        if self.serve and ctx.mode == "up":
            self.roll_out(ctx)
        env = json.dumps(sorted({**app.env, **ctx.secrets}.items())).encode()  # values: a new release is a change
        return ComputeResult(
            service=f"{ingress.attach}/{registry.image_ref}",
            replicas=app.replicas.min,
            extra={"spec": spec, "env_sha256": hashlib.sha256(env).hexdigest()},
        )

    def roll_out(self, ctx: PhaseContext) -> None:
        """Start new replicas when the env changed, check their health, then swap them in
        (a broken release is refused: the old replicas keep serving)."""
        stack = self.stack(ctx)
        assert ctx.image is not None
        env = {**image_env(ctx.image.id), **ctx.app.env, **ctx.secrets}
        if stack.replicas and all(r.env == env for r in stack.replicas) and len(stack.replicas) == ctx.app.replicas.min:
            return
        limit = str(ctx.app.memory * 1024 * 1024)
        new = [Replica(f"replica-{next(self._names)}", env, memory_limit=limit) for _ in range(ctx.app.replicas.min)]
        if not self.healthy_release(new):
            raise DeployFailed(
                f"the new release's health check fails on {ctx.app.health.path}; the old one keeps serving"
            )
        stack.secrets = dict(ctx.secrets)
        self.swap(stack, new)
        stack.objects -= {f"replica {r.name}" for r in stack.replicas}
        stack.retired += stack.replicas
        stack.replicas = new
        stack.objects |= {f"replica {r.name}" for r in new}

    def healthy_release(self, new: list[Replica]) -> bool:
        """Whether a new release may take traffic: every new replica passes its health check."""
        return all(replica.healthy for replica in new)

    def plan_action(self, ctx: PhaseContext, results: Any) -> Action:
        """``create`` when nothing is deployed, ``update`` when a spec field differs from
        what is deployed (:meth:`changed_fields`), else ``unchanged``."""
        if self.deployed.get((ctx.app.name, ctx.stack)) is None:
            return "create"
        return "update" if self.changed_fields(ctx, results) else "unchanged"

    def changed_fields(self, ctx: PhaseContext, results: Any) -> tuple[str, ...]:
        """The spec fields (and ``service``) in which ``results`` differ from what is deployed."""
        before = self.deployed.get((ctx.app.name, ctx.stack))
        if before is None:
            return ()
        old, new = before.compute.extra["spec"], results.compute.extra["spec"]
        fields = tuple(f.name for f in attrs.fields(ExpressedSpec) if getattr(old, f.name) != getattr(new, f.name))
        if before.compute.service != results.compute.service and "image_id" not in fields:
            fields = ("service", *fields)
        if before.compute.extra.get("env_sha256") != results.compute.extra["env_sha256"]:
            fields = (*fields, "env values")
        return fields

    def swap(self, stack: Stack, new: list[Replica]) -> None:
        assert stack.balancer is not None
        stack.balancer.swap(new)

    def remove(self, ctx: PhaseContext) -> None:
        """Everything of ``ctx``'s app and stack goes (``down``); nothing there is fine."""
        stack = self.stacks.pop((ctx.app.name, ctx.stack), None)
        if stack is not None and stack.balancer is not None:
            stack.balancer.close()

    def healthy(self, stack: Stack) -> int:
        """Healthy replicas, as ``status`` reports them."""
        return sum(r.healthy for r in stack.replicas) if self.serve else stack.results.compute.replicas

    def details(self, stack: Stack) -> dict[str, Any]:
        """``Status.details``: the replicas' names."""
        return {"replicas": [r.name for r in stack.replicas]}

    def log_lines(self, ctx: PhaseContext, since: datetime | None) -> list[LogLine]:
        """Every replica's lines (retired ones too), merged and ``since``-filtered."""
        stack = self.stacks.get((ctx.app.name, ctx.stack))
        if stack is None or not self.serve:
            return [LogLine(source="memory-1", text="started")]
        return list(merge([[*r.lines] for r in (*stack.retired, *stack.replicas)], since=since))

    def remove_one_replica(self, ctx: PhaseContext) -> None:
        """Behind the driver's back: one replica vanishes (as ``docker rm -f`` would)."""
        stack = self.stack(ctx)
        gone = stack.replicas.pop()
        stack.objects.discard(f"replica {gone.name}")
        if stack.balancer is not None:
            stack.balancer.swap(list(stack.replicas))


class MemoryDriver:
    """Runs the phases directly and keeps the results in the target's dict."""

    def __init__(self, target: MemoryTarget):
        self.target = target

    def up(self, ctx: PhaseContext, phases: RunPhases) -> Deployment:
        results = phases(ctx)
        stack = self.target.stack(ctx)
        stack.results = results
        serving = stack.releases[-1] if stack.releases else None
        if serving is None or serving.image_id != results.registry.image_id:
            number = len(stack.releases) + 1
            image, image_id = results.registry.image_ref, results.registry.image_id
            stack.releases.append(Release(number, image, image_id, "", now(), note=current_note()))
        return Deployment(
            target=ctx.target.name,
            stack=ctx.stack,
            endpoint=results.ingress.endpoint,
            outputs={"service": results.compute.service},
        )

    def plan(self, ctx: PhaseContext, phases: RunPhases, *, offline: bool = False) -> Plan:
        results = phases(ctx)
        action = self.target.plan_action(ctx, results)
        fields = self.target.changed_fields(ctx, results) if action == "update" else ()
        change = Change(action, "memory:service", results.compute.service, fields=fields)
        return Plan(target=ctx.target.name, stack=ctx.stack, changes=(change,), spec=results.compute.extra["spec"])

    def down(self, ctx: PhaseContext) -> None:
        self.target.remove(ctx)

    def releases(self, ctx: PhaseContext) -> list[Release]:
        """One release per image deployed, oldest first; the newest serves."""
        stack = self.target.stacks.get((ctx.app.name, ctx.stack))
        known = stack.releases if stack else []
        return [attrs.evolve(r, current=r is known[-1], status=DEPLOYED) for r in known]

    def rollback_image(self, ctx: PhaseContext, release: Release) -> Image:
        """``release``'s image, as the engine has it."""
        found = docker_engine.connect().image(release.image_id) or {}
        repository, _, content = release.image.rpartition(":")
        return Image(repository, content, release.image_id, (found.get("Config") or {}).get("User") or "")

    def exec(self, ctx: PhaseContext, command: Sequence[str], *, replica: int | None = None, tty: bool = False) -> int:
        """In-process replicas run no command: whatever ``command``, print what the kit's
        identity probe prints for the replica's process (its user, no capability, its
        memory limit, its root filesystem's mount)."""
        running = self.target.stack(ctx).replicas
        chosen = running[(replica or 1) - 1]
        identity = {"uid": chosen.uid, "cap_eff": "0000000000000000", "memory_limit": chosen.memory_limit}
        print(json.dumps({**identity, "root_read_only": chosen.root_read_only}))
        return 0

    def status(self, ctx: PhaseContext) -> Status:
        stack = self.target.stacks.get((ctx.app.name, ctx.stack))
        if stack is None or stack.results is None:
            return Status(target=ctx.target.name, stack=ctx.stack, deployed=False)
        results = stack.results
        return Status(
            target=ctx.target.name,
            stack=ctx.stack,
            deployed=True,
            endpoint=results.ingress.endpoint,
            healthy=self.target.healthy(stack),
            desired=results.compute.replicas,
            image=results.registry.image_ref,
            spec=results.compute.extra["spec"],
            details=self.target.details(stack),
        )

    def logs(self, ctx: PhaseContext, *, follow: bool = False, since: datetime | None = None) -> Iterator[LogLine]:
        return iter(self.target.log_lines(ctx, since))
