"""``plan --offline``: run the real program under Pulumi mocks and record what it creates.

No Pulumi CLI, no credentials, no network. Every resource is recorded with its type
token, name, URN, a recognizable mock id (``<name>-id``; ARNs look real and contain the
name), its inputs under the provider's wire names, and its dependencies. The mock monitor
records none, so :class:`_RecordingMonitor` keeps the dependency URNs the SDK sends with
each registration (``depends_on`` plus every resource whose Outputs were consumed) and the
provider each resource uses. Secret inputs show as ``"[secret]"``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks

from deployer.models import Change, ExpressedSpec, PhaseContext, Plan
from deployer.plugins.aws_ecs import expressed, program
from deployer.plugins.aws_ecs import settings as aws_settings
from deployer.targets import RunPhases

SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"
"""The key Pulumi wraps secret values in (``{SIG: <secret sig>, "value": ...}``)."""
REDACTED = "[secret]"
ACCOUNT = "123456789012"
"""The fake AWS account every mock ARN belongs to."""
DEFAULT_REGION = "us-east-1"
"""The region of a plan that names none (nor does the environment): in the commercial
partition, known without reading botocore's endpoint data."""

ZONES = {"us-east-1": 6, "us-west-2": 4}
"""The regions with more than :data:`FEWEST_ZONES` availability zones, as many as AWS lists
AZ IDs for them (``use1-az1`` to ``use1-az6``, ``usw2-az1`` to ``usw2-az4``:
https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-availability-zones.html),
so that ``az_count = 4`` plans there. An account may see fewer of them: an online plan asks."""
FEWEST_ZONES = 3
"""The zones the mock gives any other region: "Each Region has at least three Availability
Zones" (the page above)."""


def plan(ctx: PhaseContext, phases: RunPhases, *, mocks: PlanMocks | None = None) -> Plan:
    """Run the program under mocks (``mocks``, or fresh :class:`PlanMocks`) and return every
    resource, dependencies first, under the stack itself (the plan's root), as ``pulumi
    preview`` shows them."""
    project = program.project_name(ctx)
    resources, outputs = record(
        lambda: program.run(ctx, phases), project=project, stack=ctx.stack, region=region(ctx), mocks=mocks
    )
    return Plan(
        target=ctx.target.name,
        stack=ctx.stack,
        root=Change("create", program.STACK_TYPE, f"{project}-{ctx.stack}"),
        changes=tuple(Change("create", r["type"], r["name"]) for r in resources),
        resources=tuple(resources),
        outputs=outputs,
        spec=_spec(resources, outputs),
    )


def _spec(resources: list[dict], outputs: Mapping[str, Any]) -> ExpressedSpec | None:
    """The planned task definition, service and target group read back as a spec (None
    when a replaced phase did not create them)."""
    by_type: dict[str, Any] = {}
    for r in resources:  # the app's task definition and service come first (workers' after)
        by_type.setdefault(r["type"], r["inputs"])
    # the web's: the one the stack output names (the release command's, when there is one, is another)
    task = next(
        (
            r["inputs"]
            for r in resources
            if r["type"] == "aws:ecs/taskDefinition:TaskDefinition"
            and r.get("outputs", {}).get("arn") == outputs.get("task_definition")
        ),
        by_type.get("aws:ecs/taskDefinition:TaskDefinition"),
    )
    service = by_type.get("aws:ecs/service:Service")
    group = by_type.get("aws:lb/targetGroup:TargetGroup")
    if not (task and service and group):
        return None
    return expressed.from_task_definition(
        task,
        image_id=outputs.get("image_id", ""),
        health_path=group["healthCheck"]["path"],
        replicas=service["desiredCount"],
    )


def record(
    body: Callable[[], Mapping[str, Any]], *, project: str, stack: str, region: str, mocks: PlanMocks | None = None
) -> tuple[list[dict], dict[str, Any]]:
    """Run any Pulumi program ``body`` (returning its exports) under :class:`PlanMocks`
    (``mocks``, or a fresh one); return the recorded resources and the resolved exports,
    both JSON-ready. A caller passing ``mocks`` can read its raw inputs and outputs after."""
    mocks = mocks or PlanMocks(region)
    monitor = _RecordingMonitor(mocks)
    runtime_settings.ROOT.set(None)  # a fresh root stack: programs may run repeatedly
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    outputs: dict[str, Any] = {}
    pulumi.runtime.test(lambda: pulumi.Output.all(**body()).apply(outputs.update))()
    return monitor.recorded(mocks), plain(outputs)


class PlanMocks(Mocks):
    """Answers resource registrations and invokes with realistic, name-derived values.

    Keeps, per ``(type, name)``, the raw inputs (secrets still wrapped), the mock id, the
    attributes it computed (ARN, DNS name, URL: what other resources refer to besides
    the id) and all the mock outputs it answered with.
    """

    def __init__(self, region: str):
        self.region = region
        self.partition = aws_settings.COMMERCIAL if region == DEFAULT_REGION else aws_settings.partition(region)
        self.inputs: dict[tuple[str, str], dict] = {}
        self.ids: dict[tuple[str, str], str] = {}
        self.computed: dict[tuple[str, str], dict] = {}
        self.outputs: dict[tuple[str, str], dict] = {}

    def _naming(self) -> tuple[str, str, str]:
        """What this region's identifiers are built from: the region, the ARN prefix
        (``arn:aws``) and the DNS suffix of its endpoints (``amazonaws.com``)."""
        return self.region, f"arn:{self.partition.name}", self.partition.dns_suffix

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict]:
        key = (args.typ, args.name)
        if key in self.inputs:
            raise ValueError(f"duplicate resource {args.typ} named {args.name!r}")
        self.inputs[key] = args.inputs
        self.ids[key] = f"{args.name}-id"
        self.computed[key] = self._outputs(args)
        self.outputs[key] = {**args.inputs, **self.computed[key]}
        return self.ids[key], self.outputs[key]

    def _outputs(self, args: MockResourceArgs) -> dict:
        region, arn, dns = self._naming()
        name = args.inputs.get("name") or (
            args.inputs["namePrefix"] + _hex(args.name, 26) if args.inputs.get("namePrefix") else args.name
        )
        service, _, kind = args.typ.partition(":")[2].partition("/")
        kind = kind.split(":")[0].lower()
        outputs = {"name": name, "arn": f"{arn}:{service}:{region}:{ACCOUNT}:{kind}/{name}"}
        match args.typ:
            case "aws:iam/role:Role":
                outputs["arn"] = f"{arn}:iam::{ACCOUNT}:role/{name}"
            case "aws:ec2/vpc:Vpc" if args.inputs.get("assignGeneratedIpv6CidrBlock"):
                prefix = int("2600" + "1f18" + _hex(name, 6) + "00", 16) << 64  # an Amazon-provided /56
                outputs["ipv6CidrBlock"] = str(ipaddress.IPv6Network((prefix, 56)))
            case "aws:ecr/repository:Repository":
                outputs["repositoryUrl"] = f"{ACCOUNT}.dkr.ecr.{region}.{dns}/{name}"
                outputs["registryId"] = ACCOUNT
            case "aws:lb/loadBalancer:LoadBalancer":
                suffix = f"app/{name}/{_hex(name, 16)}"
                outputs.update(
                    arn=f"{arn}:elasticloadbalancing:{region}:{ACCOUNT}:loadbalancer/{suffix}",
                    arnSuffix=suffix,
                    dnsName=f"{name}-{_hex(name, 8)}.{region}.elb.{dns}",
                    zoneId="Z" + _hex(f"elb/{region}", 12).upper(),  # the region's canonical ELB zone
                )
            case "aws:acm/certificate:Certificate":
                domain = args.inputs.get("domainName", "")
                outputs.update(
                    arn=f"{arn}:acm:{region}:{ACCOUNT}:certificate/{uuid.UUID(_hex(name, 32))}",
                    domainValidationOptions=[
                        {
                            "domainName": domain,
                            "resourceRecordName": f"_{_hex(domain, 32)}.{domain}.",
                            "resourceRecordType": "CNAME",
                            "resourceRecordValue": f"_{_hex(domain + '/acm', 32)}.acm-validations.aws.",
                        }
                    ],
                )
            case "aws:acm/certificateValidation:CertificateValidation":
                outputs["certificateArn"] = args.inputs.get("certificateArn")
            case "aws:route53/record:Record":
                outputs["fqdn"] = args.inputs.get("name", name).rstrip(".")
            case "aws:lb/targetGroup:TargetGroup":
                suffix = f"targetgroup/{name}/{_hex(name, 16)}"
                outputs.update(arn=f"{arn}:elasticloadbalancing:{region}:{ACCOUNT}:{suffix}", arnSuffix=suffix)
            case "aws:ecs/taskDefinition:TaskDefinition":
                family = args.inputs.get("family", name)
                outputs["arn"] = f"{arn}:ecs:{region}:{ACCOUNT}:task-definition/{family}:1"
            case "aws:secretsmanager/secret:Secret":
                outputs["arn"] = f"{arn}:secretsmanager:{region}:{ACCOUNT}:secret:{name}-{_hex(name, 6)}"
            case "aws:rds/instance:Instance":
                identifier = args.inputs.get("identifier") or name
                outputs.update(
                    identifier=identifier,
                    address=f"{identifier}.{_hex(name, 12)}.{region}.rds.{dns}",
                    masterUserSecrets=[
                        {
                            "secretArn": f"{arn}:secretsmanager:{region}:{ACCOUNT}:secret:rds!db-{_hex(name, 8)}",
                            "secretStatus": "active",
                        }
                    ],
                )
            case "aws:secretsmanager/secretVersion:SecretVersion":
                outputs["versionId"] = _version_id(args.inputs)
            case "docker:index/registryImage:RegistryImage":
                outputs["sha256Digest"] = "sha256:" + _hex(str(args.inputs.get("name")), 64)
        return outputs

    def call(self, args: MockCallArgs) -> tuple[dict, list[tuple[str, str]]]:
        """The answer to an invoke, with no failures (an empty list: pulumi 3.272 cannot
        read the None its own signature allows)."""
        return self._answer(args), []

    def _answer(self, args: MockCallArgs) -> dict:
        region, arn, dns = self._naming()
        match args.token:
            case "aws:index/getAvailabilityZones:getAvailabilityZones":
                count = ZONES.get(region, FEWEST_ZONES)
                return {
                    "id": region,
                    "names": [f"{region}{letter}" for letter in "abcdef"[:count]],
                    "state": "available",
                    "zoneIds": [f"{region[:3]}{region[-1]}-az{i + 1}" for i in range(count)],
                    "groupNames": [region] * count,
                }
            case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
                return {
                    "id": ACCOUNT,
                    "userName": "AWS",
                    "password": "mock-ecr-password",
                    "authorizationToken": "mock-token",
                    "expiresAt": "2000-01-01T12:00:00Z",
                    "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.{region}.{dns}",
                    "registryId": args.args.get("registryId", ACCOUNT),
                }
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return {
                    "id": ACCOUNT,
                    "accountId": ACCOUNT,
                    "arn": f"{arn}:iam::{ACCOUNT}:user/deployer",
                    "userId": "AIDAMOCKUSER",
                }
            case "aws:index/getPartition:getPartition":
                return {
                    "id": self.partition.name,
                    "partition": self.partition.name,
                    "dnsSuffix": dns,
                    "reverseDnsPrefix": ".".join(reversed(dns.split("."))),
                }
            case "aws:route53/getZone:getZone":
                zone = str(args.args.get("name", "")).rstrip(".")
                zone_id = "Z" + re.sub(r"[^A-Z0-9]", "", zone.upper())[:20]
                return {"id": zone_id, "zoneId": zone_id, "name": zone, "privateZone": False, "nameServers": []}
            case "aws:index/getRegion:getRegion":
                return {
                    "id": region,
                    "name": region,
                    "region": region,
                    "endpoint": f"ec2.{region}.{dns}",
                    "description": region,
                }
        raise NotImplementedError(f"offline plan has no mock for the invoke {args.token}")


class _RecordingMonitor(MockMonitor):
    """The SDK's mock monitor, also keeping each registration's URN, dependencies and provider."""

    def __init__(self, mocks: Mocks):
        super().__init__(mocks)
        self.registrations: list[tuple[str, str, str, list[str], str]] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != program.STACK_TYPE:
            self.registrations.append(
                (response.urn, request.type, request.name, sorted(set(request.dependencies)), request.provider)
            )
        return response

    def recorded(self, mocks: PlanMocks) -> list[dict]:
        """The registrations as plan entries, dependencies first: ordered by depth in the
        dependency graph, then type and name (registration order varies between runs)."""
        result = []
        for urn, typ, name, dependencies, provider in self.registrations:
            provider_urn = provider.rsplit("::", 1)[0] if provider else ""  # "<urn>::<id>"
            depends_on = sorted({*dependencies, provider_urn} - {""})
            result.append(
                {
                    "type": typ,
                    "name": name,
                    "urn": urn,
                    "id": mocks.ids[(typ, name)],
                    "inputs": plain(mocks.inputs[(typ, name)]),
                    "depends_on": depends_on,
                    "outputs": plain(mocks.computed[(typ, name)]),
                }
            )
        depth: dict[str, int] = {}
        by_urn = {r["urn"]: r for r in result}

        def level(urn: str) -> int:
            if urn not in depth:
                depth[urn] = 1 + max((level(d) for d in by_urn[urn]["depends_on"] if d in by_urn), default=-1)
            return depth[urn]

        return sorted(result, key=lambda r: (level(r["urn"]), r["type"], r["name"]))


def plain(value: Any, *, reveal: bool = False) -> Any:
    """``value`` (mock inputs or outputs) as plain data: integral floats back to ints,
    secrets redacted, or with ``reveal`` unwrapped (as the provider would receive them)."""
    if isinstance(value, dict):
        if SECRET_SIGNATURE in value:
            return plain(value.get("value"), reveal=True) if reveal else REDACTED
        return {key: plain(item, reveal=reveal) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item, reveal=reveal) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_VERSION_KEY = secrets.token_bytes(32)
"""Keys the mock secret version IDs: equal values give equal IDs within one process, and
the plan shows no unkeyed hash of a secret value (a weak one could be guessed from it)."""


def _version_id(inputs: Mapping[str, Any]) -> str:
    """A mock Secrets Manager version ID (a UUID, as AWS's) that changes with the value,
    as a real new version's ID does."""
    value = plain(inputs.get("secretString"), reveal=True)
    digest = hmac.new(_VERSION_KEY, json.dumps(value).encode(), hashlib.sha256).hexdigest()
    return str(uuid.UUID(digest[:32]))


def _hex(seed: str, length: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def region(ctx: PhaseContext) -> str:
    """The region offline plans name in ARNs: the target setting, else the AWS environment's
    (checked as the setting is: a :class:`~deployer.errors.ConfigError` naming the
    variable), else us-east-1."""
    configured = aws_settings.of(ctx).region
    if configured:
        return configured
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if os.environ.get(name):
            return aws_settings.environment_region(name, os.environ[name])
    return DEFAULT_REGION
