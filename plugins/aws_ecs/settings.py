"""The ``[targets.aws-ecs]`` config section: every key, its default and its limits.

:func:`parse_settings` is the target's ``parse_settings`` (see
:class:`deployer.targets.TargetInfo`); it rejects unknown keys and names the exact key
path in every error. :func:`of` gives a phase the parsed settings from its context.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from attrs import field, frozen

from deployer.config_section import SECONDS, Section, target_settings
from deployer.errors import ConfigError
from deployer.plugins.aws_ecs.address_plan import vpc_cidr_problem
from deployer.plugins.aws_ecs.database_settings import DatabaseSettings
from deployer.plugins.aws_ecs.database_settings import parse as parse_database

if TYPE_CHECKING:
    from botocore.regions import EndpointResolver

    from deployer.models import PhaseContext

LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
"""The values CloudWatch Logs accepts for ``retentionInDays`` (PutRetentionPolicy)."""

_REGION = r"[a-z]{2}(-[a-z]+)+-\d+"
_REGION_HINT = "an AWS region such as eu-west-1"
_CERT_ARN = r"arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+"
_BACKEND = r"(file|s3|azblob|gs|https?)://.*"
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
ACM_DOMAIN_MAX = 64
"""The longest name an ACM certificate takes as its Common Name (its ``DomainName``)."""
HOSTNAME = rf"(?=.{{1,253}}$){_LABEL}(\.{_LABEL})+"
"""An RFC 1123 host name of two or more labels: each 1-63 letters, digits or hyphens, not
starting or ending with a hyphen; 253 characters at most (RFC 1123 section 2.1, RFC 1035
section 2.3.4)."""
_S3_BUCKET = r"(?!xn--|sthree-|amzn-s3-demo-)[a-z0-9](?:[a-z0-9.-]{1,61})[a-z0-9](?<!-s3alias)(?<!--ol-s3)(?<!--x-s3)(?<!--table-s3)"
"""An S3 general purpose bucket name: 3-63 characters, lowercase letters, digits, dots and
hyphens, beginning and ending with a letter or digit, none of the reserved prefixes and
suffixes; no two adjacent dots and not an IP address (checked apart).
https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html"""

KEEP_IMAGES = 10
"""The default ``keep_images``: the ECR lifecycle policy keeps the newest N images, which
also bounds rollback (the current release and at least N - 1 earlier releases with other
images can be rolled back to: :func:`.releases.rollback_depth`)."""

PRIVATE_V4 = tuple(ipaddress.IPv4Network(block) for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
"""RFC 1918 private address space, what AWS recommends a VPC's IPv4 block come from.
https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html"""


@frozen
class AwsSettings:
    """Parsed ``[targets.aws-ecs]``; the defaults are the secure, cheap choice.

    ``region`` None means: the AWS environment decides (``AWS_REGION``, profile).
    ``backend_url`` None means ``file://<project>/.deployer/pulumi``.
    """

    region: str | None = None
    az_count: int = 2
    vpc_cidr: str = "10.0.0.0/16"
    certificate_arn: str | None = None
    nat: bool = False
    nat_per_az: bool = False
    log_retention_days: int = 30
    keep_images: int = KEEP_IMAGES
    force_delete_repository: bool = True
    deregistration_delay: int = 30
    health_check_grace_period: int = 60
    autoscaling_cpu_target: int = 60
    architecture: str | None = None
    deploy_timeout: int = 900
    backend_url: str | None = None
    domain: str | None = None
    hosted_zone: str | None = None
    container_insights: bool = True
    exec: bool = False
    """ECS Exec (``deployer exec``): ``enableExecuteCommand`` on the service and the task
    role's ``ssmmessages`` permissions (:mod:`.exec_session`)."""
    database: DatabaseSettings = field(factory=DatabaseSettings)
    """``[targets.aws-ecs.database]``: how RDS runs the app's ``[database]``."""

    @property
    def https(self) -> bool:
        return self.certificate_arn is not None or self.domain is not None

    @property
    def zone_name(self) -> str | None:
        """The Route 53 hosted zone of ``domain``: ``hosted_zone``, else the domain's parent,
        or the domain itself when its parent is a top-level domain (``example.com``)."""
        if self.domain is None:
            return None
        parent = self.domain.split(".", 1)[1]
        return self.hosted_zone or (parent if "." in parent else self.domain)


def parse_settings(raw: Mapping[str, Any], key: str) -> AwsSettings:
    """Validate the raw TOML table at ``key``; raise ``ConfigErrors`` naming every bad key."""
    s = Section(raw, key)
    default = AwsSettings()
    vpc_cidr = s.text("vpc_cidr", default.vpc_cidr)
    if s.parsed("vpc_cidr"):
        with s.collect():
            _check_cidr(s.key("vpc_cidr"), vpc_cidr)
    retention = s.integer("log_retention_days", default.log_retention_days)
    if retention not in LOG_RETENTION_DAYS:
        s.error(
            "log_retention_days",
            "must be a CloudWatch Logs retention value: " + ", ".join(map(str, LOG_RETENTION_DAYS)),
            value=retention,
        )
    settings = AwsSettings(
        region=_region(s),
        az_count=s.integer("az_count", default.az_count, minimum=2, maximum=6),
        vpc_cidr=vpc_cidr,
        certificate_arn=s.text("certificate_arn", None, pattern=_CERT_ARN, hint="an ACM certificate ARN"),
        nat=s.boolean("nat", default.nat),
        nat_per_az=s.boolean("nat_per_az", default.nat_per_az),
        log_retention_days=retention,
        keep_images=s.integer("keep_images", default.keep_images, minimum=1, maximum=1000),
        force_delete_repository=s.boolean("force_delete_repository", default.force_delete_repository),
        deregistration_delay=s.integer(
            "deregistration_delay", default.deregistration_delay, minimum=0, maximum=3600, unit=SECONDS
        ),
        health_check_grace_period=s.integer(
            "health_check_grace_period", default.health_check_grace_period, minimum=0, maximum=86400, unit=SECONDS
        ),
        autoscaling_cpu_target=s.integer(
            "autoscaling_cpu_target", default.autoscaling_cpu_target, minimum=10, maximum=95
        ),
        architecture=s.text("architecture", None, choices=("X86_64", "ARM64")),
        deploy_timeout=s.integer("deploy_timeout", default.deploy_timeout, minimum=60, maximum=7200, unit=SECONDS),
        backend_url=_backend_url(s),
        domain=_hostname(s, "domain"),
        hosted_zone=_hostname(s, "hosted_zone"),
        container_insights=s.boolean("container_insights", default.container_insights),
        exec=s.boolean("exec", default.exec),
        database=parse_database(s.section("database")),
    )
    if s.parsed("nat", "nat_per_az") and settings.nat_per_az and not settings.nat:
        s.error("nat_per_az", "needs nat = true (without NAT, tasks use public IPs)", value=True)
    if s.parsed("domain", "certificate_arn") and settings.domain:
        _check_domain(s, settings.domain, requested=settings.certificate_arn is None)
    if s.parsed("certificate_arn", "region") and settings.certificate_arn and settings.region:
        _check_certificate_region(s, settings.certificate_arn, settings.region)
    if s.parsed("domain", "hosted_zone") and settings.hosted_zone:
        domain, zone = settings.domain, settings.hosted_zone
        if not domain:
            s.error("hosted_zone", "needs domain (the name to create in that zone)", value=zone)
        elif domain != zone and not domain.endswith("." + zone):
            s.error("hosted_zone", f"must be {domain} or one of its parent domains", value=zone)
    s.done()  # raises every error recorded above, at once
    return settings


def _check_domain(s: Section, domain: str, *, requested: bool) -> None:
    """``domain``: a host name, not an IP address; when deployer ``requested`` its
    certificate (no ``certificate_arn``), at most :data:`ACM_DOMAIN_MAX` characters, the
    certificate's Common Name (RFC 5280; ACM's RequestCertificate,
    https://docs.aws.amazon.com/acm/latest/APIReference/API_RequestCertificate.html). A
    certificate of your own may cover a longer name as a Subject Alternative Name."""
    if _is_ip(domain):
        s.error("domain", "is an IP address: the certificate and DNS records need a host name", value=domain)
    elif requested and len(domain) > ACM_DOMAIN_MAX:
        s.error(
            "domain",
            f"is {len(domain)} characters: the ACM certificate deployer requests names it as its Common "
            f"Name, at most {ACM_DOMAIN_MAX} (RFC 5280); bring a certificate covering it (certificate_arn)",
            value=domain,
        )


def _check_certificate_region(s: Section, arn: str, region: str) -> None:
    problem = certificate_region_problem(arn, region)
    if problem:
        s.error("certificate_arn", problem, value=arn)


def certificate_region_problem(arn: str, region: str) -> str | None:
    """Why the certificate ``arn`` cannot serve a load balancer in ``region``: ACM
    certificates are regional, and a load balancer uses its own region's only
    (https://docs.aws.amazon.com/acm/latest/userguide/acm-regions.html); None when it can."""
    certificate_region = arn.split(":")[3]
    if certificate_region == region:
        return None
    return (
        f"is a certificate in {certificate_region}, but the stack is in {region}: a load balancer uses "
        f"certificates of its own region only (request or import one in {region})"
    )


def _hostname(s: Section, name: str) -> str | None:
    """A host name key, lower-cased, a trailing dot dropped."""
    value = s.text(name, None, pattern=HOSTNAME + r"\.?", hint="a DNS name such as www.example.com (RFC 1123)")
    return value.rstrip(".").lower() if value else None


def _check_cidr(key: str, value: str) -> None:
    try:
        network = ipaddress.IPv4Network(value)
    except ValueError:
        raise ConfigError(key, "must be an IPv4 CIDR block such as 10.0.0.0/16", value=value) from None
    problem = vpc_cidr_problem(network)
    if problem:
        raise ConfigError(key, problem, value=value)
    if not any(network.subnet_of(block) for block in PRIVATE_V4):
        raise ConfigError(
            key, "must lie in RFC 1918 private space: 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16", value=value
        )


def _region(s: Section) -> str | None:
    """``region``: a region botocore's own endpoint data knows for ECS (every partition),
    or, without boto3 (a local-only install), the region name pattern."""
    value = s.text("region", None, pattern=_REGION, hint=_REGION_HINT)
    if value is None or not s.parsed("region"):
        return value
    problem = region_problem(value)
    if problem:
        s.error("region", problem, value=value)
    return value


def environment_region(name: str, value: str) -> str:
    """``value``, the region the environment variable ``name`` gives, when ECS runs there;
    a :class:`ConfigError` naming the variable otherwise (as for the ``region`` key)."""
    problem = region_problem(value) if re.fullmatch(_REGION, value) else f"must be {_REGION_HINT}"
    if problem:
        raise ConfigError(name, problem, value=value)
    return value


def region_problem(value: str) -> str | None:
    """Why ``value`` is not a region where ECS runs, with the close matches; None when it
    is one (or when the known regions cannot be read: a local-only install)."""
    known = known_regions()
    if not known or value in known:
        return None
    close = difflib.get_close_matches(value, sorted(known), n=3, cutoff=0.6)
    listed = f"did you mean {' or '.join(close)}?" if close else f"one of {', '.join(sorted(known))}"
    return f"is not a region where ECS runs ({listed})"


@functools.cache
def known_regions() -> frozenset[str]:
    """The regions of every AWS partition (aws, aws-cn, aws-us-gov, ...) that have ECS,
    from the endpoint data botocore ships (the aws extra's); empty without botocore (a
    local-only install)."""
    endpoints = _endpoints()
    if endpoints is None:
        return frozenset()
    return frozenset(
        region
        for partition in endpoints.get_available_partitions()
        for region in endpoints.get_available_endpoints("ecs", partition)
    )


@frozen
class Partition:
    """An AWS partition: its name, the one ARNs carry (``arn:aws-cn:...``), and the DNS
    suffix of its service endpoints."""

    name: str
    dns_suffix: str


COMMERCIAL = Partition("aws", "amazonaws.com")
"""The partition of the commercial regions (us-east-1, the default, among them)."""


def partition(region: str) -> Partition:
    """The partition ``region`` belongs to, from botocore's endpoint data (``cn-north-1``:
    ``aws-cn``, ``amazonaws.com.cn``); :data:`COMMERCIAL` without botocore."""
    endpoints = _endpoints()
    if endpoints is None:
        return COMMERCIAL
    name = endpoints.get_partition_for_region(region)
    return Partition(name, endpoints.get_partition_dns_suffix(name))


@functools.cache
def _endpoints() -> EndpointResolver | None:
    """botocore's endpoint data, as boto3 reads it; None without botocore.

    Imported here, only when a region is named: botocore and its ``endpoints.json`` cost
    about 0.15 s, which every other config parse is spared."""
    try:  # a laziness boundary: only when a region is named
        from botocore.loaders import create_loader  # noqa: PLC0415
        from botocore.regions import EndpointResolver  # noqa: PLC0415
    except ImportError:
        return None
    return EndpointResolver(create_loader().load_data("endpoints"))


def _backend_url(s: Section) -> str | None:
    """``backend_url``: a Pulumi backend URL; an ``s3://`` one must name a valid bucket."""
    value = s.text("backend_url", None, pattern=_BACKEND, hint="a Pulumi backend URL (file://, s3://, https://...)")
    if value is not None and s.parsed("backend_url") and value.startswith("s3://"):
        bucket = value.removeprefix("s3://").split("/", 1)[0].split("?", 1)[0]
        if not re.fullmatch(_S3_BUCKET, bucket) or ".." in bucket or _is_ip(bucket):
            s.error(
                "backend_url",
                "must name an S3 bucket (s3://<bucket>[/prefix]): 3-63 lowercase letters, digits, dots or "
                "hyphens, starting and ending with a letter or digit",
                value=value,
            )
    return value


def _is_ip(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def of(ctx: PhaseContext) -> AwsSettings:
    """The parsed settings of the context's target (:func:`deployer.config_section.target_settings`)."""
    return target_settings(ctx, AwsSettings, parse_settings)
