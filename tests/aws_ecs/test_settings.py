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
