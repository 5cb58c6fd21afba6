"""``domain``: a DNS-validated ACM certificate, Route 53 records and HTTPS on the ALB.

The graph comes from the offline plan (the real program under Pulumi mocks; the mocks
answer ``aws.route53.getZone``). Each test cites the AWS documentation of its rule.
"""

from __future__ import annotations

import pytest

from deployer.errors import ConfigError
from deployer.plugins.aws_ecs.settings import parse_settings
from tests.aws_ecs.conftest import ALB_CERT, Graph, make_ctx, offline_plan

CERT = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
RECORD = "aws:route53/record:Record"
ALB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


@pytest.fixture(scope="module")
def domain_plan() -> Graph:
    return Graph(offline_plan(make_ctx({"domain": "www.example.com"})))


def _records(graph: Graph, kind: str) -> list[dict]:
    return [r for r in graph.all(RECORD) if r["inputs"]["type"] == kind]


def test_certificate_is_requested_for_the_domain_with_dns_validation(domain_plan):
    """https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html"""
    cert = domain_plan.one(CERT)["inputs"]
    assert cert["domainName"] == "www.example.com"
    assert cert["validationMethod"] == "DNS"


def test_validation_record_goes_into_the_parent_zone_from_the_certificate(domain_plan):
    """ACM gives a CNAME per domain (``domain_validation_options``); it is created in the
    hosted zone, looked up by name (the domain's parent by default)."""
    cert = domain_plan.one(CERT)
    (record,) = _records(domain_plan, "CNAME")
    option = cert["outputs"]["domainValidationOptions"][0]
    assert record["inputs"]["name"] == option["resourceRecordName"]
    assert record["inputs"]["records"] == [option["resourceRecordValue"]]
    assert record["inputs"]["zoneId"] == "Z" + "example.com".upper().replace(".", "")[:12]
    assert domain_plan.depends(record, cert)


def test_validation_waits_for_the_record_and_the_listener_uses_the_validated_certificate(domain_plan):
    """``CertificateValidation`` waits until ACM issues the certificate; the HTTPS listener
    takes its ARN, so it is created only with an issued certificate.
    https://www.pulumi.com/registry/packages/aws/api-docs/acm/certificatevalidation/"""
    validation = domain_plan.one(VALIDATION)
    (record,) = _records(domain_plan, "CNAME")
    cert = domain_plan.one(CERT)
    assert validation["inputs"]["certificateArn"] == cert["outputs"]["arn"]
    assert validation["inputs"]["validationRecordFqdns"] == [record["outputs"]["fqdn"]]
    assert domain_plan.depends(validation, record)
    https = domain_plan.one(LISTENER, "web-https")
    assert https["inputs"]["port"] == 443 and https["inputs"]["protocol"] == "HTTPS"
    assert domain_plan.depends(https, validation)
    http = domain_plan.one(LISTENER, "web-http")
    assert http["inputs"]["defaultActions"][0]["redirect"]["protocol"] == "HTTPS"
    assert sorted(r["inputs"]["fromPort"] for r in domain_plan.all(INGRESS) if "cidrIpv4" in r["inputs"]) == [80, 443]
    assert sorted(r["inputs"]["fromPort"] for r in domain_plan.all(INGRESS) if "cidrIpv6" in r["inputs"]) == [80, 443]


def test_alias_a_and_aaaa_records_point_the_domain_at_the_dualstack_load_balancer(domain_plan):
    """Alias A and AAAA records to the ALB's DNS name and canonical hosted zone; AAAA
    because the load balancer is dualstack (the built-in VPC has IPv6).
    https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-to-elb-load-balancer.html"""
    balancer = domain_plan.one(ALB)
    assert balancer["inputs"]["ipAddressType"] == "dualstack"
    for kind in ("A", "AAAA"):
        (alias,) = _records(domain_plan, kind)
        assert alias["inputs"]["name"] == "www.example.com"
        assert alias["inputs"]["aliases"] == [
            {
                "name": balancer["outputs"]["dnsName"],
                "zoneId": balancer["outputs"]["zoneId"],
                "evaluateTargetHealth": True,
            }
        ]
        assert domain_plan.depends(alias, balancer)


def test_the_endpoint_is_the_domain_over_https(domain_plan):
    assert domain_plan.plan.outputs["endpoint"] == "https://www.example.com"


def test_a_given_certificate_is_used_for_the_domain_and_none_is_requested():
    """``domain`` with ``certificate_arn``: your certificate (a wildcard, say) on the
    listener, the alias record still created, no ACM request."""
    graph = Graph(offline_plan(make_ctx({"domain": "www.example.com", "certificate_arn": ALB_CERT})))
    assert graph.all(CERT) == [] and graph.all(VALIDATION) == []
    assert graph.one(LISTENER, "web-https")["inputs"]["certificateArn"] == ALB_CERT
    assert len(_records(graph, "A")) == len(_records(graph, "AAAA")) == 1
    assert graph.plan.outputs["endpoint"] == "https://www.example.com"


def test_an_explicit_hosted_zone_is_looked_up():
    graph = Graph(offline_plan(make_ctx({"domain": "api.eu.example.com", "hosted_zone": "example.com"})))
    (record,) = _records(graph, "A")
    assert record["inputs"]["zoneId"] == "Z" + "EXAMPLECOM"


def test_a_certificate_without_a_domain_keeps_the_load_balancer_name(plans):
    assert plans["tls"].plan.outputs["endpoint"].startswith("https://web-alb-")
    assert plans["tls"].all(RECORD) == []


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"domain": "example"}, "domain"),
        ({"domain": "-www.example.com"}, "domain"),
        ({"domain": "www.exa_mple.com"}, "domain"),
        ({"domain": "a" * 64 + ".example.com"}, "domain"),
        ({"domain": ("a" * 60 + ".") * 4 + "example.com"}, "domain"),
        ({"domain": "www.example.com", "hosted_zone": "example.org"}, "hosted_zone"),
        ({"hosted_zone": "example.com"}, "hosted_zone"),
    ],
)
def test_bad_domains_are_refused_naming_the_key(raw, key):
    with pytest.raises(ConfigError) as error:
        parse_settings(raw, "targets.aws-ecs")
    assert f"targets.aws-ecs.{key}" in str(error.value)


def test_a_domain_is_normalised():
    settings = parse_settings({"domain": "WWW.Example.com."}, "targets.aws-ecs")
    assert (settings.domain, settings.zone_name, settings.https) == ("www.example.com", "example.com", True)


@pytest.mark.parametrize(
    ("raw", "key", "said"),
    [
        ({"domain": "10.0.0.1"}, "domain", "is an IP address"),
        ({"domain": "a" * 53 + ".example.com"}, "domain", "is 65 characters: the ACM certificate deployer requests"),
        ({"certificate_arn": ALB_CERT, "region": "us-east-1"}, "certificate_arn", "in eu-west-1, but the stack is"),
    ],
)
def test_names_acm_or_a_load_balancer_would_refuse_are_refused_naming_the_key(raw, key, said):
    """AWS's own limits: ACM takes no IP address and a Common Name of at most 64
    characters; a load balancer uses certificates of its own region only."""
    with pytest.raises(ConfigError) as error:
        parse_settings(raw, "targets.aws-ecs")
    assert error.value.key == f"targets.aws-ecs.{key}" and said in error.value.message, error.value


def test_a_domain_of_64_characters_is_accepted_and_a_longer_one_with_a_certificate_of_ones_own():
    assert parse_settings({"domain": "a" * 52 + ".example.com"}, "targets.aws-ecs").domain == "a" * 52 + ".example.com"
    own = {"domain": "a" * 60 + ".example.com", "certificate_arn": ALB_CERT}  # a SAN may be 253 long
    assert parse_settings(own, "targets.aws-ecs").domain == own["domain"]


def test_an_apex_domains_hosted_zone_is_the_domain_itself():
    """The default zone is the domain's parent, but never a top-level domain."""
    assert parse_settings({"domain": "example.com"}, "targets.aws-ecs").zone_name == "example.com"
    assert parse_settings({"domain": "www.example.com"}, "targets.aws-ecs").zone_name == "example.com"
