"""The Route 53 hosted zone a ``domain`` goes into, looked up before anything is built.

The program finds the zone with ``aws.route53.get_zone_output`` while Pulumi runs; a zone
that does not exist would only fail there, after the image build and push. The drivers'
``preflight`` calls :func:`require` first (``up`` and an online ``plan``), so a missing
zone is exit 2 naming the key, with nothing created.
"""

from __future__ import annotations

from typing import Any

from deployer.errors import ConfigError
from deployer.plugins.aws_ecs.settings import AwsSettings


def find(route53: Any, name: str) -> str | None:
    """The ID (``Z...``, without ``/hostedzone/``) of the public hosted zone named
    ``name`` in the account of the boto3 Route 53 client ``route53``; None when there is
    none. ``ListHostedZonesByName`` lists zones from ``name`` on in name order, so an
    exact match, if any, is on the first page
    (https://docs.aws.amazon.com/Route53/latest/APIReference/API_ListHostedZonesByName.html)."""
    wanted = name.rstrip(".").lower() + "."
    zones = route53.list_hosted_zones_by_name(DNSName=wanted)["HostedZones"]
    for zone in zones:
        if zone["Name"].lower() == wanted and not zone.get("Config", {}).get("PrivateZone"):
            return str(zone["Id"]).rsplit("/", 1)[-1]
    return None


def require(route53: Any, settings: AwsSettings, key: str) -> str | None:
    """The hosted zone ID for ``settings.domain`` (None without a domain); a
    :class:`ConfigError` naming ``<key>.hosted_zone`` (or ``<key>.domain`` when the zone
    is the domain's parent by default) when the account has no such public zone."""
    zone = settings.zone_name
    if zone is None:
        return None
    found = find(route53, zone)
    if found is not None:
        return found
    if settings.hosted_zone:
        raise ConfigError(
            f"{key}.hosted_zone",
            "is not a public Route 53 hosted zone of this AWS account: create it (and delegate the domain "
            "to its name servers) or name the zone that holds the domain",
            value=zone,
        )
    raise ConfigError(
        f"{key}.domain",
        f"goes into the public hosted zone {zone} by default, which this AWS account does not have: "
        "create it, or set hosted_zone to the zone that holds the domain",
        value=settings.domain,
    )
