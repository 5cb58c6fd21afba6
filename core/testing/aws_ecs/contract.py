"""The contract suite for the aws-ecs target, run through its emulated driver.

No AWS account, no Pulumi CLI: the real aws-ecs program runs under Pulumi mocks and its
resources are applied to moto (:mod:`.emulated_driver`), so status, health and logs
run the production code against an AWS emulator. The emulator serves
(:mod:`.emulated_serving`): the service tasks run as containers on the local Docker
engine behind a stand-in for the ALB on loopback, so the kit's HTTP checks run too. Plugin authors who replace or wrap a
phase of aws-ecs subclass it with their plugin::

    from deployer.testing.aws_ecs import AwsEcsContract

    class TestMyVpc(AwsEcsContract):
        plugins = [("byo-vpc", my_plugin)]

Needs ``deployer[aws,testing]`` and a Docker engine; moto is imported with this
module.
Override :meth:`environment` (call ``super()``) to create what your plugin expects to
find in the emulator (an existing VPC, say) before the run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import pytest
from moto import mock_aws

from deployer.models import PhaseContext
from deployer.testing.aws_ecs.emulated_driver import EmulatedDriver
from deployer.testing.aws_ecs.emulated_serving import Serving, active, serving
from deployer.testing.aws_ecs.emulated_state import load
from deployer.testing.aws_ecs.fake_aws import fake_aws_environment
from deployer.testing.aws_ecs.moto_appliers import Aws
from deployer.testing.aws_ecs.moto_appliers import session as boto3_session
from deployer.testing.contract import ContractRun, TargetContract
from deployer.testing.recorder import HookRecorder

TARGET = "aws-ecs"


class AwsEcsContract(TargetContract):
    """:class:`TargetContract` for aws-ecs with the emulated driver, inside ``moto.mock_aws``
    (active for the whole class run), with fake credentials and ``region``."""

    target: ClassVar[str] = TARGET
    offline: ClassVar[bool] = True
    region: ClassVar[str] = "us-east-1"
    serve_timeout: ClassVar[float] = 60
    settle_timeout: ClassVar[float] = 10

    @contextlib.contextmanager
    def environment(self) -> Iterator[None]:
        """Fake credentials and ``region`` in the environment, moto's in-process emulator
        active for the whole run (it gets an AWS managed IAM policy when the program
        attaches one, :mod:`.moto_appliers`), and the emulator
        serving (:func:`.emulated_serving.serving`): service tasks run as containers on
        the local Docker engine behind the emulated ALB, which answers on loopback."""
        with pytest.MonkeyPatch.context() as patch:
            fake_aws_environment(patch, self.region)
            with mock_aws(), serving():
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

    def run_in_replica(self, run: ContractRun, command: Sequence[str], replica: int = 1) -> int:
        """In the service's ``replica``-th task container, as ECS Exec would (the emulator
        has no Session Manager channel for ``deployer exec``)."""
        scheduler, aws = self._scheduler(run.context())
        code, output = scheduler.run_in_task(aws, list(command), replica)
        print(output, end="")
        return code

    def remove_one_replica(self, ctx: PhaseContext) -> None:
        """Stop one of the service's tasks behind the driver's back, as a task that crashed
        ends in ECS: its container removed, its target deregistered, its task STOPPED."""
        scheduler, aws = self._scheduler(ctx)
        outputs = load(ctx).outputs
        scheduler.remove_one(aws, outputs["cluster"], outputs["target_group_arn"])

    def _scheduler(self, ctx: PhaseContext) -> tuple[Serving, Aws]:
        """The emulator's running tasks, and its clients tagged for ``ctx``'s app and stack."""
        scheduler = active()
        assert scheduler is not None, "the kit's environment serves"
        tags = {"deployer-app": ctx.app.name, "deployer-stack": ctx.stack}
        return scheduler, Aws(boto3_session(self.region), tags)
