"""The library API behind the CLI: each command is one function here.

Order of work for every command: load and validate everything (config, target,
target settings, secrets), and only then build or touch anything. Tests and plugins call
these functions directly.
"""

from __future__ import annotations

import inspect
import re
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from attrs import evolve, frozen

from deployer import docker_engine, plugin_manager
from deployer.checks import checks_for
from deployer.config import CONFIG_FILE, check_app, load_project, resolve_secrets, target_config
from deployer.errors import ConfigError, ConfigErrors, DeployerError, DeployFailed, UsageError
from deployer.image import (
    KEEP_IMAGES,
    build_image,
    discard_image,
    project_id,
    prune_images,
    remove_images,
    require_deployable,
    resolve_image,
)
from deployer.lifecycle import phase_runner
from deployer.models import (
    Deployment,
    Image,
    LogLine,
    Mode,
    PhaseContext,
    Plan,
    Project,
    Status,
    command_line,
)
from deployer.plugin_manager import DeployerPluginManager
from deployer.progress import Reporter, SilentReporter
from deployer.releases import DEPLOYED, Release, noting, rollback_images, rollback_note
from deployer.releases import current as current_release
from deployer.releases import previous as previous_release
from deployer.targets import Driver
from deployer.verify import Report, base_url_problem, run_checks

STACK_PATTERN = r"[a-z0-9][a-z0-9-]{0,15}"


@frozen
class Session:
    """A project, a target and a stack, validated and ready for a driver."""

    project: Project
    pm: DeployerPluginManager
    target: str
    stack: str
    reporter: Reporter

    def driver(self) -> Driver:
        return self.pm.target(self.target).driver()

    def check_app(self) -> None:
        """Let the selected target, then every other available target with a
        ``[targets.<name>]`` table in the config, refuse an app it cannot run (size
        parity: ``--target local`` refuses what a configured aws-ecs would). Every
        target is checked before raising, so one run names every refusal."""
        errors: list[ConfigError] = []
        checks = [(self.pm.target(self.target), True)]
        checks += [
            (info, False)
            for name, info in self.pm.targets.items()
            if name != self.target and name in self.project.targets and info.available
        ]
        for info, selected in checks:
            try:
                check_app(self.project, info, selected=selected)
            except ConfigError as exc:
                errors.append(exc)
        if errors:
            raise ConfigErrors(errors)

    def context(self, mode: Mode, *, secrets: Mapping[str, str] | None = None) -> PhaseContext:
        """The phase context for ``mode``; validates the target's config section."""
        info = self.pm.target(self.target)
        return PhaseContext(
            app=self.project.app,
            target=target_config(self.project, info),
            stack=self.stack,
            project_dir=self.project.root,
            mode=mode,
            secrets=secrets or {},
            report=self.reporter.line,
        )


def open_session(
    *,
    target: str = "local",
    stack: str = "dev",
    config: Path | None = None,
    project: Project | None = None,
    pm: DeployerPluginManager | None = None,
    reporter: Reporter | None = None,
) -> Session:
    """Load the config (unless ``project`` is given) and check the target and stack. A
    plugin that failed to load, and a ``[targets.<name>]`` table that nothing uses, are
    reported once, as warnings (the session's commands run without them)."""
    if not re.fullmatch(STACK_PATTERN, stack):
        raise UsageError(
            f"--stack: {stack!r} must be 1-16 lowercase letters, digits or dashes, starting with a letter or digit"
        )
    if pm is None:
        pm = plugin_manager.get_plugin_manager()
    reporter = reporter or SilentReporter()
    for failure in pm.load_failures:  # a phase it would replace or wrap runs as the target's own
        reporter.line(f"warning: {failure}; deployer runs without it")
    # a table may name an installed target, or a plugin blocked or failing to load (said apart)
    known = {*pm.targets, *pm.blocked, *(failure.name for failure in pm.load_failures)}
    project = project or load_project(config, check_target=partial(_parse_target_table, pm), known_targets=known)
    for name in sorted(set(project.targets) - known):  # a misspelt one is an error (load_project)
        reporter.line(
            f"warning: [targets.{name}] names no installed target, so nothing uses it "
            "(`deployer targets` lists the installed ones)"
        )
    pm.target(target)
    return Session(project=project, pm=pm, target=target, stack=stack, reporter=reporter)


def _parse_target_table(pm: DeployerPluginManager, name: str, table: Mapping[str, Any], key: str) -> None:
    """Parse a ``[targets.<name>]`` table with its target's plugin while a config with
    errors is read, so its errors are listed with those; a target not installed is left
    alone here."""
    info = pm.targets.get(name)
    if info is not None and info.available:
        info.parse_settings(table, key)


def _checked_context(session: Session, mode: Mode, environ: Mapping[str, str] | None) -> PhaseContext:
    """The context of a command that needs the secrets (``up``, ``plan``, ``rollback``). The
    targets' sections and the app against them (:meth:`Session.check_app`) and the
    secrets are all checked before raising, so one run names every problem."""
    errors: list[ConfigError] = []
    secrets: dict[str, str] = {}
    try:
        session.check_app()
    except ConfigError as exc:
        errors.append(exc)
    try:
        secrets = resolve_secrets(session.project, environ)
    except ConfigError as exc:
        errors.append(exc)
    if errors:
        raise ConfigErrors(errors)
    return session.context(mode, secrets=secrets)


def _preflight(session: Session, driver: Driver, ctx: PhaseContext) -> None:
    """Let the driver check its tools and credentials before anything is built or read:
    for ``up``, ``plan`` (not ``--offline``), ``status``, ``down``, ``logs``, ``exec`` and ``run``. A platform
    that cannot be reached is an ``EnvironmentProblem`` (exit 2) saying how to fix it,
    raised before the command does anything; a setting it refuses (a host port in use) a
    :class:`ConfigError` naming the config file."""
    check = getattr(driver, "preflight", None)
    if check is not None:
        with _naming_the_config_file(session.project):
            check(ctx)


def _lock(driver: Driver, ctx: PhaseContext) -> AbstractContextManager[object]:
    """The driver's optional stack lock (``lock(ctx)``), else nothing to hold."""
    lock = getattr(driver, "lock", None)
    return lock(ctx) if lock is not None else nullcontext()


def build(project: Project, reporter: Reporter | None = None) -> Image:
    """Build the app image (a no-op when an image with the same content hash exists),
    labelled as the project's (:func:`deployer.image.project_id`), then prune the
    project's older images. Needs no target: no plugin is loaded."""
    reporter = reporter or SilentReporter()
    image = _build(project, reporter)
    _prune(project, image, reporter)
    return image


def _build(project: Project, reporter: Reporter) -> Image:
    started = time.perf_counter()
    image = build_image(project.app, report=reporter.line, project=project_id(project.config_file))
    reporter.phase("build", time.perf_counter() - started)
    return image


def _prune(project: Project, image: Image, reporter: Reporter, protect: Collection[str] = ()) -> None:
    """After ``image`` was built now: untag the project's images of the app beyond the
    newest :data:`~deployer.image.KEEP_IMAGES` (never ``image`` nor one of ``protect``,
    never one a container uses). An image that existed already adds none, so nothing is
    listed then."""
    if not image.built:
        return
    pruned = prune_images(
        project.app.name,
        project=project_id(project.config_file),
        keep=KEEP_IMAGES,
        protect={image.id, *protect},
        client=docker_engine.connect(),
    )
    for line in pruned:
        reporter.line(line)


def up(session: Session, environ: Mapping[str, str] | None = None) -> Deployment:
    """Deploy: validate, build the image once, then let the target's driver run the phases.
    The build and the driver's ``up`` run inside the driver's stack lock when it has one,
    so two concurrent runs of one stack build and roll out once. Secret values are read
    from ``environ`` (the process environment when None)."""
    ctx = _checked_context(session, "up", environ)
    driver = session.driver()
    _preflight(session, driver, ctx)
    with _lock(driver, ctx):
        image = _build(session.project, session.reporter)  # pruned once it has served
        try:
            require_deployable(session.project, image)
        except UsageError:
            _discard_refused(session, image)
            raise
        ctx = evolve(ctx, image=image)
        try:
            with _naming_the_config_file(session.project):
                deployment = driver.up(ctx, phase_runner(session.pm, observe=session.reporter.phase))
        except DeployFailed:
            _discard_unserved(session, driver, ctx, image)
            raise
        if image.built:  # only a build adds an image: else nothing to prune, no releases to ask for
            protect = _rollback_images(driver, ctx)
            if protect is not None:
                _prune(session.project, image, session.reporter, protect=protect)
        return evolve(deployment, image=image.tag)


def _rollback_images(driver: Driver, ctx: PhaseContext) -> set[str] | None:
    """The image IDs ``rollback`` may need, from the driver's releases
    (:func:`.releases.rollback_images`); none when it records no releases, and None when
    it cannot list them now: then nothing is pruned (the deploy itself succeeded)."""
    listing = getattr(driver, "releases", None)
    if listing is None:
        return set()
    try:
        return rollback_images(listing(ctx))
    except DeployerError:
        return None


def _discard_refused(session: Session, image: Image) -> None:
    """After ``up`` refused the image it built now (:func:`require_deployable`): untag it,
    keeping its build steps for the fixed build, so that it takes no rollback's place among
    the ``KEEP_IMAGES`` kept. No release ran it (an image refused now was never deployed
    from this build). Best effort: the refusal is what to report."""
    if not image.built:
        return
    try:
        lines = discard_image(session.project.app.name, image, client=docker_engine.connect(), keep_steps=True)
    except DeployerError:
        return
    for line in lines:
        session.reporter.line(f"{line}: refused")  # the error says why


def _discard_unserved(session: Session, driver: Driver, ctx: PhaseContext, image: Image) -> None:
    """After a failed ``up``: remove the image it built unless a deployed release ran it
    (or a container uses it). Images are pruned only after an ``up`` that served, and failed
    ones go at once, so the newest images kept (``KEEP_IMAGES``) are ones that served and
    can be rolled back to."""
    if not image.built:
        return  # an image that existed before this up: another run may serve it
    listed = getattr(driver, "releases", None)
    try:
        served = {r.image_id for r in listed(ctx) if r.status == DEPLOYED} if listed else set()
    except DeployerError:
        return  # the failed up is what to report; its image stays
    if image.id and image.id not in served:
        for line in discard_image(session.project.app.name, image, client=docker_engine.connect()):
            session.reporter.line(f"{line}: its release failed")


def plan(session: Session, *, offline: bool = False, environ: Mapping[str, str] | None = None) -> Plan:
    """What ``up`` would do; never builds, creates or changes anything. Secret values are
    read from ``environ`` (the process environment when None)."""
    ctx = _checked_context(session, "plan", environ)
    driver = session.driver()
    if not offline:
        _preflight(session, driver, ctx)
    image = resolve_image(session.project.app)
    if offline and not image.id:  # a review without the platform: say what it cannot show
        session.reporter.line(
            f"the image {image.tag} is not built yet, so its USER, platform, volumes and health-check tool are checked once it is "
            "(`deployer build`, or the next up)"
        )
    require_deployable(session.project, image)
    ctx = evolve(ctx, image=image)
    with _naming_the_config_file(session.project):
        return driver.plan(ctx, phase_runner(session.pm, observe=session.reporter.phase), offline=offline)


@contextmanager
def _naming_the_config_file(project: Project) -> Iterator[None]:
    """A :class:`ConfigError` a target raises within about a key of the config (its check
    of the built image, say) names the config file, as the config's own errors do. Config
    keys are lower case (``targets.aws-ecs.architecture``); an error about an environment
    variable (``AWS_REGION``) names none."""
    try:
        yield
    except ConfigError as exc:
        if exc.file or not exc.key[:1].islower():
            raise
        raise exc.in_file(project.config_file) from exc  # --debug shows where the target raised it


def down(session: Session, images: bool = False, *, destroy_data: bool = False) -> list[str]:
    """Remove everything ``up`` created for this app and stack (with nothing deployed,
    remove nothing and succeed: idempotent); with ``images``, then also this project's
    images of the app (:func:`deployer.image.remove_images`: every one no container uses,
    whatever stack or target ran it). The database's data only with ``destroy_data``
    (``down --destroy-data``, alias ``--volumes``), which the driver's ``down`` receives as
    its keyword ``destroy_data``; a driver whose ``down`` takes none refuses it. Returns
    one line per image removed or kept (empty without ``images``)."""
    ctx = session.context("down")
    driver = session.driver()
    _preflight(session, driver, ctx)
    started = time.perf_counter()
    if destroy_data and "destroy_data" not in inspect.signature(driver.down).parameters:
        raise UsageError(f"target {session.target!r} does not support down --destroy-data")
    lines: list[str] = []
    with _lock(driver, ctx):
        if destroy_data:
            driver.down(ctx, destroy_data=True)  # type: ignore[call-arg]
        else:
            driver.down(ctx)
        if images:
            project = session.project
            client = docker_engine.connect()
            lines = remove_images(project.app.name, project=project_id(project.config_file), client=client)
            for line in lines or [f"no image of app {project.app.name!r} from this project to remove"]:
                session.reporter.line(line)
    session.reporter.phase("down", time.perf_counter() - started)
    return lines


def status(session: Session) -> Status:
    """The deployed stack as it is now; ``Status.deployed`` is False when nothing is."""
    ctx = session.context("status")
    driver = session.driver()
    _preflight(session, driver, ctx)
    return driver.status(ctx)


def logs(session: Session, *, follow: bool = False, since: str | None = None) -> Iterator[LogLine]:
    """The replicas' log lines, merged; with ``follow``, until interrupted. ``since`` is
    parsed here, once for every target (:func:`parse_since`)."""
    start = parse_since(since, time.time()) if since is not None else None
    ctx = session.context("logs")
    driver = session.driver()
    _preflight(session, driver, ctx)
    return driver.logs(ctx, follow=follow, since=start)


def exec_in_replica(
    session: Session, command: Sequence[str] = (), *, replica: int | None = None, tty: bool = False
) -> int:
    """Run ``command`` (default: a shell) in a running replica (``replica``: 1-based, in
    the order ``status`` lists them; default the first) and return its exit code. With
    ``tty`` the command gets the caller's terminal. A target whose driver has no ``exec``
    is a :class:`UsageError`."""
    driver = session.driver()
    run = getattr(driver, "exec", None)
    if run is None:
        raise UsageError(f"target {session.target!r} does not support exec")
    if replica is not None and replica < 1:
        raise UsageError(f"--replica: must be 1 or more (got {replica})")
    ctx = session.context("exec")
    _preflight(session, driver, ctx)
    result: int = run(ctx, tuple(command) or DEFAULT_EXEC, replica=replica, tty=tty)
    return result


def releases(session: Session) -> list[Release]:
    """The stack's releases, oldest first (``deployer releases``). A target whose driver
    does not record releases is a :class:`UsageError`."""
    driver = session.driver()
    ctx = session.context("status")
    listing = _releases_of(driver, session)
    _preflight(session, driver, ctx)
    result: list[Release] = listing(ctx)
    return result


def _releases_of(driver: Driver, session: Session) -> Callable[[PhaseContext], list[Release]]:
    listing = getattr(driver, "releases", None)
    if listing is None:
        raise UsageError(f"target {session.target!r} does not record releases")
    return listing  # type: ignore[no-any-return]


def rollback(session: Session, release: int | None = None, environ: Mapping[str, str] | None = None) -> Deployment:
    """Deploy an earlier release's image again, without building, through the same
    rollout as ``up`` (``release``: its number; default the one before the current).
    Where that image is and whether it is still there is the driver's to say (its
    ``rollback_image``): the local image store, a registry.

    :raises UsageError: the target does not roll back, no such release, nothing to go
        back to, or its image is gone (exit 2).
    """
    ctx = _checked_context(session, "up", environ)
    driver = session.driver()
    listing = _releases_of(driver, session)
    image_of = getattr(driver, "rollback_image", None)
    if image_of is None:
        raise UsageError(f"target {session.target!r} does not support rollback")
    _preflight(session, driver, ctx)
    with _lock(driver, ctx):  # as for up: the releases read and the rollout, one at a time per stack
        known = listing(ctx)
        wanted = _rollback_target(session, known, release)
        image: Image = image_of(ctx, wanted)
        require_deployable(session.project, image)
        ctx = evolve(ctx, image=image)
        session.reporter.line(f"rolling back to release {wanted.number} ({wanted.image}, {wanted.created}): no build")
        serving = current_release(known)
        if serving is not None and wanted.number == serving.number:
            session.reporter.line(
                f"note: release {wanted.number} is the one serving: the rollout only starts what is missing"
            )
        elif serving is not None and wanted.image_id == serving.image_id:
            session.reporter.line(
                f"note: release {wanted.number} ran the image serving now (release {serving.number}'s): "
                "the rollout only starts what is missing; a rollback restores an image, not a config"
            )
        elif serving is not None and wanted.config_hash != serving.config_hash:
            session.reporter.line(
                f"note: release {wanted.number} was deployed with another app config; its image runs with the current one"
            )
        with noting(rollback_note(wanted.number)), _naming_the_config_file(session.project):
            return driver.up(ctx, phase_runner(session.pm, observe=session.reporter.phase))


def _rollback_target(session: Session, known: Sequence[Release], number: int | None) -> Release:
    if not known:
        raise UsageError(
            f"no release of app {session.project.app.name!r} on stack {session.stack!r}: "
            f"run `{command_line('up', target=session.target, stack=session.stack)}` first"
        )
    if number is None:
        wanted = previous_release(known)
        if wanted is None and len(known) > 1:
            raise UsageError(
                "every earlier release ran the image serving now, and a rollback restores an image, not a "
                "config: put the config back and run `deployer up` (`deployer releases` lists them)"
            )
        if wanted is None:
            raise UsageError("there is no earlier release to roll back to (`deployer releases` lists them)")
        return wanted
    for candidate in known:
        if candidate.number == number:
            if candidate.status != DEPLOYED:
                raise UsageError(f"release {number} failed to deploy; roll back to a deployed release")
            return candidate
    numbers = ", ".join(str(r.number) for r in known)
    raise UsageError(f"no release {number} on stack {session.stack!r} (releases: {numbers})")


def run_once(session: Session, command: Sequence[str]) -> int:
    """Run ``command`` once in a new container of the deployed app (its image, env,
    secrets, network and database) and return its exit code. A target whose driver has
    no ``run`` is a :class:`UsageError`."""
    if not command:
        raise UsageError("run: give the command to run, e.g. `deployer run -- python -m myapp.shell`")
    driver = session.driver()
    run = getattr(driver, "run", None)
    if run is None:
        raise UsageError(f"target {session.target!r} does not support run")
    ctx = session.context("run")
    _preflight(session, driver, ctx)
    result: int = run(ctx, tuple(command))
    return result


DEFAULT_EXEC = ("/bin/sh",)
"""What ``exec`` runs without a command: a shell, as every image built FROM a distribution has."""


_AGE = re.compile(r"(\d+)([smhd])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(text: str, now: float) -> datetime:
    """``--since``: an age (``30s``, ``10m``, ``2h``, ``1d``) before ``now`` (epoch
    seconds), or an ISO 8601 time, read as local time unless it names its zone (as
    ``docker logs --since``). Returns an aware datetime."""
    if match := _AGE.fullmatch(text.strip()):
        age = int(match[1]) * _SECONDS[match[2]]
        if age > now:
            raise UsageError(f"--since: {text!r} reaches back before 1970: leave --since out for every line")
        return datetime.fromtimestamp(now - age, UTC)
    try:
        moment = datetime.fromisoformat(text.strip())
        moment = moment if moment.tzinfo is not None else moment.astimezone()
        before_1970 = moment.timestamp() < 0
    except (ValueError, OverflowError, OSError):  # not a time, or one local time cannot hold
        raise UsageError(
            f"--since: {text!r} must be an age such as 30s, 10m, 2h, 1d or an ISO 8601 time such as 2026-05-01T12:00:00"
        ) from None
    if before_1970:
        raise UsageError(f"--since: {text!r} is before 1970: leave --since out for every line")
    return moment


def deployed_url(session: Session) -> str:
    """The endpoint of the deployed stack, for ``verify --target``."""
    current = status(session)
    if not current.deployed or not current.endpoint:
        raise UsageError(
            f"nothing is deployed for app {session.project.app.name!r} on target {session.target!r}, "
            f"stack {session.stack!r}: run `{command_line('up', target=session.target, stack=session.stack)}` first"
        )
    return current.endpoint


def verify(session: Session) -> Report:
    """Run the project's checks (its ``[[checks]]``, else the defaults) against the
    deployed stack's endpoint. Failed checks are in the report, not raised."""
    return run_checks(deployed_url(session), checks_for(session.project))


def verify_url(url: str, project: Project | None = None) -> Report:
    """Run ``project``'s checks (the defaults without a project) against ``url``, any
    http(s) base URL; a URL that is not one is a :class:`UsageError` naming ``--url``."""
    problem = base_url_problem(url)
    if problem:
        raise UsageError(f"--url: {url!r} {problem}")
    return run_checks(url, checks_for(project))


def find_project(config: Path | None = None, *, cwd: Path | None = None) -> Project | None:
    """The project of ``config``, else of the nearest config file above ``cwd``; None when
    no ``config`` is given and there is no config file to find (an invalid one is an error)."""
    if config is not None:
        return load_project(config)
    try:
        return load_project(cwd=cwd)
    except ConfigError as exc:
        if exc.key == CONFIG_FILE and exc.file is None:  # find_config: nothing to find
            return None
        raise
