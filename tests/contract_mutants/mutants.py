"""Deliberately broken copies of the in-memory target, one defect each, and the kit check
each must fail (:data:`MUTANTS`). ``test_mutants.py`` runs the whole kit against each."""

from __future__ import annotations

import base64
import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import attrs

from deployer.errors import DeployFailed
from deployer.models import (
    Action,
    Deployment,
    Image,
    IngressResult,
    LogLine,
    NetworkResult,
    PhaseContext,
    RegistryResult,
    Status,
)
from deployer.releases import Release
from deployer.targets import RunPhases
from deployer.testing import free_port
from tests.core.memory_target import Balancer, MemoryDriver, MemoryTarget, Replica, Stack


class SilentEndpoint(MemoryTarget):
    """Returns an endpoint nothing listens on (its balancer listens elsewhere)."""

    dead = free_port()

    def ingress(self, ctx: PhaseContext, network: NetworkResult, registry: RegistryResult) -> IngressResult:
        return attrs.evolve(super().ingress(ctx, network, registry), endpoint=f"http://127.0.0.1:{self.dead}")


class LeavesAVolume(MemoryTarget):
    """``down`` forgets the app's data volume."""

    def remove(self, ctx: PhaseContext) -> None:
        super().remove(ctx)
        self.stacks[(ctx.app.name, ctx.stack)] = Stack(objects={"volume contract-data"})


class DownFailsTwice(MemoryTarget):
    """``down`` of a stack that is already gone raises."""

    def remove(self, ctx: PhaseContext) -> None:
        if (ctx.app.name, ctx.stack) not in self.stacks:
            raise DeployFailed(f"stack {ctx.stack} not found")
        super().remove(ctx)


class SecretInStatus(MemoryTarget):
    """``status`` shows the env it deployed, secret values included."""

    def details(self, stack: Stack) -> dict[str, Any]:
        return {**super().details(stack), "env": dict(stack.secrets)}


class PlanCreates(MemoryTarget):
    """``plan`` reserves a name on the platform."""

    def compute(self, ctx, network, registry, ingress):
        if ctx.mode == "plan":
            self.stack(ctx).objects.add("reservation contract-service")
        return super().compute(ctx, network, registry, ingress)


class DropsRequestsInRollout(MemoryTarget):
    """Stops the old replicas before the new ones take traffic."""

    def swap(self, stack: Stack, new: list[Replica]) -> None:
        assert stack.balancer is not None
        stack.balancer.swap([])
        time.sleep(0.5)
        stack.balancer.swap(new)


class SilentLogs(MemoryTarget):
    """``logs`` returns nothing."""

    def log_lines(self, ctx: PhaseContext, since: datetime | None) -> list[LogLine]:
        return []


class HidesRemovedReplica(MemoryTarget):
    """``status`` reports the desired count as healthy without looking."""

    def healthy(self, stack: Stack) -> int:
        return stack.results.compute.replicas


class AcceptsUnknownKeys(MemoryTarget):
    """Its settings parser ignores keys it does not know."""

    @staticmethod
    def parse_settings(raw: Any, key: str) -> dict[str, int]:
        return {"port": int(raw.get("port", 9999))}


class AlwaysUpdates(MemoryTarget):
    """``plan`` of a deployed stack always announces an update."""

    def plan_action(self, ctx: PhaseContext, results: Any) -> Action:
        return "update" if (ctx.app.name, ctx.stack) in self.deployed else "create"


class MisstatesMemory(MemoryTarget):
    """Gives each replica twice the memory asked for."""

    def compute(self, ctx, network, registry, ingress):
        result = super().compute(ctx, network, registry, ingress)
        spec = result.extra["spec"]
        return attrs.evolve(result, extra={**result.extra, "spec": attrs.evolve(spec, memory=spec.memory * 2)})


class AcceptsABrokenRelease(MemoryTarget):
    """Swaps a new release in without checking its health."""

    def healthy_release(self, new: list[Replica]) -> bool:
        return True


class DeploysAroundThePhases(MemoryTarget):
    """A re-run of ``up`` with the same image reuses the phase results it stored instead
    of running the phase hooks, so no plugin can wrap or replace a phase then."""

    def make_driver(self) -> MemoryDriver:
        return ReusingDriver(self)


class ReusingDriver(MemoryDriver):
    def up(self, ctx: PhaseContext, phases: RunPhases) -> Deployment:
        stack = self.target.stacks.get((ctx.app.name, ctx.stack))
        assert ctx.image is not None
        if stack is None or stack.results is None or stack.results.registry.image_id != ctx.image.id:
            return super().up(ctx, phases)
        self.target.roll_out(ctx)
        results = stack.results
        return Deployment(ctx.target.name, ctx.stack, results.ingress.endpoint, {"service": results.compute.service})


class MisreportsTheEndpoint(MemoryTarget):
    """``status`` names the endpoint differently from what ``up`` returned."""

    def make_driver(self) -> MemoryDriver:
        return LocalhostStatusDriver(self)


class LocalhostStatusDriver(MemoryDriver):
    def status(self, ctx: PhaseContext) -> Status:
        status = super().status(ctx)
        if status.endpoint is None:
            return status
        return attrs.evolve(status, endpoint=status.endpoint.replace("127.0.0.1", "localhost"))


class DropsWorkers(MemoryTarget):
    """Declares that it runs workers, and ignores them."""

    runs = frozenset({"workers"})


class ReplacesReplicasOnEveryUp(MemoryTarget):
    """An ``up`` that changes nothing starts new replicas anyway."""

    def roll_out(self, ctx: PhaseContext) -> None:
        for replica in self.stack(ctx).replicas:
            replica.env = {**replica.env, "STALE": "1"}  # never equal to the wanted env
        super().roll_out(ctx)


class StartsReplicasWithoutSecrets(MemoryTarget):
    """Names the secrets in its spec and starts the replicas without them."""

    def roll_out(self, ctx: PhaseContext) -> None:
        super().roll_out(attrs.evolve(ctx, secrets={}))


class PrintsSecretsOnRollout(MemoryTarget):
    """Reports the secrets it starts new replicas with (an ``up`` that changes nothing
    prints nothing)."""

    def roll_out(self, ctx: PhaseContext) -> None:
        before = list(self.stack(ctx).replicas)
        super().roll_out(ctx)
        if self.stack(ctx).replicas != before:
            ctx.report(f"replicas started with {dict(ctx.secrets)}")


class PlanHidesPendingChanges(MemoryTarget):
    """``plan`` of a deployed stack always says unchanged."""

    def plan_action(self, ctx: PhaseContext, results: Any) -> Action:
        return "unchanged" if (ctx.app.name, ctx.stack) in self.deployed else "create"


class DownRemovesEveryStack(MemoryTarget):
    """``down`` removes every stack of the app, not only its own."""

    def remove(self, ctx: PhaseContext) -> None:
        for app, stack in list(self.stacks):
            if app == ctx.app.name:
                super().remove(attrs.evolve(ctx, stack=stack))


class ListensOnEveryInterface(MemoryTarget):
    """Its load balancer listens on every interface; the endpoint still says 127.0.0.1."""

    def bind(self, ctx: PhaseContext, port: int) -> None:
        stack = self.stack(ctx)
        if stack.balancer is None:
            stack.balancer = Balancer(port, host="0.0.0.0")  # the defect under test
            stack.objects.add(f"balancer 0.0.0.0:{port}")


class RunsReplicasAsRoot(MemoryTarget):
    """Overrides the image's user: its replicas run as root."""

    def roll_out(self, ctx: PhaseContext) -> None:
        super().roll_out(ctx)
        for replica in self.stack(ctx).replicas:
            replica.uid = 0


class RunsReplicasWithoutAMemoryLimit(MemoryTarget):
    """Sets no memory limit on its replicas (its spec still says ``memory``)."""

    def roll_out(self, ctx: PhaseContext) -> None:
        super().roll_out(ctx)
        for replica in self.stack(ctx).replicas:
            replica.memory_limit = "max"


class RunsReplicasOnAWritableRoot(MemoryTarget):
    """Mounts its replicas' root filesystem read-write."""

    def roll_out(self, ctx: PhaseContext) -> None:
        super().roll_out(ctx)
        for replica in self.stack(ctx).replicas:
            replica.root_read_only = False


class KeepsSecretsInPlainText(MemoryTarget):
    """Keeps the secrets it deployed in a plain-text state file of the user's."""

    def roll_out(self, ctx: PhaseContext) -> None:
        super().roll_out(ctx)
        folder = Path(os.environ["XDG_STATE_HOME"]) / "memory-target"
        folder.mkdir(exist_ok=True)
        (folder / f"{ctx.stack}.json").write_text(json.dumps(dict(ctx.secrets)))


class HardensOnlyTheFirstReplica(MemoryTarget):
    """Runs every replica but the first as root (the one a single probe would see)."""

    def roll_out(self, ctx: PhaseContext) -> None:
        super().roll_out(ctx)
        for replica in self.stack(ctx).replicas[1:]:
            replica.uid = 0


class PlanAppliesTheRelease(MemoryTarget):
    """A ``plan`` of a deployed stack rolls the pending release out (and still lists it)."""

    def compute(self, ctx: PhaseContext, network: NetworkResult, registry: RegistryResult, ingress: Any) -> Any:
        if self.serve and ctx.mode == "plan" and self.deployed.get((ctx.app.name, ctx.stack)) is not None:
            self.roll_out(ctx)
        return super().compute(ctx, network, registry, ingress)


class KeepsSecretsEncoded(MemoryTarget):
    """Keeps the secrets it deployed base64-encoded in a state file of the user's."""

    def roll_out(self, ctx: PhaseContext) -> None:
        super().roll_out(ctx)
        folder = Path(os.environ["XDG_STATE_HOME"]) / "memory-target"
        folder.mkdir(exist_ok=True)
        (folder / f"{ctx.stack}.b64").write_bytes(base64.b64encode(json.dumps(dict(ctx.secrets)).encode()))


class PrintsSecretsInAPendingPlan(MemoryTarget):
    """Names the secret values among the fields a pending change alters."""

    def changed_fields(self, ctx: PhaseContext, results: Any) -> tuple[str, ...]:
        fields = super().changed_fields(ctx, results)
        return (*fields, *ctx.secrets.values()) if fields else fields


class DeploysTheFirstImage(MemoryTarget):
    """Keeps running the first image a stack got, whatever ``up`` built since."""

    first: ClassVar[dict[tuple[str, str], Image]] = {}

    def registry(self, ctx: PhaseContext, network: NetworkResult) -> RegistryResult:
        return super().registry(self._first(ctx), network)

    def roll_out(self, ctx: PhaseContext) -> None:
        super().roll_out(self._first(ctx))

    def _first(self, ctx: PhaseContext) -> PhaseContext:
        assert ctx.image is not None
        return attrs.evolve(ctx, image=self.first.setdefault((ctx.app.name, ctx.stack), ctx.image))


class RollbackChangesNothing(MemoryTarget):
    """``rollback`` redeploys the image serving now and reports success."""

    def make_driver(self) -> MemoryDriver:
        return StayingDriver(self)


class StayingDriver(MemoryDriver):
    def rollback_image(self, ctx: PhaseContext, release: Release) -> Image:
        return super().rollback_image(ctx, self.releases(ctx)[-1])


MUTANTS: dict[str, tuple[type[MemoryTarget], str, str]] = {
    "endpoint that does not answer": (SilentEndpoint, "test_up_serves_the_apps_checks", "does not answer"),
    "object left after down": (LeavesAVolume, "test_down_removes_everything", "down left: ['volume contract-data']"),
    "down that fails the second time": (DownFailsTwice, "test_down_is_idempotent", "not found"),
    "secret printed in status": (SecretInStatus, "test_secret_values_never_appear", "a secret's value was printed"),
    "plan that creates something": (PlanCreates, "test_plan_has_no_side_effects", "plan created something"),
    "rollout that drops requests": (
        DropsRequestsInRollout,
        "test_a_new_version_rolls_out_without_dropping_requests",
        "requests failed during the rollout",
    ),
    "logs that return nothing": (
        SilentLogs,
        "test_logs_return_the_apps_lines_and_since_filters_them",
        "logs lack the app's request lines",
    ),
    "settings that accept unknown keys": (
        AcceptsUnknownKeys,
        "test_bad_config_fails_before_any_side_effect",
        "up accepted an unknown key",
    ),
    "plan that never says unchanged": (AlwaysUpdates, "test_second_up_changes_nothing", "'update'"),
    "spec expressed unfaithfully": (
        MisstatesMemory,
        "test_app_spec_is_expressed_faithfully",
        "status().spec is not the app's spec",
    ),
    "broken release accepted": (
        AcceptsABrokenRelease,
        "test_a_broken_release_is_refused_and_the_old_one_keeps_serving",
        "DID NOT RAISE",
    ),
    "up that goes around the phase hooks": (
        DeploysAroundThePhases,
        "test_phases_run_in_order_and_return_documented_types",
        "up did not run the four phase hooks in order: []",
    ),
    "status that misreports the endpoint": (
        MisreportsTheEndpoint,
        "test_up_returns_an_endpoint_and_outputs",
        "status reports endpoint 'http://localhost:",
    ),
    "workers declared and silently dropped": (
        DropsWorkers,
        "test_workers_release_command_and_database_run_where_declared",
        "logs lack the worker's line",
    ),
    "replicas replaced by an up that changes nothing": (
        ReplacesReplicasOnEveryUp,
        "test_second_up_changes_nothing",
        "a second up with no change replaced replicas",
    ),
    "secrets named but not given to the replicas": (
        StartsReplicasWithoutSecrets,
        "test_secrets_reach_the_app",
        "replicas did not get the secret",
    ),
    "secret kept in a plain-text file": (
        KeepsSecretsInPlainText,
        "test_secret_values_never_appear",
        "a secret's value is stored, as is or encoded, in ['user/xdg_state_home/memory-target/",
    ),
    "secret printed by a rollout": (PrintsSecretsOnRollout, "test_secret_values_never_appear", "a secret's value"),
    "plan that hides a pending release": (
        PlanHidesPendingChanges,
        "test_a_new_version_rolls_out_without_dropping_requests",
        "plan of a new release shows no change",
    ),
    "down that removes the app's other stacks": (
        DownRemovesEveryStack,
        "test_down_leaves_the_apps_other_stacks_alone",
        "took stack",
    ),
    "load balancer listening on every interface": (
        ListensOnEveryInterface,
        "test_a_loopback_endpoint_answers_on_loopback_only",
        "not only on loopback",
    ),
    "replicas running as root": (
        RunsReplicasAsRoot,
        "test_replicas_run_unprivileged_on_a_read_only_root_within_their_memory_limit",
        "a replica runs as root",
    ),
    "replicas without a memory limit": (
        RunsReplicasWithoutAMemoryLimit,
        "test_replicas_run_unprivileged_on_a_read_only_root_within_their_memory_limit",
        "memory limit is max",
    ),
    "replicas on a writable root filesystem": (
        RunsReplicasOnAWritableRoot,
        "test_replicas_run_unprivileged_on_a_read_only_root_within_their_memory_limit",
        "root filesystem is writable",
    ),
    "status that hides a removed replica": (
        HidesRemovedReplica,
        "test_status_reports_a_replica_removed_behind_its_back",
        "status hides the removed replica",
    ),
    "replicas hardened but the first": (
        HardensOnlyTheFirstReplica,
        "test_replicas_run_unprivileged_on_a_read_only_root_within_their_memory_limit",
        "a replica runs as root (replica 2)",
    ),
    "plan that applies the pending release": (
        PlanAppliesTheRelease,
        "test_a_new_version_rolls_out_without_dropping_requests",
        "plan of a new release changed what serves",
    ),
    "secret kept base64-encoded": (
        KeepsSecretsEncoded,
        "test_secret_values_never_appear",
        "a secret's value is stored, as is or encoded, in ['user/xdg_state_home/memory-target/",
    ),
    "secret printed in a pending plan": (
        PrintsSecretsInAPendingPlan,
        "test_secret_values_never_appear",
        "a secret's value was printed",
    ),
    "up that keeps the first image": (
        DeploysTheFirstImage,
        "test_a_new_image_rolls_out_and_rollback_restores_the_previous_one",
        "up did not run the new image",
    ),
    "rollback that changes nothing": (
        RollbackChangesNothing,
        "test_a_new_image_rolls_out_and_rollback_restores_the_previous_one",
        "rollback did not run the previous image",
    ),
}
"""Mutant description: (target class, the one kit check it must fail, text of the failure)."""
