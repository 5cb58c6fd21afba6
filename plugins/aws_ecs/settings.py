"""The ``[targets.aws-ecs]`` config section: every key, its default and its limits.

:func:`parse_settings` is the target's ``parse_settings`` (see
:class:`deployer.targets.TargetInfo`); it rejects unknown keys and names the exact key
path in every error. :func:`of` gives a phase the parsed settings from its context.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from attrs import frozen

from deployer.errors import ConfigError
from deployer.settings import Section, target_settings

if TYPE_CHECKING:
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
_CERT_ARN = r"arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+"
_BACKEND = r"(file|s3|azblob|gs|https?)://.*"


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
    keep_images: int = 10
    force_delete_repository: bool = True
    deregistration_delay: int = 30
    health_check_grace_period: int = 60
    autoscaling_cpu_target: int = 60
    architecture: str = "X86_64"
    deploy_timeout: int = 900
    backend_url: str | None = None

    @property
    def https(self) -> bool:
        return self.certificate_arn is not None


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
        region=s.text("region", None, pattern=_REGION, hint="an AWS region such as eu-west-1"),
        az_count=s.integer("az_count", default.az_count, minimum=2, maximum=6),
        vpc_cidr=vpc_cidr,
        certificate_arn=s.text("certificate_arn", None, pattern=_CERT_ARN, hint="an ACM certificate ARN"),
        nat=s.boolean("nat", default.nat),
        nat_per_az=s.boolean("nat_per_az", default.nat_per_az),
        log_retention_days=retention,
        keep_images=s.integer("keep_images", default.keep_images, minimum=1, maximum=1000),
        force_delete_repository=s.boolean("force_delete_repository", default.force_delete_repository),
        deregistration_delay=s.integer("deregistration_delay", default.deregistration_delay, minimum=0, maximum=3600),
        health_check_grace_period=s.integer(
            "health_check_grace_period", default.health_check_grace_period, minimum=0, maximum=86400
        ),
        autoscaling_cpu_target=s.integer(
            "autoscaling_cpu_target", default.autoscaling_cpu_target, minimum=10, maximum=95
        ),
        architecture=s.text("architecture", default.architecture, choices=("X86_64", "ARM64")),
        deploy_timeout=s.integer("deploy_timeout", default.deploy_timeout, minimum=60, maximum=7200),
        backend_url=s.text(
            "backend_url", None, pattern=_BACKEND, hint="a Pulumi backend URL (file://, s3://, https://...)"
        ),
    )
    if s.parsed("nat", "nat_per_az") and settings.nat_per_az and not settings.nat:
        s.error("nat_per_az", "needs nat = true (without NAT, tasks use public IPs)", value=True)
    s.done()  # raises every error recorded above, at once
    return settings


def _check_cidr(key: str, value: str) -> None:
    try:
        network = ipaddress.IPv4Network(value)
    except ValueError:
        raise ConfigError(key, "must be an IPv4 CIDR block such as 10.0.0.0/16", value=value) from None
    if not 16 <= network.prefixlen <= 24:
        raise ConfigError(key, "must have a prefix between /16 and /24 (room for the subnets)", value=value)


def of(ctx: PhaseContext) -> AwsSettings:
    """The parsed settings of the context's target (:func:`deployer.settings.target_settings`)."""
    return target_settings(ctx, AwsSettings, parse_settings)
