"""The four phases. In ``plan`` mode each compares what exists with what it wants and
returns its rows in ``changes``; in ``up`` mode it makes it so."""

from __future__ import annotations

import contextlib
import json
import time

import docker
from deployer.errors import DeployFailed, UsageError
from deployer.healthcheck import docker_health_config
from deployer.models import Change, ComputeResult, IngressResult, NetworkResult, RegistryResult

from deployer_bluegreen import platform as pf
from deployer_bluegreen import proxy as proxy_script
from deployer_bluegreen.settings import of

NS = 1_000_000_000


def network(ctx):
    name = pf.prefix(ctx)
    exists = pf.client().networks.list(names=[name], filters=pf.filters(ctx, "network"))
    exists = [n for n in exists if n.name == name]
    if ctx.mode == "plan":
        row = Change("unchanged" if exists else "create", "network", name)
        return NetworkResult(id=name, changes=(row,))
    if not exists:
        ctx.report(f"creating network {name}")
        pf.client().networks.create(name, driver="bridge", labels=pf.labels(ctx, "network"))
    return NetworkResult(id=name)


def registry(ctx, network):
    return RegistryResult(image_ref=ctx.image.tag, image_id=ctx.image.id)


def _proxy_wanted(ctx, settings) -> dict:
    return {"image": settings.proxy_image, "bind": settings.bind, "port": settings.host_port}


def ingress(ctx, network, registry):
    settings = of(ctx)
    name = f"{pf.prefix(ctx)}-proxy"
    endpoint = f"http://{settings.bind}:{settings.host_port}"
    wanted = _proxy_wanted(ctx, settings)
    current = pf.get_container(name)
    same = (
        current is not None and current.status == "running" and json.loads(current.labels.get(pf.SPEC, "{}")) == wanted
    )
    if ctx.mode == "plan":
        if current is None:
            row = Change("create", "container", name, f"proxy on {settings.bind}:{settings.host_port}")
        elif same:
            row = Change("unchanged", "container", name)
        else:
            row = Change("replace", "container", name, "proxy", fields=("settings",))
        rows = [row]
        if not _volume_exists(name):
            rows.insert(0, Change("create", "volume", name, "the proxy's routes"))
        else:
            rows.insert(0, Change("unchanged", "volume", name))
        return IngressResult(endpoint=endpoint, attach=name, changes=tuple(rows))
    if not same:
        if current is not None:
            current.remove(force=True)
        if not _volume_exists(name):
            pf.client().volumes.create(name, labels=pf.labels(ctx, "proxy-config"))
        ctx.report(f"starting proxy {name} on {settings.bind}:{settings.host_port}")
        try:
            pf.client().containers.run(
                settings.proxy_image,
                ["python3", "-c", proxy_script.SCRIPT, str(pf.PROXY_PORT)],
                name=name,
                detach=True,
                labels=pf.labels(ctx, "proxy", **{pf.SPEC: json.dumps(wanted, sort_keys=True)}),
                network=network.id,
                ports={f"{pf.PROXY_PORT}/tcp": (settings.bind, settings.host_port)},
                volumes={name: {"bind": "/cfg", "mode": "rw"}},
                user="65534:65534",
                read_only=True,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                mem_limit="256m",
                nano_cpus=NS // 2,
                pids_limit=128,
                restart_policy={"Name": "unless-stopped"},
            )
        except docker.errors.ImageNotFound:
            raise UsageError(
                f"targets.bluegreen.proxy_image: image {settings.proxy_image!r} is not in the engine: "
                "build or pull it (any image with python3 works)"
            ) from None
        except docker.errors.APIError as error:
            leftover = pf.get_container(name)
            if leftover is not None:
                leftover.remove(force=True)
            reason = str(error.explanation or error)
            if "port is already allocated" in reason or "address already in use" in reason:
                raise UsageError(pf.port_taken(settings, reason)) from None  # taken since preflight
            raise DeployFailed(f"could not start the proxy {name}: {reason}") from None
    return IngressResult(endpoint=endpoint, attach=name)


def _volume_exists(name: str) -> bool:
    """Whether the volume ``name`` exists (Docker's name filter also matches longer names)."""
    return any(v.name == name for v in pf.client().volumes.list(filters={"name": name}))


def _replica_names(ctx, colour: str) -> list[str]:
    return [f"{pf.prefix(ctx)}-{colour}-{n}" for n in range(1, ctx.app.replicas.min + 1)]


def _spec_label(ctx) -> str:
    app = ctx.app
    names = sorted({*app.env, *app.secrets})
    return json.dumps(
        {"port": app.port, "env_names": names, "health_path": app.health.path, "command": app.command is not None}
    )


def compute(ctx, network, registry, ingress):
    settings = of(ctx)
    colour = pf.colour(ctx, settings)
    wanted = _replica_names(ctx, colour)
    existing = {c.name: c for c in pf.containers(ctx, "replica")}
    if ctx.mode == "plan":
        rows = []
        for name in wanted:
            c = existing.get(name)
            ok = c is not None and c.status == "running"
            rows.append(Change("unchanged" if ok else "create", "container", name))
        for name in sorted(set(existing) - set(wanted)):
            rows.append(Change("remove", "container", name, "old colour or surplus replica"))
        return ComputeResult(service=pf.prefix(ctx), replicas=len(wanted), changes=tuple(rows))

    started = []
    for name in wanted:
        c = existing.get(name)
        if c is not None and c.status == "running":
            continue
        if c is not None:
            c.remove(force=True)
        started.append(_run_replica(ctx, settings, name, colour, registry, network))
    if started:
        ctx.report(f"waiting for {len(started)} replica(s) of colour {colour} to be healthy")
        problem = _wait_healthy(started, settings.health_timeout)
        if problem:
            for c in started:
                c.remove(force=True)
            raise DeployFailed(
                f"release {colour} did not become healthy ({problem}); the previous release keeps serving"
            )
    routes = {
        "colour": colour,
        "upstreams": [f"{n}:{ctx.app.port}" for n in wanted],
        "replicas": len(wanted),
    }
    if pf.read_routes(ctx) != routes:
        ctx.report(f"switching the proxy to colour {colour}")
        pf.write_routes(ctx, routes)
    old = [c for n, c in existing.items() if n not in wanted]
    if old:
        time.sleep(settings.drain_seconds)
        for c in old:
            ctx.report(f"removing {c.name}")
            with contextlib.suppress(docker.errors.NotFound):
                c.remove(force=True)
    return ComputeResult(service=pf.prefix(ctx), replicas=len(wanted), extra={"colour": colour})


def _run_replica(ctx, settings, name, colour, registry, network):
    app = ctx.app
    env = {**{k: str(v) for k, v in app.env.items()}, **{k: str(v) for k, v in ctx.secrets.items()}}
    env["PORT"] = str(app.port)
    return pf.client().containers.run(
        registry.image_ref,
        list(app.command) if app.command else None,
        name=name,
        detach=True,
        environment=env,
        labels=pf.labels(ctx, "replica", **{pf.COLOUR: colour, pf.SPEC: _spec_label(ctx)}),
        network=network.id,
        healthcheck=docker_health_config(app, interval=settings.health_interval),
        read_only=True,
        tmpfs={"/tmp": "rw,nosuid,nodev"},
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        mem_limit=f"{app.memory}m",
        nano_cpus=app.cpu * NS // 1024,
        pids_limit=512,
        restart_policy={"Name": "unless-stopped"},
    )


def _wait_healthy(started, timeout) -> str | None:
    deadline = time.monotonic() + timeout
    pending = list(started)
    while pending:
        for c in list(pending):
            c.reload()
            health = c.attrs["State"].get("Health") or {}
            if c.status in ("exited", "dead"):
                return f"{c.name} exited with code {c.attrs['State'].get('ExitCode')}"
            if health.get("Status") == "healthy":
                pending.remove(c)
            elif health.get("Status") == "unhealthy":
                log = (health.get("Log") or [{}])[-1].get("Output", "").strip()
                return f"{c.name} is unhealthy: {log[-200:]}"
        if pending and time.monotonic() > deadline:
            return f"{', '.join(c.name for c in pending)} not healthy within {timeout} s"
        if pending:
            time.sleep(0.5)
    return None
