"""What the AWS rules need besides a resource's own inputs, read from the emulator.

:func:`rules_context` builds the :class:`.aws_rules.Context` the emulated driver checks
each resource with: lookups into moto (a subnet's AZ and IPv6 block, a VPC's IPv6 block,
a hosted zone's name, a load balancer's canonical hosted zone, an ACM certificate,
whether a DNS record is published) and what the stack has applied so far (its task
definitions). Each lookup answers None (or False) for an object moto does not have.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from deployer.testing.aws_ecs import aws_rules
from deployer.testing.aws_ecs.moto_appliers import Aws, gone


def rules_context(aws: Aws, image_architecture: str | None, live: Mapping[Any, Mapping[str, Any]]) -> aws_rules.Context:
    """The rules' context over the emulator behind ``aws``; ``live`` is the stack's
    applied resources (their task definitions by ARN)."""
    tasks = {
        entry["real"]["arn"]: entry["inputs"]
        for entry in live.values()
        if entry["type"] == "aws:ecs/taskDefinition:TaskDefinition" and entry.get("real")
    }
    return aws_rules.Context(
        subnet_zone=lambda subnet: found(lambda: _subnet(aws, subnet)["AvailabilityZone"]),
        image_architecture=image_architecture,
        task_definitions=tasks,
        zone_name=lambda zone_id: found(lambda: aws.route53.get_hosted_zone(Id=zone_id)["HostedZone"]["Name"]),
        balancer_zone=lambda dns_name: balancer_zone(aws, dns_name),
        certificate=lambda arn: found(lambda: aws.acm.describe_certificate(CertificateArn=arn)["Certificate"]),
        published=lambda name, kind, value: published(aws, name, kind, value),
        subnet_ipv6=lambda subnet: found(lambda: _ipv6(_subnet(aws, subnet))),
        vpc_ipv6=lambda vpc: found(lambda: _ipv6(aws.ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0])),
    )


def found(read: Callable[[], Any]) -> Any:
    """``read()``, or None when the emulator says the object does not exist."""
    try:
        return read()
    except Exception as exc:  # botocore ClientError (NoSuchHostedZone, InvalidSubnetID.NotFound...)
        if gone(exc):
            return None
        raise


def balancer_zone(aws: Aws, dns_name: str) -> str | None:
    """The canonical hosted zone ID of the load balancer named ``dns_name`` in DNS."""
    for balancer in aws.elbv2.describe_load_balancers()["LoadBalancers"]:
        if balancer["DNSName"].lower() == dns_name.lower():
            return str(balancer["CanonicalHostedZoneId"])
    return None


def published(aws: Aws, name: str, kind: str, value: str) -> bool:
    """Whether a public hosted zone of the emulator answers ``name`` ``kind`` with ``value``."""
    wanted = name.rstrip(".").lower() + "."
    for zone in aws.route53.list_hosted_zones()["HostedZones"]:
        if zone.get("Config", {}).get("PrivateZone") or not ("." + wanted).endswith("." + zone["Name"].lower()):
            continue
        for page in aws.route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone["Id"]):
            for record in page["ResourceRecordSets"]:
                values = {r["Value"].rstrip(".").lower() for r in record.get("ResourceRecords", [])}
                if record["Name"].lower() == wanted and record["Type"] == kind and value.rstrip(".").lower() in values:
                    return True
    return False


def _subnet(aws: Aws, subnet: str) -> dict:
    return dict(aws.ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0])


def _ipv6(described: Mapping[str, Any]) -> str | None:
    """The first IPv6 block of a described subnet or VPC, None without one."""
    blocks = [b["Ipv6CidrBlock"] for b in described.get("Ipv6CidrBlockAssociationSet", [])]
    return blocks[0] if blocks else None
