"""The contract suite for the aws-ecs target, run through its emulated driver.

No AWS account, no Pulumi CLI: the real aws-ecs program runs under Pulumi mocks and its
resources are applied to moto (:mod:`.emulated_driver`), so status, health and logs
run the production code against an AWS emulator. Plugin authors who replace or wrap a
phase of aws-ecs subclass it with their plugin::

    from deployer.testing.aws_ecs import AwsEcsContract

    class TestMyVpc(AwsEcsContract):
        plugins = [("byo-vpc", my_plugin)]

Needs ``deployer[aws,testing]``; moto is imported with this
module.
Override :meth:`environment` (call ``super()``) to create what your plugin expects to
find in the emulator (an existing VPC, say) before the run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import boto3
import pytest
from moto import mock_aws

from deployer.models import PhaseContext
from deployer.testing.aws_ecs.emulated_driver import EmulatedDriver
from deployer.testing.aws_ecs.emulated_state import load
from deployer.testing.contract import TargetContract
from deployer.testing.recorder import HookRecorder

TARGET = "aws-ecs"


class AwsEcsContract(TargetContract):
    """:class:`TargetContract` for aws-ecs with the emulated driver, inside ``moto.mock_aws``
    (active for the whole class run), with fake credentials and ``region``."""

    target: ClassVar[str] = TARGET
    offline: ClassVar[bool] = True
    region: ClassVar[str] = "us-east-1"
    serves_http: ClassVar[bool] = False
    no_http_reason: ClassVar[str] = (
        "the emulated AWS (moto) runs no task and its load balancer DNS name answers nothing: "
        "run the HTTP checks against a real account"
    )

    @contextlib.contextmanager
    def environment(self) -> Iterator[None]:
        """Fake credentials and ``region`` in the environment, AWS's managed IAM policies
        loaded, and moto's in-process emulator active for the whole run."""
        with pytest.MonkeyPatch.context() as patch:
            for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
                patch.delenv(name, raising=False)
            for name, value in {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
            }.items():
                patch.setenv(name, value)
            with mock_aws():
                yield

    def target_settings(self) -> Mapping[str, Any]:
        """The kit's database is thrown away with its stack: no final snapshot, which
        would outlive the stack and be listed by :meth:`leftovers` (the default keeps one)."""
        return {"database": {"final_snapshot": False}}

    def make_plugin_manager(self, recorder: HookRecorder) -> Any:
        """The usual plugin manager, with the emulated driver for aws-ecs."""
        pm = super().make_plugin_manager(recorder)
        pm.use_driver(TARGET, EmulatedDriver)
        return pm

    def leftovers(self, ctx: PhaseContext) -> list[str]:
        """Live emulator objects tagged for the app and stack, and the state file."""
        return EmulatedDriver().leftovers(ctx)

    def remove_one_replica(self, ctx: PhaseContext) -> None:
        """Deregister one of the service's targets from its target group in the emulator
        (as a task that stopped would leave it), behind the driver's back."""
        elbv2 = boto3.client("elbv2", region_name=self.region)
        group = load(ctx).outputs["target_group_arn"]
        targets = elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
        elbv2.deregister_targets(TargetGroupArn=group, Targets=[targets[0]["Target"]])
