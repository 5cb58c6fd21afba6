"""The aws-ecs driver: the Pulumi Automation API for up/plan/down, boto3 for the truth.

One Pulumi stack per ``--stack``, inline program (:mod:`.program`), state in a local
``file://`` backend under the project (``.deployer/pulumi``) unless ``PULUMI_BACKEND_URL``
or ``backend_url`` says otherwise. Before any workspace is created the driver checks, in
order: the Pulumi CLI on PATH, a passphrase for the stack's secrets, an AWS region and
AWS credentials; each missing piece is an :class:`EnvironmentProblem` (exit 2) saying
how to fix it, and nothing is left on disk. ``plan(offline=True)`` needs none of them.

pulumi.automation and boto3 are imported only by the operations that talk to AWS, so an
offline plan pays for neither.

``up`` returns only when ECS reports the new deployment COMPLETED and the target group
has the desired number of healthy targets (:func:`.health.wait_until_healthy`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from deployer.errors import ConfigError, DeployFailed, EnvironmentProblem, UsageError
from deployer.models import Action, Change, Deployment, Image, LogLine, PhaseContext, Plan, Status
from deployer.plugins.aws_ecs import database_down, exec_session, health, hosted_zone, oneoff, program, release_stage
from deployer.plugins.aws_ecs import logs as cloudwatch
from deployer.plugins.aws_ecs import releases as aws_releases
from deployer.plugins.aws_ecs import settings as aws_settings
from deployer.plugins.aws_ecs.backing_status import with_backing_services
from deployer.releases import Release
from deployer.targets import RunPhases

PULUMI_INSTALL = "https://www.pulumi.com/docs/install/"
PROVIDER_PACKAGES = {"aws": "pulumi_aws", "docker": "pulumi_docker"}
"""The provider plugins the program needs, by the Python package whose ``pulumi-plugin.json``
names the version it was generated for (the version deployer is tested with)."""
_ACTIONS: dict[str, Action] = {
    "create": "create",
    "update": "update",
    "replace": "replace",
    "create-replacement": "replace",
    "delete": "remove",
    "same": "unchanged",
}


class AwsEcsDriver:
    """Implements :class:`deployer.targets.Driver` for ECS Fargate.

    ``sleep`` and ``clock`` drive the post-deploy health wait (injectable for tests).
    """

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        self._sleep, self._clock = sleep, clock
        self._backend = ""

    # --- Driver protocol --------------------------------------------------------------

    def up(self, ctx: PhaseContext, phases: RunPhases) -> Deployment:
        """Apply the stack, then wait for the truth (rollout COMPLETED, targets healthy)."""
        from pulumi import automation as auto

        program.check(ctx)  # before a stack exists: a refused key changes nothing
        stack, session = self._stack(ctx, lambda: program.run(ctx, phases))
        outputs = _outputs_or_none(stack)  # a refresh leaves the stack's outputs as they are
        program.check_deployed(ctx, outputs)
        try:
            # Read what AWS really runs first: after a circuit-breaker rollback the service
            # is back on the previous task definition while the state still names the new
            # one, and without a refresh Pulumi would see nothing to change and never retry.
            ctx.report("aws-ecs: refreshing the stack's state from AWS ...")
            stack.refresh(on_event=_reporter(ctx), color="never", show_secrets=False)
            ctx = _with_pushed_image(ctx, outputs, session)
            released = self._release_stage(ctx, stack, session, phases) if ctx.app.release_command else None
            result = stack.up(
                on_event=_reporter(ctx),
                color="never",
                show_secrets=False,
                program=lambda: program.run(ctx, phases, add=released),
            )
        except auto.errors.ConcurrentUpdateError:
            raise _locked(ctx) from None
        except auto.errors.CommandError as exc:
            aws_releases.mark_failed(session.client("ecs"), ctx, _outputs_or_none(stack))
            raise self._explain_failure(ctx, stack, session, exc) from None
        outputs = _values(result.outputs)
        aws_releases.wait_and_record(
            session.client("ecs"), session.client("elbv2"), ctx, outputs, clock=self._clock, sleep=self._sleep
        )
        return Deployment(target=ctx.target.name, stack=ctx.stack, endpoint=outputs["endpoint"], outputs=outputs)

    def plan(self, ctx: PhaseContext, phases: RunPhases, *, offline: bool = False) -> Plan:
        """A Pulumi preview, or with ``offline`` the program under mocks (no CLI, no AWS)."""
        if offline:
            from deployer.plugins.aws_ecs import offline as mocked

            return mocked.plan(ctx, phases)
        from pulumi import automation as auto

        program.check(ctx)
        stack, session = self._stack(ctx, lambda: program.run(ctx, phases))
        outputs = _outputs_or_none(stack)
        program.check_deployed(ctx, outputs)
        pushed_ctx = _with_pushed_image(ctx, outputs, session)
        changes: list[Change] = []
        root: list[Change] = []

        def collect(event: Any) -> None:
            pre = event.resource_pre_event
            if pre is not None and pre.metadata.op in _ACTIONS:
                meta = pre.metadata
                change = Change(_ACTIONS[meta.op], meta.type, meta.urn.rsplit("::", 1)[-1], fields=_fields(meta))
                (root if meta.type == program.STACK_TYPE else changes).append(change)

        try:
            stack.preview(on_event=collect, color="never", program=lambda: program.run(pushed_ctx, phases))
        except auto.errors.ConcurrentUpdateError:
            raise _locked(ctx) from None
        except auto.errors.CommandError as exc:
            raise DeployFailed(f"pulumi preview failed: {_last_lines(exc)}") from None
        return Plan(target=ctx.target.name, stack=ctx.stack, changes=tuple(changes), root=next(iter(root), None))

    def down(self, ctx: PhaseContext, *, destroy_data: bool = False) -> None:
        """Destroy every resource of the stack and remove the stack; nothing to do is fine.
        A database goes first (:func:`.database_down.release`): refused (exit 2, nothing
        removed) while its deletion protection is on, unless ``destroy_data``."""
        stack, session = self._stack(ctx, lambda: None, create=False)
        if stack is None:
            ctx.report(f"aws-ecs: no stack {ctx.stack}, nothing to remove")
            return
        from pulumi import automation as auto

        database = _database(stack)
        if database:
            database_down.release(
                session.client("rds"),
                database,
                destroy_data=destroy_data,
                final_snapshot=aws_settings.of(ctx).database.final_snapshot,
                command=database_down.down_command(ctx),
                report=ctx.report,
            )
        local_tags = _local_tags(stack)
        try:
            # refresh: the state then knows the database is gone (deleted above)
            stack.destroy(on_event=_reporter(ctx), color="never", refresh=bool(database))
        except auto.errors.ConcurrentUpdateError:
            raise _locked(ctx) from None
        except auto.errors.CommandError as exc:
            raise DeployFailed(f"pulumi destroy failed (run it again to retry): {_last_lines(exc)}") from None
        stack.workspace.remove_stack(ctx.stack)
        _remove_local_tags(ctx, local_tags)
        _remove_stack_files(ctx, self._backend)

    def status(self, ctx: PhaseContext) -> Status:
        """Stack outputs plus one live reading of rollout and target health."""
        outputs, session = self._read_stack(ctx)
        if "service" not in outputs:
            return Status(target=ctx.target.name, stack=ctx.stack, deployed=False)
        status = health.live_status(
            session.client("ecs"), session.client("elbv2"), target=ctx.target.name, stack=ctx.stack, outputs=outputs
        )
        return with_backing_services(status, rds=session.client("rds"), ecs=session.client("ecs"), outputs=outputs)

    def logs(self, ctx: PhaseContext, *, follow: bool = False, since: datetime | None = None) -> Iterator[LogLine]:
        """The app's CloudWatch log lines, oldest first."""
        outputs, session = self._read_stack(ctx)
        yield from cloudwatch.read(
            session.client("logs"),
            program.deployed(ctx, outputs)["log_group"],
            follow=follow,
            since=since,
            sleep=self._sleep,
        )

    def run(self, ctx: PhaseContext, command: Sequence[str]) -> int:
        """Run ``command`` once in a one-off Fargate task of the service's current task
        definition (:func:`.oneoff.run_in_service`), print its log lines, return its exit code."""
        outputs, session = self._read_stack(ctx)
        return oneoff.run_in_service(
            session.client("ecs"),
            session.client("logs"),
            program.deployed(ctx, outputs),
            command,
            report=ctx.report,
            output=print,
            sleep=self._sleep,
            clock=self._clock,
        )

    def exec(self, ctx: PhaseContext, command: Sequence[str], *, replica: int | None = None, tty: bool = False) -> int:
        """ECS Exec into a running replica (:mod:`.exec_session`); always interactive, as
        ECS Exec is. Refused (exit 2) without ``exec = true`` or the Session Manager plugin."""
        exec_session.require_enabled(aws_settings.of(ctx).exec, None)
        plugin = exec_session.require_plugin()
        outputs, session = self._read_stack(ctx)
        return exec_session.exec_in_service(
            session.client("ecs"),
            program.deployed(ctx, outputs),
            plugin=plugin,
            container=ctx.app.name,
            command=command,
            replica=replica,
            region=session.region_name,
            profile=os.environ.get("AWS_PROFILE"),
        )

    def _release_stage(self, ctx: PhaseContext, stack: Any, session: Any, phases: RunPhases) -> dict[str, str]:
        """Apply all but the serving workloads, run the release command if its task
        definition changed (:mod:`.release_stage`); return the outputs the update adds."""
        before = _values(stack.outputs())
        omit = release_stage.stage_omits(before)
        ctx.report("aws-ecs: applying everything but the services' new revisions, for the release command ...")
        staged = _values(
            stack.up(
                on_event=_reporter(ctx),
                color="never",
                show_secrets=False,
                program=lambda: program.run(ctx, phases, omit=omit),
                exclude=release_stage.held_urns(ctx, program.project_name(ctx)),
                exclude_dependents=True,
            ).outputs
        )
        return release_stage.run_release(
            ctx, session.client("ecs"), session.client("logs"), before, staged, sleep=self._sleep, clock=self._clock
        )

    def releases(self, ctx: PhaseContext) -> list[Release]:
        """The stack's releases: its task definition revisions in ECS (:mod:`.releases`),
        each saying whether ECR still holds its image."""
        outputs, session = self._read_stack(ctx)
        return aws_releases.listing(session.client("ecs"), session.client("ecr"), ctx, outputs)

    def rollback_image(self, ctx: PhaseContext, release: Release) -> Image:
        """``release``'s image in ECR, to deploy again without building or pushing
        (:func:`.releases.rollback_image`)."""
        outputs, session = self._read_stack(ctx)
        return aws_releases.rollback_image(session.client("ecs"), session.client("ecr"), ctx, release, outputs)

    # --- the stack --------------------------------------------------------------------

    def _read_stack(self, ctx: PhaseContext) -> tuple[dict[str, Any], Any]:
        """For the commands that only read: the stack's outputs (none when there is no
        stack; nothing is created) and the boto3 session."""
        stack, session = self._stack(ctx, lambda: None, create=False, engine=False)
        return (_values(stack.outputs()) if stack else {}), session

    def preflight(self, ctx: PhaseContext) -> None:
        """Check the Pulumi CLI, the passphrase, the region and the credentials, and for
        ``up`` and ``plan`` the ``domain``'s hosted zone, so the core reports a missing
        piece before it builds anything; for ``exec`` first ``exec = true`` and the Session
        Manager plugin (what the user must fix first)."""
        if ctx.mode == "exec":
            exec_session.require_enabled(aws_settings.of(ctx).exec, None)
            exec_session.require_plugin()
        _, session = self._environment(ctx)
        if ctx.mode in ("up", "plan"):
            hosted_zone.require(session.client("route53"), aws_settings.of(ctx), f"targets.{ctx.target.name}")

    def _environment(self, ctx: PhaseContext) -> tuple[str, Any]:
        """The checked backend URL and a boto3 session for the region."""
        cfg = aws_settings.of(ctx)
        backend = preflight(ctx, cfg, os.environ)
        self._backend = backend
        import boto3

        # boto3 reads AWS_DEFAULT_REGION and the profile but not AWS_REGION, which Pulumi and the AWS CLI honour
        session = boto3.Session(region_name=cfg.region or os.environ.get("AWS_REGION") or None)
        if session.region_name is None:
            raise EnvironmentProblem(
                'aws-ecs needs an AWS region: set [targets.aws-ecs] region = "eu-west-1" '
                "or export AWS_REGION (or configure your AWS profile's region)"
            )
        if not cfg.region:  # the setting is checked with the config; the environment's here
            aws_settings.environment_region(_region_source(ctx), session.region_name)
            problem = cfg.certificate_arn and aws_settings.certificate_region_problem(
                cfg.certificate_arn, session.region_name
            )
            if problem:
                raise ConfigError(f"targets.{ctx.target.name}.certificate_arn", problem, value=cfg.certificate_arn)
        if session.get_credentials() is None:
            raise EnvironmentProblem(
                "no AWS credentials found: export AWS_PROFILE (after `aws sso login` or "
                "`aws configure`) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            )
        return backend, session

    def _stack(self, ctx: PhaseContext, run: Callable[[], Any], *, create: bool = True, engine: bool = True):
        """The checked environment's stack (None when ``create`` is False and it does not
        exist) and a boto3 session for its region; with ``engine`` (an operation that runs
        the engine: up, preview, destroy) the provider plugins are installed first."""
        backend, session = self._environment(ctx)
        region = session.region_name
        state_dir = Path(backend.removeprefix("file://")) if backend.startswith("file://") else None
        if not create and state_dir is not None and not state_dir.is_dir():
            return None, session  # nothing was ever deployed from here: create nothing either
        from pulumi import automation as auto

        work_dir = ctx.project_dir / ".deployer" / "aws-ecs"
        work_dir.mkdir(parents=True, exist_ok=True)
        if state_dir is not None:
            state_dir.mkdir(parents=True, exist_ok=True)
        name = program.project_name(ctx)
        opts = auto.LocalWorkspaceOptions(
            work_dir=str(work_dir),
            env_vars={"PULUMI_BACKEND_URL": backend, "PULUMI_SKIP_UPDATE_CHECK": "true"},
            project_settings=auto.ProjectSettings(
                name=name, runtime="python", backend=auto.ProjectBackend(url=backend)
            ),
        )
        try:
            if create:
                stack = auto.create_or_select_stack(ctx.stack, name, run, opts=opts)
            else:
                stack = auto.select_stack(ctx.stack, name, run, opts=opts)
        except auto.errors.StackNotFoundError:
            return None, session
        except auto.errors.CommandError as exc:
            raise EnvironmentProblem(
                f"pulumi could not open stack {ctx.stack} at {backend}: {_last_lines(exc)}"
            ) from None
        pinned = pin_region(ctx, stack, region)
        if pinned is None:  # a new stack: it keeps this region from now on
            stack.set_config("aws:region", auto.ConfigValue(region))
        for key, value in {"deployer-app": ctx.app.name, "deployer-stack": ctx.stack}.items():
            stack.set_config(f"aws:defaultTags.tags.{key}", auto.ConfigValue(value), path=True)
        if engine:
            install_plugins(ctx, stack.workspace)
        return stack, session

    def _explain_failure(self, ctx, stack, session, exc) -> DeployFailed:
        """A failed ``pulumi up``: the engine's last lines plus what ECS says, if it can."""
        message = f"pulumi up failed: {_last_lines(exc)}"
        try:
            outputs = _values(stack.outputs())
            seen = health.observe(session.client("ecs"), session.client("elbv2"), **health.service_of(outputs))
            reasons = health.stopped_task_reasons(session.client("ecs"), outputs["cluster"], outputs["service"])
        except Exception:
            return DeployFailed(message)
        detail = [
            f"ECS rollout {seen.rollout_state}: {seen.rollout_reason}",
            *[f"health check: {p}" for p in seen.unhealthy],
            *[f"stopped task: {r}" for r in reasons],
        ]
        return DeployFailed("\n".join([message, *detail]))


def _fields(meta: Any) -> tuple[str, ...]:
    """The inputs an update or replace changes, as the engine's step metadata names them:
    ``diffs`` (top-level keys), else the roots of ``detailed_diff``'s property paths
    (``tags.Name`` and ``ingress[0].cidrBlocks`` count as ``tags`` and ``ingress``)."""
    if _ACTIONS.get(meta.op) not in ("update", "replace"):
        return ()
    keys = list(getattr(meta, "diffs", None) or ())
    if not keys:
        keys = [re.split(r"[.\[]", path, maxsplit=1)[0] for path in getattr(meta, "detailed_diff", None) or {}]
    return tuple(dict.fromkeys(key for key in keys if key))


def _values(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Stack outputs (``OutputValue``s, as ``stack.outputs()`` and an up result hold them)
    as plain values."""
    return {key: output.value for key, output in outputs.items()}


def _outputs_or_none(stack: Any) -> dict[str, Any]:
    """The stack's outputs, or none when a failed update left them unreadable."""
    try:
        return _values(stack.outputs())
    except Exception:
        return {}


def _locked(ctx: PhaseContext) -> DeployFailed:
    """The stack is locked: another update runs, or one was killed before it could unlock."""
    work_dir = ctx.project_dir / ".deployer" / "aws-ecs"
    return DeployFailed(
        f"aws-ecs: stack {ctx.stack} is locked by another update. If none is running (an earlier "
        f"one was killed), unlock it with `pulumi cancel --yes --stack {ctx.stack} --cwd {work_dir}`, then "
        "run the same command again: it converges from where the killed update stopped."
    )


def preflight(ctx: PhaseContext, cfg: aws_settings.AwsSettings, environ) -> str:
    """Check the Pulumi CLI and passphrase before touching the disk; return the backend URL."""
    if shutil.which("pulumi") is None:
        raise EnvironmentProblem(
            f"the aws-ecs target runs the Pulumi CLI ({minimum_cli_version()} or newer), which is not "
            f"on PATH. Install it ({PULUMI_INSTALL}), then retry. `deployer plan --target aws-ecs --offline` "
            "works without it."
        )
    check_cli_version()
    backend = (
        environ.get("PULUMI_BACKEND_URL")
        or cfg.backend_url
        or f"file://{(ctx.project_dir / '.deployer' / 'pulumi').resolve()}"
    )
    needs_passphrase = not backend.startswith("https://")
    if needs_passphrase and not {"PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"} & set(environ):
        raise EnvironmentProblem(
            "set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE): it encrypts the "
            f"stack's secrets in the state at {backend}. Keep it: every later up/down needs it."
        )
    return backend


def _reporter(ctx: PhaseContext) -> Callable[[Any], None]:
    """Turn engine events into one progress line each for ``ctx.report``."""

    def on_event(event: Any) -> None:
        if event.resource_pre_event and event.resource_pre_event.metadata.op != "same":
            meta = event.resource_pre_event.metadata
            ctx.report(f"{meta.op} {meta.type} {meta.urn.rsplit('::', 1)[-1]} ...")
        elif event.res_outputs_event and event.res_outputs_event.metadata.op != "same":
            meta = event.res_outputs_event.metadata
            ctx.report(f"{meta.op} {meta.type} {meta.urn.rsplit('::', 1)[-1]} done")
        elif event.res_op_failed_event:
            meta = event.res_op_failed_event.metadata
            ctx.report(f"FAILED {meta.op} {meta.type} {meta.urn.rsplit('::', 1)[-1]}")
        elif event.diagnostic_event and event.diagnostic_event.severity == "error":
            ctx.report(event.diagnostic_event.message.strip())

    return on_event


def _last_lines(exc: Exception, count: int = 12) -> str:
    text = (getattr(exc, "stderr", "") or str(exc)).strip().splitlines()
    return "\n".join(text[-count:])


def minimum_cli_version() -> str:
    """The oldest Pulumi CLI the installed Automation API accepts (its own constant)."""
    try:
        from pulumi.automation._minimum_version import _MINIMUM_VERSION
    except ImportError:  # moved in a later SDK: the constant the SDK of late 2026 has
        return "3.1.0"
    return str(_MINIMUM_VERSION)


def _version_tuple(text: str) -> tuple[int, int, int] | None:
    found = re.match(r"v?(\d+)\.(\d+)\.(\d+)", text.strip())
    return (int(found[1]), int(found[2]), int(found[3])) if found else None


def check_cli_version(run: Callable[..., Any] = subprocess.run) -> str:
    """``pulumi version``, parsed; an :class:`EnvironmentProblem` (exit 2) naming the
    minimum and the install page when it is older than the Automation API accepts, or
    when it does not answer with a version."""
    minimum = minimum_cli_version()
    try:
        answer = run(
            ["pulumi", "version"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"},
        )
        found = answer.stdout.strip() if answer.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        found = ""
    have, need = _version_tuple(found), _version_tuple(minimum)
    if have is None:
        raise EnvironmentProblem(
            f"`pulumi version` gave no version ({found or 'it failed'}): the aws-ecs target needs the Pulumi CLI "
            f"{minimum} or newer; reinstall it ({PULUMI_INSTALL})"
        )
    if need is not None and have < need:
        raise EnvironmentProblem(
            f"the Pulumi CLI on PATH is {found}; the aws-ecs target needs {minimum} or newer. "
            f"Upgrade it ({PULUMI_INSTALL}), then retry."
        )
    return found


def plugin_versions() -> dict[str, str]:
    """The provider plugin versions the installed pulumi_aws and pulumi_docker packages were
    generated for (their ``pulumi-plugin.json``), read without importing the packages."""
    from importlib.util import find_spec

    versions = {}
    for plugin, package in PROVIDER_PACKAGES.items():
        spec = find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        path = Path(next(iter(spec.submodule_search_locations))) / "pulumi-plugin.json"
        if path.exists():
            versions[plugin] = json.loads(path.read_text())["version"]
    return versions


def install_plugins(ctx: PhaseContext, workspace: Any) -> None:
    """Install the AWS and Docker provider plugins at the tested versions before the first
    operation, saying so: the engine would otherwise download them silently mid-update."""
    installed = {(p.name, p.version) for p in workspace.list_plugins()}
    for plugin, version in plugin_versions().items():
        if (plugin, version) in installed:
            continue
        ctx.report(f"aws-ecs: installing the Pulumi {plugin} provider plugin v{version} (once) ...")
        workspace.install_plugin(plugin, version)
        ctx.report(f"aws-ecs: Pulumi {plugin} provider plugin v{version} installed")


def _region_source(ctx: PhaseContext) -> str:
    if aws_settings.of(ctx).region:
        return "[targets.aws-ecs] region"
    if os.environ.get("AWS_REGION"):
        return "AWS_REGION"
    return "the AWS environment (AWS_DEFAULT_REGION or the profile's region)"


def pin_region(ctx: PhaseContext, stack: Any, region: str) -> str | None:
    """The region the stack was created in (its ``aws:region`` config; None for a new
    stack). A different ``region`` from the config or environment is a :class:`UsageError`
    (exit 2) naming both: moving a stack would recreate every resource elsewhere and
    orphan the old ones."""
    config = stack.get_all_config()
    pinned = config["aws:region"].value if "aws:region" in config else None
    if pinned is not None and pinned != region:
        raise UsageError(
            f"aws-ecs: stack {ctx.stack} lives in {pinned}, but {_region_source(ctx)} says {region}. "
            f"A stack keeps the region it was created in: use region {pinned} for it, or another "
            f"--stack for {region} (after `deployer down --stack {ctx.stack}` if this one should go)."
        )
    return pinned


def _with_pushed_image(ctx: PhaseContext, outputs: Mapping[str, Any], session: Any) -> PhaseContext:
    """:func:`.releases.with_pushed_image` for the stack's ``outputs``; ECR is asked only
    once the stack has a repository."""
    if not outputs.get("repository_url"):
        return ctx
    return aws_releases.with_pushed_image(session.client("ecr"), ctx, outputs)


def _state_outputs(stack: Any, type_token: str, key: str) -> list[Any]:
    """The output ``key`` of every resource of ``type_token`` in the stack's state (none
    from an empty or unreadable state)."""
    try:
        deployment = stack.export_stack().deployment or {}
    except Exception:  # an empty or unreadable state: nothing there
        return []
    return [
        r["outputs"][key]
        for r in deployment.get("resources", [])
        if r.get("type") == type_token and r.get("outputs", {}).get(key)
    ]


def _local_tags(stack: Any) -> list[str]:
    """The local ``<repo>:<tag>`` names the stack's ``docker.Tag`` resources made."""
    return _state_outputs(stack, "docker:index/tag:Tag", "targetImage")


def _database(stack: Any) -> str | None:
    """The stack's RDS instance identifier: its output ``database``, else (a stack last
    deployed before that output existed) the identifier of the instance in its state."""
    exported = _values(stack.outputs()).get("database")
    if exported:
        return str(exported)
    found = _state_outputs(stack, "aws:rds/instance:Instance", "identifier")
    return str(found[0]) if found else None


def _remove_local_tags(ctx: PhaseContext, tags: list[str], engine: Any = None) -> None:
    """Untag what the stack tagged locally (``docker.Tag`` leaves its tags on destroy);
    the images themselves stay (the core's tag still names them)."""
    if not tags:
        return
    try:
        from deployer import docker_engine

        api = (engine or docker_engine.connect()).api
        for tag in tags:
            try:
                api.remove_image(tag, noprune=True)
                ctx.report(f"aws-ecs: removed the local tag {tag}")
            except Exception as exc:
                if "No such image" not in str(exc) and "404" not in str(exc):
                    raise
    except Exception as exc:
        ctx.report(f"aws-ecs: could not remove the local tags {', '.join(tags)} ({exc}); `docker rmi` them")


def _remove_stack_files(ctx: PhaseContext, backend: str) -> None:
    """After ``pulumi stack rm``: the files deployer wrote for the stack in the work dir
    (``Pulumi.<stack>.yaml``; ``Pulumi.yaml`` and the folder once no stack is left), and the
    default ``file://`` state folder once it holds no stack."""
    work_dir = ctx.project_dir / ".deployer" / "aws-ecs"
    for ext in (".yaml", ".yml", ".json"):
        (work_dir / f"Pulumi.{ctx.stack}{ext}").unlink(missing_ok=True)
    project_files = {f"Pulumi{ext}" for ext in (".yaml", ".yml", ".json")}
    if work_dir.is_dir() and not any(
        p.name.startswith("Pulumi.") and p.name not in project_files for p in work_dir.iterdir()
    ):
        for name in project_files:
            (work_dir / name).unlink(missing_ok=True)
        _prune(work_dir)
    default = (ctx.project_dir / ".deployer" / "pulumi").resolve()
    if backend.startswith("file://") and Path(backend.removeprefix("file://")).resolve() == default:
        stacks = default / ".pulumi" / "stacks"
        if not (stacks.is_dir() and any(p.is_file() for p in stacks.rglob("*"))):
            shutil.rmtree(default, ignore_errors=True)
    _prune(ctx.project_dir / ".deployer")


def _prune(folder: Path) -> None:
    """Remove ``folder`` if it is empty."""
    with contextlib.suppress(OSError):
        folder.rmdir()
