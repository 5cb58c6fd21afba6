"""The real aws-ecs driver's release bookkeeping around `pulumi up`, with a fake stack
(no Pulumi CLI here) and moto behind boto3: a failed update tags the revision it
registered `failed`, and the releases listing says so."""

from __future__ import annotations

import boto3
import pytest
from pulumi.automation import CommandResult
from pulumi.automation.errors import CommandError

from deployer.errors import DeployFailed
from deployer.plugins.aws_ecs import releases as aws_releases
from deployer.plugins.aws_ecs.driver import AwsEcsDriver

from .conftest import make_ctx


class FailingUpStack:
    """A stack whose `pulumi up` fails after the engine registered the task definition
    (the service update is what failed), and whose outputs are unreadable."""

    def __init__(self, register):
        self.register = register

    def refresh(self, **kwargs):
        pass

    def up(self, **kwargs):
        self.register()
        raise CommandError(CommandResult(stdout="", stderr="error: the service did not stabilize", code=255))

    def outputs(self):
        raise CommandError(CommandResult(stdout="", stderr="error: no outputs", code=255))


@pytest.fixture
def ecs(aws_env):
    from moto import mock_aws

    with mock_aws():
        yield boto3.Session(region_name="us-east-1")


def test_a_failed_pulumi_up_tags_its_revision_failed(ecs, monkeypatch, tmp_path):
    ctx = make_ctx(mode="up", project_dir=tmp_path)
    client = ecs.client("ecs")
    container = [{"name": "web", "image": "repo@sha256:" + "1" * 64, "memory": 512}]

    def register():
        client.register_task_definition(family=aws_releases.family(ctx), containerDefinitions=container)

    driver = AwsEcsDriver()
    monkeypatch.setattr(driver, "_stack", lambda *a, **k: (FailingUpStack(register), ecs))
    with pytest.raises(DeployFailed, match="pulumi up failed"):
        driver.up(ctx, lambda _ctx: None)
    (listed,) = aws_releases.listing(client, ecs.client("ecr"), ctx, {})
    assert (listed.status, listed.current, "@" in listed.by) == ("failed", False, True)
