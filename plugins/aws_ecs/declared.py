"""Resources declared by their type token, without importing the SDK package that has them.

A generated Pulumi package imports every one of its modules when it is first used:
``pulumi_aws.ec2`` (183 modules, ~0.25 s) for the nine network resources,
``pulumi_docker`` (about 20 modules, ~80 ms) for the three docker resources of the
registry phase, ``pulumi_aws.cloudwatch`` (48 modules, ~90 ms) for the one log group of
the compute phase, ``pulumi_aws.vpc`` (15 modules, ~15 ms) for the security group rules.
The classes here register exactly what the generated classes register (type token,
inputs under their wire names, the output properties read back, the provider plugin
version) and nothing else, so the engine cannot tell them apart: a real ``up`` behaves
the same. ``tests/aws_ecs/test_declared.py`` checks every field of the RegisterResource
request against ``pulumi_aws``'s and ``pulumi_docker``'s own classes, and that each class
here has its generated class's outputs.

Only ``sourcePosition`` and ``stackTrace`` (where the resource was declared, for display)
may differ: for the docker provider they point here instead of into ``pulumi_docker``.

These are the aws-ecs target's own start-up optimisation; a plugin declaring its own
resources should use the generated classes, which also check keyword names and types.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
from pathlib import Path
from typing import Any, ClassVar

import pulumi


@functools.cache
def plugin_version(package: str) -> str:
    """The provider plugin version an installed Pulumi package pins its resources to,
    read from its ``pulumi-plugin.json`` without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"the Pulumi package {package} is not installed", name=package)
    return json.loads((Path(spec.origin).parent / "pulumi-plugin.json").read_text())["version"]


def wire_name(name: str) -> str:
    """The engine's name for the Python name of a property: ``vpc_id`` is ``vpcId``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _options(package: str, opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    """``opts`` over the defaults the package's generated classes apply (its version)."""
    return pulumi.ResourceOptions.merge(pulumi.ResourceOptions(version=plugin_version(package)), opts)


class Declared(pulumi.CustomResource):
    """A resource of type ``TOKEN`` from the provider package ``PACKAGE``.

    Inputs are keyword arguments under their Python names (``vpc_id=...``), sent under
    their wire names (``vpcId``); ``OUTPUTS`` are the properties the provider computes.
    The given inputs and the outputs can be read under either name (``sg.tags_all``, as
    on the generated class, or ``sg.tagsAll``). Keyword names are not checked here: the
    test runs every call with the generated class too, which rejects unknown ones."""

    TOKEN: ClassVar[str]
    PACKAGE: ClassVar[str] = "pulumi_aws"
    OUTPUTS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, resource_name: str, opts: pulumi.ResourceOptions | None = None, **inputs: Any):
        props = dict.fromkeys(map(wire_name, self.OUTPUTS))
        props.update((wire_name(name), value) for name, value in inputs.items())
        super().__init__(self.TOKEN, resource_name, props, _options(self.PACKAGE, opts))

    def __getattr__(self, name: str) -> Any:
        """A property under its Python name (only called when plain lookup fails)."""
        wire = wire_name(name)
        if not name.startswith("_") and wire != name and wire in vars(self):
            return vars(self)[wire]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


class DockerProvider(pulumi.ProviderResource):
    """``pulumi_docker.Provider(name, registry_auth=...)``: a docker provider that logs in
    to registries (the host comes from ``DOCKER_HOST``, as the generated class does)."""

    def __init__(
        self, resource_name: str, *, registry_auth: pulumi.Input[list], opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__(
            "docker",
            resource_name,
            {
                "registryAuth": pulumi.Output.from_input(registry_auth).apply(pulumi.runtime.to_json),
                "host": os.environ.get("DOCKER_HOST"),
            },
            _options("pulumi_docker", opts),
        )


class DockerTag(Declared):
    """``pulumi_docker.Tag``: tags a local image (``docker tag``)."""

    TOKEN, PACKAGE, OUTPUTS = "docker:index/tag:Tag", "pulumi_docker", ("source_image_id",)


class DockerRegistryImage(Declared):
    """``pulumi_docker.RegistryImage``: pushes a local image to its registry (``docker push``)."""

    TOKEN, PACKAGE = "docker:index/registryImage:RegistryImage", "pulumi_docker"
    OUTPUTS = ("sha256_digest",)


class LogGroup(Declared):
    """``pulumi_aws.cloudwatch.LogGroup``."""

    TOKEN, OUTPUTS = "aws:cloudwatch/logGroup:LogGroup", ("arn", "tags_all")


_TAGGED = ("arn", "owner_id", "tags_all")
"""The outputs most EC2 resources have."""


class Vpc(Declared):
    """``pulumi_aws.ec2.Vpc``."""

    TOKEN = "aws:ec2/vpc:Vpc"
    OUTPUTS = (
        *_TAGGED,
        "default_network_acl_id",
        "default_route_table_id",
        "default_security_group_id",
        "dhcp_options_id",
        "ipv6_association_id",
        "main_route_table_id",
    )


class Subnet(Declared):
    """``pulumi_aws.ec2.Subnet``."""

    TOKEN, OUTPUTS = "aws:ec2/subnet:Subnet", (*_TAGGED, "ipv6_cidr_block_association_id")


class InternetGateway(Declared):
    """``pulumi_aws.ec2.InternetGateway``."""

    TOKEN, OUTPUTS = "aws:ec2/internetGateway:InternetGateway", _TAGGED


class RouteTable(Declared):
    """``pulumi_aws.ec2.RouteTable``."""

    TOKEN, OUTPUTS = "aws:ec2/routeTable:RouteTable", _TAGGED


class Route(Declared):
    """``pulumi_aws.ec2.Route``: one route of a route table."""

    TOKEN = "aws:ec2/route:Route"
    OUTPUTS = ("instance_id", "instance_owner_id", "origin", "state")


class RouteTableAssociation(Declared):
    """``pulumi_aws.ec2.RouteTableAssociation``."""

    TOKEN = "aws:ec2/routeTableAssociation:RouteTableAssociation"


class Eip(Declared):
    """``pulumi_aws.ec2.Eip``: an Elastic IP address."""

    TOKEN = "aws:ec2/eip:Eip"
    OUTPUTS = (
        "allocation_id",
        "arn",
        "association_id",
        "carrier_ip",
        "customer_owned_ip",
        "private_dns",
        "private_ip",
        "ptr_record",
        "public_dns",
        "public_ip",
        "tags_all",
    )


class NatGateway(Declared):
    """``pulumi_aws.ec2.NatGateway``."""

    TOKEN = "aws:ec2/natGateway:NatGateway"
    OUTPUTS = (
        "association_id",
        "auto_provision_zones",
        "auto_scaling_ips",
        "network_interface_id",
        "public_ip",
        "regional_nat_gateway_addresses",
        "regional_nat_gateway_auto_mode",
        "route_table_id",
        "tags_all",
    )


class SecurityGroup(Declared):
    """``pulumi_aws.ec2.SecurityGroup`` (its rules are separate resources, below)."""

    TOKEN, OUTPUTS = "aws:ec2/securityGroup:SecurityGroup", _TAGGED

    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        description: str = "Managed by Pulumi",
        **inputs: Any,
    ):
        super().__init__(resource_name, opts, description=description, **inputs)


_RULE = ("arn", "security_group_rule_id", "tags_all")


class SecurityGroupIngressRule(Declared):
    """``pulumi_aws.vpc.SecurityGroupIngressRule``: one inbound rule of a security group."""

    TOKEN, OUTPUTS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", _RULE


class SecurityGroupEgressRule(Declared):
    """``pulumi_aws.vpc.SecurityGroupEgressRule``: one outbound rule of a security group."""

    TOKEN, OUTPUTS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", _RULE
