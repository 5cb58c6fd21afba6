"""What AWS refuses that moto accepts: the emulated driver checks every resource here
before it calls moto, so a test double fails where AWS fails.

Two things happen before a resource reaches the emulator:

- **Pulumi's autonaming** (:func:`physical_name`): a resource whose type has a ``name``
  input the program did not give is named ``<logical name>-<7 random hex>`` in AWS
  ("the physical name will typically look something like ``my-role-d7c2fa0``"),
  https://www.pulumi.com/docs/iac/concepts/resources/names/#autonaming . A 24-character
  app's ALB (``<app>-alb``) then gets a 36-character name, which AWS refuses.
- **AWS's documented constraints** (:func:`check`): name lengths and character sets,
  Fargate task sizes, the ALB's availability zones, target group health check ranges, an
  HTTPS listener's certificate, secret ``valueFrom`` formats, and, when the service's
  tasks start, the image's CPU architecture against the task's runtime platform; RDS
  instance classes, backup retention, DB subnet groups' zones, and (on the
  client, :func:`guard_rds_calls`) ``DeleteDBInstance``'s final snapshot. Every
  rule cites the AWS page it comes from. A violation is a :class:`DeployFailed` naming
  the resource, the value and the rule, as AWS's API error would.

Inputs are the provider's wire names (``healthCheck.interval``,
``runtimePlatform.cpuArchitecture``), references already resolved to emulator values.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from attrs import frozen

from deployer.errors import DeployFailed
from deployer.plugins.aws_ecs.limits import FARGATE_MEMORY

AUTONAMING = "https://www.pulumi.com/docs/iac/concepts/resources/names/#autonaming"

AUTONAMED = frozenset(
    {
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ecr/repository:Repository",
        "aws:iam/role:Role",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:secretsmanager/secret:Secret",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:lb/loadBalancer:LoadBalancer",
        "aws:lb/targetGroup:TargetGroup",
        "aws:ecs/cluster:Cluster",
        "aws:ecs/service:Service",
        "aws:appautoscaling/policy:Policy",
        "aws:rds/subnetGroup:SubnetGroup",
    }
)
"""The AWS types the emulator applies whose ``name`` input is optional in pulumi-aws, so
Pulumi names them itself when the program does not (tests check this against the SDK)."""

ARCHITECTURES = {"amd64": "X86_64", "arm64": "ARM64"}
"""Docker's image ``Architecture`` to ECS's ``runtimePlatform.cpuArchitecture``."""

DEFAULT_CPU_ARCHITECTURE = "X86_64"
"""A task definition without ``runtimePlatform.cpuArchitecture`` runs on x86_64:
https://repost.aws/knowledge-center/ecs-task-exec-format-error"""


def physical_name(type_token: str, logical: str, inputs: Mapping[str, Any]) -> str:
    """The name the object gets in AWS: the ``name`` input when the program gave one, else
    Pulumi's autoname for :data:`AUTONAMED` types, else the logical name (types without
    a name of their own, whose appliers do not use it)."""
    given = inputs.get("name")
    if isinstance(given, str) and given:
        return given
    if type_token in AUTONAMED:
        return f"{logical}-{secrets.token_hex(4)[:7]}"
    return logical


@frozen
class Context:
    """What some rules need beyond a resource's own inputs: the AZ of a subnet, the image's
    architecture (None: unknown, the rule is skipped) and registered task definitions."""

    subnet_zone: Callable[[str], str | None] = lambda subnet: None
    image_architecture: str | None = None
    task_definitions: Mapping[str, Mapping[str, Any]] = {}


Rule = Callable[[str, str, str, Mapping[str, Any], Context], None]
"""``rule(type_token, logical, name, inputs, context)``: raise when AWS would refuse."""


def refuse(type_token: str, logical: str, what: str, value: Any, rule: str, url: str) -> DeployFailed:
    """The error AWS would answer with, naming the resource, the value and the rule."""
    return DeployFailed(
        f"AWS would refuse {type_token} {logical}: {what} = {value!r} {rule} ({url}). "
        "Caught by the emulated driver before anything reached moto."
    )


def _name(maximum: int, pattern: str, described: str, url: str, *, minimum: int = 1, extra=None) -> Rule:
    def rule(type_token: str, logical: str, name: str, inputs: Mapping[str, Any], context: Context) -> None:
        if not minimum <= len(name) <= maximum:
            raise refuse(
                type_token,
                logical,
                "name",
                name,
                f"is {len(name)} characters; AWS allows {minimum} to {maximum}",
                url,
            )
        if not re.fullmatch(pattern, name):
            raise refuse(type_token, logical, "name", name, f"must be {described}", url)
        if extra is not None:
            problem = extra(name)
            if problem:
                raise refuse(type_token, logical, "name", name, problem, url)

    return rule


ELB_CREATE_LB = "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html"
ELB_CREATE_TG = "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html"
ELB_HEALTH = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html"
ELB_LISTENER = "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateListener.html"
ECS_SECRETS = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html"
FARGATE_SIZES = (
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size"
)
EXEC_FORMAT = "https://repost.aws/knowledge-center/ecs-task-exec-format-error"

_ELB_NAME = _name(
    32,
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?",
    "alphanumeric characters or hyphens, not beginning or ending with a hyphen",
    ELB_CREATE_LB,
    extra=lambda name: "must not begin with 'internal-'" if name.startswith("internal-") else "",
)
"""Load balancer names: at most 32 characters, alphanumerics or hyphens, no hyphen at
either end, not ``internal-...`` (CreateLoadBalancer ``Name``)."""

_TG_NAME = _name(
    32,
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?",
    "alphanumeric characters or hyphens, not beginning or ending with a hyphen",
    ELB_CREATE_TG,
)
"""Target group names: at most 32 characters, alphanumerics or hyphens, no hyphen at
either end (CreateTargetGroup ``Name``)."""

_IAM_ROLE_NAME = _name(
    64,
    r"[\w+=,.@-]+",
    "letters, digits and _+=,.@-",
    "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html",
)
_IAM_POLICY_NAME = _name(
    128,
    r"[\w+=,.@-]+",
    "letters, digits and _+=,.@-",
    "https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePolicy.html",
)
_ECR_NAME = _name(
    256,
    r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*",
    "lowercase letters and digits, separated by single . _ - or /",
    "https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html",
    minimum=2,
)
_LOG_GROUP_NAME = _name(
    512,
    r"[\.\-_/#A-Za-z0-9]+",
    "letters, digits and . - _ / #",
    "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html",
    extra=lambda name: "must not start with 'aws/'" if name.startswith("aws/") else "",
)
_SECRET_NAME = _name(
    512,
    r"[A-Za-z0-9/_+=.@-]+",
    "ASCII letters, digits and /_+=.@-",
    "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html",
)
_SECURITY_GROUP_NAME = _name(
    255,
    r"[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]+",
    "a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*",
    "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html",
    extra=lambda name: "must not start with 'sg-'" if name.startswith("sg-") else "",
)
_ECS_NAME = "letters, digits, underscores and hyphens"
_CLUSTER_NAME = _name(
    255,
    r"[A-Za-z0-9_-]+",
    _ECS_NAME,
    "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateCluster.html",
)
_SERVICE_NAME = _name(
    255,
    r"[A-Za-z0-9_-]+",
    _ECS_NAME,
    "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html",
)


def _balancer_zones(type_token: str, logical: str, name: str, inputs: Mapping[str, Any], context: Context) -> None:
    """An Application Load Balancer needs subnets from at least two Availability Zones."""
    if inputs.get("loadBalancerType", "application") != "application":
        return
    _two_zones(type_token, logical, "subnets", inputs, context, "an Application Load Balancer", ELB_CREATE_LB)


def _two_zones(type_token, logical, key: str, inputs: Mapping[str, Any], context: Context, whose: str, url) -> None:
    """The subnets in ``inputs[key]`` must span at least two Availability Zones."""
    subnets = list(inputs.get(key, []))
    zones = {zone for zone in map(context.subnet_zone, subnets) if zone is not None}
    if len(zones) < 2:
        raise refuse(
            type_token,
            logical,
            key,
            subnets,
            f"are in {len(zones)} Availability Zone(s) ({', '.join(sorted(zones)) or 'unknown'}); "
            f"{whose} needs subnets from at least two",
            url,
        )


def _in_range(type_token, logical, what, value, low, high, url) -> None:
    if value is not None and not low <= int(value) <= high:
        raise refuse(type_token, logical, what, value, f"must be between {low} and {high}", url)


def _health_check(type_token: str, logical: str, name: str, inputs: Mapping[str, Any], context: Context) -> None:
    """Target group health check: interval 5-300 s, timeout 2-120 s and shorter than the
    interval, healthy and unhealthy thresholds 2-10, path 1-1024 characters."""
    check = inputs.get("healthCheck") or {}
    _in_range(type_token, logical, "healthCheck.interval", check.get("interval"), 5, 300, ELB_CREATE_TG)
    _in_range(type_token, logical, "healthCheck.timeout", check.get("timeout"), 2, 120, ELB_CREATE_TG)
    for key in ("healthyThreshold", "unhealthyThreshold"):
        _in_range(type_token, logical, f"healthCheck.{key}", check.get(key), 2, 10, ELB_CREATE_TG)
    interval, timeout = check.get("interval", 30), check.get("timeout")
    if timeout is not None and int(timeout) >= int(interval):
        raise refuse(
            type_token,
            logical,
            "healthCheck.timeout",
            timeout,
            f"must be shorter than the interval ({interval})",
            ELB_HEALTH,
        )
    path = check.get("path")
    if path is not None and not 1 <= len(path) <= 1024:
        raise refuse(
            type_token,
            logical,
            "healthCheck.path",
            path,
            f"is {len(path)} characters; AWS allows 1 to 1024",
            ELB_CREATE_TG,
        )


def _listener(type_token: str, logical: str, name: str, inputs: Mapping[str, Any], context: Context) -> None:
    """An HTTPS listener needs exactly one default certificate."""
    if inputs.get("protocol") == "HTTPS" and not inputs.get("certificateArn"):
        raise refuse(
            type_token,
            logical,
            "certificateArn",
            inputs.get("certificateArn"),
            "must be given for an HTTPS listener (exactly one default certificate)",
            ELB_LISTENER,
        )


_FAMILY = re.compile(r"[A-Za-z0-9_-]{1,255}")
_SECRET_ARN = re.compile(
    r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@!-]+"
    r"(?::(?P<json_key>[^:]*):(?P<stage>[^:]*):(?P<version>[^:]*))?"
)
"""A Secrets Manager ``valueFrom``: the secret's ARN, or the ARN followed by
``:json-key:version-stage:version-id`` (each may be empty, all three colons present). The
name may hold ``!``: the secrets RDS manages for a master password are named
``rds!db-<id>`` (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html)."""
_SSM = re.compile(r"arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter/.+|[A-Za-z0-9_.\-/]+")


def _task_definition(type_token: str, logical: str, name: str, inputs: Mapping[str, Any], context: Context) -> None:
    """Family name, the Fargate task size and every container secret's ``valueFrom``."""
    family = inputs.get("family", "")
    if not _FAMILY.fullmatch(family):
        raise refuse(
            type_token,
            logical,
            "family",
            family,
            "must be 1 to 255 letters, digits, underscores and hyphens",
            "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html",
        )
    if "FARGATE" in inputs.get("requiresCompatibilities", []):
        cpu, memory = str(inputs.get("cpu")), str(inputs.get("memory"))
        try:
            allowed = FARGATE_MEMORY.get(int(cpu), ())
            valid = int(memory) in allowed
        except (TypeError, ValueError):
            allowed, valid = (), False
        if not valid:
            raise refuse(
                type_token,
                logical,
                "cpu/memory",
                f"{cpu}/{memory}",
                "is not a Fargate task size"
                + (f" (with cpu {cpu}: memory {', '.join(map(str, allowed))})" if allowed else ""),
                FARGATE_SIZES,
            )
    for container in json.loads(inputs.get("containerDefinitions") or "[]"):
        for secret in container.get("secrets", []):
            source = secret.get("valueFrom", "")
            ok = _SECRET_ARN.fullmatch(source) if ":secretsmanager:" in source else _SSM.fullmatch(source)
            if not ok:
                raise refuse(
                    type_token,
                    logical,
                    f"containerDefinitions[{container.get('name')}].secrets[{secret.get('name')}].valueFrom",
                    source,
                    "must be a secret ARN, or a secret ARN followed by :json-key:version-stage:version-id",
                    ECS_SECRETS,
                )


def _service(type_token: str, logical: str, name: str, inputs: Mapping[str, Any], context: Context) -> None:
    """When the service's tasks start: the image must be built for the task's CPU
    architecture, or its essential container exits at once ("exec format error")."""
    task = context.task_definitions.get(inputs.get("taskDefinition", ""))
    if task is None or context.image_architecture is None:
        return
    wanted = (task.get("runtimePlatform") or {}).get("cpuArchitecture") or DEFAULT_CPU_ARCHITECTURE
    have = ARCHITECTURES.get(context.image_architecture, context.image_architecture.upper())
    if have != wanted:
        raise refuse(
            type_token,
            logical,
            "the image's architecture",
            context.image_architecture,
            f"does not match the task's runtimePlatform.cpuArchitecture {wanted}: every task would stop "
            "with 'Essential container in task exited' (exit code 1, exec format error)",
            EXEC_FORMAT,
        )


RDS_CREATE = "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html"
RDS_DELETE = "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBInstance.html"
RDS_SUBNETS = (
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_VPC.WorkingWithRDSInstanceinaVPC.html#USER_VPC.Subnets"
)
RDS_CLASSES = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.html"
_RDS_SNAPSHOT = re.compile(r"[A-Za-z](?!.*--)[A-Za-z0-9-]{0,254}(?<!-)")
"""A DB snapshot identifier: 1-255 letters, digits or hyphens, first a letter, no two
consecutive hyphens, not ending with one (DeleteDBInstance ``FinalDBSnapshotIdentifier``)."""
_RDS_CLASS = re.compile(r"db\.[a-z]+[0-9]+[a-z-]*\.(micro|small|medium|large|[0-9]*xlarge)")
"""A DB instance class: ``db.<class type>.<size>``, e.g. ``db.t4g.micro``."""


def _db_instance(type_token: str, logical: str, name: str, inputs: Mapping[str, Any], context: Context) -> None:
    """Instance class shape and backup retention 0-35 days, which CreateDBInstance refuses
    and moto accepts (moto checks the instance identifier itself), and the final
    snapshot's identifier, which DeleteDBInstance would refuse only at ``down``."""
    instance_class = inputs.get("instanceClass", "")
    if not _RDS_CLASS.fullmatch(instance_class):
        raise refuse(type_token, logical, "instanceClass", instance_class, "is not a DB instance class", RDS_CLASSES)
    _in_range(type_token, logical, "backupRetentionPeriod", inputs.get("backupRetentionPeriod"), 0, 35, RDS_CREATE)
    snapshot = inputs.get("finalSnapshotIdentifier")
    if snapshot is not None and not _RDS_SNAPSHOT.fullmatch(snapshot):
        raise refuse(
            type_token,
            logical,
            "finalSnapshotIdentifier",
            snapshot,
            "must be 1 to 255 letters, digits or hyphens, begin with a letter, and neither end with a hyphen "
            "nor hold two consecutive ones",
            RDS_DELETE,
        )


def _db_subnet_group(type_token: str, logical: str, name: str, inputs: Mapping[str, Any], context: Context) -> None:
    """A DB subnet group needs subnets in at least two Availability Zones."""
    _two_zones(type_token, logical, "subnetIds", inputs, context, "a DB subnet group", RDS_SUBNETS)


def guard_rds_calls(rds: Any) -> None:
    """Make the boto3 RDS client ``rds`` refuse, before moto sees it, a ``DeleteDBInstance``
    that RDS refuses and moto runs: without ``SkipFinalSnapshot`` and without a
    ``FinalDBSnapshotIdentifier`` ("If you don't enable this parameter, you must specify
    the FinalDBSnapshotIdentifier parameter"; moto deletes the instance with no snapshot),
    or with both. (A protected instance moto refuses by itself, as RDS does.)"""

    def check(params: dict[str, Any], **_: Any) -> None:
        skip, snapshot = bool(params.get("SkipFinalSnapshot")), params.get("FinalDBSnapshotIdentifier")
        if not skip and not snapshot:
            raise refuse(
                "DeleteDBInstance",
                params.get("DBInstanceIdentifier", ""),
                "FinalDBSnapshotIdentifier",
                snapshot,
                "must be given unless SkipFinalSnapshot is true",
                RDS_DELETE,
            )
        if skip and snapshot:
            raise refuse(
                "DeleteDBInstance",
                params.get("DBInstanceIdentifier", ""),
                "FinalDBSnapshotIdentifier",
                snapshot,
                "must not be given with SkipFinalSnapshot = true",
                RDS_DELETE,
            )

    rds.meta.events.register("provide-client-params.rds.DeleteDBInstance", check)


RULES: Mapping[str, tuple[Rule, ...]] = {
    "aws:lb/loadBalancer:LoadBalancer": (_ELB_NAME, _balancer_zones),
    "aws:lb/targetGroup:TargetGroup": (_TG_NAME, _health_check),
    "aws:lb/listener:Listener": (_listener,),
    "aws:iam/role:Role": (_IAM_ROLE_NAME,),
    "aws:iam/rolePolicy:RolePolicy": (_IAM_POLICY_NAME,),
    "aws:ecr/repository:Repository": (_ECR_NAME,),
    "aws:cloudwatch/logGroup:LogGroup": (_LOG_GROUP_NAME,),
    "aws:secretsmanager/secret:Secret": (_SECRET_NAME,),
    "aws:ec2/securityGroup:SecurityGroup": (_SECURITY_GROUP_NAME,),
    "aws:ecs/cluster:Cluster": (_CLUSTER_NAME,),
    "aws:ecs/taskDefinition:TaskDefinition": (_task_definition,),
    "aws:ecs/service:Service": (_SERVICE_NAME, _service),
    "aws:rds/instance:Instance": (_db_instance,),
    "aws:rds/subnetGroup:SubnetGroup": (_db_subnet_group,),
}
"""The rules per resource type; a type not listed has none the emulator knows of."""


def check(type_token: str, logical: str, name: str, inputs: Mapping[str, Any], context: Context | None = None) -> None:
    """Raise :class:`DeployFailed` if AWS would refuse ``type_token`` named ``name`` (the
    physical name; ``logical`` is the Pulumi resource name) with ``inputs``."""
    context = context or Context()
    for rule in RULES.get(type_token, ()):
        rule(type_token, logical, name, inputs, context)
