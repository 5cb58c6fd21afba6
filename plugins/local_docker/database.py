"""The services phase of the local target: a Postgres container on the app's network.

- **image**: the official ``postgres:<version>`` when the engine has it or can pull it,
  otherwise a stand-in built here, ``deployer/postgres-standin:15``: FROM the app base
  image (``python:3.12-slim``) plus Debian bookworm's ``postgresql-15`` package and an
  entrypoint honouring the official image's variables (``PGDATA``, ``POSTGRES_USER``,
  ``POSTGRES_DB``, ``POSTGRES_PASSWORD_FILE``). Only version 15 has a stand-in.
- **data**: a named volume ``deployer-<app>-<stack>-db`` (role ``database-data``),
  mounted at ``/var/lib/postgresql/data``; ``down`` keeps it unless ``down
  --destroy-data`` (alias ``--volumes``).
- **password**: generated once per stack and kept in that volume
  (``/var/lib/postgresql/data/deployer/password``, mode 0600, owned by postgres), read by
  Postgres through ``POSTGRES_PASSWORD_FILE`` at initialisation. deployer reads it back
  from the volume on each ``up`` and passes it to the app's containers in their env only;
  it is never in a label, the plan, ``status`` or a line deployer prints.
- **container**: ``deployer-<app>-<stack>-db`` (role ``database``) running as the
  ``postgres`` user, no published port, reachable by that name on the app's network,
  health-checked with ``pg_isready``. A container made from another image or network
  is replaced; the volume, and so every row, stays.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import shlex
import tarfile
import time
from typing import Any

from deployer import docker_labels
from deployer.docker_engine import STREAM_TIMEOUT, DockerEngine
from deployer.errors import ConfigError, DeployFailed
from deployer.models import Change, NetworkResult, PhaseContext
from deployer.plugins.local_docker import engine
from deployer.services import DatabaseSpec, ServicesResult, postgres_env

ROLE_DATABASE = "database"
"""The database container."""
ROLE_DATABASE_DATA = "database-data"
"""The database's data volume (kept by ``down`` unless ``--destroy-data``)."""
ROLE_DATABASE_IMAGE = "database-image"
"""The Postgres stand-in image (shared by every app and stack on the machine)."""

DATA_DIR = "/var/lib/postgresql/data"
PGDATA = f"{DATA_DIR}/pgdata"
SECRET_DIR = "deployer"
PASSWORD_FILE = f"{DATA_DIR}/{SECRET_DIR}/password"
PORT = 5432
USER = "app"
STANDIN_REPOSITORY = "deployer/postgres-standin"
STANDIN_BASE = "python:3.12-slim"
STANDIN_VERSION = "15"
"""The PostgreSQL major version of the stand-in (Debian bookworm's ``postgresql-15``)."""
READY_TIMEOUT = 120
NEWEST_VERSION = 17
"""The newest major version this target runs: the official ``postgres:18`` image moved its
volume to ``/var/lib/postgresql`` and its ``PGDATA`` to ``/var/lib/postgresql/18/docker``
(https://github.com/docker-library/postgres/blob/master/18/trixie/Dockerfile), a layout
this target's volume does not follow."""

_ENTRYPOINT = r"""#!/bin/sh
# deployer's Postgres stand-in: the official image's variables, run as postgres.
set -eu
: "${PGDATA:?}" "${POSTGRES_PASSWORD_FILE:?}"
user="${POSTGRES_USER:-postgres}"
db="${POSTGRES_DB:-$user}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA" && chmod 700 "$PGDATA"
    initdb -D "$PGDATA" -U "$user" --pwfile="$POSTGRES_PASSWORD_FILE" \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    if [ "$db" != postgres ]; then
        echo "CREATE DATABASE \"$db\";" | postgres --single -jE -D "$PGDATA" postgres >/dev/null
    fi
    echo "database initialised in $PGDATA"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
"""

_DOCKERFILE = f"""FROM {STANDIN_BASE}
RUN apt-get update \\
 && apt-get install -y --no-install-recommends postgresql-15 \\
 && rm -rf /var/lib/apt/lists/* \\
 && mkdir -p {DATA_DIR} && chown postgres:postgres {DATA_DIR} && chmod 1777 {DATA_DIR} \\
 && dpkg-query -W -f='${{Version}}' postgresql-15 > /etc/postgres-standin-version
ENV PATH=/usr/lib/postgresql/15/bin:$PATH
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 755 /usr/local/bin/docker-entrypoint.sh
USER postgres
STOPSIGNAL SIGINT
EXPOSE {PORT}
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
"""


def name(ctx: PhaseContext) -> str:
    """The database container's name, also its host name on the app's network."""
    return f"{engine.prefix(ctx)}-db"


def volume_name(ctx: PhaseContext) -> str:
    return f"{engine.prefix(ctx)}-db"


# --- the image --------------------------------------------------------------------------


def require_available(docker: DockerEngine, spec: DatabaseSpec) -> None:
    """Before ``up`` builds anything: a ``version`` the stand-in does not have must be at
    most :data:`NEWEST_VERSION`, and in the image store or pullable as the official
    ``postgres:<version>`` (pulled here).

    :raises ConfigError: names ``database.version`` and the ways out (exit 2).
    """
    if int(spec.version) > NEWEST_VERSION:
        raise ConfigError(
            "database.version",
            f"is {spec.version}, and the local target runs PostgreSQL up to {NEWEST_VERSION}: from 18 on the "
            "official image keeps its data under /var/lib/postgresql, not in the /var/lib/postgresql/data volume "
            f'this target mounts; set database.version = "{NEWEST_VERSION}" or lower to run the app here',
            value=spec.version,
        )
    official = f"postgres:{spec.version}"
    if spec.version == STANDIN_VERSION or docker.image(official) is not None:
        return
    try:
        docker.patient(STREAM_TIMEOUT).pull("postgres", tag=spec.version)
    except docker.errors.APIError:
        raise _unavailable(spec) from None


def _unavailable(spec: DatabaseSpec) -> ConfigError:
    return ConfigError(
        "database.version",
        f"the official image postgres:{spec.version} cannot be pulled here, and the stand-in deployer builds "
        f"from Debian bookworm's packages has only PostgreSQL {STANDIN_VERSION}: set database.version = "
        f'"{STANDIN_VERSION}" or make the image available (docker pull / docker load)',
        value=spec.version,
    )


def _standin_tag() -> str:
    digest = hashlib.sha256((_DOCKERFILE + _ENTRYPOINT).encode()).hexdigest()[:12]
    return f"{STANDIN_REPOSITORY}:15-{digest}"


def image(docker: DockerEngine, ctx: PhaseContext, spec: DatabaseSpec, *, build: bool) -> tuple[str, str]:
    """``(reference, description)`` of the Postgres image to run: the official one when
    present or pullable, else the stand-in (built when ``build``)."""
    official = f"postgres:{spec.version}"
    if docker.image(official) is not None:
        return official, f"the official image {official}"
    if build:
        try:
            docker.patient(STREAM_TIMEOUT).pull("postgres", tag=spec.version)
            return official, f"the official image {official}"
        except docker.errors.APIError:
            pass
    if spec.version != STANDIN_VERSION:
        raise _unavailable(spec)
    tag = _standin_tag()
    description = f"the stand-in {tag} (Debian bookworm's postgresql-15, as the official image has no pull here)"
    if docker.image(tag) is None and build:
        ctx.report(f"building the Postgres stand-in image {tag} from Debian's postgresql-15 (once per machine)")
        context = engine.tar({"Dockerfile": _DOCKERFILE, "docker-entrypoint.sh": _ENTRYPOINT})
        try:
            for _ in docker.watched(
                lambda: docker.api.build(
                    fileobj=context,
                    custom_context=True,
                    tag=tag,
                    rm=True,
                    forcerm=True,
                    labels={docker_labels.ROLE: ROLE_DATABASE_IMAGE},
                    decode=True,
                    timeout=STREAM_TIMEOUT,
                )
            ):
                pass
        except docker.errors.APIError as error:
            raise DeployFailed(f"could not build the Postgres stand-in image: {error.explanation or error}") from None
        if docker.image(tag) is None:
            raise DeployFailed(
                f"building the Postgres stand-in image {tag} failed (FROM {STANDIN_BASE} + apt-get install "
                "postgresql-15); run scripts/base-image.sh if the base image is missing"
            )
    return tag, description


# --- the password, in the data volume ----------------------------------------------------


def _read_file(docker: DockerEngine, container: str, path: str) -> str | None:
    try:
        stream, _ = docker.api.get_archive(container, path)
    except docker.errors.NotFound:
        return None
    data = b"".join(stream)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        member = archive.next()
        handle = archive.extractfile(member) if member is not None else None
        return handle.read().decode() if handle is not None else None


def _owner(docker: DockerEngine, container: str, path: str) -> tuple[int, int]:
    """The uid and gid of ``path`` in ``container`` (the first header of its archive)."""
    stream, _ = docker.api.get_archive(container, path, chunk_size=4096)
    first = next(iter(stream), b"")  # a tar header is 512 bytes; the rest is never read
    info = tarfile.TarInfo.frombuf(first[:512], tarfile.ENCODING, "surrogateescape")
    return info.uid, info.gid


def _write_password(docker: DockerEngine, container: str, password: str) -> None:
    uid, gid = _owner(docker, container, DATA_DIR)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        folder = tarfile.TarInfo(SECRET_DIR)
        folder.type, folder.mode, folder.uid, folder.gid = tarfile.DIRTYPE, 0o700, uid, gid
        archive.addfile(folder)
        data = password.encode()
        item = tarfile.TarInfo(f"{SECRET_DIR}/password")
        item.size, item.mode, item.uid, item.gid, item.mtime = len(data), 0o600, uid, gid, int(time.time())
        archive.addfile(item, io.BytesIO(data))
    buffer.seek(0)
    docker.api.put_archive(container, DATA_DIR, buffer.getvalue())


def password_of(docker: DockerEngine, ctx: PhaseContext) -> str | None:
    """The stack's database password, read from the running database's volume (None
    when there is no database container)."""
    try:
        return _read_file(docker, name(ctx), PASSWORD_FILE)
    except docker.errors.APIError:
        return None


def env_for(ctx: PhaseContext, password: str) -> dict[str, str]:
    return postgres_env(host=name(ctx), port=PORT, database=ctx.app.name, user=USER, password=password)


# --- the phase ---------------------------------------------------------------------------


def _hash(image_ref: str, network: str, ctx: PhaseContext) -> str:
    spec = {"image": image_ref, "network": network, "user": USER, "database": ctx.app.name, "pgdata": PGDATA}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def apply(ctx: PhaseContext, network: NetworkResult) -> ServicesResult:
    """Converge the database (``plan``: list the changes, touch nothing): a container of
    another spec, not running, or not on the stack's network is replaced; its data volume
    stays."""
    spec = ctx.app.database
    if spec is None:
        return ServicesResult()
    docker = engine.client()
    network_name = network.extra.get("name", engine.prefix(ctx))
    container, volume = name(ctx), volume_name(ctx)
    changes: list[Change] = []

    volumes = docker.volumes(engine.selector(ctx, ROLE_DATABASE_DATA))
    has_volume = any(v["Name"] == volume for v in volumes)
    changes.append(Change("unchanged" if has_volume else "create", "volume", volume, "database data"))

    image_ref, description = image(docker, ctx, spec, build=ctx.mode != "plan")
    digest = _hash(image_ref, network_name, ctx)
    rows = [r for r in engine.containers(docker, ctx, ROLE_DATABASE) if engine.name(r) == container]
    row = rows[0] if rows else None
    current = (
        row is not None
        and row["Labels"].get(docker_labels.SPEC_HASH) == digest
        and engine.runs_on(row, network_name)  # off the network, the app cannot reach it
    )
    if current:
        changes.append(Change("unchanged", "container", container, "database"))
    else:
        changes.append(
            Change(
                "create" if row is None else "replace",
                "container",
                container,
                f"postgres {spec.version}: {description}",
            )
        )
    extra: dict[str, Any] = {"container": container, "volume": volume, "image": image_ref}

    if ctx.mode == "plan":
        password = password_of(docker, ctx) if row is not None else None
        return ServicesResult(
            env=env_for(ctx, password or "(generated at up)"),
            services=("database",),
            changes=tuple(changes),
            extra=extra,
        )

    if not has_volume:
        ctx.report(f"creating volume {volume} for the database's data")
        docker.api.create_volume(volume, labels=engine.labels(ctx, ROLE_DATABASE_DATA))
    if not current:
        if row is not None:
            ctx.report(f"replacing database container {container} (its data volume {volume} stays)")
            docker.api.stop(container, timeout=30)
            docker.api.remove_container(container, v=True, force=True)
        ctx.report(f"starting database {container}: postgres {spec.version}, {description}")
        _create(docker, ctx, image_ref, network_name, digest)
    _wait_ready(docker, ctx)
    password = password_of(docker, ctx)
    if not password:
        raise DeployFailed(f"the database's password file is missing from volume {volume}")
    extra["version"] = _version(docker, container)
    ctx.report(f"database {container} ready: {extra['version']} ({image_ref})")
    return ServicesResult(env=env_for(ctx, password), services=("database",), changes=tuple(changes), extra=extra)


def _create(docker: DockerEngine, ctx: PhaseContext, image_ref: str, network: str, digest: str) -> None:
    container = name(ctx)
    second = 1_000_000_000
    host_config = docker.api.create_host_config(
        binds={volume_name(ctx): {"bind": DATA_DIR, "mode": "rw"}},
        restart_policy={"Name": "unless-stopped"},
        security_opt=["no-new-privileges"],
        cap_drop=["ALL"],
        shm_size="128m",
        log_config=engine.LOG_CONFIG,
    )
    created = docker.api.create_container(
        image_ref,
        name=container,
        hostname=engine.hostname(container),
        user="postgres",
        environment={
            "PGDATA": PGDATA,
            "POSTGRES_USER": USER,
            "POSTGRES_DB": ctx.app.name,
            "POSTGRES_PASSWORD_FILE": PASSWORD_FILE,
        },
        labels=engine.labels(ctx, ROLE_DATABASE, **{docker_labels.SPEC_HASH: digest}),
        healthcheck={
            "Test": ["CMD-SHELL", shlex.join(ready_command(USER, ctx.app.name))],
            "Interval": 1 * second,
            "Timeout": 5 * second,
            "Retries": 5,
            "StartPeriod": 60 * second,
        },
        host_config=host_config,
        networking_config=docker.api.create_networking_config({network: docker.api.create_endpoint_config()}),
    )
    try:
        if _read_file(docker, created["Id"], PASSWORD_FILE) is None:  # a new volume: a new password
            _write_password(docker, created["Id"], secrets.token_urlsafe(24))
        docker.api.start(created["Id"])
    except BaseException:
        docker.api.remove_container(created["Id"], v=True, force=True)
        raise


def ready_command(user: str, database: str) -> list[str]:
    """The command that succeeds once Postgres accepts connections over TCP on
    127.0.0.1:``PORT`` (``pg_isready``; an image's initialization server listens on no
    TCP port), run inside the database's container."""
    return ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(PORT), "-U", user, "-d", database]


def _wait_ready(docker: DockerEngine, ctx: PhaseContext) -> None:
    container = name(ctx)
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        info = docker.container(container)
        state = (info or {}).get("State", {})
        health = (state.get("Health") or {}).get("Status")
        if health == "healthy":
            return
        if info is None or state.get("Status") in ("exited", "dead") or time.monotonic() > deadline:
            logs = docker.api.logs(container, tail=20).decode(errors="replace") if info is not None else ""
            shown = "\n".join(f"  | {line}" for line in logs.splitlines()) or "  | (no output)"
            raise DeployFailed(
                f"database {container} did not become ready (pg_isready) within {READY_TIMEOUT} s.\n"
                f"last log lines:\n{shown}\nIts data volume {volume_name(ctx)} was kept."
            )
        time.sleep(0.25)


def _version(docker: DockerEngine, container: str) -> str:
    exec_id = docker.api.exec_create(container, ["postgres", "--version"])["Id"]
    return bytes(docker.api.exec_start(exec_id)).decode(errors="replace").strip()


def status(docker: DockerEngine, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``status`` detail of the database container among ``rows`` (empty when none)."""
    found = [r for r in rows if engine.role(r) == ROLE_DATABASE]
    if not found:
        return {}
    row = found[0]
    record = {"name": engine.name(row), "state": row["State"], "health": engine.health(row), "image": row["Image"]}
    return {"database": [record]}  # a list of records: status prints one per line
