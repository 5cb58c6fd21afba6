"""The driver: runs the phases in-process against the local Docker engine and reads
back what exists (Docker labels, the proxy's routes, container health)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path

import docker
from deployer.checks import default_checks
from deployer.errors import DeployFailed, EnvironmentProblem, UsageError
from deployer.log_lines import merge, moment
from deployer.models import Deployment, ExpressedSpec, Image, LogLine, Plan, Status
from deployer.releases import Release, current_note, now
from deployer.verify import wait_until_serving

from deployer_bluegreen import platform as pf
from deployer_bluegreen.settings import NAME, of


class BlueGreenDriver:
    def __init__(self) -> None:
        self._held: dict[str, int] = {}
        self._mutex = threading.RLock()

    def preflight(self, ctx) -> None:
        settings = of(ctx)
        try:
            pf.client().images.get(settings.proxy_image)
        except docker.errors.ImageNotFound:
            raise EnvironmentProblem(
                f"the proxy image {settings.proxy_image!r} (targets.{NAME}.proxy_image) is not in the Docker "
                "engine: pull or build it (any image with python3 works)"
            ) from None
        if ctx.mode in ("up", "plan"):
            _check_port(ctx, settings)

    @contextlib.contextmanager
    def lock(self, ctx, timeout: float = 300):
        """One ``up``/``down`` per app and stack on this machine; reentrant in this thread."""
        key = pf.prefix(ctx)
        with self._mutex:
            if self._held.get(key):
                self._held[key] += 1
                try:
                    yield
                finally:
                    self._held[key] -= 1
                return
            base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "deployer-bluegreen"
            base.mkdir(parents=True, exist_ok=True)
            with open(base / f"{key}.lock", "w") as f:
                deadline = time.monotonic() + timeout
                while True:
                    try:
                        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            raise DeployFailed(
                                f"another run holds the lock of {key} (waited {timeout:.0f} s)"
                            ) from None
                        time.sleep(0.2)
                self._held[key] = 1
                try:
                    yield
                finally:
                    self._held[key] = 0
                    fcntl.flock(f, fcntl.LOCK_UN)

    def exec(self, ctx, command, *, replica=None, tty=False) -> int:
        running = [c for c in self._active(ctx) if c.status == "running"]
        if not running:
            raise UsageError(
                f"no running replica of {ctx.app.name}/{ctx.stack}: run `deployer up --target {NAME}` first"
            )
        index = (replica or 1) - 1
        if not 0 <= index < len(running):
            raise UsageError(f"--replica must be between 1 and {len(running)} (got {replica})")
        cli = shutil.which("docker")
        if cli is None:
            raise EnvironmentProblem("exec needs the docker CLI on PATH")
        return subprocess.call([cli, "exec", *(["-it"] if tty else []), running[index].name, *command])

    def _active(self, ctx) -> list:
        routes = pf.read_routes(ctx) or {}
        colour = routes.get("colour")
        return sorted(
            (c for c in pf.containers(ctx, "replica") if colour and c.labels.get(pf.COLOUR) == colour),
            key=lambda c: c.name,
        )

    def up(self, ctx, phases) -> Deployment:
        results = phases(ctx)
        endpoint = results.ingress.endpoint
        wait_until_serving(endpoint, default_checks(ctx.app.health.path), of(ctx).health_timeout)
        _record(ctx, results.registry)
        return Deployment(
            target=NAME,
            stack=ctx.stack,
            endpoint=endpoint,
            outputs={
                "endpoint": endpoint,
                "image": results.registry.image_ref,  # `up --watch` prints this one
                "image_id": results.registry.image_id,
                "proxy": results.ingress.attach,
                "network": results.network.id,
                "colour": results.compute.extra["colour"],
                "replicas": results.compute.replicas,
            },
        )

    def plan(self, ctx, phases, *, offline: bool = False) -> Plan:
        results = phases(ctx)
        image_id = ctx.image.id if ctx.image else ""
        return Plan(
            target=NAME,
            stack=ctx.stack,
            changes=results.changes,
            spec=ExpressedSpec.from_app(ctx.app, image_id),
            outputs={"endpoint": results.ingress.endpoint},
        )

    def releases(self, ctx) -> list[Release]:
        """The images deployed, oldest first (a new one is recorded when an ``up`` runs
        another image); the newest serves."""
        known = pf.read_releases(ctx)
        return [
            Release(r["number"], r["image"], r["image_id"], "", r["created"], note=r["note"], current=r is known[-1])
            for r in known
        ]

    def rollback_image(self, ctx, release: Release) -> Image:
        """``release``'s image from the local image store, to deploy as a new colour."""
        try:
            found = pf.client().images.get(release.image_id)
        except docker.errors.ImageNotFound:
            raise UsageError(f"release {release.number}'s image {release.image} is gone: run `deployer up`") from None
        repository, _, content = release.image.rpartition(":")
        return Image(repository, content, found.id, (found.attrs.get("Config") or {}).get("User") or "")

    def down(self, ctx) -> None:
        client = pf.client()
        for c in pf.containers(ctx):
            with contextlib.suppress(docker.errors.NotFound):
                c.remove(force=True)
        for v in client.volumes.list(filters=pf.filters(ctx)):
            v.remove(force=True)
        for n in client.networks.list(filters=pf.filters(ctx)):
            n.remove()

    def status(self, ctx) -> Status:
        proxy = pf.proxy(ctx)
        replicas = pf.containers(ctx, "replica")
        if proxy is None and not replicas:
            return Status(target=NAME, stack=ctx.stack, deployed=False)
        routes = pf.read_routes(ctx) or {}
        colour = routes.get("colour")
        active = sorted((c for c in replicas if colour and c.labels.get(pf.COLOUR) == colour), key=lambda c: c.name)
        healthy = sum(
            1
            for c in active
            if c.status == "running" and (c.attrs["State"].get("Health") or {}).get("Status") == "healthy"
        )
        desired = int(routes.get("replicas", 0))
        spec = _read_spec(active[0], desired) if active else None
        endpoint = None
        if proxy is not None:
            s = json.loads(proxy.labels.get(pf.SPEC, "{}"))
            endpoint = f"http://{s.get('bind')}:{s.get('port')}"
        return Status(
            target=NAME,
            stack=ctx.stack,
            deployed=True,
            endpoint=endpoint,
            healthy=healthy,
            desired=desired,
            image=spec.image_id if spec else None,
            details={"colour": colour, "replicas": sorted(c.name for c in active)},
            spec=spec,
        )

    def logs(self, ctx, *, follow: bool = False, since: datetime | None = None):
        seen: set[tuple[str, str, str]] = set()
        while True:
            lines = merge([_lines(c, since) for c in pf.containers(ctx, "replica")], since=since)
            for line in lines:
                key = (line.source, line.timestamp or "", line.text)
                if key not in seen:
                    seen.add(key)
                    yield line
            if not follow:
                return
            if lines:
                since = moment(lines[-1].timestamp) or since
            time.sleep(1)


def _record(ctx, registry) -> None:
    """Record a release when this ``up`` runs another image than the newest release."""
    known = pf.read_releases(ctx)
    if known and known[-1]["image_id"] == registry.image_id:
        return
    number = known[-1]["number"] + 1 if known else 1
    image = {"image": registry.image_ref, "image_id": registry.image_id, "created": now(), "note": current_note()}
    pf.write_releases(ctx, [*known, {"number": number, **image}])
    ctx.report(f"release {number} recorded")


def _check_port(ctx, settings) -> None:
    """``host_port`` on ``bind`` must be free, or held by this stack's own proxy: checked
    before anything is built, so a taken port changes nothing."""
    proxy = pf.proxy(ctx)
    if proxy is not None and proxy.status == "running":
        serving = json.loads(proxy.labels.get(pf.SPEC, "{}"))
        if (serving.get("bind"), serving.get("port")) == (settings.bind, settings.host_port):
            return
    family = socket.AF_INET6 if ":" in settings.bind else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((settings.bind, settings.host_port))
        except OSError as error:
            raise UsageError(pf.port_taken(settings, error.strerror or str(error))) from None


def _lines(container, since):
    kwargs = {"timestamps": True, "stdout": True, "stderr": True}
    if since is not None:
        kwargs["since"] = since
    try:
        raw = container.logs(**kwargs).decode(errors="replace")
    except docker.errors.NotFound:
        return []
    out = []
    for row in raw.splitlines():
        stamp, _, text = row.partition(" ")
        out.append(LogLine(source=container.name, text=text, timestamp=stamp))
    return out


def _read_spec(container, desired: int) -> ExpressedSpec:
    """Read back from the container itself: image, cpu, memory, command; the env names,
    port and health path from its labels (the image's own env is not the app's)."""
    attrs = container.attrs
    label = json.loads(container.labels.get(pf.SPEC, "{}"))
    host = attrs["HostConfig"]
    cmd = attrs["Config"].get("Cmd")
    return ExpressedSpec(
        image_id=attrs["Image"],
        port=int(label.get("port", 0)),
        env_names=tuple(label.get("env_names", ())),
        health_path=label.get("health_path", ""),
        cpu=round((host.get("NanoCpus") or 0) * 1024 / 1_000_000_000),
        memory=(host.get("Memory") or 0) // (1024 * 1024),
        replicas=desired,
        command=tuple(cmd) if label.get("command") and cmd else None,
    )
