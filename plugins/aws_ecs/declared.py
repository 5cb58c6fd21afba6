"""Resources declared by their type token, without importing the SDK package that has them.

A generated Pulumi package imports every one of its modules when it is first used:
``pulumi_docker`` (about 20 modules, ~80 ms) for the three docker resources of the
registry phase, ``pulumi_aws.cloudwatch`` (48 modules, ~90 ms) for the one log group of
the compute phase, ``pulumi_aws.vpc`` (15 modules, ~15 ms) for the security group rules
of the network phase. The classes here register exactly what the generated classes register
(type token, inputs under their wire names, the output properties read back, the provider
plugin version) and nothing else, so the engine cannot tell them apart: a real ``up``
behaves the same. ``tests/aws_ecs/test_declared.py`` checks every field of the
RegisterResource request against ``pulumi_docker``'s and ``pulumi_aws``'s own classes.

Only ``sourcePosition`` and ``stackTrace`` (where the resource was declared, for display)
may differ: for the docker provider they point here instead of into ``pulumi_docker``.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
from pathlib import Path

import pulumi


@functools.cache
def plugin_version(package: str) -> str:
    """The provider plugin version an installed Pulumi package pins its resources to,
    read from its ``pulumi-plugin.json`` without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"the Pulumi package {package} is not installed", name=package)
    return json.loads((Path(spec.origin).parent / "pulumi-plugin.json").read_text())["version"]


def _options(package: str, opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    """``opts`` over the defaults the package's generated classes apply (its version)."""
    return pulumi.ResourceOptions.merge(pulumi.ResourceOptions(version=plugin_version(package)), opts)


class DockerProvider(pulumi.ProviderResource):
    """``pulumi_docker.Provider(name, registry_auth=...)``: a docker provider that logs in
    to registries (the host comes from ``DOCKER_HOST``, as the generated class does)."""

    def __init__(self, resource_name: str, *, registry_auth: pulumi.Input[list],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("docker", resource_name, {
            "registryAuth": pulumi.Output.from_input(registry_auth).apply(pulumi.runtime.to_json),
            "host": os.environ.get("DOCKER_HOST"),
        }, _options("pulumi_docker", opts))


class DockerTag(pulumi.CustomResource):
    """``pulumi_docker.Tag``: tags a local image (``docker tag``)."""

    def __init__(self, resource_name: str, *, source_image: pulumi.Input[str],
                 target_image: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None):
        super().__init__("docker:index/tag:Tag", resource_name, {
            "sourceImage": source_image,
            "targetImage": target_image,
            "sourceImageId": None,
        }, _options("pulumi_docker", opts))

    @property
    def target_image(self) -> pulumi.Output[str]:
        """The new tag, ``<repository>:<tag>``."""
        return self.targetImage


class DockerRegistryImage(pulumi.CustomResource):
    """``pulumi_docker.RegistryImage``: pushes a local image to its registry (``docker push``)."""

    def __init__(self, resource_name: str, *, name: pulumi.Input[str], keep_remotely: bool,
                 triggers: pulumi.Input[dict], opts: pulumi.ResourceOptions | None = None):
        super().__init__("docker:index/registryImage:RegistryImage", resource_name, {
            "name": name,
            "keepRemotely": keep_remotely,
            "triggers": triggers,
            "sha256Digest": None,
        }, _options("pulumi_docker", opts))

    @property
    def sha256_digest(self) -> pulumi.Output[str]:
        """The digest of the pushed image, ``sha256:...``."""
        return self.sha256Digest


class LogGroup(pulumi.CustomResource):
    """``pulumi_aws.cloudwatch.LogGroup(name=..., retention_in_days=...)``."""

    def __init__(self, resource_name: str, *, name: pulumi.Input[str],
                 retention_in_days: pulumi.Input[int], opts: pulumi.ResourceOptions | None = None):
        super().__init__("aws:cloudwatch/logGroup:LogGroup", resource_name, {
            "name": name,
            "retentionInDays": retention_in_days,
            "arn": None,
            "tagsAll": None,
        }, _options("pulumi_aws", opts))


class _SecurityGroupRule(pulumi.CustomResource):
    """The inputs both ``pulumi_aws.vpc`` security group rule classes share."""

    _TOKEN: str

    def __init__(self, resource_name: str, *, security_group_id: pulumi.Input[str],
                 ip_protocol: str, from_port: int, to_port: int, description: str,
                 cidr_ipv4: str | None = None,
                 referenced_security_group_id: pulumi.Input[str] | None = None,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(self._TOKEN, resource_name, {
            "securityGroupId": security_group_id,
            "ipProtocol": ip_protocol,
            "fromPort": from_port,
            "toPort": to_port,
            "cidrIpv4": cidr_ipv4,
            "referencedSecurityGroupId": referenced_security_group_id,
            "description": description,
            "arn": None,
            "securityGroupRuleId": None,
            "tagsAll": None,
        }, _options("pulumi_aws", opts))


class SecurityGroupIngressRule(_SecurityGroupRule):
    """``pulumi_aws.vpc.SecurityGroupIngressRule``: one inbound rule of a security group."""

    _TOKEN = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


class SecurityGroupEgressRule(_SecurityGroupRule):
    """``pulumi_aws.vpc.SecurityGroupEgressRule``: one outbound rule of a security group."""

    _TOKEN = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
