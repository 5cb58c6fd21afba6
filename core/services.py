"""Backing services, workers and the release command: their config and the phase result.

The config adds three things to the app (``docs/configuration.md``)::

    [app]
    release_command = "python -m myapp.migrate"   # optional; a string or an array

    [workers.mailer]            # zero or more: the app's image, its command, no ingress
    command = "python -m myapp.worker"
    replicas = 1
    cpu = 256
    memory = 512

    [database]                  # optional
    engine = "postgres"
    version = "15"
    storage_gb = 20

Backing services are provided by the ``deployer_services`` phase (between network and
registry, see :mod:`deployer.hookspecs`), which returns a :class:`ServicesResult`: the
environment every workload of the app receives (for a database ``DATABASE_URL``,
``PGHOST``, ``PGPORT``, ``PGDATABASE``, ``PGUSER``, ``PGPASSWORD``). Those values are
secrets: never printed, labelled or stored by deployer outside what the service needs.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

from attrs import field, frozen

from deployer.config_section import CPU_UNITS, MIB, Section
from deployer.models import Change

WORKER_NAME_PATTERN = r"[a-z][a-z0-9-]{0,14}[a-z0-9]"
WORKER_NAME_HINT = "2-16 characters: ASCII lowercase letters, digits and dashes, starting with a letter and ending with a letter or digit"
DATABASE_ENGINES = ("postgres",)
POSTGRES_VERSIONS = ("13", "14", "15", "16", "17", "18")
"""The PostgreSQL major versions a ``[database]`` may ask for (RDS runs each:
https://docs.aws.amazon.com/AmazonRDS/latest/PostgreSQLReleaseNotes/postgresql-versions.html);
a target may refuse one it cannot run."""
DATABASE_ENV = ("DATABASE_URL", "PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD")
"""The variables a workload receives for a Postgres database."""
NUL_REASON = (
    "must not contain a NUL character: a process's environment and arguments are "
    "NUL-terminated C strings, so Docker would refuse it only after the image was built"
)


def _frozen_map(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


@frozen
class WorkerSpec:
    """One ``[workers.<name>]`` table: ``replicas`` containers of the app's image running
    ``command``, with the app's env, secrets and backing services, and no ingress."""

    name: str
    command: tuple[str, ...]
    replicas: int = 1
    cpu: int = 256
    memory: int = 512


@frozen
class DatabaseSpec:
    """The ``[database]`` table: one database the app's workloads share."""

    engine: str = "postgres"
    version: str = "15"
    storage_gb: int = 20


@frozen
class ServicesResult:
    """What the services phase provides: ``env``, the variables every workload of the app
    (replicas, workers, the release command, one-off runs) receives. Its values are
    secrets (``repr`` hides them): never print, log, label or store them. ``services``
    names the backing services provided (``"database"``, ``"redis"`` ...); ``extra`` is
    the target's own detail (container names), never secret; ``changes`` its plan rows,
    as on every phase result."""

    env: Mapping[str, str] = field(factory=dict, converter=_frozen_map, repr=False)
    services: tuple[str, ...] = ()
    changes: tuple[Change, ...] = ()
    extra: Mapping[str, Any] = field(factory=dict, converter=_frozen_map)


def postgres_env(*, host: str, port: int, database: str, user: str, password: str) -> dict[str, str]:
    """The :data:`DATABASE_ENV` variables for a Postgres database."""
    url = f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/{quote(database, safe='')}"
    return {
        "DATABASE_URL": url,
        "PGHOST": host,
        "PGPORT": str(port),
        "PGDATABASE": database,
        "PGUSER": user,
        "PGPASSWORD": password,
    }


# --- parsing ---------------------------------------------------------------------------


def parse_command_key(
    s: Section, name: str, *, required: bool = False, leave_out: str = "leave it out"
) -> tuple[str, ...] | None:
    """A command key (``command``, ``release_command``): a string split like a shell
    would, or an array of strings; never empty (``leave_out`` says what leaving the key
    out does), no NUL, a program first."""
    raw = s.value(name, None)
    if raw is None:
        if required:
            s.error(name, "is required")
        return None
    if isinstance(raw, str):
        try:
            parts = tuple(shlex.split(raw))
        except ValueError as exc:
            s.error(name, f"cannot be split into arguments: {exc}", value=raw)
            return None
    else:
        parts = s.names(name)
        if not s.parsed(name):
            return None
    if not parts:
        s.error(name, "must not be empty" + ("" if required else f"; {leave_out}"), value=raw)
        return None
    if any("\0" in part for part in parts):
        s.error(name, NUL_REASON)
        return None
    if not parts[0].strip():
        s.error(name, "must start with the program to run, not an empty string", value=raw)
        return None
    return parts


def parse_workers(top: Section) -> tuple[WorkerSpec, ...]:
    """The ``[workers.<name>]`` tables of the config's top level (empty when absent)."""
    workers = top.section("workers")
    result = []
    for name in workers.raw:
        w = workers.section(name)
        if not w.is_table:
            continue
        if not re.fullmatch(WORKER_NAME_PATTERN, name):
            workers.error(name, f"is not a valid worker name: {WORKER_NAME_HINT}")
        command = parse_command_key(w, "command", required=True)
        replicas = w.integer("replicas", 1, minimum=0, maximum=100)
        cpu = w.integer("cpu", 256, minimum=1, unit=CPU_UNITS)
        memory = w.integer("memory", 512, minimum=1, unit=MIB)
        w.done()
        if command is not None:
            result.append(WorkerSpec(name=name, command=command, replicas=replicas, cpu=cpu, memory=memory))
    workers.done()
    return tuple(result)


def parse_database(top: Section) -> DatabaseSpec | None:
    """The ``[database]`` table (None when absent)."""
    if "database" not in top.raw:
        top.value("database", None)
        return None
    d = top.section("database")
    if not d.is_table:
        return None
    engine = d.text("engine", "postgres", choices=DATABASE_ENGINES)
    raw_version = d.value("version", "15")
    version = str(raw_version) if isinstance(raw_version, (str, int)) and not isinstance(raw_version, bool) else ""
    if version not in POSTGRES_VERSIONS:
        d.error("version", f"must be one of {', '.join(POSTGRES_VERSIONS)} (a string)", value=raw_version)
        version = "15"
    storage_gb = d.integer("storage_gb", 20, minimum=20, maximum=65536)
    d.done()
    return DatabaseSpec(engine=engine, version=version, storage_gb=storage_gb)


def declared_services(app: Any) -> tuple[str, ...]:
    """The backing services ``app`` (an :class:`~deployer.models.AppSpec`) declares."""
    return ("database",) if getattr(app, "database", None) is not None else ()
