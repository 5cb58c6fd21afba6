"""Loading and validating ``deployer.toml`` (or ``[tool.deployer]`` in ``pyproject.toml``).

Every problem is a :class:`ConfigError` naming the file, the key path, the bad value
and what is allowed, before anything is built or created; one run reports all of them
at once (:class:`ConfigErrors`, see :class:`deployer.config_section.Section`). Target sections
(``[targets.<name>]``) are validated by the target's own plugin, when it is selected.
"""

from __future__ import annotations

import codecs
import difflib
import os
import tomllib
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attrs import evolve

from deployer.checks import PATH_HINT, PATH_PATTERN, parse_checks
from deployer.config_section import CPU_UNITS, MIB, SECONDS, Section
from deployer.errors import ConfigError, ConfigErrors, UsageError, not_utf8
from deployer.models import (
    AppSpec,
    BuildSpec,
    HealthCheck,
    Project,
    Replicas,
    TargetConfig,
)
from deployer.services import DATABASE_ENV, NUL_REASON, parse_command_key, parse_database, parse_workers

if TYPE_CHECKING:
    from deployer.targets import TargetInfo

CONFIG_FILE = "deployer.toml"
NAME_PATTERN = r"[a-z][a-z0-9-]{0,22}[a-z0-9]"
NAME_HINT = "2-24 characters: ASCII lowercase letters, digits and dashes, starting with a letter and ending with a letter or digit"
ENV_NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_]*"
ENV_NAME_HINT = "letters, digits and underscores, not starting with a digit"
RESERVED_ENV = frozenset({"PORT"})
"""Set by deployer itself (to the app's port) on every target."""
HEALTH_PATH_MAX = 1024
"""The longest health check path: the ALB's limit for a target group's HealthCheckPath
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html;
the ELBv2 API model: ``Path``, min 1, max 1024)."""
DOCKERFILE_LIKENESS = 0.8
"""How alike (:mod:`difflib`'s ratio) a file's name must be to a missing Dockerfile's to
be suggested: ``Dockerfil`` and ``dockerfile`` are, ``Makefile`` is not."""


def find_config(start: Path) -> Path:
    """The config file for ``start``: the nearest ``deployer.toml``, or a ``pyproject.toml``
    with a ``[tool.deployer]`` table, searching upwards. A ``deployer.toml`` that is there
    but broken (a folder, a dangling symbolic link) is the one found, so that its error
    is shown rather than a config further up used in its place."""
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file() or os.path.lexists(candidate):
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "tool" in (doc := _read_toml(pyproject)) and "deployer" in doc["tool"]:
            return pyproject
    raise ConfigError(
        CONFIG_FILE,
        f"no {CONFIG_FILE} (or pyproject.toml with [tool.deployer]) in {start} or above; create one or pass --config",
    )


TargetTableCheck = Callable[[str, Mapping[str, Any], str], object]
"""``check(name, table, key)``: parse the ``[targets.<name>]`` table ``table`` (found at
``key``) with its target's plugin, raising :class:`ConfigError` for what is wrong in it."""


def load_project(
    config: Path | None = None,
    *,
    cwd: Path | None = None,
    check_target: TargetTableCheck | None = None,
    known_targets: Collection[str] | None = None,
) -> Project:
    """Read and validate a config file (found from ``cwd`` when ``config`` is None);
    ``check_target`` and ``known_targets`` as for :func:`parse_project`."""
    path = Path(config) if config is not None else find_config((cwd or _current_folder()).resolve())
    if not path.is_file():
        problem = (
            "is a folder, not a file"
            if path.is_dir()
            else "is not a regular file"
            if path.exists()
            else "is a symbolic link to nothing (its target is missing, or it loops)"
            if path.is_symlink()
            else "file not found"
        )
        if config is None:  # found by the search: it stops there, not at a config further up
            raise ConfigError(
                CONFIG_FILE, f"{path} {problem}; fix or remove it, or pass --config (the search stops at the nearest)"
            )
        raise ConfigError("--config", problem, value=str(path))
    document = _read_toml(path)
    if path.name == "pyproject.toml":
        tool = document.get("tool")
        if not isinstance(tool, dict) or "deployer" not in tool:
            message = "is missing: add a [tool.deployer] table (docs/configuration.md), or pass a deployer.toml"
            raise ConfigError("tool.deployer", message, file=path)
        document = tool["deployer"]
        prefix = "tool.deployer"
    else:
        prefix = ""
    try:
        return parse_project(
            document,
            root=path.parent.resolve(),
            prefix=prefix,
            config_file=path,
            check_target=check_target,
            known_targets=known_targets,
        )
    except ConfigError as exc:
        raise exc.in_file(path) from None


def _current_folder() -> Path:
    """The current working folder, to search for the config from.

    :raises UsageError: it was deleted (a shell still ``cd``-ed into it).
    """
    try:
        return Path.cwd()
    except FileNotFoundError:
        raise UsageError("the current folder no longer exists: cd to your project, or pass --config") from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        data = path.read_bytes()
        if data.startswith(codecs.BOM_UTF8):
            message = "starts with a byte order mark (BOM), which TOML does not allow: save it as UTF-8 without BOM"
            raise ConfigError("(syntax)", message, file=path) from None
        nul = data.find(b"\0")
        if nul >= 0:
            message = f"holds a NUL byte (offset {nul}), which text does not: is it a config file?"
            raise ConfigError("(syntax)", message, file=path) from None
        raise ConfigError("(syntax)", f"is not valid TOML: {exc}", file=path) from None
    except RecursionError:
        message = "nests arrays or tables hundreds of levels deep, more than deployer reads: flatten it"
        raise ConfigError("(syntax)", message, file=path) from None
    except UnicodeDecodeError as exc:
        message = f"{not_utf8(exc)}: save it as UTF-8"
        raise ConfigError("(file)", message, file=path) from None
    except OSError as exc:
        raise ConfigError("(file)", f"cannot be read: {exc}", file=path) from None


def parse_project(
    document: Mapping[str, Any],
    *,
    root: Path,
    prefix: str = "",
    config_file: Path | None = None,
    check_target: TargetTableCheck | None = None,
    known_targets: Collection[str] | None = None,
) -> Project:
    """Validate a parsed TOML document into a :class:`Project`. A ``[targets.<name>]``
    table's keys are its target's to check: when the document has errors already,
    ``check_target`` (if given) parses each table too, so that one run lists them all; a
    valid document's tables are checked by the session, with the app's refusals and the
    secrets (:func:`deployer.api.open_session`). Given ``known_targets`` (the installed
    targets' names, and those of plugins blocked or failing to load, whose tables are
    left alone), a table whose name is close to one of them but none (``locall``) is an
    error: a misspelt target name must not drop its settings silently."""
    top = Section(document, prefix)
    app_table = top.section("app")
    app = parse_app(app_table, root) if app_table.is_table else None
    checks = parse_checks(top)
    workers, database = parse_workers(top), parse_database(top)
    targets = top.section("targets")
    tables = [(name, targets.section(name)) for name in targets.raw]  # each must be a table
    if known_targets is not None:
        known = ", ".join(sorted(known_targets))
        for name in targets.raw:
            if meant := _misspelt_target(name, known_targets):
                targets.error(name, f"names no installed target; did you mean [targets.{meant}]? known: {known}")
    if check_target is not None and top.errors:  # listed with the others; see the docstring
        for name, table in tables:
            if table.is_table:
                with targets.collect():
                    check_target(name, table.raw, table.path)
    top.done()  # raises every error recorded above, at once
    assert app is not None
    if database is not None:
        taken = sorted(set(DATABASE_ENV) & {*app.env, *app.secrets})
        if taken:
            top.error("database", f"sets {', '.join(taken)} for every workload; remove them from app.env/app.secrets")
            top.raise_errors()
    if workers or database is not None:
        app = evolve(app, workers=workers, database=database)
    return Project(
        root=root, config_file=config_file or root / CONFIG_FILE, app=app, targets=dict(targets.raw), checks=checks
    )


def _misspelt_target(name: str, known: Collection[str]) -> str | None:
    """The known target ``name`` was probably meant to be, when it is none of them but
    close to one (``locall``, ``aws_ecs``); None otherwise."""
    if name in known:
        return None
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return close[0] if close else None


def parse_app(s: Section, root: Path) -> AppSpec:
    """Validate the ``[app]`` table."""
    name = s.text("name", pattern=NAME_PATTERN, hint=NAME_HINT)
    build = _parse_build(s.section("build"), root)
    port = s.integer("port", 8000, minimum=1, maximum=65535)
    command = parse_command_key(s, "command", leave_out="leave it out to use the image's CMD")
    env = s.mapping("env", key_pattern=ENV_NAME_PATTERN, key_hint=ENV_NAME_HINT)
    _refuse_nul(s, "env", env)
    secrets = s.names("secrets", pattern=ENV_NAME_PATTERN, hint=ENV_NAME_HINT)
    _check_secret_names(s, secrets, env)
    for reserved in sorted(RESERVED_ENV):
        if reserved in env:
            s.error(f"env.{reserved}", f"is set by deployer to the app's port; use {s.key('port')}")
        if reserved in secrets:
            s.error("secrets", f"names {reserved}, which deployer sets to the app's port; use {s.key('port')}")
    health = _parse_health(s.section("health"))
    cpu, memory = _parse_size(s)
    replicas = _parse_replicas(s)
    allow_root = s.boolean("allow_root", False)
    allow_empty_secrets = s.boolean("allow_empty_secrets", False)
    release_command = parse_command_key(s, "release_command")
    s.done()
    return AppSpec(
        name=name,
        build=build,
        port=port,
        command=command,
        env=env,
        secrets=secrets,
        health=health,
        cpu=cpu,
        memory=memory,
        replicas=replicas,
        allow_root=allow_root,
        allow_empty_secrets=allow_empty_secrets,
        release_command=release_command,
    )


def _refuse_nul(s: Section, name: str, values: Mapping[str, str]) -> None:
    for key, value in values.items():
        if "\0" in value:
            s.error(f"{name}.{key}", NUL_REASON)


def _check_secret_names(s: Section, secrets: tuple[str, ...], env: Mapping[str, str]) -> None:
    """A secret is not also plain env, and appears once, ignoring case: the aws-ecs target
    names each secret's resources (its Secrets Manager secret among them) after the
    lowercased name, so ``DB_PASSWORD`` and ``db_password`` would collide."""
    first: dict[str, int] = {}
    for index, secret in enumerate(secrets):
        if secret in env:
            s.error(
                f"secrets[{index}]", f"{secret} is also set in {s.key('env')}; a name is either plain env or a secret"
            )
        earlier = first.setdefault(secret.lower(), index)
        if earlier == index:
            continue
        if secrets[earlier] == secret:
            s.error(f"secrets[{index}]", f"{secret} is listed twice")
        else:
            s.error(
                f"secrets[{index}]",
                f"{secret} is listed twice ignoring case ({s.key('secrets')}[{earlier}] is {secrets[earlier]}): "
                "secret names must differ in more than case, as AWS resource names built from them would collide",
            )


def _parse_build(s: Section, root: Path) -> BuildSpec:
    context_text = s.text("context", ".")
    dockerfile = s.text("dockerfile", "Dockerfile")
    args = s.mapping("args", key_pattern=ENV_NAME_PATTERN, key_hint=ENV_NAME_HINT)
    _refuse_nul(s, "args", args)
    s.done()
    if not s.parsed("context", "dockerfile"):
        return BuildSpec(context=root, dockerfile=dockerfile, args=args)
    try:
        context = (root / context_text).resolve()
        context_ok = context.is_dir()
    except (OSError, ValueError, RuntimeError):
        context_ok, context = False, root
    if not context_ok:
        s.error("context", f"must be a folder (relative to {root})", value=context_text)
    elif problem := _dockerfile_problem(context, dockerfile):
        s.error("dockerfile", problem, value=dockerfile)
    return BuildSpec(context=context, dockerfile=dockerfile, args=args)


def _dockerfile_problem(context: Path, relative: str) -> str | None:
    """What is wrong with ``relative`` as the Dockerfile of ``context`` (None: nothing).
    It must name a regular file inside ``context`` once ``..`` and symlinks are resolved
    (an absolute path replaces ``context``, so ``/etc/passwd`` is outside); one outside is
    never read, nor said to exist or not: an error must not tell about files outside it."""
    try:
        path = (context / relative).resolve()
        if not path.is_relative_to(context):
            return f"must be a file inside {context}"
        if path.is_file():
            return None
        if path.exists():
            return f"must be a file, not a folder or a special file (in {context})"
    except (OSError, ValueError, RuntimeError):  # RuntimeError: a symlink loop
        return f"must be a file inside {context}"
    close = difflib.get_close_matches(path.name, sorted(_names_in(path.parent)), n=1, cutoff=DOCKERFILE_LIKENESS)
    meant = f"; did you mean {str((path.parent / close[0]).relative_to(context))!r}?" if close else ""
    return f"does not exist in {context}{meant}"


def _names_in(folder: Path) -> list[str]:
    """The names of the regular files in ``folder`` (none when it cannot be listed)."""
    try:
        return [entry.name for entry in folder.iterdir() if entry.is_file()]
    except OSError:
        return []


def _parse_health(s: Section) -> HealthCheck:
    path = s.text("path", "/healthz", pattern=PATH_PATTERN, hint=PATH_HINT)
    if s.parsed("path") and len(path) > HEALTH_PATH_MAX:
        s.error(
            "path", f"must be at most {HEALTH_PATH_MAX} characters (the AWS load balancer's limit), not {len(path)}"
        )
    interval = s.integer("interval", 10, minimum=5, maximum=300, unit=SECONDS)
    timeout = s.integer("timeout", 5, minimum=2, maximum=120, unit=SECONDS)
    retries = s.integer("retries", 3, minimum=1, maximum=10)
    start_period = s.integer("start_period", 10, minimum=0, maximum=300, unit=SECONDS)
    if s.parsed("interval", "timeout") and timeout >= interval:
        s.error("timeout", f"must be shorter than {s.key('interval')} ({interval} s)", value=timeout)
    s.done()
    return HealthCheck(path=path, interval=interval, timeout=timeout, retries=retries, start_period=start_period)


def _parse_size(s: Section) -> tuple[int, int]:
    """cpu units (1024 = 1 vCPU) and memory (MiB); which pairs a target runs is the
    target's own check (:attr:`~deployer.targets.TargetInfo.check_app`)."""
    cpu = s.integer("cpu", 256, minimum=1, unit=CPU_UNITS)
    memory = s.integer("memory", 512, minimum=1, unit=MIB)
    return cpu, memory


def _parse_replicas(s: Section) -> Replicas:
    raw = s.value("replicas", 1)
    if isinstance(raw, Mapping):
        r = s.section("replicas")
        low = r.integer("min", minimum=1, maximum=100)
        high = r.integer("max", minimum=1, maximum=100)
        if r.parsed("min", "max") and high < low:
            r.error("max", f"must be at least {r.key('min')} ({low})", value=high)
        r.done()
        return Replicas(min=low, max=high)
    if not isinstance(raw, int) or isinstance(raw, bool):
        s.error("replicas", "must be a count (integer) or a table {min = N, max = M}", value=raw)
        return Replicas()
    count = s.integer("replicas", 1, minimum=1, maximum=100)
    return Replicas(min=count, max=count)


def target_config(project: Project, info: TargetInfo) -> TargetConfig:
    """Validate the project's ``[targets.<name>]`` section with the target's plugin."""
    key = f"targets.{info.name}"
    try:
        settings = info.parse_settings(project.targets.get(info.name, {}), key)
    except ConfigError as exc:
        raise exc.in_file(project.config_file) from None
    return TargetConfig(name=info.name, settings=settings)


def check_app(project: Project, info: TargetInfo, *, selected: bool = True) -> None:
    """Let a target refuse the app spec (:attr:`~deployer.targets.TargetInfo.check_app`),
    with its ``[targets.<name>]`` settings. The error keeps the target's key and names
    the target; for a target that is not ``selected``, also the table that asked for it.

    When the table has mistakes, they are raised with the refusals the target makes on
    the rest of the table (its keys in error left out), so one run names both; when even
    that does not parse, with the refusals that need no settings."""
    errors: list[ConfigError] = []
    try:
        settings: Any = target_config(project, info).settings
    except ConfigError as exc:
        errors.append(exc)
        settings = _settings_without_errors(project, info, exc)
    try:
        _refuse_parts_not_run(project.app, info.runs)
        if settings is not None:
            info.check_app(project.app, settings)
    except ConfigError as exc:
        where = (
            f"on {info.name}"
            if selected
            else f"on {info.name} (checked because [targets.{info.name}] is in the config)"
        )
        errors += (
            ConfigError(error.key, f"{where}, {error.message}", value=error.value, file=project.config_file)
            for error in (exc.errors if isinstance(exc, ConfigErrors) else (exc,))
        )
    if errors:
        raise ConfigErrors(errors)


def _settings_without_errors(project: Project, info: TargetInfo, exc: ConfigError) -> Any:
    """The target's settings from its table without the keys ``exc`` names; None when
    that table does not parse either."""
    prefix = f"targets.{info.name}."
    wrong = {
        error.key.removeprefix(prefix).split(".")[0].split("[")[0]
        for error in (exc.errors if isinstance(exc, ConfigErrors) else (exc,))
        if error.key.startswith(prefix)
    }
    table = {k: v for k, v in project.targets.get(info.name, {}).items() if k not in wrong}
    try:
        return info.parse_settings(table, prefix.rstrip("."))
    except ConfigError:
        return None


def _refuse_parts_not_run(app: AppSpec, runs: frozenset[str]) -> None:
    """Raise the :class:`ConfigErrors` for each part of ``app`` (workers, release command,
    database) that is not in ``runs`` (:attr:`~deployer.targets.TargetInfo.runs`)."""
    hint = "remove it, or deploy with a target that runs it (`deployer targets` lists what each runs)"
    errors = []
    if "workers" not in runs:
        errors += [
            ConfigError(f"workers.{w.name}", f"is not run by this target (no workers): {hint}") for w in app.workers
        ]
    if app.release_command and "release_command" not in runs:
        errors.append(ConfigError("app.release_command", f"is not run by this target: {hint}"))
    if app.database is not None and "database" not in runs:
        errors.append(ConfigError("database", f"is not provided by this target: {hint}"))
    if errors:
        raise ConfigErrors(errors)


def resolve_secrets(project: Project, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Secret values from ``environ`` (the process environment when None). A missing one,
    or an empty one (unless ``app.allow_empty_secrets``), names the variable to set; all
    are reported at once."""
    environ = os.environ if environ is None else environ
    values, errors = {}, []
    for index, name in enumerate(project.app.secrets):
        key = f"app.secrets[{index}]"
        if name not in environ:
            message = f"secret {name} has no value: set the environment variable {name} before deploying"
            errors.append(ConfigError(key, message, file=project.config_file))
        elif not environ[name] and not project.app.allow_empty_secrets:
            message = (
                f"secret {name} is empty: the environment variable {name} is set to an empty string; "
                "set it to the secret's value (or set app.allow_empty_secrets = true if empty is meant)"
            )
            errors.append(ConfigError(key, message, file=project.config_file))
        else:
            values[name] = environ[name]
    if errors:
        raise ConfigErrors(errors)
    return values
