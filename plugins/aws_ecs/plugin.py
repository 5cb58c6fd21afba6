"""Manifest of the built-in aws-ecs target: its registration and its four phase hooks.

Imports nothing heavy: the phase hooks (:class:`~deployer.targets.TargetPhases`) import
their phase module (and so pulumi_aws) only when the selected target is aws-ecs
(:func:`~deployer.targets.phase_from`), and the settings schema and the app's limits are
imported only when a config uses the target (selected, or a ``[targets.aws-ecs]`` table),
so a local run does not load them. Hooks are ``trylast`` so a third-party plugin can
replace any one phase (``tryfirst``) or wrap it (``wrapper=True``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

from deployer.errors import TargetUnavailable
from deployer.hookspecs import hookimpl
from deployer.models import AppSpec
from deployer.targets import TargetInfo, TargetPhases, phase_from

NAME = "aws-ecs"
INSTALL_HINT = 'pip install "deployer[aws]"'
_EXTRA = ("pulumi", "pulumi_aws", "pulumi_docker", "boto3")


def available() -> bool:
    """True when the ``aws`` extra (pulumi, pulumi-aws, pulumi-docker, boto3) is installed."""
    return all(importlib.util.find_spec(module) is not None for module in _EXTRA)


def make_driver():
    """The driver factory: raises TargetUnavailable with the install command when the
    aws extra is missing."""
    if not available():
        raise TargetUnavailable(f"the aws-ecs target needs the aws extra: {INSTALL_HINT}")
    from deployer.plugins.aws_ecs.driver import AwsEcsDriver

    return AwsEcsDriver()


def parse_settings(raw: Mapping[str, Any], key_path: str) -> Any:
    """:func:`deployer.plugins.aws_ecs.settings.parse_settings`, imported on first use."""
    from deployer.plugins.aws_ecs.settings import parse_settings as parse

    return parse(raw, key_path)


def check_app(app: AppSpec, settings: Any) -> None:
    """:func:`deployer.plugins.aws_ecs.limits.check_app`, imported on first use."""
    from deployer.plugins.aws_ecs.limits import check_app as check

    check(app, settings)


@hookimpl
def deployer_register_targets(register):
    register(
        TargetInfo(
            name=NAME,
            description="AWS ECS Fargate behind an Application Load Balancer, applied by Pulumi",
            driver=make_driver,
            phases={
                "network": "VPC, public subnets in 2+ pinned AZs, internet gateway, routes, "
                "ALB and task security groups",
                "registry": "ECR repository + lifecycle policy; pushes the core-built image, referenced by digest",
                "ingress": "Application Load Balancer, ip target group with health check, "
                "HTTP (or HTTPS + redirect) listener",
                "compute": "ECS cluster, IAM roles, secrets, log group, task definition, "
                "Fargate service, optional CPU autoscaling",
            },
            parse_settings=parse_settings,
            runs=frozenset({"workers", "database", "release_command"}),
            check_app=check_app,
            available=available(),
            install_hint=INSTALL_HINT,
        )
    )


_MODULES = "deployer.plugins.aws_ecs."
phases = TargetPhases(
    NAME,
    network=phase_from(_MODULES + "network", "create"),
    registry=phase_from(_MODULES + "registry", "create"),
    ingress=phase_from(_MODULES + "ingress", "create"),
    compute=phase_from(_MODULES + "workers", "compute_phase"),
    services=phase_from(_MODULES + "database", "create"),
)
deployer_network = phases.deployer_network
deployer_services = phases.deployer_services
deployer_registry = phases.deployer_registry
deployer_ingress = phases.deployer_ingress
deployer_compute = phases.deployer_compute
