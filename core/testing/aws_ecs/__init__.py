"""The test kit for the aws-ecs target: its contract suite on an emulated AWS (moto).

- :class:`AwsEcsContract` (:mod:`.contract`): subclass it to run the contract suite on
  aws-ecs with your plugin, no AWS account and no Pulumi CLI needed.
- :class:`EmulatedDriver` (:mod:`.emulated_driver`): the aws-ecs driver that applies the
  real program to moto instead of AWS; its state lives in :mod:`.emulated_state`.
- :mod:`.moto_appliers`: how each resource type is created in and deleted from moto.

It needs the aws extra and moto.
"""

from __future__ import annotations

from deployer.testing.aws_ecs.contract import AwsEcsContract

__all__ = ["AwsEcsContract"]
