"""Names, labels and Docker access shared by the phases, the driver and the tests.
Docker itself is the state: every object carries ``dev.bluegreen.app``/``.stack``/``.role``;
the proxy's ``/cfg/upstreams`` file says which colour serves and how many replicas are
desired, and ``/cfg/releases`` lists the releases (the images deployed, for rollback)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import secrets as _secrets
from pathlib import Path

import docker
from deployer.errors import DeployFailed, EnvironmentProblem

APP, STACK, ROLE, COLOUR, SPEC = (f"dev.bluegreen.{k}" for k in ("app", "stack", "role", "colour", "spec"))
PROXY_PORT = 8080  # inside the proxy container
CFG = "/cfg/upstreams"
RELEASES = "/cfg/releases"


def prefix(ctx) -> str:
    return f"bg-{ctx.app.name}.{ctx.stack}"


def labels(ctx, role: str, **extra: str) -> dict[str, str]:
    return {APP: ctx.app.name, STACK: ctx.stack, ROLE: role, **extra}


def filters(ctx, role: str | None = None) -> dict:
    wanted = [f"{APP}={ctx.app.name}", f"{STACK}={ctx.stack}"]
    if role:
        wanted.append(f"{ROLE}={role}")
    return {"label": wanted}


@functools.cache
def client() -> docker.DockerClient:
    """The engine's client, made once it answers (a failure is not cached: it is
    reported again next time)."""
    try:
        engine = docker.from_env()
        engine.ping()
    except Exception as error:  # the SDK raises DockerException or requests' errors
        raise EnvironmentProblem(
            f"the Docker engine does not answer ({error}): start it (e.g. `dockerd`) or set DOCKER_HOST"
        ) from None
    return engine


def containers(ctx, role: str | None = None) -> list:
    return client().containers.list(all=True, filters=filters(ctx, role))


def get_container(name: str):
    try:
        return client().containers.get(name)
    except docker.errors.NotFound:
        return None


def proxy(ctx):
    found = containers(ctx, "proxy")
    return found[0] if found else None


def port_taken(settings, reason: str) -> str:
    """The message for a ``host_port`` something else holds."""
    return (
        f"targets.bluegreen.host_port: {settings.bind}:{settings.host_port} is in use ({reason}): "
        "choose another host_port under [targets.bluegreen], or stop what holds it"
    )


def read_routes(ctx) -> dict | None:
    """The proxy's live routing file: {"colour", "upstreams", "replicas", "spec"}."""
    return _read_json(ctx, CFG)


def write_routes(ctx, routes: dict) -> None:
    _write_json(ctx, CFG, routes, "switch")


def read_releases(ctx) -> list[dict]:
    """The stack's releases, oldest first: {"number", "image", "image_id", "created", "note"}."""
    return _read_json(ctx, RELEASES) or []


def write_releases(ctx, releases: list[dict]) -> None:
    _write_json(ctx, RELEASES, releases, "record a release in")


def _read_json(ctx, path: str):
    """The JSON document at ``path`` in the proxy's volume; None when there is none."""
    p = proxy(ctx)
    if p is None or p.status != "running":
        return None
    code, out = p.exec_run(["cat", path], user="0")
    if code != 0:
        return None
    try:
        return json.loads(out)
    except ValueError:
        return None


def _write_json(ctx, path: str, value, doing: str) -> None:
    p = proxy(ctx)
    code, out = p.exec_run(
        [
            "python3",
            "-c",
            "import os, sys\np = sys.argv[1]\nopen(p + '.tmp', 'w').write(sys.argv[2])\nos.replace(p + '.tmp', p)",
            path,
            json.dumps(value),
        ],
        user="0",
    )
    if code != 0:
        raise DeployFailed(f"could not {doing} the proxy {p.name}: {out.decode(errors='replace').strip()}")


def _key(create: bool) -> bytes | None:
    """The machine-local HMAC key; with ``create``, made first when missing (two
    processes racing agree on the first one written)."""
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "deployer-bluegreen"
    path = base / "secret-key"
    if path.exists():
        return path.read_bytes()
    if not create:
        return None
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = base / f".secret-key.{os.getpid()}.{_secrets.token_hex(4)}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(_secrets.token_bytes(32))
    try:
        os.link(temporary, path)  # atomic: fails when another process made it first
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path.read_bytes()


def colour(ctx, settings) -> str:
    """The release's colour: a hash of everything a replica is made from (secret values
    only through an HMAC under a machine-local key), not of the replica count."""
    app = ctx.app
    key = _key(create=ctx.mode == "up")
    secret_mac = (
        hmac.new(key, json.dumps(sorted((k, str(v)) for k, v in ctx.secrets.items())).encode(), "sha256").hexdigest()
        if key is not None
        else "unknown"
    )
    material = {
        "image": ctx.image.id if ctx.image else "",
        "port": app.port,
        "command": list(app.command) if app.command else None,
        "env": sorted((k, str(v)) for k, v in app.env.items()),
        "secrets": secret_mac if app.secrets else "",
        "health": [app.health.path, app.health.timeout, app.health.retries, app.health.start_period],
        "cpu": app.cpu,
        "memory": app.memory,
        "health_interval": settings.health_interval,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:8]
