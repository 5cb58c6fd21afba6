"""What AWS refuses that moto accepts: the emulated driver checks every resource here
before it calls moto, so a test double fails where AWS fails.

Two things happen before a resource reaches the emulator:

- **Pulumi's autonaming** (:func:`physical_name`): a resource whose type has a ``name``
  input the program did not give is named ``<logical name>-<7 random hex>`` in AWS
  ("the physical name will typically look something like ``my-role-d7c2fa0``"),
  https://www.pulumi.com/docs/iac/concepts/resources/names/#autonaming . A 24-character
  app's ALB (``<app>-alb``) then gets a 36-character name, which AWS refuses.
- **AWS's documented constraints** (:func:`check`): name lengths and character sets,
  Fargate task sizes, the ALB's availability zones and, dualstack, its subnets' IPv6
  blocks, a subnet's IPv6 block inside its VPC's, target group health check ranges, an
  HTTPS listener's certificate (present, existing, issued), an ACM certificate issued only
  once its DNS validation records are published, Route 53 records (name format, inside
  their zone, alias targets), secret ``valueFrom`` formats, and, when the service's
  tasks start, the image's CPU architecture against the task's runtime platform; RDS
  instance classes, backup retention, database names, DB subnet groups' zones, and (on the
  client, :func:`guard_rds_calls`) ``DeleteDBInstance``'s final snapshot. Every
  rule cites the AWS page it comes from. A violation is a :class:`DeployFailed` naming
  the resource, the value and the rule, as AWS's API error would.

Inputs are the provider's wire names (``healthCheck.interval``,
``runtimePlatform.cpuArchitecture``), references already resolved to emulator values.
"""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from attrs import frozen
from botocore.loaders import create_loader

from deployer.errors import DeployFailed
from deployer.plugins.aws_ecs.limits import FARGATE_MEMORY
from deployer.plugins.aws_ecs.naming import RESERVED_WORDS

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
    """What some rules need beyond a resource's own inputs, read from the emulator: the
    AZ of a subnet, the image's architecture (None: unknown, the rule is skipped),
    registered task definitions, a hosted zone's name by ID, the canonical hosted zone
    of a load balancer by DNS name, an ACM certificate's description by ARN, whether
    a DNS record ``(name, type, value)`` is published in a public hosted zone, and the
    IPv6 block of a subnet or VPC (None from a lookup: no such object, or no block)."""

    subnet_zone: Callable[[str], str | None] = lambda subnet: None
    image_architecture: str | None = None
    task_definitions: Mapping[str, Mapping[str, Any]] = {}
    zone_name: Callable[[str], str | None] = lambda zone_id: None
    balancer_zone: Callable[[str], str | None] = lambda dns_name: None
    certificate: Callable[[str], Mapping[str, Any] | None] = lambda arn: None
    published: Callable[[str, str, str], bool] = lambda name, kind, value: False
    subnet_ipv6: Callable[[str], str | None] = lambda subnet: None
    vpc_ipv6: Callable[[str], str | None] = lambda vpc: None


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
ACM_DNS = "https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html"
ELB_CERTIFICATES = (
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/https-listener-certificates.html"
)
R53_NAMES = "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DomainNameFormat.html"
R53_RECORD_SET = "https://docs.aws.amazon.com/Route53/latest/APIReference/API_ResourceRecordSet.html"
R53_ALIAS = "https://docs.aws.amazon.com/Route53/latest/APIReference/API_AliasTarget.html"
ELB_IP_TYPE = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-ip-address-type.html"
ELB_SET_IP_TYPE = "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_SetIpAddressType.html"
EC2_CREATE_SUBNET = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSubnet.html"
EC2_SUBNET_IPV6 = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-subnetcidrblock.html"
ECS_SECRETS = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html"
FARGATE_SIZES = (
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size"
)
EXEC_FORMAT = "https://repost.aws/knowledge-center/ecs-task-exec-format-error"
ECS_QUOTAS = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html"
IAM_QUOTAS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"
SECRET_VALUE = "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html"

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
_ECR_REPOSITORY: Mapping[str, Any] = create_loader().load_service_model("ecr", "service-2")["shapes"]["RepositoryName"]
"""ECR's repository name as AWS's own service model states it (botocore's
``data/ecr/2015-09-21/service-2.json``, shape ``RepositoryName``): ``min``, ``max`` and the
``pattern`` a whole name matches, ``[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*`` per ``/``-separated
part: one ``.``, one or two ``_``, or any run of ``-`` between lowercase letters and digits."""
_ECR_NAME = _name(
    _ECR_REPOSITORY["max"],
    _ECR_REPOSITORY["pattern"],
    "lowercase letters and digits, separated by one '.', one or two '_', hyphens or '/'",
    "https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html",
    minimum=_ECR_REPOSITORY["min"],
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


def _balancer_ip_type(type_token: str, logical: str, name: str, inputs: Mapping[str, Any], context: Context) -> None:
    """A dualstack load balancer: internet-facing (internal ones must use ipv4), and every
    subnet with an IPv6 CIDR block."""
    if inputs.get("ipAddressType", "ipv4") == "ipv4":
        return
    if inputs.get("internal"):
        raise refuse(
            type_token,
            logical,
            "ipAddressType",
            inputs["ipAddressType"],
            "is not allowed for an internal load balancer (ipv4 only)",
            ELB_SET_IP_TYPE,
        )
    bare = [subnet for subnet in inputs.get("subnets", []) if context.subnet_ipv6(subnet) is None]
    if bare:
        raise refuse(
            type_token,
            logical,
            "subnets",
            bare,
            f"have no IPv6 CIDR block; an {inputs['ipAddressType']} load balancer's VPC and subnets must have one",
            ELB_IP_TYPE,
        )


def _subnet(type_token: str, logical: str, name: str, inputs: Mapping[str, Any], context: Context) -> None:
    """A subnet's IPv6 block: a /64 inside an IPv6 block of its VPC (which must have one)."""
    block = inputs.get("ipv6CidrBlock")
    if not block:
        return
    network = ipaddress.IPv6Network(block)
    if network.prefixlen != 64:
        raise refuse(type_token, logical, "ipv6CidrBlock", block, "must be a /64", EC2_SUBNET_IPV6)
    vpc_block = context.vpc_ipv6(inputs.get("vpcId", ""))
    if vpc_block is None:
        raise refuse(
            type_token, logical, "ipv6CidrBlock", block, "needs a VPC with an IPv6 CIDR block", EC2_CREATE_SUBNET
        )
    if not network.subnet_of(ipaddress.IPv6Network(vpc_block)):
        raise refuse(
            type_token,
            logical,
            "ipv6CidrBlock",
            block,
            f"is not inside the VPC's IPv6 block {vpc_block}",
            EC2_CREATE_SUBNET,
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
    """An HTTPS listener needs exactly one default certificate, which must exist
    (``CertificateNotFound``) and, from ACM, be issued: a certificate still pending
    validation cannot be deployed to a load balancer."""
    if inputs.get("protocol") != "HTTPS":
        return
    arn = inputs.get("certificateArn")
    if not arn:
        raise refuse(
            type_token,
            logical,
            "certificateArn",
            arn,
            "must be given for an HTTPS listener (exactly one default certificate)",
            ELB_LISTENER,
        )
    found = context.certificate(arn)
    if found is None:
        raise refuse(
            type_token, logical, "certificateArn", arn, "names no certificate (CertificateNotFound)", ELB_LISTENER
        )
    if found.get("Status") != "ISSUED":
        raise refuse(
            type_token,
            logical,
            "certificateArn",
            arn,
            f"is {found.get('Status')}: a load balancer uses only an issued certificate (validate it first: {ACM_DNS})",
            ELB_CERTIFICATES,
        )


def _certificate_validation(
    type_token: str, logical: str, name: str, inputs: Mapping[str, Any], context: Context
) -> None:
    """ACM issues a DNS-validated certificate only once each validation CNAME resolves
    (else it stays PENDING_VALIDATION and the provider's wait times out), and the
    provider refuses ``validationRecordFqdns`` that leave one of the records out."""
    arn = inputs.get("certificateArn", "")
    found = context.certificate(arn)
    if found is None:
        raise refuse(type_token, logical, "certificateArn", arn, "names no ACM certificate", ACM_DNS)
    fqdns = {fqdn.rstrip(".").lower() for fqdn in inputs.get("validationRecordFqdns") or []}
    for option in found.get("DomainValidationOptions", []):
        record = option["ResourceRecord"]
        wanted = record["Name"].rstrip(".").lower()
        if inputs.get("validationRecordFqdns") is not None and wanted not in fqdns:
            raise refuse(
                type_token,
                logical,
                "validationRecordFqdns",
                sorted(fqdns),
                f"leave out the validation record {wanted} of {option['DomainName']}",
                "https://www.pulumi.com/registry/packages/aws/api-docs/acm/certificatevalidation/",
            )
        if not context.published(record["Name"], record["Type"], record["Value"]):
            raise refuse(
                type_token,
                logical,
                "certificateArn",
                arn,
                f"is never issued: its validation record {record['Type']} {record['Name']} -> {record['Value']} "
                "is in no public hosted zone, so ACM keeps it PENDING_VALIDATION",
                ACM_DNS,
            )


def _dns_name_problem(name: str) -> str:
    """Why Route 53 refuses ``name`` as a record name ('' when it does not): each label
    at most 63 bytes, the whole name at most 255 bytes with the dots."""
    text = name.rstrip(".") + "."
    if len(text.encode()) > 255:
        return f"is {len(text.encode())} bytes with the final dot; Route 53 allows 255"
    longest = max(text.rstrip(".").split("."), key=len)
    if len(longest.encode()) > 63:
        return f"has a label of {len(longest.encode())} bytes ({longest[:20]}...); Route 53 allows 63"
    return ""


def _record(type_token: str, logical: str, name: str, inputs: Mapping[str, Any], context: Context) -> None:
    """A Route 53 record: a valid name inside its hosted zone; an alias without a TTL or
    values, whose target, for a load balancer, is its DNS name with its canonical hosted
    zone ID; any other record a TTL and values."""
    record = str(inputs.get("name", "")).rstrip(".").lower()
    problem = _dns_name_problem(record)
    if problem:
        raise refuse(type_token, logical, "name", record, problem, R53_NAMES)
    zone_id = str(inputs.get("zoneId", ""))
    zone = context.zone_name(zone_id)
    if zone is None:
        raise refuse(type_token, logical, "zoneId", zone_id, "names no hosted zone (NoSuchHostedZone)", R53_RECORD_SET)
    zone = zone.rstrip(".").lower()
    if record != zone and not record.endswith("." + zone):
        raise refuse(
            type_token,
            logical,
            "name",
            record,
            f"is not in the hosted zone {zone} (InvalidChangeBatch)",
            R53_RECORD_SET,
        )
    aliases = inputs.get("aliases") or []
    if aliases and (inputs.get("ttl") is not None or inputs.get("records")):
        raise refuse(
            type_token, logical, "ttl/records", inputs.get("ttl"), "must be omitted for an alias", R53_RECORD_SET
        )
    if not aliases and (inputs.get("ttl") is None or not inputs.get("records")):
        raise refuse(
            type_token,
            logical,
            "ttl/records",
            inputs.get("ttl"),
            "are required for a record that is not an alias",
            R53_RECORD_SET,
        )
    for alias in aliases:
        target = str(alias.get("name", "")).rstrip(".").lower()
        if not target.endswith(".elb.amazonaws.com"):
            continue
        canonical = context.balancer_zone(target.removeprefix("dualstack."))
        if canonical is None:
            raise refuse(type_token, logical, "aliases.name", target, "is no load balancer's DNS name", R53_ALIAS)
        if alias.get("zoneId") != canonical:
            raise refuse(
                type_token,
                logical,
                "aliases.zoneId",
                alias.get("zoneId"),
                f"is not the load balancer's canonical hosted zone ID {canonical}",
                R53_ALIAS,
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
    """Family name, the Fargate task size, the registration's size (its inputs as compact
    JSON, containers included: at most 64 KiB) and every container secret's ``valueFrom``."""
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
    containers = json.loads(inputs.get("containerDefinitions") or "[]")
    registered = len(json.dumps({**inputs, "containerDefinitions": containers}, separators=(",", ":")).encode())
    if registered > 65536:
        raise refuse(type_token, logical, "size", f"{registered:,} bytes", "must be at most 65,536 bytes", ECS_QUOTAS)
    for container in containers:
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


def _secret_value(type_token: str, logical: str, name: str, inputs: Mapping[str, Any], context: Context) -> None:
    """A ``SecretString`` holds 1 to 65,536 bytes."""
    value = inputs.get("secretString")
    if isinstance(value, str) and not 1 <= len(value.encode()) <= 65536:
        raise refuse(
            type_token,
            logical,
            "secretString",
            f"{len(value.encode()):,} bytes",
            "must be 1 to 65,536 bytes",
            SECRET_VALUE,
        )


def _policy_size(type_token: str, logical: str, name: str, inputs: Mapping[str, Any], context: Context) -> None:
    """An inline role policy of at most 10,240 characters, whitespace not counted (IAM's
    quota is for all of a role's inline policies together: one policy is checked here)."""
    size = len("".join(str(inputs.get("policy", "")).split()))
    if size > 10240:
        raise refuse(type_token, logical, "policy", f"{size:,} characters", "must be at most 10,240", IAM_QUOTAS)


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
_RDS_DB_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")
"""A PostgreSQL DB name on RDS: 1-63 letters, digits or underscores, first a letter
(CreateDBInstance ``DBName``), and not a reserved word (:data:`.naming.RESERVED_WORDS`)."""
_RDS_CLASS = re.compile(r"db\.[a-z]+[0-9]+[a-z-]*\.(micro|small|medium|large|[0-9]*xlarge)")
"""A DB instance class: ``db.<class type>.<size>``, e.g. ``db.t4g.micro``."""


def _db_instance(type_token: str, logical: str, name: str, inputs: Mapping[str, Any], context: Context) -> None:
    """Instance class shape, backup retention 0-35 days and the database name, which
    CreateDBInstance refuses and moto accepts (moto checks the instance identifier itself), and the final
    snapshot's identifier, which DeleteDBInstance would refuse only at ``down``."""
    instance_class = inputs.get("instanceClass", "")
    if not _RDS_CLASS.fullmatch(instance_class):
        raise refuse(type_token, logical, "instanceClass", instance_class, "is not a DB instance class", RDS_CLASSES)
    _in_range(type_token, logical, "backupRetentionPeriod", inputs.get("backupRetentionPeriod"), 0, 35, RDS_CREATE)
    database = inputs.get("dbName")
    if database is not None and (not _RDS_DB_NAME.fullmatch(database) or database.lower() in RESERVED_WORDS):
        raise refuse(
            type_token,
            logical,
            "dbName",
            database,
            "must be 1 to 63 letters, digits or underscores, begin with a letter, and not be a word "
            "PostgreSQL reserves",
            RDS_CREATE,
        )
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
    or with both. (A protected instance moto refuses by itself, as RDS does.) Guarding a
    client again changes nothing."""

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

    rds.meta.events.register(
        "provide-client-params.rds.DeleteDBInstance", check, unique_id="deployer-testing-guard-delete-db-instance"
    )


RULES: Mapping[str, tuple[Rule, ...]] = {
    "aws:lb/loadBalancer:LoadBalancer": (_ELB_NAME, _balancer_zones, _balancer_ip_type),
    "aws:ec2/subnet:Subnet": (_subnet,),
    "aws:lb/targetGroup:TargetGroup": (_TG_NAME, _health_check),
    "aws:lb/listener:Listener": (_listener,),
    "aws:acm/certificateValidation:CertificateValidation": (_certificate_validation,),
    "aws:route53/record:Record": (_record,),
    "aws:iam/role:Role": (_IAM_ROLE_NAME,),
    "aws:iam/rolePolicy:RolePolicy": (_IAM_POLICY_NAME, _policy_size),
    "aws:ecr/repository:Repository": (_ECR_NAME,),
    "aws:cloudwatch/logGroup:LogGroup": (_LOG_GROUP_NAME,),
    "aws:secretsmanager/secret:Secret": (_SECRET_NAME,),
    "aws:secretsmanager/secretVersion:SecretVersion": (_secret_value,),
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
