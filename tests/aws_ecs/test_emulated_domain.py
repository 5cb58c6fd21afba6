"""``domain`` end to end on the emulator: the ACM certificate, its DNS validation, the
Route 53 records (A and AAAA aliases to the dualstack load balancer) and the HTTPS
listener applied to moto, in a hosted zone the test creates first (as a user's zone
exists before they deploy), then removed by ``down``. The dualstack network itself is
checked in test_emulated_dualstack.py."""

from __future__ import annotations

import pytest
from attrs import evolve

from deployer.errors import ConfigError, DeployFailed
from deployer.lifecycle import phase_runner
from deployer.testing.aws_ecs.emulated_driver import EmulatedDriver, apply_order

from .conftest import make_ctx
from .test_emulated import app, moto, pm  # noqa: F401  (module fixtures)


def _zone(moto, name: str) -> str:  # noqa: F811
    return moto.client("route53").create_hosted_zone(Name=name, CallerReference=name)["HostedZone"]["Id"]


def _records(moto, zone: str) -> dict[tuple[str, str], dict]:  # noqa: F811
    found = moto.client("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    return {(r["Name"], r["Type"]): r for r in found if r["Type"] not in ("NS", "SOA")}


def test_up_serves_the_domain_over_https_and_down_removes_records_and_certificate(moto, app, pm, tmp_path):  # noqa: F811
    zone = _zone(moto, f"{app}.example.com")
    domain = f"www.{app}.example.com"
    ctx = make_ctx({"domain": domain}, mode="up", project_dir=tmp_path, name=app)
    driver = EmulatedDriver()
    driver.preflight(ctx)
    deployment = driver.up(ctx, phase_runner(pm))

    assert deployment.endpoint == f"https://{domain}"
    acm, elbv2 = moto.client("acm"), moto.client("elbv2")
    (balancer,) = elbv2.describe_load_balancers(LoadBalancerArns=[deployment.outputs["load_balancer_arn"]])[
        "LoadBalancers"
    ]
    (certificate,) = [c for c in acm.list_certificates()["CertificateSummaryList"] if c["DomainName"] == domain]
    described = acm.describe_certificate(CertificateArn=certificate["CertificateArn"])["Certificate"]
    assert described["Status"] == "ISSUED"
    validation = described["DomainValidationOptions"][0]["ResourceRecord"]
    records = _records(moto, zone)
    assert records[(validation["Name"], "CNAME")]["ResourceRecords"] == [{"Value": validation["Value"]}]
    for kind in ("A", "AAAA"):  # the load balancer is dualstack: both families answer
        alias = records[(f"{domain}.", kind)]["AliasTarget"]
        assert (alias["DNSName"], alias["HostedZoneId"]) == (balancer["DNSName"], balancer["CanonicalHostedZoneId"])
    assert balancer["IpAddressType"] == "dualstack"
    listeners = {
        item["Port"]: item
        for item in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    }
    assert listeners[443]["Protocol"] == "HTTPS"
    assert listeners[443]["Certificates"] == [{"CertificateArn": certificate["CertificateArn"]}]
    (redirect,) = listeners[80]["DefaultActions"]
    assert (redirect["Type"], redirect["RedirectConfig"]["Protocol"], redirect["RedirectConfig"]["Port"]) == (
        "redirect",
        "HTTPS",
        "443",
    )

    again = driver.plan(evolve(ctx, mode="plan"), phase_runner(pm))
    assert {c.action for c in again.changes} == {"unchanged"}  # the zone, records and certificate are stable

    driver.down(ctx)
    assert _records(moto, zone) == {}
    assert domain not in {c["DomainName"] for c in acm.list_certificates()["CertificateSummaryList"]}
    assert driver.leftovers(ctx) == []


def test_a_missing_hosted_zone_is_refused_before_anything_is_created(moto, app, pm, tmp_path):  # noqa: F811
    """Missing means no *public* zone of that name: a private one answers only inside
    its VPC, where ACM's validation and the internet's clients are not."""
    vpc = moto.client("ec2").create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    moto.client("route53").create_hosted_zone(
        Name=f"{app}.example.org",
        CallerReference=f"{app}-private",
        HostedZoneConfig={"PrivateZone": True, "Comment": "private"},
        VPC={"VPCRegion": "us-east-1", "VPCId": vpc},
    )
    ctx = make_ctx({"domain": f"www.{app}.example.org"}, mode="up", project_dir=tmp_path, name=app)
    with pytest.raises(ConfigError) as error:
        EmulatedDriver().preflight(ctx)
    assert error.value.exit_code == 2
    assert str(error.value).startswith("targets.aws-ecs.domain: goes into the public hosted zone")
    assert f"{app}.example.org" in str(error.value)
    named = make_ctx(
        {"domain": f"www.{app}.example.org", "hosted_zone": "example.org"}, mode="plan", project_dir=tmp_path, name=app
    )
    with pytest.raises(ConfigError, match=r"^targets\.aws-ecs\.hosted_zone: is not a public Route 53 hosted zone"):
        EmulatedDriver().preflight(named)
    assert not (tmp_path / ".deployer").exists()


def test_without_the_preflight_the_zone_lookup_fails_as_the_providers_does(moto, app, pm, tmp_path):  # noqa: F811
    ctx = make_ctx({"domain": f"www.{app}.example.net"}, mode="up", project_dir=tmp_path, name=app)
    with pytest.raises(DeployFailed, match=f"no matching Route 53 Hosted Zone found.*{app}.example.net"):
        EmulatedDriver().up(ctx, phase_runner(pm))
    assert not moto.client("ec2").describe_vpcs(Filters=[{"Name": "tag:deployer-app", "Values": [app]}])["Vpcs"]


def _resource(name: str, type_token: str = "aws:x/y:Y", *depends_on: str) -> dict:
    return {"urn": name, "name": name, "type": type_token, "depends_on": list(depends_on)}


def test_a_waiting_create_is_applied_just_before_its_first_dependent_or_last():
    """Pulumi starts a listener that does not depend on the certificate validation while
    ACM is still validating: the emulator applies the validation as late as it can, so
    such a listener meets a PENDING_VALIDATION certificate (and is refused) as in AWS."""
    validation = _resource("issued", "aws:acm/certificateValidation:CertificateValidation", "record")
    recorded = [_resource("cert"), _resource("record", "aws:x/y:Y", "cert"), validation, _resource("balancer")]
    waits = [*recorded, _resource("https", "aws:x/y:Y", "issued", "balancer"), _resource("alias", "aws:x/y:Y")]
    assert [r["name"] for r in apply_order(waits)] == ["cert", "record", "balancer", "issued", "https", "alias"]
    races = [*recorded, _resource("https", "aws:x/y:Y", "cert", "balancer")]
    assert [r["name"] for r in apply_order(races)] == ["cert", "record", "balancer", "https", "issued"]
