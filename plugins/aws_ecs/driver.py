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

import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from deployer.errors import DeployFailed, EnvironmentProblem
from deployer.models import Action, Change, Deployment, LogLine, PhaseContext, Plan, Status
from deployer.plugins.aws_ecs import health, program
from deployer.plugins.aws_ecs import logs as cloudwatch
from deployer.plugins.aws_ecs import settings as aws_settings
from deployer.targets import RunPhases

PULUMI_INSTALL = "https://www.pulumi.com/docs/install/"
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

    # --- Driver protocol --------------------------------------------------------------

    def up(self, ctx: PhaseContext, phases: RunPhases) -> Deployment:
        """Apply the stack, then wait for the truth (rollout COMPLETED, targets healthy)."""
        from pulumi import automation as auto

        stack, session = self._stack(ctx, lambda: program.run(ctx, phases))
        try:
            result = stack.up(on_event=_reporter(ctx), color="never", show_secrets=False)
        except auto.errors.ConcurrentUpdateError:
            raise _locked(ctx) from None
        except auto.errors.CommandError as exc:
            raise self._explain_failure(ctx, stack, session, exc) from None
        outputs = _values(result.outputs)
        ecs, elbv2 = session.client("ecs"), session.client("elbv2")
        health.wait_until_healthy(
            ecs,
            elbv2,
            cluster=outputs["cluster"],
            service=outputs["service"],
            target_group_arn=outputs.get("target_group_arn"),
            task_definition=outputs.get("task_definition"),
            timeout=aws_settings.of(ctx).deploy_timeout,
            clock=self._clock,
            sleep=self._sleep,
            report=ctx.report,
        )
        return Deployment(target=ctx.target.name, stack=ctx.stack, endpoint=outputs["endpoint"], outputs=outputs)

    def plan(self, ctx: PhaseContext, phases: RunPhases, *, offline: bool = False) -> Plan:
        """A Pulumi preview, or with ``offline`` the program under mocks (no CLI, no AWS)."""
        if offline:
            from deployer.plugins.aws_ecs import offline as mocked

            return mocked.plan(ctx, phases)
        from pulumi import automation as auto

        stack, _ = self._stack(ctx, lambda: program.run(ctx, phases))
        changes: list[Change] = []
        root: list[Change] = []

        def collect(event: Any) -> None:
            pre = event.resource_pre_event
            if pre is not None and pre.metadata.op in _ACTIONS:
                meta = pre.metadata
                change = Change(_ACTIONS[meta.op], meta.type, meta.urn.rsplit("::", 1)[-1], fields=_fields(meta))
                (root if meta.type == program.STACK_TYPE else changes).append(change)

        try:
            stack.preview(on_event=collect, color="never")
        except auto.errors.ConcurrentUpdateError:
            raise _locked(ctx) from None
        except auto.errors.CommandError as exc:
            raise DeployFailed(f"pulumi preview failed: {_last_lines(exc)}") from None
        return Plan(target=ctx.target.name, stack=ctx.stack, changes=tuple(changes), root=next(iter(root), None))

    def down(self, ctx: PhaseContext) -> None:
        """Destroy every resource of the stack and remove the stack; nothing to do is fine."""
        stack, _ = self._stack(ctx, lambda: None, create=False)
        if stack is None:
            ctx.report(f"aws-ecs: no stack {ctx.stack}, nothing to remove")
            return
        from pulumi import automation as auto

        try:
            stack.destroy(on_event=_reporter(ctx), color="never")
        except auto.errors.ConcurrentUpdateError:
            raise _locked(ctx) from None
        except auto.errors.CommandError as exc:
            raise DeployFailed(f"pulumi destroy failed (run it again to retry): {_last_lines(exc)}") from None
        stack.workspace.remove_stack(ctx.stack)

    def status(self, ctx: PhaseContext) -> Status:
        """Stack outputs plus one live reading of rollout and target health."""
        stack, session = self._stack(ctx, lambda: None, create=False)
        outputs = _values(stack.outputs()) if stack else {}
        if "service" not in outputs:
            return Status(target=ctx.target.name, stack=ctx.stack, deployed=False)
        return health.live_status(
            session.client("ecs"), session.client("elbv2"), target=ctx.target.name, stack=ctx.stack, outputs=outputs
        )

    def logs(self, ctx: PhaseContext, *, follow: bool = False, since: datetime | None = None) -> Iterator[LogLine]:
        """The app's CloudWatch log lines, oldest first."""
        stack, session = self._stack(ctx, lambda: None, create=False)
        outputs = _values(stack.outputs()) if stack else {}
        if "log_group" not in outputs:
            raise DeployFailed(f"aws-ecs: stack {ctx.stack} is not deployed, no logs to read")
        yield from cloudwatch.read(
            session.client("logs"), outputs["log_group"], follow=follow, since=since, sleep=self._sleep
        )

    # --- the stack --------------------------------------------------------------------

    def preflight(self, ctx: PhaseContext) -> None:
        """Check the Pulumi CLI, the passphrase, the region and the credentials, so the
        core reports a missing piece before it builds anything."""
        self._environment(ctx)

    def _environment(self, ctx: PhaseContext) -> tuple[str, Any]:
        """The checked backend URL and a boto3 session for the region."""
        cfg = aws_settings.of(ctx)
        backend = preflight(ctx, cfg, os.environ)
        import boto3

        # boto3 reads AWS_DEFAULT_REGION and the profile but not AWS_REGION, which Pulumi and the AWS CLI honour
        session = boto3.Session(region_name=cfg.region or os.environ.get("AWS_REGION") or None)
        if session.region_name is None:
            raise EnvironmentProblem(
                'aws-ecs needs an AWS region: set [targets.aws-ecs] region = "eu-west-1" '
                "or export AWS_REGION (or configure your AWS profile's region)"
            )
        if session.get_credentials() is None:
            raise EnvironmentProblem(
                "no AWS credentials found: export AWS_PROFILE (after `aws sso login` or "
                "`aws configure`) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            )
        return backend, session

    def _stack(self, ctx: PhaseContext, run: Callable[[], Any], *, create: bool = True):
        """The checked environment's stack (None when ``create`` is False and it does not
        exist) and a boto3 session for its region."""
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
        stack.set_config("aws:region", auto.ConfigValue(region))
        for key, value in {"deployer-app": ctx.app.name, "deployer-stack": ctx.stack}.items():
            stack.set_config(f"aws:defaultTags.tags.{key}", auto.ConfigValue(value), path=True)
        return stack, session

    def _explain_failure(self, ctx, stack, session, exc) -> DeployFailed:
        """A failed ``pulumi up``: the engine's last lines plus what ECS says, if it can."""
        message = f"pulumi up failed: {_last_lines(exc)}"
        try:
            outputs = _values(stack.outputs())
            seen = health.observe(
                session.client("ecs"),
                session.client("elbv2"),
                cluster=outputs["cluster"],
                service=outputs["service"],
                target_group_arn=outputs.get("target_group_arn"),
                task_definition=outputs.get("task_definition"),
            )
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


def _locked(ctx: PhaseContext) -> DeployFailed:
    """The stack is locked: another update runs, or one was killed before it could unlock."""
    work_dir = ctx.project_dir / ".deployer" / "aws-ecs"
    return DeployFailed(
        f"aws-ecs: stack {ctx.stack} is locked by another update. If none is running (an earlier "
        f"one was killed), unlock it with `pulumi cancel --stack {ctx.stack} --cwd {work_dir}`, then "
        "run the same command again: it converges from where the killed update stopped."
    )


def preflight(ctx: PhaseContext, cfg: aws_settings.AwsSettings, environ) -> str:
    """Check the Pulumi CLI and passphrase before touching the disk; return the backend URL."""
    if shutil.which("pulumi") is None:
        raise EnvironmentProblem(
            "the aws-ecs target runs the Pulumi CLI, which is not on PATH. Install it "
            f"({PULUMI_INSTALL}), then retry. `deployer plan --target aws-ecs --offline` "
            "works without it."
        )
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
