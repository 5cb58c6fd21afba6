"""The test kit for the aws-ecs target: its contract suite on an emulated AWS (moto).

- :class:`AwsEcsContract` (:mod:`.contract`): subclass it to run the contract suite on
  aws-ecs with your plugin, no AWS account and no Pulumi CLI needed.
- :class:`EmulatedDriver` (:mod:`.emulated_driver`): the aws-ecs driver that applies the
  real program to moto instead of AWS; its state lives in :mod:`.emulated_state`.
- :mod:`.moto_appliers`: how each resource type is created in and deleted from moto.
- :mod:`.aws_rules`: what AWS refuses that moto accepts, checked before each create, with
  what the rules read from moto in :mod:`.emulated_lookups`.
- :mod:`.emulated_mocks`: the offline plan's mocks answering from moto what the account
  holds (the hosted zone, an unchanged secret's version).
- :mod:`.fake_aws`: the environment every emulated run has (fake credentials, a region).

It needs both the aws and the testing extras: ``pip install "deployer[aws,testing]"``.
"""

from __future__ import annotations

from importlib.util import find_spec

EXTRAS = "deployer[aws,testing]"
"""What to install for this package."""

REQUIRES = {
    "boto3": "aws",
    "botocore": "aws",
    "pulumi": "aws",
    "pulumi_aws": "aws",
    "moto": "testing",
    "pytest": "testing",
}
"""Third-party modules this package (and the aws-ecs modules it runs) imports, by extra."""

_missing = sorted(name for name in REQUIRES if find_spec(name) is None)
if _missing:
    extras = sorted({REQUIRES[name] for name in _missing})
    raise ImportError(
        f"deployer.testing.aws_ecs needs the {' and '.join(extras)} extra{'s' if len(extras) > 1 else ''} "
        f'(missing: {", ".join(_missing)}): pip install "{EXTRAS}"',
        name=_missing[0],
    )

from deployer.testing.aws_ecs.contract import AwsEcsContract  # noqa: E402

__all__ = ["AwsEcsContract"]
