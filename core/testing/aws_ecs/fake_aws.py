"""The environment of every emulated AWS run: fake credentials and a region, so boto3
never looks for real ones, and moto without its default AMIs."""

from __future__ import annotations

import pytest


def fake_aws_environment(patch: pytest.MonkeyPatch, region: str = "us-east-1") -> None:
    """Through ``patch``: no profile or session token from the real environment, fake
    credentials, ``region`` as ``AWS_REGION`` and ``AWS_DEFAULT_REGION``, and no default
    AMIs in moto's EC2 (Fargate uses none, and moto makes thousands at every reset)."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        patch.delenv(name, raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
    }.items():
        patch.setenv(name, value)
