"""The emulated aws-ecs driver: the real program, applied to moto instead of AWS.

For the contract kit and tests, where there is no AWS account and no Pulumi CLI. It
implements :class:`deployer.targets.Driver` with the production aws-ecs modules
(:mod:`deployer.plugins.aws_ecs`: ``offline``, ``program``, ``health``, ``logs``):

- ``up`` runs the same Pulumi program under the offline plan's mocks
  (``offline.record``; :class:`.emulated_mocks.EmulatorMocks` answer from moto what
  the account holds: the hosted zone, an unchanged secret's version), then plays
  Pulumi's engine in the small: it compares each recorded resource with the stored
  state, deletes what changed or disappeared (and, transitively, what depends on it),
  and creates what is new or changed in the AWS emulator (:mod:`.moto_appliers`, moto
  through boto3), in dependency order (a ``CertificateValidation`` as late as its
  dependents allow, see :func:`apply_order`; a change its applier can make in place,
  such as an RDS setting, is an update instead), resolving the mock ids, ARNs and DNS
  names in each resource's inputs to the emulator's real ones. It then waits with the
  production code (``health.wait_until_healthy``) on a virtual clock: moto changes only
  when the emulator acts, so waiting in real time would change nothing.
- ``status`` is the production ``health.live_status`` against moto, with the database
  and workers (``backing_status``); ``logs`` the production CloudWatch reader;
  ``releases`` and ``rollback_image`` the production release code
  (:mod:`deployer.plugins.aws_ecs.releases`: task definition revisions and their tags,
  ECR's images), and ``up`` tags each rollout's revision as the real driver does.
- ``plan`` is the offline plan (same resources, outputs and ``spec``, under the same
  mocks as ``up``) with each change compared against the stored state: create, update,
  unchanged or remove.
- ``down`` deletes every stored object from moto, dependents first, then the state file;
  with no state it does nothing. A database goes first, through the production
  :func:`deployer.plugins.aws_ecs.database_down.release` against moto: refused while
  its deletion protection is on unless ``destroy_data``.

State is one JSON file per stack (:mod:`.emulated_state`). Secret values reach moto
(Secrets Manager) and nothing else.

It refuses to run unless moto's in-process mock (``moto.mock_aws``) is active, so it can
never create anything in a real AWS account.
"""

from __future__ import annotations

import ipaddress
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from attrs import evolve
from moto.core.models import botocore_stubber
from moto.moto_api import state_manager

from deployer.errors import DeployFailed, EnvironmentProblem
from deployer.models import Change, Deployment, Image, LogLine, PhaseContext, Plan, Status
from deployer.plugins.aws_ecs import database_down, exec_session, health, hosted_zone, oneoff, program, release_stage
from deployer.plugins.aws_ecs import logs as cloudwatch
from deployer.plugins.aws_ecs import offline as offline_plan
from deployer.plugins.aws_ecs import releases as aws_releases
from deployer.plugins.aws_ecs import settings as aws_settings
from deployer.plugins.aws_ecs.backing_status import with_backing_services
from deployer.plugins.aws_ecs.offline import REDACTED
from deployer.releases import Release
from deployer.targets import RunPhases
from deployer.testing.aws_ecs import aws_rules, emulated_serving, moto_appliers
from deployer.testing.aws_ecs.emulated_lookups import rules_context
from deployer.testing.aws_ecs.emulated_mocks import SECRET_VERSION, EmulatorMocks
from deployer.testing.aws_ecs.emulated_state import Stored, key, load, save, state_file
from deployer.testing.aws_ecs.emulated_tasks import EmulatedEcs

OUTPUT_KEYS = (
    "id",
    "arn",
    "name",
    "arnSuffix",
    "dnsName",
    "zoneId",
    "repositoryUrl",
    "registryId",
    "sha256Digest",
    "versionId",
    "resourceRecordName",
    "resourceRecordValue",
    "fqdn",
    "ipv6CidrBlock",
    "address",
    "secretArn",
)
"""Resource outputs other resources consume: mapped from mock values to emulator values
(``resourceRecordName``/``Value``: a certificate's first ``domainValidationOptions``;
``ipv6CidrBlock``: a VPC's, with the blocks cut from it, see :func:`resolve`)."""

WAITING = frozenset({"aws:acm/certificateValidation:CertificateValidation"})
"""Types whose create waits on AWS (a ``CertificateValidation`` until ACM issues the
certificate, minutes after its DNS record appears): see :func:`apply_order`."""

TASK_MODEL = "ecs::task"
"""moto's state-transition name for ECS tasks."""


class VirtualClock:
    """``clock`` and ``sleep`` for the health wait: sleeping advances time instantly."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def diff(
    stored: Sequence[Mapping[str, Any]],
    recorded: Sequence[Mapping[str, Any]],
    drifted: frozenset[tuple[str, str]] = frozenset(),
) -> list[Change]:
    """What applying ``recorded`` over ``stored`` does, per resource, dependencies first,
    then removals: ``create``; ``update`` when the inputs changed (its ``fields``: the
    input keys that differ), a secret input changed (the state holds it redacted, so its
    outputs tell: a new secret version ID), the live object ``drifted`` from the state
    (seen by a refresh) or a dependency is created or updated (the emulator replaces the
    resource then); ``unchanged``; and ``remove`` for stored resources the program no
    longer declares."""
    before = {key(r): r for r in stored}
    touched: set[str] = set()
    changes = []
    action: Literal["create", "update", "unchanged"]
    for resource in recorded:
        old = before.get(key(resource))
        fields: tuple[str, ...] = ()
        if old is None:
            action, detail = "create", ""
        elif old["inputs"] != resource["inputs"]:
            action, detail = "update", "inputs changed"
            fields = changed_keys(old["inputs"], resource["inputs"])
        elif old.get("outputs") != resource.get("outputs") and REDACTED in resource["inputs"].values():
            action, detail = "update", "a secret value changed"
            fields = tuple(sorted(k for k, v in resource["inputs"].items() if v == REDACTED))
        elif key(resource) in drifted:
            action, detail = "update", "the live object drifted from the state"
        elif touched & set(resource["depends_on"]):
            action, detail = "update", "a dependency changes"
        else:
            action, detail = "unchanged", ""
        if action != "unchanged":
            touched.add(resource["urn"])
        changes.append(Change(action, resource["type"], resource["name"], detail, fields=fields))
    declared = {key(r) for r in recorded}
    changes += [Change("remove", r["type"], r["name"]) for r in stored if key(r) not in declared]
    return changes


def apply_order(recorded: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``recorded`` (dependencies first) with each :data:`WAITING` resource moved to just
    before the first resource that depends on it (the end when none does). Pulumi starts
    every resource whose dependencies are done, so what does not depend on a waiting
    create runs before it completes: applied in this order, a resource that needs the
    wait but does not depend on it (an HTTPS listener on a certificate not yet issued)
    fails here as it would in AWS."""
    order = list(recorded)
    for waiting in [r for r in recorded if r["type"] in WAITING]:
        order.remove(waiting)
        dependents = [i for i, r in enumerate(order) if waiting["urn"] in r["depends_on"]]
        order.insert(dependents[0] if dependents else len(order), waiting)
    return order


def changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, ...]:
    """The top-level input keys whose values differ (added and removed ones too), sorted."""
    return tuple(sorted(k for k in old.keys() | new.keys() if old.get(k, _ABSENT) != new.get(k, _ABSENT)))


_ABSENT = object()


def resolve(value: Any, table: Mapping[str, str]) -> Any:
    """``value`` with every mock id/ARN/name in ``table`` replaced by the emulator's,
    also inside strings (JSON documents, URLs, ``repo@digest``); longest match first. An
    IPv6 block inside a mock IPv6 block of ``table`` (a subnet's /64 cut from the VPC's
    mock /56) moves to the same place in the emulator's block."""
    if not table:
        return value
    pattern = re.compile("|".join(map(re.escape, sorted(table, key=len, reverse=True))))
    blocks = {mock: ipaddress.IPv6Network(real) for mock, real in table.items() if _ipv6_block(mock) is not None}

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            moved = _moved(item, blocks) if blocks else None
            return moved if moved is not None else pattern.sub(lambda m: table[m.group(0)], item)
        if isinstance(item, dict):
            return {k: walk(v) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v) for v in item]
        return item

    return walk(value)


class EmulatedDriver:
    """Implements :class:`deployer.targets.Driver` against moto (see the module docstring).

    ``session`` makes the boto3 session for a region (injectable, e.g. to observe calls).
    """

    def __init__(self, *, session: Callable[[str], Any] | None = None):
        self._session = session
        self._image_architecture: str | None = None

    # --- Driver protocol --------------------------------------------------------------

    def preflight(self, ctx: PhaseContext) -> None:
        """Refuse to run outside moto's in-process mock; for ``up`` and ``plan``, check the
        ``domain``'s hosted zone exists in the emulator, as the real driver does in AWS."""
        require_moto()
        if ctx.mode in ("up", "plan"):
            hosted_zone.require(self._aws(ctx).route53, aws_settings.of(ctx), f"targets.{ctx.target.name}")

    def up(self, ctx: PhaseContext, phases: RunPhases) -> Deployment:
        """Apply the program's resources to moto, then wait with the production health code.
        With a release command, first the release stage and the release command, as the
        real driver does (:mod:`deployer.plugins.aws_ecs.release_stage`)."""
        aws = self._aws(ctx)
        stored = load(ctx)
        program.check_deployed(ctx, stored.outputs)
        ctx = _in_mock_terms(aws_releases.with_pushed_image(aws.ecr, ctx, stored.outputs), stored)
        self._image_architecture = image_architecture(ctx)
        scheduler = emulated_serving.active()
        if scheduler is not None:
            scheduler.prepare(ctx)
        released = self._release_stage(ctx, aws, phases) if ctx.app.release_command else None
        outputs = self._apply(ctx, aws, lambda: program.run(ctx, phases, add=released))
        if scheduler is not None:
            scheduler.settle(aws)
        clock = VirtualClock()
        aws_releases.wait_and_record(aws.ecs, aws.elbv2, ctx, outputs, clock=clock.clock, sleep=clock.sleep)
        endpoint = _served(ctx) or outputs["endpoint"]
        return Deployment(target=ctx.target.name, stack=ctx.stack, endpoint=endpoint, outputs=outputs)

    def _apply(
        self, ctx: PhaseContext, aws, run: Callable[[], Any], held: Sequence[tuple[str, str]] = ()
    ) -> dict[str, Any]:
        """One ``pulumi up`` of the program ``run``, played on moto; the resources ``held``
        (type token, name) and everything depending on them are left as they are (Pulumi's
        ``--exclude`` with ``--exclude-dependents``). Returns the stack outputs."""
        stored = load(ctx)
        mocks = self._mocks(ctx, stored)
        recorded, exports = offline_plan.record(
            run, project=program.project_name(ctx), stack=ctx.stack, region=mocks.region, mocks=mocks
        )
        drifted = self._refresh(ctx, aws, stored.resources)
        excluded = excluded_keys([*stored.resources, *recorded], held)
        actions = {(c.kind, c.name): c.action for c in diff(stored.resources, recorded, drifted)}
        live = {key(r): r for r in stored.resources}
        in_place = updated_in_place(stored.resources, recorded, actions)
        for resource in reversed(stored.resources):
            changed = actions[key(resource)] in ("update", "remove") and key(resource) not in in_place
            if key(resource) not in excluded and changed:
                self._delete(ctx, aws, resource, live)
        table: dict[str, str] = {}
        for resource in apply_order(recorded):
            entry = live.get(key(resource))
            if entry is None and key(resource) in excluded:
                continue  # an excluded resource that does not exist yet: not created
            if entry is None:
                entry = self._create(ctx, aws, resource, mocks, table, live)
            elif key(resource) in in_place:
                entry = self._update(ctx, aws, resource, mocks, table, live)
            table.update(_mapping(entry))
        outputs = resolve(exports, table)
        declared = [key(r) for r in recorded if key(r) in live]
        kept = [k for k in live if k not in set(declared)]  # excluded, no longer declared: left alone
        save(ctx, Stored(tuple(live[k] for k in [*declared, *kept]), outputs))
        return outputs

    def _release_stage(self, ctx: PhaseContext, aws, phases: RunPhases) -> dict[str, str]:
        """The real driver's release stage on moto: apply all but the serving workloads,
        then run the release command through the production code (:mod:`.emulated_tasks`
        runs its container on the local engine)."""
        before = dict(load(ctx).outputs)
        omit = release_stage.stage_omits(before)
        ctx.report("aws-ecs (emulated): applying everything but the services' new revisions, for the release command")
        staged = self._apply(ctx, aws, lambda: program.run(ctx, phases, omit=omit), held=release_stage.held(ctx))
        clock = VirtualClock()
        return release_stage.run_release(
            ctx, self._ecs(ctx, aws), aws.logs, before, staged, sleep=clock.sleep, clock=clock.clock
        )

    def run(self, ctx: PhaseContext, command: Sequence[str]) -> int:
        """The production ``deployer run`` (:func:`.oneoff.run_in_service`) on moto; the
        task's container runs on the local Docker engine (:mod:`.emulated_tasks`)."""
        aws, clock = self._aws(ctx), VirtualClock()
        return oneoff.run_in_service(
            self._ecs(ctx, aws),
            aws.logs,
            program.deployed(ctx, load(ctx).outputs),
            command,
            report=ctx.report,
            output=print,
            sleep=clock.sleep,
            clock=clock.clock,
        )

    def exec(self, ctx: PhaseContext, command: Sequence[str], *, replica: int | None = None, tty: bool = False) -> int:
        """The production ``deployer exec`` (:mod:`.exec_session`) against moto, the
        emulator answering ``ExecuteCommand``; the Session Manager plugin is whatever
        ``session-manager-plugin`` is on PATH (a test puts
        :func:`.session_manager.fake_session_manager_plugin` there)."""
        exec_session.require_enabled(aws_settings.of(ctx).exec, None)
        plugin = exec_session.require_plugin()
        aws = self._aws(ctx)
        return exec_session.exec_in_service(
            self._ecs(ctx, aws),
            program.deployed(ctx, load(ctx).outputs),
            plugin=plugin,
            container=ctx.app.name,
            command=command,
            replica=replica,
            region=offline_plan.region(ctx),
            profile=None,
        )

    def plan(self, ctx: PhaseContext, phases: RunPhases, *, offline: bool = False) -> Plan:
        """The offline plan, its changes compared with the stored state (``offline`` or
        not: the emulator is always offline). Touches nothing; without ``offline`` it
        refuses what ``up`` would
        (:func:`~deployer.plugins.aws_ecs.program.check_deployed`)."""
        stored = load(ctx)
        if not offline:  # as the real driver: an offline plan reads no stack
            program.check_deployed(ctx, stored.outputs)
        ctx = _in_mock_terms(aws_releases.with_pushed_image(self._aws(ctx).ecr, ctx, stored.outputs), stored)
        planned = offline_plan.plan(ctx, phases, mocks=self._mocks(ctx, stored))
        changes = diff(stored.resources, list(planned.resources))
        return Plan(
            target=planned.target,
            stack=planned.stack,
            changes=tuple(changes),
            resources=planned.resources,
            outputs=planned.outputs,
            spec=planned.spec,
        )

    def down(self, ctx: PhaseContext, *, destroy_data: bool = False) -> None:
        """Delete every stored object from moto, dependents first, then the state file; a
        database first, as the real driver does (refused while protected, unless
        ``destroy_data``)."""
        stored = load(ctx)
        if not stored.resources and not state_file(ctx).exists():
            ctx.report(f"aws-ecs (emulated): no stack {ctx.stack}, nothing to remove")
            return
        aws = self._aws(ctx)
        if stored.outputs.get("database"):
            database_down.release(
                aws.rds,
                stored.outputs["database"],
                destroy_data=destroy_data,
                final_snapshot=aws_settings.of(ctx).database.final_snapshot,
                command=database_down.down_command(ctx),
                report=ctx.report,
            )
        live = {key(r): r for r in stored.resources}
        for resource in reversed(stored.resources):
            self._delete(ctx, aws, resource, live)
        scheduler = emulated_serving.active()
        if scheduler is not None:
            scheduler.close(aws, ctx.app.name, ctx.stack)
        state_file(ctx).unlink(missing_ok=True)

    def status(self, ctx: PhaseContext) -> Status:
        """The production status code against moto; not deployed without state."""
        outputs = dict(load(ctx).outputs)
        if "service" not in outputs:
            return Status(target=ctx.target.name, stack=ctx.stack, deployed=False)
        aws = self._aws(ctx)
        status = health.live_status(aws.ecs, aws.elbv2, target=ctx.target.name, stack=ctx.stack, outputs=outputs)
        served = _served(ctx)
        status = evolve(status, endpoint=served) if served else status
        return with_backing_services(status, rds=aws.rds, ecs=aws.ecs, outputs=outputs)

    def logs(self, ctx: PhaseContext, *, follow: bool = False, since: datetime | None = None) -> Iterator[LogLine]:
        """The log group's events in moto, through the production CloudWatch reader."""
        outputs = program.deployed(ctx, load(ctx).outputs)
        aws = self._aws(ctx)
        scheduler = emulated_serving.active()
        if scheduler is not None:
            scheduler.ship_logs(aws)
        yield from cloudwatch.read(aws.logs, outputs["log_group"], follow=follow, since=since)

    def releases(self, ctx: PhaseContext) -> list[Release]:
        """The production release listing (:func:`deployer.plugins.aws_ecs.releases.listing`)
        against moto: the family's task definition revisions and ECR's images."""
        aws = self._aws(ctx)
        return aws_releases.listing(aws.ecs, aws.ecr, ctx, load(ctx).outputs)

    def rollback_image(self, ctx: PhaseContext, release: Release) -> Image:
        """The production rollback image (:func:`deployer.plugins.aws_ecs.releases.rollback_image`)
        against moto's ECR."""
        aws = self._aws(ctx)
        return aws_releases.rollback_image(aws.ecs, aws.ecr, ctx, release, load(ctx).outputs)

    def leftovers(self, ctx: PhaseContext) -> list[str]:
        """What the emulator still holds for the app and stack (live objects carrying its
        tags, see :func:`.moto_appliers.remaining`), the containers, networks and balancer
        it runs for them while it serves, plus the state file if it exists."""
        left = moto_appliers.remaining(self._aws(ctx))
        scheduler = emulated_serving.active()
        if scheduler is not None:
            left += scheduler.leftovers(ctx.app.name, ctx.stack)
        return [*left, str(state_file(ctx))] if state_file(ctx).exists() else left

    # --- applying ---------------------------------------------------------------------

    def _ecs(self, ctx: PhaseContext, aws: moto_appliers.Aws) -> EmulatedEcs:
        """moto's ECS client plus one-off tasks and ECS Exec; which services have ECS Exec
        on comes from the stored state (moto does not keep ``enableExecuteCommand``)."""
        enabled = {
            r["real"]["name"]: bool(r["inputs"].get("enableExecuteCommand"))
            for r in load(ctx).resources
            if r["type"] == "aws:ecs/service:Service" and r.get("real")
        }
        return EmulatedEcs(aws.ecs, aws, enabled)

    def _aws(self, ctx: PhaseContext) -> moto_appliers.Aws:
        require_moto()
        region = offline_plan.region(ctx)
        session = self._session(region) if self._session else moto_appliers.session(region)
        aws = moto_appliers.Aws(session, {"deployer-app": ctx.app.name, "deployer-stack": ctx.stack})
        aws_rules.guard_rds_calls(aws.rds)
        return aws

    def _mocks(self, ctx: PhaseContext, stored: Stored) -> EmulatorMocks:
        """The plan's mocks answering the hosted zone and unchanged secret versions from
        the emulator (moto is read only when the program asks)."""
        live = {key(r): r for r in stored.resources}

        def zone_id(name: str) -> str | None:
            return hosted_zone.find(self._aws(ctx).route53, name)

        def kept_version(name: str, value: object) -> str | None:
            entry = live.get((SECRET_VERSION, name))
            if not entry or not entry.get("real") or "versionId" not in entry["mock"]:
                return None
            real = entry["real"]
            with moto_appliers.quiet_botocore():  # its DEBUG log prints the value
                held = self._aws(ctx).secretsmanager.get_secret_value(
                    SecretId=real["secretId"], VersionId=real["versionId"]
                )
            return str(entry["mock"]["versionId"]) if held.get("SecretString") == value else None

        return EmulatorMocks(offline_plan.region(ctx), zone_id=zone_id, kept_version=kept_version)

    def _refresh(self, ctx, aws, stored: Sequence[Mapping[str, Any]]) -> frozenset[tuple[str, str]]:
        """What ``pulumi refresh`` would find changed behind the state's back: the stored
        resources whose live values (their applier's ``refresh``) differ from the recorded ones."""
        drifted = set()
        for resource in stored:
            applier = moto_appliers.applier(resource["type"])
            if applier is None or applier.refresh is None or not resource.get("real"):
                continue
            now = applier.refresh(aws, resource["real"])
            changed = {k: v for k, v in now.items() if resource["real"].get(k) != v}
            if changed:
                ctx.report(f"refresh: {resource['type']} {resource['name']} drifted: {changed}")
                drifted.add(key(resource))
        return frozenset(drifted)

    def _create(self, ctx, aws, resource, mocks, table, live) -> dict:
        """Check ``resource`` against what AWS accepts (:mod:`.aws_rules`), then create it
        in moto under its AWS name (given, or Pulumi's autoname); record it in ``live``
        and on disk at once, so a later failure leaves a state ``down`` can clean up."""
        applier = moto_appliers.applier(resource["type"])
        real: dict[str, Any] = {}
        if applier is not None:
            inputs = resolve(offline_plan.plain(mocks.inputs[key(resource)], reveal=True), table)
            name = aws_rules.physical_name(resource["type"], resource["name"], inputs)
            ctx.report(f"create {resource['type']} {resource['name']} (emulated)")
            try:
                aws_rules.check(
                    resource["type"], resource["name"], name, inputs, rules_context(aws, self._image_architecture, live)
                )
                real = applier.create(aws, inputs, name)
            except DeployFailed:
                save(ctx, Stored(tuple(live.values())))
                raise
            except Exception as exc:  # boto3/moto errors: name the resource, keep the state
                save(ctx, Stored(tuple(live.values())))
                raise DeployFailed(f"emulated create of {resource['type']} {resource['name']} failed: {exc}") from exc
        mock = _consumed(mocks.outputs[key(resource)], mocks.ids[key(resource)])
        entry = {
            **resource,
            "real": real,
            "mock": {k: mock[k] for k in OUTPUT_KEYS if k in real and isinstance(mock.get(k), str)},
        }
        live[key(resource)] = entry
        save(ctx, Stored(tuple(live.values())))
        return entry

    def _update(self, ctx, aws, resource, mocks, table, live) -> dict:
        """Check ``resource``'s new inputs against AWS's rules, then apply them to the live
        object in place (its applier's ``update``); record it as :meth:`_create` does."""
        entry = live[key(resource)]
        inputs = resolve(offline_plan.plain(mocks.inputs[key(resource)], reveal=True), table)
        ctx.report(f"update {resource['type']} {resource['name']} (emulated)")
        aws_rules.check(
            resource["type"],
            resource["name"],
            entry["real"].get("name", ""),
            inputs,
            rules_context(aws, self._image_architecture, live),
        )
        applier = moto_appliers.applier(resource["type"])
        assert applier is not None and applier.update is not None  # updated_in_place chose it
        entry = {**resource, "real": applier.update(aws, entry["real"], inputs), "mock": entry["mock"]}
        live[key(resource)] = entry
        save(ctx, Stored(tuple(live.values())))
        return entry

    def _delete(self, ctx, aws, resource, live) -> None:
        applier = moto_appliers.applier(resource["type"])
        if applier is not None and resource.get("real"):
            ctx.report(f"delete {resource['type']} {resource['name']} (emulated)")
            applier.delete(aws, resource["real"])
        del live[key(resource)]
        save(ctx, Stored(tuple(live.values())))


def _moved(text: str, blocks: Mapping[str, ipaddress.IPv6Network]) -> str | None:
    """``text``, an IPv6 block inside a mock block of ``blocks``, moved to the same offset
    in that block's real one; None when it is no IPv6 block or no mock block holds it."""
    inside = _ipv6_block(text)
    if inside is None:
        return None
    for mock, real in blocks.items():
        outer = ipaddress.IPv6Network(mock)
        if inside.subnet_of(outer):
            offset = int(inside.network_address) - int(outer.network_address)
            return str(ipaddress.IPv6Network((int(real.network_address) + offset, inside.prefixlen)))
    return None


def _ipv6_block(text: str) -> ipaddress.IPv6Network | None:
    """``text`` as an IPv6 CIDR block, or None when it is not one."""
    if ":" not in text or "/" not in text:
        return None
    try:
        return ipaddress.IPv6Network(text)
    except ValueError:
        return None


def _consumed(outputs: Mapping[str, Any], mock_id: str) -> dict[str, Any]:
    """A resource's mock outputs that others may consume, flat: its id, its outputs, a
    certificate's first ``domainValidationOptions`` entry (the validation record) and an
    RDS instance's first ``masterUserSecrets`` entry (its ``secretArn``)."""
    options = outputs.get("domainValidationOptions") or [{}]
    secrets = outputs.get("masterUserSecrets") or [{}]
    return {**options[0], **secrets[0], **outputs, "id": mock_id}


def excluded_keys(resources: Sequence[Mapping[str, Any]], held: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """The resources ``held`` (type token, name) and, transitively, every resource depending
    on one (``resources`` in dependency order, as a program records them)."""
    urns: set[str] = set()
    found: set[tuple[str, str]] = set()
    for resource in resources:
        if key(resource) in held or urns & set(resource.get("depends_on", ())):
            urns.add(resource["urn"])
            found.add(key(resource))
    return found


def updated_in_place(
    stored: Sequence[Mapping[str, Any]], recorded: Sequence[Mapping[str, Any]], actions: Mapping[tuple[str, str], str]
) -> frozenset[tuple[str, str]]:
    """The resources to update rather than replace: an ``update`` whose applier has an
    ``update`` and whose changed inputs are all among its ``in_place`` ones."""
    before = {key(r): r for r in stored}
    chosen = set()
    for resource in recorded:
        old = before.get(key(resource))
        if old is None or actions.get(key(resource)) != "update":
            continue
        applier = moto_appliers.applier(resource["type"])
        changed = set(changed_keys(old["inputs"], resource["inputs"]))
        if applier is not None and applier.update is not None and changed <= applier.in_place:
            chosen.add(key(resource))
    return frozenset(chosen)


def _mapping(entry: Mapping[str, Any]) -> dict[str, str]:
    """Mock value to emulator value for the outputs of one applied resource."""
    real = entry["real"]
    return {mock: real[k] for k, mock in entry["mock"].items() if isinstance(real.get(k), str) and real[k] != mock}


def _in_mock_terms(ctx: PhaseContext, stored: Stored) -> PhaseContext:
    """``ctx`` with a rollback's ``Image.reference`` (an emulator value: the real
    repository URL) written with the mock values it stands for, as the program's other
    values are, so :func:`resolve` maps it back once like the rest."""
    image = ctx.image
    if image is None or not image.reference:
        return ctx
    real_to_mock = {real: mock for entry in stored.resources for mock, real in _mapping(entry).items()}
    return evolve(ctx, image=evolve(image, reference=resolve(image.reference, real_to_mock)))


def _served(ctx: PhaseContext) -> str | None:
    """The emulated ALB's loopback URL while the emulator serves the stack, else None."""
    scheduler = emulated_serving.active()
    return scheduler.endpoint(ctx.app.name, ctx.stack) if scheduler is not None else None


def image_architecture(ctx: PhaseContext) -> str | None:
    """The core-built image's CPU architecture (Docker's name: ``amd64``, ``arm64``): the
    core's ``Image.architecture`` when it has one, else the local engine's image inspect;
    None when neither knows (the architecture rule is then skipped)."""
    image = ctx.image
    if image is None:
        return None
    known = getattr(image, "architecture", None)
    if known:
        return str(known)
    if not image.id:
        return None
    try:
        from deployer import docker_engine  # noqa: PLC0415 (the Docker engine only when an image ID is known)

        found = docker_engine.connect().image(image.id)
    except Exception:  # no engine here: the architecture stays unknown
        return None
    return (found or {}).get("Architecture")


def require_moto() -> None:
    """Raise :class:`EnvironmentProblem` unless moto's in-process mock is active; then
    keep service tasks RUNNING until stopped: by default moto walks a task towards
    STOPPED on every read (fit for one-off tasks, not for a service's)."""
    if not botocore_stubber.enabled:
        raise EnvironmentProblem(
            "the emulated aws-ecs driver runs only inside moto's mock_aws(); it never talks to a real AWS account"
        )
    state_manager.set_transition(TASK_MODEL, {"progression": "manual", "times": sys.maxsize})
