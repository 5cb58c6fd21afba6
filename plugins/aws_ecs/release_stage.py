"""Where the release command runs in an aws-ecs ``up``: between two updates of the stack.

With ``app.release_command``, ``up`` is:

1. **the release stage**: the program applied with the serving workloads *held*: the web
   and worker task definitions and services (and what depends on them: autoscaling) are
   excluded (:func:`held`, Pulumi's ``--exclude`` with ``--exclude-dependents``), so ECS
   keeps running the current revision while everything else is applied: image push,
   secrets, database (Pulumi waits until RDS is available), and the release task
   definition (:mod:`.release_task`);
2. **the release command**: one Fargate task of the new release task definition
   (:func:`.oneoff.release`); a non-zero exit stops ``up`` here (exit 1, its output shown)
   and the services still run their previous revision;
3. **the update**: the whole program, which moves the services to the new revision and
   exports ``released_task_definition`` (:data:`RELEASED`).

The release runs when the release task definition differs from the last one a completed
``up`` ran (:func:`needs_release`): a new image, env, secret value, database or command.
A failed or interrupted release leaves no ``released_task_definition`` output, so the next
``up`` runs it again; release commands must be safe to repeat (as migrations are).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from typing import Any

from deployer.models import PhaseContext
from deployer.plugins.aws_ecs import oneoff
from deployer.plugins.aws_ecs import settings as aws_settings

RELEASED = "released_task_definition"
"""The stack output naming the release task definition the last completed ``up`` ran."""

HELD_OUTPUTS = ("service", "task_definition")
"""Stack outputs that come from held resources: unknown in a first release stage (the
resources do not exist yet), so that stage does not export them."""


TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"


def held(ctx: PhaseContext) -> list[tuple[str, str]]:
    """The serving workloads, as (type token, Pulumi name): the web task definition and
    service, and each worker's (the names :mod:`.compute` and :mod:`.workers` give them)."""
    app = ctx.app.name
    found = [(TASK_DEFINITION, f"{app}-task"), (SERVICE, f"{app}-service")]
    for worker in ctx.app.workers:
        found += [(TASK_DEFINITION, f"{app}-worker-{worker.name}-task"), (SERVICE, f"{app}-worker-{worker.name}")]
    return found


def held_urns(ctx: PhaseContext, project: str) -> list[str]:
    """The URNs of :func:`held` in the stack (top-level resources of ``project``)."""
    return [f"urn:pulumi:{ctx.stack}::{project}::{kind}::{name}" for kind, name in held(ctx)]


def stage_omits(before: Mapping[str, Any]) -> tuple[str, ...]:
    """The outputs the release stage leaves out: the held ones when nothing serves yet."""
    return () if "service" in before else HELD_OUTPUTS


def needs_release(before: Mapping[str, Any], staged: Mapping[str, Any]) -> bool:
    """True when the release task definition the stage applied is not the one the last
    completed ``up`` released."""
    return staged.get("release_task_definition") != before.get(RELEASED)


def run_release(
    ctx: PhaseContext,
    ecs: Any,
    logs: Any,
    before: Mapping[str, Any],
    staged: Mapping[str, Any],
    *,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> dict[str, str]:
    """After the release stage (stack outputs ``before`` it and ``staged`` by it): run the
    release command when :func:`needs_release`; return the outputs the update adds
    (:data:`RELEASED`). Raises :class:`DeployFailed` when the command fails."""
    definition = staged.get("release_task_definition")
    if not definition:
        ctx.report("aws-ecs: no release task definition in the stack (compute was replaced); release command skipped")
        return {}
    if needs_release(before, staged):
        ctx.report(f"release command: {shlex.join(ctx.app.release_command or ())} ({definition.rsplit('/', 1)[-1]})")
        oneoff.release(
            ecs,
            logs,
            oneoff.Placement.from_outputs(dict(staged)),
            definition,
            report=ctx.report,
            hide=ctx.hide_secrets,
            timeout=aws_settings.of(ctx).deploy_timeout,
            sleep=sleep,
            clock=clock,
        )
    else:
        ctx.report("release command: skipped (it already ran for this image, env, secrets and command)")
    return {RELEASED: definition}
