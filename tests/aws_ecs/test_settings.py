"""``[targets.aws-ecs]``: defaults, limits, unknown keys, each error naming its key path."""

from __future__ import annotations

import pytest

from deployer.errors import ConfigError
from deployer.plugins.aws_ecs.settings import AwsSettings, parse_settings

KEY = "targets.aws-ecs"


def test_defaults_are_secure_and_cheap():
    settings = parse_settings({}, KEY)
    assert settings == AwsSettings()
    assert (settings.az_count, settings.nat, settings.https) == (2, False, False)
    assert settings.deregistration_delay <= 60 and settings.log_retention_days == 30


def test_every_key_is_read():
    raw = {
        "region": "eu-west-1",
        "az_count": 3,
        "vpc_cidr": "10.20.0.0/16",
        "certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc-123",
        "nat": True,
        "nat_per_az": True,
        "log_retention_days": 90,
        "keep_images": 5,
        "force_delete_repository": False,
        "deregistration_delay": 10,
        "health_check_grace_period": 30,
        "autoscaling_cpu_target": 70,
        "architecture": "ARM64",
        "deploy_timeout": 600,
        "backend_url": "s3://bucket/state",
    }
    settings = parse_settings(raw, KEY)
    assert {name: getattr(settings, name) for name in raw} == raw and settings.https


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"az_count": 1}, "az_count"),
        ({"log_retention_days": 31}, "log_retention_days"),
        ({"vpc_cidr": "10.0.0.0/8"}, "vpc_cidr"),
        ({"vpc_cidr": "not-a-cidr"}, "vpc_cidr"),
        ({"region": "Europe"}, "region"),
        ({"certificate_arn": "arn:aws:iam::123456789012:role/x"}, "certificate_arn"),
        ({"nat": "yes"}, "nat"),
        ({"nat_per_az": True}, "nat_per_az"),
        ({"nat": True, "nat_per_az": 1}, "nat_per_az"),
        ({"architecture": "arm"}, "architecture"),
        ({"regoin": "eu-west-1"}, "regoin"),
    ],
)
def test_bad_values_name_the_key(raw, key):
    with pytest.raises(ConfigError) as error:
        parse_settings(raw, KEY)
    assert error.value.key == f"{KEY}.{key}"


def test_every_key_is_documented():
    """Docs cannot drift: each settings field has a row in docs/targets/aws-ecs.md."""
    from pathlib import Path

    import attrs

    doc = (Path(__file__).parents[2] / "docs" / "targets" / "aws-ecs.md").read_text()
    assert [f.name for f in attrs.fields(AwsSettings) if f"| `{f.name}` |" not in doc] == []


@pytest.mark.parametrize("cidr", ["224.0.0.0/16", "8.8.0.0/16", "172.32.0.0/16", "192.169.0.0/16"])
def test_vpc_cidr_outside_rfc1918_is_refused(cidr):
    """AWS recommends private (RFC 1918) space for a VPC:
    https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html"""
    with pytest.raises(ConfigError, match="RFC 1918") as error:
        parse_settings({"vpc_cidr": cidr}, KEY)
    assert error.value.key == f"{KEY}.vpc_cidr" and error.value.exit_code == 2


@pytest.mark.parametrize("cidr", ["10.20.0.0/16", "172.31.0.0/16", "192.168.0.0/20"])
def test_vpc_cidr_inside_rfc1918_is_accepted(cidr):
    assert parse_settings({"vpc_cidr": cidr}, KEY).vpc_cidr == cidr


@pytest.mark.parametrize(
    ("region", "meant"), [("eu-wset-1", "eu-west-1"), ("us-east-9", "us-east-1"), ("eu-west-12", "eu-west-1")]
)
def test_an_unknown_region_is_refused_with_close_matches(region, meant):
    """Regions come from botocore's endpoint data, not a hand-kept list; a typo is named
    with what it was probably meant to be, in one short line."""
    with pytest.raises(ConfigError) as error:
        parse_settings({"region": region}, KEY)
    assert error.value.key == f"{KEY}.region"
    assert "did you mean" in str(error.value) and meant in str(error.value)
    assert len(str(error.value)) < 160, str(error.value)


def test_an_unknown_region_like_none_is_refused_with_every_known_one(monkeypatch):
    from deployer.plugins.aws_ecs import settings

    monkeypatch.setattr(settings, "known_regions", lambda: frozenset({"eu-west-1", "us-east-1"}))
    with pytest.raises(ConfigError) as error:
        parse_settings({"region": "ap-south-7"}, KEY)
    assert "one of eu-west-1, us-east-1" in str(error.value)


def test_every_partitions_regions_are_known():
    from deployer.plugins.aws_ecs.settings import known_regions

    regions = known_regions()
    assert {"us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"} <= regions
    for region in ("cn-north-1", "us-gov-west-1", "ap-southeast-2"):
        assert parse_settings({"region": region}, KEY).region == region


@pytest.mark.parametrize(
    "region,name,dns",
    [
        ("eu-west-1", "aws", "amazonaws.com"),
        ("cn-northwest-1", "aws-cn", "amazonaws.com.cn"),
        ("us-gov-east-1", "aws-us-gov", "amazonaws.com"),
    ],
)
def test_a_regions_partition_comes_from_botocores_endpoint_data(region, name, dns):
    from deployer.plugins.aws_ecs.settings import Partition, partition

    assert partition(region) == Partition(name, dns)


def test_region_data_is_read_only_when_region_is_set(monkeypatch):
    """Parsing settings without ``region`` never reads botocore's endpoint data (every
    target run parses them)."""
    from deployer.plugins.aws_ecs import settings

    def read():
        raise AssertionError("botocore's endpoint data was read")

    monkeypatch.setattr(settings, "_endpoints", read)
    settings.known_regions.cache_clear()  # read again, through the reader above
    assert parse_settings({"az_count": 3}, KEY).region is None
    with pytest.raises(AssertionError, match="endpoint data was read"):
        parse_settings({"region": "eu-west-3"}, KEY)


@pytest.mark.parametrize(
    "url",
    ["s3://", "s3://Bucket/state", "s3://ab", "s3://my..bucket", "s3://-bucket", "s3://192.168.5.4", "s3://x-s3alias"],
)
def test_an_s3_backend_must_name_a_valid_bucket(url):
    with pytest.raises(ConfigError, match="S3 bucket") as error:
        parse_settings({"backend_url": url}, KEY)
    assert error.value.key == f"{KEY}.backend_url"


@pytest.mark.parametrize("url", ["s3://my-team-state", "s3://my.team.state/deployer?region=eu-west-1", "file:///tmp/x"])
def test_valid_backend_urls_are_accepted(url):
    assert parse_settings({"backend_url": url}, KEY).backend_url == url


def test_region_cidr_and_backend_errors_are_named_together():
    with pytest.raises(ConfigError) as error:
        parse_settings({"region": "eu-wset-1", "vpc_cidr": "224.0.0.0/16", "backend_url": "s3://A"}, KEY)
    keys = {e.key for e in getattr(error.value, "errors", (error.value,))}
    assert keys == {f"{KEY}.region", f"{KEY}.vpc_cidr", f"{KEY}.backend_url"}
    assert error.value.exit_code == 2
